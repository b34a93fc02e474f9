"""Figures: what a reader needs is on them (labels, units, pooled diamond, synthetic stamp)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

from pipeline import plots  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.synthesis import random_effects  # noqa: E402

YI = [-0.89, -1.59, -1.35, -0.22]
VI = [0.33, 0.19, 0.42, 0.05]
LABELS = [
    "Aronson 1948, PMID 1",
    "Ferguson 1949, PMID 2",
    "Rosenthal 1960, PMID 3",
    "Hart 1977, PMID 4",
]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(fig) -> str:
    """Every piece of text drawn on the figure, joined."""
    parts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(parts)


def test_forest_plot_shows_studies_pooled_diamond_and_prediction_interval():
    pooled = random_effects(YI, VI)
    fig = plots.forest_plot(LABELS, YI, VI, pooled=pooled, title="BCG vaccine",
                            xlabel="Risk ratio (log scale)", ratio=True,
                            favours=("vaccine", "control"))  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Risk ratio (log scale)"
    assert ax.get_title(loc="left") == "BCG vaccine"
    tick_labels = [t.get_text() for t in ax.get_yticklabels()]
    assert tick_labels[:4] == LABELS
    assert tick_labels[4].startswith("Random effects (REML), k = 4")
    assert any(isinstance(p, Polygon) for p in ax.patches)  # the diamond
    drawn = texts(fig)
    assert f"{math.exp(pooled.estimate):.2f}" in drawn
    assert "PI [" in drawn and "95% prediction interval" in drawn
    assert "favours vaccine" in drawn and "favours control" in drawn
    assert "SYNTHETIC" not in drawn


def test_forest_plot_with_two_studies_has_no_prediction_interval():
    pooled = random_effects(YI[:2], VI[:2])
    fig = plots.forest_plot(LABELS[:2], YI[:2], VI[:2], pooled=pooled, title="Two",
                            xlabel="Mean difference (points)")  # fmt: skip
    drawn = texts(fig)
    assert "prediction interval" not in drawn
    assert fig.axes[0].get_xscale() == "linear"


def test_forest_plot_without_pooling_and_with_bad_input():
    fig = plots.forest_plot(["A"], [0.2], [0.04], title="One", xlabel="g")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["A"]
    with pytest.raises(PipelineError, match="as many labels"):
        plots.forest_plot(["A", "B"], [0.2], [0.04], title="x", xlabel="g")


def test_synthetic_figures_are_stamped():
    fig = plots.count_bars(pd.Series({"iv": 3, "intranasal": 5}), title="Routes", xlabel="Route",
                           synthetic=True)  # fmt: skip
    assert texts(fig).count(plots.SYNTHETIC_LABEL) == 2  # the banner and the watermark


def test_rate_comparison_plot_draws_every_kind_in_percent():
    rows = pd.DataFrame([
        {"label": "Clinic, after 1 session (14/137)", "kind": "clinic", "rate": 0.10,
         "ci_low": 0.06, "ci_high": 0.16},
        {"label": "Trial drug arm", "kind": "drug arm", "rate": 0.64, "ci_low": 0.45,
         "ci_high": 0.80},
        {"label": "Trial placebo arm", "kind": "control arm", "rate": 0.28, "ci_low": float("nan"),
         "ci_high": float("nan")},
        {"label": "Pooled drug arms (k = 3)", "kind": "pooled", "rate": 0.5, "ci_low": 0.4,
         "ci_high": 0.6, "pi_low": 0.2, "pi_high": 0.8},
    ])  # fmt: skip
    fig = plots.rate_comparison_plot(rows, title="Response", xlabel="Patients with response (%)",
                                     synthetic=True)  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 100)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(rows["label"])
    drawn = texts(fig)
    for needed in ("10% [6, 16]", "28%", "Prediction interval", "Trial comparator arm",
                   plots.SYNTHETIC_LABEL):  # fmt: skip
        assert needed in drawn
    with pytest.raises(PipelineError, match="unknown row kinds"):
        plots.rate_comparison_plot(rows.assign(kind="trial"), title="x", xlabel="%")


def test_trajectory_plot_has_reference_lines_and_n():
    frame = pd.DataFrame({
        "session": [1, 2, 3, 1, 2, 3], "mean": [18.0, 14.0, 12.0, 17.0, 15.0, 13.0],
        "low": [17.0, 13.0, 11.0, 16.0, 14.0, 12.0], "high": [19.0, 15.0, 13.0, 18.0, 16.0, 14.0],
        "n": [139, 131, 124, 35, 31, 30], "route": ["iv"] * 3 + ["intranasal"] * 3,
    })  # fmt: skip
    fig = plots.trajectory_plot(frame, x="session", y="mean", group="route", ci=("low", "high"),
                                n="n", title="PHQ-9", xlabel="Session", ylabel="PHQ-9 (0-27)",
                                reference_lines={"remission (< 5)": 5}, ylim=(0, 27))  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_ylabel() == "PHQ-9 (0-27)" and ax.get_ylim() == (0, 27)
    drawn = texts(fig)
    assert "remission (< 5)" in drawn and "139" in drawn
    assert len(ax.get_legend().get_texts()) == 2


def test_publish_saves_a_png_only_when_asked(tmp_path, monkeypatch):
    fig = plots.count_bars(pd.Series({"2019": 2}), title="t", xlabel="Year")
    monkeypatch.delenv("PIPELINE_FIGURES_DIR", raising=False)
    plots.publish(fig, "by_year")
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("PIPELINE_FIGURES_DIR", str(tmp_path))
    plots.publish(fig, "by_year")
    assert (tmp_path / "by_year.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(PipelineError, match="figure name"):
        plots.publish(fig, "../escape")
