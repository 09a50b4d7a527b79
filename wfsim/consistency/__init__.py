"""Replicated key-value state and the consistency spectrum.

* :mod:`.settings` — the ``consistency:`` group (:class:`ConsistencySettings`);
* :mod:`.protocols` — one protocol per level over the simulated network: Raft
  (Linearizable), a sequencer (Sequential), vector clocks (Causal), anti-entropy
  (Eventual), on :class:`~.protocols.base.ReplicationProtocol`;
* :mod:`.store` — :class:`ReplicatedStore`: replica placement, the level of each
  operation (strategy, key floors, timeout fallback chain), the health monitor and
  the operation history.
"""
