"""Node-local scheduling: the order in which a node starts its ready tasks.

Each node owns one :class:`SchedulingPolicy` instance, which says how the node uses it.
The seven policies of the seed's ``SchedulingPolicy`` enum (part 3 §1.3) are registered
by name in :data:`SCHEDULING_POLICIES` (YAML: ``scheduling: {strategy: NAME,
params: {...}}``; :mod:`wfsim.policies.registry` adds ``load_aware`` from
:mod:`wfsim.policies.load_aware`, which switches between them by load):

============== ====================================================== ===============
name           next task                                              parameters
============== ====================================================== ===============
fifo           first ready at this node                               —
priority       most urgent ``TaskPriority`` (Critical first)          —
fair_share     longest wait since its workflow arrived                —
weighted_fair  largest ``wait·(1 + step·w)``, w = Critical 4 … Bg 0   step
deadline       earliest absolute deadline (EDF); none = last          —
resource_aware fits the free cores/memory best (best fit)             —
hybrid         largest ``w_fit·fit + w_priority·prio + w_wait·wait    w_*, horizon,
               + w_urgency·urgency``                                  no_deadline_urgency
============== ====================================================== ===============

Where a policy differs from the seed (overview §6 defect 3, part 3 §1.3) its class says
so: :class:`Priority`, :class:`FairShare`, :class:`WeightedFair`, :class:`ResourceAware`
and :class:`Hybrid`.
"""

from __future__ import annotations

import heapq
import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any

from wfsim.model.enums import PRIORITY_SCORE, TaskPriority
from wfsim.model.parameters import Tunable, param
from wfsim.model.workflow import Task
from wfsim.policies.views import NodeView, RunView

QueuedTask = tuple[RunView, int]


class SchedulingPolicy(Tunable, ABC):
    """A node's ready queue.

    Subclasses define the order; the node only pushes, peeks and pops. Concrete
    policies are dataclasses declaring their tunable parameters with
    :func:`~wfsim.model.parameters.param`; queue contents are set up in
    ``__post_init__``.

    Each node owns one instance (the simulation is given a factory, usually the class
    itself). The node asks the policy for the next task and starts it as soon as its
    cores and memory are free; a task that does not fit yet blocks those behind it (no
    backfilling), which keeps FIFO strictly first-come first-served.

    Every policy breaks ties by the order in which tasks became ready at the node
    (stable and deterministic). Policies with a static key (priority, fair share,
    deadline) keep a heap; those whose score depends on the clock or on what is free
    (weighted fair, resource aware, hybrid) scan the queue at :meth:`peek` time with
    ``node.env.now`` (O(n) per peek), and :meth:`pop` returns exactly what :meth:`peek`
    returned at the same time with the same free resources.
    """

    node: NodeView | None = None

    def bind(self, node: NodeView) -> None:
        """Called once by the node that owns this queue; ``node.env.now`` is the
        clock and ``node.free_cores`` / ``node.free_memory`` what is free."""
        self.node = node

    @abstractmethod
    def push(self, run: RunView, task: int) -> None:
        """Add a ready task."""

    @abstractmethod
    def peek(self) -> QueuedTask:
        """The task that would start next (the queue is not empty)."""

    @abstractmethod
    def pop(self) -> QueuedTask:
        """Remove and return the task that starts next."""

    @abstractmethod
    def __len__(self) -> int: ...

    def drain(self) -> list[QueuedTask]:
        """Remove every queued task and return them in the order they were pushed
        (used to hand a queue over to another policy).

        The default pops in policy order, so subclasses that keep the push order
        override it.
        """
        out = []
        while len(self):
            out.append(self.pop())
        return out

    def items(self) -> list[QueuedTask]:
        """The queued tasks in push order, leaving the queue as it is.

        The default drains and pushes everything back (O(n)); subclasses override it.
        """
        out = self.drain()
        for run, task in out:
            self.push(run, task)
        return out

    def remove(self, run: RunView, task: int) -> bool:
        """Take ``(run, task)`` out of the queue (used by task migration); False if
        it is not queued here. The others keep their relative order.

        The default drains the queue and pushes back everything else in push order
        (O(n)); subclasses with direct access to their storage override it.
        """
        items = self.drain()
        found = False
        for r, t in items:
            if not found and r is run and t == task:
                found = True
            else:
                self.push(r, t)
        return found


