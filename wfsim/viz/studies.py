"""Figures of a study's trials: optimisation history, Pareto front, parameter
importances, parallel coordinates.

Each function draws on the ``Axes`` it is given from the plain frames that
:mod:`wfsim.tuning.figures` computes once for the study explorer and the report
(:class:`ParallelCoordinates`, the shape of the last, is stated here, where it is
drawn). What is drawn is one mark per trial or per parameter, and at most
:data:`MAX_LINES` lines in parallel coordinates: beyond that a seeded sample, the
trials asked for (the best) always drawn.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

__all__ = ["MAX_LINES", "ParallelCoordinates", "draw_history", "draw_importances", "draw_parallel_coordinates",
           "draw_pareto"]

#: Most trials drawn as lines in parallel coordinates.
MAX_LINES = 500


@dataclass(frozen=True)
class ParallelCoordinates:
    """Parallel-coordinates data: each completed trial's parameters on axes from 0 to 1.

    Attributes:
        positions: One row per trial (index: trial number), one column per parameter:
            a number's position between the smallest and largest value tried (on a
            log scale for a log-distributed one; 0.5 when only one value was tried), a
            category's code spread over its choices; NaN where a trial lacks the
            parameter (a conditional one).
        ticks: Parameter → (position, label) pairs to mark on its axis.
        values: The objective's value of each trial (same index), named after the objective.
    """

    positions: pd.DataFrame
    ticks: dict[str, list[tuple[float, str]]]
    values: pd.Series


def draw_history(ax: Axes, history: pd.DataFrame, label: str) -> None:
    """Each completed trial's value of one objective, infeasible ones crossed, and a
    step line through the best feasible value so far.

    Args:
        ax: Where to draw.
        history: ``number``, ``value``, ``feasible`` and ``best`` per trial
            (:func:`wfsim.tuning.figures.history`).
        label: The objective's name on the value axis.
    """
    ok = history[history["feasible"]]
    ax.scatter(ok["number"], ok["value"], s=14, color="tab:blue", label="trial")
    if not history["feasible"].all():
        bad = history[~history["feasible"]]
        ax.scatter(bad["number"], bad["value"], s=14, marker="x", color="grey", label="infeasible")
    ax.step(history["number"], history["best"], where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(label)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)


def draw_pareto(ax: Axes, values: pd.DataFrame, x: str, y: str, directions: Mapping[str, str]) -> None:
    """The completed trials on two objectives, the Pareto front in red and labelled
    with its trials' numbers (coinciding trials share one label), infeasible trials
    crossed.

    Args:
        ax: Where to draw.
        values: ``number``, a column per objective, ``feasible`` and ``front`` per
            trial (:func:`wfsim.tuning.figures.trial_values`).
        x, y: The objectives drawn.
        directions: Objective → ``minimize`` or ``maximize``, said on the axes.
    """
    rest = values[~values["front"] & values["feasible"]]
    ax.scatter(rest[x], rest[y], s=14, color="tab:blue", alpha=0.6, label="trial")
    bad = values[~values["feasible"]]
    if not bad.empty:
        ax.scatter(bad[x], bad[y], s=14, marker="x", color="grey", label="infeasible")
    front = values[values["front"]]
    ax.scatter(front[x], front[y], s=30, color="tab:red", label="Pareto front", zorder=3)
    # Trials of one configuration often coincide: one label names them all.
    for (at_x, at_y), numbers in front.groupby([x, y], sort=False)["number"]:
        ax.annotate(", ".join(map(str, numbers)), (at_x, at_y), fontsize="x-small", xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel(f"{x} ({directions[x]})")
    ax.set_ylabel(f"{y} ({directions[y]})")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)


def draw_importances(ax: Axes, importances: pd.Series) -> None:
    """One bar per parameter, the most important on top.

    Args:
        ax: Where to draw.
        importances: Parameter → importance, highest first, named after the
            objective (:func:`wfsim.tuning.figures.importances`).
    """
    ax.barh(importances.index, importances.to_numpy(), color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlabel(f"importance for {importances.name} (PED-ANOVA, sums to 1)")


def draw_parallel_coordinates(ax: Axes, data: ParallelCoordinates, keep: Collection[int] = (),
                              max_lines: int = MAX_LINES) -> None:
    """A line per trial through its parameters' axes and the objective's, coloured by
    the objective (a colour bar beside ``ax``); a line passes by the axis of a
    parameter its trial lacks. Categories are labelled with their choices, numbers
    with the lowest and highest values tried.

    Args:
        ax: Where to draw.
        data: The trials' positions (:func:`wfsim.tuning.figures.parallel_coordinates`).
        keep: Trial numbers drawn even when the trials are sampled (the best).
        max_lines: Most lines drawn; beyond it a sample seeded with 0, ``keep`` first.
    """
    positions, values = data.positions, data.values
    if len(positions) > max_lines:
        kept = positions.index[positions.index.isin(list(keep))]
        others = positions.index[~positions.index.isin(list(keep))]
        room = min(max(max_lines - len(kept), 0), len(others))
        chosen = np.random.default_rng(0).choice(others, room, replace=False)
        positions = positions.loc[sorted([*kept, *chosen])]
        values = values.loc[positions.index]
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low) if high > low else values * 0 + 0.5
    columns = list(positions.columns)
    xs = np.arange(len(columns) + 1)
    segments = [_polyline(xs, np.array([*row, s])) for row, s in zip(positions.to_numpy(), scaled.to_numpy())]
    lines = LineCollection(segments, cmap="viridis", alpha=0.6, linewidths=1.0)
    lines.set_array(values.to_numpy())
    ax.add_collection(lines)
    for k, column in enumerate(columns):
        ax.axvline(k, color="black", lw=0.6)
        for position, tick in data.ticks[column]:
            ax.text(k, position, f" {tick}", fontsize="x-small", va="center")
    ax.axvline(len(columns), color="black", lw=0.6)
    ax.set_xlim(-0.1, len(columns) + 0.3)
    ax.set_ylim(-0.05, 1.05)
    name = str(data.values.name)
    ax.set_xticks(xs, [*columns, name], rotation=20, ha="right", fontsize="small")
    ax.set_yticks([])
    ax.figure.colorbar(lines, ax=ax, label=name)
    shown = f"{len(positions)} of {len(data.positions)}" if len(positions) < len(data.positions) else "all"
    ax.set_title(f"{shown} completed trials; a line passes by the axis of a parameter its trial did not have",
                 fontsize="small")


def _polyline(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The points of one trial's line, without the axes it has no value on."""
    present = ~np.isnan(ys)
    return np.column_stack([xs[present], ys[present]])
