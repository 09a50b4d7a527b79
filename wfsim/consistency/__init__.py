"""Replicated key-value state and the consistency spectrum.

* :mod:`.settings` — the ``consistency:`` group (:class:`ConsistencySettings`);
* :mod:`.protocols` — one protocol per level over the simulated network: Raft
  (Linearizable), a sequencer (Sequential), vector clocks (Causal), anti-entropy
  (Eventual), on :class:`~.protocols.base.ReplicationProtocol`;
* :mod:`.store` — :class:`ReplicatedStore`: replica placement, the level of each
  operation (strategy, key floors, timeout fallback chain), the health monitor and
  the operation history.
"""

from wfsim.consistency.protocols import PROTOCOLS
from wfsim.consistency.protocols.base import ReplicationProtocol, Request, Session, Transport
from wfsim.consistency.settings import ConsistencySettings
from wfsim.consistency.store import ReplicatedStore, StateError, replica_nodes

__all__ = ["PROTOCOLS", "ConsistencySettings", "ReplicatedStore", "ReplicationProtocol", "Request", "Session",
           "StateError", "Transport", "replica_nodes"]
