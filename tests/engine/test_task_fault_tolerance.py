"""Task-level fault tolerance: crashes lose tasks, retries with backoff, checkpoints and
the four fault-tolerance modes, checked against closed-form expectations on one small
continuum (a device, two edge nodes, the cloud) where one workflow arrives at t = 0."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import Simulation, Workload, chain, hierarchical
from wfsim.engine.fault_tolerance import FaultToleranceSettings, FaultTolerantExecutor
from wfsim.policies.placement import PlacementStrategy
from wfsim.verify import check_catalog
from wfsim.workloads.arrivals import Periodic

EDGE_SPEED = 2e9  # ops/s per core of an EdgeCloud node (hierarchical's default)
DEVICE_SPEED = 1e9
W = 2e10  # 10 s on an edge node


class Pin(PlacementStrategy):
    """The first node of ``order`` that placement may use (``healthy_only``: skip
    suspected nodes; else place even on a node the detector suspects)."""

    name = "pin"

    def __init__(self, order: tuple[str, ...] = ("edge-0", "edge-1"), healthy_only: bool = True) -> None:
        self.order = order
        self.healthy_only = healthy_only

    def place(self, run, task, cluster):
        for nid in self.order:
            node = cluster.nodes[cluster.topology.index[nid]]
            if not self.healthy_only or node.health.value == "Healthy":
                return node
        return None


def scenario(ft: FaultToleranceSettings | None, *, length: int = 2, crashes: tuple = (("edge-0", 5.0),),
             suspect: bool = True, placement: PlacementStrategy | None = None, seed: int = 1,
             actions: tuple = (), trace: str = "full") -> Simulation:
    """One ``chain(length)`` of W-op tasks (no data) from ``device-0`` at t = 0; each
    ``(node, t)`` of ``crashes`` crashes then (and, with ``suspect``, the node is
    marked Unhealthy at once, as a detector would); ``actions`` are more ``(t, fn(sim))``."""
    topo = hierarchical(devices=1, edge=2, regional=0)
    sim = Simulation(topo, [Workload("w", chain(length, work=W, data_bytes=0), Periodic(1000.0))],
                     placement=placement or Pin(), duration=1, seed=seed, fault_tolerance=ft, trace=trace)

    def crash(name: str) -> None:
        node = sim.nodes[topo.index[name]]
        node.up = False
        if suspect:
            sim.set_health(name, "Unhealthy")
        sim.executor.on_node_crash(node)

    for name, t in crashes:
        sim.env.timeout(t).callbacks.append(lambda _e, name=name: crash(name))
    for t, fn in actions:
        sim.env.timeout(t).callbacks.append(lambda _e, fn=fn: fn(sim))
    return sim


def events(trace, task: str | None = None, event: str | None = None):
    ev = trace.task_events.astype({"task": str, "event": str, "node": str})
    if task is not None:
        ev = ev[ev["task"] == task]
    if event is not None:
        ev = ev[ev["event"] == event]
    return ev


def faults(trace, kind: str):
    tf = trace.task_faults.astype({"task": str, "kind": str, "node": str})
    return tf[tf["kind"] == kind]


def back(sim) -> None:
    """device-0 recovers (and is healthy again)."""
    sim.nodes[sim.topology.index["device-0"]].recover()
    sim.set_health("device-0", "Healthy")


def final_state(trace) -> str:
    return str(trace.workflow_events["state"].iloc[-1])


def assert_catalog_holds(trace) -> None:
    """P17, P18 and P23 hold (run-once does not apply to a trace whose every task
    ran as replicas)."""
    verdicts = {v.name: v.verdict for v in check_catalog(trace, ["P17", "P18", "P23"])}
    assert verdicts.pop("resource-conservation") == "true"
    replicated = len(faults(trace, "replica")) > 0
    bad = {k: v for k, v in verdicts.items() if v != "true" and not (replicated and v == "not_applicable")}
    assert not bad


# --- without fault tolerance --------------------------------------------------------

def test_without_settings_a_lost_task_fails_its_workflow_and_descendants():
    sim = scenario(None, length=3)
    assert type(sim.executor).__name__ == "WorkflowExecutor"
    trace = sim.run().trace
    assert list(events(trace, "t0")["event"]) == ["placed", "ready", "start", "lost", "failed"]
    failed = events(trace, event="failed")
    assert set(failed["task"]) == {"t0", "t1", "t2"} and (failed["time"] == 5.0).all()
    assert final_state(trace) == "Failed"
    lost = faults(trace, "lost")
    start = events(trace, "t0", "start")["time"].iloc[0]
    assert lost["work_lost"].iloc[0] == pytest.approx(EDGE_SPEED * (5.0 - start))
    assert len(faults(trace, "exhausted")) == 1
    assert sim.nodes[1].free_cores == sim.nodes[1].capacity and sim.nodes[1].outstanding_ops == pytest.approx(0)
    assert_catalog_holds(trace)


def test_without_settings_inputs_reaching_a_down_node_are_lost():
    # edge-0 is down before t0 is even placed; placement does not know (no detector).
    sim = scenario(None, crashes=(("edge-0", 0.0),), suspect=False)
    trace = sim.run().trace
    assert list(events(trace, "t0")["event"]) == ["placed", "lost", "failed"]
    assert final_state(trace) == "Failed"


# --- checkpoints and retries --------------------------------------------------------

@settings(max_examples=4, deadline=None)
@given(interval=st.sampled_from([0.0, 0.7, 1.0, 2.5, 4.0]), crash=st.floats(1.0, 9.5))
def test_a_retry_redoes_only_the_work_after_the_last_checkpoint(interval, crash):
    ft = FaultToleranceSettings(checkpoint_interval=interval, backoff=0.5)
    trace = scenario(ft, length=1, crashes=(("edge-0", crash),)).run().trace
    start = events(trace, "t0", "start")["time"].to_numpy()
    ran = crash - start[0]
    saved = EDGE_SPEED * interval * math.floor(ran / interval) if interval else 0.0
    lost = faults(trace, "lost")
    assert lost["work_lost"].iloc[0] == pytest.approx(EDGE_SPEED * ran - saved, rel=1e-9, abs=1.0)
    retry = faults(trace, "retry")
    assert list(retry["attempt"]) == [1] and retry["time"].iloc[0] == pytest.approx(crash + 0.5)
    # The retry runs on edge-1 and does W - saved ops there.
    end = events(trace, "t0", "end")
    assert list(end["node"]) == ["edge-1"]
    assert end["time"].iloc[0] - start[1] == pytest.approx((W - saved) / EDGE_SPEED)
    assert final_state(trace) == "Completed"
    metrics = sim_metrics(trace)
    assert metrics["work_lost_ops"] == pytest.approx(lost["work_lost"].sum())
    assert metrics["work_redone_ops"] == metrics["work_lost_ops"] and metrics["retries"] == 1


def sim_metrics(trace):
    from wfsim.trace.metrics import summarize

    return summarize(trace)["faults"]


def test_checkpoint_overhead_slows_a_task_by_interval_over_interval_plus_overhead():
    ft = FaultToleranceSettings(checkpoint_interval=2.0, checkpoint_overhead=0.5)
    trace = scenario(ft, length=1, crashes=()).run().trace
    start, end = events(trace, "t0", "start")["time"].iloc[0], events(trace, "t0", "end")["time"].iloc[0]
    assert end - start == pytest.approx(W / EDGE_SPEED * 2.5 / 2.0)
    from wfsim.trace.metrics import summarize

    assert "faults" not in summarize(trace)


def test_backoff_delays_follow_the_formula_then_retries_are_exhausted():
    # Placement keeps choosing the crashed edge-0 (nobody suspects it): each retry's
    # input reaches a dead node and is lost on arrival.
    ft = FaultToleranceSettings(max_retries=3, backoff=0.5, backoff_factor=3.0, max_backoff=2.0)
    trace = scenario(ft, length=3, suspect=False).run().trace
    lost = faults(trace, "lost")["time"].to_numpy()
    retry = faults(trace, "retry")
    assert list(retry["attempt"]) == [1, 2, 3]
    delays = retry["time"].to_numpy() - lost[:3]
    assert delays == pytest.approx([0.5, 1.5, 2.0])  # min(2, 0.5 * 3**k)
    exhausted = faults(trace, "exhausted")
    assert len(exhausted) == 1 and exhausted["time"].iloc[0] == lost[3]
    assert final_state(trace) == "Failed"
    assert "t0" in str(trace.workflow_events["reason"].iloc[-1])
    failed = events(trace, event="failed")
    assert set(failed["task"]) == {"t0", "t1", "t2"} and (failed["time"] == lost[3]).all()
    assert events(trace, "t1", "placed").empty
    assert_catalog_holds(trace)


def test_jitter_comes_from_its_own_stream_and_stays_in_bounds():
    ft = FaultToleranceSettings(max_retries=3, backoff=1.0, backoff_factor=1.0, jitter=0.5)
    runs = [scenario(ft, length=1, suspect=False, seed=s).run().trace for s in (1, 1, 2)]
    delays = [faults(t, "retry")["time"].to_numpy() - faults(t, "lost")["time"].to_numpy()[:3] for t in runs]
    assert list(delays[0]) == list(delays[1]) and list(delays[0]) != list(delays[2])
    assert all(0.5 <= d <= 1.5 for d in delays[0]) and len(set(delays[0])) == 3


def test_detector_notice_keeps_a_lost_task_pending_until_the_node_is_suspected():
    ft = FaultToleranceSettings(notice="detector", backoff=1.0)

    def suspect(sim):
        node = sim.nodes[sim.topology.index["edge-0"]]
        sim.set_health("edge-0", "Unhealthy")
        sim.executor.on_node_suspected(node)

    sim = scenario(ft, length=1, suspect=False, actions=((8.0, suspect),))
    trace = sim.run().trace
    assert faults(trace, "lost")["time"].iloc[0] == 5.0
    assert faults(trace, "retry")["time"].iloc[0] == pytest.approx(9.0)  # noticed at 8, then the backoff
    assert final_state(trace) == "Completed"


def test_a_partition_at_placement_goes_through_the_retry_path_and_heals():
    def link(up):
        def act(sim):
            sim.topology.set_link_up(sim.topology.link_index("device-0", "edge-0"), up)
        return act

    ft = FaultToleranceSettings(backoff=1.0, backoff_factor=1.0)
    sim = scenario(ft, length=1, crashes=(), placement=Pin(("edge-0",), healthy_only=False),
                   actions=((0.0, link(False)), (2.5, link(True))))
    # The cut comes before the arrival at t = 0 (actions are scheduled first).
    trace = sim.run().trace
    retry = faults(trace, "retry")
    assert list(retry["time"]) == [1.0, 2.0, 3.0]
    assert events(trace, "t0", "placed")["time"].tolist() == [3.0]
    assert final_state(trace) == "Completed"
    no_retries = scenario(FaultToleranceSettings(max_retries=0), length=1, crashes=(),
                          placement=Pin(("edge-0",), healthy_only=False), actions=((0.0, link(False)),))
    trace = no_retries.run().trace
    assert final_state(trace) == "Failed" and faults(trace, "retry").empty


# --- the four modes ---------------------------------------------------------------

def test_active_passive_standby_takes_over_at_the_crash_from_the_last_checkpoint():
    ft = FaultToleranceSettings(mode="ActivePassive", checkpoint_interval=1.0)
    sim = scenario(ft, length=1)
    assert isinstance(sim.executor, FaultTolerantExecutor)
    trace = sim.run().trace
    takeover = faults(trace, "takeover")
    assert len(takeover) == 1 and takeover["time"].iloc[0] == 5.0
    standby = takeover["node"].iloc[0]
    assert standby != "edge-0"
    start = events(trace, "t0", "start")
    assert list(start["node"]) == ["edge-0", standby] and start["time"].iloc[1] == 5.0
    saved = EDGE_SPEED * math.floor(5.0 - start["time"].iloc[0])
    speed = {"device-0": DEVICE_SPEED, "edge-1": EDGE_SPEED}.get(standby, 3e9)
    assert events(trace, "t0", "end")["time"].iloc[0] == pytest.approx(5.0 + (W - saved) / speed)
    assert faults(trace, "retry").empty
    assert_catalog_holds(trace)


def test_active_active_finishes_at_the_earliest_replica_and_cancels_the_rest():
    ft = FaultToleranceSettings(mode="ActiveActive", replicas=3)
    trace = scenario(ft, length=2, crashes=()).run().trace
    t0 = events(trace, "t0")
    starts = t0[t0["event"] == "start"].set_index("node")["time"]
    assert len(starts) == 3 and len(faults(trace, "replica")) == 6
    speed = {"device-0": DEVICE_SPEED, "edge-0": EDGE_SPEED, "edge-1": EDGE_SPEED, "cloud": 3e9}
    finish = {n: s + W / speed[n] for n, s in starts.items()}
    winner = min(finish, key=finish.get)
    end = t0[t0["event"] == "end"]
    assert list(end["node"]) == [winner] and end["time"].iloc[0] == pytest.approx(finish[winner])
    cancelled = t0[t0["event"] == "cancelled"]
    assert set(cancelled["node"]) == set(starts.index) - {winner}
    assert (cancelled["time"] == end["time"].iloc[0]).all()
    # Its successor starts from the winner's output, at once.
    assert events(trace, "t1", "placed")["time"].min() == end["time"].iloc[0]
    assert final_state(trace) == "Completed"
    assert sim_metrics(trace)["replicas_cancelled"] == 4
    assert_catalog_holds(trace)


def test_active_active_survives_losing_a_replica_and_retries_when_all_are_lost():
    ft = FaultToleranceSettings(mode="ActiveActive", replicas=2, backoff=0.5)
    # Replicas of t0: edge-0 (placement) and device-0 (the nearest other candidate).
    one = scenario(ft, length=1).run().trace
    assert faults(one, "retry").empty and final_state(one) == "Completed"
    assert list(events(one, "t0", "end")["node"]) == ["device-0"]
    assert events(one, "t0", "end")["time"].iloc[0] == pytest.approx(W / DEVICE_SPEED)
    # The origin's request is on device-0: the retry can send it once device-0 is back.
    both = scenario(ft, length=1, crashes=(("edge-0", 5.0), ("device-0", 6.0)), actions=((6.2, back),)).run().trace
    retry = faults(both, "retry")
    assert list(retry["time"]) == [pytest.approx(6.5)]
    assert final_state(both) == "Completed"
    assert_catalog_holds(both)


def test_quorum_completes_when_a_majority_returns_the_same_result():
    ft = FaultToleranceSettings(mode="Quorum", quorum=3)
    trace = scenario(ft, length=2, crashes=()).run().trace
    t0 = events(trace, "t0")
    ends = sorted(t0[t0["event"] == "end"]["time"])
    assert len(ends) == 2  # the majority: the third replica is cancelled then
    assert events(trace, "t1", "placed")["time"].min() == ends[1]
    assert len(t0[t0["event"] == "cancelled"]) == 1
    assert final_state(trace) == "Completed"
    assert_catalog_holds(trace)


def test_quorum_with_every_result_wrong_never_completes_a_task():
    ft = FaultToleranceSettings(mode="Quorum", quorum=3, corruption=1.0, max_retries=2, backoff=0.0)
    trace = scenario(ft, length=2, crashes=()).run().trace
    assert final_state(trace) == "Failed"
    assert len(faults(trace, "disagree")) == 3 * 2  # two wrong results per attempt end every attempt
    assert list(faults(trace, "retry")["attempt"]) == [1, 2] and len(faults(trace, "exhausted")) == 1
    assert events(trace, "t1", "placed").empty and list(events(trace, "t1")["event"]) == ["failed"]
    assert_catalog_holds(trace)


def test_multi_master_runs_on_the_origins_side_instead_of_waiting():
    def cut(sim):
        sim.topology.set_link_up(sim.topology.link_index("device-0", "edge-0"), False)

    pin = Pin(("edge-0",), healthy_only=False)
    waits = scenario(FaultToleranceSettings(backoff=1.0), length=1, crashes=(), placement=pin,
                     actions=((0.0, cut),)).run().trace
    assert final_state(waits) == "Failed"  # never heals: retries run out
    goes = scenario(FaultToleranceSettings(mode="MultiMaster"), length=1, crashes=(), placement=pin,
                    actions=((0.0, cut),)).run().trace
    assert final_state(goes) == "Completed" and faults(goes, "retry").empty
    assert list(events(goes, "t0", "placed")["node"]) == ["device-0"]


# --- on a busy continuum -------------------------------------------------------------

@pytest.mark.parametrize("ft, notice_delay", [
    (FaultToleranceSettings(checkpoint_interval=1.0, notice="detector"), 2.0),
    (FaultToleranceSettings(mode="ActiveActive", checkpoint_interval=2.0), None),
    (FaultToleranceSettings(mode="Quorum", corruption=0.2, backoff=0.5), None),
])
def test_crashes_and_recoveries_on_a_busy_continuum_keep_the_catalog(ft, notice_delay):
    from wfsim import Poisson
    from wfsim.workloads import layered_random

    from sim_support import MIXED

    topo = hierarchical(devices=6, edge=3, regional=1)
    sim = Simulation(topo, [Workload("mixed", MIXED, Poisson(0.6)),
                            Workload("layers", layered_random(3, 3, seed=5), Poisson(0.4))],
                     duration=20, seed=4, fault_tolerance=ft)

    def crash(name, down_for):
        node = sim.nodes[topo.index[name]]
        node.up = False
        sim.executor.on_node_crash(node)

        def suspect(_e):
            sim.set_health(name, "Unhealthy")
            sim.executor.on_node_suspected(node)

        def recover(_e):
            node.recover()
            sim.set_health(name, "Healthy")

        sim.env.timeout(notice_delay or 0.0).callbacks.append(suspect)
        sim.env.timeout(down_for).callbacks.append(recover)

    for name, t, down_for in (("edge-0", 4.0, 6.0), ("regional-0", 7.0, 3.0), ("edge-0", 14.0, 2.0)):
        sim.env.timeout(t).callbacks.append(lambda _e, n=name, d=down_for: crash(n, d))
    trace = sim.run().trace
    assert len(faults(trace, "lost")) > 0
    assert not [(v.pid, v.name) for v in check_catalog(trace) if v.verdict == "false"]
    for node in sim.nodes:  # everything lost, cancelled or finished gave back what it held
        assert node.free_cores == node.capacity and node.running == 0
        assert node.outstanding_ops == pytest.approx(0.0, abs=1.0)



def test_a_run_keeping_only_metrics_sums_the_same_faults():
    from sim_support import assert_same_metrics

    ft = FaultToleranceSettings(mode="ActiveActive", checkpoint_interval=1.0)
    full, lean = (scenario(ft, length=3, crashes=(("edge-0", 5.0), ("device-0", 6.0)), actions=((6.2, back),),
                           trace=level).run().metrics
                  for level in ("full", "metrics"))
    assert full["faults"]["lost"] == 2 and full["faults"]["retries"] == 1
    assert_same_metrics(full, lean)


def test_a_migration_whose_target_crashes_meanwhile_fails_back_to_its_source():
    def migrate(sim):
        edge = sim.nodes[sim.topology.index["edge-0"]]
        ex = next(iter(edge.executions.values()))
        assert sim.migration.request(ex.run, ex.task, sim.topology.index["cloud"], force=True) is not None

    def crash_cloud(sim):
        cloud = sim.nodes[sim.topology.index["cloud"]]
        cloud.up = False
        sim.executor.on_node_crash(cloud)

    sim = scenario(FaultToleranceSettings(), length=1, crashes=(), actions=((2.0, migrate), (2.0, crash_cloud)))
    trace = sim.run().trace
    assert list(trace.migrations["state"].astype(str))[-1] == "Failed"
    end = events(trace, "t0", "end")
    assert list(end["node"]) == ["edge-0"] and final_state(trace) == "Completed"
    assert faults(trace, "lost").empty


def test_an_input_on_a_crashed_node_waits_for_it_to_come_back():
    from wfsim import Task, Workflow

    class ByTask(PlacementStrategy):
        name = "by_task"

        def place(self, run, task, cluster):
            return cluster.nodes[cluster.topology.index[("edge-0", "edge-1", "edge-1")[task]]]

    wf = Workflow("join", [Task("a", work=2e9), Task("b", work=2e10), Task("c", work=2e9)],
                  [("a", "c", 0.0), ("b", "c", 0.0)])
    topo = hierarchical(devices=1, edge=2, regional=0)
    sim = Simulation(topo, [Workload("w", wf, Periodic(1000.0))], placement=ByTask(), duration=1, seed=1,
                     fault_tolerance=FaultToleranceSettings(backoff=1.0, backoff_factor=1.0, max_retries=5))
    edge = sim.nodes[topo.index["edge-0"]]

    def crash(_e):
        edge.up = False
        sim.executor.on_node_crash(edge)

    sim.env.timeout(3.0).callbacks.append(crash)  # a ended on edge-0 at ~1 s; b ends at ~10 s
    sim.env.timeout(11.5).callbacks.append(lambda _e: edge.recover())
    trace = sim.run().trace
    b_end = events(trace, "b", "end")["time"].iloc[0]
    assert faults(trace, "lost").empty  # nothing was running there
    retry = faults(trace, "retry")
    assert list(retry["time"]) == pytest.approx([b_end + 1.0, b_end + 2.0])  # a's output is back after 11.5
    assert events(trace, "c", "placed")["time"].tolist() == pytest.approx([b_end + 2.0])
    assert final_state(trace) == "Completed"
