"""Task migration and periodic rebalancing (the seed's ``MigrationManager``, part 4).

Both **queued** tasks (ready at a node, all inputs there, not started) and
**running** tasks migrate; a running task is moved by checkpoint and restart: it is
stopped on the source with its progress saved
(:meth:`~wfsim.engine.node.NodeRuntime.checkpoint`), its state crosses the network,
and it resumes with the work it had left on the target
(:meth:`~wfsim.engine.node.NodeRuntime.resume`). Work done before the checkpoint is
never redone and the task never holds cores on two nodes. :class:`TaskMigration`
describes the phases, :class:`MigrationManager` which requests it accepts, and
:class:`Rebalancer` the periodic rebalancing. Every phase change is recorded in the
trace's ``migrations`` table, so P24 and P25 can be checked from a saved run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, cast

import simpy

from wfsim.engine.cluster import Cluster
from wfsim.engine.network import Network
from wfsim.engine.node import NodeRuntime, task_rate
from wfsim.model.enums import (
    ALLOWED_PHASES,
    MIGRATION_TERMINAL,
    HealthStatus,
    MigrationState,
    MigrationTrigger,
    Tier,
)
from wfsim.model.parameters import Tunable, param
from wfsim.trace.recorder import TraceRecorder

if TYPE_CHECKING:
    from wfsim.engine.executor import WorkflowRun


_STATE_CODE = {s: i for i, s in enumerate(MigrationState)}
_TRIGGER_CODE = {t: i for i, t in enumerate(MigrationTrigger)}


@dataclass(eq=False)
class TaskMigration:
    """One migration of a queued or running task from ``source`` to ``target`` (node
    indices).

    A migration goes through the phases of the seed's ``MigrationState``::

        Preparing → Transferring → Activating → Completed      (or Failed / Canceled)

    * **Preparing**: a queued task is taken out of its source node's queue
      (:meth:`~wfsim.policies.scheduling.SchedulingPolicy.remove`) and the source's
      reservation of its work is released; a running task is checkpointed (a
      ``checkpointed`` task event; its cores and memory are released at once).
    * **Transferring**: the task's state — its input bytes: the sum of its incoming edge
      bytes, or the workflow's input for a root, plus, for a running task, its memory
      (the checkpoint image) — times ``overhead_factor`` is sent over
      the simulated network from source to target (so on an idle FastNetwork it takes
      ``latency + bytes × overhead / bandwidth``). Meanwhile the task is owned by the
      migration: it is in no queue and the executor never touches it (all its inputs
      have already arrived, so nothing else submits it).
    * **Activating**: the work is reserved on the target, ``run.node_of[task]`` becomes
      the target (its successors fetch its outputs from there) and the task is submitted
      to the target's queue (a checkpointed task with the work it had left, recorded
      ``ready`` there); then **Completed**.
    * **Failed**: the target is unreachable when the transfer starts (routes are fixed
      when a transfer starts, so a link failing later does not affect data in flight),
      or it crashed (``up`` is False) when the state arrives.
      **Canceled**: :meth:`MigrationManager.cancel` during the transfer. In both cases
      the source kept its copy, so the task goes straight back to the *end* of the
      source's queue (it loses its place under FIFO) and its work is reserved there
      again (a checkpointed task resumes there from its checkpoint); the late
      transfer, if any, is ignored.

    So at every instant a task is in exactly one place — its source queue, in flight
    (owned by the migration), or its target queue — and it starts at most once.
    """

    id: int
    run: WorkflowRun
    task: int
    source: int
    target: int
    trigger: MigrationTrigger
    nbytes: float
    benefit: float
    cost: float
    requested: float
    state: MigrationState | None = None
    finished: float | None = None
    #: Ops the task had left when it was checkpointed; None for a queued task.
    work_left: float | None = None


class Rejection(NamedTuple):
    """A refused migration request."""

    time: float
    workflow: int
    task: int
    source: int
    target: int
    trigger: MigrationTrigger
    reason: str


@dataclass(frozen=True)
class MigrationSettings(Tunable):
    """How the :class:`MigrationManager` moves tasks (YAML: the ``rebalance:`` group's
    ``max_concurrent``, ``overhead`` and ``benefit_weight``)."""

    name = "migration"
    max_concurrent: int = param(4, low=1, high=32, doc="migrations in progress at once")
    overhead: float = param(1.2, low=1.0, high=2.0, doc="state transfer overhead factor")
    benefit_weight: float = param(1.0, low=0.0, high=10.0,
                                  doc="weight of the wait saved against the transfer time")


@dataclass(frozen=True)
class RebalanceSettings(Tunable):
    """Periodic rebalancing (:class:`Rebalancer`; YAML: the ``rebalance:`` group's
    ``interval`` and ``threshold``)."""

    name = "rebalance"
    interval: float = param(30.0, low=1e-3, doc="seconds between rebalancing rounds")
    threshold: float = param(0.3, low=1e-3, doc="imbalance (max − min)/min above which a round moves work")


class MigrationManager:
    """Moves queued and running tasks between nodes.

    **Requests** (:meth:`MigrationManager.request`) are rejected, with a reason appended
    to :attr:`MigrationManager.rejections`, when ``max_concurrent`` migrations are in
    progress (the seed's ``MigrationLimitExceeded``), the task is already migrating
    (``AlreadyInProgress``), the target is the source, the target cannot run it
    (capacity, location requirement or privacy: it is not among
    :meth:`Cluster.candidates <wfsim.engine.cluster.Cluster.candidates>`;
    ``IncompatibleTarget``), the migration is not worth it, or the task is neither
    queued nor running on its node (or is running with no work left).

    **Cost–benefit** (new; the seed migrates whatever it is asked to): the benefit of
    moving a queued task is the source's backlog wait minus the target's, a backlog wait
    being ``outstanding_ops / (speed × capacity)`` seconds; for a running task it is the
    time its remaining work needs on the source minus the target's backlog wait plus the
    time that work needs on the target. The cost is the unloaded transfer-time estimate of the
    state (``latency + bytes × overhead / bottleneck bandwidth``). A migration goes
    ahead only if ``benefit_weight × benefit > cost`` (``benefit_weight`` λ in [0, 10],
    default 1; 0 refuses every migration that is not forced). ``force=True`` skips the
    rule (a user request that must happen).

    Args:
        env, cluster, network, recorder: The simulation's parts.
        settings: Concurrency cap, transfer overhead and cost–benefit weight.

    Attributes:
        active: Migrations in progress, by ``(workflow id, task)``.
        history: Every migration started, in order.
        rejections: Every refused request, with its reason.
        peak_active: Largest number of migrations in progress at once.
    """

    def __init__(self, env: simpy.Environment, cluster: Cluster, network: Network, recorder: TraceRecorder,
                 settings: MigrationSettings = MigrationSettings()) -> None:
        self.env = env
        self.cluster = cluster
        self.nodes = cluster.nodes
        self.network = network
        self.recorder = recorder
        self.settings = settings
        self.max_concurrent = settings.max_concurrent
        self.overhead_factor = settings.overhead
        self.benefit_weight = settings.benefit_weight
        self.active: dict[tuple[int, int], TaskMigration] = {}
        self.history: list[TaskMigration] = []
        self.rejections: list[Rejection] = []
        self.peak_active = 0
        #: Called with every migration that reaches a terminal phase.
        self.listeners: list[Callable[[TaskMigration], None]] = []

    # --- estimates ---------------------------------------------------------------
    @staticmethod
    def state_bytes(run: WorkflowRun, task: int, running: bool = False) -> float:
        """Bytes of a task's state: its inputs (the workflow input for a root), plus
        its memory when it is ``running`` (the checkpoint image)."""
        spec = run.spec
        preds = spec.predecessors[task]
        image = spec.tasks[task].memory if running else 0.0
        if not preds:
            return float(spec.input_bytes) + image
        edge_bytes = spec.edge_bytes
        return float(sum(edge_bytes[(p, task)] for p in preds)) + image

    def _running(self, run: WorkflowRun, task: int) -> bool:
        src = run.node_of[task]
        return src >= 0 and (run.id, task) in self.nodes[src].executions

    @staticmethod
    def backlog_wait(node: NodeRuntime) -> float:
        """Seconds of work placed on ``node`` and not finished, at full speed on all cores."""
        return node.outstanding_ops / (node.spec.speed * node.capacity)

    def evaluate(self, run: WorkflowRun, task: int, target: int) -> tuple[float, float]:
        """``(benefit, cost)`` in seconds of moving the task from where it is to ``target``.

        The benefit of moving a queued task is the backlog wait it leaves minus the
        one it joins; for a running task it is the time its remaining work needs
        here minus the target's backlog wait plus the time the same work needs there.
        """
        source = run.node_of[task]
        src, dst = self.nodes[source], self.nodes[target]
        running = self._running(run, task)
        if running:
            spec = run.spec.tasks[task]
            left = src.remaining_work(run, task) or 0.0
            benefit = (left / task_rate(src.spec.speed, spec, spec.cores)
                       - self.backlog_wait(dst) - left / task_rate(dst.spec.speed, spec, spec.cores))
        else:
            benefit = self.backlog_wait(src) - self.backlog_wait(dst)
        nbytes = self.state_bytes(run, task, running)
        cost = self.network.estimate(source, target, nbytes * self.overhead_factor)
        return benefit, cost

    def worth_it(self, run: WorkflowRun, task: int, target: int) -> bool:
        """The cost–benefit rule: ``benefit_weight × benefit > cost``."""
        benefit, cost = self.evaluate(run, task, target)
        return self.benefit_weight * benefit > cost

    # --- requests ----------------------------------------------------------------
    def request(self, run: WorkflowRun, task: int, target: NodeRuntime | int,
                trigger: MigrationTrigger = MigrationTrigger.USER_REQUEST, *,
                force: bool = False) -> TaskMigration | None:
        """Start migrating queued or running task ``task`` of ``run`` to ``target``;
        None (and a :class:`Rejection`) if refused. ``force`` skips the cost–benefit
        rule."""
        dst = target if isinstance(target, int) else target.index
        src = run.node_of[task]
        trigger = MigrationTrigger(trigger)

        def reject(reason: str) -> None:
            self.rejections.append(Rejection(self.env.now, run.id, task, src, dst, trigger, reason))

        if len(self.active) >= self.max_concurrent:
            reject(f"migration limit exceeded ({self.max_concurrent} in progress)")
            return None
        if (run.id, task) in self.active:
            reject("already migrating")
            return None
        if not 0 <= dst < len(self.nodes):
            reject(f"unknown target node {dst}")
            return None
        if src < 0:
            reject("task not placed")
            return None
        if dst == src:
            reject("target is the source")
            return None
        node = self.nodes[dst]
        if node not in self.cluster.candidates(run.spec.tasks[task], run.origin):
            reject(f"incompatible target {node.spec.id!r}")
            return None
        benefit, cost = self.evaluate(run, task, dst)
        if not force and not self.benefit_weight * benefit > cost:
            reject(f"not worth it: {self.benefit_weight:g} x benefit {benefit:.6g} s <= cost {cost:.6g} s")
            return None
        source = self.nodes[src]
        running = self._running(run, task)
        if running:
            if not (source.remaining_work(run, task) or 0.0) > 0:  # (None: not running, ruled out above)
                reject("task is finishing (no work left)")
                return None
        elif not source.queue.remove(run, task):
            reject("task neither queued nor running")
            return None
        now = self.env.now
        mig = TaskMigration(len(self.history), run, task, src, dst, trigger,
                        self.state_bytes(run, task, running), benefit, cost, now)
        self.history.append(mig)
        self.active[(run.id, task)] = mig
        self.peak_active = max(self.peak_active, len(self.active))
        # Preparing: out of the source queue (done above), source reservation released;
        # or, running, checkpointed (which releases both).
        self._phase(mig, MigrationState.PREPARING)
        if running:
            mig.work_left = source.checkpoint(run, task)
        else:
            source.reserve(-run.work_of(task))
        # Transferring: the state crosses the network.
        self._phase(mig, MigrationState.TRANSFERRING)
        if not self.network.send(src, dst, mig.nbytes * self.overhead_factor, self._arrived, mig):
            self._back_to_source(mig, MigrationState.FAILED)
        return mig

    def cancel(self, mig: TaskMigration) -> bool:
        """Cancel a migration still transferring: the task goes back to its source
        queue at once. False if it already ended."""
        if mig.state is not MigrationState.TRANSFERRING:
            return False
        self._back_to_source(mig, MigrationState.CANCELED)
        return True

    # --- internals ---------------------------------------------------------------
    def _phase(self, mig: TaskMigration, state: MigrationState) -> None:
        if state not in ALLOWED_PHASES[mig.state]:  # pragma: no cover - internal contract
            raise RuntimeError(f"migration {mig.id}: illegal phase {mig.state} -> {state}")
        mig.state = state
        now = self.env.now
        if state in MIGRATION_TERMINAL:
            mig.finished = now
            del self.active[(mig.run.id, mig.task)]
        self.recorder.record_migration((now, mig.id, mig.run.id, mig.task, mig.source, mig.target,
                                        _STATE_CODE[state], _TRIGGER_CODE[mig.trigger]))
        if state in MIGRATION_TERMINAL:
            for listener in self.listeners:
                listener(mig)

    def _back_to_source(self, mig: TaskMigration, state: MigrationState) -> None:
        self._phase(mig, state)
        run, task = mig.run, mig.task
        source = self.nodes[mig.source]
        if mig.work_left is not None:
            source.resume(run, task, mig.work_left)
            return
        source.reserve(run.work_of(task))
        source.submit(run, task)

    def _arrived(self, mig: TaskMigration) -> None:
        if mig.state is not MigrationState.TRANSFERRING:
            return  # canceled meanwhile: the task is back at its source
        if not self.nodes[mig.target].up:  # the target crashed meanwhile: the source kept its copy
            self._back_to_source(mig, MigrationState.FAILED)
            return
        self._phase(mig, MigrationState.ACTIVATING)
        run, task = mig.run, mig.task
        target = self.nodes[mig.target]
        run.node_of[task] = mig.target
        if mig.work_left is not None:
            self._phase(mig, MigrationState.COMPLETED)
            target.resume(run, task, mig.work_left)
            return
        target.reserve(run.work_of(task))
        self._phase(mig, MigrationState.COMPLETED)
        target.submit(run, task)


class Evacuator:
    """Moves work off nodes taken out of service (trigger ``AvailabilityRisk``) or
    degraded (trigger ``PerformanceDegradation``): see :meth:`evacuate`.

    Attributes:
        draining: The nodes being evacuated (index → the trigger their migrations carry).
    """

    def __init__(self, manager: MigrationManager) -> None:
        self.manager = manager
        self.draining: dict[int, MigrationTrigger] = {}
        self._moving = False
        manager.listeners.append(self._on_finished)

    def evacuate(self, node: NodeRuntime,
                 trigger: MigrationTrigger = MigrationTrigger.AVAILABILITY_RISK) -> int:
        """Migrate what waits or runs on ``node`` elsewhere, forced (no cost–benefit
        test) with ``trigger``: queued tasks first, in queue order, then running ones,
        most work left first (checkpointed, they keep their progress), each to the
        candidate (:meth:`Cluster.candidates
        <wfsim.engine.cluster.Cluster.candidates>`, so never a drained node; only
        ``Healthy`` ones for ``PerformanceDegradation``) where it would start soonest:
        least backlog wait plus state transfer estimate.

        What the concurrency cap refuses now is retried whenever a migration ends,
        until :meth:`stop` (the simulation calls it when the node's health changes
        again). Meanwhile the node drains as usual: it still starts queued tasks on
        cores that free up, so a task with no other candidate finishes where it is.

        Returns:
            The number of migrations started now.
        """
        self.draining[node.index] = MigrationTrigger(trigger)
        return self._move_off(node)

    def stop(self, node: NodeRuntime) -> None:
        """Stop evacuating ``node``."""
        self.draining.pop(node.index, None)

    def _move_off(self, node: NodeRuntime) -> int:
        if self._moving:  # a migration that failed at once ends inside request()
            return 0
        manager = self.manager
        now = manager.env.now
        # Queued work first: checkpointing a running task frees cores, and the node
        # would start its queue's head on them only to checkpoint it in turn.
        running = sorted(node.executions.values(), key=lambda ex: -ex.left(now))
        queued = cast("list[tuple[WorkflowRun, int]]", node.queue.items())  # this run's instances
        work = queued + [(ex.run, ex.task) for ex in running]
        started = 0
        self._moving = True
        try:
            for run, task in work:
                if len(manager.active) >= manager.max_concurrent:
                    break
                if (run.id, task) in manager.active or node.remaining_work(run, task) == 0.0:
                    continue
                trigger = self.draining[node.index]
                target = self._target(run, task, node, trigger)
                if target is None:
                    continue
                if manager.request(run, task, target, trigger, force=True) is not None:
                    started += 1
        finally:
            self._moving = False
        return started

    def _target(self, run: WorkflowRun, task: int, node: NodeRuntime,
                trigger: MigrationTrigger) -> NodeRuntime | None:
        manager = self.manager
        healthy_only = trigger is MigrationTrigger.PERFORMANCE_DEGRADATION
        nbytes = manager.state_bytes(run, task, manager._running(run, task)) * manager.overhead_factor
        estimate = manager.network.estimate
        best, best_time = None, float("inf")
        for candidate in manager.cluster.candidates(run.spec.tasks[task], run.origin):
            if candidate is node or (healthy_only and candidate.health is not HealthStatus.HEALTHY):
                continue
            start = manager.backlog_wait(candidate) + estimate(node.index, candidate.index, nbytes)
            if start < best_time:
                best, best_time = candidate, start
        return best

    def _on_finished(self, mig: TaskMigration) -> None:
        for index in list(self.draining):
            node = self.manager.nodes[index]
            if node.executions or node.queue:
                self._move_off(node)


class Move(NamedTuple):
    """One task moved by a rebalance round, with the loads it was decided on."""

    time: float
    workflow: int
    task: int
    source: int
    target: int
    source_load: float
    target_load: float
    average: float
    imbalance: float


class Rebalancer:
    """Periodic load rebalancing through a :class:`MigrationManager`. Driven by plain
    timeout callbacks; :attr:`pending` is the next tick.

    Off unless enabled (``Simulation(..., rebalance=RebalanceSettings())``). Every
    ``interval`` seconds, for each tier separately, the load of a node is ``(queued + running tasks) / capacity`` (its
    current cores, which autoscaling changes); when the imbalance ``(max − min) / min``
    (infinite when min = 0 < max) exceeds ``threshold`` (the seed's 0.3), queued tasks
    move, through the manager with trigger ``LoadImbalance``, among the nodes of a tier
    other than LocalDevice (devices are private), from nodes above ``1.2 × average``
    (until they are down to the seed's target ``1.1 × average``) to **Healthy** nodes
    below ``0.8 × average`` (a target takes a task only while its load stays ≤
    ``0.9 × average``). Every node of the tier counts in the loads, whatever its health,
    so work also moves off a node being drained. Tasks in flight count on their target.
    The loads are those at the start of the round, updated as tasks move; every move is
    appended to :attr:`Rebalancer.moves` with the loads it was decided on. Every round
    records, for every tier it examines, one ``(time, node, load)`` row per node with the
    loads it decided on (the trace's ``rebalances`` table), so P25
    (``rebalance-threshold``, ``rebalance-direction`` in :mod:`wfsim.verify.catalog`)
    can be checked from a saved run. The seed's ``rebalance()`` only logged (overview §6
    defect 14); here work really moves. The periodic process never extends a run: a run
    without ``until`` ends at the last event other than a pending rebalance tick.

    Args:
        env: The simulation's environment.
        manager: Starts (and may refuse) the migrations.
        settings: The round interval and the imbalance threshold.
        record: Receives, every round and for every tier examined, the flat rows
            ``time, node index, load`` of the tier's nodes (the trace recorder's
            ``record_rebalance``); None records nothing.

    Attributes:
        moves: Every migration a round started.
        rounds: ``(time, tier, imbalance, average)`` of every round that found an
            imbalance above the threshold.
    """

    OVER, UNDER, TARGET, FILL = 1.2, 0.8, 1.1, 0.9

    def __init__(self, env: simpy.Environment, manager: MigrationManager,
                 settings: RebalanceSettings = RebalanceSettings(),
                 record: Callable[[Iterable[float]], None] | None = None) -> None:
        self.env = env
        self.manager = manager
        self.settings = settings
        self.interval = settings.interval
        self.threshold = settings.threshold
        self.record = record
        self.moves: list[Move] = []
        self.rounds: list[tuple[float, str, float, float]] = []
        tiers: dict[str, list[NodeRuntime]] = {}
        for node in manager.nodes:
            if node.spec.tier is Tier.LOCAL_DEVICE:
                continue  # private: a device only runs its own user's tasks
            tiers.setdefault(node.spec.tier.value, []).append(node)
        self._tiers = [(tier, nodes) for tier, nodes in tiers.items() if len(nodes) > 1]
        self.pending: simpy.Event | None = None

    def start(self) -> None:
        """Schedule the first tick, ``interval`` from now."""
        self.pending = self.env.timeout(self.interval)
        self.pending.callbacks.append(self._tick)

    def _tick(self, _event: simpy.Event) -> None:
        self.rebalance()
        self.start()

    @staticmethod
    def load(node: NodeRuntime) -> float:
        """Queued plus running tasks per core of the node's current ``capacity``
        (which autoscaling changes)."""
        return (len(node.queue) + node.running) / node.capacity

    def rebalance(self) -> int:
        """One round now; returns the number of migrations started."""
        manager = self.manager
        now = self.env.now
        started = 0
        incoming: dict[int, int] = {}
        for mig in manager.active.values():
            incoming[mig.target] = incoming.get(mig.target, 0) + 1
        for tier, nodes in self._tiers:
            loads = {n.index: self.load(n) + incoming.get(n.index, 0) / n.capacity for n in nodes}
            if self.record is not None:
                self.record([x for n in nodes for x in (now, n.index, loads[n.index])])
            hi, lo = max(loads.values()), min(loads.values())
            if hi <= 0:
                continue
            imbalance = float("inf") if lo <= 0 else (hi - lo) / lo
            if not imbalance > self.threshold:
                continue
            avg = sum(loads.values()) / len(loads)
            self.rounds.append((now, tier, imbalance, avg))
            over = sorted((n for n in nodes if loads[n.index] > self.OVER * avg),
                          key=lambda n: -loads[n.index])
            # Only Healthy nodes receive work (the seed's load balancer rule).
            under = sorted((n for n in nodes if loads[n.index] < self.UNDER * avg
                            and n.health is HealthStatus.HEALTHY),
                           key=lambda n: loads[n.index])
            if not over or not under:
                continue
            initial = dict(loads)
            for src in over:
                # Newest first: the tasks that would wait longest where they are.
                queued = cast("list[tuple[WorkflowRun, int]]", src.queue.items())  # this run's instances
                for run, task in reversed(queued):
                    if loads[src.index] <= self.TARGET * avg or len(manager.active) >= manager.max_concurrent:
                        break
                    candidates = manager.cluster.candidates(run.spec.tasks[task], run.origin)
                    for dst in under:
                        if dst not in candidates:
                            continue
                        cores = dst.capacity
                        if loads[dst.index] + 1 / cores > self.FILL * avg:
                            continue
                        if manager.request(run, task, dst, MigrationTrigger.LOAD_IMBALANCE) is None:
                            continue
                        self.moves.append(Move(now, run.id, task, src.index, dst.index, initial[src.index],
                                               initial[dst.index], avg, imbalance))
                        loads[src.index] -= 1 / src.capacity
                        loads[dst.index] += 1 / cores
                        started += 1
                        break
        return started
