"""A node at run time: a ledger of cores and memory, a ready queue, running executions."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import simpy

from wfsim.model.enums import HealthStatus
from wfsim.model.events import CANCELLED, CHECKPOINTED, END, LOST, READY, START
from wfsim.model.topology import Node
from wfsim.model.workflow import Task
from wfsim.policies.scheduling import SchedulingPolicy

if TYPE_CHECKING:
    from wfsim.engine.executor import WorkflowRun


def allocate(available: float, recommended: float, minimum: float) -> float:
    """The seed's allocation rule for one resource kind:
    ``max(min(available, recommended), minimum)``.

    A task gets what it recommends when that much is free, else whatever is free,
    but never less than its minimum (the caller starts it only once the minimum is
    free, so the allocation never exceeds what is available).
    """
    return max(min(available, recommended), minimum)


def task_rate(speed: float, spec: Task, cores: int) -> float:
    """Ops/s of ``spec`` holding ``cores`` cores on a node of ``speed`` ops/s per core:
    ``speed × spec.cores × (cores / spec.cores) ** spec.scalability`` (linear in
    ``cores`` for the default scalability 1)."""
    if cores == spec.cores or spec.scalability == 1.0:
        return speed * cores
    # typeshed types float ** float as Any (a negative base gives a complex); the base is > 0.
    return speed * spec.cores * (cores / spec.cores) ** spec.scalability  # type: ignore[no-any-return]


#: What a node calls when one of its tasks ends: ``(run, task index, node, duration)``.
OnEnd = Callable[["WorkflowRun", int, "NodeRuntime", float], None]


def _not_wired(run: WorkflowRun, task: int, node: NodeRuntime, duration: float) -> None:
    """The ``on_end`` of a node nobody wired to an executor."""
    raise RuntimeError(f"node {node.spec.id!r}: a task ended, but no on_end was set to hear it")


class LostTask(NamedTuple):
    """A task a crash took from its node (see :meth:`NodeRuntime.crash`).

    Attributes:
        run, task: The workflow instance and task index.
        work: Ops the lost execution was to do (what it started with, or what was
            reserved for a queued task).
        done: Ops it had done when the node crashed (0 for a queued task).
        saved: Ops done up to its last checkpoint (<= ``done``): a retry redoes only
            ``work - saved``, and ``done - saved`` is the work lost.
    """

    run: WorkflowRun
    task: int
    work: float
    done: float
    saved: float


class TaskExecution:
    """One task running on a node: what it holds and how far it has got.

    Attributes (read-only outside the node):
        run, task: The workflow instance and task index.
        spec: The task's specification.
        cores, memory: The current allocation.
        work: Ops this execution was started with (the whole task, or what was
            left at a checkpoint).
        remaining: Ops left at time ``since``.
        since: When ``remaining`` and ``rate`` were last updated.
        rate: Ops/s at the current allocation.
        started: When this execution started.
        busy: Core-seconds held before ``since``.
        event: The pending completion; a superseded one (after a resize or a
            checkpoint) is ignored when it fires.
    """

    __slots__ = ("run", "task", "spec", "cores", "memory", "work", "remaining", "since", "rate",
                 "started", "busy", "event")

    def __init__(self, run: WorkflowRun, task: int, spec: Task, cores: int, memory: float, work: float,
                 now: float, rate: float) -> None:
        self.run = run
        self.task = task
        self.spec = spec
        self.cores = cores
        self.memory = memory
        self.work = work
        self.remaining = work
        self.since = now
        self.rate = rate
        self.started = now
        self.busy = 0.0
        self.event: simpy.Event | None = None

    def left(self, now: float) -> float:
        """Ops still to do at ``now``."""
        return max(0.0, self.remaining - self.rate * (now - self.since))

    def __repr__(self) -> str:
        return f"TaskExecution({self.run.id}/{self.spec.id}, cores={self.cores}, remaining={self.remaining:g})"


class NodeRuntime:
    """Runs tasks on one node.

    Tasks start in the order of the node's
    :class:`~wfsim.policies.scheduling.SchedulingPolicy`, as soon as the head of the
    queue's minimum (``min_cores``, ``min_memory``) is free; it is then allocated
    :func:`allocate` of each kind and runs at :func:`task_rate` of its cores (a rigid
    task, the default, holds ``task.cores`` cores and ``task.memory`` bytes for
    ``work / (speed * cores)`` seconds). One SimPy event per task execution: the
    completion timeout.

    While it runs a task is an :class:`TaskExecution` in :attr:`executions`. An *elastic*
    task started with fewer cores than recommended grows into cores nobody queued
    wants (when the queue is empty), and :meth:`adjust` resizes it on request; either
    way the work left is re-timed at the new rate. :meth:`checkpoint` stops a
    running task, saving its progress, for migration. Allocations that differ from a
    task's spec are recorded in the trace's ``allocations`` table.

    Attributes (read-only for strategies):
        index: Position of the node in the topology.
        spec: The static :class:`~wfsim.model.topology.Node`.
        free_cores, free_memory: What is not held by running tasks.
        running: Number of running tasks.
        outstanding_ops: Work (ops) placed here and not yet finished (tasks waiting for
            inputs, queued or running): the backlog estimate placement uses.
        busy_core_seconds: Core-seconds held by executions that ended or were
            checkpointed.
        executions: The running tasks, :class:`TaskExecution` s by ``(workflow id,
            task index)``.
        health: The node's :class:`~wfsim.model.enums.HealthStatus`.
        capacity: Current core capacity: ``free_cores + allocated cores`` at every
            instant (so ``free_cores >= 0`` and allocated ``<= capacity`` always).
            ``spec.cores`` is the capacity provisioned at the start of the run (the
            trace's ``nodes.cores``) and stays the size placement checks tasks against
            (:meth:`fits`); only :meth:`resize` changes ``capacity``.
        target: The capacity last asked for by :meth:`resize` (``spec.cores`` until
            then). ``capacity > target`` while a scale-down drains (see :meth:`resize`).
        on_capacity: Called with the node after every change of ``capacity`` (the
            autoscaling loop records it in the trace); None: nobody listens.

    Capacity changes (:meth:`resize`) cost nothing on the per-task path: while no
    scale-down is draining, :attr:`dispatch` is the plain :meth:`_dispatch`.
    """

    __slots__ = (
        "env", "index", "spec", "queue", "free_cores", "free_memory", "running",
        "outstanding_ops", "busy_core_seconds", "on_end", "_record", "_rate",
        "capacity", "target", "on_capacity", "dispatch", "_excess", "health",
        "executions", "_growable", "_record_allocation", "up", "crashes", "checkpoint_period",
    )

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        spec: Node,
        queue: SchedulingPolicy,
        record: Callable[[tuple], None],
        on_end: OnEnd | None = None,
        record_allocation: Callable[[tuple], None] | None = None,
    ) -> None:
        self.env = env
        self.index = index
        self.spec = spec
        self.queue = queue
        self.free_cores = spec.cores
        self.free_memory = spec.memory
        self.running = 0
        self.outstanding_ops = 0.0
        self.busy_core_seconds = 0.0
        self._record = record
        # The simulation wires it after building the executor, which needs the nodes.
        self.on_end: OnEnd = _not_wired if on_end is None else on_end
        self._rate = spec.speed
        self.capacity = spec.cores
        self.target = spec.cores
        self.on_capacity: Callable[[NodeRuntime], None] | None = None
        self._excess = 0
        # Set by the simulation (Simulation.set_health).
        self.health = HealthStatus.HEALTHY
        #: False while the node is crashed (a fault): it runs nothing, sends no
        #: heartbeats and forwards no traffic. Health is what the system believes.
        self.up = True
        #: How many times the node crashed (:meth:`crash`).
        self.crashes = 0
        #: Seconds of execution between a running task's checkpoints, their cost
        #: included (0: tasks are not checkpointed); see :meth:`set_checkpointing`.
        self.checkpoint_period = 0.0
        self.executions: dict[tuple[int, int], TaskExecution] = {}
        # Elastic executions holding fewer cores than recommended, in start order.
        self._growable: list[TaskExecution] = []
        self._record_allocation = record_allocation if record_allocation is not None else (lambda row: None)
        #: Start queued tasks, in the policy's order, while the next one fits
        #: (:meth:`_dispatch`, or :meth:`_dispatch_draining` during a scale-down).
        self.dispatch: Callable[[], None] = self._dispatch
        queue.bind(self)

    def fits(self, cores: int, memory: float) -> bool:
        """Whether a task needing at least this much could ever run here."""
        return cores <= self.spec.cores and memory <= self.spec.memory

    def reserve(self, ops: float) -> None:
        """Count work placed here whose inputs are still on their way (or, with a
        negative ``ops``, forget it again) in :attr:`outstanding_ops`."""
        self.outstanding_ops += ops

    def submit(self, run: WorkflowRun, task: int) -> None:
        """Queue a ready task (its work already reserved); it starts now if nothing is
        ahead of it and it fits."""
        spec = run.spec.tasks[task]
        if not self.queue and spec.min_cores <= self.free_cores and spec.min_memory <= self.free_memory:
            self._start(run, task, spec)
        else:
            self.queue.push(run, task)
            self.dispatch()  # under a non-FIFO policy the newcomer may be the new head

    def resize(self, cores: int) -> None:
        """Change the core capacity to ``cores`` (>= 1; the caller enforces its own
        ``min_cores``/``max_cores`` bounds).

        * **Up** (``cores >= capacity``): the new cores are free at once, any draining
          scale-down is called off, and queued tasks that now fit start
          (:attr:`dispatch`).
        * **Down** (``cores < capacity``): free cores are removed at once, down to
          ``cores`` or to the cores currently allocated, whichever is more. The rest
          (the *excess*) is removed as running tasks release cores: every core a task
          frees goes to the excess first, before any queued task may use it. So the
          capacity never falls below the allocated cores, ``free_cores`` never goes
          negative, ``free_cores + allocated == capacity`` at every instant, and after
          a scale-down no task starts until the capacity has come down to ``cores``.

        Each actual change of :attr:`capacity` calls :attr:`on_capacity`. Memory is
        not scaled.
        """
        cores = int(cores)
        if cores < 1:
            raise ValueError(f"{self.spec.id}: capacity must be >= 1 core, got {cores}")
        self.target = cores
        if cores >= self.capacity:
            self._excess = 0
            self.dispatch = self._dispatch
            if cores > self.capacity:
                self.free_cores += cores - self.capacity
                self.capacity = cores
                if self.on_capacity is not None:
                    self.on_capacity(self)
            self.dispatch()
            if self._growable and not self.queue:
                self._grow()
        else:
            self._excess = self.capacity - cores
            self.dispatch = self._dispatch_draining
            self._absorb()

    def _absorb(self) -> None:
        """Remove free cores that a draining scale-down still wants."""
        take = min(self._excess, self.free_cores)
        if take > 0:
            self.free_cores -= take
            self.capacity -= take
            self._excess -= take
            if self.on_capacity is not None:
                self.on_capacity(self)
        if not self._excess:
            self.dispatch = self._dispatch

    def _dispatch_draining(self) -> None:
        self._absorb()
        self._dispatch()

    def _dispatch(self) -> None:
        """Start queued tasks, in the policy's order, while the next one's minimum fits."""
        queue = self.queue
        head_run: WorkflowRun  # the queue holds this run's instances (typed as the view policies read)
        while queue:
            head_run, head_task = queue.peek()  # type: ignore[assignment]
            head = head_run.spec.tasks[head_task]
            if head.min_cores > self.free_cores or head.min_memory > self.free_memory:
                break
            queue.pop()
            self._start(head_run, head_task, head)

    def _start(self, run: WorkflowRun, task: int, spec: Task) -> None:
        cores = spec.cores
        memory = spec.memory
        env = self.env
        now = env.now
        if cores > self.free_cores or memory > self.free_memory:
            # Only a task whose minimum is below its recommendation gets here.
            cores = int(allocate(self.free_cores, spec.cores, spec.min_cores))
            memory = allocate(self.free_memory, spec.memory, spec.min_memory)
            self._record_allocation((now, run.id, task, self.index, cores, memory))
        self.free_cores -= cores
        self.free_memory -= memory
        self.running += 1
        self._record((now, run.id, task, START, self.index))
        work = spec.work if run.work is None else run.work[task]
        ex = TaskExecution(run, task, spec, cores, memory, work, now,
                       self._rate * cores if cores == spec.cores else task_rate(self._rate, spec, cores))
        self.executions[(run.id, task)] = ex
        if cores < spec.cores and spec.elastic:
            self._growable.append(ex)
        event = ex.event = env.timeout(work / ex.rate)
        event.callbacks.append(partial(self._end, ex))

    def _end(self, ex: TaskExecution, event: simpy.Event) -> None:
        if event is not ex.event:
            return  # superseded by a resize or a checkpoint
        now = self._release(ex, END)
        self.on_end(ex.run, ex.task, self, now - ex.started)

    def _release(self, ex: TaskExecution, code: int, hand_on: bool = True) -> float:
        """Stop ``ex`` (it ended, was checkpointed, lost or cancelled: the task event
        ``code``), give back exactly what it held, and (``hand_on``) hand the freed
        cores on; returns now."""
        run, task = ex.run, ex.task
        del self.executions[(run.id, task)]
        if ex.cores < ex.spec.cores and ex.spec.elastic:
            self._growable.remove(ex)
        now = self.env.now
        self.free_cores += ex.cores
        self.free_memory += ex.memory
        self.running -= 1
        self.outstanding_ops -= ex.work
        self.busy_core_seconds += ex.busy + ex.cores * (now - ex.since)
        self._record((now, run.id, task, code, self.index))
        if hand_on:
            # Queued work was waiting first, so it takes the freed cores (before the
            # executor releases successors that may land on this same node); elastic
            # tasks get what nobody queued wants.
            self.dispatch()
            if self._growable and not self.queue:
                self._grow()
        return now

    # --- elastic resizing and checkpoints -------------------------------------------
    def adjust(self, run: WorkflowRun, task: int, cores: int) -> bool:
        """Resize running elastic task ``task`` of ``run`` to ``cores`` cores, all or
        nothing (the seed's ``adjust_task_resources``).

        ``cores`` must be in ``[min_cores, cores]`` of the task's spec; a growth
        needs that many free cores. The work left is re-timed at the new rate.

        Returns:
            Whether the allocation changed.

        Raises:
            KeyError: The task is not running here.
            ValueError: The task is not elastic (the seed's ``ResourceNotAdjustable``)
                or ``cores`` is out of bounds.
        """
        ex = self.executions[(run.id, task)]
        spec = ex.spec
        if not spec.elastic:
            raise ValueError(f"task {spec.id!r} is not elastic: its allocation cannot change")
        if not spec.min_cores <= cores <= spec.cores:
            raise ValueError(f"task {spec.id!r}: cores must be in [{spec.min_cores}, {spec.cores}], got {cores}")
        if cores - ex.cores > self.free_cores:
            return False
        if cores == ex.cores:
            return False
        self._resize(ex, cores)
        # A shrink frees cores: a draining scale-down takes them first, then the
        # queue's head. (Cores still idle after that go back to elastic tasks, this
        # one included, at the next task end: growth is work-conserving.)
        self.dispatch()
        return True

    def _resize(self, ex: TaskExecution, cores: int) -> None:
        now = self.env.now
        was_growable = ex.cores < ex.spec.cores
        ex.remaining = ex.left(now)
        ex.busy += ex.cores * (now - ex.since)
        ex.since = now
        self.free_cores -= cores - ex.cores
        ex.cores = cores
        ex.rate = task_rate(self._rate, ex.spec, cores)
        self._record_allocation((now, ex.run.id, ex.task, self.index, cores, ex.memory))
        event = ex.event = self.env.timeout(ex.remaining / ex.rate)
        event.callbacks.append(partial(self._end, ex))
        if was_growable and cores == ex.spec.cores:
            self._growable.remove(ex)
        elif not was_growable and cores < ex.spec.cores:
            self._growable.append(ex)

    def _grow(self) -> None:
        """Give cores nobody queued wants to elastic tasks below their
        recommendation, oldest first."""
        for ex in list(self._growable):
            if self.free_cores <= 0:
                break
            self._resize(ex, ex.cores + min(self.free_cores, ex.spec.cores - ex.cores))

    def remaining_work(self, run: WorkflowRun, task: int) -> float | None:
        """Ops task ``task`` of ``run`` still has to do here, or None if it is not running here."""
        ex = self.executions.get((run.id, task))
        return None if ex is None else ex.left(self.env.now)

    def checkpoint(self, run: WorkflowRun, task: int) -> float:
        """Stop running task ``task`` of ``run`` now, keeping its progress: its cores
        and memory are released, its pending completion is dropped, and the trace
        gets a ``checkpointed`` event. The task is in no queue afterwards; the caller
        (a migration) owns it and must :meth:`resume` it somewhere.

        Returns:
            The ops it still has to do.

        Raises:
            KeyError: The task is not running here.
        """
        ex = self.executions[(run.id, task)]
        left = ex.left(self.env.now)
        ex.event = None  # its pending completion is now ignored
        self._release(ex, CHECKPOINTED)
        return left

    def resume(self, run: WorkflowRun, task: int, work: float) -> None:
        """Queue a checkpointed task here with ``work`` ops left: it is reserved,
        recorded ``ready`` and starts like any queued task."""
        if run.work is None:
            run.work = [t.work for t in run.spec.tasks]
        run.work[task] = work
        self.reserve(work)
        self._record((self.env.now, run.id, task, READY, self.index))
        self.submit(run, task)

    # --- faults ---------------------------------------------------------------------
    def set_checkpointing(self, interval: float, overhead: float = 0.0) -> None:
        """Checkpoint running tasks every ``interval`` seconds of computing, each
        checkpoint costing ``overhead`` seconds (0: no checkpoints).

        The cost is spread over the interval: a task progresses at
        ``interval / (interval + overhead)`` of its rate, so at every checkpoint
        instant (multiples of ``interval + overhead`` after its start) it has done
        exactly what ``interval`` seconds of computing per checkpoint do. Call it
        before any task starts.
        """
        if interval < 0 or overhead < 0:
            raise ValueError(f"checkpoint interval and overhead must be >= 0, got {interval}, {overhead}")
        self.checkpoint_period = interval + overhead if interval > 0 else 0.0
        self._rate = self.spec.speed * (interval / (interval + overhead) if interval > 0 else 1.0)

    def _saved(self, ex: TaskExecution, now: float) -> float:
        """Ops ``ex`` had done at its last checkpoint before ``now``."""
        period = self.checkpoint_period
        if not period:
            return 0.0
        at = ex.started + period * math.floor((now - ex.started) / period)
        done_at_since = ex.work - ex.remaining
        if at >= ex.since:
            return min(done_at_since + ex.rate * (at - ex.since), ex.work)
        # Resized after that checkpoint: its progress then is interpolated.
        return done_at_since * (at - ex.started) / (ex.since - ex.started)

    def crash(self) -> list[LostTask]:
        """The node stops (``up`` becomes False): it loses its queue and every running
        execution at once.

        Queued tasks are dropped and running ones released (their cores and memory
        given back), each recorded ``lost`` here; their reserved work is forgotten.
        Work on its way here (tasks waiting for inputs) stays reserved until the
        executor hears the inputs arrive. Nothing is dispatched. :meth:`recover`
        brings the node back, empty.

        Returns:
            What was lost, queued tasks first, with the work each saved at its last
            checkpoint (see :meth:`set_checkpointing`).
        """
        self.up = False
        self.crashes += 1
        now = self.env.now
        lost: list[LostTask] = []
        queued: list[tuple[WorkflowRun, int]] = self.queue.drain()  # type: ignore[assignment]
        for run, task in queued:
            work = run.work_of(task)
            self.outstanding_ops -= work
            self._record((now, run.id, task, LOST, self.index))
            lost.append(LostTask(run, task, work, 0.0, 0.0))
        for ex in list(self.executions.values()):
            done = ex.work - ex.left(now)
            saved = self._saved(ex, now)
            ex.event = None  # its pending completion is now ignored
            self._release(ex, LOST, hand_on=False)
            lost.append(LostTask(ex.run, ex.task, ex.work, done, saved))
        return lost

    def recover(self) -> None:
        """The node is back (``up``), empty, with all its cores; queued work starts
        as it arrives."""
        self.up = True

    def cancel(self, run: WorkflowRun, task: int) -> bool:
        """Stop task ``task`` of ``run`` here, running or queued, recording
        ``cancelled`` (a replica whose result is no longer needed): its cores and
        memory are released and its reserved work forgotten.

        Returns:
            Whether it was running or queued here.
        """
        ex = self.executions.get((run.id, task))
        if ex is not None:
            ex.event = None
            self._release(ex, CANCELLED)
            return True
        if self.queue.remove(run, task):
            self.outstanding_ops -= run.work_of(task)
            self._record((self.env.now, run.id, task, CANCELLED, self.index))
            return True
        return False

    def __repr__(self) -> str:
        return (f"NodeRuntime({self.spec.id!r}, free_cores={self.free_cores}/{self.capacity}, "
                f"queued={len(self.queue)})")
