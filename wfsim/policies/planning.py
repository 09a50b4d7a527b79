"""DAG schedulers from the literature as placement baselines: HEFT, Min-Min, Max-Min,
random and round-robin.

The list schedulers (:class:`HEFT`, :class:`MinMin`, :class:`MaxMin`) plan a whole
workflow instance when it arrives
(:meth:`~wfsim.policies.placement.PlacementStrategy.on_submit`) and then answer
:meth:`place` from the plan. The planning itself is done by pure functions over a cost
matrix, so it can be checked against published examples:

- :func:`heft_schedule` — HEFT (Topcuoglu, Hariri, Wu, IEEE TPDS 13(3), 2002);
- :func:`min_min_schedule` — Min-Min and Max-Min (Braun et al., JPDC 61(6), 2001),
  adapted to DAGs.

How an instance on the continuum becomes a cost matrix (processors, multi-core slots,
backlog, communication) is described on :class:`_Planned`. :class:`RandomPlacement`
and :class:`RoundRobin` choose among the candidates directly.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from wfsim.model.parameters import param
from wfsim.model.workflow import Task
from wfsim.policies.placement import EarliestFinishTime, PlacementStrategy
from wfsim.policies.views import ClusterView, NodeView, RunView

INF = math.inf

#: ``comm_time(u, v, p, q)``: time to move edge ``(u, v)``'s data from processor
#: ``p`` to processor ``q``.
CommTime = Callable[[int, int, int, int], float]


# --- the pure planners ----------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A static schedule of one DAG.

    Attributes:
        processor: Processor of each task.
        start, finish: Planned start and finish time of each task.
        order: Tasks in the order they were scheduled.
        rank: HEFT's upward rank of each task (None for Min-Min / Max-Min).
        slots: Slots of its processor each task occupies.
    """

    processor: tuple[int, ...]
    start: tuple[float, ...]
    finish: tuple[float, ...]
    order: tuple[int, ...]
    rank: tuple[float, ...] | None = None
    slots: tuple[tuple[int, ...], ...] = ()

    @property
    def makespan(self) -> float:
        """Latest planned finish time (the schedule length when it starts at 0)."""
        return max(self.finish, default=0.0)


class _Processor:
    """Busy intervals of one processor's slots.

    Slots untouched by the plan are only busy until ``available`` (the backlog), so
    they are kept as a count rather than one list each.
    """

    __slots__ = ("available", "pristine", "used")

    def __init__(self, slots: int, available: float) -> None:
        self.available = available
        self.pristine = slots                      # slots with no planned interval
        self.used: list[list[tuple[float, float]]] = []   # sorted intervals per used slot

    def earliest(self, ready: float, duration: float, need: int, insertion: bool) -> tuple[float, list[int]]:
        """Earliest start ``>= ready`` at which ``need`` slots are idle for
        ``duration``, and those slots (indices into ``used``; ``-1`` for a pristine
        slot). The earliest start is ``ready`` or the end of some interval, so only
        those times are tried."""
        ready = max(ready, self.available)
        times = {ready}
        for intervals in self.used:
            if insertion:
                times.update(e for _, e in intervals if e > ready)
            elif intervals[-1][1] > ready:
                times.add(intervals[-1][1])
        for t in sorted(times):
            end = t + duration
            free: list[tuple[float, int]] = []   # (idle since, slot): tightest fit first
            for k, intervals in enumerate(self.used):
                if insertion:
                    since = self.available
                    for s, e in intervals:
                        if s < end and e > t:
                            break
                        if e <= t:
                            since = e
                    else:
                        free.append((since, k))
                elif intervals[-1][1] <= t:
                    free.append((intervals[-1][1], k))
            if len(free) + self.pristine >= need:
                free.sort(key=lambda f: (-f[0], f[1]))
                chosen = [k for _, k in free[:need]]
                return t, chosen + [-1] * (need - len(chosen))
        raise AssertionError("unreachable: the last end time always fits")  # pragma: no cover

    def book(self, start: float, finish: float, chosen: list[int]) -> list[int]:
        """Mark ``chosen`` slots busy over ``[start, finish)``; returns slot numbers."""
        numbers = []
        for k in chosen:
            if k < 0:
                self.pristine -= 1
                self.used.append([])
                k = len(self.used) - 1
            intervals = self.used[k]
            intervals.append((start, finish))
            intervals.sort()
            numbers.append(k)
        return numbers


