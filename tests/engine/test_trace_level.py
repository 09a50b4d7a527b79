"""Simulation(trace=...): a run at level "metrics" keeps no trace and computes the
metrics a full run of the same config and seed has (tests/experiments/test_trace_level.py
checks the shipped experiments)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import Periodic, Poisson, Simulation, Workload, chain, hierarchical
from wfsim.engine.simulation import RunResult
from wfsim.policies.registry import PLACEMENT_STRATEGIES

from sim_support import DAGS, MIXED, assert_same_metrics


def both_levels(**kwargs) -> tuple[RunResult, RunResult, Simulation]:
    """The same run at level full and at level metrics (its simulation returned too)."""
    full = Simulation(**kwargs).run()
    sim = Simulation(**kwargs, trace="metrics")
    return full, sim.run(), sim


# Elastic tasks that start on fewer cores (allocations rows) and must end by a deadline.
ELASTIC = chain(3, work=4e9, data_bytes=2e6,
                task={"cores": 4, "min_cores": 1, "elastic": True, "deadline": 3.0})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), dag=DAGS,
       placement=st.sampled_from(["cloud_only", "nearest_edge", "earliest_finish_time", "random", "round_robin"]),
       network=st.sampled_from(["fast", "shared"]), until=st.sampled_from([None, 6.0]))
def test_metrics_level_gives_the_metrics_of_the_full_run(seed, dag, placement, network, until) -> None:
    # MIXED fails under cloud_only (a LocalDevice task); ``until`` cuts runs short, with
    # tasks placed but not started and tasks running at the horizon.
    topology = hierarchical(devices=4, edge=2, regional=1, nodes={"EdgeCloud": {"cores": 4}})
    workloads = [Workload("mixed", MIXED, Poisson(0.3)), Workload("dag", dag, Poisson(0.2)),
                 Workload("elastic", ELASTIC, Periodic(2.0), origins=["device-0"])]
    full, lean, sim = both_levels(topology=topology, workloads=workloads, seed=seed, duration=8.0, until=until,
                                  network=network, placement=PLACEMENT_STRATEGIES[placement]())
    assert lean.trace is None and lean.manifest["trace"] == "metrics" and full.manifest["trace"] == "full"
    assert_same_metrics(full.metrics, lean.metrics)
    # What no metric reads was never kept.
    recorder = sim.recorder
    assert recorder.hops == recorder.transfers == recorder.migrations == recorder.rebalances == []
    assert set(recorder.task_events[3::5]) <= {2, 3, 4, 5}  # start, end, failed, checkpointed


def test_full_level_is_the_default_and_keeps_the_trace() -> None:
    topology = hierarchical(devices=2, edge=1, regional=1)
    result = Simulation(topology, [Workload("w", chain(2), Poisson(1.0))], duration=5.0, seed=1).run()
    assert result.trace is not None and result.manifest is result.trace.manifest
    assert result.manifest["trace"] == "full"


@pytest.mark.parametrize("bad", ["", "none", "trace"])
def test_an_unknown_level_is_refused_naming_the_allowed_ones(bad: str) -> None:
    with pytest.raises(ValueError, match=r"unknown trace level .*; allowed: full, metrics"):
        Simulation(hierarchical(devices=1, edge=1, regional=1), [], trace=bad)


def test_a_result_needs_a_trace_or_metrics() -> None:
    with pytest.raises(ValueError, match="a trace or the metrics"):
        RunResult(None)
