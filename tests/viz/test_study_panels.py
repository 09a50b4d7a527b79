"""wfsim.viz.studies on hand-made frames: history, front, importances and the
sampling of parallel coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from wfsim.viz.studies import (
    ParallelCoordinates,
    draw_history,
    draw_importances,
    draw_parallel_coordinates,
    draw_pareto,
)


def test_history_crosses_infeasible_trials_and_steps_through_the_best() -> None:
    ax = Figure().add_subplot()
    history = pd.DataFrame({"number": [0, 1, 2], "value": [3.0, 1.0, 2.0], "feasible": [True, False, True],
                            "best": [3.0, 3.0, 2.0]})
    draw_history(ax, history, "cost (minimize)")
    by_label = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert by_label == {"trial": [[0, 3.0], [2, 2.0]], "infeasible": [[1, 1.0]]}
    (best,) = ax.lines
    assert list(best.get_ydata()) == [3.0, 3.0, 2.0] and ax.get_ylabel() == "cost (minimize)"


def test_the_front_is_labelled_once_per_point() -> None:
    ax = Figure().add_subplot()
    values = pd.DataFrame({"number": [0, 1, 2, 3], "a": [1.0, 1.0, 2.0, 3.0], "b": [2.0, 2.0, 1.0, 3.0],
                           "feasible": [True] * 4, "front": [True, True, True, False]})
    draw_pareto(ax, values, "a", "b", {"a": "minimize", "b": "maximize"})
    assert sorted(t.get_text() for t in ax.texts) == ["0, 1", "2"]  # trials 0 and 1 coincide
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a (minimize)", "b (maximize)")


def test_importances_are_bars_the_highest_on_top() -> None:
    ax = Figure().add_subplot()
    draw_importances(ax, pd.Series({"k": 0.7, "x": 0.3}, name="cost"))
    assert [b.get_width() for b in ax.patches] == [0.7, 0.3] and ax.yaxis_inverted()
    assert ax.get_xlabel().startswith("importance for cost")


def test_parallel_coordinates_sample_beyond_the_cap_and_keep_the_best() -> None:
    numbers = pd.Index(range(40), name="number")
    rng = np.random.default_rng(1)
    data = ParallelCoordinates(pd.DataFrame({"x": rng.random(40), "k": [np.nan] * 20 + [0.0] * 20}, index=numbers),
                               {"x": [(0.0, "1"), (1.0, "9")], "k": [(0.0, "a")]},
                               pd.Series(rng.random(40), index=numbers, name="cost"))
    fig = Figure()
    ax = fig.add_subplot()
    draw_parallel_coordinates(ax, data, keep={3, 37}, max_lines=10)
    (lines,) = ax.collections
    segments = lines.get_segments()
    assert len(segments) == 10 and "10 of 40" in ax.get_title()
    coloured = set(np.asarray(lines.get_array()).tolist())  # a line's colour is its trial's value
    assert {data.values[3], data.values[37]} <= coloured  # the best always drawn
    # Trials 0–19 lack k: their lines pass by its axis (the first drawn is one of them, the last not).
    assert len(segments[0]) == 2 and len(segments[-1]) == 3
    assert len(fig.axes) == 2  # the colour bar