def _check(costs: Sequence[Sequence[float]], dag: Sequence[Sequence[int]]) -> tuple[int, int]:
    n = len(costs)
    if len(dag) != n:
        raise ValueError(f"dag has {len(dag)} successor lists for {n} tasks")
    n_proc = len(costs[0]) if n else 0
    for i, row in enumerate(costs):
        if len(row) != n_proc:
            raise ValueError(f"costs row {i} has {len(row)} entries, expected {n_proc}")
        if not any(c < INF for c in row):
            raise ValueError(f"task {i} has no processor (every cost is inf)")
        if any(c < 0 for c in row):
            raise ValueError(f"task {i} has a negative cost")
    for i, succ in enumerate(dag):
        for s in succ:
            if not 0 <= s < n or s == i:
                raise ValueError(f"dag: bad successor {s} of task {i}")
    return n, n_proc


def _predecessors(n: int, dag: Sequence[Sequence[int]]) -> list[list[int]]:
    preds: list[list[int]] = [[] for _ in range(n)]
    for i, succ in enumerate(dag):
        for s in succ:
            preds[s].append(i)
    return preds


def _topological(n: int, dag: Sequence[Sequence[int]], preds: list[list[int]]) -> list[int]:
    """Kahn's algorithm, lowest index first; ValueError on a cycle."""
    waiting = [len(p) for p in preds]
    heap = [i for i in range(n) if not waiting[i]]
    heapq.heapify(heap)
    order = []
    while heap:
        i = heapq.heappop(heap)
        order.append(i)
        for s in dag[i]:
            waiting[s] -= 1
            if not waiting[s]:
                heapq.heappush(heap, s)
    if len(order) != n:
        raise ValueError("dag has a cycle")
    return order


def upward_ranks(costs: Sequence[Sequence[float]], comm: Mapping[tuple[int, int], float],
                 dag: Sequence[Sequence[int]]) -> tuple[float, ...]:
    """HEFT's upward rank ``rank_u(t) = w̄(t) + max_{s ∈ succ(t)} (c̄(t, s) + rank_u(s))``.

    ``w̄(t)`` is the mean of ``t``'s finite costs (its allowed processors);
    ``c̄(t, s)`` is ``comm[(t, s)]`` (0 when missing).
    """
    n, _ = _check(costs, dag)
    preds = _predecessors(n, dag)
    rank = [0.0] * n
    for t in reversed(_topological(n, dag, preds)):
        allowed = [c for c in costs[t] if c < INF]
        mean = sum(allowed) / len(allowed)
        rank[t] = mean + max((comm.get((t, s), 0.0) + rank[s] for s in dag[t]), default=0.0)
    return tuple(rank)


