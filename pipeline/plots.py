"""Figures for the notebooks: forest plots, counts, clinic-beside-literature rates, trajectories.

Every function returns a matplotlib Figure with a title, labelled axes (with units) and a
legend where there is more than one kind of mark. Figures built from the synthetic demo clinic
data are stamped "SYNTHETIC DEMO DATA" (`mark_synthetic`), so a screenshot can never pass for
real outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from scipy import stats

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

    n_rows = k + (3 if pooled is not None else 1)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.38 * n_rows))
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
            f"I\u00b2 = {_format_number(pooled.i2, 0)}%,"
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
        ax.annotate(f"\u2190 favours {favours[0]}", xy=(0.0, -0.11), xycoords="axes fraction",
                    ha="left", va="top", fontsize=8.5, color="0.3")  # fmt: skip
        ax.annotate(f"favours {favours[1]} \u2192", xy=(1.0, -0.11), xycoords="axes fraction",
                    ha="right", va="top", fontsize=8.5, color="0.3")  # fmt: skip
    ax.set_title(title, fontsize=11, loc="left")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16 if favours else -0.1),
              ncol=len(handles), fontsize=8, frameon=False)  # fmt: skip
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    fig.tight_layout()
    fig.subplots_adjust(right=0.68)
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
