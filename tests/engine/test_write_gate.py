"""The partition write gate: LeaderOnly's majority side from ground-truth
connectivity, ReadOnly against RejectWrites on the unpartitioned side, WriteLocal's
reconciled conflicts, Failed nodes, the MultiMaster hook, and the metrics."""

from __future__ import annotations

import pytest

from wfsim import Periodic, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.engine.detection import DetectionSettings
from wfsim.engine.partitions import PartitionHandlingSettings
from wfsim.model.enums import FaultToleranceMode, Tier
from wfsim.model.topology import Link, Node, Topology
from wfsim.policies.placement import PlacementStrategy
from wfsim.trace.metrics import reconcile_conflicts, write_unavailability

DETECT = DetectionSettings(period=0.5, timeout=2.0, check_period=1.0, failed_after=10)


def line() -> Topology:
    """hq — e0 — e1 — e2 — e3 — e4."""
    nodes = [Node("hq", Tier.CLOUD)] + [Node(f"e{i}", Tier.EDGE_CLOUD) for i in range(5)]
    ids = [n.id for n in nodes]
    return Topology(nodes, [Link(a, b) for a, b in zip(ids, ids[1:])])


def leader_only(topo: Topology) -> Simulation:
    return Simulation(topo, [], until=1.0, detection=DETECT,
                      partition_handling=PartitionHandlingSettings("LeaderOnly", members=("e0", "e1", "e2", "e3",
                                                                                           "e4")))


def test_leader_only_accepts_on_the_majority_side_of_a_3_2_split_only():
    sim = leader_only(line())
    topo = sim.topology
    topo.set_link_up(topo.link_index("e2", "e3"), False)  # {hq, e0, e1, e2} | {e3, e4}
    assert [sim.write_gate.accepts(i) for i in range(6)] == [True, True, True, True, False, False]


def test_leader_only_accepts_nowhere_in_a_2_2_1_split():
    sim = leader_only(line())
    topo = sim.topology
    topo.set_link_up(topo.link_index("e1", "e2"), False)  # {hq, e0, e1} | {e2, e3} | {e4}
    topo.set_link_up(topo.link_index("e3", "e4"), False)
    assert not any(sim.write_gate.accepts(i) for i in range(6))
    topo.set_link_up(topo.link_index("e3", "e4"), True)  # {e2, e3, e4} is 3 of 5
    assert [sim.write_gate.accepts(i) for i in range(6)] == [False, False, False, True, True, True]


class OwnEdge(PlacementStrategy):
    """Every task on the edge node its device hangs off, whatever its health."""

    name = "own_edge"

    def place(self, run, task, cluster):
        device = cluster.topology.nodes[run.origin].id
        return cluster.nodes[cluster.topology.index_of(f"edge-{int(device.split('-')[1]) % 2}")]


#: One task writing a key every instance shares and one of its own.
WRITER = Workflow("writer", [Task("write", work=1e7, state_keys=frozenset({"shared", "own:<id>"}))])
CUT = (10.2, 16.2)  # edge-1 cut off from the rest (its device stays with it)


def gated(strategy: str, cut=CUT, detection=DETECT, multi_master=False, fault_tolerance=None):
    topo = hierarchical(devices=2, edge=2, regional=1)
    sim = Simulation(topo, [Workload("w", WRITER, Periodic(1.0, phase=0.3))], placement=OwnEdge(),
                     duration=30.0, until=40.0, seed=1, detection=detection,
                     partition_handling=PartitionHandlingSettings(strategy), fault_tolerance=fault_tolerance)
    if multi_master:
        sim.write_gate.fault_tolerance = lambda run: FaultToleranceMode.MULTI_MASTER
    link = topo.link_index("edge-1", "regional-0")

    def partition():
        yield sim.env.timeout(cut[0])
        topo.set_link_up(link, False)
        yield sim.env.timeout(cut[1] - cut[0])
        topo.set_link_up(link, True)

    sim.env.process(partition())
    return sim, sim.run().trace


def suspected_interval(trace, node="edge-1"):
    det = trace.detections[trace.detections["node"].astype(str) == node]
    times = det["time"].tolist()
    assert det["state"].astype(str).tolist() == ["Partitioned", "Healthy"]
    return times[0], times[1]


def refused(trace, node):
    w = trace.writes
    sel = w[(w["node"].astype(str) == node) & ~w["accepted"]]
    return sel["time"].tolist()