class _Planner:
    """Shared state of a list-scheduling pass: processors' slots and the EFT rule."""

    def __init__(self, costs: Sequence[Sequence[float]], comm: Mapping[tuple[int, int], float],
                 dag: Sequence[Sequence[int]], comm_time: CommTime | None, slots: Sequence[int] | None,
                 demand: Sequence[int] | None, available: Sequence[float] | None,
                 release: Mapping[int, Sequence[float]] | None, insertion: bool) -> None:
        self.n, self.n_proc = _check(costs, dag)
        self.costs = costs
        self.preds = _predecessors(self.n, dag)
        if comm_time is None:
            def average_comm(u: int, v: int, p: int, q: int) -> float:
                return 0.0 if p == q else comm.get((u, v), 0.0)
            comm_time = average_comm
        self.comm_time = comm_time
        slots = [1] * self.n_proc if slots is None else list(slots)
        self.demand = [1] * self.n if demand is None else list(demand)
        available = [0.0] * self.n_proc if available is None else list(available)
        self.release = release or {}
        self.insertion = insertion
        self.procs = [_Processor(slots[p], available[p]) for p in range(self.n_proc)]
        self.slot_count = slots
        self.processor = [-1] * self.n
        self.start = [0.0] * self.n
        self.finish = [0.0] * self.n
        self.slots: list[tuple[int, ...]] = [()] * self.n
        self.order: list[int] = []

    def best(self, t: int) -> tuple[float, int, float, list[int]]:
        """(finish, processor, start, slots) minimising ``t``'s finish time; ties go
        to the lower processor index."""
        best: tuple[float, int, float, list[int]] | None = None
        rel = self.release.get(t)
        need = self.demand[t]
        for p in range(self.n_proc):
            cost = self.costs[t][p]
            if not cost < INF or need > self.slot_count[p]:
                continue
            ready = 0.0 if rel is None else rel[p]
            for m in self.preds[t]:
                ready = max(ready, self.finish[m] + self.comm_time(m, t, self.processor[m], p))
            start, chosen = self.procs[p].earliest(ready, cost, need, self.insertion)
            finish = start + cost
            if best is None or finish < best[0]:
                best = (finish, p, start, chosen)
        if best is None:
            raise ValueError(f"task {t} needs {need} slots; no allowed processor has them")
        return best

    def assign(self, t: int, choice: tuple[float, int, float, list[int]]) -> None:
        finish, p, start, chosen = choice
        self.slots[t] = tuple(self.procs[p].book(start, finish, chosen))
        self.processor[t], self.start[t], self.finish[t] = p, start, finish
        self.order.append(t)

    def result(self, rank: tuple[float, ...] | None = None) -> Schedule:
        return Schedule(tuple(self.processor), tuple(self.start), tuple(self.finish), tuple(self.order),
                        rank, tuple(self.slots))


def heft_schedule(
    costs: Sequence[Sequence[float]],
    comm: Mapping[tuple[int, int], float],
    dag: Sequence[Sequence[int]],
    *,
    comm_time: CommTime | None = None,
    slots: Sequence[int] | None = None,
    demand: Sequence[int] | None = None,
    available: Sequence[float] | None = None,
    release: Mapping[int, Sequence[float]] | None = None,
    insertion: bool = True,
) -> Schedule:
    """HEFT (Topcuoglu, Hariri, Wu, *Performance-effective and low-complexity task
    scheduling for heterogeneous computing*, IEEE TPDS 13(3), 2002).

    Upward rank over average costs (:func:`upward_ranks`), then, in decreasing rank
    order, the processor with the earliest finish time under the insertion-based
    policy.

    Args:
        costs: ``costs[t][p]``: run time of task ``t`` on processor ``p`` (``inf``
            where ``t`` may not run).
        comm: Average communication cost per edge ``(u, v)`` (used for the ranks and,
            unless ``comm_time`` is given, as the cost between distinct processors;
            0 on the same processor). Missing edges cost 0.
        dag: ``dag[t]``: successors of task ``t``.
        comm_time: Actual cost of edge ``(u, v)`` from processor ``p`` to ``q``.
        slots: Slots per processor (default 1: the paper's processors).
        demand: Slots each task occupies (default 1).
        available: Time each processor's slots become free (default 0).
        release: Per task, per processor: earliest start (inputs from outside the DAG).
        insertion: Insertion-based policy (the paper's); False appends after the last
            busy interval.

    Tasks are scheduled in decreasing upward rank (equal to 12 significant digits is a
    tie), ties in topological order (lowest index first); each goes to the processor
    with the earliest finish time, ties to the lower index.
    """
    rank = upward_ranks(costs, comm, dag)
    planner = _Planner(costs, comm, dag, comm_time, slots, demand, available, release, insertion)
    topo = _topological(planner.n, dag, planner.preds)
    position = {t: i for i, t in enumerate(topo)}
    # Ranks equal up to rounding (sums of the same costs in another order) are ties.
    key = [-float(f"{r:.12g}") for r in rank]
    for t in sorted(range(planner.n), key=lambda t: (key[t], position[t])):
        planner.assign(t, planner.best(t))
    return planner.result(rank)


