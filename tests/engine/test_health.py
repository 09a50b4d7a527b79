"""Node health as a run-time input: ``Simulation.set_health`` and ``health=``, who
honours it (candidates, load balancers, the rebalancer), capacity-aware loads and the
rebalancer's ``rebalances`` rows."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import (
    EarliestFinishTime,
    HealthStatus,
    Link,
    LocationRequirement,
    Node,
    Periodic,
    Poisson,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    Workload,
    chain,
)
from wfsim.engine.executor import WorkflowRun
from wfsim.engine.migration import Rebalancer, RebalanceSettings
from wfsim.engine.simulation import HealthChange, parse_health
from wfsim.policies.load_balancing import LBLeastConnections, LBRoundRobin, cpu_load, io_load
from wfsim.policies.placement import PlacementStrategy
from wfsim.verify.catalog import check_catalog

EDGE = LocationRequirement.specific("EdgeCloud")


def edges(n: int = 2, cores: int = 1, fast_first: bool = True) -> Topology:
    """A device ``d`` and ``n`` EdgeCloud nodes ``e0`` …; ``e0`` is the fastest and
    nearest when ``fast_first``, so earliest-finish-time always prefers it."""
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1e9)]
    nodes += [Node(f"e{i}", Tier.EDGE_CLOUD, cores=cores, speed=(4e9 if fast_first and i == 0 else 1e9))
              for i in range(n)]
    links = [Link("d", f"e{i}", 0.001 * (i + 1), 1e9) for i in range(n)]
    links += [Link(f"e{i}", f"e{j}", 0.001, 1e9) for i in range(n) for j in range(i + 1, n)]
    return Topology(nodes, links)


def edge_job(work: float = 1e9) -> Workflow:
    return Workflow("job", [Task("t", work=work, location=EDGE)], input_bytes=1e3)


def health_rows(trace) -> list[tuple[float, str, str]]:
    st_ = trace.states
    rows = st_[st_["kind"].astype(str) == "health"]
    return list(zip(rows["time"], rows["entity"].astype(str), rows["state"].astype(str)))


def events(trace, kind: str):
    te = trace.task_events
    return te[te["event"] == kind]


# --- the API -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Maintenance", HealthStatus.MAINTENANCE), ("MAINTENANCE", HealthStatus.MAINTENANCE),
    ("degraded", HealthStatus.DEGRADED), (HealthStatus.UNHEALTHY, HealthStatus.UNHEALTHY),
])
def test_parse_health_accepts_values_and_names(text, expected) -> None:
    assert parse_health(text) is expected


@pytest.mark.parametrize("bad", ["Broken", "", 3, None])
def test_parse_health_names_the_allowed_values(bad) -> None:
    with pytest.raises(ValueError, match="allowed: Healthy, Degraded, Unhealthy, Maintenance"):
        parse_health(bad)


def test_health_change_is_a_frozen_parsed_record() -> None:
    change = HealthChange(3, "e0", "maintenance")
    assert change.status is HealthStatus.MAINTENANCE
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.time = 4  # type: ignore[misc]
    for time in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite and >= 0"):
            HealthChange(time, "e0", "Healthy")
    with pytest.raises(ValueError, match="allowed: Healthy"):
        HealthChange(1.0, "e0", "Sick")


def test_set_health_rejects_unknown_nodes_statuses_and_past_times() -> None:
    sim = Simulation(edges(), [], duration=0)
    with pytest.raises(ValueError, match=r"unknown node 'nope'; allowed: d, e0, e1"):
        sim.set_health("nope", "Healthy")
    with pytest.raises(ValueError, match="allowed: Healthy, Degraded, Unhealthy, Maintenance"):
        sim.set_health("e0", "Sick")
    with pytest.raises(ValueError, match="unknown node"):
        Simulation(edges(), [], health=[HealthChange(1.0, "e7", "Healthy")])
    sim.env.run(until=5.0)
    with pytest.raises(ValueError, match=r">= now \(5\)"):
        sim.set_health("e0", "Healthy", at=4.0)


def test_immediate_and_scheduled_changes_are_applied_and_recorded() -> None:
    sim = Simulation(edges(), [], duration=0, health=[HealthChange(2.0, "e1", "Degraded")])
    sim.set_health("e0", HealthStatus.UNHEALTHY)
    sim.set_health("e0", "Healthy", at=1.0)
    assert sim.nodes[1].health is HealthStatus.UNHEALTHY
    sim.env.run(until=1.5)
    assert sim.nodes[1].health is HealthStatus.HEALTHY and sim.nodes[2].health is HealthStatus.HEALTHY
    sim.env.run(until=3.0)
    assert sim.nodes[2].health is HealthStatus.DEGRADED
    assert sim.recorder.states == [(0.0, "health", "e0", "Unhealthy"), (1.0, "health", "e0", "Healthy"),
                                   (2.0, "health", "e1", "Degraded")]


# --- candidates: drained nodes take no new work --------------------------------------------
def test_candidates_drop_drained_nodes_and_follow_every_change() -> None:
    sim = Simulation(edges(3), [], duration=0)
    cluster = sim.cluster
    task = edge_job().tasks[0]

    def ids() -> list[str]:
        return [n.spec.id for n in cluster.candidates(task, 0)]

    assert ids() == ["e0", "e1", "e2"]
    version = cluster.health_version
    sim.set_health("e1", "Maintenance")
    assert ids() == ["e0", "e2"] and cluster.health_version == version + 1
    sim.set_health("e0", "Unhealthy")
    sim.set_health("e2", "Degraded")        # degraded nodes stay candidates
    assert ids() == ["e2"]
    sim.set_health("e1", "Healthy")
    assert ids() == ["e1", "e2"]


def test_a_change_at_t_is_in_force_for_every_placement_at_t() -> None:
    # Arrivals at 0, 5, 10, 15; e0 is always the earliest finish unless drained.
    sim = Simulation(edges(), [Workload("w", edge_job(), Periodic(5.0), origins=["d"])], duration=20,
                     health=[HealthChange(5.0, "e0", "Maintenance"), HealthChange(10.0, "e0", "Healthy")])
    trace = sim.run().trace
    placed = events(trace, "placed")
    assert list(zip(placed["time"], placed["node"].astype(str))) == [
        (0.0, "e0"), (5.0, "e1"), (10.0, "e0"), (15.0, "e0")]
    assert health_rows(trace) == [(5.0, "e0", "Maintenance"), (10.0, "e0", "Healthy")]


def test_a_drained_node_finishes_what_it_has_and_gets_nothing_new() -> None:
    # A job every 0.5 s: 4 s on the fast 1-core e0, 16 s on e1, so the first two go to
    # e0 (the second queues there); at t=1 e0 goes into maintenance: its queued job
    # still runs there, new arrivals go to e1.
    sim = Simulation(edges(), [Workload("w", edge_job(16e9), Periodic(0.5), origins=["d"])],
                     duration=6, health=[HealthChange(1.0, "e0", "Maintenance")])
    trace = sim.run().trace
    placed, starts = events(trace, "placed"), events(trace, "start")
    on_e0 = placed[placed["node"].astype(str) == "e0"]
    assert (on_e0["time"] < 1.0).all() and len(on_e0) == 2
    assert (placed.loc[placed["time"] >= 1.0, "node"].astype(str) == "e1").all()
    late = starts[(starts["node"].astype(str) == "e0") & (starts["time"] > 1.0)]
    assert len(late) == 1                                          # queued before, started after
    assert (trace.workflow_summary()["state"] == "Completed").all()
    assert {v.name: v.verdict for v in check_catalog(trace, ["P25"])}["lb-healthy"] == "true"


def test_all_nodes_drained_fails_new_work_cleanly() -> None:
    sim = Simulation(edges(), [Workload("w", edge_job(), Periodic(1.0), origins=["d"])], duration=4,
                     health=[HealthChange(1.5, "e0", "Unhealthy"), HealthChange(1.5, "e1", "Maintenance")])
    summary = sim.run().trace.workflow_summary()
    assert list(summary["state"]) == ["Completed", "Completed", "Failed", "Failed"]


# --- scheduled changes never keep a run alive ----------------------------------------------
@pytest.mark.parametrize("rebalance", [None, 2.0])
def test_pending_changes_do_not_extend_a_run(rebalance) -> None:
    def run(health):
        sim = Simulation(edges(), [Workload("w", chain(2), Poisson(1.0))], duration=10, seed=4,
                         rebalance=None if rebalance is None else RebalanceSettings(rebalance),
                         health=health)
        return sim.run().trace

    base = run(None)
    trace = run([HealthChange(3.0, "e1", "Degraded"), HealthChange(1e6, "e0", "Maintenance")])
    assert trace.horizon == base.horizon < 100
    assert health_rows(trace) == [(3.0, "e1", "Degraded")]       # the late one never happened
    with_until = Simulation(edges(), [Workload("w", chain(2), Poisson(1.0))], duration=10, seed=4, until=50.0,
                            health=[HealthChange(40.0, "e0", "Maintenance")]).run().trace
    assert with_until.horizon == 50.0 and health_rows(with_until) == [(40.0, "e0", "Maintenance")]
    progress = Simulation(edges(), [Workload("w", chain(2), Poisson(1.0))], duration=10, seed=4,
                          health=[HealthChange(1e6, "e0", "Maintenance")]).run(progress=True).trace
    assert progress.horizon < 100 and health_rows(progress) == []


# --- load balancers: only Healthy nodes ----------------------------------------------------
class Bench:
    """A simulation without workloads, placing one task at a time."""

    def __init__(self, strategy: PlacementStrategy, n: int = 3) -> None:
        self.sim = Simulation(edges(n, fast_first=False), [], placement=strategy, duration=0)
        self.job = edge_job()
        self._next = 0

    def place(self) -> str:
        self._next += 1
        run = WorkflowRun(self._next, self.job, "w", 0, 0.0, None)
        node = self.sim.placement.place(run, 0, self.sim.cluster)
        return node.spec.id


@pytest.mark.parametrize("status", ["Degraded", "Unhealthy", "Maintenance"])
def test_load_balancers_choose_only_healthy_nodes(status: str) -> None:
    bench = Bench(LBRoundRobin())
    bench.sim.set_health("e1", status)
    assert {bench.place() for _ in range(6)} == {"e0", "e2"}
    bench.sim.set_health("e1", "Healthy")
    assert {bench.place() for _ in range(6)} == {"e0", "e1", "e2"}


def test_degraded_nodes_are_avoided_by_load_balancing_only() -> None:
    eft = Bench(EarliestFinishTime(), n=2)
    eft.sim.set_health("e0", "Degraded")
    lb = Bench(LBLeastConnections(), n=2)
    lb.sim.set_health("e0", "Degraded")
    assert eft.place() == "e0" and {lb.place() for _ in range(4)} == {"e1"}


def test_session_affinity_keeps_its_node_only_while_it_stays_healthy() -> None:
    bench = Bench(LBRoundRobin(session_affinity=True))
    assert [bench.place() for _ in range(3)] == ["e0"] * 3
    bench.sim.set_health("e0", "Degraded")
    moved = bench.place()
    assert moved != "e0" and [bench.place() for _ in range(3)] == [moved] * 3
    bench.sim.set_health("e0", "Healthy")
    assert bench.place() == moved                          # bound to the new node now


# --- capacity-aware loads ------------------------------------------------------------------
def test_loads_divide_by_the_current_capacity() -> None:
    sim = Simulation(edges(2, cores=2), [], duration=0)
    node = sim.nodes[1]
    node.free_cores = 1                                    # one of two cores held
    assert cpu_load(node) == 0.5 and io_load(node) == 0.0
    node.resize(4)                                         # autoscaling grows it: 1 of 4 held
    assert node.capacity == 4 and cpu_load(node) == pytest.approx(0.25)
    node.running = 1
    assert Rebalancer.load(node) == pytest.approx(0.25)


# --- the rebalancer: recording and health ---------------------------------------------------
class Skewed(PlacementStrategy):
    """Most tasks on ``e0``, the rest on the other edges: an imbalanced tier."""

    name = "skewed"

    def __init__(self, share: float = 0.8) -> None:
        self.share = share

    def place(self, run, task, cluster):
        candidates = cluster.candidates(run.spec.tasks[task], run.origin)
        h = ((run.id * 1_000_003 + task * 7919) * 2654435761) % 2**32 / 2**32
        first = [n for n in candidates if n.spec.id == "e0"]
        if first and h < self.share:
            return first[0]
        return candidates[int(h * 7919) % len(candidates)] if candidates else None


def rebalanced(seed: int = 1, health=None, n: int = 3, rate: float = 6.0, interval: float = 2.0,
               duration: float = 30.0) -> Simulation:
    topo = edges(n, cores=2, fast_first=False)
    return Simulation(topo, [Workload("w", Workflow("job", [Task("t", work=1e9, location=EDGE)], input_bytes=1e4),
                                      Poisson(rate), origins=["d"])],
                      placement=Skewed(), duration=duration, seed=seed,
                      rebalance=None if interval is None else RebalanceSettings(interval),
                      health=health)


def test_every_round_records_every_node_of_each_tier_with_the_loads_it_decided_on() -> None:
    sim = rebalanced()
    trace = sim.run().trace
    rb = trace.rebalances
    times = sorted(set(rb["time"]))
    assert times == [2.0 * k for k in range(1, len(times) + 1)]          # every round, moves or not
    assert (rb.groupby("time").size() == 3).all()
    assert set(rb["node"].astype(str)) == {"e0", "e1", "e2"}
    assert len(sim.rebalancer.moves) > 5
    loads = {(t, str(n)): load for t, n, load in zip(rb["time"], rb["node"], rb["load"])}
    for move in sim.rebalancer.moves:
        assert loads[(move.time, sim.topology.nodes[move.source].id)] == move.source_load
        assert loads[(move.time, sim.topology.nodes[move.target].id)] == move.target_load
    assert trace.manifest["rebalance"] == {"interval": 2.0, "threshold": 0.3}
    quiet = Simulation(edges(), [Workload("w", chain(2), Poisson(1.0))], duration=5).run().trace
    assert quiet.manifest["rebalance"] is None and quiet.rebalances.empty


def test_rounds_that_move_nothing_are_recorded_too() -> None:
    sim = Simulation(edges(3), [], duration=0, rebalance=RebalanceSettings(1.0))
    assert sim.rebalancer.rebalance() == 0                              # idle: nothing to move
    sim.nodes[1].running = sim.nodes[2].running = sim.nodes[3].running = 1  # balanced
    assert sim.rebalancer.rebalance() == 0
    assert sim.recorder.rebalances == [0.0, 1, 0.0, 0.0, 2, 0.0, 0.0, 3, 0.0,
                                       0.0, 1, 1.0, 0.0, 2, 1.0, 0.0, 3, 1.0]


def test_rebalancer_never_moves_work_to_a_node_that_is_not_healthy() -> None:
    sim = rebalanced(health=[HealthChange(0.0, "e2", "Degraded")])
    trace = sim.run().trace
    assert sim.rebalancer.moves
    assert {sim.topology.nodes[m.target].id for m in sim.rebalancer.moves} == {"e1"}
    assert all(v.verdict == "true" for v in check_catalog(trace, ["P25"]))


@settings(max_examples=14, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 4), interval=st.floats(0.5, 4.0),
       changes=st.lists(st.tuples(st.floats(0.0, 20.0), st.integers(0, 3), st.sampled_from(list(HealthStatus))),
                        max_size=6))
def test_health_is_honoured_on_random_runs(seed, n, interval, changes) -> None:
    health = [HealthChange(t, f"e{i % n}", status) for t, i, status in changes]
    sim = rebalanced(seed, health, n=n, interval=interval, duration=15.0)
    trace = sim.run().trace
    status = {f"e{i}": [(0.0, HealthStatus.HEALTHY)] for i in range(n)}
    for t, node, value in health_rows(trace):
        status[node].append((t, HealthStatus(value)))

    def at(node: str, t: float) -> HealthStatus:
        return [s for time, s in status[node] if time <= t][-1]

    for m in sim.rebalancer.moves:
        assert at(sim.topology.nodes[m.target].id, m.time) is HealthStatus.HEALTHY
    placed = events(trace, "placed")
    for t, node in zip(placed["time"], placed["node"].astype(str)):
        assert at(node, t) not in (HealthStatus.UNHEALTHY, HealthStatus.MAINTENANCE)
    # (P23's single-node predates migration: a migrated task has events on two nodes.)
    for v in check_catalog(trace, ["P17", "P18", "P24", "P25"]):
        assert v.verdict in ("true", "not_applicable"), v.summary()
