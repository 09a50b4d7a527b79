"""What the causal and eventual protocols share: per-replica versions of every key
settled by the resolver, a log of writes, and anti-entropy with random peers.

A write made at replica ``o`` is its ``n``-th there: ``(o, key, version)`` with
``version.clock[o] == n``. Every replica logs, per origin, the writes it has taken
in, in origin order; writes that arrive ahead of a gap wait beside the log until the
gap is filled (they are already in the versions where the level allows it). The log
and the versions are durable: they survive a crash.

Every ``anti_entropy_interval`` each replica sends the length of each origin's log
(its digest) to ``fanout`` peers drawn from the protocol's random stream; a peer
answers with the logged writes the digest lacks (except those whose push from their
origin may have been on its way when the digest was taken: unloaded, a message takes
``Transport.latency``). Rounds start at random phases, skip
their sends while the replica is down or the transport is quiet, and keep their
timers. The log is never truncated (a write could be pruned once every replica's
digest covers it; that is not tracked).

Where concurrent versions of a key meet, the resolver
(:mod:`~wfsim.consistency.resolvers`) settles them, recorded through
``ProtocolRecords.resolution`` as ``(time, node, key, level code, resolver, inputs,
lost)``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wfsim.consistency.protocols.base import ProtocolRecords, ReplicationProtocol, Transport
from wfsim.consistency.resolvers import Version, Versions, resolver
from wfsim.model.events import LEVELS

if TYPE_CHECKING:
    from wfsim.consistency.settings import ConsistencySettings

#: A write as replicas exchange it: origin replica, key, and the version it made.
Write = tuple[int, str, Version]


class GossipProtocol(ReplicationProtocol):
    """Replicas with versions, write logs and anti-entropy (see the module docstring)."""

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        super().__init__(transport, replicas, settings, rng, record)
        self.versions = {r: Versions(resolver(settings.resolver)) for r in self.replicas}
        #: Per replica, origin → the writes made there it has taken in, in order.
        self.logs: dict[int, dict[int, list[Write]]] = {r: {} for r in self.replicas}
        self._level_code = LEVELS.index(self.level.value)
        interval = settings.anti_entropy_interval
        for r in self.replicas:
            self.net.after(float(rng.uniform(0.0, interval)), self._round, r)

    def snapshot(self) -> dict[str, dict[int, Any]]:
        keys = sorted({key for versions in self.versions.values() for key in versions.keys})
        return {key: {r: versions.read(key) for r, versions in self.versions.items()} for key in keys}

    @abstractmethod
    def _receive(self, r: int, write: Write) -> None:
        """Replica ``r`` got ``write`` (a push or anti-entropy; maybe a duplicate)."""

    def _push(self, write: Write) -> None:
        """Send a write just made at its origin to every other replica."""
        origin = write[0]
        for peer in self.replicas:
            if peer != origin:
                self.net.send(origin, peer, "push", self._receive, peer, write, payload=self.settings.value_bytes)

    def _store(self, r: int, key: str, version: Version) -> None:
        """Merge ``version`` into replica ``r``'s versions of ``key``, recording a
        settled conflict."""
        inputs, lost = self.versions[r].put(key, version)
        if inputs:
            self.record.resolution((self.net.now, r, key, self._level_code, self.settings.resolver, inputs, lost))

    def _log(self, r: int, write: Write) -> None:
        """Append ``write`` to replica ``r``'s log of its origin (the next one)."""
        self.logs[r].setdefault(write[0], []).append(write)

    def _round(self, r: int) -> None:
        """One anti-entropy round of replica ``r``, then the next one's timer."""
        self.net.after(self.settings.anti_entropy_interval, self._round, r)
        if self.net.quiet() or not self.net.up(r) or len(self.replicas) < 2:
            return
        peers = [p for p in self.replicas if p != r]
        digest = {o: len(log) for o, log in self.logs[r].items()}
        for i in self.rng.choice(len(peers), size=min(self.settings.fanout, len(peers)), replace=False):
            self.net.send(r, peers[int(i)], "digest", self._on_digest, peers[int(i)], r, digest,
                          payload=8.0 * len(digest))

    def _on_digest(self, peer: int, r: int, digest: dict[int, int]) -> None:
        """``peer`` got ``r``'s digest: it sends the logged writes ``r`` lacks, but
        not those whose push from their origin may still be on its way to ``r``."""
        latency = self.net.latency
        taken = self.net.now - latency(peer, r)  # when r took its digest (unloaded)
        missing = []
        for o, log in self.logs[peer].items():
            direct = latency(o, r)  # inf: o is cut off from r, its push cannot come now
            missing += [w for w in log[digest.get(o, 0):] if direct == math.inf or w[2].stamp[0] + direct <= taken]
        if missing:
            self.net.send(peer, r, "missing", self._catch_up, r, missing,
                          payload=len(missing) * self.settings.value_bytes)

    def _catch_up(self, r: int, writes: list[Write]) -> None:
        for write in writes:
            self._receive(r, write)
