"""The ``consistency:`` settings group: replica placement, protocol parameters,
per-request timeouts, the health monitor and the level strategy, declared once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wfsim.model.enums import ConsistencyLevel, ReplicationPolicy, Tier
from wfsim.model.parameters import Tunable, param
from wfsim.policies.consistency import AdaptiveConsistency, ConsistencyStrategy, parse_levels

#: Tiers replicas may live on unless told otherwise: the servers, not the devices.
STATE_TIERS: tuple[Tier, ...] = (Tier.EDGE_CLOUD, Tier.REGIONAL_CLOUD, Tier.CLOUD)

#: Raft read modes: confirm leadership with a majority round (ReadIndex), trust a
#: leader lease, or answer from the leader's state at once (not linearizable).
READ_MODES: tuple[str, ...] = ("ReadIndex", "Lease", "LeaderLocal")

#: Conflict resolvers of the causal and eventual replicas.
RESOLVERS: tuple[str, ...] = ("lww", "multi_value", "crdt_set")


@dataclass(frozen=True)
class ConsistencySettings(Tunable):
    """Replicated key-value state and its consistency (YAML: the ``consistency:``
    group; :class:`~wfsim.consistency.store.ReplicatedStore`).

    Every task with ``state_keys`` reads them before it starts and writes them when it
    ends, through the store, at the level :attr:`strategy` chooses (never below a
    key's floor). A request not answered within its level's timeout returns
    ``unknown`` and, with :attr:`fallback`, is tried again one level down.

    Attributes:
        strategy: Chooses each operation's level (default: the seed's adaptive one).
        floors: Data type (key prefix) → the weakest level its keys may be served at.
        nodes: Replica node ids for ``replication: Custom``.
        tiers: Tiers replicas live on (``FullReplication``, ``RegionalReplication``).

    Example:
        >>> ConsistencySettings(timeout_linearizable=0.8).timeout(ConsistencyLevel.LINEARIZABLE)
        0.8
    """

    name = "consistency"
    replication: str = param(ReplicationPolicy.FULL_REPLICATION.value,
                             choices=tuple(p.value for p in ReplicationPolicy), doc="where replicas live")
    replication_factor: int = param(1, low=1, high=15,
                                    doc="RegionalReplication: replicas per region (its regional cloud first)")
    value_bytes: float = param(1024.0, low=0.0, high=1e9, doc="size of a stored value, bytes")
    message_bytes: float = param(64.0, low=0.0, high=1e6, doc="size of a protocol message without payload, bytes")
    # Raft (Linearizable)
    election_timeout_min: float = param(0.15, low=0.05, high=1.0, doc="Raft election timeout, lower bound, s")
    election_timeout_max: float = param(0.3, low=0.06, high=2.0, doc="Raft election timeout, upper bound, s")
    heartbeat_interval: float = param(0.1, low=0.01, high=0.5, doc="Raft leader heartbeat period, s")
    read_mode: str = param("ReadIndex", choices=READ_MODES, doc="how a Raft leader serves linearizable reads")
    lease_duration: float = param(0.12, low=0.01, high=1.0,
                                  doc="Raft leader lease for Lease reads, s (below election_timeout_min)")
    # Causal and Eventual
    anti_entropy_interval: float = param(1.0, low=0.05, high=60.0, doc="seconds between anti-entropy rounds")
    fanout: int = param(1, low=1, high=10, doc="peers a replica syncs with per anti-entropy round")
    resolver: str = param("lww", choices=RESOLVERS, doc="how concurrent writes to a key are settled")
    # Per-request timeouts and the fallback chain
    timeout_linearizable: float = param(0.5, low=0.02, high=2.0, doc="Linearizable request timeout, s")
    timeout_sequential: float = param(0.3, low=0.02, high=2.0, doc="Sequential request timeout, s")
    timeout_causal: float = param(0.2, low=0.02, high=2.0, doc="Causal request timeout, s")
    timeout_eventual: float = param(0.1, low=0.02, high=2.0, doc="Eventual request timeout, s")
    fallback: bool = param(True, doc="retry a timed-out request one level down (Lin → Seq → Causal → Eventual)")
    # Health monitor
    monitor_period: float = param(10.0, low=0.1, high=60.0, doc="seconds between health checks")
    window: int = param(1000, low=10, high=10000, doc="latest operation latencies the p99 is taken over")
    healthy_ratio: float = param(0.9, low=0.5, high=1.0, doc="available replica share needed for Healthy")
    degraded_ratio: float = param(0.7, low=0.3, high=1.0, doc="available replica share needed for Degraded")
    critical_ratio: float = param(0.5, low=0.1, high=1.0, doc="available replica share needed for Critical")
    healthy_p99: float = param(0.1, low=0.005, high=5.0, doc="p99 latency below which Healthy is possible, s")
    degraded_p99: float = param(0.2, low=0.005, high=5.0, doc="p99 latency below which Degraded is possible, s")
    critical_p99: float = param(0.5, low=0.005, high=5.0, doc="p99 latency below which Critical is possible, s")
    hysteresis: int = param(0, low=0, high=10,
                            doc="further checks a new health state must hold before it takes effect")
    # Clients beside the workflows (histories with many operations per session)
    clients: int = param(0, low=0, high=1000, doc="state clients issuing operations beside the workflows")
    client_rate: float = param(2.0, low=0.01, high=1000.0, doc="operations per second per client")
    client_keys: int = param(4, low=1, high=10000, doc="keys the clients choose from")
    read_fraction: float = param(0.5, low=0.0, high=1.0, doc="share of the clients' operations that are reads")
    strategy: ConsistencyStrategy = field(default_factory=AdaptiveConsistency)
    floors: Mapping[str, str] = field(default_factory=dict)
    nodes: tuple[str, ...] = ()
    tiers: tuple[Tier, ...] = STATE_TIERS

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = []
        if not self.election_timeout_min < self.election_timeout_max:
            problems.append(f"election_timeout_min ({self.election_timeout_min}) must be below "
                            f"election_timeout_max ({self.election_timeout_max})")
        if not self.heartbeat_interval < self.election_timeout_min:
            problems.append(f"heartbeat_interval ({self.heartbeat_interval}) must be below "
                            f"election_timeout_min ({self.election_timeout_min})")
        if self.read_mode == "Lease" and not self.lease_duration <= self.election_timeout_min:
            problems.append(f"lease_duration ({self.lease_duration}) must not exceed election_timeout_min "
                            f"({self.election_timeout_min}): a new leader could be elected while the lease holds")
        if not self.healthy_ratio >= self.degraded_ratio >= self.critical_ratio:
            problems.append("the ratios must be ordered: healthy_ratio >= degraded_ratio >= critical_ratio")
        if not self.healthy_p99 <= self.degraded_p99 <= self.critical_p99:
            problems.append("the p99 thresholds must be ordered: healthy_p99 <= degraded_p99 <= critical_p99")
        if self.replication == ReplicationPolicy.CUSTOM.value and not self.nodes:
            problems.append("replication Custom needs nodes (the replica node ids)")
        if problems:
            raise ValueError(f"consistency: {problems[0]}")
        object.__setattr__(self, "floors", {k: v.value for k, v in parse_levels(self.floors, "floors").items()})
        object.__setattr__(self, "tiers", tuple(Tier.parse(t) for t in self.tiers))
        object.__setattr__(self, "nodes", tuple(self.nodes))

    def timeout(self, level: ConsistencyLevel) -> float:
        """The request timeout at ``level``, seconds."""
        return float(getattr(self, f"timeout_{level.name.lower()}"))
