"""Summaries of a batch's runs: means with confidence intervals, paired differences.

Pure functions over the runs table (one row per run with ``scenario``,
``replication``, ``status`` and the flat metrics of
:func:`~wfsim.experiments.scenarios.flat_metrics`); runs that failed, and metrics a
run did not have (no latency when nothing completed), are left out, so ``n`` counts
the values used. Intervals are two-sided 95% Student t intervals of the mean.

Scenarios run on the same replication seeds see the same arrivals and work draws
(common random numbers), so :func:`paired_differences` compares each scenario with
the baseline replication by replication: the interval of the mean difference is
then usually much narrower than the two scenarios' own intervals suggest.

The figures of a batch (the comparison widget, the report) draw from the same
functions: :func:`summarize_runs` and :func:`paired_differences` for one metric give
the error bars, :func:`by_replication` the points, :func:`top_scenarios` which
scenarios a crowded figure keeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from scipy import stats

#: The metrics tables show by default: flat metric → (column label, scale to its unit).
METRICS: dict[str, tuple[str, float]] = {
    "workflows.completed": ("completed", 1.0),
    "latency.mean": ("latency mean (s)", 1.0),
    "latency.p95": ("latency p95 (s)", 1.0),
    "makespan": ("makespan (s)", 1.0),
    "throughput": ("throughput (/s)", 1.0),
    "cost": ("cost", 1.0),
    "energy_joules": ("energy (kWh)", 1 / 3.6e6),
    "deadline_misses.workflows": ("deadline misses", 1.0),
}
#: Confidence level of every interval.
LEVEL = 0.95
#: Columns of :func:`summarize_runs` and :func:`paired_differences`.
COLUMNS = ("scenario", "metric", "n", "mean", "sd", "ci_low", "ci_high")


def interval(values: Sequence[float]) -> tuple[int, float, float, float, float]:
    """``(n, mean, sd, ci_low, ci_high)`` of ``values``: the sample standard deviation
    and the Student t interval of the mean (NaN where ``n`` is too small for them).

    >>> n, mean, sd, low, high = interval([1, 2, 3, 4, 5])
    >>> n, mean, round(sd, 4), round(low, 4), round(high, 4)
    (5, 3.0, 1.5811, 1.0368, 4.9632)
    """
    n = len(values)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = math.fsum(values) / n
    if n == 1:
        return 1, mean, math.nan, math.nan, math.nan
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf((1 + LEVEL) / 2, n - 1)) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """The flat metrics in ``runs`` (the columns after ``wall_seconds``)."""
    columns = list(runs.columns)
    return columns[columns.index("wall_seconds") + 1:] if "wall_seconds" in columns else []


def summarize_runs(runs: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Per scenario and metric: ``n``, mean, sd and the 95% interval of the mean.

    Args:
        runs: The runs table.
        metrics: Flat metric names (default: :data:`METRICS`).

    Returns:
        One row per (scenario, metric), scenarios in the order of ``runs``: :data:`COLUMNS`.

    Raises:
        ValueError: A metric no run has (naming those it has).
    """
    metrics = _checked(runs, metrics)
    ok = _ok(runs)
    rows = []
    for scenario in runs["scenario"].unique():
        mine = ok[ok["scenario"] == scenario]
        for metric in metrics:
            rows.append((scenario, metric, *interval(_values(mine, metric))))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def paired_differences(runs: pd.DataFrame, baseline: str, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Each scenario minus ``baseline``, paired on the replication (the same seed).

    Only replications in which both runs succeeded and have the metric count; ``n``
    is the number of pairs.

    Args:
        runs: The runs table.
        baseline: The scenario compared against.
        metrics: Flat metric names (default: :data:`METRICS`).

    Returns:
        One row per (scenario other than the baseline, metric): :data:`COLUMNS`, the
        statistics being those of the differences.

    Raises:
        ValueError: ``baseline`` is not a scenario of ``runs``, or a metric no run has.
    """
    scenarios = list(runs["scenario"].unique())
    if baseline not in scenarios:
        raise ValueError(f"baseline: no scenario {baseline!r}; allowed: {', '.join(scenarios)}")
    metrics = _checked(runs, metrics)
    ok = _ok(runs)
    base = ok[ok["scenario"] == baseline].set_index("replication")
    rows = []
    for scenario in scenarios:
        if scenario == baseline:
            continue
        mine = ok[ok["scenario"] == scenario].set_index("replication")
        for metric in metrics:
            if metric not in ok:
                rows.append((scenario, metric, *interval([])))
                continue
            both = pd.concat([mine[metric], base[metric]], axis=1, keys=["x", "b"], join="inner").dropna()
            rows.append((scenario, metric, *interval(list(both["x"] - both["b"]))))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def by_replication(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The metric's value in each successful run: one row per replication, one column
    per scenario (in the order of ``runs``).

    A row holds runs on the same seed (common random numbers), so a figure can link
    a replication's points across scenarios. A failed run, or one without the
    metric, is NaN.

    Raises:
        ValueError: ``metric`` is not a column of ``runs``.
    """
    if metric not in runs:
        raise ValueError(f"unknown metric {metric!r}; allowed: {', '.join(metric_columns(runs))}")
    ok = _ok(runs)
    table = ok.pivot(index="replication", columns="scenario", values=metric)
    replications = sorted(runs["replication"].unique())
    return table.reindex(index=replications, columns=list(runs["scenario"].unique())).astype(float)


def top_scenarios(summary: pd.DataFrame, metric: str, n: int, *, highest: bool = True,
                  keep: str | None = None) -> list[str]:
    """The ``n`` scenarios with the highest (or lowest) mean of ``metric``, best first.

    Args:
        summary: A summary (:func:`summarize_runs`) holding ``metric``.
        metric: The flat metric ranked by.
        n: How many to keep.
        highest: Rank the highest means first (False: the lowest).
        keep: A scenario kept whatever its rank (the baseline), last if it is not
            among the ``n``.

    Scenarios without a mean (every run failed) rank last.

    >>> table = pd.DataFrame({"scenario": ["a", "b", "c"], "metric": "cost", "mean": [2.0, 3.0, 1.0]})
    >>> top_scenarios(table, "cost", 2), top_scenarios(table, "cost", 1, highest=False, keep="a")
    (['b', 'a'], ['c', 'a'])
    """
    rows = summary[summary["metric"] == metric]
    ranked = list(rows.sort_values("mean", ascending=not highest, na_position="last", kind="stable")["scenario"])
    chosen = ranked[:n]
    if keep is not None and keep in ranked and keep not in chosen:
        chosen.append(keep)
    return chosen


def markdown(table: pd.DataFrame, labels: Mapping[str, Mapping[str, str]], cell: str = "ci",
             count: str | None = "n") -> str:
    """A summary (:func:`summarize_runs` or :func:`paired_differences`) as a Markdown
    table: one row per scenario, one column per metric.

    Args:
        table: The summary.
        labels: The columns naming each scenario: scenario → {column: text}.
        cell: ``"ci"``: mean [95% interval]; ``"sd"``: mean ± sd; ``"diff"``: signed
            mean difference [95% interval].
        count: Header of a column with the scenario's largest ``n`` (None: no column).
    """
    render = _CELLS[cell]
    metrics = list(dict.fromkeys(table["metric"]))
    keys = list(dict.fromkeys(k for names in labels.values() for k in names))
    header = [*keys, *([count] if count else []), *(METRICS.get(m, (m, 1.0))[0] for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario, rows in table.groupby("scenario", sort=False):
        cells = [labels.get(str(scenario), {}).get(k, "") for k in keys]
        if count:
            cells.append(str(int(rows["n"].max())))
        by_metric = rows.set_index("metric")
        for metric in metrics:
            scale = METRICS.get(metric, (metric, 1.0))[1]
            cells.append(render(by_metric.loc[metric], scale))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean_ci(row: pd.Series, scale: float = 1.0, sign: str = "") -> str:
    """``mean [low, high]`` of one row of a summary (or of paired differences), times
    ``scale`` (the metric's unit), to 4 significant digits; ``sign="+"`` signs the mean."""
    if pd.isna(row["mean"]):
        return "n/a"
    text = f"{row['mean'] * scale:{sign}.4g}"
    if not pd.isna(row["ci_low"]):
        text += f" [{row['ci_low'] * scale:.4g}, {row['ci_high'] * scale:.4g}]"
    return text


def _mean_sd(row: pd.Series, scale: float) -> str:
    if pd.isna(row["mean"]):
        return "n/a"
    text = f"{row['mean'] * scale:.4g}"
    if not pd.isna(row["sd"]) and row["sd"] > 0:
        text += f" ± {row['sd'] * scale:.2g}"
    return text


_CELLS: dict[str, Callable[[pd.Series, float], str]] = {
    "ci": mean_ci,
    "sd": _mean_sd,
    "diff": lambda row, scale: mean_ci(row, scale, "+"),
}


def _checked(runs: pd.DataFrame, metrics: Sequence[str] | None) -> list[str]:
    metrics = list(METRICS if metrics is None else metrics)
    have = metric_columns(runs)
    unknown = [m for m in metrics if m not in have and m not in METRICS]
    if unknown and have:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; allowed: {', '.join(have)}")
    return metrics


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"]


def _values(runs: pd.DataFrame, metric: str) -> list[Any]:
    return list(runs[metric].dropna()) if metric in runs else []
