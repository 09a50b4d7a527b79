"""wfsim.viz.batches on hand-made summaries: what each panel draws, row by row."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from wfsim.viz.batches import BASELINE_COLOUR, draw_differences, draw_means, draw_replications

#: Scenarios a, b, c of cost and latency; c never completed a run (no mean).
SUMMARY = pd.DataFrame({
    "scenario": ["a", "a", "b", "b", "c", "c"], "metric": ["cost", "latency", "cost", "latency", "cost", "latency"],
    "n": [3, 3, 3, 3, 0, 0], "mean": [2.0, 5.0, 3.0, 4.0, math.nan, math.nan],
    "sd": [0.5, 1.0, 0.5, 1.0, math.nan, math.nan], "ci_low": [1.0, 3.0, 2.5, 2.0, math.nan, math.nan],
    "ci_high": [3.0, 7.0, 3.5, 6.0, math.nan, math.nan]})


def axes() -> Axes:
    return Figure().add_subplot()


def drawn(ax: Axes) -> dict[str, tuple[float, float, float, str]]:
    """Row label → (mean, interval's low end, high end, colour) of every error bar."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    rows = {}
    for container in ax.containers:
        assert isinstance(container, ErrorbarContainer)
        point, _, (segments,) = container.lines
        for x, y, ((low, _), (high, _)) in zip(point.get_xdata(), point.get_ydata(), segments.get_segments()):
            rows[labels[int(y)]] = (x, low, high, point.get_color())
    return rows


def test_means_draw_one_metric_per_scenario_the_baseline_in_red() -> None:
    ax = axes()
    draw_means(ax, SUMMARY, "cost", ["b", "a", "c"], "a", label="cost (€)")
    assert drawn(ax) == {"b": (3.0, 2.5, 3.5, "tab:blue"), "a": (2.0, 1.0, 3.0, BASELINE_COLOUR)}  # c: no mean
    ticks = ax.get_yticklabels()
    assert [t.get_text() for t in ticks] == ["b", "a", "c"] and ticks[1].get_color() == BASELINE_COLOUR
    assert ax.yaxis_inverted()  # the first scenario on top
    (line,) = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert list(line.get_xdata()) == [2.0, 2.0]  # the baseline's mean
    assert ax.get_xlabel() == "cost (€)\nmean and 95% interval, baseline in red"


def test_differences_leave_the_baseline_row_empty_and_draw_zero() -> None:
    ax = axes()
    paired = SUMMARY[SUMMARY["scenario"] != "a"]
    draw_differences(ax, paired, "latency", ["a", "b"], "a")
    assert drawn(ax) == {"b": (4.0, 2.0, 6.0, "tab:blue")}
    assert [list(line.get_xdata()) for line in ax.lines if line.get_color() == "black"] == [[0.0, 0.0]]
    assert ax.get_xlabel() == "latency minus the baseline\npaired on the seed: mean and 95% interval"
    assert [t.get_color() for t in ax.get_yticklabels()] == [BASELINE_COLOUR, "black"]


def test_replications_link_a_seeds_runs_and_a_failure_is_a_gap() -> None:
    ax = axes()
    values = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.5, math.nan, 2.5]})
    draw_replications(ax, values, "b", label="cost")
    linked = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(linked) == 3
    np.testing.assert_array_equal(linked[1].get_xdata(), [2.0, math.nan])
    assert [t.get_color() for t in ax.get_yticklabels()] == ["black", BASELINE_COLOUR]