def min_min_schedule(
    costs: Sequence[Sequence[float]],
    comm: Mapping[tuple[int, int], float],
    dag: Sequence[Sequence[int]],
    *,
    max_min: bool = False,
    comm_time: CommTime | None = None,
    slots: Sequence[int] | None = None,
    demand: Sequence[int] | None = None,
    available: Sequence[float] | None = None,
    release: Mapping[int, Sequence[float]] | None = None,
    insertion: bool = False,
) -> Schedule:
    """Min-Min (or, with ``max_min``, Max-Min) list scheduling of a DAG (Braun et al.,
    *A comparison of eleven static heuristics for mapping a class of independent tasks
    onto heterogeneous distributed computing systems*, JPDC 61(6), 2001), adapted to
    DAGs in the usual way.

    Repeatedly: among unscheduled tasks whose predecessors are all scheduled, compute
    each one's minimum completion time over processors (inputs' arrival included);
    take the task with the smallest (Max-Min: largest) of these, ties to the lowest
    index, and assign it to the processor giving that minimum. By default a processor
    is available after its last assignment (Braun's machine ready time; no insertion).
    Arguments as for :func:`heft_schedule`.
    """
    planner = _Planner(costs, comm, dag, comm_time, slots, demand, available, release, insertion)
    waiting = [len(p) for p in planner.preds]
    ready = {t for t in range(planner.n) if not waiting[t]}
    while ready:
        options = {t: planner.best(t) for t in sorted(ready)}
        if max_min:
            t = max(options, key=lambda t: (options[t][0], -t))
        else:
            t = min(options, key=lambda t: (options[t][0], t))
        planner.assign(t, options[t])
        ready.remove(t)
        for s in dag[t]:
            waiting[s] -= 1
            if not waiting[s]:
                ready.add(s)
    if len(planner.order) != planner.n:
        raise ValueError("dag has a cycle")
    return planner.result()


# --- strategies -----------------------------------------------------------------------
Nodes = tuple[NodeView, ...]


def _preferred(task: Task, candidates: Nodes) -> Nodes:
    """The candidates of the most preferred tier present (all of them unless the
    requirement is ``PreferredOrder``; candidates come sorted by rank)."""
    if not candidates:
        return candidates
    rank = task.location.rank
    best = rank(candidates[0].spec.tier)
    if rank(candidates[-1].spec.tier) == best:
        return candidates
    return tuple(n for n in candidates if rank(n.spec.tier) == best)


class _Stateful(PlacementStrategy):
    """Keeps per-run state, created fresh by ``_reset`` (after validation).

    The state (plans, round-robin cursors) is per run: each
    :class:`~wfsim.engine.simulation.Simulation` runs its own copy of the strategy
    object, so one object configures many runs and each starts fresh. Random placement
    draws from the run's own random stream, which the simulation hands to that copy.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._reset()

    def _reset(self) -> None:
        self._preferred: dict[int, tuple[Nodes, Nodes]] = {}

    def allowed(self, run: RunView, task: int, cluster: ClusterView) -> tuple[Nodes, Nodes]:
        """(all candidates, those of the most preferred tier), cached by the identity
        of the cluster's cached candidate tuple (new after a topology change)."""
        spec = run.spec.tasks[task]
        full = cluster.candidates(spec, run.origin)
        entry = self._preferred.get(id(full))
        if entry is None or entry[0] is not full:
            entry = self._preferred[id(full)] = (full, _preferred(spec, full))
        return entry


class _Plan:
    """Where the tasks of one instance are planned to run, and how many are left."""

    __slots__ = ("nodes", "left")

    def __init__(self, nodes: list[NodeView], left: int) -> None:
        self.nodes = nodes   # node of each task
        self.left = left     # tasks not ended yet


