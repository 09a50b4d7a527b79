"""Enumerations shared by every layer, named as in the seed."""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import TypeVar

_E = TypeVar("_E", bound=Enum)


def parse_member(enum: type[_E], value: object, what: str) -> _E:
    """The member of a string ``enum`` that ``value`` is, or whose value or name it
    is, case-insensitive (``"maintenance"``, ``"MAINTENANCE"``).

    Raises:
        ValueError: For anything else, naming ``what`` was asked for and the allowed
            values.
    """
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        for member in enum:
            if value.lower() in (str(member.value).lower(), member.name.lower()):
                return member
    allowed = ", ".join(str(member.value) for member in enum)
    raise ValueError(f"unknown {what} {value!r}; allowed: {allowed}")


class Tier(str, Enum):
    """Where a node sits on the continuum (the seed's ``ComputeLocation``).

    Ordered from the user outward: ``Tier.LOCAL_DEVICE`` is the user's own device,
    ``Tier.CLOUD`` the central cloud. ``Tier.order`` gives that position.
    """

    LOCAL_DEVICE = "LocalDevice"
    EDGE_DEVICE = "EdgeDevice"
    EDGE_CLOUD = "EdgeCloud"
    REGIONAL_CLOUD = "RegionalCloud"
    CLOUD = "Cloud"

    @property
    def order(self) -> int:
        """Position from the user outward: 0 for LocalDevice … 4 for Cloud."""
        return _TIER_ORDER[self]

    @property
    def is_edge(self) -> bool:
        """True for the tiers on the user's side of the regional cloud."""
        return self.order <= 2

    @classmethod
    def parse(cls, value: str | Tier) -> Tier:
        """Accept a tier by its seed name (``EdgeCloud``) or enum name (``EDGE_CLOUD``)."""
        if isinstance(value, Tier):
            return value
        if isinstance(value, str):
            for tier in cls:
                if value in (tier.value, tier.name) or value.lower() == tier.value.lower():
                    return tier
        allowed = ", ".join(t.value for t in cls)
        raise ValueError(f"unknown tier {value!r}; allowed: {allowed}")


_TIER_ORDER = {tier: i for i, tier in enumerate(Tier)}


class TaskPriority(IntEnum):
    """The seed's ``TaskPriority``; a smaller value is more urgent."""

    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3
    BACKGROUND = 4

    @classmethod
    def parse(cls, value: str | int | TaskPriority) -> TaskPriority:
        """Accept a priority by name (``Critical``/``CRITICAL``) or value."""
        if isinstance(value, TaskPriority):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value in cls._value2member_map_:
            return cls(value)
        if isinstance(value, str):
            for p in cls:
                if value.upper() == p.name:
                    return p
        allowed = ", ".join(f"{p.name.title()} ({p.value})" for p in cls)
        raise ValueError(f"unknown priority {value!r}; allowed: {allowed}")

    @property
    def score(self) -> float:
        """How urgent the priority is, in (0, 1]: :data:`PRIORITY_SCORE`."""
        return PRIORITY_SCORE[self]


#: Urgency of each priority, Critical 1.0, High 0.8, Normal 0.6, Low 0.4, Background
#: 0.2: the seed's Hybrid scheduling score, which data-aware placement also takes as a
#: task's base latency sensitivity. A table rather than a formula so each value is the
#: float of its decimal (``1 - 0.2 * 3`` is 0.3999…).
PRIORITY_SCORE: dict[TaskPriority, float] = {
    TaskPriority.CRITICAL: 1.0, TaskPriority.HIGH: 0.8, TaskPriority.NORMAL: 0.6,
    TaskPriority.LOW: 0.4, TaskPriority.BACKGROUND: 0.2,
}


class WorkflowState(str, Enum):
    """Workflow lifecycle (the seed's typestate ``Workflow<S>``)."""

    CREATED = "Created"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


#: The workflow lifecycle: allowed next states (the seed's typestate
#: ``Workflow<Created> → Workflow<Running> → Completed | Failed``).
ALLOWED_TRANSITIONS: dict[WorkflowState, frozenset[WorkflowState]] = {
    WorkflowState.CREATED: frozenset({WorkflowState.RUNNING}),
    WorkflowState.RUNNING: frozenset({WorkflowState.COMPLETED, WorkflowState.FAILED}),
    WorkflowState.COMPLETED: frozenset(),
    WorkflowState.FAILED: frozenset(),
}

