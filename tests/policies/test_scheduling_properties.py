"""P23 (scheduling) over random workloads, checked from the trace.

* Dispatch order: whenever a node starts a task, that task has the best key of the
  active policy among the tasks then ready at that node (ties: the earliest ready).
  The keys are re-implemented here from the task specs in the trace, with the clock
  and the node's free cores and memory replayed from ``start``/``end`` events. In
  particular Priority never starts a task while a more urgent one is ready at that
  node, and Deadline starts in EDF order.
* Conservation: every task becomes ready once, starts once and ends once, and every
  workflow completes.
* Load-aware switching: the switches are exactly the band changes of the mean CPU
  load replayed from the trace, with and without hysteresis, re-evaluated at every
  load change or sampled every ``interval`` seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import Node, Simulation, Task, Tier, Topology, Workflow, Workload
from wfsim.model.enums import TaskPriority
from wfsim.model.topology import Link
from wfsim.policies.load_aware import LoadAware, PolicySwitch, band_of
from wfsim.policies.placement import EarliestFinishTime
from wfsim.policies.scheduling import SCHEDULING_POLICIES
from wfsim.trace.trace import Trace
from wfsim.workloads.arrivals import ArrivalProcess
from wfsim.workloads.workload import WorkDistribution

GiB = 2**30
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = [n for n in SCHEDULING_POLICIES if n != "load_aware"]


@dataclass(frozen=True)
class At(ArrivalProcess):
    """Arrivals at the given times."""

    at: tuple[float, ...]
    name: ClassVar[str] = "at"

    def expected(self, start: float, end: float, origin: str = "") -> float:
        return sum(start <= t < end for t in self.at)

    def times(self, rng: object, start: float, end: float, origin: str = "") -> Iterator[float]:
        yield from (t for t in sorted(self.at) if start <= t < end)


# --- random workloads --------------------------------------------------------------
@st.composite
def workloads(draw: st.DrawFn, max_jobs: int = 10) -> dict[str, Any]:
    """One or two nodes; single-task jobs or small DAGs (a root and 0–2 children) with
    random priorities, deadlines, cores, memory and work, arriving on a coarse grid
    so that ties happen."""
    cores = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    jobs = []
    for _ in range(draw(st.integers(1, max_jobs))):
        tasks = []
        for _ in range(draw(st.integers(1, 3))):
            tasks.append(dict(
                priority=TaskPriority(draw(st.integers(0, 4))),
                deadline=draw(st.one_of(st.none(), st.integers(1, 40).map(float))),
                cores=draw(st.integers(1, min(cores))),
                memory=draw(st.sampled_from([0, 1, 2])) * GiB,
                work=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])) * 1e9,
            ))
        jobs.append((draw(st.integers(0, 20)) / 2, tasks))
    return {"cores": cores, "jobs": jobs}


def simulate(spec: dict[str, Any], scheduling: Callable[[], Any]) -> tuple[Simulation, Trace]:
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=c, speed=1e9, memory=4 * GiB) for i, c in enumerate(spec["cores"])]
    links = [Link("n0", "n1", latency=0.01, bandwidth=1e9)] if len(nodes) == 2 else []
    workloads = []
    for j, (arrival, tasks) in enumerate(spec["jobs"]):
        wf = Workflow(f"j{j}", [Task(f"t{k}", **kw) for k, kw in enumerate(tasks)],
                      edges=[("t0", f"t{k}", 1e6) for k in range(1, len(tasks))], input_bytes=1e5)
        workloads.append(Workload(f"j{j}", wf, At((arrival,)), origins=["n0"], work=WorkDistribution("constant")))
    sim = Simulation(Topology(nodes, links), workloads, placement=EarliestFinishTime(), scheduling=scheduling,
                     duration=100, seed=0)
    return sim, sim.run().trace


# --- the oracle ----------------------------------------------------------------------
@dataclass
class Queued:
    ready_index: int
    priority: int
    deadline: float          # absolute; inf without one
    arrival: float
    cores: int
    memory: float
    has_deadline: bool


def score(policy: str, q: Queued, now: float, free_cores: float, free_memory: float) -> Any:
    """The policy's key (larger first), written independently of the library."""
    if policy == "fifo":
        return 0
    if policy == "priority":
        return -q.priority
    if policy == "fair_share":
        return -q.arrival
    if policy == "deadline":
        return -q.deadline
    if policy == "weighted_fair":
        return (now - q.arrival) * (1.0 + 0.25 * (4 - q.priority))
    fit = min(1.0, free_cores / q.cores)
    if q.memory > 0:
        fit = (fit + min(1.0, free_memory / q.memory)) / 2
    if policy == "resource_aware":
        if fit < 1.0:
            return (fit, 0.0)
        share = q.cores / free_cores
        if q.memory > 0:
            share = (share + q.memory / free_memory) / 2
        return (fit, share)
    assert policy == "hybrid"
    wait = min(max(now - q.arrival, 0.0) / 3600.0, 1.0)
    urgency = 0.5 if not q.has_deadline else 1.0 - min(max(q.deadline - now, 0.0) / 3600.0, 1.0)
    return 0.3 * fit + 0.3 * (1.0 - 0.2 * q.priority) + 0.2 * wait + 0.2 * urgency