def test_read_only_refuses_only_on_the_partitioned_node_and_reject_writes_everywhere():
    _, ro = gated("ReadOnly")
    _, rw = gated("RejectWrites")
    start, end = suspected_interval(ro)
    assert suspected_interval(rw) == (start, end)
    during = ro.writes[(ro.writes["time"] >= start) & (ro.writes["time"] < end)]
    assert during["node"].astype(str).value_counts().to_dict() == {"edge-0": 8, "edge-1": 8}  # 4 tasks, 2 keys
    assert refused(ro, "edge-0") == []
    assert sorted(set(refused(ro, "edge-1"))) == sorted(set(refused(rw, "edge-1")))
    assert refused(rw, "edge-0") and all(start <= t < end for t in refused(rw, "edge-0") + refused(ro, "edge-1"))
    # A refused write fails its task, with the strategy as the reason.
    ev = rw.workflow_events
    reasons = set(ev[ev["state"].astype(str) == "Failed"]["reason"].astype(str))
    assert reasons == {"write refused: RejectWrites"}
    failed_tasks = rw.task_events[rw.task_events["event"].astype(str) == "failed"]
    assert len(failed_tasks) * 2 == (~rw.writes["accepted"]).sum()  # two keys per task
    # Unavailability: exactly the suspected interval, where the strategy refuses.
    assert write_unavailability(ro).to_dict() == {"edge-1": pytest.approx(end - start)}
    assert write_unavailability(rw).to_dict() == {n.id: pytest.approx(end - start)
                                                  for n in hierarchical(devices=2, edge=2, regional=1).nodes}
    assert ro.writes["state"].astype(str)[~ro.writes["accepted"]].eq("Partitioned").all()


def test_write_local_accepts_everywhere_and_counts_conflicts_at_reconcile():
    sim, trace = gated("WriteLocal")
    assert trace.writes["accepted"].all()
    assert sim.write_gate.conflicts == reconcile_conflicts(trace) == 1  # "shared", not the own keys
    sides = trace.writes.groupby(trace.writes["node"].astype(str), observed=True)["side"].agg(
        lambda s: set(s.astype(str)))
    assert sides["edge-1"] == {"cloud", "edge-1"} and sides["edge-0"] == {"cloud"}
    rec = trace.recoveries
    assert rec["action"].astype(str).tolist() == ["Reconcile", "Reconcile"]
    assert reconcile_conflicts(gated("ReadOnly")[1]) == 0  # nothing written while partitioned


def test_failed_nodes_accept_no_writes_and_multi_master_writes_pass():
    long_cut = DetectionSettings(period=0.5, timeout=2.0, check_period=1.0)
    _, trace = gated("WriteLocal", cut=(10.2, 20.2), detection=long_cut)
    w = trace.writes
    assert set(w[~w["accepted"]]["state"].astype(str)) == {"Failed"}
    assert set(w[~w["accepted"]]["node"].astype(str)) == {"edge-1"}
    _, free = gated("ReadOnly", multi_master=True)
    assert free.writes["accepted"].all() and len(free.detections)


def test_leader_only_end_to_end_refuses_the_minority_side():
    _, lo = gated("LeaderOnly")
    _, ro = gated("ReadOnly")
    # edge-1 and its device are 1 of 4 members (cloud, regional-0, edge-0, edge-1).
    assert refused(lo, "edge-0") == []
    cut_writes = [t for t in lo.writes[lo.writes["node"].astype(str) == "edge-1"]["time"] if CUT[0] <= t < CUT[1]]
    assert sorted(set(refused(lo, "edge-1"))) == sorted(set(cut_writes))
    # Ground truth, not belief: refused from the cut, before the detector suspects.
    assert min(refused(lo, "edge-1")) < min(refused(ro, "edge-1"))


def test_without_the_gate_writes_are_neither_judged_nor_recorded():
    topo = hierarchical(devices=2, edge=2, regional=1)
    result = Simulation(topo, [Workload("w", WRITER, Periodic(1.0))], placement=OwnEdge(), duration=10.0,
                        seed=1).run()
    assert len(result.trace.writes) == 0 and "writes" not in result.metrics
    with pytest.raises(ValueError, match="strategy must be one of ReadOnly, WriteLocal, RejectWrites, LeaderOnly"):
        PartitionHandlingSettings("Majority")
    with pytest.raises(ValueError, match="members: unknown node 'zz'"):
        Simulation(topo, [], until=1.0, detection=DETECT, partition_handling=PartitionHandlingSettings(
            members=("zz",)))


def test_under_fault_tolerance_a_refused_write_is_retried_until_the_partition_heals():
    from wfsim import FaultToleranceSettings

    _, plain = gated("ReadOnly")
    _, ft = gated("ReadOnly", fault_tolerance=FaultToleranceSettings(max_retries=8, backoff=1.0, backoff_factor=1.0))
    start, end = suspected_interval(ft)
    assert (plain.workflow_summary()["state"] == "Failed").any()
    assert (ft.workflow_summary()["state"] == "Completed").all()  # nothing lost to the partition
    retries = ft.task_faults[ft.task_faults["kind"] == "retry"]
    assert len(retries) and retries["time"].between(start, end + 1.0).all()
    # Each task refused while edge-1 was suspected wrote its own key again, accepted after the heal.
    w = ft.writes.assign(key=ft.writes["key"].astype(str))
    refused_keys = set(w[~w["accepted"] & w["key"].str.startswith("own:")]["key"])
    accepted = w[w["accepted"]].groupby("key")["time"].min()
    assert refused_keys and all(accepted[k] >= end for k in refused_keys)
