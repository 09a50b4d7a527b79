"""Node-local scheduling: the order in which a node starts its ready tasks.

Each node owns one :class:`SchedulingPolicy` instance (the simulation is given a
factory, usually the class itself). The node asks the policy for the next task and
starts it as soon as its cores and memory are free; a task that does not fit yet
blocks those behind it (no backfilling), which keeps FIFO strictly first-come
first-served.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from wfsim.policies.parameters import Parameter

if TYPE_CHECKING:
    from wfsim.engine.executor import WorkflowRun
    from wfsim.engine.node import NodeRuntime

QueuedTask = tuple["WorkflowRun", int]


class SchedulingPolicy(ABC):
    """A node's ready queue.

    Subclasses define the order; the node only pushes, peeks and pops.
    """

    name: ClassVar[str]
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    node: NodeRuntime | None = None

    def bind(self, node: NodeRuntime) -> None:
        """Called once by the node that owns this queue; ``node.env.now`` is the
        clock and ``node.free_cores`` / ``node.free_memory`` what is free."""
        self.node = node

    @abstractmethod
    def push(self, run: WorkflowRun, task: int) -> None:
        """Add a ready task."""

    @abstractmethod
    def peek(self) -> QueuedTask:
        """The task that would start next (the queue is not empty)."""

    @abstractmethod
    def pop(self) -> QueuedTask:
        """Remove and return the task that starts next."""

    @abstractmethod
    def __len__(self) -> int: ...


class FIFO(SchedulingPolicy):
    """First come, first served (the seed's ``SchedulingPolicy::FIFO``)."""

    name = "fifo"

    def __init__(self) -> None:
        self._queue: deque[QueuedTask] = deque()

    def push(self, run: WorkflowRun, task: int) -> None:
        self._queue.append((run, task))

    def peek(self) -> QueuedTask:
        return self._queue[0]

    def pop(self) -> QueuedTask:
        return self._queue.popleft()

    def __len__(self) -> int:
        return len(self._queue)


#: Names usable in YAML.
SCHEDULING_POLICIES: dict[str, type[SchedulingPolicy]] = {"fifo": FIFO}