#: Workflow states a workflow never leaves.
TERMINAL_STATES = frozenset(state for state, allowed in ALLOWED_TRANSITIONS.items() if not allowed)


class HealthStatus(str, Enum):
    """Health of a node as load balancing and placement see it (the seed's LB
    ``HealthStatus``).

    Only ``Healthy`` nodes are chosen by load balancing; ``Unhealthy`` and
    ``Maintenance`` nodes receive no new work from any strategy, while tasks already
    on them finish (a drain). The seed's other health-like enums map onto it:
    fault tolerance's ``NodeState`` Healthy → Healthy, Degraded → Degraded,
    Partitioned and Failed → Unhealthy.
    """

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"
    MAINTENANCE = "Maintenance"


#: Health states in which a node takes no new work (a drain: what is there finishes).
DRAINED = frozenset({HealthStatus.UNHEALTHY, HealthStatus.MAINTENANCE})


class MigrationTrigger(str, Enum):
    """Why a migration was requested (the seed's six triggers)."""

    LOAD_IMBALANCE = "LoadImbalance"
    RESOURCE_CONSTRAINT = "ResourceConstraint"
    PERFORMANCE_DEGRADATION = "PerformanceDegradation"
    AVAILABILITY_RISK = "AvailabilityRisk"
    ENERGY_OPTIMIZATION = "EnergyOptimization"
    USER_REQUEST = "UserRequest"


class MigrationState(str, Enum):
    """Phase of a task migration."""

    PREPARING = "Preparing"
    TRANSFERRING = "Transferring"
    ACTIVATING = "Activating"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"


#: Allowed next phases (None: not started): forward one phase at a time, or to
#: Failed / Canceled from any phase that is not terminal.
ALLOWED_PHASES: dict[MigrationState | None, frozenset[MigrationState]] = {
    None: frozenset({MigrationState.PREPARING}),
    MigrationState.PREPARING: frozenset({MigrationState.TRANSFERRING, MigrationState.FAILED,
                                         MigrationState.CANCELED}),
    MigrationState.TRANSFERRING: frozenset({MigrationState.ACTIVATING, MigrationState.FAILED,
                                            MigrationState.CANCELED}),
    MigrationState.ACTIVATING: frozenset({MigrationState.COMPLETED, MigrationState.FAILED,
                                          MigrationState.CANCELED}),
    MigrationState.COMPLETED: frozenset(),
    MigrationState.FAILED: frozenset(),
    MigrationState.CANCELED: frozenset(),
}

#: Migration phases a migration never leaves.
MIGRATION_TERMINAL = frozenset(state for state, allowed in ALLOWED_PHASES.items()
                               if state is not None and not allowed)


class NetworkFidelity(str, Enum):
    """How transfers are timed.

    ``FAST``: every link serialises transmissions FIFO (size / bandwidth each, store
    and forward hop by hop); propagation latency does not occupy the link.
    ``SHARED``: concurrent flows share each link's bandwidth max-min fairly along
    their whole route; the path's propagation latency is added once.
    """

    FAST = "fast"
    SHARED = "shared"


class TraceLevel(str, Enum):
    """How much of a run the trace recorder keeps.

    ``FULL`` (the default): every event, into the trace's tables. ``METRICS``: only
    what the summary metrics read, with the bytes per link and transferred summed as
    the run goes; the run yields its metrics and no trace (for batch runs and tuner
    trials, which read nothing else).
    """

    FULL = "full"
    METRICS = "metrics"

    @classmethod
    def parse(cls, value: str | TraceLevel) -> TraceLevel:
        """Accept a level by value (``"metrics"``) or name (``"METRICS"``), case-insensitive.

        Raises:
            ValueError: For anything else; the message lists the allowed values.
        """
        return parse_member(cls, value, "trace level")


# --- faults, partitions and edge autonomy (the seed's part 2) ----------------------


class NodeState(str, Enum):
    """A node as the failure detector believes it to be (the seed's fault-tolerance
    ``NodeState``): ``Partitioned`` after one missed heartbeat check, ``Failed`` after
    more (three by default); a heartbeat brings it back to ``Healthy``. ``Degraded`` is
    never produced by the detector (the seed declares it); it maps onto the
    :class:`HealthStatus` of the same name."""

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    PARTITIONED = "Partitioned"
    FAILED = "Failed"