@dataclass(eq=False)
class FIFO(SchedulingPolicy):
    """First come, first served (the seed's ``SchedulingPolicy::FIFO``)."""

    name = "fifo"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._queue: deque[QueuedTask] = deque()

    def push(self, run: RunView, task: int) -> None:
        self._queue.append((run, task))

    def peek(self) -> QueuedTask:
        return self._queue[0]

    def pop(self) -> QueuedTask:
        return self._queue.popleft()

    def __len__(self) -> int:
        return len(self._queue)

    def drain(self) -> list[QueuedTask]:
        out = list(self._queue)
        self._queue.clear()
        return out

    def items(self) -> list[QueuedTask]:
        return list(self._queue)

    def remove(self, run: RunView, task: int) -> bool:
        for i, (r, t) in enumerate(self._queue):
            if r is run and t == task:
                del self._queue[i]
                return True
        return False


# --- static keys: a heap ----------------------------------------------------------
class _HeapPolicy(SchedulingPolicy):
    """A min-heap on ``(key(run, task), ready order)``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._heap: list[tuple[Any, int, RunView, int]] = []
        self._seq = 0

    def _key(self, run: RunView, spec: Task) -> Any:
        raise NotImplementedError

    def push(self, run: RunView, task: int) -> None:
        heapq.heappush(self._heap, (self._key(run, run.spec.tasks[task]), self._seq, run, task))
        self._seq += 1

    def peek(self) -> QueuedTask:
        _, _, run, task = self._heap[0]
        return run, task

    def pop(self) -> QueuedTask:
        _, _, run, task = heapq.heappop(self._heap)
        return run, task

    def __len__(self) -> int:
        return len(self._heap)

    def drain(self) -> list[QueuedTask]:
        out = [(run, task) for _, _, run, task in sorted(self._heap, key=lambda e: e[1])]
        self._heap.clear()
        return out

    def items(self) -> list[QueuedTask]:
        return [(run, task) for _, _, run, task in sorted(self._heap, key=lambda e: e[1])]

    def remove(self, run: RunView, task: int) -> bool:
        heap = self._heap
        for i, entry in enumerate(heap):
            if entry[2] is run and entry[3] == task:
                last = heap.pop()
                if i < len(heap):
                    heap[i] = last
                    heapq.heapify(heap)
                return True
        return False


@dataclass(eq=False)
class Priority(_HeapPolicy):
    """Most urgent :class:`~wfsim.model.enums.TaskPriority` first (Critical, High,
    Normal, Low, Background), then ready order. Strict: Background can starve under
    sustained load (the seed's property 18 says report it, do not forbid it).

    ``TaskPriority`` is an ``IntEnum`` with Critical = 0, and this policy pops the
    smallest value, so Critical really comes first (the seed's max-heap was inverted,
    overview §6 defect 3).
    """

    name = "priority"

    def _key(self, run: RunView, spec: Task) -> Any:
        return int(spec.priority)


@dataclass(eq=False)
class FairShare(_HeapPolicy):
    """Longest wait first, the wait counted from the workflow's arrival, so the task
    of the oldest workflow goes first; ties in ready order.

    The seed sorted by wait ascending (shortest first, overview §6 defect 3); wfsim
    implements the intent. "Wait" is measured from the workflow's arrival
    (``run.arrival``), not from the moment the task became ready: a task of a workflow
    that has been in the system for long is behind schedule as a whole, which is what
    fair sharing is meant to repair. (FIFO already orders by the moment a task became
    ready.) Because every queued task's wait grows at the same rate, "longest wait" is
    the static key ``run.arrival``.
    """

    name = "fair_share"

    def _key(self, run: RunView, spec: Task) -> Any:
        return run.arrival


@dataclass(eq=False)
class Deadline(_HeapPolicy):
    """Earliest deadline first (EDF) on the absolute deadline ``run.arrival +
    task.deadline``; tasks without a deadline come after every task with one, in
    ready order (the seed orders those by submission time, the same thing here)."""

    name = "deadline"

    def _key(self, run: RunView, spec: Task) -> Any:
        return math.inf if spec.deadline is None else run.arrival + spec.deadline


# --- scores that depend on the clock or the free resources: a scan ---------------
class _ScanPolicy(SchedulingPolicy):
    """Keeps tasks in ready order and picks the highest score at peek time.

    The choice is cached for the current time, queue contents and free resources,
    so :meth:`pop` returns what :meth:`peek` returned; ties go to the earliest ready.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._items: list[QueuedTask] = []
        self._version = 0
        self._cache: tuple[Any, int] | None = None

    def _state(self) -> tuple[float, float, float]:
        node = self.node
        if node is None:
            raise RuntimeError(f"{type(self).__name__} needs bind(node) before peek/pop")
        return node.env.now, node.free_cores, node.free_memory

    def _score(self, run: RunView, spec: Task, now: float, free_cores: float,
               free_memory: float) -> Any:
        raise NotImplementedError

    def _choose(self) -> int:
        state = self._state()
        key = (state, self._version)
        cache = self._cache
        if cache is not None and cache[0] == key:
            return cache[1]
        now, free_cores, free_memory = state
        best = 0
        best_score = None
        score = self._score
        for i, (run, task) in enumerate(self._items):
            s = score(run, run.spec.tasks[task], now, free_cores, free_memory)
            if best_score is None or s > best_score:
                best, best_score = i, s
        self._cache = (key, best)
        return best

    def push(self, run: RunView, task: int) -> None:
        self._items.append((run, task))
        self._version += 1

    def peek(self) -> QueuedTask:
        if not self._items:
            raise IndexError("peek from an empty queue")
        return self._items[self._choose()]

    def pop(self) -> QueuedTask:
        if not self._items:
            raise IndexError("pop from an empty queue")
        item = self._items.pop(self._choose())
        self._version += 1
        return item

    def __len__(self) -> int:
        return len(self._items)

    def drain(self) -> list[QueuedTask]:
        out = self._items
        self._items = []
        self._version += 1
        return out

    def items(self) -> list[QueuedTask]:
        return list(self._items)

    def remove(self, run: RunView, task: int) -> bool:
        for i, (r, t) in enumerate(self._items):
            if r is run and t == task:
                del self._items[i]
                self._version += 1
                return True
        return False


#: WeightedFair's class weight w: Critical 4, High 3, Normal 2, Low 1, Background 0.
FAIR_WEIGHT = {p: 4 - int(p) for p in TaskPriority}


def resource_fit(spec: Task, free_cores: float, free_memory: float) -> float:
    """The seed's ``calculate_resource_fit`` on one node: the mean, over the kinds
    the task needs (cores, and memory if it needs any), of ``min(1, free/demand)``;
    1 exactly when the task fits what is free."""
    fit = min(1.0, free_cores / spec.cores)
    if spec.memory > 0:
        return (fit + min(1.0, free_memory / spec.memory)) / 2
    return fit


def packing(spec: Task, free_cores: float, free_memory: float) -> float:
    """Share of what is free the task would take (mean over the kinds it needs):
    the larger, the better the fit (best fit); meaningful when the task fits."""
    share = spec.cores / free_cores if free_cores > 0 else 1.0
    if spec.memory > 0:
        mem = spec.memory / free_memory if free_memory > 0 else 1.0
        return (share + mem) / 2
    return share


@dataclass(eq=False)
class WeightedFair(_ScanPolicy):
    """Largest weighted wait first: ``wait · (1 + step · w)`` with the wait since the
    workflow's arrival and w = Critical 4, High 3, Normal 2, Low 1, Background 0
    (multipliers 2.0 … 1.0 with the seed's step 0.25). The seed sorted ascending
    (shortest weighted wait first); wfsim serves the longest. The wait is counted from
    the workflow's arrival, as for :class:`FairShare`."""

    name = "weighted_fair"

    step: float = param(0.25, low=0.0, high=1.0,
                        doc="weight step: a class of weight w waits (1 + step*w) times as fast")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._factor = {p: 1.0 + self.step * w for p, w in FAIR_WEIGHT.items()}

    def _score(self, run: RunView, spec: Task, now: float, free_cores: float,
               free_memory: float) -> Any:
        return (now - run.arrival) * self._factor[spec.priority]


@dataclass(eq=False)
class ResourceAware(_ScanPolicy):
    """The task that fits the node's free cores and memory best: tasks that fit
    first, the one taking the largest share of what is free first (best fit); then
    tasks that do not fit yet, the closest to fitting (the seed's fit) first.

    The seed's fit on one node (:func:`resource_fit`) is the mean over the resource
    kinds the task needs of ``min(1, free/demand)``, 1 when the task fits; among tasks
    that fit, wfsim prefers the one that uses the largest share of what is free
    (:func:`packing`, the packing rule of the seed's executor score). So ResourceAware
    starts a smaller task that fits ahead of a larger one that does not (backfilling by
    policy), unlike FIFO.
    """

    name = "resource_aware"

    def _score(self, run: RunView, spec: Task, now: float, free_cores: float,
               free_memory: float) -> Any:
        fit = resource_fit(spec, free_cores, free_memory)
        return (fit, packing(spec, free_cores, free_memory) if fit >= 1.0 else 0.0)


@dataclass(eq=False)
class Hybrid(_ScanPolicy):
    """The seed's weighted score, largest first::

        w_fit·fit + w_priority·prio + w_wait·min(wait/horizon, 1) + w_urgency·urgency

    with ``fit`` the seed's resource fit against the node's free cores/memory (1 when
    the task fits), ``prio`` the priority's :data:`~wfsim.model.enums.PRIORITY_SCORE`
    (Critical 1.0, High 0.8, Normal 0.6, Low 0.4, Background 0.2), ``wait`` since the
    workflow's arrival, and ``urgency = 1 − min(left/horizon, 1)`` for ``left`` the time
    to the absolute deadline, or ``no_deadline_urgency`` without a deadline. Defaults are
    the seed's (0.3, 0.3, 0.2, 0.2; 3600 s; 0.5). The weights need not sum to 1.

    The urgency is clamped to [0, 1]: a passed deadline gives 1, as the seed's prose
    says, whereas its formula could exceed 1.
    """

    name = "hybrid"

    w_fit: float = param(0.3, low=0.0, high=1.0, doc="weight of the resource fit")
    w_priority: float = param(0.3, low=0.0, high=1.0, doc="weight of the priority score")
    w_wait: float = param(0.2, low=0.0, high=1.0, doc="weight of the normalised wait")
    w_urgency: float = param(0.2, low=0.0, high=1.0, doc="weight of the deadline urgency")
    horizon: float = param(3600.0, low=60.0, high=7200.0,
                           doc="seconds that normalise the wait and the time left to the deadline")
    no_deadline_urgency: float = param(0.5, low=0.0, high=1.0, doc="urgency of a task without a deadline")

    def score(self, run: RunView, spec: Task, now: float, free_cores: float,
              free_memory: float) -> float:
        """The hybrid score of one queued task at time ``now``."""
        horizon = self.horizon
        wait = min(max(now - run.arrival, 0.0) / horizon, 1.0)
        if spec.deadline is None:
            urgency = self.no_deadline_urgency
        else:
            left = max(run.arrival + spec.deadline - now, 0.0)
            urgency = 1.0 - min(left / horizon, 1.0)
        return (self.w_fit * resource_fit(spec, free_cores, free_memory)
                + self.w_priority * PRIORITY_SCORE[spec.priority]
                + self.w_wait * wait + self.w_urgency * urgency)

    _score = score


#: Names usable in YAML (``load_aware`` is added by :mod:`wfsim.policies.load_aware`).
SCHEDULING_POLICIES: dict[str, type[SchedulingPolicy]] = {
    "fifo": FIFO,
    "priority": Priority,
    "fair_share": FairShare,
    "weighted_fair": WeightedFair,
    "deadline": Deadline,
    "resource_aware": ResourceAware,
    "hybrid": Hybrid,
}

#: The seed's seven policies (the choices of ``load_aware``'s per-band policies).
BASE_POLICIES: tuple[str, ...] = tuple(SCHEDULING_POLICIES)
