"""Figures for the notebooks: forest plots, counts, clinic-beside-literature rates, trajectories.

Every function returns a matplotlib Figure with a title, labelled axes (with units) and a
legend where there is more than one kind of mark. Figures built from the synthetic demo clinic
data are stamped "SYNTHETIC DEMO DATA" (`mark_synthetic`), so a screenshot can never pass for
real outcomes.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from scipy import stats

from pipeline import config
from pipeline.errors import PipelineError
from pipeline.synthesis import PooledEstimate

SYNTHETIC_LABEL = "SYNTHETIC DEMO DATA"
STUDY_COLOUR = "#1f4e79"
POOLED_COLOUR = "#b22222"
PI_COLOUR = "#e07b00"


def mark_synthetic(fig: Figure, label: str = SYNTHETIC_LABEL) -> Figure:
    """Stamp the figure as synthetic: a red banner on top and a faint diagonal watermark."""
    fig.text(
        0.5, 0.995, label, ha="center", va="top", fontsize=12, fontweight="bold", color="white",
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "#c0392b", "edgecolor": "none"},
    )  # fmt: skip
    fig.text(
        0.5, 0.5, label, ha="center", va="center", fontsize=40, color="#c0392b", alpha=0.12,
        rotation=25, fontweight="bold", zorder=0,
    )  # fmt: skip
    fig.subplots_adjust(top=min(fig.subplotpars.top, 0.86))
    return fig


def publish(fig: Figure, name: str) -> None:
    """Let the notebook show `fig`; when PIPELINE_FIGURES_DIR is set, also save it as <name>.png."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise PipelineError(f"a figure name is lower-case letters, digits, _ and -: got {name!r}")
    folder = config.figures_dir()
    if folder:
        fig.savefig(os.path.join(folder, f"{name}.png"), dpi=150, bbox_inches="tight")


FIGURE_WIDTH = 12.0


def _wrap(label: str, width: int = 48) -> str:
    """Wrap each line of a label at `width` characters (keeps explicit line breaks)."""
    return "\n".join(textwrap.fill(line, width) or line for line in str(label).split("\n"))


def _fixed_margins(fig: Figure, labels: Sequence[str], right: float, top: float, bottom: float):
    """Margins in inches: the left one fits the longest label line (about 0.075 in per character
    at 9 pt), so long study labels never squeeze the plot out of the figure."""
    width, height = fig.get_size_inches()
    longest = max((len(line) for label in labels for line in str(label).split("\n")), default=10)
    left = min(max(1.0, 0.075 * longest + 0.3), width * 0.45)
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height
    )


def _format_number(x: float, digits: int = 2) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}f}".replace("-", "\u2212")


