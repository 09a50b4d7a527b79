"""The replication protocols, one per :class:`~wfsim.model.enums.ConsistencyLevel`.

:data:`PROTOCOLS` maps each level to the protocol class that serves it; the store
starts those its strategy, floors and fallback chain can reach.
"""

from __future__ import annotations

from wfsim.consistency.protocols.base import ReplicationProtocol
from wfsim.model.enums import ConsistencyLevel

#: Level → the protocol serving it.
PROTOCOLS: dict[ConsistencyLevel, type[ReplicationProtocol]] = {}
