"""Causal consistency: vector clocks, causal delivery and client sessions.

Each replica keeps a vector clock: entry ``j`` counts the writes made at replica
``j`` that it has applied. An operation goes to the client's nearest replica with
the session's context (``Session.clock``) and waits there until the replica's clock
covers it (the store's timeout bounds the wait), so a session never reads a version
older than one it has seen or written (read-your-writes, monotonic reads) and never
writes before what it depends on is visible.

* A write then increments the replica's own entry; the replica's clock becomes the
  write's clock (so it has seen the context and every version held there, which it
  replaces), is acknowledged with that clock, and is pushed to every other replica.
* A read answers with the resolver's reading of the key's versions and their
  clocks; the reply merges them into the session (``Session.merge``).
* A remote write is applied only once the replica has applied everything its clock
  depends on (causal delivery: its origin's entry is the next one, the others are
  covered); until then it waits in a buffer.

Anti-entropy (:mod:`~.gossip`) repairs lost pushes: a replica's digest is its clock
(the length of each origin's log), and a peer answers with the writes it lacks.
Concurrent versions of a key go through the resolver.

A crash keeps what is on disk — the versions, the log of applied writes and the
clock that counts them — and loses what is in memory: the buffer of undeliverable
writes (anti-entropy brings them again) and the operations waiting at the replica
(their clients time out). A crashed replica neither sends nor receives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wfsim.consistency.protocols.base import OK, ProtocolRecords, Request, Transport
from wfsim.consistency.protocols.gossip import GossipProtocol, Write
from wfsim.consistency.resolvers import Clock, covers, merged
from wfsim.model.enums import ConsistencyLevel

if TYPE_CHECKING:
    from wfsim.consistency.settings import ConsistencySettings


class CausalProtocol(GossipProtocol):
    """Causally consistent replicas with sessions (see the module docstring)."""

    level = ConsistencyLevel.CAUSAL

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        super().__init__(transport, replicas, settings, rng, record)
        #: Per replica, origin → how many of the writes made there it has applied.
        self.clocks: dict[int, dict[int, int]] = {r: {} for r in self.replicas}
        self._pending: dict[int, dict[tuple[int, int], Write]] = {r: {} for r in self.replicas}
        self._waiting: dict[int, list[tuple[Clock, Callable[[], None]]]] = {r: [] for r in self.replicas}

    def submit(self, request: Request) -> None:
        r = self.net.nearest(request.node, self.replicas)
        context = dict(request.session.clock)
        payload = self.settings.value_bytes if request.is_write else 0.0
        self.net.send(request.node, r, request.f, self._arrive, r, request, context, payload=payload)

    def on_crash(self, node: int) -> None:
        if node in self._pending:
            self._pending[node].clear()
            self._waiting[node].clear()

    # --- client operations --------------------------------------------------------
    def _arrive(self, r: int, request: Request, context: Clock) -> None:
        serve = self._write if request.is_write else self._read
        if covers(self.clocks[r], context):
            serve(r, request)
        else:  # wait for what the session has seen (a timeout ends the wait at the store)
            self._waiting[r].append((context, lambda: serve(r, request)))

    def _write(self, r: int, request: Request) -> None:
        clock = self.clocks[r]
        clock[r] = clock.get(r, 0) + 1
        version = self.versions[r].write(request.key, request.value, dict(clock), (self.net.now, r), request.op)
        write = (r, request.key, version)
        self._log(r, write)
        self._push(write)
        self.net.send(r, request.node, "reply", self._answer, request, version.clock, None)

    def _read(self, r: int, request: Request) -> None:
        versions = self.versions[r].get(request.key)
        output = self.versions[r].resolver.read(versions)
        self.net.send(r, request.node, "reply", self._answer, request, merged(*(v.clock for v in versions)), output,
                      payload=self.settings.value_bytes)

    @staticmethod
    def _answer(request: Request, clock: dict[int, int], output: Any) -> None:
        if not request.done:  # a client that stopped waiting learns nothing from a late reply
            request.session.merge(clock)
            request.reply(OK, output)

    # --- replication --------------------------------------------------------------
    def _receive(self, s: int, write: Write) -> None:
        """Replica ``s`` received ``write``: apply it, and whatever it unblocks, once
        its dependencies are applied."""
        origin, _, version = write
        seq = version.clock[origin]
        clock, pending = self.clocks[s], self._pending[s]
        if seq <= clock.get(origin, 0):
            return  # applied already
        if seq != clock.get(origin, 0) + 1 or not self._deps_met(clock, write):
            pending[(origin, seq)] = write
            return
        self._apply(s, write)
        while pending:
            ready = next((w for o in self.replicas if (w := pending.get((o, clock.get(o, 0) + 1))) is not None
                          and self._deps_met(clock, w)), None)
            if ready is None:
                break
            del pending[(ready[0], ready[2].clock[ready[0]])]
            self._apply(s, ready)
        if self._waiting[s]:
            self._wake(s)

    def _apply(self, s: int, write: Write) -> None:
        origin, key, version = write
        self.clocks[s][origin] = version.clock[origin]
        self._log(s, write)
        self._store(s, key, version)

    @staticmethod
    def _deps_met(clock: Clock, write: Write) -> bool:
        origin = write[0]
        return all(n <= clock.get(j, 0) for j, n in write[2].clock.items() if j != origin)

    def _wake(self, s: int) -> None:
        """Serve the operations at ``s`` whose context its clock now covers."""
        clock = self.clocks[s]
        still: list[tuple[Clock, Callable[[], None]]] = []
        ready: list[tuple[Clock, Callable[[], None]]] = []
        for item in self._waiting[s]:
            (ready if covers(clock, item[0]) else still).append(item)
        self._waiting[s] = still
        for _, serve in ready:
            serve()
