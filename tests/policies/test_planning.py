"""DAG schedulers from the literature: HEFT against the published example of its paper,
insertion, multi-slot nodes, Min-Min / Max-Min against the textbook rule, random and
round-robin, and all of them end to end on the simulator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import (
    Link,
    LocationRequirement,
    Node,
    Periodic,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    Workload,
    chain,
    hierarchical,
    layered_random,
)
from wfsim.engine.executor import WorkflowRun
from wfsim.model.parameters import validate_params
from wfsim.policies.placement import PlacementStrategy
from wfsim.policies.planning import (
    HEFT,
    STRATEGIES,
    MaxMin,
    MinMin,
    RandomPlacement,
    RoundRobin,
    heft_schedule,
    min_min_schedule,
    upward_ranks,
)

from sim_support import DAGS, continuum_run

INF = float("inf")

# --- HEFT on the example of Topcuoglu, Hariri & Wu (IEEE TPDS 2002), Fig. 2 ----------
# Computation costs W[task][processor] of tasks n1..n10 on P1..P3 and the edge costs.
PAPER_W = [[14, 16, 9], [13, 19, 18], [11, 13, 19], [13, 8, 17], [12, 13, 10],
           [13, 16, 9], [7, 15, 11], [5, 11, 14], [18, 12, 20], [21, 7, 16]]
PAPER_EDGES = {(1, 2): 18, (1, 3): 12, (1, 4): 9, (1, 5): 11, (1, 6): 14, (2, 8): 19, (2, 9): 16,
               (3, 7): 23, (4, 8): 27, (4, 9): 23, (5, 9): 13, (6, 8): 15, (7, 10): 17,
               (8, 10): 11, (9, 10): 13}
PAPER_RANKS = [108.0, 77.0, 80.0, 80.0, 69.0, 63.3, 42.7, 35.7, 44.3, 14.7]


def paper_problem():
    comm = {(u - 1, v - 1): float(c) for (u, v), c in PAPER_EDGES.items()}
    dag: list[list[int]] = [[] for _ in PAPER_W]
    for u, v in comm:
        dag[u].append(v)
    return PAPER_W, comm, dag


def test_heft_reproduces_the_papers_upward_ranks() -> None:
    ranks = upward_ranks(*paper_problem())
    assert [round(r, 1) for r in ranks] == PAPER_RANKS


def test_heft_reproduces_the_papers_schedule_of_length_80() -> None:
    schedule = heft_schedule(*paper_problem())
    assert schedule.makespan == 80
    # The paper's scheduling order (n3 and n4 tie at rank 80) and its Gantt chart.
    assert [t + 1 for t in schedule.order] == [1, 3, 4, 2, 5, 6, 9, 7, 8, 10]
    placed = {t + 1: (schedule.processor[t] + 1, schedule.start[t], schedule.finish[t]) for t in range(10)}
    assert placed == {1: (3, 0, 9), 2: (1, 27, 40), 3: (3, 9, 28), 4: (2, 18, 26), 5: (3, 28, 38),
                      6: (2, 26, 42), 7: (3, 38, 49), 8: (1, 57, 62), 9: (2, 56, 68), 10: (2, 73, 80)}


def test_insertion_uses_an_earlier_gap_where_appending_would_not() -> None:
    # t0 (P1 only, 5) -> t1 (P0 only, 3) leaves P0 idle over [0, 5); the independent t2
    # (P0 only, 2) has the lowest rank, so it is scheduled last: insertion puts it in
    # that gap, appending puts it after t1.
    costs = [[INF, 5.0], [3.0, INF], [2.0, INF]]
    dag = [[1], [], []]
    with_insertion = heft_schedule(costs, {}, dag)
    appended = heft_schedule(costs, {}, dag, insertion=False)
    assert with_insertion.order == appended.order == (0, 1, 2)
    assert (with_insertion.start[2], with_insertion.makespan) == (0.0, 8.0)
    assert (appended.start[2], appended.makespan) == (8.0, 10.0)


def test_a_gap_fits_exactly_or_not_at_all() -> None:
    # t0 (P1 only, 2) -> t1 (P0 only, 5) leaves the gap [0, 2) on P0; ranks 7, 5 and
    # t2's cost, so t2 comes last. A 2-long t2 fills the gap; a 3-long one cannot.
    for t2, start in ((2.0, 0.0), (3.0, 7.0)):
        schedule = heft_schedule([[INF, 2.0], [5.0, INF], [t2, INF]], {}, [[1], [], []])
        assert schedule.order == (0, 1, 2)
        assert schedule.start[1:] == (2.0, start)


def test_multi_core_nodes_are_slots_and_wide_tasks_need_several() -> None:
    # One processor with 2 slots: a and b run side by side; c needs both slots.
    costs = [[4.0], [2.0], [1.0]]
    schedule = heft_schedule(costs, {}, [[], [], []], slots=[2], demand=[1, 1, 2])
    assert schedule.start == (0.0, 0.0, 4.0)
    assert schedule.makespan == 5.0
    assert sorted(schedule.slots[0] + schedule.slots[1]) == [0, 1] and sorted(schedule.slots[2]) == [0, 1]
    # The backlog delays every slot.
    late = heft_schedule(costs, {}, [[], [], []], slots=[2], demand=[1, 1, 2], available=[10.0])
    assert late.start == (10.0, 10.0, 14.0)


def test_heft_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="cycle"):
        heft_schedule([[1.0], [1.0]], {}, [[1], [0]])
    with pytest.raises(ValueError, match="no processor"):
        heft_schedule([[INF]], {}, [[]])


# --- Min-Min / Max-Min -----------------------------------------------------------------
def test_min_min_and_max_min_on_one_long_and_three_short_tasks() -> None:
    # The textbook contrast (Braun et al. 2001, §2): Min-Min maps the short tasks
    # first and leaves the long one to unbalance the machines; Max-Min maps the long
    # one first and fills the other machine with the short ones.
    # Two identical machines, ETC = 1, 1, 1, 3. Worked by hand:
    #   Min-Min: T0->M0 (1), T1->M1 (1), T2->M0 (2), T3->M1 (1+3 = 4); makespan 4.
    #   Max-Min: T3->M0 (3), T0->M1 (1), T1->M1 (2), T2->M1 (3);       makespan 3.
    etc = [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [3.0, 3.0]]
    independent = [[], [], [], []]
    mm = min_min_schedule(etc, {}, independent)
    assert (mm.order, mm.processor, mm.makespan) == ((0, 1, 2, 3), (0, 1, 0, 1), 4.0)
    xm = min_min_schedule(etc, {}, independent, max_min=True)
    assert (xm.order, xm.processor, xm.makespan) == ((3, 0, 1, 2), (1, 1, 1, 0), 3.0)


def textbook_min_min(etc: list[list[float]], max_min: bool) -> tuple[list[int], list[int]]:
    """Braun et al.'s pseudo-code over an ETC matrix and machine ready times."""
    ready = [0.0] * len(etc[0])
    unmapped = list(range(len(etc)))
    order, machine = [], [0] * len(etc)
    while unmapped:
        best = {}
        for t in unmapped:
            ct = [etc[t][m] + ready[m] for m in range(len(ready))]
            m = min(range(len(ct)), key=lambda m: (ct[m], m))
            best[t] = (ct[m], m)
        pick = (max(unmapped, key=lambda t: (best[t][0], -t)) if max_min
                else min(unmapped, key=lambda t: (best[t][0], t)))
        ct, m = best[pick]
        ready[m] = ct
        machine[pick] = m
        order.append(pick)
        unmapped.remove(pick)
    return order, machine


