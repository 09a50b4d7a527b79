"""Task migration (queued tasks) and periodic rebalancing: P24 and P25 on traces."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import (
    Link,
    Node,
    PlacementStrategy,
    Poisson,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    Workload,
    chain,
    fork_join,
    hierarchical,
)
from wfsim.engine.migration import MigrationSettings, RebalanceSettings
from wfsim.model.enums import ALLOWED_PHASES, MigrationState, MigrationTrigger
from wfsim.policies.load_aware import LoadAware
from wfsim.policies.scheduling import SCHEDULING_POLICIES
from wfsim.trace.rundir import RunDirectoryError
from wfsim.trace.trace import Trace

from sim_support import Fixed

LATENCY = 0.01
BANDWIDTH = 1e6
INPUT = 2e6


class Skewed(PlacementStrategy):
    """Most tasks on the first edge node, the rest spread: an imbalanced tier."""

    name = "skewed"

    def __init__(self, nodes: list[str], share: float, salt: int) -> None:
        self.nodes, self.share, self.salt = nodes, share, salt

    def place(self, run, task, cluster):
        h = ((run.id * 1_000_003 + task * 7919 + self.salt) * 2654435761) % 2**32 / 2**32
        name = self.nodes[0] if h < self.share else self.nodes[int(h * 7919) % len(self.nodes)]
        return cluster.nodes[cluster.topology.index[name]]


def two_edges(bandwidth: float = BANDWIDTH, extra: tuple[Node, ...] = ()) -> Topology:
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0), Node("e0", Tier.EDGE_CLOUD, cores=1, speed=1.0),
             Node("e1", Tier.EDGE_CLOUD, cores=1, speed=1.0), *extra]
    links = [Link("d", "e0", 0.05, 1e9), Link("d", "e1", 0.05, 1e9), Link("e0", "e1", LATENCY, bandwidth)]
    return Topology(nodes, links)


def job(name: str = "job", work: float = 10.0) -> Workflow:
    return Workflow(name, [Task("t", work=work)], input_bytes=INPUT)


def scenario(n: int = 2, *, scheduling=SCHEDULING_POLICIES["fifo"], bandwidth: float = BANDWIDTH, **kwargs):
    """``n`` one-task workflows on e0 (1 core): the first runs, the others queue."""
    topo = two_edges(bandwidth, extra=(Node("d2", Tier.LOCAL_DEVICE, cores=4, speed=1.0),))
    topo = Topology(topo.nodes, [*topo.links, Link("d2", "e0", 0.05, 1e9)])
    sim = Simulation(topo, [], placement=Fixed("e0"), scheduling=scheduling, **kwargs)
    runs = [sim.executor.submit(job(), "w", topo.index["d"]) for _ in range(n)]
    return sim, runs


def at(sim: Simulation, t: float, fn) -> None:
    sim.env.timeout(t).callbacks.append(lambda _e: fn())


def starts(trace: Trace):
    te = trace.task_events
    return te[te["event"] == "start"]


def sequences(trace: Trace) -> dict[int, list[str]]:
    m = trace.migrations.sort_values(["migration", "time"], kind="stable")
    return {int(k): list(g["state"].astype(str)) for k, g in m.groupby("migration")}


@pytest.mark.parametrize("policy", [*SCHEDULING_POLICIES, "load_aware"])
def test_queued_task_migrates_to_idle_node_and_starts_there(policy):
    factory = LoadAware if policy == "load_aware" else SCHEDULING_POLICIES[policy]
    overhead = 1.5
    sim, runs = scenario(2, scheduling=factory, migration=MigrationSettings(overhead=overhead))
    out = {}
    at(sim, 1.0, lambda: out.setdefault("mig", sim.migration.request(runs[1], 0, sim.nodes[2],
                                                                      MigrationTrigger.USER_REQUEST)))
    trace = sim.run().trace
    mig = out["mig"]
    assert mig is not None and mig.state is MigrationState.COMPLETED
    s = starts(trace)
    moved = s[s["workflow"] == runs[1].id]
    assert list(moved["node"].astype(str)) == ["e1"]  # started once, at the target only
    expected = 1.0 + LATENCY + INPUT * overhead / BANDWIDTH
    assert moved["time"].iloc[0] == pytest.approx(expected)
    assert runs[1].node_of[0] == 2
    assert sequences(trace) == {0: ["Preparing", "Transferring", "Activating", "Completed"]}
    m = trace.migrations
    assert set(m["trigger"].astype(str)) == {"UserRequest"}
    assert set(m["source"].astype(str)) == {"e0"} and set(m["target"].astype(str)) == {"e1"}
    assert m["time"].max() == pytest.approx(expected)
    # The source's reservation went with the task.
    assert sim.nodes[1].outstanding_ops == pytest.approx(0.0) and sim.nodes[2].outstanding_ops == pytest.approx(0.0)


def test_rejections_cap_already_migrating_incompatible():
    sim, runs = scenario(4, migration=MigrationSettings(max_concurrent=2))
    out = {}

    def requests():
        e1 = sim.nodes[2]
        out["b"] = sim.migration.request(runs[1], 0, e1)
        out["b_again"] = sim.migration.request(runs[1], 0, e1)
        out["d2"] = sim.migration.request(runs[2], 0, sim.topology.index["d2"])  # another user's device
        out["c"] = sim.migration.request(runs[2], 0, e1)
        out["d"] = sim.migration.request(runs[3], 0, e1)  # cap reached
        out["same"] = sim.migration.request(runs[3], 0, sim.nodes[1])
        out["peak"] = len(sim.migration.active)

    at(sim, 1.0, requests)
    trace = sim.run().trace
    assert out["b_again"] is None and out["d2"] is None and out["d"] is None
    assert out["b"] is not None and out["c"] is not None and out["peak"] == 2
    reasons = [r.reason for r in sim.migration.rejections]
    assert reasons[0] == "already migrating"
    assert reasons[1].startswith("incompatible target")
    assert reasons[2].startswith("migration limit exceeded")
    assert reasons[3].startswith("migration limit exceeded")  # checked before "target is the source"
    s = starts(trace)
    assert s.groupby("workflow").size().eq(1).all()
    assert dict(zip(s["workflow"], s["node"].astype(str))) == {0: "e0", 1: "e1", 2: "e1", 3: "e0"}


def test_cost_benefit_rule():
    # 2e6 bytes at 1e4 B/s: a 240 s transfer to save 20 s of waiting: refused.
    sim, runs = scenario(2, bandwidth=1e4)
    out = {}
    at(sim, 1.0, lambda: out.setdefault("mig", sim.migration.request(runs[1], 0, sim.nodes[2])))
    trace = sim.run().trace
    assert out["mig"] is None
    assert sim.migration.rejections[0].reason.startswith("not worth it")
    assert list(starts(trace)["node"].astype(str)) == ["e0", "e0"]
    assert trace.migrations.empty
    # Weighted 10x the saving wins over a cost of 2.4 s + latency; at weight 0 nothing is worth it.
    sim, runs = scenario(2, bandwidth=1e6, migration=MigrationSettings(benefit_weight=0.0))
    benefit, cost = sim.migration.evaluate(runs[1], 0, 2)
    assert cost == pytest.approx(LATENCY + INPUT * 1.2 / 1e6)
    assert benefit == pytest.approx(20.0 - 0.0)
    assert not sim.migration.worth_it(runs[1], 0, 2)
    sim.migration.benefit_weight = 0.1
    assert not sim.migration.worth_it(runs[1], 0, 2)  # 2 s < 2.41 s
    sim.migration.benefit_weight = 0.2
    assert sim.migration.worth_it(runs[1], 0, 2)  # 4 s > 2.41 s


def test_cancel_returns_task_to_source():
    sim, runs = scenario(2)
    out = {}
    at(sim, 1.0, lambda: out.setdefault("mig", sim.migration.request(runs[1], 0, sim.nodes[2])))
    at(sim, 1.5, lambda: out.setdefault("ok", sim.migration.cancel(out["mig"])))
    trace = sim.run().trace
    assert out["ok"] and out["mig"].state is MigrationState.CANCELED
    assert sequences(trace) == {0: ["Preparing", "Transferring", "Canceled"]}
    s = starts(trace)
    assert list(s["node"].astype(str)) == ["e0", "e0"]
    assert runs[1].node_of[0] == 1
    assert not sim.migration.cancel(out["mig"])


@pytest.mark.parametrize("policy", [*SCHEDULING_POLICIES, "load_aware"])
def test_queue_remove_keeps_the_others_in_order(policy):
    q = LoadAware() if policy == "load_aware" else SCHEDULING_POLICIES[policy]()
    run = SimpleNamespace(spec=SimpleNamespace(tasks=[Task(f"t{i}") for i in range(5)]), arrival=0.0)
    for i in range(5):
        q.push(run, i)
    assert q.items() == [(run, i) for i in range(5)] and len(q) == 5
    assert q.remove(run, 2)
    assert not q.remove(run, 2)
    assert len(q) == 4
    assert q.drain() == [(run, i) for i in (0, 1, 3, 4)]


def check_p24_p25(sim: Simulation, trace: Trace) -> None:
    cap = sim.migration.max_concurrent
    m = trace.migrations
    # States follow the allowed sequence.
    for seq in sequences(trace).values():
        prev = None
        for state in seq:
            assert MigrationState(state) in ALLOWED_PHASES[prev]
            prev = MigrationState(state)
        assert prev in (MigrationState.COMPLETED, MigrationState.FAILED, MigrationState.CANCELED)
    # Active migrations never exceed the cap; no task in two migrations at once.
    active = 0
    in_flight: set[tuple[int, str]] = set()
    for row in m.itertuples(index=False):
        key = (row.workflow, str(row.task))
        if row.state == "Preparing":
            active += 1
            assert key not in in_flight
            in_flight.add(key)
        elif row.state in ("Completed", "Failed", "Canceled"):
            active -= 1
            in_flight.discard(key)
        assert 0 <= active <= cap
    # Every task starts exactly once, on the node its last completed migration
    # reached (else where it was placed), after that migration completed.
    te = trace.task_events
    s = starts(trace)
    assert not s.duplicated(["workflow", "task"]).any()
    placed = te[te["event"] == "placed"].set_index(["workflow", "task"])["node"].astype(str)
    done = m[m["state"] == "Completed"].groupby(["workflow", "task"], observed=True).last()
    for row in s.itertuples(index=False):
        key = (row.workflow, row.task)
        if key in done.index:
            assert str(row.node) == str(done.loc[key, "target"])
            assert row.time >= done.loc[key, "time"]
        else:
            assert str(row.node) == placed.loc[key]
    ended = trace.workflow_summary()
    assert (ended["state"] == "Completed").all()
    assert len(s) == len(placed)  # no task lost
    # P25: moves only when imbalanced, from > 1.2 avg to < 0.8 avg.
    rb = sim.rebalancer
    for move in rb.moves:
        assert move.imbalance > rb.threshold
        assert move.source_load > 1.2 * move.average
        assert move.target_load < 0.8 * move.average
        assert sim.topology.nodes[move.source].tier is sim.topology.nodes[move.target].tier
    assert len(rb.moves) == m[m["state"] == "Preparing"].shape[0]


def rebalanced_sim(seed: int, rate: float, share: float, cores: list[int], cap: int, interval: float,
                   scheduling: str = "fifo", shape: str = "chain") -> Simulation:
    edges = [Node(f"e{i}", Tier.EDGE_CLOUD, cores=c, speed=1e9) for i, c in enumerate(cores)]
    device = Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1e9)
    links = [Link("d", e.id, 0.005, 1e8) for e in edges]
    links += [Link(a.id, b.id, 0.002, 1e8) for i, a in enumerate(edges) for b in edges[i + 1:]]
    topo = Topology([device, *edges], links)
    wf = chain(3, data_bytes=1e5) if shape == "chain" else fork_join(3, data_bytes=1e5)
    factory = LoadAware if scheduling == "load_aware" else SCHEDULING_POLICIES[scheduling]
    return Simulation(topo, [Workload("w", wf, Poisson(rate), origins=["d"])],
                      placement=Skewed([e.id for e in edges], share, seed), scheduling=factory,
                      duration=30, seed=seed,
                      rebalance=None if interval is None else RebalanceSettings(interval),
                      migration=MigrationSettings(max_concurrent=cap))


def test_rebalancing_moves_work_and_helps():
    off = rebalanced_sim(1, 6.0, 0.8, [2, 2, 2], 4, 2.0)
    off.rebalancer = None
    base = off.run()
    sim = rebalanced_sim(1, 6.0, 0.8, [2, 2, 2], 4, 2.0)
    result = sim.run()
    trace = result.trace
    assert len(sim.rebalancer.moves) > 10
    assert set(trace.migrations["trigger"].astype(str)) == {"LoadImbalance"}
    check_p24_p25(sim, trace)
    assert result.metrics["workflows"]["completed"] == base.metrics["workflows"]["completed"]
    assert trace.horizon < base.trace.horizon


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), rate=st.floats(1.0, 8.0), share=st.floats(0.3, 0.95),
       cores=st.lists(st.integers(1, 4), min_size=2, max_size=4), cap=st.integers(1, 5),
       interval=st.floats(0.5, 5.0), scheduling=st.sampled_from(["fifo", "priority", "hybrid", "load_aware"]),
       shape=st.sampled_from(["chain", "fork_join"]))
def test_rebalancing_properties(seed, rate, share, cores, cap, interval, scheduling, shape):
    sim = rebalanced_sim(seed, rate, share, cores, cap, interval, scheduling, shape)
    trace = sim.run().trace
    check_p24_p25(sim, trace)
    assert sim.migration.peak_active <= cap


def test_trace_roundtrip_keeps_migrations(tmp_path):
    sim, runs = scenario(2)
    at(sim, 1.0, lambda: sim.migration.request(runs[1], 0, sim.nodes[2]))
    trace = sim.run().trace
    trace.save(tmp_path)
    back = Trace.load(tmp_path)
    assert back.migrations.dtypes.to_dict() == trace.migrations.dtypes.to_dict()
    assert back.migrations.equals(trace.migrations)
    # A run missing the table is damaged, not silently given an empty one.
    (tmp_path / "trace" / "migrations.parquet").unlink()
    with pytest.raises(RunDirectoryError, match=r"migrations\.parquet: missing"):
        Trace.load(tmp_path)


# Digest of a FIFO run's event tables computed with the code before migration existed
# (commit b77b5bd): with rebalancing off nothing changes.
BEFORE = "60e263cf4f9c01750a973756c22bc3251c93452d65430266c825f2a53437c8aa"


def test_unchanged_without_rebalancing():
    topo = hierarchical(devices=6, edge=2, regional=1)
    sim = Simulation(topo, [Workload("a", chain(3), Poisson(2.0)), Workload("b", fork_join(3), Poisson(1.0))],
                     duration=40, seed=7)
    tr = sim.run().trace
    h = hashlib.sha256()
    for name in ("workflows", "workflow_events", "task_events", "transfers", "link_usage", "states", "violations"):
        h.update(getattr(tr, name).to_csv(index=False).encode())
    h.update(repr(tr.horizon).encode())
    assert h.hexdigest() == BEFORE
    assert tr.migrations.empty and sim.rebalancer is None


def test_parameters_validated():
    _sim, _ = scenario(1)
    with pytest.raises(ValueError):
        MigrationSettings(max_concurrent=0)
    with pytest.raises(ValueError):
        MigrationSettings(benefit_weight=11)
    with pytest.raises(ValueError):
        RebalanceSettings(interval=0)
    assert [t.value for t in MigrationTrigger] == [
        "LoadImbalance", "ResourceConstraint", "PerformanceDegradation", "AvailabilityRisk",
        "EnergyOptimization", "UserRequest"]


def test_unreachable_target_fails_and_task_goes_back(monkeypatch):
    sim, runs = scenario(2)
    out = {}

    def request():
        monkeypatch.setattr(sim.network, "send", lambda *a, **k: False)  # target unreachable now
        out["mig"] = sim.migration.request(runs[1], 0, sim.nodes[2])
        monkeypatch.undo()

    at(sim, 1.0, request)
    trace = sim.run().trace
    assert out["mig"].state is MigrationState.FAILED and not sim.migration.active
    assert sequences(trace) == {0: ["Preparing", "Transferring", "Failed"]}
    assert list(starts(trace)["node"].astype(str)) == ["e0", "e0"]
    assert sim.nodes[1].outstanding_ops == pytest.approx(0.0)


def test_force_skips_cost_benefit():
    sim, runs = scenario(2, bandwidth=1e4)
    out = {}
    at(sim, 1.0, lambda: out.setdefault("mig", sim.migration.request(runs[1], 0, 2, force=True)))
    trace = sim.run().trace
    assert out["mig"] is not None and out["mig"].state is MigrationState.COMPLETED
    assert list(starts(trace).sort_values("workflow")["node"].astype(str)) == ["e0", "e1"]


def test_yaml_rebalance_field():
    from wfsim.experiments import ExperimentConfig, build_simulation

    raw = {
        "topology": {"hierarchical": {"devices": 2, "edge": 2, "regional": 1}},
        "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2},
                       "arrivals": {"process": "poisson", "rate": 1.0}}],
        "rebalance": {"interval": 10, "threshold": 0.5, "max_concurrent": 2, "overhead": 1.1,
                      "benefit_weight": 2.0},
    }
    sim = build_simulation(ExperimentConfig.model_validate(raw))
    assert sim.rebalancer.interval == 10 and sim.rebalancer.threshold == 0.5
    assert (sim.migration.max_concurrent, sim.migration.overhead_factor, sim.migration.benefit_weight) == (2, 1.1, 2.0)
    raw.pop("rebalance")
    sim = build_simulation(ExperimentConfig.model_validate(raw))
    assert sim.rebalancer is None and "rebalance" not in sim.config


def test_executions_credit_a_migrated_task_to_the_node_that_ran_it() -> None:
    from wfsim.trace.metrics import busy_core_seconds

    trace = rebalanced_sim(1, 6.0, 0.8, [2, 2, 2], 4, 2.0).run().trace
    moved = trace.migrations[trace.migrations["state"] == "Completed"]
    assert len(moved)
    ex = trace.executions().set_index(["workflow", "task"])
    starts = trace.task_events[trace.task_events["event"] == "start"].set_index(["workflow", "task"])["node"]
    for row in moved.itertuples():
        key = (row.workflow, row.task)
        assert str(ex.loc[key, "node"]) == str(starts.loc[key]) == str(row.target)
    # Utilisation, cost and energy follow: busy time is credited to the start node.
    ev = trace.task_events
    start = ev[ev["event"] == "start"].set_index(["workflow", "task"])
    end = ev[ev["event"] == "end"].set_index(["workflow", "task"])["time"]
    cores = ex["cores"]
    expected = ((end - start["time"]) * cores.reindex(start.index)).groupby(start["node"].astype(str)).sum()
    busy = busy_core_seconds(trace)
    for node, value in expected.items():
        assert busy[node] == pytest.approx(value)