def replay(trace: Trace, policy_at: Callable[[float], set[str]]) -> None:
    """Replay the task events of ``trace`` and check P23's dispatch order under the
    policies allowed at each start time, and conservation."""
    specs = trace.task_specs.set_index(["definition", "task"])
    wf = trace.workflows.set_index("workflow")
    nodes = trace.nodes.set_index("id")
    free = {str(n): [int(r["cores"]), float(r["memory"])] for n, r in nodes.iterrows()}
    waiting: dict[str, dict[tuple[int, str], Queued]] = {n: {} for n in free}
    seen: dict[str, set[tuple[int, str]]] = {"ready": set(), "start": set(), "end": set()}
    counter = 0
    rows = trace.task_events[["time", "workflow", "task", "event", "node"]].itertuples(index=False)
    for time, workflow, task, event, node in rows:
        event, node, task, key = str(event), str(node), str(task), (int(workflow), str(task))
        if event in seen:
            assert key not in seen[event], f"{key} {event} twice"
            seen[event].add(key)
        if event == "ready":
            row = specs.loc[(int(wf.at[workflow, "definition"]), task)]
            arrival = float(wf.at[workflow, "arrival"])
            has_deadline = not math.isnan(row["deadline"])
            waiting[node][key] = Queued(
                counter, int(TaskPriority[str(row["priority"]).upper()]),
                arrival + float(row["deadline"]) if has_deadline else math.inf, arrival,
                int(row["cores"]), float(row["memory"]), has_deadline)
            counter += 1
        elif event == "start":
            assert key in seen["ready"]
            q = waiting[node].pop(key)
            fc, fm = free[node]
            allowed = policy_at(float(time))
            ok = []
            for policy in allowed:
                best = max(waiting[node].values(), default=None,
                           key=lambda o: (score(policy, o, time, fc, fm), -o.ready_index))
                mine = (score(policy, q, time, fc, fm), -q.ready_index)
                ok.append(best is None or mine > (score(policy, best, time, fc, fm), -best.ready_index))
            assert any(ok), f"{key} started at {time} on {node} out of {sorted(allowed)} order"
            assert q.cores <= fc and q.memory <= fm
            free[node][0] -= q.cores
            free[node][1] -= q.memory
        elif event == "end":
            assert key in seen["start"]
            row = specs.loc[(int(wf.at[workflow, "definition"]), task)]
            free[node][0] += int(row["cores"])
            free[node][1] += float(row["memory"])
    # Conservation: every task of every workflow became ready, started and ended once.
    total = sum(len(trace.task_specs[trace.task_specs["definition"] == d]) for d in trace.workflows["definition"])
    assert len(seen["ready"]) == len(seen["start"]) == len(seen["end"]) == total
    assert all(not w for w in waiting.values())
    assert (trace.workflow_summary()["state"] == "Completed").all()


# --- dispatch order and conservation per policy ----------------------------------------
@SETTINGS
@given(spec=workloads(), policy=st.sampled_from(BASE))
def test_dispatch_order_respects_the_policy_and_conserves_tasks(spec: dict[str, Any], policy: str) -> None:
    _, trace = simulate(spec, SCHEDULING_POLICIES[policy])
    replay(trace, lambda t: {policy})


def waits_behind(trace: Trace, more_urgent: Callable[[dict, dict], bool]) -> list[str]:
    """Starts of a task while a strictly more urgent one was ready at the same node."""
    specs = trace.task_specs.set_index(["definition", "task"])
    wf = trace.workflows.set_index("workflow")
    waiting: dict[str, dict] = {}
    bad = []
    rows = trace.task_events[["time", "workflow", "task", "event", "node"]].itertuples(index=False)
    for time, workflow, task, event, node in rows:
        key = (int(workflow), str(task))
        if str(event) == "ready":
            row = specs.loc[(int(wf.at[workflow, "definition"]), str(task))]
            arrival = float(wf.at[workflow, "arrival"])
            deadline = math.inf if math.isnan(row["deadline"]) else arrival + row["deadline"]
            waiting.setdefault(str(node), {})[key] = {
                "priority": int(TaskPriority[str(row["priority"]).upper()]), "deadline": deadline}
        elif str(event) == "start":
            me = waiting[str(node)].pop(key)
            bad += [f"{key} at {time} behind {k}" for k, o in waiting[str(node)].items() if more_urgent(o, me)]
    return bad