def forest_plot(
    labels: Sequence[str],
    yi: Sequence[float],
    vi: Sequence[float],
    *,
    pooled: PooledEstimate | None = None,
    title: str,
    xlabel: str,
    ratio: bool = False,
    null_value: float | None = None,
    favours: tuple[str, str] | None = None,
    level: float = 95.0,
    synthetic: bool = False,
) -> Figure:
    """A forest plot: one row per study (square sized by weight, CI whiskers), the pooled diamond
    and its prediction interval, and the numbers in a column on the right.

    `yi`/`vi` are on the pooling scale; with `ratio=True` they are log ratios, drawn
    exponentiated on a log axis with the null line at 1. `favours` labels the two sides of the
    null line (left, right).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    names = list(labels)
    if not (len(names) == y.size == v.size) or y.size == 0:
        raise PipelineError(
            f"forest_plot needs as many labels as effects (got {len(names)}, {y.size}, {v.size})"
        )
    back: Callable[[np.ndarray], np.ndarray] = np.exp if ratio else (lambda x: x)
    z = stats.norm.ppf(0.5 + level / 200)
    lows, highs = back(y - z * np.sqrt(v)), back(y + z * np.sqrt(v))
    points = back(y)
    k = y.size
    tau2 = pooled.tau2 if pooled is not None else 0.0
    weights = 1 / (v + tau2)
    weights = weights / weights.sum()

    names = [_wrap(name) for name in names]
    max_lines = max(name.count("\n") + 1 for name in names)
    n_rows = k + (3 if pooled is not None else 1)
    top_in, bottom_in = 0.8, 1.3
    row_height = 0.3 + 0.17 * (max_lines - 1)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, top_in + bottom_in + row_height * n_rows))
    rows = np.arange(k)[::-1] + (2 if pooled is not None else 0)
    ax.hlines(rows, lows, highs, color=STUDY_COLOUR, linewidth=1.4)
    ax.scatter(
        points, rows, marker="s", s=30 + 270 * weights / weights.max(), color=STUDY_COLOUR,
        zorder=3,
    )  # fmt: skip
    tick_rows = list(rows)
    tick_labels = names
    right_text = [
        f"{_format_number(p)} [{_format_number(lo)}, {_format_number(hi)}]   {100 * w:4.1f}%"
        for p, lo, hi, w in zip(points, lows, highs, weights, strict=True)
    ]
    handles = [
        Line2D([], [], color=STUDY_COLOUR, marker="s", linestyle="-",
               label=f"Study estimate, {level:g}% CI (size: weight)"),
    ]  # fmt: skip
    if pooled is not None:
        est, lo, hi = (
            float(back(np.array(x))) for x in (pooled.estimate, pooled.ci_low, pooled.ci_high)
        )
        diamond_row = 0.0
        ax.add_patch(
            Polygon(
                [
                    (lo, diamond_row),
                    (est, diamond_row + 0.35),
                    (hi, diamond_row),
                    (est, diamond_row - 0.35),
                ],
                closed=True,
                color=POOLED_COLOUR,
                zorder=3,
            )  # fmt: skip
        )
        handles.append(Patch(color=POOLED_COLOUR, label=f"Pooled estimate, {level:g}% CI"))
        pooled_text = f"{_format_number(est)} [{_format_number(lo)}, {_format_number(hi)}]  100.0%"
        if math.isfinite(pooled.pi_low):
            pi_low, pi_high = (
                float(back(np.array(pooled.pi_low))),
                float(back(np.array(pooled.pi_high))),
            )
            ax.errorbar(
                [est], [diamond_row - 0.55], xerr=[[est - pi_low], [pi_high - est]], fmt="none",
                ecolor=PI_COLOUR, elinewidth=2, capsize=4, zorder=2,
            )  # fmt: skip
            handles.append(
                Line2D(
                    [], [], color=PI_COLOUR, linewidth=2, label=f"{level:g}% prediction interval"
                )
            )
            pooled_text += f"\nPI [{_format_number(pi_low)}, {_format_number(pi_high)}]"
        tick_rows.append(diamond_row)
        hksj = ", HKSJ" if pooled.hksj else ""
        tick_labels = [
            *names,
            f"Random effects ({pooled.method}{hksj}), k = {pooled.k}\n"
            f"I\u00b2 = {_format_number(pooled.i2, 0)}{'%' if math.isfinite(pooled.i2) else ''},"
            f" \u03c4\u00b2 = {_format_number(pooled.tau2, 3)}",
        ]
        right_text.append(pooled_text)
        ax.axhline(1.0, color="0.8", linewidth=0.8)

    if null_value is None:
        null_value = 1.0 if ratio else 0.0
    ax.axvline(null_value, color="0.35", linestyle="--", linewidth=1)
    if ratio:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_yticks(tick_rows, tick_labels, fontsize=9)
    ax.set_ylim(-1.1 if pooled is not None else -0.8, max(rows) + 0.8)
    for row, text in zip(tick_rows, right_text, strict=True):
        ax.annotate(
            text, xy=(1.02, row), xycoords=("axes fraction", "data"), va="center", fontsize=8.5,
            family="monospace",
        )  # fmt: skip
    ax.annotate(
        f"Estimate [{level:g}% CI]   weight", xy=(1.02, max(rows) + 0.75),
        xycoords=("axes fraction", "data"), va="bottom", fontsize=8.5, fontweight="bold",
    )  # fmt: skip
    ax.set_xlabel(xlabel)
    if favours:
        for text, x, ha in (
            (f"\u2190 favours {favours[0]}", 0.0, "left"),
            (f"favours {favours[1]} \u2192", 1.0, "right"),
        ):
            ax.annotate(
                text,
                xy=(x, 0),
                xycoords="axes fraction",
                xytext=(0, -44),
                textcoords="offset points",
                ha=ha,
                va="top",
                fontsize=8.5,
                color="0.3",
            )
    ax.set_title(_wrap(title, 90), fontsize=11, loc="left", pad=22)
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.01),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    _fixed_margins(
        fig, tick_labels, right=2.9, top=top_in + 0.3 * title.count("\n"), bottom=bottom_in
    )
    if synthetic:
        mark_synthetic(fig)
    return fig


def count_bars(
    counts: pd.Series,
    *,
    title: str,
    xlabel: str,
    ylabel: str = "Number of records",
    horizontal: bool = False,
    synthetic: bool = False,
) -> Figure:
    """A bar chart of counts (studies by year, drug, design ...), each bar labelled."""
    if counts.empty:
        raise PipelineError(f"nothing to plot for {title!r}: no counts")
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.35 * len(counts)) if horizontal else (9, 4))
    labels = [str(x) for x in counts.index]
    if horizontal:
        bars = ax.barh(labels[::-1], counts.to_numpy()[::-1], color=STUDY_COLOUR)
        ax.set_xlabel(ylabel)
        ax.set_ylabel(xlabel)
    else:
        bars = ax.bar(labels, counts.to_numpy(), color=STUDY_COLOUR)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if len(labels) > 8:
            ax.tick_params(axis="x", rotation=45)
    ax.bar_label(bars, fontsize=8, padding=2)
    ax.set_title(title, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    if synthetic:
        mark_synthetic(fig)
    return fig


RATE_STYLES = {
    "clinic": {"color": "#6a1b9a", "marker": "o", "label": "Clinic (Wilson 95% CI)"},
    "drug arm": {"color": STUDY_COLOUR, "marker": "s", "label": "Trial drug arm (Wilson 95% CI)"},
    "control arm": {
        "color": "0.55",
        "marker": "s",
        "label": "Trial comparator arm (Wilson 95% CI)",
    },
    "arm not named": {
        "color": "#8fa8c8",
        "marker": "^",
        "label": "Trial arm not stated (no arm id in the study structure)",
    },
    "pooled": {"color": POOLED_COLOUR, "marker": "D", "label": "Pooled drug arms (95% CI)"},
}


def rate_comparison_plot(
    rows: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    synthetic: bool = False,
) -> Figure:
    """Rates beside each other on one axis: clinic rows, trial arms, pooled trial arms.

    `rows` has columns label, kind ('clinic', 'drug arm', 'control arm', 'arm not named',
    'pooled'), rate,
    ci_low, ci_high (fractions 0-1), and optionally pi_low, pi_high for pooled rows. Rows are
    drawn top to bottom in the order given; rates are shown as percentages.
    """
    needed = {"label", "kind", "rate", "ci_low", "ci_high"}
    if missing := needed - set(rows.columns):
        raise PipelineError(f"rate_comparison_plot: missing columns {sorted(missing)}")
    if rows.empty:
        raise PipelineError(f"nothing to plot for {title!r}: no rates")
    unknown = set(rows["kind"]) - set(RATE_STYLES)
    if unknown:
        raise PipelineError(f"rate_comparison_plot: unknown row kinds {sorted(unknown)}")
    labels = [_wrap(label, 60) for label in rows["label"]]
    top_in, bottom_in = 0.9 + 0.25 * title.count("\n"), 1.1
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, top_in + bottom_in + 0.36 * len(rows)))
    positions = np.arange(len(rows))[::-1]
    seen = set()
    for y, row in zip(positions, rows.to_dict("records"), strict=True):
        style = RATE_STYLES[row["kind"]]
        label = style["label"] if row["kind"] not in seen else None
        seen.add(row["kind"])
        rate, low, high = (100 * float(row[c]) for c in ("rate", "ci_low", "ci_high"))
        if math.isfinite(low) and math.isfinite(high):
            ax.hlines(y, low, high, color=style["color"], linewidth=1.6)
        ax.scatter(rate, y, marker=style["marker"], s=60, color=style["color"], zorder=3,
                   label=label)  # fmt: skip
        pi_low, pi_high = row.get("pi_low"), row.get("pi_high")
        if row["kind"] == "pooled" and pi_low is not None and math.isfinite(float(pi_low)):
            ax.errorbar([rate], [y - 0.3], xerr=[[rate - 100 * pi_low], [100 * pi_high - rate]],
                        fmt="none", ecolor=PI_COLOUR, elinewidth=1.5, capsize=3,
                        label="Prediction interval" if "pi" not in seen else None)  # fmt: skip
            seen.add("pi")
        text = f"{rate:.0f}%" + (f" [{low:.0f}, {high:.0f}]" if math.isfinite(low) else "")
        ax.annotate(text, xy=(1.01, y), xycoords=("axes fraction", "data"), va="center",
                    fontsize=8.5, family="monospace")  # fmt: skip
    ax.set_yticks(positions, labels, fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.9, len(rows) - 0.3)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter())
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(axis="x", color="0.9")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.01), ncol=3, fontsize=8, frameon=False)
    _fixed_margins(fig, labels, right=1.4, top=top_in, bottom=bottom_in)
    if synthetic:
        mark_synthetic(fig)
    return fig


def trajectory_plot(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    group: str,
    title: str,
    xlabel: str,
    ylabel: str,
    ci: tuple[str, str] | None = None,
    n: str | None = None,
    reference_lines: dict[str, float] | None = None,
    ylim: tuple[float, float] | None = None,
    synthetic: bool = False,
) -> Figure:
    """Lines of `y` against `x`, one per `group`, with a shaded CI band and n under each point.

    `reference_lines` draws labelled horizontal thresholds (e.g. {"remission (PHQ-9 < 5)": 5}).
    """
    if frame.empty:
        raise PipelineError(f"nothing to plot for {title!r}: no rows")
    fig, ax = plt.subplots(figsize=(9, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, part) in enumerate(frame.sort_values(x).groupby(group, sort=True)):
        colour = colours[i % len(colours)]
        label = str(name) if n is None else f"{name} (n = courses at each session)"
        ax.plot(part[x], part[y], marker="o", color=colour, label=label)
        if ci:
            ax.fill_between(part[x], part[ci[0]], part[ci[1]], color=colour, alpha=0.15,
                            linewidth=0)  # fmt: skip
        if n:
            for xv, yv, nv in zip(part[x], part[y], part[n], strict=True):
                ax.annotate(
                    f"{int(nv)}", (xv, yv), textcoords="offset points",
                    xytext=(0, 8 if i % 2 == 0 else -14),
                    ha="center", fontsize=7, color=colour,
                )  # fmt: skip
    for text, level in (reference_lines or {}).items():
        ax.axhline(level, color="0.4", linestyle=":", linewidth=1)
        ax.annotate(text, xy=(1.0, level), xycoords=("axes fraction", "data"), ha="right",
                    va="bottom", fontsize=8, color="0.3")  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left", fontsize=11)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(color="0.92")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    if synthetic:
        mark_synthetic(fig)
    return fig