class _Planned(_Stateful):
    """Plans an instance on arrival with a pure planner; places from the plan.

    How the continuum maps onto the planners' model (one instance at a time):

    - **Processors** are the nodes that are candidates of at least one task of the
      instance. A task's allowed processors are its ``cluster.candidates(...)`` of the
      most preferred tier present (``PreferredOrder`` is honoured first, as by every
      strategy); the others cost ``inf``.
    - **Computation cost** of task ``t`` on node ``p``: ``work / (speed_p × cores_t)``,
      exactly the engine's run time.
    - **Multi-core nodes** are modelled as ``spec.cores`` identical *slots* (one per
      core), as the engine runs many tasks side by side: a task of ``cores = c``
      occupies ``c`` slots for its run time, and is inserted at the earliest time at
      which ``c`` slots are all idle for that long. (Treating a node as one processor
      of ``cores ×`` speed would not match the engine, where a one-core task runs at
      ``speed``, not ``cores × speed``.) Memory is not modelled by the planners.
    - **Backlog**: a node's current backlog ``outstanding_ops / (speed × cores)`` is an
      initial busy interval ``[now, now + backlog)`` on each of its slots. Intervals
      planned for other instances are not seen (each plan is for one instance).
    - **Communication**: the actual cost of edge ``(u, v)`` from node ``p`` to ``q`` is
      the network's unloaded estimate ``latency(p, q) + bytes / bottleneck(p, q)``, 0
      on the same node; roots may start once the request payload has arrived from the
      origin. HEFT's *average* communication cost ``c̄(u, v)`` is the exact mean of
      that estimate over all pairs of allowed nodes of ``u`` and ``v`` (same-node pairs
      count as 0; unreachable pairs are left out), computed as ``mean latency + bytes ×
      mean 1/bandwidth``.

    The plan decides *where* a task runs; *when* it runs is the engine's business (the
    node's ready queue, FIFO by default, real transfers on the network). If the planned
    node is no longer a candidate when the task is released (the topology changed), the
    task falls back to :class:`~wfsim.policies.placement.EarliestFinishTime`. A plan is
    forgotten when its instance's last task ends or any of its tasks fails.
    """

    def _reset(self) -> None:
        super()._reset()
        self._plans: dict[int, _Plan] = {}   # by run id
        # (cu, cv) identities -> (cu, cv, mean latency and mean 1/bandwidth)
        self._pairs: dict[tuple[int, int], tuple[Nodes, Nodes, tuple[float, float]]] = {}
        self._fallback = EarliestFinishTime()

    def _plan(self, costs: Sequence[Sequence[float]], comm: Mapping[tuple[int, int], float],
              dag: Sequence[Sequence[int]], **kwargs: Any) -> Schedule:
        raise NotImplementedError

    def _pair_means(self, cu: Nodes, cv: Nodes,
                    estimate: Callable[[int, int, float], float]) -> tuple[float, float]:
        """Mean latency and mean 1/bandwidth over reachable node pairs (0 for p = q)."""
        key = (id(cu), id(cv))
        entry = self._pairs.get(key)
        if entry is not None and entry[0] is cu and entry[1] is cv:
            return entry[2]
        latency = inverse = 0.0
        count = 0
        for p in cu:
            for q in cv:
                if p is q:
                    count += 1
                    continue
                lat = estimate(p.index, q.index, 0.0)
                if lat == INF:
                    continue
                latency += lat
                inverse += estimate(p.index, q.index, 1.0) - lat
                count += 1
        means = (latency / count, inverse / count) if count else (INF, INF)
        self._pairs[key] = (cu, cv, means)
        return means

    def on_submit(self, run: RunView, cluster: ClusterView) -> None:
        super().on_submit(run, cluster)
        spec = run.spec
        n = len(spec.tasks)
        allowed = []
        nodes: list[NodeView] = []
        proc_of: dict[int, int] = {}
        for i in range(n):
            cands = self.allowed(run, i, cluster)[1]
            if not cands:
                return  # that task cannot run: no plan; it fails when released
            allowed.append(cands)
            for node in cands:
                if node.index not in proc_of:
                    proc_of[node.index] = len(nodes)
                    nodes.append(node)
        n_proc = len(nodes)
        costs = [[INF] * n_proc for _ in range(n)]
        for i, cands in enumerate(allowed):
            rate = run.work_of(i) / spec.tasks[i].cores
            row = costs[i]
            for node in cands:
                row[proc_of[node.index]] = rate / node.spec.speed
        estimate = cluster.network.estimate
        edge_bytes = spec.edge_bytes
        comm = {}
        for (u, v), nbytes in edge_bytes.items():
            latency, inverse = self._pair_means(allowed[u], allowed[v], estimate)
            comm[(u, v)] = latency + (nbytes * inverse if nbytes else 0.0)
        index = [node.index for node in nodes]

        def comm_time(u: int, v: int, p: int, q: int) -> float:
            return 0.0 if p == q else estimate(index[p], index[q], edge_bytes[(u, v)])

        now = cluster.now
        available = [now + node.outstanding_ops / (node.spec.speed * node.capacity) for node in nodes]
        release = {r: [now + estimate(run.origin, i, spec.input_bytes) for i in index] for r in spec.roots}
        schedule = self._plan(costs, comm, spec.successors, comm_time=comm_time,
                              slots=[node.spec.cores for node in nodes],
                              demand=[t.cores for t in spec.tasks], available=available, release=release)
        self._plans[run.id] = _Plan([nodes[p] for p in schedule.processor], n)

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        plan = self._plans.get(run.id)
        if plan is not None:
            node = plan.nodes[task]
            if node in self.allowed(run, task, cluster)[1]:
                return node
        return self._fallback.place(run, task, cluster)

    def on_task_end(self, run: RunView, task: int, node: NodeView, duration: float) -> None:
        plan = self._plans.get(run.id)
        if plan is not None:
            plan.left -= 1
            if not plan.left:
                del self._plans[run.id]

    def on_task_failed(self, run: RunView, task: int, node: NodeView | None, reason: str) -> None:
        self._plans.pop(run.id, None)