#: The health placement sees for each detector state: a suspected node (Partitioned
#: or Failed) gets no new work until a heartbeat clears it.
HEALTH_OF_NODE_STATE: dict[NodeState, HealthStatus] = {
    NodeState.HEALTHY: HealthStatus.HEALTHY,
    NodeState.DEGRADED: HealthStatus.DEGRADED,
    NodeState.PARTITIONED: HealthStatus.UNHEALTHY,
    NodeState.FAILED: HealthStatus.UNHEALTHY,
}


class RecoveryAction(str, Enum):
    """What a node's return from a suspected state calls for (the seed's ``RecoveryAction``)."""

    RESTART = "Restart"
    FAILOVER = "Failover"
    RECONCILE = "Reconcile"
    STATE_TRANSFER = "StateTransfer"


#: The recovery actions the seed's default handler runs when a heartbeat clears a node,
#: by the state it was in (the seed reads the state *after* the reset, so it never
#: runs any: the intent is the state before).
RECOVERY_PLAN: dict[NodeState, tuple[RecoveryAction, ...]] = {
    NodeState.HEALTHY: (),
    NodeState.DEGRADED: (),
    NodeState.PARTITIONED: (RecoveryAction.RECONCILE,),
    NodeState.FAILED: (RecoveryAction.RESTART, RecoveryAction.STATE_TRANSFER),
}


class PartitionHandlingStrategy(str, Enum):
    """Which writes a node accepts while it is ``Partitioned`` (the seed's
    ``PartitionHandlingStrategy``).

    ``ReadOnly``: the partitioned node serves reads and refuses writes. ``WriteLocal``:
    it accepts writes locally, to be reconciled when the partition heals.
    ``RejectWrites``: while any node is partitioned, writes are refused everywhere (the
    seed makes it the same as ``ReadOnly``; the workbench keeps the two apart).
    ``LeaderOnly``: only the side of the partition holding a majority of the nodes
    accepts writes (the seed's stub picks the side of the smallest node id).
    """

    READ_ONLY = "ReadOnly"
    WRITE_LOCAL = "WriteLocal"
    REJECT_WRITES = "RejectWrites"
    LEADER_ONLY = "LeaderOnly"


class FaultToleranceMode(str, Enum):
    """How a task survives the loss of its node (the seed's ``FaultToleranceMode``,
    declared there without behaviour).

    ``ActivePassive``: the task runs on a primary; a standby chosen at placement takes
    over from the last checkpoint when the primary is lost. ``ActiveActive``: replicas
    run at once and the first result wins. ``Quorum``: replicas run and a majority of
    them must return the same result. ``MultiMaster``: the task runs on one node of
    whichever side of a partition its origin is on, and every node accepts its writes
    (reconciled on heal).
    """

    ACTIVE_PASSIVE = "ActivePassive"
    ACTIVE_ACTIVE = "ActiveActive"
    QUORUM = "Quorum"
    MULTI_MASTER = "MultiMaster"


class ConnectivityStatus(str, Enum):
    """An edge node's link to the cloud, from the age of the last heartbeat it heard
    (the seed's ``ConnectivityStatus``): below T/4 ``Connected``, below T/2
    ``Degraded``, below T ``Intermittent``, else ``Disconnected``."""

    CONNECTED = "Connected"
    DEGRADED = "Degraded"
    INTERMITTENT = "Intermittent"
    DISCONNECTED = "Disconnected"


class EdgeAutonomyLevel(str, Enum):
    """How much an edge node decides on its own (the seed's ``EdgeAutonomyLevel``)."""

    FULLY_DEPENDENT = "FullyDependent"
    SEMI_AUTONOMOUS = "SemiAutonomous"
    HIGHLY_AUTONOMOUS = "HighlyAutonomous"
    FULLY_AUTONOMOUS = "FullyAutonomous"


