"""The simulation: topology + workloads + strategies → a trace."""

from __future__ import annotations

import copy
import gc
import time
from collections.abc import Callable, Collection, Generator, Iterable, Sequence
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import simpy
from simpy.core import URGENT

from wfsim.consistency.clients import StateClients
from wfsim.consistency.protocols import PROTOCOLS
from wfsim.consistency.settings import ConsistencySettings
from wfsim.consistency.store import ReplicatedStore
from wfsim.engine.autonomy import AutonomySettings, EdgeAutonomy
from wfsim.engine.autoscaling import AutoscalingLoop, AutoscalingSettings
from wfsim.engine.cluster import Cluster
from wfsim.engine.detection import DetectionSettings, FailureDetector
from wfsim.engine.executor import WorkflowExecutor
from wfsim.engine.fault_tolerance import FaultToleranceSettings, FaultTolerantExecutor
from wfsim.engine.faults import FaultInjector
from wfsim.engine.leases import LeaseKeeper, LeaseSettings
from wfsim.engine.migration import Evacuator, MigrationManager, MigrationSettings, Rebalancer, RebalanceSettings
from wfsim.engine.network import NETWORKS, Network
from wfsim.engine.node import NodeRuntime
from wfsim.engine.partitions import PartitionHandlingSettings, WriteGate
from wfsim.engine.randomness import RandomStreams
from wfsim.faults.processes import FaultProcess
from wfsim.model.enums import (
    DRAINED,
    HealthStatus,
    MigrationTrigger,
    NetworkFidelity,
    Tier,
    TraceLevel,
    parse_member,
)
from wfsim.model.parameters import Tunable
from wfsim.model.topology import Topology
from wfsim.model.workflow import Workflow
from wfsim.policies.load_aware import LoadAwarePolicyEvaluator
from wfsim.policies.placement import EarliestFinishTime, PlacementStrategy
from wfsim.policies.scheduling import FIFO, SchedulingPolicy
from wfsim.trace.manifest import run_manifest
from wfsim.trace.recorder import TraceRecorder
from wfsim.trace.trace import Trace
from wfsim.workloads.workload import Workload

#: Progress is reported every 8192 events (a mask: ``n & _TICK_EVERY == 0``).
_TICK_EVERY = 0x1FFF
#: The default ``migration`` settings (frozen, so one instance serves every run).
_MIGRATION = MigrationSettings()


