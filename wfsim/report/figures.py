"""Figures of batches and studies that :mod:`wfsim.viz` does not draw (yet): the main metrics'
95% intervals per scenario, a study's optimisation history, its Pareto front and its
parameter importances. Each draws on a new :class:`~matplotlib.figure.Figure` (never
pyplot) from the plain tables of :class:`~wfsim.experiments.batch.BatchResult` and
:class:`~wfsim.tuning.TuneResult`, and draws aggregates only: one mark per scenario
or per trial, whatever the size of the runs behind them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def intervals_figure(summary: pd.DataFrame, metrics: Mapping[str, tuple[str, float]]) -> Figure:
    """One panel per metric: each scenario's mean and 95% interval (the rows of
    :meth:`BatchResult.summary <wfsim.experiments.batch.BatchResult.summary>`).

    Args:
        summary: The summary table (``scenario, metric, n, mean, sd, ci_low, ci_high``).
        metrics: The flat metrics drawn → (axis label, factor to its unit).
    """
    columns = 2
    rows = -(-len(metrics) // columns)
    scenarios = list(dict.fromkeys(summary["scenario"]))
    fig = Figure(figsize=(11, rows * (0.9 + 0.3 * len(scenarios))), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    y = np.arange(len(scenarios))[::-1]
    for ax, (metric, (label, scale)) in zip(axes, metrics.items()):
        mine = summary[summary["metric"] == metric].set_index("scenario").reindex(scenarios)
        mean = mine["mean"].to_numpy(float) * scale
        spread = np.vstack([mine["mean"] - mine["ci_low"], mine["ci_high"] - mine["mean"]]).astype(float) * scale
        ax.errorbar(mean, y, xerr=np.nan_to_num(spread), fmt="o", color="#2e86ab", capsize=4)
        ax.set_yticks(y, scenarios, fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle("Mean and 95% interval per scenario", fontsize=11)
    return fig


def history_figure(trials: pd.DataFrame, objectives: Mapping[str, str]) -> Figure:
    """Each objective's value per completed trial, and the best so far.

    Args:
        trials: One row per trial with ``number``, ``state`` and a column per objective.
        objectives: Objective key → ``minimize`` or ``maximize``.
    """
    done = trials[trials["state"] == "COMPLETE"].sort_values("number")
    fig = Figure(figsize=(6.5, 2.6 * len(objectives)), layout="constrained")
    for ax, (key, direction) in zip(fig.subplots(len(objectives), 1, squeeze=False)[:, 0], objectives.items()):
        values = done[key].astype(float)
        best = values.cummin() if direction == "minimize" else values.cummax()
        ax.plot(done["number"], values, "o", color="#2e86ab", alpha=0.7, label="trial")
        ax.step(done["number"], best, where="post", color="#e4572e", label="best so far")
        ax.set_ylabel(f"{key} ({direction})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax.set_xlabel("trial")
    fig.suptitle("Optimisation history", fontsize=11)
    return fig


def pareto_figure(trials: pd.DataFrame, objectives: Sequence[str], front: Sequence[int]) -> Figure:
    """The completed trials on the first two objectives, the Pareto front marked.

    Args:
        trials: One row per trial with ``number``, ``state`` and a column per objective.
        objectives: The objective keys (the first two are drawn).
        front: The numbers of the trials on the front.
    """
    x, y = objectives[0], objectives[1]
    done = trials[trials["state"] == "COMPLETE"]
    on = done[done["number"].isin(front)].sort_values(x)
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(done[x], done[y], color="0.6", label="trial")
    ax.plot(on[x], on[y], "o-", color="#e4572e", label="Pareto front")
    for number, px, py in zip(on["number"], on[x], on[y]):
        ax.annotate(str(number), (px, py), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Pareto front", fontsize=11)
    return fig


def importance_figure(importances: Mapping[str, float], objective: str) -> Figure:
    """Parameter importances, as :func:`optuna.importance.get_param_importances` gives them."""
    names = list(importances)[::-1]
    fig = Figure(figsize=(6, 0.6 + 0.35 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(names, [importances[n] for n in names], color="#76b041")
    ax.set_xlabel(f"importance for {objective}")
    ax.set_title("Parameter importances", fontsize=11)
    return fig
