"""Evacuating a node taken out of service (trigger AvailabilityRisk)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import HealthChange, Link, Node, Simulation, Task, Tier, Topology, Workflow
from wfsim.engine.migration import MigrationSettings
from wfsim.verify.catalog import check_catalog

from sim_support import Fixed


def three_edges() -> Topology:
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0)]
    nodes += [Node(f"e{i}", Tier.EDGE_CLOUD, cores=2, speed=1.0, memory=1e6) for i in range(3)]
    links = [Link("d", "e0", 0.0, 1e12)] + [Link("e0", f"e{i}", 0.01, 1e7) for i in (1, 2)]
    return Topology(nodes, links)


def loaded(n: int, health: list[HealthChange], **kwargs) -> tuple[Simulation, list]:
    """``n`` one-task workflows pinned to e0 (2 cores): two run, the rest queue."""
    sim = Simulation(three_edges(), [], placement=Fixed("e0"), health=health, **kwargs)
    edge = [Task("t", work=10.0, memory=1e5, location=_edge())]
    runs = [sim.executor.submit(Workflow("job", edge, input_bytes=0.0), "w", 0) for _ in range(n)]
    return sim, runs


def _edge():
    from wfsim import LocationRequirement

    return LocationRequirement.specific("EdgeCloud")


def final_nodes(trace) -> dict[int, str]:
    te = trace.task_events
    ends = te[te["event"] == "end"]
    return dict(zip(ends["workflow"], ends["node"].astype(str)))


def assert_catalog_holds(trace) -> None:
    bad = [v.summary() for v in check_catalog(trace) if v.verdict == "false"]
    assert not bad, bad


def test_maintenance_with_evacuation_moves_running_and_queued_work_off():
    sim, _runs = loaded(6, [HealthChange(3.0, "e0", "Maintenance", evacuate=True)],
                        migration=MigrationSettings(max_concurrent=8))
    trace = sim.run().trace
    assert set(final_nodes(trace).values()) <= {"e1", "e2"} and len(final_nodes(trace)) == 6
    m = trace.migrations
    prep = m[m["state"].astype(str) == "Preparing"]
    assert set(prep["trigger"].astype(str)) == {"AvailabilityRisk"} and len(prep) == 6
    assert (prep["time"] == 3.0).all()
    te = trace.task_events
    assert set(te.loc[te["event"] == "checkpointed", "workflow"]) == {0, 1}  # the two running at 3
    assert not sim.nodes[1].executions and not sim.nodes[1].queue
    assert_catalog_holds(trace)


def test_without_evacuation_a_drained_node_finishes_its_work():
    sim, _runs = loaded(6, [HealthChange(3.0, "e0", "Maintenance")])
    trace = sim.run().trace
    assert set(final_nodes(trace).values()) == {"e0"} and trace.migrations.empty


def test_evacuation_under_the_cap_retries_as_migrations_end():
    sim, _runs = loaded(6, [HealthChange(3.0, "e0", "Maintenance", evacuate=True)],
                        migration=MigrationSettings(max_concurrent=1))
    trace = sim.run().trace
    m = trace.migrations
    prep = m[m["state"].astype(str) == "Preparing"].sort_values("time")
    assert sim.migration.peak_active == 1
    # One at a time, each as the previous one ends, until e0 is empty.
    assert len(prep) == 6 and prep["time"].is_monotonic_increasing and prep["time"].iloc[1] > 3.0
    assert set(final_nodes(trace).values()) <= {"e1", "e2"}
    assert_catalog_holds(trace)


def test_back_in_service_stops_the_evacuation():
    health = [HealthChange(3.0, "e0", "Maintenance", evacuate=True), HealthChange(3.05, "e0", "Healthy")]
    sim, _runs = loaded(8, health, migration=MigrationSettings(max_concurrent=1))
    trace = sim.run().trace
    m = trace.migrations
    prep = m[m["state"].astype(str) == "Preparing"]
    assert len(prep) and (prep["time"] <= 3.05).all()  # no retry after e0 is Healthy again
    assert "e0" in set(final_nodes(trace).values())
    assert not sim.evacuator.draining


def test_nowhere_to_go_leaves_the_work_in_place():
    sim = Simulation(three_edges(), [], placement=Fixed("e0"),
                     health=[HealthChange(1.0, "e1", "Maintenance"), HealthChange(1.0, "e2", "Maintenance"),
                             HealthChange(2.0, "e0", "Maintenance", evacuate=True)])
    for _ in range(3):
        sim.executor.submit(Workflow("job", [Task("t", work=10.0, location=_edge())], input_bytes=0.0), "w", 0)
    trace = sim.run().trace
    assert trace.migrations.empty and set(final_nodes(trace).values()) == {"e0"}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 8), at=st.floats(0.0, 30.0), cap=st.integers(1, 4), back=st.none() | st.floats(0.0, 20.0))
def test_evacuation_never_loses_or_repeats_work(n, at, cap, back):
    health = [HealthChange(at, "e0", "Maintenance", evacuate=True)]
    if back is not None:
        health.append(HealthChange(at + back, "e0", "Healthy"))
    sim, _runs = loaded(n, health, migration=MigrationSettings(max_concurrent=cap))
    trace = sim.run().trace
    assert sorted(final_nodes(trace)) == list(range(n))
    h = trace.holdings()
    for k in range(n):
        mine = h[h["workflow"] == k]
        assert ((mine["end"] - mine["start"]).sum()) == pytest.approx(10.0)  # 1 op/s everywhere, 1 core
    assert_catalog_holds(trace)


def test_degraded_with_evacuation_moves_work_to_healthy_nodes_only():
    health = [HealthChange(1.0, "e2", "Degraded"), HealthChange(3.0, "e0", "Degraded", evacuate=True)]
    sim, _runs = loaded(6, health, migration=MigrationSettings(max_concurrent=8))
    trace = sim.run().trace
    m = trace.migrations
    prep = m[m["state"].astype(str) == "Preparing"]
    assert len(prep) == 6 and set(prep["trigger"].astype(str)) == {"PerformanceDegradation"}
    assert set(prep["target"].astype(str)) == {"e1"}  # e2 is Degraded too
    assert set(final_nodes(trace).values()) == {"e1"}
    assert_catalog_holds(trace)