@dataclass
class RunResult:
    """What a run produced.

    A run at trace level ``"full"`` (the default) keeps its trace and computes
    :attr:`metrics` from it when first asked; a run at level ``"metrics"`` keeps no
    trace and computed its metrics as it ended.

    Attributes:
        trace: The event log (typed DataFrames + manifest); None for a run at trace
            level ``"metrics"``.
        wall_seconds: Wall-clock time of the simulation proper (without building the
            trace or the metrics).
        manifest: Config, seed, versions, ``horizon``, ``trace`` level, …: the trace's
            manifest when there is a trace.
        summary: The metrics of a run without a trace (read them as :attr:`metrics`).

    Raises:
        ValueError: Neither a trace nor a summary was given.
    """

    trace: Trace | None
    wall_seconds: float = 0.0
    manifest: dict[str, Any] = field(default_factory=dict)
    summary: InitVar[dict[str, Any] | None] = None

    def __post_init__(self, summary: dict[str, Any] | None) -> None:
        if self.trace is not None and not self.manifest:
            self.manifest = self.trace.manifest
        if summary is not None:
            self.metrics = summary  # the cached property's value: nothing left to compute
        elif self.trace is None:
            raise ValueError("a RunResult needs a trace or the metrics of one")

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Summary metrics (see :func:`wfsim.trace.metrics.summarize`)."""
        from wfsim.trace.metrics import summarize

        assert self.trace is not None  # __post_init__ gave a result without one its metrics
        return summarize(self.trace)


def parse_health(status: HealthStatus | str) -> HealthStatus:
    """A :class:`~wfsim.model.enums.HealthStatus` from itself, its value
    (``"Maintenance"``) or its name (``"MAINTENANCE"``), case-insensitive.

    Raises:
        ValueError: For anything else; the message lists the allowed values.
    """
    return parse_member(HealthStatus, status, "health status")


@dataclass(frozen=True)
class HealthChange:
    """A node's health changing at a simulated time (see :meth:`Simulation.set_health`).

    Attributes:
        time: Simulated time of the change, seconds (finite, >= 0).
        node: The node's id.
        status: The new health; a string is parsed by :func:`parse_health`.
        evacuate: When the node goes ``Unhealthy``, ``Maintenance`` or ``Degraded``,
            also migrate its queued and running tasks away (see
            :meth:`Simulation.set_health`).

    Raises:
        ValueError: For a negative or non-finite time or an unknown status.
    """

    time: float
    node: str
    status: HealthStatus | str
    evacuate: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.time < float("inf"):
            raise ValueError(f"health change time must be finite and >= 0, got {self.time}")
        object.__setattr__(self, "status", parse_health(self.status))


class _First(simpy.Event):
    """An event that fires ``delay`` from now before every ordinary event of that
    instant (SimPy's ``URGENT`` priority), so a health change at ``t`` is in force for
    all placements at ``t``."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class Simulation:
    """A discrete-event simulation of workflows on the continuum.

    Args:
        topology: Nodes and links.
        workloads: What arrives, from where and when.
        placement: Chooses a node per task (default: earliest finish time); the
            simulation runs a copy of it, available afterwards as ``sim.placement``,
            and hands that copy the run's random stream ``"placement"``
            (:meth:`~wfsim.policies.placement.PlacementStrategy.bind_random`).
        scheduling: Factory of each node's ready queue (default: FIFO).
        network: ``"fast"`` or ``"shared"`` (see :class:`~wfsim.model.enums.NetworkFidelity`).
        seed: Seed of every random stream; same inputs and seed give the same trace.
        duration: Arrival window in seconds (workloads submit in ``[0, duration)``).
        until: Stop time; None runs until all submitted work has finished.
        config: The configuration this was built from, kept in the manifest.
        migration: How the migration manager ``sim.migration`` moves tasks (used by
            rebalancing, evacuation and direct requests; see :mod:`wfsim.engine.migration`).
        rebalance: Periodic load rebalancing through task migration; None (default)
            disables it.
        autoscaling: Run-time resizing of nodes' cores by an autoscaler (the control
            loop is ``sim.autoscaling``); None (default) keeps every node's capacity fixed.
        health: Scheduled :class:`HealthChange` s of node health (see
            :meth:`set_health`); every node starts ``Healthy``.
        autonomy: Edge autonomy: heartbeats from the cloud, connectivity, and edge
            nodes deciding for their sites when cut off (``sim.autonomy``; see
            :mod:`wfsim.engine.autonomy`); None (default): the cloud places everything.
        fault_tolerance: How tasks survive node crashes (retries, checkpoints,
            replicas: :class:`~wfsim.engine.fault_tolerance.FaultToleranceSettings`);
            None (default): a task lost in a crash fails its workflow.
        trace: What the run keeps (:class:`~wfsim.model.enums.TraceLevel`):
            ``"full"`` (default) the whole trace, ``"metrics"`` only its summary
            metrics (:attr:`RunResult.trace` is then None), which takes less memory
            and time; anything else is a ValueError naming the allowed levels.
        detection: Heartbeat failure detection and recovery actions
            (``sim.detector``, :class:`~wfsim.engine.detection.FailureDetector`);
            None (default): nothing is monitored.
        leases: Leadership leases with lease-based failover (``sim.leases``,
            :class:`~wfsim.engine.leases.LeaseKeeper`); needs ``detection``.
        partition_handling: The write gate on tasks' state writes (``sim.write_gate``,
            :class:`~wfsim.engine.partitions.WriteGate`); needs ``detection``.
        faults: Fault processes (:mod:`wfsim.faults`) applied by ``sim.faults``
            (:class:`~wfsim.engine.faults.FaultInjector`), drawn up to ``until`` (or,
            without it, twice ``duration``). With faults, the run changes a copy of
            ``topology`` (``sim.topology``).
        consistency: Replicated key-value state (``sim.store``,
            :class:`~wfsim.consistency.store.ReplicatedStore`): tasks read their
            ``state_keys`` before they start and write them when they end, at the
            level the settings' strategy chooses; with ``partition_handling`` the
            write gate judges every write. None (default): no state is kept.

    Example:
        >>> from wfsim import Simulation, Workload, Poisson, hierarchical, chain
        >>> sim = Simulation(hierarchical(devices=4, edge=2, regional=1),
        ...                  [Workload("w", chain(3), Poisson(0.5))], duration=30, seed=1)
        >>> result = sim.run()
        >>> result.metrics["workflows"]["completed"] > 0
        True
    """

    def __init__(
        self,
        topology: Topology,
        workloads: Sequence[Workload],
        *,
        placement: PlacementStrategy | None = None,
        scheduling: Callable[[], SchedulingPolicy] = FIFO,
        network: NetworkFidelity | str = NetworkFidelity.FAST,
        seed: int = 0,
        duration: float = 60.0,
        until: float | None = None,
        config: dict[str, Any] | None = None,
        migration: MigrationSettings = _MIGRATION,
        rebalance: RebalanceSettings | None = None,
        autoscaling: AutoscalingSettings | None = None,
        health: Iterable[HealthChange] | None = None,
        trace: TraceLevel | str = "full",
        detection: DetectionSettings | None = None,
        leases: LeaseSettings | None = None,
        partition_handling: PartitionHandlingSettings | None = None,
        faults: Sequence[FaultProcess] = (),
        autonomy: AutonomySettings | None = None,
        fault_tolerance: FaultToleranceSettings | None = None,
        consistency: ConsistencySettings | None = None,
    ) -> None:
        # Parsed first: the recorder's callables depend on it, and the engine's parts
        # below capture them.
        self.trace_level = TraceLevel.parse(trace)
        if not duration >= 0:
            raise ValueError(f"duration must be >= 0, got {duration}")
        if until is not None and not until > 0:
            raise ValueError(f"until must be > 0, got {until}")
        if faults:
            topology = topology.copy()  # faults take links down: the caller's topology stays as it is
        self.topology = topology
        self.workloads = list(workloads)
        # A run works on its own copy, so strategies that learn or plan (AdaptiveFlow,
        # HEFT, …) start fresh and one object can configure many runs; the copy that
        # ran is ``sim.placement``.
        self.placement = copy.deepcopy(placement) if placement is not None else EarliestFinishTime()
        self.fidelity = NetworkFidelity(network)
        self.seed = seed
        self.duration = float(duration)
        self.until = until
        self.config = config
        self.env = simpy.Environment()
        self.random = RandomStreams(seed)
        # Random choices follow the run seed: ``compare --seeds`` varies them too.
        self.placement.bind_random(self.random.stream("placement"))
        self.recorder = TraceRecorder(self.trace_level)
        self.network: Network = NETWORKS[self.fidelity](self.env, topology, self.recorder.record_hop)
        self.nodes = [
            NodeRuntime(self.env, i, node, scheduling(), self.recorder.record_task,
                        record_allocation=self.recorder.record_allocation)
            for i, node in enumerate(topology.nodes)
        ]
        self.cluster = Cluster(self.env, topology, self.nodes, self.network)
        self.executor = (
            WorkflowExecutor(self.env, self.cluster, self.network, self.placement, self.recorder)
            if fault_tolerance is None else
            FaultTolerantExecutor(self.env, self.cluster, self.network, self.placement, self.recorder,
                                  fault_tolerance, self.random))
        for node in self.nodes:
            node.on_end = self.executor.on_task_end
        self.scheduling = type(self.nodes[0].queue).__name__ if self.nodes else None
        self.migration = MigrationManager(self.env, self.cluster, self.network, self.recorder, migration)
        self.evacuator = Evacuator(self.migration)
        self.rebalancer = (None if rebalance is None else
                           Rebalancer(self.env, self.migration, rebalance, record=self.recorder.record_rebalance))
        self.autoscaling: AutoscalingLoop | None = None
        if autoscaling is not None:
            self.autoscaling = AutoscalingLoop(self.env, self.nodes, autoscaling, self.recorder.states.append)
        #: The evaluator shared by the nodes' ``load_aware`` queues (None without them).
        self.load_aware = LoadAwarePolicyEvaluator.attach(self.env, [node.queue for node in self.nodes])
        if self.load_aware is not None:
            # Policy switches go into the trace's state changes (P23 reads them).
            self.load_aware.listeners.append(lambda s: self.recorder.states.append(
                (s.time, "scheduling_policy", "cluster", s.new)))
        self._started = False
        self._health_pending: set[simpy.Event] = set()  # scheduled, not yet applied
        # Periodic or scheduled processes (heartbeats, fault schedules, …) that must not
        # keep a run going on their own: each gives its pending events (see add_background).
        self._background_sources: list[Callable[[], Collection[simpy.Event]]] = []
        #: Applies the fault processes; other parts subscribe to its ``on_crash`` and ``on_recover``.
        self.faults = FaultInjector(self.env, topology, self.network, self.nodes, self.recorder, faults,
                                    self.random, until if until is not None else 2 * self.duration)
        if faults:
            self.add_background(self.faults.pending)
        # A crash empties the node: the executor handles what it lost (fails or retries it).
        self.faults.on_crash.append(self.executor.on_node_crash)
        for change in health or ():
            self.set_health(change.node, change.status, at=change.time, evacuate=change.evacuate)
        #: The settings groups given, recorded in the manifest by name (the catalog's
        #: fault and autonomy properties read their thresholds there).
        self.settings: dict[str, Tunable] = {name: group for name, group in (
            ("detection", detection), ("leases", leases), ("partition_handling", partition_handling),
            ("autonomy", autonomy), ("fault_tolerance", fault_tolerance), ("consistency", consistency))
            if group is not None}
        self.detector: FailureDetector | None = None
        self.leases: LeaseKeeper | None = None
        self.write_gate: WriteGate | None = None
        if detection is None and (leases is not None or partition_handling is not None):
            raise ValueError("leases and partition_handling need detection (they act on the detector's beliefs)")
        if detection is not None:
            self.detector = FailureDetector(self.env, topology, self.nodes, self.network, self.recorder, detection,
                                            self._apply_health, self.add_background)
            if until is None:
                # Arrivals end at ``duration``; after that, an idle executor means the end.
                self.detector.quiet = lambda: self.env.now >= self.duration and not self.executor.active
            if leases is not None:
                self.leases = LeaseKeeper(self.detector, self.recorder, leases, self.add_background)
            # Suspected nodes' losses become known (fault_tolerance notice: detector; a
            # run without a detector must call executor.on_node_suspected itself).
            self.detector.on_suspect.append(self.executor.on_node_suspected)
            if partition_handling is not None:
                self.write_gate = WriteGate(self.detector, self.recorder, partition_handling)
                if consistency is None:  # else the store asks the gate about every write
                    self.executor.end_check = self.write_gate.check
                mode = self.executor.mode
                self.write_gate.fault_tolerance = lambda run: mode  # MultiMaster writes pass the gate
        self.autonomy: EdgeAutonomy | None = None
        if autonomy is not None:
            self.autonomy = self.executor.autonomy = EdgeAutonomy(
                self.env, self.cluster, self.executor, self.placement, self.recorder, autonomy, self.random.stream)
            self.add_background(self.autonomy.pending)
        self.store: ReplicatedStore | None = None
        self.clients: StateClients | None = None
        if consistency is not None:
            if fault_tolerance is not None:
                raise ValueError("consistency cannot be combined with fault_tolerance yet (replicated task copies "
                                 "would write their state keys once per copy)")
            self.store = self.executor.state = ReplicatedStore(
                self.env, topology, self.nodes, self.network, self.recorder, consistency, PROTOCOLS,
                self.random.stream, self.add_background, self.detector, self.write_gate)
            self.faults.on_crash.append(self.store.on_crash)
            self.faults.on_recover.append(self.store.on_recover)
            if until is None:
                # As the detector's: periodic protocol rounds stop once the work is done.
                self.store.quiet = lambda: self.env.now >= self.duration and not self.executor.active
            if consistency.clients:
                self.clients = StateClients(self.env, self.store, self.duration, self.random.stream)

    def set_health(self, node: str, status: HealthStatus | str, at: float | None = None,
                   evacuate: bool = False) -> None:
        """Set a node's health now or at simulated time ``at``.

        ``Unhealthy`` and ``Maintenance`` drain the node: tasks running, queued or on
        their way there finish, and no strategy places or migrates new work there
        (:meth:`Cluster.candidates <wfsim.engine.cluster.Cluster.candidates>`).
        ``Degraded`` nodes are avoided by load balancing and rebalancing only (they
        pick ``Healthy`` nodes). ``Healthy`` makes a node eligible again. Every change
        is recorded in the trace's ``states`` as ``(time, "health", node id, status)``.

        With ``evacuate``, a node going ``Unhealthy`` or ``Maintenance`` is also
        emptied: its queued and running (checkpointed) tasks migrate, with trigger
        ``AvailabilityRisk``, to where they would start soonest, as the migration
        manager's concurrency cap allows, retrying as migrations end
        (:class:`~wfsim.engine.migration.Evacuator`, ``sim.evacuator``), until its
        health changes again. A node going ``Degraded`` with ``evacuate`` is emptied
        the same way onto ``Healthy`` nodes, with trigger ``PerformanceDegradation``.

        A change scheduled at ``t`` takes effect before anything else happens at
        ``t``. On a run without ``until``, scheduled changes do not keep the run
        going: those still pending when the last work ends are neither applied nor
        recorded.

        Args:
            node: The node's id.
            status: A :class:`~wfsim.model.enums.HealthStatus` or its value
                (``"Maintenance"``).
            at: Simulated time of the change, >= the current time; None: now.
            evacuate: Migrate the node's work away when it is drained.

        Raises:
            ValueError: For an unknown node or status (naming the allowed values) or
                a time in the past.
        """
        index = self.topology.index_of(node)
        health = parse_health(status)
        if at is None:
            self._apply_health(index, health, evacuate)
            return
        now = self.env.now
        if not now <= at < float("inf"):
            raise ValueError(f"health change time must be finite and >= now ({now:g}), got {at}")
        event = _First(self.env, at - now)
        self._health_pending.add(event)
        event.callbacks.append(lambda e: self._health_due(e, index, health, evacuate))

    def _health_due(self, event: simpy.Event, index: int, status: HealthStatus, evacuate: bool) -> None:
        self._health_pending.discard(event)
        self._apply_health(index, status, evacuate)

    def _apply_health(self, index: int, status: HealthStatus, evacuate: bool = False) -> None:
        node = self.nodes[index]
        self.cluster.set_health(node, status)
        self.recorder.states.append((self.env.now, "health", node.spec.id, status.value))
        if evacuate and status in DRAINED:
            self.evacuator.evacuate(node, MigrationTrigger.AVAILABILITY_RISK)
        elif evacuate and status is HealthStatus.DEGRADED:
            self.evacuator.evacuate(node, MigrationTrigger.PERFORMANCE_DEGRADATION)
        else:
            self.evacuator.stop(node)

    def add_background(self, pending: Callable[[], Collection[simpy.Event]]) -> None:
        """Declare a process that alone never keeps the run going (a heartbeat, a
        fault schedule, …): ``pending()`` returns its events scheduled at the moment
        it is called, cheaply (a set the process keeps: it is asked after every event
        near the end of a run). A run without ``until`` ends when nothing but such
        events (and the other background ticks) is left; see :meth:`run`."""
        self._background_sources.append(pending)

    def _origins(self, workload: Workload) -> list[int]:
        if workload.origins is None:
            devices = self.topology.nodes_of(Tier.LOCAL_DEVICE) or list(self.topology.nodes)
            return [self.topology.index[n.id] for n in devices]
        missing = [o for o in workload.origins if o not in self.topology.index]
        if missing:
            raise ValueError(f"workload {workload.name!r}: unknown origin node(s) {missing}")
        return [self.topology.index[o] for o in workload.origins]

    def _source(self, workload: Workload, origin: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        origin_id = self.topology.nodes[origin].id
        stream = f"{workload.name}/{origin_id}"
        rng = self.random.stream(f"arrivals/{stream}")
        work_rng = self.random.stream(f"work/{stream}")
        shape_rng = self.random.stream(f"workflow/{stream}")
        end = self.duration if workload.end is None else min(workload.end, self.duration)
        # A fixed workflow serves every arrival; a factory makes a new one for each.
        spec: Workflow
        make: Callable[[np.random.Generator], Workflow] | None = None
        if isinstance(workload.workflow, Workflow):
            spec = workload.workflow
        else:
            make = workload.workflow
        varied = workload.work.kind != "constant"
        submit = self.executor.submit
        for t in workload.arrivals.times(rng, workload.start, end, origin_id):
            yield env.timeout(t - env.now)
            if make is not None:
                spec = make(shape_rng)
            work = None
            if varied:
                scale = workload.work.multipliers(work_rng, len(spec.tasks))
                assert scale is not None  # None only for constant work
                work = scale * [t.work for t in spec.tasks]
            submit(spec, workload.name, origin, work)

    def run(self, progress: bool | Any = False) -> RunResult:
        """Run to ``until`` (or until all work is done) and build the trace (or, at
        trace level ``"metrics"``, compute the metrics).

        Args:
            progress: Show a tqdm progress bar: ``True`` for a new one, or a tqdm bar
                to drive (its description names the phase: simulating the arrival
                window, draining the work still running, building the trace).
        """
        if self._started:
            raise RuntimeError("a Simulation runs once; build a new one to run again")
        self._started = True
        for workload in self.workloads:
            for origin in self._origins(workload):
                self.env.process(self._source(workload, origin))
        if self.rebalancer is not None:
            self.rebalancer.start()
        if self.autoscaling is not None:
            self.autoscaling.start()
        # The trace grows by a few tuples per event and holds no reference cycles;
        # without this, Python's cyclic collector rescans it over and over and
        # costs more than the simulation itself on large runs.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            wall = time.perf_counter()
            if progress is True:
                from tqdm.auto import tqdm

                with tqdm(total=1, leave=False) as bar:
                    self._run_with_progress(bar)
            elif progress is not False and progress is not None:  # a bar to drive (tqdm may be falsy)
                self._run_with_progress(progress)
            elif self.until is None and self._has_background():
                self._run_until_idle()
            else:
                self.env.run(until=self.until)
            wall = time.perf_counter() - wall
            horizon = float(self.env.now if self.until is None else self.until)
            if self.store is not None:
                self.store.finish()
            manifest = run_manifest(
                self.seed, self.config, duration=self.duration, until=self.until,
                network=self.fidelity.value, placement=type(self.placement).__name__,
                placement_only_healthy=self.placement.only_healthy,
                scheduling=self.scheduling,
                truncated=self.executor.active > 0,
                rebalance=None if self.rebalancer is None else {
                    "interval": self.rebalancer.interval, "threshold": self.rebalancer.threshold},
                trace=self.trace_level.value,
                **{name: group.configuration() for name, group in self.settings.items()},
            )
            if self.trace_level is TraceLevel.FULL:
                return RunResult(self.recorder.build(self.topology, manifest, horizon), wall)
            metrics = self.recorder.metrics(self.topology, manifest, horizon)
            return RunResult(None, wall, {**manifest, "horizon": horizon}, metrics)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _run_with_progress(self, bar: Any) -> None:
        env = self.env
        end = self.until if self.until is not None else self.duration
        steps = 100
        bar.reset(total=steps)
        bar.set_description("simulating")
        for k in range(1, steps + 1):
            target = end * k / steps
            if target > env.now:
                env.run(until=target)
            bar.update(1)
        if self.until is None:
            bar.set_description("draining")
            executor = self.executor

            def tick() -> None:
                bar.set_postfix_str(f"t={env.now:.6g} s, {executor.active} workflows running")

            tick()
            if self._has_background():
                self._run_until_idle(tick)
            else:
                self._run_until_empty(tick)
        bar.set_description("building trace" if self.trace_level is TraceLevel.FULL else "computing metrics")
        bar.set_postfix_str("")

    def _run_until_empty(self, tick: Callable[[], None]) -> None:
        """``env.run()``, calling ``tick`` every few thousand events."""
        queue, step = self.env._queue, self.env.step
        n = 0
        while queue:
            step()
            n += 1
            if not n & _TICK_EVERY:
                tick()

    def _has_background(self) -> bool:
        """Whether periodic processes or scheduled health changes are pending."""
        return (self.rebalancer is not None or self.autoscaling is not None or bool(self._health_pending)
                or bool(self._background_sources))

    def _background(self) -> set[int]:
        """Ids of the scheduled events that alone never keep a run going."""
        out = {id(e) for e in self._health_pending}
        if self.rebalancer is not None and self.rebalancer.pending is not None:
            out.add(id(self.rebalancer.pending))
        if self.autoscaling is not None:
            out |= self.autoscaling.background()
        for pending in self._background_sources:
            out.update(id(e) for e in pending())
        return out

    def _run_until_idle(self, tick: Callable[[], None] | None = None) -> None:
        """Run until nothing but background events (the next rebalance or autoscaling
        tick, scale-ups being provisioned, scheduled health changes) is scheduled, so
        they do not extend the run (the horizon is the last real event). With
        autoscaling, also until no node has queued work (a queued task may be waiting
        for the next tick to scale its node up)."""
        env = self.env
        queue = env._queue  # SimPy's event heap: (time, priority, id, event)
        step = env.step
        nodes = self.nodes if self.autoscaling is not None else ()
        health = self._health_pending
        ticks = (self.rebalancer is not None) + (self.autoscaling is not None)
        provisioning = self.autoscaling.provisioning if self.autoscaling is not None else {}
        sources = self._background_sources
        n = 0
        while queue:
            n += 1
            if tick is not None and not n & _TICK_EVERY:
                tick()
            # Cheap test first: only background events left means few events left.
            if len(queue) <= ticks + len(health) + len(provisioning) + sum(len(p()) for p in sources):
                background = self._background()
                if (all(id(item[3]) in background for item in queue)
                        and not any(node.queue for node in nodes)):
                    break
            step()
