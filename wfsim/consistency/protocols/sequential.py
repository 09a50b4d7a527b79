"""Sequential consistency: one total order of writes from a sequencer, local reads.

The sequencer is the first replica. A client's write goes to it straight away; it
assigns the next sequence number, logs the write and broadcasts it to every replica.
Every replica applies writes strictly in sequence order, holding later ones back
until the gap is filled; a replica that missed a message asks the sequencer, every
``anti_entropy_interval``, for what follows the last write it applied (the
sequencer leaves out writes whose broadcast may have been on its way then). The write
returns once the client's local replica (its nearest, named in the write) has
applied it, so a client reads its own writes. Reads are answered by the local
replica from the prefix of the order it has applied: possibly stale, never out of
order. If the sequencer is unreachable, writes get no answer (the store times them
out); reads still do.

A client that always uses the same replica sees one order shared by every client:
the history is sequentially consistent, not linearizable (a replica that lags
answers a read with a value another client has already overwritten).

A crash keeps what is on disk — the sequencer's log and next number, each replica's
applied prefix and values — and loses what is in memory: the writes held back for a
gap (the periodic catch-up fetches them again). A crashed node neither sends nor
receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wfsim.consistency.protocols.base import OK, ProtocolRecords, ReplicationProtocol, Request, Transport
from wfsim.model.enums import ConsistencyLevel

if TYPE_CHECKING:
    from wfsim.consistency.settings import ConsistencySettings

#: A logged write: its sequence number, the request, the replica that answers it,
#: and when it was logged.
Entry = tuple[int, Request, int, float]


class SequencerProtocol(ReplicationProtocol):
    """A sequencer-ordered log applied in order at every replica (see the module docstring)."""

    level = ConsistencyLevel.SEQUENTIAL

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        super().__init__(transport, replicas, settings, rng, record)
        self.sequencer = self.replicas[0]
        #: The sequencer's log: entry ``n`` has sequence number ``n + 1``.
        self.log: list[Entry] = []
        #: Per replica: how many writes of the order it has applied, and the values.
        self.applied = dict.fromkeys(self.replicas, 0)
        self.values: dict[int, dict[str, Any]] = {r: {} for r in self.replicas}
        self._held: dict[int, dict[int, Entry]] = {r: {} for r in self.replicas}
        interval = settings.anti_entropy_interval
        for r in self.replicas:
            if r != self.sequencer:
                self.net.after(float(rng.uniform(0.0, interval)), self._catch_up, r)

    def submit(self, request: Request) -> None:
        local = self.net.nearest(request.node, self.replicas)
        if request.is_write:
            self.net.send(request.node, self.sequencer, "write", self._order, request, local,
                          payload=self.settings.value_bytes)
        else:
            self.net.send(request.node, local, "read", self._read, local, request)

    def snapshot(self) -> dict[str, dict[int, Any]]:
        keys = sorted({key for values in self.values.values() for key in values})
        return {key: {r: values.get(key) for r, values in self.values.items()} for key in keys}

    def on_crash(self, node: int) -> None:
        if node in self._held:
            self._held[node].clear()

    def _read(self, r: int, request: Request) -> None:
        self.net.send(r, request.node, "reply", request.reply, OK, self.values[r].get(request.key),
                      payload=self.settings.value_bytes)

    def _order(self, request: Request, local: int) -> None:
        """At the sequencer: the write's place in the order, logged and broadcast."""
        entry = (len(self.log) + 1, request, local, self.net.now)
        self.log.append(entry)
        for r in self.replicas:
            self.net.send(self.sequencer, r, "apply", self._receive, r, [entry], payload=self.settings.value_bytes)

    def _receive(self, r: int, entries: list[Entry]) -> None:
        """Replica ``r`` got writes of the order: apply every one it can, in order."""
        held = self._held[r]
        for entry in entries:
            if entry[0] > self.applied[r]:
                held[entry[0]] = entry
        values = self.values[r]
        while self.applied[r] + 1 in held:
            seq, request, local, _ = held.pop(self.applied[r] + 1)
            values[request.key] = request.value
            self.applied[r] = seq
            if local == r:
                self.net.send(r, request.node, "reply", request.reply, OK)

    def _catch_up(self, r: int) -> None:
        """Replica ``r`` asks the sequencer for the writes after its applied prefix."""
        self.net.after(self.settings.anti_entropy_interval, self._catch_up, r)
        if not self.net.quiet() and self.net.up(r):
            self.net.send(r, self.sequencer, "catch-up", self._resend, r, self.applied[r])

    def _resend(self, r: int, applied: int) -> None:
        # Not the writes whose broadcast may have been on its way when r asked (a
        # message takes the unloaded latency each way).
        since = self.net.now - 2 * self.net.latency(self.sequencer, r)
        missing = [e for e in self.log[applied:] if e[3] <= since]
        if missing:
            self.net.send(self.sequencer, r, "resend", self._receive, r, missing,
                          payload=len(missing) * self.settings.value_bytes)
