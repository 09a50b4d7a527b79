"""A stand-in replication protocol for tests of what surrounds the protocols (the
store, the history, the catalog): every request goes to the first replica, which
applies it, answers and copies each write to the others. ``lazy`` makes reads local
(whatever the nearest copy holds), which breaks linearizability on purpose."""

from __future__ import annotations

from typing import Any

from wfsim.consistency.protocols.base import OK, ReplicationProtocol, Request
from wfsim.model.enums import ConsistencyLevel


class PrimaryCopy(ReplicationProtocol):
    """Every request goes to the first replica, which applies it and answers; the
    others get each write after it (a copy per replica)."""

    level = ConsistencyLevel.LINEARIZABLE
    lazy = False
    delay = 0.0  # before the copies leave the primary

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.held: dict[int, dict[str, Any]] = {r: {} for r in self.replicas}

    def submit(self, request: Request) -> None:
        if self.lazy and not request.is_write:  # a local read: whatever the nearest copy has
            here = self.net.nearest(request.node, self.replicas)
            self.net.send(request.node, here, "read", self._answer, request, here)
            return
        self.net.send(request.node, self.replicas[0], "request", self._answer, request, self.replicas[0])

    def _answer(self, request: Request, at: int) -> None:
        if request.is_write:
            self.held[at][request.key] = request.value
            for other in self.replicas[1:]:
                self.net.after(self.delay, self.net.send, at, other, "copy", self._copy, other, request.key,
                               request.value)
        output = None if request.is_write else self.held[at].get(request.key)
        self.net.send(at, request.node, "reply", request.reply, OK, output)

    def _copy(self, at: int, key: str, value: Any) -> None:
        self.held[at][key] = value

    def snapshot(self) -> dict[str, dict[int, Any]]:
        keys = {k for held in self.held.values() for k in held}
        return {k: {r: self.held[r].get(k) for r in self.replicas} for k in keys}


#: Every level served by the stand-in (inject as the store's ``protocols``).
ONE_COPY = dict.fromkeys(ConsistencyLevel, PrimaryCopy)
