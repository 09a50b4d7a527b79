"""Node-local scheduling policies: the ordering rule of each, by hand.

Queues are unit-tested on fake runs bound to a fake node (a clock and free cores and
memory); a few orderings are also checked end to end on a one-core node, and the
YAML path (``scheduling: {strategy, params}``) is checked for validation errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import pytest
import simpy

from wfsim import Node, Simulation, Task, Tier, Topology, Workflow, Workload
from wfsim.engine.executor import WorkflowRun
from wfsim.experiments import ConfigError, build_simulation, validate_config
from wfsim.model.enums import TaskPriority
from wfsim.model.parameters import validate_params
from wfsim.policies.load_aware import LoadAware, LoadAwarePolicyEvaluator, PolicySwitch, band_of
from wfsim.policies.placement import CloudOnly
from wfsim.policies.registry import SCHEDULING_POLICIES
from wfsim.policies.scheduling import (
    FIFO,
    Deadline,
    FairShare,
    Hybrid,
    Priority,
    ResourceAware,
    SchedulingPolicy,
    WeightedFair,
)
from wfsim.workloads.arrivals import ArrivalProcess
from wfsim.workloads.workload import WorkDistribution

P = TaskPriority
GiB = 2**30


# --- fakes -----------------------------------------------------------------------
class FakeNode:
    def __init__(self, now: float = 0.0, free_cores: int = 1, free_memory: float = 4 * GiB,
                 cores: int | None = None) -> None:
        self.env = SimpleNamespace(now=now)
        self.free_cores = free_cores
        self.free_memory = free_memory
        self.spec = SimpleNamespace(cores=cores if cores is not None else max(free_cores, 1))
        self.capacity = self.spec.cores


def job(name: str, arrival: float = 0.0, **task: object) -> tuple[WorkflowRun, int]:
    """A fake run of one task (``name`` doubles as the task id)."""
    spec = SimpleNamespace(tasks=[Task(name, **task)])
    return SimpleNamespace(spec=spec, arrival=arrival, id=name), 0  # type: ignore[return-value]


def fill(policy: SchedulingPolicy, node: FakeNode, *jobs: tuple[WorkflowRun, int]) -> SchedulingPolicy:
    policy.bind(node)  # type: ignore[arg-type]
    for run, task in jobs:
        policy.push(run, task)
    return policy


def order(policy: SchedulingPolicy) -> list[str]:
    """Pop everything, checking that each pop is what peek just returned."""
    out = []
    while len(policy):
        head = policy.peek()
        assert policy.pop() == head
        out.append(head[0].spec.tasks[head[1]].id)
    return out


def names(items: list[tuple[WorkflowRun, int]]) -> list[str]:
    return [run.spec.tasks[t].id for run, t in items]


# --- registry and parameters -----------------------------------------------------
def test_registry_names_and_parameters() -> None:
    assert list(SCHEDULING_POLICIES) == [
        "fifo", "priority", "fair_share", "weighted_fair", "deadline", "resource_aware", "hybrid",
        "load_aware",
    ]
    for name, cls in SCHEDULING_POLICIES.items():
        assert cls.name == name
        # Every declared parameter is a constructor keyword with the declared default.
        defaults = {p.name: p.default for p in cls.parameters}
        instance = cls(**defaults)
        for p in cls.parameters:
            assert getattr(instance, p.name) == p.default
            if p.kind == "float":
                assert p.low <= p.default <= p.high
    hybrid = {p.name: (p.default, p.low, p.high) for p in Hybrid.parameters}
    assert hybrid == {
        "w_fit": (0.3, 0.0, 1.0), "w_priority": (0.3, 0.0, 1.0), "w_wait": (0.2, 0.0, 1.0),
        "w_urgency": (0.2, 0.0, 1.0), "horizon": (3600.0, 60.0, 7200.0),
        "no_deadline_urgency": (0.5, 0.0, 1.0),
    }
    assert {p.name: p.default for p in WeightedFair.parameters} == {"step": 0.25}
    assert {p.name: p.default for p in LoadAware.parameters} == {
        "low": "fifo", "medium": "hybrid", "high": "priority", "low_threshold": 0.3,
        "high_threshold": 0.7, "hysteresis": 0.0, "interval": 0.0,
    }


def test_out_of_range_and_unknown_parameters_are_errors() -> None:
    with pytest.raises(ValueError, match=r"hybrid: w_fit must be in \[0.0, 1.0\], got 1.5"):
        validate_params("hybrid", Hybrid.parameters, {"w_fit": 1.5})
    with pytest.raises(ValueError, match=r"unknown parameter.*bogus; allowed: step"):
        validate_params("weighted_fair", WeightedFair.parameters, {"bogus": 1})
    with pytest.raises(ValueError, match="must be one of"):
        validate_params("load_aware", LoadAware.parameters, {"high": "load_aware"})
    with pytest.raises(ValueError, match=r"high_threshold must be in \[0.5, 0.95\]"):
        LoadAware(low_threshold=0.5, high_threshold=0.4)   # the ranges keep low <= high
    with pytest.raises(ValueError, match="medium must be one of"):
        LoadAware(medium="nope")


# --- one test per ordering rule --------------------------------------------------
def test_fifo_is_ready_order() -> None:
    q = fill(FIFO(), FakeNode(), job("a", priority=P.BACKGROUND), job("b", priority=P.CRITICAL), job("c"))
    assert order(q) == ["a", "b", "c"]


def test_priority_critical_first_then_ready_order() -> None:
    q = fill(Priority(), FakeNode(),
             job("low", priority=P.LOW), job("crit1", priority=P.CRITICAL), job("normal"),
             job("bg", priority=P.BACKGROUND), job("crit2", priority=P.CRITICAL), job("high", priority=P.HIGH))
    assert order(q) == ["crit1", "crit2", "high", "normal", "low", "bg"]


def test_fair_share_serves_the_longest_wait_first() -> None:
    # Wait is counted from the workflow's arrival: the oldest workflow goes first
    # (the seed sorted shortest wait first, a defect).
    q = fill(FairShare(), FakeNode(now=10), job("new", 9.0), job("old", 1.0), job("mid", 5.0),
             job("old2", 1.0))
    assert order(q) == ["old", "old2", "mid", "new"]


def test_weighted_fair_weights_the_wait_by_class() -> None:
    node = FakeNode(now=10)
    # wait·(1 + 0.25·w): bg 10·1.0 = 10, crit 5·2.0 = 10 (tie: ready order), high 6·1.75 = 10.5,
    # crit2 4·2.0 = 8.
    q = fill(WeightedFair(), node, job("bg", 0.0, priority=P.BACKGROUND), job("crit", 5.0, priority=P.CRITICAL),
             job("high", 4.0, priority=P.HIGH), job("crit2", 6.0, priority=P.CRITICAL))
    assert order(q) == ["high", "bg", "crit", "crit2"]


def test_weighted_fair_order_depends_on_the_clock() -> None:
    node = FakeNode(now=8)
    q = fill(WeightedFair(), node, job("bg", 0.0, priority=P.BACKGROUND), job("crit", 5.0, priority=P.CRITICAL))
    assert names([q.peek()]) == ["bg"]          # 8 > 3·2
    node.env.now = 20
    assert names([q.peek()]) == ["crit"]        # 20 < 15·2
    assert names([q.pop()]) == ["crit"]
    # step 0 is plain longest-wait-first.
    q = fill(WeightedFair(step=0.0), FakeNode(now=20), job("bg", 0.0, priority=P.BACKGROUND),
             job("crit", 5.0, priority=P.CRITICAL))
    assert order(q) == ["bg", "crit"]


def test_deadline_is_edf_with_no_deadline_last() -> None:
    q = fill(Deadline(), FakeNode(),
             job("none1", 0.0), job("d10", 0.0, deadline=10.0), job("d7", 5.0, deadline=2.0),
             job("d21", 1.0, deadline=20.0), job("none2", 2.0), job("d7b", 3.0, deadline=4.0))
    assert order(q) == ["d7", "d7b", "d10", "d21", "none1", "none2"]


def test_resource_aware_prefers_the_best_fit() -> None:
    node = FakeNode(free_cores=4, cores=8, free_memory=8 * GiB)
    q = fill(ResourceAware(), node, job("one", cores=1), job("big", cores=8), job("four", cores=4),
             job("two", cores=2), job("six", cores=6), job("two_mem", cores=2, memory=8 * GiB))
    # Fitting first, tightest first: four (4/4), two_mem ((2/4 + 8/8)/2 = .75), two (.5), one;
    # then those that do not fit, closest first: six (4/6), big (4/8).
    assert order(q) == ["four", "two_mem", "two", "one", "six", "big"]


def test_resource_aware_follows_the_free_resources() -> None:
    node = FakeNode(free_cores=1, cores=4)
    q = fill(ResourceAware(), node, job("three", cores=3), job("one", cores=1))
    assert names([q.peek()]) == ["one"]
    node.free_cores = 3                          # peek is re-evaluated when cores free up
    assert names([q.peek()]) == ["three"]
    assert names([q.pop()]) == ["three"]


def test_hybrid_score_is_the_seeds_weighted_sum() -> None:
    h = Hybrid()
    node = FakeNode(now=1800.0, free_cores=2, cores=4)
    run, t = job("x", 0.0, priority=P.HIGH, deadline=2700.0, cores=4)
    spec = run.spec.tasks[t]
    # fit min(1, 2/4) = .5; prio .8; wait 1800/3600 = .5; urgency 1 - 900/3600 = .75
    expected = 0.3 * 0.5 + 0.3 * 0.8 + 0.2 * 0.5 + 0.2 * 0.75
    assert h.score(run, spec, 1800.0, 2, 4 * GiB) == pytest.approx(expected)
    # No deadline: urgency .5; passed deadline: 1 (clamped).
    run2, _ = job("y", 0.0, cores=1)
    assert h.score(run2, run2.spec.tasks[0], 0.0, 2, GiB) == pytest.approx(0.3 + 0.3 * 0.6 + 0 + 0.2 * 0.5)
    run3, _ = job("z", 0.0, cores=1, deadline=10.0)
    assert h.score(run3, run3.spec.tasks[0], 100.0, 2, GiB) == pytest.approx(
        0.3 + 0.3 * 0.6 + 0.2 * 100 / 3600 + 0.2 * 1.0)
    del node


def test_hybrid_weights_change_the_order() -> None:
    jobs = (job("bg_urgent", 0.0, priority=P.BACKGROUND, deadline=10.0), job("crit_lax", 0.0, priority=P.CRITICAL))
    assert order(fill(Hybrid(), FakeNode(now=0.0), *jobs)) == ["crit_lax", "bg_urgent"]
    only_urgency = Hybrid(w_fit=0, w_priority=0, w_wait=0, w_urgency=1, horizon=60.0)
    assert order(fill(only_urgency, FakeNode(now=0.0), *jobs)) == ["bg_urgent", "crit_lax"]
    # All weights 0: every score ties, so ready order.
    zero = Hybrid(w_fit=0, w_priority=0, w_wait=0, w_urgency=0)
    assert order(fill(zero, FakeNode(), job("b", priority=P.LOW), job("a", priority=P.CRITICAL))) == ["b", "a"]


@pytest.mark.parametrize("name", [n for n in SCHEDULING_POLICIES if n != "load_aware"])
def test_drain_returns_push_order_and_empties(name: str) -> None:
    q = fill(SCHEDULING_POLICIES[name](), FakeNode(now=5.0, free_cores=2, cores=2),
             *(job(f"t{i}", float(i % 3), priority=P(i % 5), deadline=None if i % 2 else 3.0 + i,
                   cores=1 + i % 3) for i in range(9)))
    assert names(q.drain()) == [f"t{i}" for i in range(9)]
    assert len(q) == 0


@pytest.mark.parametrize("name", [n for n in SCHEDULING_POLICIES if n != "load_aware"])
def test_pop_returns_what_peek_returned(name: str) -> None:
    node = FakeNode(now=50.0, free_cores=2, cores=4)
    q = fill(SCHEDULING_POLICIES[name](), node,
             *(job(f"t{i}", float(i), priority=P((3 * i) % 5), deadline=None if i % 3 == 0 else 100.0 - 7 * i,
                   cores=1 + i % 4) for i in range(12)))
    popped = []
    while len(q):
        head = q.peek()
        assert q.peek() == head
        assert q.pop() == head
        popped.append(head)
        node.env.now += 1.0
    assert sorted(names(popped)) == sorted(f"t{i}" for i in range(12))


# --- load-aware bands ------------------------------------------------------------
def test_band_of_without_and_with_hysteresis() -> None:
    lo, hi = 0.3, 0.7
    assert [band_of(x, 0, lo, hi) for x in (0.0, 0.29, 0.3, 0.69, 0.7, 1.0)] == [0, 0, 1, 1, 2, 2]
    assert [band_of(x, 2, lo, hi) for x in (0.0, 0.29, 0.3, 0.69, 0.7, 1.0)] == [0, 0, 1, 1, 2, 2]
    h = 0.05
    assert band_of(0.34, 0, lo, hi, h) == 0 and band_of(0.35, 0, lo, hi, h) == 1
    assert band_of(0.26, 1, lo, hi, h) == 1 and band_of(0.249, 1, lo, hi, h) == 0
    assert band_of(0.74, 1, lo, hi, h) == 1 and band_of(0.75, 1, lo, hi, h) == 2
    assert band_of(0.66, 2, lo, hi, h) == 2 and band_of(0.64, 2, lo, hi, h) == 1
    assert band_of(0.8, 0, lo, hi, h) == 2 and band_of(0.1, 2, lo, hi, h) == 0
    # Idempotent: evaluating the same load again never switches.
    for x in (i / 100 for i in range(101)):
        for b in range(3):
            once = band_of(x, b, lo, hi, h)
            assert band_of(x, once, lo, hi, h) == once


def test_load_aware_switches_and_moves_queued_tasks() -> None:
    """Two fake nodes of 10 cores on a real clock; the load is driven by hand."""
    env = simpy.Environment()
    nodes = [FakeNode(free_cores=10, cores=10) for _ in range(2)]
    queues = []
    for node in nodes:
        node.env = env
        q = LoadAware(low="fifo", medium="deadline", high="priority")
        q.bind(node)  # type: ignore[arg-type]
        queues.append(q)
    evaluator = LoadAwarePolicyEvaluator.attach(env, queues)  # type: ignore[arg-type]
    assert evaluator is not None and queues[0].evaluator is evaluator and queues[1].evaluator is evaluator
    q0 = queues[0]
    for run, t in (job("none", 0.0), job("late", 0.0, deadline=9.0, priority=P.CRITICAL),
                   job("early", 0.0, deadline=1.0, priority=P.LOW)):
        q0.push(run, t)

    def drive() -> Iterator[simpy.Event]:
        yield env.timeout(1.0)
        nodes[0].free_cores = 4                  # loads .6 and 0: mean .3 → medium
        len(q0)
        yield env.timeout(1.0)
        nodes[1].free_cores = 2                  # .6 and .8: mean .7 → high
        len(queues[1])
        yield env.timeout(1.0)
        nodes[0].free_cores = 5                  # .5 and .8: .65 → medium
        len(q0)
        yield env.timeout(1.0)
        nodes[0].free_cores = nodes[1].free_cores = 10   # 0 → low
        len(q0)
        len(queues[1])                           # a node's load changes with a touch of its queue

    env.process(drive())
    assert q0.active == "fifo" and names([q0.peek()]) == ["none"]
    env.run(until=1.5)
    assert q0.active == "deadline" and names([q0.peek()]) == ["early"]
    env.run(until=2.5)
    assert q0.active == "priority" and names([q0.peek()]) == ["late"]
    env.run()
    assert [(s.time, s.old, s.new) for s in evaluator.switches] == [
        (1.0, "fifo", "deadline"), (2.0, "deadline", "priority"), (3.0, "priority", "deadline"),
        (4.0, "deadline", "fifo")]
    assert [s.load for s in evaluator.switches] == pytest.approx([0.3, 0.7, 0.65, 0.0])
    assert isinstance(evaluator.switches[0], PolicySwitch)
    # Nothing lost, ready order kept for ties.
    assert q0.active == "fifo" and names(q0.drain()) == ["none", "late", "early"]


def test_load_aware_nodes_of_one_simulation_share_one_configuration() -> None:
    env = simpy.Environment()
    a, b = FakeNode(cores=2), FakeNode(cores=2)
    a.env = b.env = env
    queues = [LoadAware(), LoadAware(hysteresis=0.1)]
    queues[0].bind(a)  # type: ignore[arg-type]
    queues[1].bind(b)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same parameters"):
        LoadAwarePolicyEvaluator.attach(env, queues)  # type: ignore[arg-type]
    assert LoadAwarePolicyEvaluator.attach(env, [FIFO()]) is None


# --- end to end on a one-core node -------------------------------------------------
@dataclass(frozen=True)
class At(ArrivalProcess):
    """Arrivals at the given times."""

    at: tuple[float, ...]
    name: ClassVar[str] = "at"

    def expected(self, start: float, end: float, origin: str = "") -> float:
        return sum(start <= t < end for t in self.at)

    def times(self, rng: object, start: float, end: float, origin: str = "") -> Iterator[float]:
        yield from (t for t in sorted(self.at) if start <= t < end)


def one_core_start_order(policy: object, jobs: list[tuple[str, float, dict]]) -> list[str]:
    """Run single-task jobs ``(name, arrival, task kwargs)`` on one 1-core node behind a
    10 s blocker submitted at 0; the order in which the jobs start."""
    node = Node("n", Tier.CLOUD, cores=1, speed=1e9)
    workloads = [Workload("blocker", Workflow("blocker", [Task("blocker", work=10e9)], input_bytes=0),
                          At((0.0,)), origins=["n"], work=WorkDistribution("constant"))]
    for name, arrival, kw in jobs:
        wf = Workflow(name, [Task(name, work=1e9, **kw)], input_bytes=0)
        workloads.append(Workload(name, wf, At((arrival,)), origins=["n"], work=WorkDistribution("constant")))
    result = Simulation(Topology([node]), workloads, placement=CloudOnly(), scheduling=policy,
                        duration=100, seed=0).run()
    ev = result.trace.task_events
    starts = ev[ev["event"] == "start"]
    return [str(t) for t in starts["task"]][1:]


JOBS = [
    ("bg_early", 1.0, dict(priority=P.BACKGROUND, deadline=50.0)),
    ("normal", 2.0, dict(deadline=30.0)),
    ("critical", 3.0, dict(priority=P.CRITICAL)),
    ("low_urgent", 4.0, dict(priority=P.LOW, deadline=8.0)),
    ("high", 5.0, dict(priority=P.HIGH, deadline=40.0)),
]


@pytest.mark.parametrize(("policy", "expected"), [
    (FIFO, ["bg_early", "normal", "critical", "low_urgent", "high"]),
    (Priority, ["critical", "high", "normal", "low_urgent", "bg_early"]),
    (FairShare, ["bg_early", "normal", "critical", "low_urgent", "high"]),
    (Deadline, ["low_urgent", "normal", "high", "bg_early", "critical"]),
])
def test_start_order_on_a_one_core_node(policy: type, expected: list[str]) -> None:
    assert one_core_start_order(policy, JOBS) == expected


def test_weighted_fair_start_order_on_a_one_core_node() -> None:
    # At t = 10: bg 9·1.0 = 9, normal 8·1.5 = 12, critical 7·2 = 14, low 6·1.25 = 7.5,
    # high 5·1.75 = 8.75 → critical; at 11: normal 13.5, bg 10, high 10.5, low 8.75 → normal;
    # at 12: high 12.25, bg 11, low 10 → high; then bg (12 vs 11.25), then low.
    assert one_core_start_order(WeightedFair, JOBS) == ["critical", "normal", "high", "bg_early", "low_urgent"]


# --- YAML ----------------------------------------------------------------------------
def config(scheduling: object) -> dict:
    return {
        "name": "t", "seed": 1, "duration": 20,
        "topology": {"hierarchical": {"devices": 4, "edge": 2, "regional": 1}},
        "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 3, "work": 2.0e9},
                       "arrivals": {"process": "poisson", "rate": 0.5}}],
        "scheduling": scheduling,
    }


def test_yaml_hybrid_with_a_parameter_runs() -> None:
    cfg = validate_config(config({"strategy": "hybrid", "params": {"w_fit": 0.5}}))
    sim = build_simulation(cfg)
    assert all(isinstance(n.queue, Hybrid) and n.queue.w_fit == 0.5 and n.queue.w_wait == 0.2 for n in sim.nodes)
    result = sim.run()
    assert result.metrics["workflows"]["completed"] > 0


def test_yaml_load_aware_runs() -> None:
    cfg = validate_config(config({"strategy": "load_aware",
                                  "params": {"low": "deadline", "low_threshold": 0.1, "hysteresis": 0.02}}))
    sim = build_simulation(cfg)
    assert all(isinstance(n.queue, LoadAware) and n.queue.active == "deadline" for n in sim.nodes)
    result = sim.run()
    assert result.metrics["workflows"]["completed"] > 0
    assert sim.load_aware is not None and sim.load_aware is sim.nodes[0].queue.evaluator


@pytest.mark.parametrize(("scheduling", "field", "message"), [
    ({"strategy": "hybrid", "params": {"w_fit": 1.5}}, "scheduling.params", r"w_fit must be in \[0.0, 1.0\]"),
    ({"strategy": "hybrid", "params": {"horizon": 10}}, "scheduling.params", "horizon"),
    ({"strategy": "weighted_fair", "params": {"weight": 1}}, "scheduling.params", "unknown parameter"),
    ({"strategy": "load_aware", "params": {"high_threshold": 0.99}}, "scheduling.params", "high_threshold"),
    ({"strategy": "load_aware", "params": {"medium": "lifo"}}, "scheduling.params", "medium must be one of"),
    ({"strategy": "edf"}, "scheduling.strategy", "unknown strategy 'edf'; allowed: fifo, priority"),
])
def test_yaml_user_errors(scheduling: dict, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        validate_config(config(scheduling), source="exp.yaml")
    assert info.value.field == field
    assert str(info.value).startswith(f"exp.yaml: {field}: ")
