"""Load-aware scheduling: switch every node's policy by the mean CPU load.

The seed's ``LoadAwarePolicyEvaluator`` (part 3 §1.3) picks the scheduler's policy
from the system load at every scheduling round: load < 0.3 → the low-load policy,
< 0.7 → the medium-load policy, else the high-load policy. In wfsim scheduling is
node-local, so the switch is made by a wrapper queue, :class:`LoadAware`
(``scheduling: {strategy: load_aware, params: {...}}``), that delegates to one inner
:class:`~wfsim.policies.scheduling.SchedulingPolicy`; all ``LoadAware`` queues of
one simulation share one :class:`LoadAwarePolicyEvaluator`, which measures the load,
picks the band (:func:`band_of`) and switches every queue's policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import wfsim.policies.scheduling as _scheduling
from wfsim.model.parameters import param
from wfsim.policies.scheduling import BASE_POLICIES as _BASE
from wfsim.policies.scheduling import QueuedTask, SchedulingPolicy
from wfsim.policies.views import NodeView, RunView

if TYPE_CHECKING:
    import simpy

BANDS = ("low", "medium", "high")


class PolicySwitch(NamedTuple):
    """One change of the active policy: at ``time``, from ``old`` to ``new``, at mean
    CPU load ``load``."""

    time: float
    old: str
    new: str
    load: float


def band_of(load: float, current: int, low: float, high: float, hysteresis: float = 0.0) -> int:
    """The band (0 low, 1 medium, 2 high) after evaluating ``load`` in band
    ``current``: up to the highest band whose threshold ``t`` has ``load >= t +
    hysteresis``, else down to the lowest band whose upper threshold ``t`` has
    ``load < t - hysteresis``, else ``current``.

    The thresholds are ``low`` (0.3 by default) and ``high`` (0.7). Without hysteresis
    the band is a function of the load (``load < low`` → low, ``< high`` → medium, else
    high). Re-evaluating at the same load never switches again.
    """
    up = 2 if load >= high + hysteresis else 1 if load >= low + hysteresis else 0
    if up > current:
        return up
    down = 0 if load < low - hysteresis else 1 if load < high - hysteresis else 2
    if down < current:
        return down
    return current


class LoadAwarePolicyEvaluator:
    """The control loop shared by the :class:`LoadAware` queues of one simulation.

    **One evaluator per simulation.** Queues are built by a factory, one per node,
    before the run; once its nodes exist the simulation hands every queue to
    :meth:`attach`, which makes one evaluator for the ``LoadAware`` ones
    (``sim.load_aware``). The evaluator thus knows the clock and every node using
    ``load_aware`` (every node, with a YAML config). A queue no evaluator was attached
    to keeps its low-load policy.

    **Load** = the mean over those nodes of running cores / cores (normalised per node;
    the seed averaged absolute loads, a defect).

    **When it is measured.** The load changes only when a task starts or ends, and the
    node touches its queue in the same SimPy callback. Every queue operation therefore
    schedules (at most one pending) zero-delay *settle* event that measures the load at
    the same simulated time, after the callback: the evaluator sees every load the
    system settles in, without a periodic process (which would keep an otherwise
    finished simulation alive) and without moving the end of the run.

    - ``interval = 0`` (default): the policy is re-evaluated at every settle, i.e.
      whenever the load changes, like the seed's re-evaluation every round. A switch
      happens at exactly the time the load crosses a threshold.
    - ``interval > 0``: the load is sampled at ``k · interval`` (k = 1, 2, …), the
      value in force just before that instant (the left limit; events at the instant
      itself count for the next sample), and the policy is re-evaluated only then.
      Samples are taken lazily but exactly: before any queue operation, and at each
      settle, every sample time already passed is processed with the load in force
      then, and the switch is recorded at the sample time.

    The band follows :func:`band_of` (thresholds and hysteresis). **Switching** moves
    every queued task of every node into a fresh instance of the new policy (defaults of
    that policy), in the order the tasks became ready, so nothing is lost and ties keep
    their order. Each switch is appended to :attr:`switches` as ``PolicySwitch(time,
    old, new, load)`` and passed to every callable in :attr:`listeners` (the hook for
    recording ``PolicySwitched`` in a trace). Only changes of policy are switches: two
    bands with the same policy switch nothing.

    Attributes:
        env: The simulation's clock.
        policies: Policy name per band (low, medium, high).
        low_threshold, high_threshold, hysteresis, interval: See :class:`LoadAware`.
        band: Current band (0 low, 1 medium, 2 high).
        policy: Name of the active policy.
        load: The last measured mean CPU load.
        switches: Every :class:`PolicySwitch`, in order.
        listeners: Callables given each :class:`PolicySwitch` as it happens.
        members: The :class:`LoadAware` queues (one per node).
    """

    def __init__(self, env: simpy.Environment, low: str, medium: str, high: str,
                 low_threshold: float, high_threshold: float, hysteresis: float,
                 interval: float) -> None:
        self.env = env
        self.policies = (low, medium, high)
        self.low_threshold = low_threshold
        self.high_threshold = high_threshold
        self.hysteresis = hysteresis
        self.interval = interval
        self.band = 0
        self.policy = low
        self.load = 0.0
        self.switches: list[PolicySwitch] = []
        self.listeners: list[Callable[[PolicySwitch], None]] = []
        self.members: list[LoadAware] = []
        self._loads: list[float] = []
        self._dirty: set[int] = set()
        self._pending = False
        self._next_k = 1

    @property
    def config(self) -> tuple:
        return (self.policies, self.low_threshold, self.high_threshold, self.hysteresis, self.interval)

    @classmethod
    def attach(cls, env: simpy.Environment,
               queues: Iterable[SchedulingPolicy]) -> LoadAwarePolicyEvaluator | None:
        """One evaluator on ``env`` for the :class:`LoadAware` queues among ``queues``
        (already bound to their nodes), which join it in order; None if there are none.

        The simulation calls it once its nodes exist (``sim.load_aware``).

        Raises:
            ValueError: If the queues' parameters differ.
        """
        members = [q for q in queues if isinstance(q, LoadAware)]
        if not members:
            return None
        first = members[0]
        evaluator = cls(env, first.low, first.medium, first.high, first.low_threshold,
                        first.high_threshold, first.hysteresis, first.interval)
        for member in members:
            evaluator.join(member)
        return evaluator

    def join(self, member: LoadAware) -> None:
        """Add a bound queue (a node's) to this evaluator."""
        node = member.node
        if node is None:
            raise ValueError("load_aware: a queue joins an evaluator once its node has bound it")
        if self.config != member.config:
            raise ValueError("load_aware: every node of one simulation must use the same parameters")
        member._index = len(self.members)
        member.evaluator = self
        self.members.append(member)
        self._loads.append(_node_load(node))
        self.load = math.fsum(self._loads) / len(self._loads)
        if member.active != self.policy:
            member._switch(self.policy)

    # --- the loop ------------------------------------------------------------------
    def touch(self, index: int) -> None:
        """Called by member ``index`` before every queue operation."""
        now = self.env.now
        if self.interval > 0 and self._next_k * self.interval <= now:
            self._catch_up(now)
        self._dirty.add(index)
        if not self._pending:
            self._pending = True
            self.env.timeout(0).callbacks.append(self._settle)

    def measure(self) -> float:
        """Mean CPU load over the members' nodes now (running cores / cores)."""
        loads = self._loads
        members = self.members
        for i in self._dirty:
            loads[i] = _node_load(members[i].node)  # type: ignore[arg-type]  # members are bound
        self._dirty.clear()
        return math.fsum(loads) / len(loads)

    def _settle(self, _event: object) -> None:
        self._pending = False
        now = self.env.now
        if self.interval > 0:
            if self._next_k * self.interval <= now:
                self._catch_up(now)
            self.load = self.measure()
        else:
            self.load = self.measure()
            self._evaluate(now, self.load)

    def _catch_up(self, now: float) -> None:
        """Process the sample times ``k·interval <= now`` with the load in force
        before them (the last measured one); at a constant load only the first can
        switch, so the others are skipped."""
        interval = self.interval
        self._evaluate(self._next_k * interval, self.load)
        k = max(self._next_k + 1, math.floor(now / interval))
        while k * interval <= now:
            k += 1
        self._next_k = k

    def _evaluate(self, time: float, load: float) -> None:
        band = band_of(load, self.band, self.low_threshold, self.high_threshold, self.hysteresis)
        if band == self.band:
            return
        self.band = band
        new = self.policies[band]
        old = self.policy
        if new == old:
            return
        self.policy = new
        for member in self.members:
            member._switch(new)
        switch = PolicySwitch(time, old, new, load)
        self.switches.append(switch)
        for listener in self.listeners:
            listener(switch)


def _node_load(node: NodeView) -> float:
    cores = node.capacity  # current: autoscaling may have changed it
    return (cores - node.free_cores) / cores


@dataclass(eq=False)
class LoadAware(SchedulingPolicy):
    """Delegates to the low-, medium- or high-load policy that the simulation's
    shared :class:`LoadAwarePolicyEvaluator` picks from the mean CPU load (that class
    says when the load is measured and how switching works).

    The inner policies run with their own default parameters. The seed gives no policy
    per band; the defaults are ``fifo`` at low load (short queues, order hardly
    matters), ``hybrid`` at medium load and ``priority`` at high load (protect Critical
    work when queues grow; EDF degrades badly in overload).
    """

    name = "load_aware"

    low: str = param("fifo", choices=_BASE, doc="policy while the load is low")
    medium: str = param("hybrid", choices=_BASE, doc="policy at medium load")
    high: str = param("priority", choices=_BASE, doc="policy at high load")
    low_threshold: float = param(0.3, low=0.1, high=0.5, doc="mean CPU load from which the load is medium")
    high_threshold: float = param(0.7, low=0.5, high=0.95, doc="mean CPU load from which the load is high")
    hysteresis: float = param(0.0, low=0.0, high=0.2,
                              doc="margin around each threshold the load must pass to switch (0: none, as in the seed)")
    interval: float = param(0.0, low=0.0, high=60.0,
                            doc="seconds between load samples; 0 re-evaluates whenever the load changes")

    # The ranges meet at 0.5, so low_threshold <= high_threshold always holds.

    def __post_init__(self) -> None:
        super().__post_init__()
        self.active = self.low
        self._inner: SchedulingPolicy = _scheduling.SCHEDULING_POLICIES[self.low]()
        self.evaluator: LoadAwarePolicyEvaluator | None = None
        self._index = -1

    @property
    def config(self) -> tuple:
        return ((self.low, self.medium, self.high), self.low_threshold, self.high_threshold,
                self.hysteresis, self.interval)

    @property
    def inner(self) -> SchedulingPolicy:
        """The policy currently ordering this node's queue."""
        return self._inner

    def bind(self, node: NodeView) -> None:
        super().bind(node)
        self._inner.bind(node)

    def _switch(self, name: str) -> None:
        inner = _scheduling.SCHEDULING_POLICIES[name]()
        if self.node is not None:
            inner.bind(self.node)
        for run, task in self._inner.drain():
            inner.push(run, task)
        self._inner = inner
        self.active = name

    def _touch(self) -> None:
        evaluator = self.evaluator
        if evaluator is not None:
            evaluator.touch(self._index)

    def push(self, run: RunView, task: int) -> None:
        self._touch()
        self._inner.push(run, task)

    def peek(self) -> QueuedTask:
        self._touch()
        return self._inner.peek()

    def pop(self) -> QueuedTask:
        self._touch()
        return self._inner.pop()

    def __len__(self) -> int:
        self._touch()
        return len(self._inner)

    def drain(self) -> list[QueuedTask]:
        return self._inner.drain()

    def remove(self, run: RunView, task: int) -> bool:
        self._touch()
        return self._inner.remove(run, task)