#: The autonomy level each connectivity calls for (the seed's ``adjust_autonomy_level``);
#: ``Connected`` maps to ``SemiAutonomous`` only when the node's decision accuracy is
#: above the gate, else to ``FullyDependent`` (see :func:`autonomy_level`).
AUTONOMY_OF_CONNECTIVITY: dict[ConnectivityStatus, EdgeAutonomyLevel] = {
    ConnectivityStatus.CONNECTED: EdgeAutonomyLevel.SEMI_AUTONOMOUS,
    ConnectivityStatus.DEGRADED: EdgeAutonomyLevel.SEMI_AUTONOMOUS,
    ConnectivityStatus.INTERMITTENT: EdgeAutonomyLevel.HIGHLY_AUTONOMOUS,
    ConnectivityStatus.DISCONNECTED: EdgeAutonomyLevel.FULLY_AUTONOMOUS,
}


def autonomy_level(status: ConnectivityStatus, accuracy: float, gate: float = 0.9) -> EdgeAutonomyLevel:
    """The seed's mapping from connectivity to autonomy level: a ``Connected`` node is
    ``SemiAutonomous`` only if its decision ``accuracy`` is above ``gate`` (else
    ``FullyDependent``); the other states map by :data:`AUTONOMY_OF_CONNECTIVITY`."""
    if status is ConnectivityStatus.CONNECTED and not accuracy > gate:
        return EdgeAutonomyLevel.FULLY_DEPENDENT
    return AUTONOMY_OF_CONNECTIVITY[status]


class DecisionRuleType(str, Enum):
    """The kinds of rule an edge node may decide by (the seed's ``DecisionRuleType``;
    it implements only the first two)."""

    THRESHOLD = "Threshold"
    PATTERN = "Pattern"
    PREDICTION = "Prediction"
    COMPOSITE = "Composite"


class FallbackAction(str, Enum):
    """What an edge node does with a request it cannot hand to the cloud (the seed's
    ``FallbackAction``)."""

    RETRY = "Retry"
    USE_CACHE = "UseCache"
    EXECUTE_LOCAL = "ExecuteLocal"
    DEFER = "Defer"
    REJECT = "Reject"
    USE_APPROXIMATION = "UseApproximation"


class ConsistencyLevel(str, Enum):
    """How strong a replicated-state operation is (the seed's ``ConsistencyLevel``),
    strongest first: the order is the fallback chain's (``Linearizable`` →
    ``Sequential`` → ``Causal`` → ``Eventual``), and ``weaker``/``stronger`` compare
    along it."""

    LINEARIZABLE = "Linearizable"
    SEQUENTIAL = "Sequential"
    CAUSAL = "Causal"
    EVENTUAL = "Eventual"

    @property
    def rank(self) -> int:
        """0 for the strongest level, 3 for the weakest."""
        return _LEVEL_RANK[self]

    def weaker(self) -> ConsistencyLevel | None:
        """The next level down the fallback chain (None below ``Eventual``)."""
        order = tuple(ConsistencyLevel)
        return order[self.rank + 1] if self.rank + 1 < len(order) else None

    @classmethod
    def parse(cls, value: object) -> ConsistencyLevel:
        """A level from itself, its value or its name, case-insensitive.

        Raises:
            ValueError: For anything else, naming the allowed levels.
        """
        return parse_member(cls, value, "consistency level")


_LEVEL_RANK = {level: i for i, level in enumerate(ConsistencyLevel)}


def key_type(key: str) -> str:
    """The data type of a replicated-state key: what comes before its first ``:``
    (``"user:123"`` → ``"user"``), or ``"default"`` for a key without one (the seed's
    rule; per-type levels and key floors are keyed by it)."""
    head, colon, _ = key.partition(":")
    return head if colon else "default"


class SystemHealth(str, Enum):
    """The replicated store's health as its monitor judges it (the seed's
    ``SystemHealth``), best first: from the share of replicas available and the p99
    latency of recent operations."""

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    CRITICAL = "Critical"
    EMERGENCY = "Emergency"


class ReplicationPolicy(str, Enum):
    """Where a key's replicas live (the seed's ``ReplicationPolicy``).

    ``None``: one copy, on one node. ``FullReplication``: on every node of the state
    tiers. ``RegionalReplication``: on one node per region (an edge site's or regional
    cloud's subtree) plus the cloud. ``Custom``: on the nodes named.
    """

    NONE = "None"
    FULL_REPLICATION = "FullReplication"
    REGIONAL_REPLICATION = "RegionalReplication"
    CUSTOM = "Custom"


class RaftRole(str, Enum):
    """A Raft member's role (the seed's ``RaftRole``)."""

    FOLLOWER = "Follower"
    CANDIDATE = "Candidate"
    LEADER = "Leader"
