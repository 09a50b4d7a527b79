"""What strategies may read of the running system, as Protocols.

Strategies are typed against these instead of the engine's classes, so
``wfsim.policies`` does not depend on ``wfsim.engine``. The engine's
:class:`~wfsim.engine.cluster.Cluster`, :class:`~wfsim.engine.node.NodeRuntime` and
:class:`~wfsim.engine.executor.WorkflowRun` satisfy them structurally; so does any
stand-in a test builds. Members are read-only properties (a strategy reads, the
engine writes), except where noted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from wfsim.model.enums import HealthStatus
from wfsim.model.topology import Node
from wfsim.model.workflow import Task, Workflow


class Clock(Protocol):
    """The simulation's clock."""

    @property
    def now(self) -> float:
        """Current simulated time, seconds."""
        ...


class RunView(Protocol):
    """One workflow instance in flight (:class:`~wfsim.engine.executor.WorkflowRun`)."""

    @property
    def id(self) -> int:
        """Instance id, unique in the run."""
        ...

    @property
    def spec(self) -> Workflow:
        """The workflow definition."""
        ...

    @property
    def origin(self) -> int:
        """Node index of the device that submitted it."""
        ...

    @property
    def arrival(self) -> float:
        """Submission time."""
        ...

    @property
    def node_of(self) -> Sequence[int]:
        """Node index chosen for each task (-1 until placed)."""
        ...

    def work_of(self, task: int) -> float:
        """Operations task ``task`` needs in this instance."""
        ...


class QueueView(Protocol):
    """What a strategy may read of a node's ready queue."""

    def __len__(self) -> int: ...

    def peek(self) -> tuple[RunView, int]:
        """The task that would start next (the queue is not empty)."""
        ...


class NodeView(Protocol):
    """One node at run time (:class:`~wfsim.engine.node.NodeRuntime`)."""

    @property
    def index(self) -> int:
        """Position of the node in the topology."""
        ...

    @property
    def spec(self) -> Node:
        """The static node: id, tier, cores, speed, memory."""
        ...

    @property
    def env(self) -> Clock:
        """The simulation's clock."""
        ...

    @property
    def capacity(self) -> int:
        """Current core capacity (autoscaling changes it; ``spec.cores`` does not)."""
        ...

    @property
    def free_cores(self) -> float:
        """Cores not held by running tasks."""
        ...

    @property
    def free_memory(self) -> float:
        """Memory not held by running tasks."""
        ...

    @property
    def running(self) -> int:
        """Number of running tasks."""
        ...

    @property
    def outstanding_ops(self) -> float:
        """Work placed here and not yet finished (waiting for inputs, queued or running)."""
        ...

    @property
    def health(self) -> HealthStatus:
        """The node's health."""
        ...

    @property
    def queue(self) -> QueueView:
        """The node's ready queue."""
        ...


class ScalableNodeView(NodeView, Protocol):
    """A node as the autoscaling loop drives it: it also resizes the node and listens
    to its capacity changes."""

    @property
    def target(self) -> int:
        """The capacity last asked for by :meth:`resize`."""
        ...

    #: Called with the node after every change of ``capacity`` (set by the loop).
    #: ``Any``: the engine's callback takes its own node class.
    on_capacity: Callable[[Any], None] | None

    def resize(self, cores: int) -> None:
        """Change the core capacity to ``cores``."""
        ...


class NetworkView(Protocol):
    """The network, for transfer-time estimates."""

    def estimate(self, src: int, dst: int, nbytes: float) -> float:
        """Unloaded transfer time from node ``src`` to ``dst`` (``inf`` if unreachable)."""
        ...


class ClusterView(Protocol):
    """Nodes, network and clock (:class:`~wfsim.engine.cluster.Cluster`)."""

    @property
    def now(self) -> float:
        """Current simulated time."""
        ...

    @property
    def nodes(self) -> Sequence[NodeView]:
        """One node per topology node, in topology order."""
        ...

    @property
    def network(self) -> NetworkView:
        """The network."""
        ...

    def candidates(self, task: Task, origin: int) -> tuple[NodeView, ...]:
        """Nodes that may run ``task`` for a workflow from node ``origin``: they
        satisfy its location requirement, fit it, are reachable and not drained;
        ordered by preference rank, then route latency from the origin. The same
        tuple object is returned until the topology or a node's health changes."""
        ...
