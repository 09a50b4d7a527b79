"""Batch summaries against hand-computed numbers: means, Student t intervals, paired differences."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from wfsim.experiments.summaries import interval, markdown, paired_differences, summarize_runs


def runs(rows: list[tuple[str, int, str, float | None]]) -> pd.DataFrame:
    """A runs table as a batch makes it: (scenario, replication, status, latency.mean)."""
    return pd.DataFrame([{"scenario": s, "replication": k, "seed": 100 + k, "status": status, "error": None,
                          "wall_seconds": 0.1, "latency.mean": value, "cost": 1.0}
                         for s, k, status, value in rows])


def test_interval_is_the_student_t_interval() -> None:
    # 2, 4, 6, 8: mean 5, sd sqrt(20/3) = 2.581989; t(0.975, 3) = 3.182446 (tables);
    # half-width 3.182446 * 2.581989 / sqrt(4) = 4.108520.
    n, mean, sd, low, high = interval([2.0, 4.0, 6.0, 8.0])
    assert (n, mean) == (4, 5.0)
    assert sd == pytest.approx(2.581989, abs=1e-6)
    assert (low, high) == pytest.approx((5 - 4.108520, 5 + 4.108520), abs=1e-5)


def test_interval_of_too_few_values_is_nan() -> None:
    assert interval([])[0] == 0 and math.isnan(interval([])[1])
    n, mean, sd, low, high = interval([3.0])
    assert (n, mean) == (1, 3.0) and all(math.isnan(x) for x in (sd, low, high))
    assert interval([2.0, 2.0, 2.0])[1:] == (2.0, 0.0, 2.0, 2.0)


def test_summary_leaves_out_failed_runs_and_missing_values() -> None:
    table = runs([("a", 0, "ok", 1.0), ("a", 1, "ok", 3.0), ("a", 2, "failed", None),
                  ("b", 0, "ok", None), ("b", 1, "ok", 5.0)])
    summary = summarize_runs(table, ["latency.mean", "cost"]).set_index(["scenario", "metric"])
    assert summary.loc[("a", "latency.mean"), "n"] == 2 and summary.loc[("a", "latency.mean"), "mean"] == 2.0
    # t(0.975, 1) = 12.7062; sd sqrt(2); half-width 12.7062 * sqrt(2) / sqrt(2).
    assert summary.loc[("a", "latency.mean"), "ci_high"] == pytest.approx(2 + 12.7062047, abs=1e-6)
    assert summary.loc[("b", "latency.mean"), "n"] == 1 and summary.loc[("b", "cost"), "n"] == 2
    assert list(summary.index.get_level_values("scenario").unique()) == ["a", "b"]


def test_paired_differences_pair_on_the_replication() -> None:
    # Baseline a; b is a + (1, 2, 3) on replications 0-2, plus a large common noise
    # that pairing removes; c failed on replication 1, so it has two pairs.
    noise = [100.0, -50.0, 7.0]
    rows = [("a", k, "ok", noise[k]) for k in range(3)]
    rows += [("b", k, "ok", noise[k] + k + 1) for k in range(3)]
    rows += [("c", 0, "ok", noise[0] - 1), ("c", 1, "failed", None), ("c", 2, "ok", noise[2] - 3)]
    paired = paired_differences(runs(rows), "a", ["latency.mean"]).set_index("scenario")
    assert list(paired.index) == ["b", "c"]
    b = paired.loc["b"]
    # Differences 1, 2, 3: mean 2, sd 1; t(0.975, 2) = 4.302653; half-width 4.302653 / sqrt(3).
    assert (b["n"], b["mean"], b["sd"]) == (3, 2.0, 1.0)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)
    c = paired.loc["c"]
    assert (c["n"], c["mean"]) == (2, -2.0)


def test_paired_needs_a_known_baseline_and_metrics() -> None:
    table = runs([("a", 0, "ok", 1.0), ("b", 0, "ok", 2.0)])
    with pytest.raises(ValueError, match="baseline: no scenario 'z'; allowed: a, b"):
        paired_differences(table, "z")
    with pytest.raises(ValueError, match=r"unknown metric 'latency\.mode'; allowed: latency\.mean, cost"):
        summarize_runs(table, ["latency.mode"])


def test_markdown_cells() -> None:
    table = runs([("a", 0, "ok", 1.0), ("a", 1, "ok", 3.0), ("b", 0, "ok", 2.0), ("b", 1, "ok", 6.0)])
    labels = {"a": {"placement": "heft"}, "b": {"placement": "random"}}
    summary = summarize_runs(table, ["latency.mean", "cost"])
    assert markdown(summary, labels, "sd", count=None).splitlines() == [
        "| placement | latency mean (s) | cost |", "|---|---|---|",
        "| heft | 2 ± 1.4 | 1 |", "| random | 4 ± 2.8 | 1 |"]
    assert markdown(summary, labels).splitlines()[2] == "| heft | 2 | 2 [-10.71, 14.71] | 1 [1, 1] |"
    diff = paired_differences(table, "a", ["latency.mean"])
    assert markdown(diff, labels, "diff", count="pairs").splitlines()[2] == "| random | 2 | +2 [-10.71, 14.71] |"