@SETTINGS
@given(spec=workloads())
def test_priority_never_starts_a_task_while_a_more_urgent_one_is_ready(spec: dict[str, Any]) -> None:
    _, trace = simulate(spec, SCHEDULING_POLICIES["priority"])
    assert waits_behind(trace, lambda o, me: o["priority"] < me["priority"]) == []


@SETTINGS
@given(spec=workloads())
def test_deadline_starts_in_edf_order(spec: dict[str, Any]) -> None:
    _, trace = simulate(spec, SCHEDULING_POLICIES["deadline"])
    assert waits_behind(trace, lambda o, me: o["deadline"] < me["deadline"]) == []


# --- load-aware switching ------------------------------------------------------------
def load_steps(trace: Trace) -> list[tuple[float, float]]:
    """``(t, load)``: the mean CPU load (running cores / cores, averaged over nodes)
    once every start and end at time ``t`` has happened, for each such time."""
    specs = trace.task_specs.set_index(["definition", "task"])
    wf = trace.workflows.set_index("workflow")
    cores = {str(n): int(c) for n, c in zip(trace.nodes["id"], trace.nodes["cores"])}
    busy = dict.fromkeys(cores, 0)
    steps: list[tuple[float, float]] = []
    ev = trace.task_events
    ev = ev[ev["event"].isin(["start", "end"])]
    for time, workflow, task, event, node in ev[["time", "workflow", "task", "event", "node"]].itertuples(index=False):
        c = int(specs.loc[(int(wf.at[workflow, "definition"]), str(task)), "cores"])
        busy[str(node)] += c if str(event) == "start" else -c
        load = math.fsum(busy[n] / cores[n] for n in cores) / len(cores)
        if steps and steps[-1][0] == time:
            steps[-1] = (float(time), load)
        else:
            steps.append((float(time), load))
    return steps


def expected_switches(steps: list[tuple[float, float]], policies: tuple[str, str, str], low: float,
                      high: float, hysteresis: float, interval: float) -> list[PolicySwitch]:
    if interval > 0:
        samples, i, load, k = [], 0, 0.0, 1
        end = steps[-1][0] if steps else 0.0
        while k * interval <= end:
            t = k * interval
            while i < len(steps) and steps[i][0] < t:      # the load in force just before t
                load = steps[i][1]
                i += 1
            samples.append((t, load))
            k += 1
    else:
        samples = steps
    band, out = 0, []
    for t, load in samples:
        new = band_of(load, band, low, high, hysteresis)
        if new != band:
            out.append(PolicySwitch(t, policies[band], policies[new], load))
            band = new
    return out


@st.composite
def load_aware_params(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "low_threshold": draw(st.sampled_from([0.1, 0.25, 0.3, 0.5])),
        "high_threshold": draw(st.sampled_from([0.5, 0.6, 0.7, 0.75, 0.95])),
        "hysteresis": draw(st.sampled_from([0.0, 0.0, 0.05, 0.125, 0.2])),
        "interval": draw(st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.3])),
    }


@SETTINGS
@given(spec=workloads(max_jobs=14), params=load_aware_params(),
       policies=st.permutations(BASE).map(lambda p: tuple(p[:3])))
def test_load_aware_switches_exactly_when_the_load_crosses_a_threshold(
        spec: dict[str, Any], params: dict[str, Any], policies: tuple[str, str, str]) -> None:
    low, medium, high = policies

    def factory() -> LoadAware:
        return LoadAware(low=low, medium=medium, high=high, **params)

    sim, trace = simulate(spec, factory)
    evaluator = sim.load_aware
    assert evaluator is not None
    expected = expected_switches(load_steps(trace), policies, params["low_threshold"],
                                 params["high_threshold"], params["hysteresis"], params["interval"])
    assert evaluator.switches == expected
    # The queues followed the switches, and the dispatch order the active policy.
    def policy_at(t: float) -> set[str]:
        if params["interval"] > 0:     # a sampled switch applies from its sample time on
            applied = [s for s in expected if s.time <= t]
            return {applied[-1].new if applied else low}
        before = [s for s in expected if s.time < t]
        # A start at the time of a switch may come before or after the re-evaluation.
        return {before[-1].new if before else low} | {s.new for s in expected if s.time == t}

    replay(trace, policy_at)
    assert all(n.queue.active == evaluator.policy for n in sim.nodes)
    assert evaluator.policy == (expected[-1].new if expected else low)
