"""The fault parts wired together in one Simulation: injected crashes reach the
executor, the failure detector's suspicions are when losses become known, and the
catalog holds on the result."""

from __future__ import annotations

import pytest

from wfsim import FaultToleranceSettings, Periodic, Simulation, Workload, hierarchical
from wfsim.engine.detection import DetectionSettings
from wfsim.faults.fault import Fault
from wfsim.faults.processes import Schedule
from wfsim.model.workflow import LocationRequirement, Task, Workflow
from wfsim.policies.placement import NearestEdge
from wfsim.verify import check_catalog


def crashed_edge_run(notice: str) -> Simulation:
    """One long task a minute from device-0, pinned to an EdgeCloud: edge-0 (its
    nearest access point; edge-1 is its other) runs it and crashes at t = 20 for 30 s;
    detection every second with a 3 s timeout."""
    task = Task("t0", work=3e10, location=LocationRequirement.specific("EdgeCloud"))
    workload = Workload("w", Workflow("one", [task]), Periodic(60.0, phase=10.0), origins=["device-0"])
    return Simulation(
        hierarchical(devices=2, edge=2, regional=1, access_points=2), [workload], placement=NearestEdge(),
        duration=60, seed=1,
        faults=[Schedule(faults=(Fault("crash", ("edge-0",), 20.0, 50.0),))],
        detection=DetectionSettings(period=1.0, timeout=3.0, check_period=1.0),
        fault_tolerance=FaultToleranceSettings(notice=notice, backoff=1.0),
    )


@pytest.mark.parametrize("notice", ["immediate", "detector"])
def test_an_injected_crash_is_retried_when_its_loss_becomes_known(notice: str) -> None:
    sim = crashed_edge_run(notice)
    trace = sim.run().trace
    tf = trace.task_faults
    lost = tf[tf["kind"] == "lost"]
    retry = tf[tf["kind"] == "retry"]
    assert lost["time"].tolist() == [20.0] and lost["node"].astype(str).tolist() == ["edge-0"]
    det = trace.detections
    suspected = det[(det["node"] == "edge-0") & (det["state"] != "Healthy")]["time"].min()
    noticed = 20.0 if notice == "immediate" else suspected
    assert suspected > 20.0
    assert retry["time"].iloc[0] == pytest.approx(noticed + 1.0)  # then the first backoff
    assert (trace.workflow_summary()["state"] == "Completed").all()
    assert [v.name for v in check_catalog(trace) if v.verdict == "false"] == []
    assert trace.manifest["fault_tolerance"]["notice"] == notice  # the settings travel with the run


def test_notice_detector_without_a_detection_group_is_refused_in_yaml(tmp_path) -> None:
    from wfsim.experiments.building import build_simulation
    from wfsim.experiments.errors import ConfigError
    from wfsim.experiments.loading import validate_config

    config = validate_config({
        "topology": {"hierarchical": {"devices": 2, "edge": 1, "regional": 1}},
        "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2},
                       "arrivals": {"process": "poisson", "rate": 0.1}}],
        "fault_tolerance": {"notice": "detector"},
    }, "exp.yaml")
    with pytest.raises(ConfigError, match=r"fault_tolerance\.notice.*needs a detection: group"):
        build_simulation(config, tmp_path, "exp.yaml")


def test_a_site_cut_off_runs_its_work_on_its_edge_node_though_the_cloud_suspects_it() -> None:
    from wfsim import AutonomySettings, Poisson, chain
    from wfsim.faults.processes import Partitions
    from wfsim.policies.autonomy import FixedFallback
    from wfsim.policies.placement import CloudOnly

    sim = Simulation(
        hierarchical(devices=4, edge=2, regional=1), [Workload("w", chain(2, work=4e9), Poisson(0.2))],
        placement=CloudOnly(), duration=120, seed=2,
        faults=[Partitions(site="edge-0", start=10.0, duration=100.0)],
        detection=DetectionSettings(),
        autonomy=AutonomySettings(level="FullyDependent", fallback=FixedFallback(action="ExecuteLocal")),
    )
    trace = sim.run().trace
    det = trace.detections
    assert (det[det["node"] == "edge-0"]["state"] == "Failed").any()  # the cloud gave it up
    local = trace.decisions[trace.decisions["action"] == "ExecuteLocal"]
    assert len(local)
    starts = trace.task_events[trace.task_events["event"] == "start"].merge(
        local[["workflow", "task"]].astype({"task": str}), on=["workflow", "task"])
    assert len(starts) == len(local) and set(starts["node"].astype(str)) == {"edge-0"}


@pytest.mark.parametrize(("restart_delay", "state_bytes"), [(5.0, 1e3), (0.5, 1e9)])
def test_recovery_time_is_the_longer_of_the_restart_and_the_state_transfer(restart_delay: float,
                                                                          state_bytes: float) -> None:
    from wfsim import Poisson, chain
    from wfsim.faults.processes import Partitions
    from wfsim.model.topology import LINK_DEFAULTS
    from wfsim.trace.metrics import recovery_times

    sim = Simulation(
        hierarchical(devices=2, edge=2, regional=1), [Workload("w", chain(1), Poisson(0.05))], duration=60,
        seed=4, faults=[Partitions(site="edge-0", start=10.0, duration=20.0)],
        detection=DetectionSettings(restart_delay=restart_delay, state_bytes=state_bytes))
    trace = sim.run().trace
    rec = recovery_times(trace)
    (row,) = rec[rec["node"] == "edge-0"].itertuples()  # one suspicion, one clearing
    # The state crosses cloud → regional-0 → edge-0 unloaded: store and forward per hop.
    hops = [LINK_DEFAULTS["regional-cloud"], LINK_DEFAULTS["edge-regional"]]
    transfer = sum(state_bytes / h["bandwidth"] + h["latency"] for h in hops)
    assert row.duration == pytest.approx(max(restart_delay, transfer), rel=1e-6)


@pytest.mark.parametrize("action", ["Reject", "Defer", "UseCache"])
def test_a_cut_off_site_decides_for_its_workflows_under_fault_tolerance(action: str) -> None:
    """With fault_tolerance, the edge node of a partitioned site still decides for its
    workflows: the same decisions as without it (nothing crashes, so fault tolerance
    has nothing else to change about them)."""
    import pandas as pd

    from wfsim import AutonomySettings
    from wfsim.faults.processes import Partitions
    from wfsim.policies.autonomy import FixedFallback

    task = Task("t0", work=1e9)
    workload = Workload("w", Workflow("one", [task]), Periodic(4.0, phase=1.0), origins=["device-0"])

    def decisions(**extra: object) -> pd.DataFrame:
        trace = Simulation(
            hierarchical(devices=2, edge=2, regional=1), [workload], placement=NearestEdge(), duration=60, seed=1,
            faults=[Partitions(site="edge-0", start=20.0, duration=20.0)],
            autonomy=AutonomySettings(heartbeat_timeout=40.0, fallback=FixedFallback(action=action)),
            **extra,  # type: ignore[arg-type]
        ).run().trace
        return trace.decisions

    with_ft = decisions(fault_tolerance=FaultToleranceSettings(max_retries=2))
    fallback = with_ft[with_ft["decider"] == "fallback"]
    assert len(fallback) and set(fallback["action"].astype(str)) <= {action, "ExecuteLocal"}
    assert fallback["time"].between(20.0, 40.0).all()
    pd.testing.assert_frame_equal(with_ft, decisions())
