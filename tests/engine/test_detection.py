"""Heartbeat failure detection: the closed-form detection time of a crash,
accuracy on timely heartbeats, short and long partitions and the recovery actions
each calls for, placement health, listeners, and the detection metrics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import LocationRequirement, Poisson, Simulation, Workload, chain, hierarchical
from wfsim.engine.detection import DetectionSettings
from wfsim.engine.leases import LeaseSettings
from wfsim.model.events import CRASH, RECOVER
from wfsim.trace.metrics import detection_times, suspicion_onsets

# Link latencies chosen so that no heartbeat's age ever ties a check boundary.
LINKS = {"edge-regional": {"latency": 0.0137}, "regional-cloud": {"latency": 0.0211},
         "device-edge": {"latency": 0.0031}}
UPLINK = 0.0137 + 0.0211  # edge → regional → cloud


def small():
    return hierarchical(devices=2, edge=2, regional=1, links=LINKS)


def detecting(settings: DetectionSettings, until: float, workloads=(), topology=None, **kwargs) -> Simulation:
    return Simulation(topology or small(), list(workloads), detection=settings, until=until, duration=until,
                      **kwargs)


def at(sim: Simulation, t: float, action) -> None:
    """Run ``action()`` at simulated time ``t``."""
    def process():
        yield sim.env.timeout(t)
        action()
    sim.env.process(process())


def cut(sim: Simulation, node: str, up: bool, crash: bool = False) -> None:
    """Bring ``node``'s links down (up) and, with ``crash``, the node too, recording
    the crash in ``faults`` as the fault injector does."""
    topo = sim.topology
    i = topo.index_of(node)
    for k, link in enumerate(topo.links):
        if node in (link.a, link.b):
            topo.set_link_up(k, up)
    if crash:
        sim.nodes[i].up = up
        sim.recorder.record_fault((sim.env.now, RECOVER if up else CRASH, node, "test", None))


def series(start: float, step: float, until: float) -> list[float]:
    """Times start, start+step, … as SimPy reaches them (each one ``now + step``)."""
    out, t = [], start
    while t <= until:
        out.append(t)
        t = t + step
    return out


def rows(table, node: str) -> list[tuple]:
    sel = table[table["node"].astype(str) == node]
    return [tuple(r) for r in sel.drop(columns="node").itertuples(index=False)]


@settings(max_examples=8, deadline=None)
@given(period=st.sampled_from([0.5, 1.0, 2.0]), slack=st.sampled_from([0.5, 1.25, 2.0]),
       check=st.sampled_from([0.25, 0.5, 1.0]), failed_after=st.integers(1, 4),
       crash=st.floats(3.1, 9.9))
def test_a_crash_is_failed_at_the_closed_form_time(period, slack, check, failed_after, crash):
    timeout = period + slack  # heartbeats on time are never late
    s = DetectionSettings(period=period, timeout=timeout, check_period=check, partitioned_after=1,
                          failed_after=failed_after, heartbeat_bytes=0.0)
    sim = detecting(s, until=crash + timeout + (failed_after + 2) * check + period + 1)
    at(sim, crash, lambda: cut(sim, "edge-0", False, crash=True))
    trace = sim.run().trace
    # The last heartbeat left before the crash and arrived one uplink latency later.
    last = max(t for t in series(0.0, period, crash) if t < crash) + UPLINK
    checks = series(check, check, crash + 100)
    first = next(t for t in checks if t - last > timeout)
    failed = first + (failed_after - 1) * check
    states = [(t, state) for t, state, _ in rows(trace.detections, "edge-0")]
    assert states[-1][0] == pytest.approx(failed, abs=1e-9) and states[-1][1] == "Failed"
    assert states[0][0] == pytest.approx(first, abs=1e-9)
    assert detection_times(trace)["delay"].tolist() == [pytest.approx(failed - crash, abs=1e-9)]
    # P20's completeness bound.
    assert failed - crash <= timeout + failed_after * check + period + UPLINK
    assert rows(trace.detections, "edge-1") == []


def test_timely_heartbeats_never_raise_suspicion_under_load():
    s = DetectionSettings(period=0.5, timeout=1.0, check_period=0.25)
    work = Workload("w", chain(3, work=5e8, data_bytes=2e6), Poisson(2.0))
    sim = detecting(s, until=40.0, workloads=[work], topology=hierarchical(devices=6, edge=2, regional=1))
    result = sim.run()
    assert result.metrics["workflows"]["completed"] > 20
    assert len(result.trace.detections) == 0
    assert "detection" not in result.metrics


def test_a_partition_shorter_than_the_timeout_minus_a_period_goes_unnoticed():
    s = DetectionSettings(period=0.5, timeout=3.0, check_period=0.5)
    sim = detecting(s, until=30.0)
    at(sim, 10.2, lambda: cut(sim, "edge-0", False))
    at(sim, 10.2 + 2.4, lambda: cut(sim, "edge-0", True))  # 2.4 < 3.0 − 0.5
    assert len(sim.run().trace.detections) == 0


def test_a_medium_partition_is_reconciled_and_a_long_one_restarted():
    s = DetectionSettings(period=0.5, timeout=2.0, check_period=1.0, restart_delay=4.0, state_bytes=1e6)
    sim = detecting(s, until=60.0)
    # edge-0: 4 s (Partitioned at 13, heals before Failed at 15); edge-1: 20 s (> τ + 3d).
    at(sim, 10.2, lambda: cut(sim, "edge-0", False))
    at(sim, 14.2, lambda: cut(sim, "edge-0", True))
    at(sim, 10.2, lambda: cut(sim, "edge-1", False))
    at(sim, 30.2, lambda: cut(sim, "edge-1", True))
    trace = sim.run().trace
    assert [(state, missed) for _, state, missed in rows(trace.detections, "edge-0")] == [
        ("Partitioned", 1), ("Healthy", 0)]
    assert [(state, missed) for _, state, missed in rows(trace.detections, "edge-1")] == [
        ("Partitioned", 1), ("Failed", 3), ("Healthy", 0)]
    healed0 = rows(trace.detections, "edge-0")[-1][0]
    healed1 = rows(trace.detections, "edge-1")[-1][0]
    # The heartbeat that cleared each node was sent after its partition healed.
    assert 14.2 < healed0 < 14.2 + 0.5 + UPLINK + 1e-9 and 30.2 < healed1 < 30.2 + 0.5 + UPLINK + 1e-9
    # Reconcile: one round trip to the monitor after the heal (the state before the reset).
    rec0 = rows(trace.recoveries, "edge-0")
    assert [(a, p) for _, a, p in rec0] == [("Reconcile", "start"), ("Reconcile", "done")]
    assert rec0[0][0] == healed0 and rec0[1][0] == pytest.approx(healed0 + 2 * UPLINK)
    rec1 = {(a, p): t for t, a, p in rows(trace.recoveries, "edge-1")}
    assert set(rec1) == {("Restart", "start"), ("StateTransfer", "start"), ("StateTransfer", "done"),
                         ("Restart", "done")}
    assert rec1[("Restart", "done")] == pytest.approx(healed1 + 4.0)
    # Placement sees a suspected node as Unhealthy; a restarted one only after the delay.
    health = trace.states[(trace.states["kind"] == "health")]
    h1 = [(t, s) for t, e, s in zip(health["time"], health["entity"].astype(str), health["state"]) if e == "edge-1"]
    assert h1 == [(13.0, "Unhealthy"), (pytest.approx(healed1 + 4.0), "Healthy")]
    h0 = [(t, s) for t, e, s in zip(health["time"], health["entity"].astype(str), health["state"]) if e == "edge-0"]
    assert h0 == [(13.0, "Unhealthy"), (healed0, "Healthy")]
    # Both were only cut off, never down: false suspicions.
    sus = suspicion_onsets(trace)
    assert sorted(sus["node"]) == ["edge-0", "edge-1"] and sus["false"].all()


def test_a_crash_is_not_a_false_suspicion_and_listeners_hear_every_change():
    s = DetectionSettings(period=1.0, timeout=2.5, check_period=1.0)
    sim = detecting(s, until=40.0)
    heard = []
    sim.detector.on_suspect.append(lambda node: heard.append(("suspect", node.spec.id, sim.env.now)))
    sim.detector.on_clear.append(lambda node: heard.append(("clear", node.spec.id, sim.env.now)))
    at(sim, 5.5, lambda: cut(sim, "edge-1", False, crash=True))
    at(sim, 20.5, lambda: cut(sim, "edge-1", True, crash=True))
    result = sim.run()
    assert [(k, n) for k, n, _ in heard] == [("suspect", "edge-1"), ("suspect", "edge-1"), ("clear", "edge-1")]
    det = result.metrics["detection"]
    assert det["suspicions"] == 1 and det["false_suspicions"] == 0
    assert det["crashes"] == det["crashes_detected"] == 1
    assert det["recoveries"] == {"Restart": 1, "StateTransfer": 1}


def test_heartbeats_queue_behind_traffic_and_a_slow_link_raises_false_suspicion():
    # A 10 kB/s uplink carrying 50 kB transfers delays heartbeats past the timeout.
    topo = hierarchical(devices=2, edge=1, regional=1, links={"edge-regional": {"bandwidth": 1e4}})
    to_cloud = chain(1, work=1e6, task={"location": LocationRequirement.specific("Cloud")}, input_bytes=5e4)
    pinned = Workload("w", to_cloud, Poisson(0.5), origins=["device-0"], end=4.0)
    s = DetectionSettings(period=0.5, timeout=1.0, check_period=0.5)
    sim = Simulation(topo, [pinned], detection=s, duration=5.0, until=60.0, seed=1)
    trace = sim.run().trace
    sus = suspicion_onsets(trace)
    assert len(sus) and sus["false"].all() and set(sus["node"]) == {"edge-0"}


def test_a_run_without_until_ends_with_its_work():
    work = Workload("w", chain(3), Poisson(0.5))
    plain = Simulation(hierarchical(devices=4, edge=2, regional=1), [work], duration=30, seed=1).run()
    sim = Simulation(hierarchical(devices=4, edge=2, regional=1), [work], duration=30, seed=1,
                     detection=DetectionSettings())
    result = sim.run()
    assert result.metrics["workflows"] == plain.metrics["workflows"]
    assert result.trace.horizon < plain.trace.horizon + 1.0


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"failed_after \(2\) must be >= partitioned_after"):
        DetectionSettings(partitioned_after=3, failed_after=2)
    with pytest.raises(ValueError, match="period must be in"):
        DetectionSettings(period=0.0)
    with pytest.raises(ValueError, match="monitor: unknown node 'nowhere'"):
        detecting(DetectionSettings(monitor="nowhere"), until=1.0)
    with pytest.raises(ValueError, match="need detection"):
        Simulation(small(), [], leases=LeaseSettings(), until=1.0)
    sim = detecting(DetectionSettings(monitor="regional-0", tiers=("EdgeCloud",)), until=1.0)
    assert [sim.topology.nodes[i].id for i in sim.detector.monitored] == ["edge-0", "edge-1"]


def test_a_run_keeping_only_metrics_summarizes_the_same():
    from sim_support import assert_same_metrics

    def run(level):
        s = DetectionSettings(period=1.0, timeout=2.5, check_period=1.0)
        sim = detecting(s, until=30.0, workloads=[Workload("w", chain(2), Poisson(0.5))], trace=level)
        at(sim, 5.5, lambda: cut(sim, "edge-1", False, crash=True))
        return sim.run().metrics

    full, lean = run("full"), run("metrics")
    assert full["detection"]["crashes_detected"] == 1
    assert_same_metrics(full, lean)


def test_a_run_without_until_ends_even_when_heartbeats_outlast_their_period():
    slow = hierarchical(devices=2, edge=2, regional=1, links={"regional-cloud": {"latency": 2.0}})
    sim = Simulation(slow, [Workload("w", chain(2), Poisson(0.5))], duration=10, seed=1,
                     detection=DetectionSettings(period=0.5, timeout=5.0, check_period=0.5))
    trace = sim.run().trace
    # Heartbeats stop once the arrival window is over and the work done; the last
    # ones arrive within a period and a crossing of the slow link (2 s > the 0.5 s period).
    quiet = max(trace.task_events["time"].max(), 10.0)
    assert quiet <= trace.horizon <= quiet + 0.5 + 2.0 + 0.1
