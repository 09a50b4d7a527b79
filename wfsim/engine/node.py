"""A node at run time: a ledger of cores and memory and a ready queue."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

import simpy

from wfsim.model.enums import HealthStatus
from wfsim.model.topology import Node
from wfsim.model.workflow import Task
from wfsim.policies.scheduling import SchedulingPolicy
from wfsim.trace.recorder import END, START

if TYPE_CHECKING:
    from wfsim.engine.executor import WorkflowRun


class NodeRuntime:
    """Runs tasks on one node.

    A task holds ``task.cores`` cores and ``task.memory`` bytes for
    ``work / (speed * cores)`` seconds. Tasks start in the order of the node's
    :class:`~wfsim.policies.scheduling.SchedulingPolicy`, as soon as the head of the
    queue fits. One SimPy event per task execution: the completion timeout.

    Attributes (read-only for strategies):
        index: Position of the node in the topology.
        spec: The static :class:`~wfsim.model.topology.Node`.
        free_cores, free_memory: What is not held by running tasks.
        running: Number of running tasks.
        outstanding_ops: Work (ops) placed here and not yet finished (tasks waiting for
            inputs, queued or running): the backlog estimate placement uses.
        busy_core_seconds: Core-seconds of completed executions.
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
    )

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        spec: Node,
        queue: SchedulingPolicy,
        record: Callable[[tuple], None],
        on_end: Callable[[WorkflowRun, int, NodeRuntime, float], None] | None = None,
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
        self.on_end = on_end
        self._rate = spec.speed
        self.capacity = spec.cores
        self.target = spec.cores
        self.on_capacity: Callable[[NodeRuntime], None] | None = None
        self._excess = 0
        #: Set by the simulation (:meth:`~wfsim.engine.simulation.Simulation.set_health`).
        self.health = HealthStatus.HEALTHY
        #: Start queued tasks, in the policy's order, while the next one fits
        #: (:meth:`_dispatch`, or :meth:`_dispatch_draining` during a scale-down).
        self.dispatch: Callable[[], None] = self._dispatch
        queue.bind(self)

    def fits(self, cores: int, memory: float) -> bool:
        """Whether a task of this size could ever run here."""
        return cores <= self.spec.cores and memory <= self.spec.memory

    def reserve(self, ops: float) -> None:
        """Count work placed here whose inputs are still on their way (or, with a
        negative ``ops``, forget it again) in :attr:`outstanding_ops`."""
        self.outstanding_ops += ops

    def submit(self, run: WorkflowRun, task: int) -> None:
        """Queue a ready task (its work already reserved); it starts now if nothing is
        ahead of it and it fits."""
        spec = run.spec.tasks[task]
        if not self.queue and spec.cores <= self.free_cores and spec.memory <= self.free_memory:
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
        """Start queued tasks, in the policy's order, while the next one fits."""
        queue = self.queue
        while queue:
            head_run, head_task = queue.peek()
            head = head_run.spec.tasks[head_task]
            if head.cores > self.free_cores or head.memory > self.free_memory:
                break
            queue.pop()
            self._start(head_run, head_task, head)

    def _start(self, run: WorkflowRun, task: int, spec: Task) -> None:
        cores = spec.cores
        self.free_cores -= cores
        self.free_memory -= spec.memory
        self.running += 1
        env = self.env
        self._record((env.now, run.id, task, START, self.index))
        work = spec.work if run.work is None else run.work[task]
        duration = work / (self._rate * cores)
        env.timeout(duration).callbacks.append(partial(self._end, run, task, spec, work, duration))

    def _end(self, run: WorkflowRun, task: int, spec: Task, work: float, duration: float,
             _event: simpy.Event) -> None:
        self.free_cores += spec.cores
        self.free_memory += spec.memory
        self.running -= 1
        self.outstanding_ops -= work
        self.busy_core_seconds += spec.cores * duration
        self._record((self.env.now, run.id, task, END, self.index))
        # Queued work was waiting first, so it takes the freed cores before the
        # executor releases successors that may land on this same node.
        self.dispatch()
        self.on_end(run, task, self, duration)

    def __repr__(self) -> str:
        return (f"NodeRuntime({self.spec.id!r}, free_cores={self.free_cores}/{self.capacity}, "
                f"queued={len(self.queue)})")
