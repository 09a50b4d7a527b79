"""Edge autonomy at run time: heartbeats, connectivity, autonomy levels, and what an
edge node does with the tasks of its site while it cannot reach the cloud (YAML: the
``autonomy:`` group; the rules and fallback policies are in
:mod:`wfsim.policies.autonomy`).

The control plane (the placement strategy with the full view) is in the cloud. Each
edge node (:attr:`AutonomySettings.tiers`) governs its *site*: itself and the nodes of
lower tiers hanging off it (its devices), and so the workflows submitted from there.

* **Heartbeats**: every ``heartbeat_period`` the nearest cloud node sends each edge node
  a small message over the simulated network; one without a route is lost.
* **Connectivity** (:class:`ConnectivityMonitor`): a heartbeat makes the node
  ``Connected``; every ``monitor_interval`` the age of the last one is classified against
  the timeout T: below ``degraded_fraction × T`` (1/4) ``Connected``, below
  ``intermittent_fraction × T`` (1/2) ``Degraded``, below T ``Intermittent``, else
  ``Disconnected`` (:func:`connectivity_of`).
* **Level** (:class:`EdgeAutonomyEngine`): :func:`~wfsim.model.enums.autonomy_level` of
  the connectivity and the node's decision accuracy (or a fixed ``level``), adjusted at
  every check and heartbeat.
* **Decisions**: while the site is ``Connected`` the cloud places its tasks as usual (and,
  at an adaptive level, the edge measures how often its own decision would have been
  the same). Otherwise the edge decides: if it
  :meth:`~EdgeAutonomyEngine.can_decide_locally`, it places the task with the placement
  strategy restricted to its site, and the decision is compared with the cloud's (the
  same strategy on the whole, intact continuum at that instant: a task the strategy
  finds no node for on the site, such as every task under ``CloudOnly``, fails); else
  its fallback policy's action applies (:meth:`EdgeAutonomy.place`). The copies of the strategy the edge and the
  oracle use hear no ``on_submit``/``on_task_end`` feedback: a strategy that plans or
  learns decides there from its declared parameters alone.

Every edge decision is a row of the trace's ``decisions`` table, every change of
connectivity or level a row of ``connectivity``.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import simpy

from wfsim.engine.cluster import Cluster
from wfsim.engine.network import FastNetwork, Network
from wfsim.engine.node import NodeRuntime
from wfsim.model.enums import (
    ConnectivityStatus,
    EdgeAutonomyLevel,
    FallbackAction,
    Tier,
    WorkflowState,
    autonomy_level,
)
from wfsim.model.events import AUTONOMY_LEVELS, CONNECTIVITY_STATES, DECIDERS, FALLBACK_ACTIONS
from wfsim.model.parameters import Tunable, param
from wfsim.model.topology import Topology
from wfsim.model.workflow import Task
from wfsim.policies.autonomy import (
    CacheFallback,
    DecisionContext,
    DecisionRule,
    FallbackPolicy,
    FallbackRequest,
)
from wfsim.trace.recorder import TraceRecorder

if TYPE_CHECKING:
    import numpy as np

    from wfsim.engine.executor import WorkflowExecutor, WorkflowRun
    from wfsim.policies.placement import PlacementStrategy

#: Tiers whose nodes are autonomous unless told otherwise.
DEFAULT_TIERS = (Tier.EDGE_DEVICE, Tier.EDGE_CLOUD)
#: Size of a heartbeat message, bytes.
HEARTBEAT_BYTES = 64.0
#: ``level`` of an engine whose level follows its connectivity.
ADAPTIVE = "adaptive"

_CLOUD, _LOCAL, _FALLBACK = (DECIDERS.index(d) for d in ("cloud", "local", "fallback"))
_STATUS = {status: CONNECTIVITY_STATES.index(status.value) for status in ConnectivityStatus}
_LEVEL = {level: AUTONOMY_LEVELS.index(level.value) for level in EdgeAutonomyLevel}
_ACTION = {action: FALLBACK_ACTIONS.index(action.value) for action in FallbackAction}
_NOTHING: frozenset[simpy.Event] = frozenset()


@dataclass(frozen=True)
class AutonomySettings(Tunable):
    """Edge autonomy (see :mod:`wfsim.engine.autonomy`).

    Attributes:
        tiers: Tiers whose nodes are autonomous edge nodes (default EdgeDevice, EdgeCloud).
        fallback: What a node does when it may neither defer to the cloud nor decide
            itself (default: the seed's cache handler).
        rules: When a ``SemiAutonomous`` or ``HighlyAutonomous`` node that is not
            ``Disconnected`` may decide itself (any rule holding suffices).

    Example:
        >>> from wfsim.policies.autonomy import FixedFallback
        >>> AutonomySettings(heartbeat_timeout=20, fallback=FixedFallback(action="Defer")).fallback.action
        'Defer'
    """

    name = "autonomy"
    heartbeat_period: float = param(1.0, low=0.05, high=60.0, doc="seconds between heartbeats from the cloud")
    heartbeat_timeout: float = param(10.0, low=1.0, high=60.0,
                                     doc="T: age of the last heartbeat from which a node is Disconnected, s")
    monitor_interval: float = param(1.0, low=0.1, high=5.0, doc="seconds between connectivity checks")
    degraded_fraction: float = param(0.25, low=0.01, high=0.99,
                                     doc="heartbeat age / T from which a node is Degraded")
    intermittent_fraction: float = param(0.5, low=0.01, high=0.99,
                                         doc="heartbeat age / T from which a node is Intermittent")
    accuracy_gate: float = param(0.9, low=0.5, high=0.99,
                                 doc="decision accuracy above which a Connected node is SemiAutonomous")
    accuracy_window: int = param(20, low=1, high=1000, doc="latest decisions the accuracy is the mean of")
    level: str = param(ADAPTIVE, choices=(ADAPTIVE, *AUTONOMY_LEVELS),
                       doc="the autonomy level: adaptive (from connectivity and accuracy) or fixed")
    max_cache_age: float = param(60.0, low=1.0, high=600.0, doc="oldest cached result a node serves, s")
    event_buffer: int = param(100, low=10, high=1000, doc="recent events a node's rules can see")
    approximation: float = param(0.5, low=0.01, high=1.0, doc="share of a task's work its approximation does")
    retry_backoff: float = param(5.0, low=0.1, high=600.0, doc="seconds before a Retry places the task again")
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    fallback: FallbackPolicy = field(default_factory=CacheFallback)
    rules: tuple[DecisionRule, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.degraded_fraction < self.intermittent_fraction:
            raise ValueError(f"autonomy: degraded_fraction ({self.degraded_fraction}) must be below "
                             f"intermittent_fraction ({self.intermittent_fraction})")
        object.__setattr__(self, "tiers", tuple(Tier.parse(t) for t in self.tiers))
        object.__setattr__(self, "rules", tuple(self.rules))


def connectivity_of(age: float, timeout: float, degraded: float = 0.25, intermittent: float = 0.5
                    ) -> ConnectivityStatus:
    """The seed's classification of a heartbeat's ``age``: below ``degraded ×
    timeout`` Connected, below ``intermittent × timeout`` Degraded, below ``timeout``
    Intermittent, else Disconnected.

    Example:
        >>> [connectivity_of(a, 8.0).value for a in (1.9, 2.0, 4.0, 8.0)]
        ['Connected', 'Degraded', 'Intermittent', 'Disconnected']
    """
    if age < degraded * timeout:
        return ConnectivityStatus.CONNECTED
    if age < intermittent * timeout:
        return ConnectivityStatus.DEGRADED
    if age < timeout:
        return ConnectivityStatus.INTERMITTENT
    return ConnectivityStatus.DISCONNECTED


class ConnectivityMonitor:
    """An edge node's view of its link to the cloud (the seed's ``ConnectivityMonitor``):
    initially ``Connected`` with a heartbeat at time 0.

    Attributes:
        status: The current connectivity.
        last_heartbeat: When the last heartbeat arrived.
    """

    def __init__(self, settings: AutonomySettings) -> None:
        self.timeout = settings.heartbeat_timeout
        self.degraded = settings.degraded_fraction
        self.intermittent = settings.intermittent_fraction
        self.status = ConnectivityStatus.CONNECTED
        self.last_heartbeat = 0.0

    def heartbeat(self, now: float) -> None:
        """A heartbeat arrived: ``Connected``."""
        self.last_heartbeat = now
        self.status = ConnectivityStatus.CONNECTED

    def sample(self, now: float) -> ConnectivityStatus:
        """Classify the age of the last heartbeat (:func:`connectivity_of`) and keep it."""
        self.status = connectivity_of(now - self.last_heartbeat, self.timeout, self.degraded, self.intermittent)
        return self.status


class EdgeAutonomyEngine:
    """One edge node's autonomy (the seed's ``EdgeAutonomyEngine``).

    Args:
        node: The edge node.
        site: Indices of the nodes it governs (itself and its devices).
        settings: The autonomy settings (the node works on its own copy of the rules).

    Attributes:
        level: The current autonomy level.
        context: What its rules see.
        monitor: Its connectivity.
        agreements: 1/0 per latest decision compared with the cloud's (the window of
            :attr:`accuracy`).
        cache: When it last saw each task complete while connected, by (workflow
            name, task id).
        deferred: Tasks held until it is ``Connected`` again: ``(run, task)``.
        retrying: Retries scheduled and not yet due.
    """

    def __init__(self, node: NodeRuntime, site: frozenset[int], settings: AutonomySettings) -> None:
        self.node = node
        self.site = site
        self.settings = settings
        self.rules = copy.deepcopy(settings.rules)
        self.fallback = settings.fallback
        self.fixed = None if settings.level == ADAPTIVE else EdgeAutonomyLevel(settings.level)
        self.monitor = ConnectivityMonitor(settings)
        self.context = DecisionContext(events=deque(maxlen=settings.event_buffer))
        self.agreements: deque[int] = deque(maxlen=settings.accuracy_window)
        self.cache: dict[tuple[str, str], float] = {}
        self.deferred: list[tuple[WorkflowRun, int]] = []
        self.retrying = 0
        self.level = self.adjust()

    @property
    def accuracy(self) -> float:
        """Share of the latest decisions that agreed with the cloud's (0 before any)."""
        return sum(self.agreements) / len(self.agreements) if self.agreements else 0.0

    def adjust(self) -> EdgeAutonomyLevel:
        """Set :attr:`level` from the connectivity and the accuracy (or the fixed level)."""
        self.level = (self.fixed if self.fixed is not None else
                      autonomy_level(self.monitor.status, self.accuracy, self.settings.accuracy_gate))
        return self.level

    def can_decide_locally(self) -> bool:
        """The seed's rule: never when ``FullyDependent``, always when
        ``FullyAutonomous``; otherwise when ``Disconnected`` or any rule holds."""
        if self.level is EdgeAutonomyLevel.FULLY_DEPENDENT:
            return False
        if self.level is EdgeAutonomyLevel.FULLY_AUTONOMOUS:
            return True
        if self.monitor.status is ConnectivityStatus.DISCONNECTED:
            return True
        return any(rule.evaluate(self.context) for rule in self.rules)

    def refresh(self, now: float) -> DecisionContext:
        """Bring the context's metrics, connectivity and time up to ``now``."""
        node, ctx = self.node, self.context
        ctx.now = now
        ctx.connectivity = self.monitor.status
        ctx.metrics["heartbeat_age"] = now - self.monitor.last_heartbeat
        ctx.metrics["utilisation"] = (node.capacity - node.free_cores) / node.capacity if node.capacity else 0.0
        ctx.metrics["queue_length"] = float(len(node.queue))
        ctx.metrics["deferred"] = float(len(self.deferred))
        return ctx

    def cached_age(self, run: WorkflowRun, task: int, now: float) -> float | None:
        """Age of the cached result of ``task``, if one no older than the maximum age is held."""
        seen = self.cache.get((run.spec.name, run.spec.tasks[task].id))
        if seen is None or now - seen > self.settings.max_cache_age:
            return None
        return now - seen


