"""Eventual consistency: write anywhere, reply at once, spread in the background.

A client's operation goes to its nearest replica. A write is stored there at once,
stamped ``(time, replica)`` for last-writer-wins and given a per-key version vector
(the versions it replaces, plus the replica's count of writes made there), then
acknowledged and pushed to every other replica, which merges it into its versions on
arrival, in whatever order writes come. A read answers with whatever the replica
holds: no session guarantee, so a client whose nearest replica changes may miss its
own writes.

Anti-entropy (:mod:`~.gossip`) repairs lost pushes: once writes stop and the network
is whole, every replica has every write and, the resolver being deterministic, reads
the same value everywhere. Concurrent versions of a key are settled by the resolver.

A crash keeps the stored versions and the log (durable storage); the protocol keeps
nothing else in memory. A crashed replica neither sends nor receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from wfsim.consistency.protocols.base import OK, ProtocolRecords, Request, Transport
from wfsim.consistency.protocols.gossip import GossipProtocol, Write
from wfsim.consistency.resolvers import merged
from wfsim.model.enums import ConsistencyLevel

if TYPE_CHECKING:
    from wfsim.consistency.settings import ConsistencySettings


class EventualProtocol(GossipProtocol):
    """Local writes and reads, asynchronous push, anti-entropy (see the module docstring)."""

    level = ConsistencyLevel.EVENTUAL

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        super().__init__(transport, replicas, settings, rng, record)
        # Per replica and origin, writes taken in ahead of a gap in the log (on disk
        # with the log: they are already in the versions).
        self._ahead: dict[int, dict[int, dict[int, Write]]] = {r: {} for r in self.replicas}

    def submit(self, request: Request) -> None:
        r = self.net.nearest(request.node, self.replicas)
        self.net.send(request.node, r, request.f, self._serve, r, request,
                      payload=self.settings.value_bytes if request.is_write else 0.0)

    def _serve(self, r: int, request: Request) -> None:
        versions = self.versions[r]
        if request.is_write:
            clock = merged(*(v.clock for v in versions.get(request.key)))
            clock[r] = len(self.logs[r].get(r, ())) + 1
            write = (r, request.key, versions.write(request.key, request.value, clock, (self.net.now, r), request.op))
            self._log(r, write)
            self._push(write)
            self.net.send(r, request.node, "reply", request.reply, OK)
        else:
            self.net.send(r, request.node, "reply", request.reply, OK, versions.read(request.key),
                          payload=self.settings.value_bytes)

    def _receive(self, r: int, write: Write) -> None:
        origin, key, version = write
        seq = version.clock[origin]
        ahead = self._ahead[r].setdefault(origin, {})
        if seq <= len(self.logs[r].get(origin, ())) or seq in ahead:
            return  # had it
        self._store(r, key, version)
        ahead[seq] = write
        while (n := len(self.logs[r].get(origin, ())) + 1) in ahead:
            self._log(r, ahead.pop(n))