@given(etc=st.integers(1, 4).flatmap(lambda m: st.lists(
    st.lists(st.integers(1, 20).map(float), min_size=m, max_size=m), min_size=1, max_size=8)),
    max_min=st.booleans())
@settings(max_examples=200, deadline=None)
def test_min_min_on_independent_tasks_is_the_textbook_heuristic(etc, max_min) -> None:
    schedule = min_min_schedule(etc, {}, [[] for _ in etc], max_min=max_min)
    order, machine = textbook_min_min(etc, max_min)
    assert list(schedule.order) == order
    assert list(schedule.processor) == machine


def test_min_min_respects_precedence_and_data_arrival() -> None:
    # a -> b with comm 10 between distinct processors: b stays with a.
    schedule = min_min_schedule([[2.0, 2.0], [3.0, 1.0]], {(0, 1): 10.0}, [[1], []])
    assert schedule.processor == (0, 0) and schedule.finish == (2.0, 5.0)
    assert schedule.order == (0, 1)


# --- on the simulator ------------------------------------------------------------------
def single_run(topology: Topology, workflow: Workflow, placement: PlacementStrategy, origin: str,
               seed: int = 0):
    workload = Workload("one", workflow, Periodic(period=1e9), origins=[origin])
    return Simulation(topology, [workload], placement=placement, duration=1.0, seed=seed).run()