class _SiteView:
    """The cluster as an edge node sees it on its own: candidates only in its site."""

    def __init__(self, cluster: Cluster, site: frozenset[int]) -> None:
        self._cluster = cluster
        self._site = site
        self.nodes = cluster.nodes
        self.network = cluster.network
        self.topology = cluster.topology

    @property
    def now(self) -> float:
        return self._cluster.now

    def candidates(self, task: Task, origin: int) -> tuple[NodeRuntime, ...]:
        """The site's nodes that may run ``task``, as :meth:`Cluster.candidates
        <wfsim.engine.cluster.Cluster.candidates>` orders them, but judged by what the
        edge knows: a node of its site that is up and reachable is a candidate even if
        the cloud's failure detector, cut off from it, holds it suspected."""
        return tuple(n for n in self._cluster.candidates(task, origin, drained=True)
                     if n.index in self._site and n.up)


class _IntactView:
    """The cluster as the cloud would see it with every link up (the oracle's view):
    the same nodes (and so their loads and health) on a copy of the topology that no
    fault cuts."""

    def __init__(self, env: simpy.Environment, cluster: Cluster) -> None:
        self._env = env
        self._live = cluster
        self.topology = Topology(cluster.topology.nodes, cluster.topology.links)
        self.network: Network = FastNetwork(env, self.topology, lambda row: None)  # estimates only
        self.nodes = cluster.nodes
        self._cluster = Cluster(env, self.topology, cluster.nodes, self.network)
        self._health = cluster.health_version

    @property
    def now(self) -> float:
        return self._env.now

    def candidates(self, task: Task, origin: int) -> tuple[NodeRuntime, ...]:
        if self._health != self._live.health_version:  # forget candidates of another health
            self._cluster = Cluster(self._env, self.topology, self.nodes, self.network)
            self._health = self._live.health_version
        return self._cluster.candidates(task, origin)


