"""Plain data and the words shared by every layer: tiers, health and lifecycle states,
nodes, links, topologies, tasks, workflows, the trace's codes and declared parameters."""

from wfsim.model.enums import (
    DRAINED,
    ConsistencyLevel,
    HealthStatus,
    MigrationState,
    MigrationTrigger,
    NetworkFidelity,
    ReplicationPolicy,
    SystemHealth,
    TaskPriority,
    Tier,
    TraceLevel,
    WorkflowState,
)
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
    "DRAINED", "ConsistencyLevel", "ReplicationPolicy", "SystemHealth",
    "Edge", "HealthStatus", "MigrationState", "MigrationTrigger", "LINK_DEFAULTS", "Link", "LocationKind",
    "LocationRequirement", "NetworkFidelity",
    "Node", "TIER_DEFAULTS", "Task", "TaskPriority", "Tier", "Topology", "TopologyError", "TraceLevel",
    "Workflow", "WorkflowState", "WorkflowValidationError", "hierarchical",
]