def makespan(result) -> float:
    wf = result.trace.workflow_summary()
    assert (wf["state"] == "Completed").all(), wf
    return float(wf["latency"].max())




@given(workflow=DAGS)
@settings(max_examples=25, deadline=None)
def test_planned_makespan_is_between_critical_path_and_total_work(workflow: Workflow) -> None:
    # Identical single-core nodes, free links: no node idles while a task could run.
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=1, speed=1e9) for i in range(3)]
    topo = Topology(nodes, [Link("n0", "n1", 0.0, INF), Link("n1", "n2", 0.0, INF)])
    for placement in (HEFT(), MinMin(), MaxMin()):
        span = makespan(single_run(topo, workflow, placement, "n0"))
        assert span <= workflow.total_work() / 1e9 * (1 + 1e-9)
        assert span >= workflow.critical_path_length(1e9) * (1 - 1e-9)


def test_heft_places_tasks_where_its_plan_says() -> None:
    # Related machines (speeds 1, 2, 3 Gops/s) and free links: the strategy's plan is
    # heft_schedule over work / speed, and the simulator runs it exactly.
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=1, speed=(i + 1) * 1e9) for i in range(3)]
    topo = Topology(nodes, [Link("n0", "n1", 0.0, INF), Link("n1", "n2", 0.0, INF)])
    workflow = layered_random(5, 3, seed=11, work=2e9, work_cv=1.0)
    ex = single_run(topo, workflow, HEFT(), "n0").trace.executions()
    costs = [[t.work / n.speed for n in nodes] for t in workflow.tasks]
    plan = heft_schedule(costs, {}, workflow.successors)
    expected = {t.id: nodes[plan.processor[i]].id for i, t in enumerate(workflow.tasks)}
    assert dict(zip(ex["task"].astype(str), ex["node"].astype(str))) == expected
    # More than one node is used, and the fastest one most.
    assert ex["node"].astype(str).value_counts().index[0] == "n2"
    assert len(set(ex["node"].astype(str))) >= 2


def test_heft_keeps_chatty_tasks_together_when_links_are_slow() -> None:
    # The request (1 GB) is on node a; moving it or any 1 GB intermediate result over
    # 1 MB/s costs far more than running everything on a, half as fast as b.
    nodes = [Node("a", Tier.CLOUD, cores=4, speed=1e9), Node("b", Tier.CLOUD, cores=4, speed=2e9)]
    topo = Topology(nodes, [Link("a", "b", 0.01, 1e6)])
    chatty = chain(4, work=1e9, data_bytes=1e9, input_bytes=1e9)
    assert set(single_run(topo, chatty, HEFT(), "a").trace.executions()["node"].astype(str)) == {"a"}
    # With a free request, the whole chain moves to the faster node instead.
    light = chain(4, work=1e9, data_bytes=1e9)
    assert set(single_run(topo, light, HEFT(), "a").trace.executions()["node"].astype(str)) == {"b"}






def four_clouds() -> Topology:
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=64, speed=1e9) for i in range(4)]
    return Topology(nodes, [Link("n0", f"n{i}", 0.001 * i, 1e9) for i in range(1, 4)])



def test_random_needs_a_bound_stream() -> None:
    strategy = RandomPlacement()
    sim = Simulation(four_clouds(), [], duration=0)
    run = WorkflowRun(0, chain(1), "w", 0, 0.0, None)
    with pytest.raises(RuntimeError, match="'placement' stream"):
        strategy.place(run, 0, sim.cluster)
    strategy.bind_random(np.random.default_rng(1))
    first = strategy.place(run, 0, sim.cluster)
    strategy.bind_random(np.random.default_rng(1))
    assert strategy.place(run, 0, sim.cluster) is first


def test_random_is_roughly_uniform_over_candidates() -> None:
    ex = single_run(four_clouds(), chain(400, work=1e6, data_bytes=0), RandomPlacement(), "n0",
                    seed=5).trace.executions()
    counts = ex["node"].astype(str).value_counts()
    assert set(counts.index) == {"n0", "n1", "n2", "n3"}
    assert counts.min() > 70  # expected 100 each