@dataclass(eq=False)
class HEFT(_Planned):
    """Heterogeneous Earliest Finish Time (Topcuoglu, Hariri, Wu 2002), planned per
    instance on arrival.

    The plan is :func:`heft_schedule`'s over the cost model of :class:`_Planned`.
    """

    name = "heft"

    insertion: bool = param(True, doc="insertion-based EFT (the paper's); false appends after each slot's last task")

    def _plan(self, costs: Sequence[Sequence[float]], comm: Mapping[tuple[int, int], float],
              dag: Sequence[Sequence[int]], **kwargs: Any) -> Schedule:
        return heft_schedule(costs, comm, dag, insertion=self.insertion, **kwargs)


@dataclass(eq=False)
class MinMin(_Planned):
    """Min-Min (Braun et al. 2001) as a list-scheduling plan over the instance's DAG:
    the ready task with the smallest minimum completion time goes first.

    The plan is :func:`min_min_schedule`'s over the cost model of :class:`_Planned`.
    """

    name = "min_min"
    max_min: ClassVar[bool] = False

    def _plan(self, costs: Sequence[Sequence[float]], comm: Mapping[tuple[int, int], float],
              dag: Sequence[Sequence[int]], **kwargs: Any) -> Schedule:
        return min_min_schedule(costs, comm, dag, max_min=self.max_min, **kwargs)


@dataclass(eq=False)
class MaxMin(MinMin):
    """Max-Min (Braun et al. 2001): the ready task with the largest minimum completion
    time goes first."""

    name = "max_min"
    max_min = True


class _Unbound:
    """The generator of a :class:`RandomPlacement` no simulation has bound yet."""

    def integers(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("RandomPlacement draws from the run's 'placement' stream: the Simulation "
                           "binds it (outside one, call bind_random(rng) first)")


@dataclass(eq=False)
class RandomPlacement(_Stateful):
    """A candidate chosen uniformly at random (within the most preferred tier), drawn
    from the run's random stream named ``"placement"`` (:meth:`bind_random`): the same
    run seed gives the same placements, another seed others."""

    name = "random"

    def _reset(self) -> None:
        super()._reset()
        self._rng: np.random.Generator | _Unbound = _Unbound()

    def bind_random(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        cands = self.allowed(run, task, cluster)[1]
        if not cands:
            return None
        return cands[int(self._rng.integers(len(cands)))]


@dataclass(eq=False)
class RoundRobin(_Stateful):
    """Cycles through the candidates (of the most preferred tier, nearest first), with
    one cursor per requirement key: origin, location requirement, cores and memory —
    the key of one candidate list."""

    name = "round_robin"

    def _reset(self) -> None:
        super()._reset()
        self._cursor: dict[tuple, int] = {}

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        cands = self.allowed(run, task, cluster)[1]
        if not cands:
            return None
        t = run.spec.tasks[task]
        key = (run.origin, t.location, t.cores, t.memory)
        i = self._cursor.get(key, 0)
        self._cursor[key] = i + 1
        return cands[i % len(cands)]


#: Names usable in YAML (merged into ``PLACEMENT_STRATEGIES`` by the registry).
STRATEGIES: dict[str, type[PlacementStrategy]] = {
    cls.name: cls for cls in (HEFT, MinMin, MaxMin, RandomPlacement, RoundRobin)
}
