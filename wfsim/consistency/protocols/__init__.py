"""The replication protocols, one per :class:`~wfsim.model.enums.ConsistencyLevel`.

:data:`PROTOCOLS` maps each level to the protocol class that serves it; the store
starts those its strategy, floors and fallback chain can reach.
"""

from __future__ import annotations

from wfsim.consistency.protocols.base import ReplicationProtocol
from wfsim.consistency.protocols.causal import CausalProtocol
from wfsim.consistency.protocols.eventual import EventualProtocol
from wfsim.consistency.protocols.raft import RaftProtocol
from wfsim.consistency.protocols.sequential import SequencerProtocol
from wfsim.model.enums import ConsistencyLevel

#: Level → the protocol serving it.
PROTOCOLS: dict[ConsistencyLevel, type[ReplicationProtocol]] = {
    ConsistencyLevel.LINEARIZABLE: RaftProtocol,
    ConsistencyLevel.SEQUENTIAL: SequencerProtocol,
    ConsistencyLevel.CAUSAL: CausalProtocol,
    ConsistencyLevel.EVENTUAL: EventualProtocol,
}