def test_round_robin_cycles_through_candidates_nearest_first() -> None:
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=4, speed=1e9) for i in range(3)] + [Node("e", Tier.EDGE_CLOUD)]
    topo = Topology(nodes, [Link("n0", "n1", 0.001, 1e9), Link("n0", "n2", 0.002, 1e9),
                            Link("n0", "e", 0.003, 1e9)])
    cloud = LocationRequirement.specific("Cloud")
    wf = Workflow("w", [Task(f"t{i}", work=1e6, location=cloud) for i in range(7)],
                  [(f"t{i}", f"t{i + 1}") for i in range(6)])
    ex = single_run(topo, wf, RoundRobin(), "n0").trace.executions().sort_values("placed")
    assert ex["node"].astype(str).tolist() == ["n0", "n1", "n2", "n0", "n1", "n2", "n0"]


def test_preferred_order_is_honoured_by_every_strategy() -> None:
    topo = hierarchical(devices=2, edge=2, regional=1)
    order = LocationRequirement.preferred_order(["RegionalCloud", "EdgeCloud"])
    wf = Workflow("w", [Task(f"t{i}", location=order) for i in range(4)])
    for cls in STRATEGIES.values():
        ex = single_run(topo, wf, cls(), "device-0").trace.executions()
        assert set(ex["tier"].astype(str)) == {"RegionalCloud"}, cls


@pytest.mark.parametrize("cls", [HEFT, MinMin])
def test_an_infeasible_task_fails_the_workflow_without_a_plan(cls) -> None:
    topo = hierarchical(devices=1, edge=1, regional=0, nodes={"Cloud": {"cores": 8}})
    wf = Workflow("w", [Task("a"), Task("b", cores=64), Task("c")], [("a", "b"), ("b", "c")])
    strategy = cls()
    summary = single_run(topo, wf, strategy, "device-0").trace.workflow_summary()
    assert summary["state"].tolist() == ["Failed"]
    assert "no feasible node for task 'b'" in summary["reason"].iloc[0]
    assert strategy._plans == {}


def test_registry_names_and_parameters() -> None:
    assert list(STRATEGIES) == ["heft", "min_min", "max_min", "random", "round_robin"]
    for name, cls in STRATEGIES.items():
        defaults = {p.name: p.default for p in cls.parameters}
        assert cls.name == name
        assert isinstance(cls(**validate_params(name, cls.parameters, defaults)), PlacementStrategy)
    assert RandomPlacement.parameters == ()   # its randomness follows the run seed
    with pytest.raises(ValueError, match="unknown parameter"):
        validate_params("random", RandomPlacement.parameters, {"seed": 7})
    with pytest.raises(ValueError, match="insertion"):
        validate_params("heft", HEFT.parameters, {"insertion": "yes"})


def test_heft_without_insertion_runs_too() -> None:
    result = continuum_run(HEFT(insertion=False))
    assert (result.trace.workflow_summary()["state"] == "Completed").all()


def test_all_pairs_average_communication_is_exact() -> None:
    # Two candidate nodes per task, a 1-hop link of latency 1 and bandwidth 10: of the
    # 4 pairs two are same-node (0) and two cost 1 + 100/10 = 11, so c̄ = 5.5. With
    # task costs 1 everywhere the upward rank of the source is 1 + 5.5 + 1.
    nodes = [Node("p", Tier.CLOUD, speed=1.0), Node("q", Tier.CLOUD, speed=1.0)]
    topo = Topology(nodes, [Link("p", "q", 1.0, 10.0)])
    wf = Workflow("w", [Task("a", work=1.0), Task("b", work=1.0)], [("a", "b", 100.0)])
    captured = {}

    class Spy(HEFT):
        def _plan(self, costs, comm, dag, **kwargs):
            captured["rank"] = upward_ranks(costs, comm, dag)
            return super()._plan(costs, comm, dag, **kwargs)

    makespan(single_run(topo, wf, Spy(), "p"))
    assert captured["rank"] == pytest.approx((7.5, 1.0))


def test_ranks_are_unused_by_min_min() -> None:
    assert min_min_schedule([[1.0]], {}, [[]]).rank is None
    assert heft_schedule([[1.0]], {}, [[]]).rank == (1.0,)
