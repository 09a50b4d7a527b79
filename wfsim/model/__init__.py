"""Plain data shared by every layer: tiers, nodes, links, topologies, tasks, workflows."""

from wfsim.model.enums import HealthStatus, NetworkFidelity, TaskPriority, Tier, WorkflowState
from wfsim.model.topology import (
    LINK_DEFAULTS,
    TIER_DEFAULTS,
    Link,
    Node,
    Topology,
    TopologyError,
    hierarchical,
)
from wfsim.model.workflow import (
    Edge,
    LocationKind,
    LocationRequirement,
    Task,
    Workflow,
    WorkflowValidationError,
)

__all__ = [
    "Edge", "HealthStatus", "LINK_DEFAULTS", "Link", "LocationKind", "LocationRequirement", "NetworkFidelity",
    "Node", "TIER_DEFAULTS", "Task", "TaskPriority", "Tier", "Topology", "TopologyError",
    "Workflow", "WorkflowState", "WorkflowValidationError", "hierarchical",
]
