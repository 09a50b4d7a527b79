"""Eventual consistency: write anywhere, reply at once, spread in the background.

A client's operation goes to its nearest replica. A write is stored there at once,
stamped ``(time, replica)`` for last-writer-wins and given a per-key version vector
(the versions it replaces, plus a new count of its replica), acknowledged, and
pushed to every other replica. A read answers with whatever the replica holds: no
session guarantee, so a client whose nearest replica changes may miss its own
writes.

Every ``anti_entropy_interval`` each replica syncs with ``fanout`` peers drawn from
the protocol's random stream: it sends its versions and the peer answers with its
own (push-pull), so lost pushes are repaired and, once writes stop and the network
is whole, every replica holds the same versions. Where concurrent versions of a key
meet, the resolver (:mod:`~wfsim.consistency.resolvers`) settles them and the
settlement is recorded (``ProtocolRecords.resolution``).

A crash keeps the stored versions (durable storage) and loses nothing else: this
protocol keeps no other state. A crashed replica neither sends nor receives.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wfsim.consistency.protocols.base import OK, ProtocolRecords, ReplicationProtocol, Request, Transport
from wfsim.consistency.resolvers import Version, Versions, merged, resolver
from wfsim.model.enums import ConsistencyLevel
from wfsim.model.events import LEVELS

if TYPE_CHECKING:
    from wfsim.consistency.settings import ConsistencySettings


class GossipProtocol(ReplicationProtocol):
    """What the eventual and causal protocols share: per-replica versions, the
    resolver and its records, periodic anti-entropy rounds with random peers."""

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        super().__init__(transport, replicas, settings, rng, record)
        self.versions = {r: Versions(resolver(settings.resolver)) for r in self.replicas}
        self._level_code = LEVELS.index(self.level.value)
        # Rounds start at random phases so that replicas do not sync in lockstep.
        interval = settings.anti_entropy_interval
        for r in self.replicas:
            self.net.after(float(rng.uniform(0.0, interval)), self._round, r)

    def snapshot(self) -> dict[str, dict[int, Any]]:
        keys = sorted({key for versions in self.versions.values() for key in versions.keys})
        return {key: {r: versions.read(key) for r, versions in self.versions.items()} for key in keys}

    def _store(self, r: int, key: str, version: Version) -> None:
        """Merge ``version`` into replica ``r``'s versions of ``key``, recording a
        settled conflict."""
        inputs, lost = self.versions[r].put(key, version)
        if inputs:
            self.record.resolution((self.net.now, r, key, self._level_code, self.settings.resolver, inputs, lost))

    def _round(self, r: int) -> None:
        """One anti-entropy round of replica ``r``, then the next one's timer."""
        self.net.after(self.settings.anti_entropy_interval, self._round, r)
        if self.net.quiet() or not self.net.up(r) or len(self.replicas) < 2:
            return
        peers = [p for p in self.replicas if p != r]
        k = min(self.settings.fanout, len(peers))
        for i in self.rng.choice(len(peers), size=k, replace=False):
            self._sync(r, peers[int(i)])

    @abstractmethod
    def _sync(self, r: int, peer: int) -> None:
        """Start an anti-entropy exchange from ``r`` with ``peer``."""


class EventualProtocol(GossipProtocol):
    """Local writes and reads, asynchronous push, push-pull anti-entropy."""

    level = ConsistencyLevel.EVENTUAL

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        super().__init__(transport, replicas, settings, rng, record)
        # Per replica, writes made there: the own entry of the version vectors it makes.
        self.counters = dict.fromkeys(self.replicas, 0)

    def submit(self, request: Request) -> None:
        r = self.net.nearest(request.node, self.replicas)
        self.net.send(request.node, r, request.f, self._serve, r, request,
                      payload=self.settings.value_bytes if request.is_write else 0.0)

    def _serve(self, r: int, request: Request) -> None:
        output = None
        if request.is_write:
            versions = self.versions[r]
            seen = versions.get(request.key)
            self.counters[r] += 1
            clock = merged(*(v.clock for v in seen))
            clock[r] = self.counters[r]
            version = versions.write(request.key, request.value, clock, (self.net.now, r), request.op)
            for peer in self.replicas:
                if peer != r:
                    self.net.send(r, peer, "push", self._store, peer, request.key, version,
                                  payload=self.settings.value_bytes)
        else:
            output = self.versions[r].read(request.key)
        self.net.send(r, request.node, "reply", request.reply, OK, output,
                      payload=0.0 if request.is_write else self.settings.value_bytes)

    def _sync(self, r: int, peer: int) -> None:
        state = self._state(r)
        self.net.send(r, peer, "sync", self._on_sync, peer, r, state, payload=self._bytes(state))

    def _on_sync(self, peer: int, r: int, state: list[tuple[str, Version]]) -> None:
        """``peer`` got ``r``'s versions: it merges them and answers with its own."""
        reply = self._state(peer)
        self._merge(peer, state)
        self.net.send(peer, r, "sync-reply", self._merge, r, reply, payload=self._bytes(reply))

    def _merge(self, r: int, state: list[tuple[str, Version]]) -> None:
        for key, version in state:
            self._store(r, key, version)

    def _state(self, r: int) -> list[tuple[str, Version]]:
        return [(key, v) for key, versions in self.versions[r].keys.items() for v in versions]

    def _bytes(self, state: list[tuple[str, Version]]) -> float:
        return len(state) * self.settings.value_bytes
