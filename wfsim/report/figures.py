"""Figures of batches and studies that :mod:`wfsim.viz` does not draw (yet): a metric's
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


def interval_figure(summary: pd.DataFrame, metric: str, label: str, scale: float = 1.0) -> Figure:
    """One metric's mean and 95% interval per scenario (rows of
    :meth:`BatchResult.summary <wfsim.experiments.batch.BatchResult.summary>`).

    Args:
        summary: The summary table (``scenario, metric, n, mean, sd, ci_low, ci_high``).
        metric: The flat metric drawn.
        label: Its axis label.
        scale: Factor to the unit of ``label``.
    """
    rows = summary[summary["metric"] == metric].reset_index(drop=True)
    fig = Figure(figsize=(5.2, 0.5 + 0.42 * max(len(rows), 2)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    mean = rows["mean"].to_numpy(float) * scale
    low = (rows["mean"] - rows["ci_low"]).to_numpy(float) * scale
    high = (rows["ci_high"] - rows["mean"]).to_numpy(float) * scale
    ax.errorbar(mean, y, xerr=np.nan_to_num(np.vstack([low, high])), fmt="o", color="#2e86ab", capsize=4)
    ax.set_yticks(y, [str(s) for s in rows["scenario"]])
    ax.set_xlabel(label)
    ax.set_title(f"{label}: mean and 95% interval", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
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
    """Parameter importances (fANOVA, as :func:`optuna.importance.get_param_importances` gives them)."""
    names = list(importances)[::-1]
    fig = Figure(figsize=(6, 0.6 + 0.35 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(names, [importances[n] for n in names], color="#76b041")
    ax.set_xlabel(f"importance for {objective}")
    ax.set_title("Parameter importances", fontsize=11)
    return fig
