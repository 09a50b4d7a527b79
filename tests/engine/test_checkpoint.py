"""Migrating running tasks by checkpoint and restart: timing, accounting, P24 on traces."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import Link, Node, Simulation, Task, Tier, Topology, Workflow
from wfsim.engine.migration import MigrationSettings
from wfsim.engine.node import task_rate
from wfsim.model.enums import MigrationState, MigrationTrigger
from wfsim.verify.catalog import check_catalog

from sim_support import Fixed

LATENCY = 0.01
BANDWIDTH = 1e6
INPUT = 2e6
MEMORY = 1e6
OVERHEAD = 1.2


def topology() -> Topology:
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0),
             Node("e0", Tier.EDGE_CLOUD, cores=1, speed=1.0, memory=4e6),
             Node("e1", Tier.EDGE_CLOUD, cores=1, speed=2.0, memory=4e6)]
    # e1 only through e0.
    return Topology(nodes, [Link("d", "e0", 0.0, 1e12), Link("e0", "e1", LATENCY, BANDWIDTH)])


def job(work: float = 10.0, input_bytes: float = 0.0) -> Workflow:
    return Workflow("job", [Task("t", work=work, memory=MEMORY)], input_bytes=input_bytes)


def setup(n: int = 1, input_bytes: float = 0.0):
    sim = Simulation(topology(), [], placement=Fixed("e0"), migration=MigrationSettings(overhead=OVERHEAD))
    runs = [sim.executor.submit(job(input_bytes=input_bytes), "w", 0) for _ in range(n)]
    return sim, runs


def at(sim: Simulation, t: float, fn) -> None:
    sim.env.timeout(t).callbacks.append(lambda _e: fn())


def events(trace, workflow: int = 0) -> list[tuple[str, str, float]]:
    te = trace.task_events
    rows = te[te["workflow"] == workflow]
    return [(str(e), str(n), float(t)) for e, n, t in zip(rows["event"], rows["node"], rows["time"])]


def assert_catalog_holds(trace) -> None:
    bad = [v.summary() for v in check_catalog(trace) if v.verdict == "false"]
    assert not bad, bad


def test_running_task_resumes_on_the_target_with_the_work_it_had_left():
    sim, runs = setup(input_bytes=INPUT)
    t0 = INPUT / 1e12  # the input's trip from the device
    out = {}
    at(sim, 4.0, lambda: out.setdefault("mig", sim.migration.request(runs[0], 0, sim.nodes[2], force=True)))
    trace = sim.run().trace
    mig = out["mig"]
    assert mig is not None and mig.work_left == pytest.approx(6.0 + t0)  # ran t0-4 at 1 op/s
    assert mig.nbytes == INPUT + MEMORY  # its inputs and its memory image
    arrive = 4.0 + LATENCY + (INPUT + MEMORY) * OVERHEAD / BANDWIDTH
    assert events(trace) == [
        ("placed", "e0", 0.0), ("ready", "e0", pytest.approx(t0)), ("start", "e0", pytest.approx(t0)),
        ("checkpointed", "e0", 4.0),
        ("ready", "e1", pytest.approx(arrive)), ("start", "e1", pytest.approx(arrive)),
        ("end", "e1", pytest.approx(arrive + (6.0 + t0) / 2.0)),
    ]
    assert [s.value for s in (MigrationState(x) for x in trace.migrations["state"].astype(str))] == [
        "Preparing", "Transferring", "Activating", "Completed"]
    h = trace.holdings()
    assert h["node"].tolist() == ["e0", "e1"]
    # Every op done once: 4 on e0, 6 on e1.
    assert sum((h["end"] - h["start"]) * [1.0, 2.0]) == pytest.approx(10.0)
    assert h["start"].tolist() == pytest.approx([t0, arrive])
    assert runs[0].node_of[0] == 2
    for node in sim.nodes:
        assert node.outstanding_ops == pytest.approx(0.0) and not node.executions
        assert node.free_cores == node.capacity
    ex = trace.executions()
    assert ex.loc[0, "node"] == "e1" and ex.loc[0, "start"] == pytest.approx(arrive)
    assert_catalog_holds(trace)


def test_checkpoint_frees_the_source_for_its_queue():
    sim, runs = setup(2)
    at(sim, 3.0, lambda: sim.migration.request(runs[0], 0, sim.nodes[2], force=True))
    trace = sim.run().trace
    second = events(trace, 1)
    assert ("start", "e0", 3.0) in second
    assert_catalog_holds(trace)


def test_canceled_or_failed_migration_resumes_on_the_source(monkeypatch):
    sim, runs = setup()
    out = {}
    at(sim, 2.0, lambda: out.setdefault("mig", sim.migration.request(runs[0], 0, sim.nodes[2], force=True)))
    at(sim, 2.5, lambda: out.setdefault("canceled", sim.migration.cancel(out["mig"])))
    trace = sim.run().trace
    assert out["canceled"]
    assert events(trace)[-3:] == [("ready", "e0", 2.5), ("start", "e0", 2.5), ("end", "e0", 10.5)]
    assert trace.migrations["state"].astype(str).tolist()[-1] == "Canceled"
    assert_catalog_holds(trace)

    sim, runs = setup()

    def request() -> None:
        monkeypatch.setattr(sim.network, "send", lambda *a, **k: False)  # the route is gone now
        sim.migration.request(runs[0], 0, sim.nodes[2], force=True)
        monkeypatch.undo()

    at(sim, 2.0, request)
    trace = sim.run().trace
    assert trace.migrations["state"].astype(str).tolist()[-1] == "Failed"
    assert events(trace)[-2:] == [("start", "e0", 2.0), ("end", "e0", 10.0)]
    assert_catalog_holds(trace)


def test_running_migration_follows_the_cost_benefit_rule():
    transfer = LATENCY + MEMORY * OVERHEAD / BANDWIDTH  # 1.21 s
    # At 1: 9 ops left take 9 s here, 4.5 s on the twice as fast e1: worth 1.21 s.
    sim, runs = setup()
    out = {}
    at(sim, 1.0, lambda: out.setdefault("early", sim.migration.request(runs[0], 0, sim.nodes[2])))
    sim.run()
    assert out["early"] is not None
    assert out["early"].benefit == pytest.approx(4.5) and out["early"].cost == pytest.approx(transfer)
    # At 8: 2 ops left save only 1 s, less than the transfer.
    sim, runs = setup()
    at(sim, 8.0, lambda: sim.migration.request(runs[0], 0, sim.nodes[2]))
    sim.run()
    assert [r.reason.split(":")[0] for r in sim.migration.rejections] == ["not worth it"]
    assert sim.migration.rejections[0].trigger is MigrationTrigger.USER_REQUEST


def test_finishing_task_is_not_migrated():
    sim, runs = setup()
    at(sim, 10.0, lambda: sim.migration.request(runs[0], 0, sim.nodes[2], force=True))
    trace = sim.run().trace
    # At t=10 the completion is due: either it already ended (not running) or it has no work left.
    assert trace.migrations.empty
    assert sim.migration.rejections[0].reason in {"task neither queued nor running",
                                                   "task is finishing (no work left)"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(works=st.lists(st.floats(0.5, 20.0), min_size=1, max_size=5),
       moves=st.lists(st.tuples(st.floats(0.0, 40.0), st.integers(0, 4), st.booleans(), st.floats(0.0, 5.0)),
                      max_size=8))
def test_migrated_running_tasks_are_never_lost_or_run_twice(works, moves):
    """Random checkpoint migrations back and forth (some canceled): every task ends
    once, does exactly its work, holds cores on one node at a time, and the catalog
    (P18, P23, P24) holds on the trace."""
    sim = Simulation(topology(), [], placement=Fixed("e0"), migration=MigrationSettings(overhead=OVERHEAD))
    runs = [sim.executor.submit(Workflow("job", [Task("t", work=w, memory=MEMORY)], input_bytes=INPUT), "w", 0)
            for w in works]

    def move(k: int, cancel_after: float) -> None:
        if k >= len(runs):
            return
        run = runs[k]
        src = run.node_of[0]
        mig = sim.migration.request(run, 0, sim.nodes[3 - src], force=True)
        if mig is not None and cancel_after < 1.0:
            at(sim, cancel_after, lambda: sim.migration.cancel(mig))

    for when, k, _, cancel_after in moves:
        at(sim, when, lambda k=k, c=cancel_after: move(k, c))
    trace = sim.run().trace
    ends = trace.task_events[trace.task_events["event"] == "end"]
    assert sorted(ends["workflow"]) == list(range(len(works)))
    h = trace.holdings()
    speed = {"e0": 1.0, "e1": 2.0}
    for k, w in enumerate(works):
        mine = h[h["workflow"] == k].sort_values("start")
        done = sum(task_rate(speed[n], Task("t", work=w), 1) * (e - s)
                   for n, s, e in zip(mine["node"], mine["start"], mine["end"]))
        assert done == pytest.approx(w, rel=1e-9, abs=1e-9)
        assert (mine["start"].to_numpy()[1:] >= mine["end"].to_numpy()[:-1] - 1e-12).all()
    for node in sim.nodes:
        assert node.outstanding_ops == pytest.approx(0.0, abs=1e-9) and not node.executions
    assert_catalog_holds(trace)


def test_holdings_follow_the_node_when_a_task_grows_and_moves_in_one_instant():
    from wfsim.trace.metrics import busy_core_seconds

    topo = Topology([Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0), Node("n", Tier.EDGE_CLOUD, cores=4, speed=1.0),
                     Node("m", Tier.EDGE_CLOUD, cores=4, speed=1.0)],
                    [Link("d", "n", 0.0, 1e12), Link("n", "m", 0.0, 1e12)])
    sim = Simulation(topo, [], placement=Fixed("n"))
    for task in (Task("y", work=1.0, cores=2), Task("z", work=100.0, cores=1),
                 Task("x", work=20.0, cores=4, min_cores=1, elastic=True)):
        sim.executor.submit(Workflow(task.id, [task], input_bytes=0.0), "w", 0)
    n, m = sim.nodes[1], sim.nodes[2]

    def move() -> None:  # after y's end at 0.5 let x grow to 3 cores on n
        ex = next(e for e in n.executions.values() if e.spec.id == "x")
        assert ex.cores == 3
        sim.migration.request(ex.run, ex.task, m, force=True)  # arrives the same instant

    at(sim, 0.5, lambda: sim.env.timeout(0).callbacks.append(lambda _e: move()))
    trace = sim.run().trace
    h = trace.holdings()
    x_on_m = h[(h["task"] == "x") & (h["node"] == "m")]
    assert x_on_m["cores"].tolist() == [4.0]
    busy = busy_core_seconds(trace)
    assert busy["m"] == pytest.approx(m.busy_core_seconds) and busy["n"] == pytest.approx(n.busy_core_seconds)
    assert_catalog_holds(trace)


def test_single_node_flags_an_execution_on_a_node_the_task_never_went_to():
    from wfsim.verify.catalog import check_catalog as check

    sim, runs = setup()
    at(sim, 4.0, lambda: sim.migration.request(runs[0], 0, sim.nodes[2], force=True))
    trace = sim.run().trace
    assert_catalog_holds(trace)
    te = trace.task_events
    first = te.index[(te["event"].isin(["start", "checkpointed"])) & (te["node"].astype(str) == "e0")]
    trace.task_events.loc[first, "node"] = "d"  # its first execution relabelled to a node it never went to
    (verdict,) = check(trace, ["single-node"])
    assert verdict.verdict == "false" and verdict.first.entity == "0/t"
