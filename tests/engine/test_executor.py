"""Workflow execution: makespan oracles, readiness, failure semantics, lifecycle,
determinism and common random numbers."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings

from wfsim import (
    CloudOnly,
    EarliestFinishTime,
    Link,
    LocationRequirement,
    NearestEdge,
    Node,
    Periodic,
    Poisson,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    WorkflowState,
    Workload,
    chain,
    hierarchical,
    layered_random,
)
from wfsim.engine.lifecycle import IllegalTransition, check_transition
from wfsim.workloads.workload import WorkDistribution

from sim_support import DAGS

INF = float("inf")


def single_run(topology: Topology, workflow: Workflow, placement=None, origin: str | None = None):
    """Submit one instance at t=0 and run to completion."""
    origin = origin or topology.nodes[0].id
    workload = Workload("one", workflow, Periodic(period=1e9), origins=[origin])
    return Simulation(topology, [workload], placement=placement or EarliestFinishTime(), duration=1.0).run()


def makespan(result) -> float:
    wf = result.trace.workflow_summary()
    assert (wf["state"] == "Completed").all(), wf
    return float(wf["latency"].max())


def networkx_critical_path(workflow: Workflow, speed: float) -> float:
    """Independent oracle: longest path with task durations as node weights."""
    g = nx.DiGraph()
    for t in workflow.tasks:
        g.add_node(t.id)
    for e in workflow.edges:
        g.add_edge(e.source, e.target)
    duration = {t.id: t.work / (speed * t.cores) for t in workflow.tasks}
    # Put each task's duration on its out-edges via a split node, so edge-weighted
    # dag_longest_path_length measures node weights.
    h = nx.DiGraph()
    for v in g:
        h.add_edge(("in", v), ("out", v), weight=duration[v])
    for u, v in g.edges:
        h.add_edge(("out", u), ("in", v), weight=0.0)
    return nx.dag_longest_path_length(h, weight="weight")




@given(workflow=DAGS)
@settings(max_examples=60, deadline=None)
def test_unbounded_cores_and_free_network_give_the_critical_path(workflow: Workflow) -> None:
    # Three big nodes joined by free links: wherever tasks land, data is instant
    # and cores never run out.
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=1000, speed=2e9) for i in range(3)]
    links = [Link("n0", "n1", 0.0, INF), Link("n1", "n2", 0.0, INF)]
    result = single_run(Topology(nodes, links), workflow)
    assert makespan(result) == pytest.approx(networkx_critical_path(workflow, 2e9), rel=1e-9)


@given(workflow=DAGS)
@settings(max_examples=60, deadline=None)
def test_a_single_core_gives_the_total_work(workflow: Workflow) -> None:
    node = Node("solo", Tier.CLOUD, cores=1, speed=1e9)
    result = single_run(Topology([node]), workflow)
    assert makespan(result) == pytest.approx(sum(t.work for t in workflow.tasks) / 1e9, rel=1e-9)


def test_transfers_add_to_the_critical_path_across_nodes() -> None:
    # a on n0 then b pinned to n1 (a different tier): b starts after the transfer.
    nodes = [Node("n0", Tier.EDGE_CLOUD, speed=1.0), Node("n1", Tier.CLOUD, speed=1.0)]
    topo = Topology(nodes, [Link("n0", "n1", latency=0.5, bandwidth=100.0)])
    wf = Workflow("w", [Task("a", work=2.0, location=LocationRequirement.specific("EdgeCloud")),
                        Task("b", work=3.0, location=LocationRequirement.specific("Cloud"))],
                  [("a", "b", 200.0)])
    assert makespan(single_run(topo, wf)) == pytest.approx(2.0 + 0.5 + 2.0 + 3.0)


def test_result_bytes_return_to_the_origin_before_completion() -> None:
    nodes = [Node("dev", Tier.LOCAL_DEVICE, speed=1.0), Node("cloud", Tier.CLOUD, speed=1.0)]
    topo = Topology(nodes, [Link("dev", "cloud", latency=0.25, bandwidth=10.0)])
    wf = Workflow("w", [Task("a", work=1.0, location=LocationRequirement.specific("Cloud"))],
                  input_bytes=10.0, result_bytes=20.0)
    result = single_run(topo, wf, origin="dev")
    assert makespan(result) == pytest.approx((0.25 + 1.0) + 1.0 + (0.25 + 2.0))
    sources = result.trace.transfers["source_task"].astype(str).tolist()
    targets = result.trace.transfers["target_task"].astype(str).tolist()
    assert (sources, targets) == (["<origin>", "a"], ["a", "<origin>"])


def test_a_task_is_ready_only_after_all_predecessors_succeeded() -> None:
    topo = hierarchical(devices=2, edge=1, regional=1)
    workload = Workload("w", layered_random(5, 4, seed=3), Poisson(1.0))
    trace = Simulation(topo, [workload], duration=20, seed=2).run().trace
    ex = trace.executions().set_index(["workflow", "task"])
    wf = layered_random(5, 4, seed=3)
    for e in wf.edges:
        pred = ex.xs(e.source, level="task")["end"]
        succ = ex.xs(e.target, level="task")["ready"]
        assert (succ >= pred.reindex(succ.index)).all()


def test_an_infeasible_task_fails_the_workflow_and_blocks_its_dependents() -> None:
    # Nothing has 64 cores except... nothing: task b cannot be placed.
    topo = hierarchical(devices=1, edge=1, regional=0, nodes={"Cloud": {"cores": 8}})
    wf = Workflow("w", [Task("a"), Task("b", cores=64), Task("c")], [("a", "b"), ("b", "c")])
    result = single_run(topo, wf, origin="device-0")
    summary = result.trace.workflow_summary()
    assert summary["state"].tolist() == ["Failed"]
    assert "no feasible node for task 'b'" in summary["reason"].iloc[0]
    events = result.trace.task_events
    assert set(events.loc[events["task"] == "b", "event"].astype(str)) == {"failed"}
    assert (events["task"] == "c").sum() == 0  # never released
    states = result.trace.workflow_events["state"].astype(str).tolist()
    assert states == ["Created", "Running", "Failed"]


def test_cloud_only_places_every_task_in_the_cloud_and_nearest_edge_stays_local() -> None:
    topo = hierarchical(devices=3, edge=1, regional=1)
    workload = Workload("w", chain(3), Poisson(0.5))
    tiers = {}
    for placement in (CloudOnly(), NearestEdge()):
        ex = Simulation(topo, [workload], placement=placement, duration=20, seed=1).run().trace.executions()
        tiers[type(placement).__name__] = set(ex["tier"].astype(str))
    assert tiers == {"CloudOnly": {"Cloud"}, "NearestEdge": {"LocalDevice"}}


def test_preferred_order_is_followed_in_order() -> None:
    topo = hierarchical(devices=2, edge=1, regional=1)
    order = LocationRequirement.preferred_order(["RegionalCloud", "EdgeCloud"])
    wf = Workflow("w", [Task("a", location=order)])
    for placement in (NearestEdge(), EarliestFinishTime(), CloudOnly()):
        result = single_run(topo, wf, placement=placement, origin="device-0")
        ex = result.trace.executions()
        if isinstance(placement, CloudOnly):
            assert ex["end"].isna().all()  # the requirement excludes the cloud
        else:
            assert ex["tier"].astype(str).tolist() == ["RegionalCloud"]


def test_local_devices_are_private() -> None:
    topo = hierarchical(devices=4, edge=1, regional=0)
    wf = Workflow("w", [Task("a", location=LocationRequirement.specific("LocalDevice"))])
    result = single_run(topo, wf, placement=EarliestFinishTime(), origin="device-2")
    assert result.trace.executions()["node"].astype(str).tolist() == ["device-2"]


def test_lifecycle_transitions_are_enforced() -> None:
    check_transition(0, WorkflowState.CREATED, WorkflowState.RUNNING)
    check_transition(0, WorkflowState.RUNNING, WorkflowState.COMPLETED)
    for current, target in [(WorkflowState.CREATED, WorkflowState.FAILED),
                            (WorkflowState.CREATED, WorkflowState.COMPLETED),
                            (WorkflowState.COMPLETED, WorkflowState.RUNNING),
                            (WorkflowState.FAILED, WorkflowState.COMPLETED),
                            (WorkflowState.RUNNING, WorkflowState.CREATED)]:
        with pytest.raises(IllegalTransition, match="illegal transition"):
            check_transition(7, current, target)


def test_every_workflow_follows_the_lifecycle_in_a_run() -> None:
    topo = hierarchical(devices=4, edge=2, regional=1)
    trace = Simulation(topo, [Workload("w", layered_random(4, 3, seed=1), Poisson(0.5))],
                       duration=30, until=20, seed=5).run().trace
    paths = trace.workflow_events.groupby("workflow")["state"].apply(lambda s: tuple(s.astype(str)))
    assert set(paths) <= {("Created", "Running"), ("Created", "Running", "Completed")}
    assert ("Created", "Running") in set(paths)  # the horizon cut some short
    assert trace.manifest["truncated"] is True


def _trace_frames(seed: int, placement=None) -> dict[str, pd.DataFrame]:
    topo = hierarchical(devices=6, edge=2, regional=1)
    workloads = [Workload("a", layered_random(4, 3, seed=2), Poisson(0.3), work=WorkDistribution("exponential")),
                 Workload("b", chain(2), Periodic(3.0, jitter=1.0), origins=["device-0"])]
    trace = Simulation(topo, workloads, placement=placement, network="shared", duration=40, seed=seed).run().trace
    return {name: getattr(trace, name) for name in ("workflows", "task_events", "transfers", "link_usage")}


def test_same_seed_gives_an_identical_trace() -> None:
    a, b = _trace_frames(9), _trace_frames(9)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = _trace_frames(10)
    assert not a["workflows"]["arrival"].equals(c["workflows"]["arrival"])


def test_strategies_see_the_same_arrivals_common_random_numbers() -> None:
    a = _trace_frames(4, NearestEdge())["workflows"]
    b = _trace_frames(4, CloudOnly())["workflows"]
    pd.testing.assert_series_equal(a["arrival"], b["arrival"])


def test_a_newcomer_that_heads_the_queue_starts_as_soon_as_it_fits() -> None:
    # Two cores, one busy until t=10; a 2-core Low task waits for both. A 1-core
    # Critical task ready at t=2 goes ahead of it under Priority and fits at once.
    from wfsim.model import TaskPriority
    from wfsim.policies.scheduling import Priority

    node = Node("n", Tier.CLOUD, cores=2, speed=1.0)
    busy = Workflow("busy", [Task("b", work=10.0)])
    low = Workflow("low", [Task("l", work=1.0, cores=2, priority=TaskPriority.LOW)])
    critical = Workflow("critical", [Task("c", work=1.0, priority=TaskPriority.CRITICAL)])
    workloads = [Workload(name, wf, Periodic(1e9, phase=t), origins=["n"])
                 for name, wf, t in (("busy", busy, 0.0), ("low", low, 1.0), ("critical", critical, 2.0))]
    trace = Simulation(Topology([node]), workloads, placement=CloudOnly(), scheduling=Priority,
                       duration=5).run().trace
    starts = trace.task_events[trace.task_events["event"] == "start"].set_index("task")["time"]
    assert starts["c"] == 2.0
    assert starts["l"] == 10.0
