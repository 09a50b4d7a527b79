"""A node at run time: a ledger of cores and memory and a ready queue."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

import simpy

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
    """

    __slots__ = (
        "env", "index", "spec", "queue", "free_cores", "free_memory", "running",
        "outstanding_ops", "busy_core_seconds", "on_end", "_record", "_rate",
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

    def dispatch(self) -> None:
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
        return (f"NodeRuntime({self.spec.id!r}, free_cores={self.free_cores}/{self.spec.cores}, "
                f"queued={len(self.queue)})")
