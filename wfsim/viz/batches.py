"""Figures of a batch's scenarios for one metric: means, paired differences, replications.

Each function draws on the ``Axes`` it is given from the plain tables that
:mod:`wfsim.experiments.summaries` computes once for the comparison view and the
report: a summary or paired differences (rows ``scenario, metric, n, mean, sd,
ci_low, ci_high``), or a metric's value per replication (one column per scenario).
The scenarios are rows, the first on top, the baseline's name in red. What is drawn
is one mark per scenario, or per run, whatever the size of the runs behind them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["BASELINE_COLOUR", "draw_differences", "draw_means", "draw_replications"]

#: The baseline's colour in every panel.
BASELINE_COLOUR = "tab:red"
_COLOUR = "tab:blue"


def draw_means(ax: Axes, summary: pd.DataFrame, metric: str, scenarios: Sequence[str],
               baseline: str | None = None, label: str | None = None) -> None:
    """Each scenario's mean of ``metric`` with its 95% interval, a dotted line at the
    baseline's mean.

    Args:
        ax: Where to draw.
        summary: A summary (:func:`~wfsim.experiments.summaries.summarize_runs`)
            holding ``metric``.
        metric: The flat metric drawn.
        scenarios: The scenarios drawn, top to bottom; one without a mean has an
            empty row.
        baseline: The scenario marked in red, if any.
        label: The metric's name on the axis (default: ``metric``).
    """
    table = _rows(summary, metric, scenarios)
    _interval_bars(ax, table, baseline)
    marked = table["mean"].get(baseline, np.nan) if baseline is not None else np.nan
    if not np.isnan(marked):
        ax.axvline(float(marked), color=BASELINE_COLOUR, lw=0.8, ls=":")
    ax.set_xlabel(f"{label or metric}\nmean and 95% interval" + (", baseline in red" if baseline else ""))
    _scenario_axis(ax, scenarios, baseline)


def draw_differences(ax: Axes, paired: pd.DataFrame, metric: str, scenarios: Sequence[str], baseline: str,
                     label: str | None = None) -> None:
    """Each scenario minus the baseline, paired on the replication seed: the mean
    difference of ``metric`` with its 95% interval, and a line at zero.

    Args:
        ax: Where to draw.
        paired: Paired differences from ``baseline``
            (:func:`~wfsim.experiments.summaries.paired_differences`) holding ``metric``.
        metric: The flat metric drawn.
        scenarios: The scenarios drawn, top to bottom (the baseline's row stays empty).
        baseline: The scenario subtracted, named in red.
        label: The metric's name on the axis (default: ``metric``).
    """
    _interval_bars(ax, _rows(paired, metric, scenarios), baseline)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_xlabel(f"{label or metric} minus the baseline\npaired on the seed: mean and 95% interval")
    _scenario_axis(ax, scenarios, baseline)


def draw_replications(ax: Axes, values: pd.DataFrame, baseline: str | None = None, label: str = "") -> None:
    """Each run's value as a point over its scenario's box, a line joining the runs of
    one replication (the same seed) across the scenarios.

    Args:
        ax: Where to draw.
        values: One row per replication, one column per scenario drawn (top to
            bottom), as :func:`~wfsim.experiments.summaries.by_replication` gives
            them; a failed run is NaN, a gap in its line.
        baseline: The scenario named in red, if any.
        label: The metric's name on the axis.
    """
    scenarios = list(values.columns)
    y = np.arange(len(scenarios))
    ax.boxplot([values[s].dropna() for s in scenarios], positions=y, orientation="horizontal", widths=0.5,
               showfliers=False, medianprops={"color": "grey"})
    for row in values.to_numpy(float):  # one line per replication: the same seed in every scenario
        ax.plot(row, y, color=_COLOUR, alpha=0.35, lw=0.8, marker="o", ms=4)
    ax.set_xlabel(f"{label}\none point per replication, a line joins a seed's runs")
    _scenario_axis(ax, scenarios, baseline)


def _rows(table: pd.DataFrame, metric: str, scenarios: Sequence[str]) -> pd.DataFrame:
    """The rows of ``metric``, one per scenario drawn (NaN where it has none)."""
    return table[table["metric"] == metric].set_index("scenario").reindex(list(scenarios))


def _interval_bars(ax: Axes, table: pd.DataFrame, baseline: str | None) -> None:
    """Means with their intervals, one row per scenario; the baseline in red."""
    y = np.arange(len(table))
    mean = table["mean"].to_numpy(float)
    low = table["ci_low"].to_numpy(float)
    high = table["ci_high"].to_numpy(float)
    # An interval needs two values: without one the mean is drawn alone.
    errors = np.nan_to_num(np.vstack([mean - low, high - mean]), nan=0.0)
    for is_baseline in (False, True):
        # Only where there is a mean: the baseline's own difference is not drawn.
        rows = np.flatnonzero(((table.index == baseline) == is_baseline) & ~np.isnan(mean))
        if len(rows):
            ax.errorbar(mean[rows], y[rows], xerr=errors[:, rows], fmt="o", capsize=3,
                        color=BASELINE_COLOUR if is_baseline else _COLOUR)


def _scenario_axis(ax: Axes, scenarios: Sequence[str], baseline: str | None) -> None:
    """The scenarios' names as rows, the first on top, the baseline's in red."""
    ax.set_yticks(range(len(scenarios)), list(scenarios))
    for label in ax.get_yticklabels():
        if label.get_text() == baseline:
            label.set_color(BASELINE_COLOUR)
    ax.invert_yaxis()  # the first scenario on top, as in the tables
    ax.grid(axis="x", alpha=0.3)
    # Costs are often 1e-5 and energies 1e6: written out, their ticks run into each other.
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