def sites(topology: Topology, edges: Sequence[int]) -> dict[int, frozenset[int]]:
    """Each edge node's site: itself and the nodes of lower tiers connected to it
    through nodes of lower tiers (its devices), by node index."""
    neighbours: dict[int, list[int]] = {i: [] for i in range(len(topology.nodes))}
    for link in topology.links:
        a, b = topology.index[link.a], topology.index[link.b]
        neighbours[a].append(b)
        neighbours[b].append(a)
    out = {}
    for edge in edges:
        order = topology.nodes[edge].tier.order
        seen, todo = {edge}, [edge]
        while todo:
            for nb in neighbours[todo.pop()]:
                if nb not in seen and topology.nodes[nb].tier.order < order:
                    seen.add(nb)
                    todo.append(nb)
        out[edge] = frozenset(seen)
    return out


class EdgeAutonomy:
    """Heartbeats, connectivity checks and edge decisions for every edge node (see the
    module docstring). The executor asks :meth:`place` before placing any task.

    Args:
        env: The simulation's environment.
        cluster: The live cluster.
        executor: The workflow executor (it calls :meth:`place` and :meth:`on_task_end`).
        placement: The cloud's placement strategy; the edge nodes and the oracle use
            copies of it (drawing from the streams ``autonomy/local`` and
            ``autonomy/oracle``).
        recorder: The trace recorder.
        settings: The autonomy settings.
        random: ``stream(name)`` of the run's named random streams.

    Attributes:
        engines: One :class:`EdgeAutonomyEngine` per edge node.
        cloud: Index of the cloud node that sends heartbeats.

    Raises:
        ValueError: Without a Cloud-tier node or without a node of ``settings.tiers``.
    """

    def __init__(self, env: simpy.Environment, cluster: Cluster, executor: WorkflowExecutor,
                 placement: PlacementStrategy, recorder: TraceRecorder, settings: AutonomySettings,
                 random: Callable[[str], np.random.Generator]) -> None:
        self.env = env
        self.cluster = cluster
        self.executor = executor
        self.placement = placement
        self.settings = settings
        self._record_decision = recorder.record_decision
        self._record_connectivity = recorder.record_connectivity
        topology = cluster.topology
        clouds = [i for i, n in enumerate(topology.nodes) if n.tier is Tier.CLOUD]
        edges = [i for i, n in enumerate(topology.nodes) if n.tier in settings.tiers]
        if not clouds:
            raise ValueError("autonomy: the topology has no Cloud-tier node (the control plane)")
        if not edges:
            raise ValueError(f"autonomy: no node of the tiers {', '.join(t.value for t in settings.tiers)}")
        self.cloud = min(clouds, key=lambda c: (topology.route_latency(c, edges[0]), c))
        self.engines = [EdgeAutonomyEngine(cluster.nodes[e], site, settings)
                        for e, site in sites(topology, edges).items()]
        # A workflow is governed by the nearest edge node above its origin: the one of
        # the smallest site holding it (an EdgeDevice under an EdgeCloud governs itself).
        self._governor: dict[int, EdgeAutonomyEngine] = {}
        for engine in sorted(self.engines, key=lambda e: len(e.site)):
            for member in engine.site:
                self._governor.setdefault(member, engine)
        self._views = {engine.node.index: _SiteView(cluster, engine.site) for engine in self.engines}
        self._intact = _IntactView(env, cluster)
        self._local = copy.deepcopy(placement)
        self._local.bind_random(random("autonomy/local"))
        self._oracle = copy.deepcopy(placement)
        self._oracle.bind_random(random("autonomy/oracle"))
        self._measure = settings.level == ADAPTIVE
        self._background: set[simpy.Event] = set()
        for engine in self.engines:
            self._record(engine)
        self._beat(None)
        self._schedule(settings.monitor_interval, self._check)

    # --- background processes ------------------------------------------------------------
    def pending(self) -> Collection[simpy.Event]:
        """The heartbeat and check ticks and the retries due: background, unless some
        node holds deferred or retrying tasks and the cloud can reach it (its next
        heartbeat will let them go on)."""
        route = self.cluster.topology.route
        for engine in self.engines:
            if (engine.deferred or engine.retrying) and route(self.cloud, engine.node.index) is not None:
                return _NOTHING
        return self._background

    def _schedule(self, delay: float, callback: Callable[[simpy.Event], None]) -> simpy.Event:
        event = self.env.timeout(delay)
        self._background.add(event)
        event.callbacks.append(self._background.discard)
        event.callbacks.append(callback)
        return event

    def _beat(self, _event: simpy.Event | None) -> None:
        send = self.cluster.network.send
        if self.cluster.nodes[self.cloud].up:
            for engine in self.engines:
                send(self.cloud, engine.node.index, HEARTBEAT_BYTES, self._heard, engine)  # lost: no route
        self._schedule(self.settings.heartbeat_period, self._beat)

    def _heard(self, engine: EdgeAutonomyEngine) -> None:
        if not engine.node.up:
            return
        before = engine.monitor.status
        engine.monitor.heartbeat(self.env.now)
        self._changed(engine, before)

    def _check(self, _event: simpy.Event) -> None:
        now = self.env.now
        for engine in self.engines:
            before = engine.monitor.status
            engine.monitor.sample(now)
            context = engine.refresh(now)
            for rule in engine.rules:
                rule.observe(context)
            self._changed(engine, before)
        self._schedule(self.settings.monitor_interval, self._check)

    def _changed(self, engine: EdgeAutonomyEngine, before: ConnectivityStatus) -> None:
        """Record a change of connectivity or level; on reconnection, let deferred tasks go."""
        status, level = engine.monitor.status, engine.level
        if status is not before:
            engine.context.note(status.value, self.env.now)
        if engine.adjust() is not level or status is not before:
            self._record(engine)
        if status is ConnectivityStatus.CONNECTED and engine.deferred:
            waiting, engine.deferred = engine.deferred, []
            for run, task in waiting:
                if run.state is WorkflowState.RUNNING:
                    self.executor._place(run, task)

    def _record(self, engine: EdgeAutonomyEngine) -> None:
        self._record_connectivity((self.env.now, engine.node.index, _STATUS[engine.monitor.status],
                                   _LEVEL[engine.level]))

    # --- decisions -----------------------------------------------------------------------
    def on_task_end(self, run: WorkflowRun, task: int, node: NodeRuntime) -> None:
        """A task ended: the edge node governing its workflow caches its result while
        connected; one ending on the edge node itself is an event its rules see."""
        engine = self._governor.get(run.origin)
        if engine is None:
            return
        if engine.monitor.status is ConnectivityStatus.CONNECTED:
            engine.cache[run.spec.name, run.spec.tasks[task].id] = self.env.now
        if node is engine.node:
            engine.context.note("task_end", self.env.now)

    def place(self, run: WorkflowRun, task: int) -> bool:
        """Place task ``task`` of ``run`` (or act on it) as its site's edge node decides;
        False when the executor's ordinary placement is to proceed: a workflow from no
        site, or one whose edge node is down (crashed: it decides nothing)."""
        engine = self._governor.get(run.origin)
        if engine is None or not engine.node.up:
            return False
        now = self.env.now
        edge = engine.node.index
        if engine.monitor.status is ConnectivityStatus.CONNECTED:
            node = self.placement.place(run, task, self.cluster)
            if self._measure:
                agrees = self._agree(engine, self._choose(engine, run, task), node)
                self._record_decision((now, edge, run.id, task, _CLOUD, -1, agrees, math.nan))
            self.executor.assign(run, task, node)  # type: ignore[arg-type]
            return True
        engine.refresh(now)
        if engine.can_decide_locally():
            node = self._choose(engine, run, task)
            agrees = self._agree(engine, node, self._oracle.place(run, task, self._intact))
            self._record_decision((now, edge, run.id, task, _LOCAL, -1, agrees, math.nan))
            self.executor.assign(run, task, node)  # None: no node of the site suits it, it fails
            return True
        age = engine.cached_age(run, task, now)
        spec = run.spec
        action = engine.fallback.choose(FallbackRequest(spec.name, spec.tasks[task].id, age), engine.context)
        if action is FallbackAction.USE_CACHE and age is None:
            action = FallbackAction.EXECUTE_LOCAL  # nothing fresh to serve
        staleness = age if action is FallbackAction.USE_CACHE and age is not None else math.nan
        self._record_decision((now, edge, run.id, task, _FALLBACK, _ACTION[action], math.nan, staleness))
        if action is FallbackAction.USE_CACHE:
            self.executor.complete_unrun(run, task, engine.node)
        elif action is FallbackAction.RETRY:
            engine.retrying += 1
            self._schedule(self.settings.retry_backoff, lambda _e: self._retry(engine, run, task))
        elif action is FallbackAction.DEFER:
            engine.deferred.append((run, task))
        elif action is FallbackAction.REJECT:
            self.executor._fail(run, task, -1, "rejected")
        else:  # ExecuteLocal or UseApproximation: on the site, the edge node first
            node = self._local_node(engine, run, task)
            if node is not None and action is FallbackAction.USE_APPROXIMATION:
                if run.work is None:
                    run.work = [t.work for t in spec.tasks]
                run.work[task] *= self.settings.approximation
            self.executor.assign(run, task, node)
        return True

    def _choose(self, engine: EdgeAutonomyEngine, run: WorkflowRun, task: int) -> NodeRuntime | None:
        """The edge's own decision: the placement strategy on its site only."""
        return self._local.place(run, task, self._views[engine.node.index])  # type: ignore[return-value]

    def _agree(self, engine: EdgeAutonomyEngine, local: object, cloud: object) -> float:
        agrees = 1 if local is cloud else 0
        engine.agreements.append(agrees)
        return float(agrees)

    def _local_node(self, engine: EdgeAutonomyEngine, run: WorkflowRun, task: int) -> NodeRuntime | None:
        """The edge node itself when it may run the task, else the site's first
        candidate (by what the edge knows, see :class:`_SiteView`)."""
        found = self._views[engine.node.index].candidates(run.spec.tasks[task], run.origin)
        return engine.node if engine.node in found else (found[0] if found else None)

    def _retry(self, engine: EdgeAutonomyEngine, run: WorkflowRun, task: int) -> None:
        engine.retrying -= 1
        if run.state is WorkflowState.RUNNING:
            self.executor._place(run, task)
