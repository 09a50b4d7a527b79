"""What every replication protocol is: a :class:`ReplicationProtocol` serving
:class:`Request` s over a :class:`Transport`.

The store (:class:`~wfsim.consistency.store.ReplicatedStore`) picks a level per
operation and hands the request to that level's protocol; the protocol answers with
:meth:`Request.reply` when (and if) it can. The store owns the timeout: a protocol
never gives up on a request by itself, and a reply that comes after the store has
timed the request out is ignored (its effect, for a write, may still happen: that is
what an ``unknown`` outcome means).

Every message a protocol sends goes through :meth:`Transport.send`: it takes the
simulated network's latency and bandwidth, is lost when no route is up or when either
end is down, and is counted per protocol and kind (the trace's ``messages`` table).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import simpy

from wfsim._timers import Timers
from wfsim.consistency.resolvers import merged
from wfsim.model.enums import ConsistencyLevel

if TYPE_CHECKING:
    from wfsim.consistency.settings import ConsistencySettings
    from wfsim.engine.network import Network
    from wfsim.engine.node import NodeRuntime

#: Outcomes of an operation: it took effect and returned (ok), it certainly did not
#: (fail), or the client stopped waiting and cannot tell (unknown).
OK, FAIL, UNKNOWN = "ok", "fail", "unknown"


@dataclass(eq=False)
class Session:
    """A client's session: what it has seen, carried from one operation to the next
    (and, for a workflow, from a task to its successors).

    Attributes:
        client: The client's name in histories.
        clock: The causal context: a vector clock, replica node index → count (the
            seed's ``VectorClock``; missing entries are 0).
        level: An explicit level for this session's operations (the seed's
            ``ExplicitConsistencyContext``), or None to let the strategy choose.
    """

    client: str
    clock: dict[int, int] = field(default_factory=dict)
    level: ConsistencyLevel | None = None

    def merge(self, clock: dict[int, int]) -> None:
        """Pointwise maximum of the context and ``clock``."""
        self.clock = merged(self.clock, clock)

    def fork(self, client: str) -> Session:
        """A new session for ``client`` that starts with this one's context."""
        return Session(client, dict(self.clock), self.level)

    @contextmanager
    def consistency(self, level: ConsistencyLevel | str) -> Iterator[Session]:
        """Within the block, this session's operations ask for ``level`` (the seed's
        ``with_consistency``; here for reads and writes alike).

        Example:
            >>> s = Session("alice")
            >>> with s.consistency("Linearizable"):
            ...     s.level.value
            'Linearizable'
            >>> s.level is None
            True
        """
        previous = self.level
        self.level = ConsistencyLevel.parse(level)
        try:
            yield self
        finally:
            self.level = previous


@dataclass(eq=False)
class Request:
    """One operation at one level, in flight at a protocol.

    Attributes:
        op: The operation's id (its row in the trace's ``operations`` table).
        key: The key.
        f: ``"read"`` or ``"write"``.
        value: The value written (None for a read).
        node: Node index of the client (where the task runs).
        session: The client's session (a causal protocol reads and extends its clock).
        level: The level the request is served at.
        on_reply: Called once by :meth:`reply` (the store's completion).
        done: True once replied (later replies are ignored).
    """

    op: int
    key: str
    f: str
    value: Any
    node: int
    session: Session
    level: ConsistencyLevel
    on_reply: Callable[[Request, str, Any], None]
    done: bool = False

    @property
    def is_write(self) -> bool:
        return self.f == "write"

    def reply(self, outcome: str, output: Any = None) -> None:
        """Answer the client: ``outcome`` is ``"ok"`` or ``"fail"``; ``output`` is
        what a read returns (None: the key has no value). Only the first reply counts."""
        if not self.done:
            self.done = True
            self.on_reply(self, outcome, output)


class Transport:
    """Messages between replicas over the simulated network, and background timers.

    Args:
        env: The simulation's environment.
        network: The network messages travel through.
        nodes: The simulation's nodes (a message to or from a node that is down is lost).
        protocol: Name messages are counted under.
        background: Registers the pending timers (``Simulation.add_background``), so
            that timers alone do not keep a run going.
        message_bytes: Size of a message without its payload, bytes.

    Attributes:
        counts: ``kind → [sent, delivered, dropped, bytes]``.
        quiet: True once the run is only waiting for its end: periodic senders
            (heartbeats, anti-entropy) skip their rounds so the run can end.
        timers: Its background timers (:class:`~wfsim._timers.Timers`; ``pending``
            holds those still to fire).
        after: ``after(delay, action, *args)``: a background timer
            (:meth:`Timers.after <wfsim._timers.Timers.after>`); ``cancel(timer)`` stops it.
    """

    def __init__(self, env: simpy.Environment, network: Network, nodes: Sequence[NodeRuntime], protocol: str,
                 background: Callable[[Callable[[], Collection[simpy.Event]]], None],
                 message_bytes: float = 64.0) -> None:
        self.env = env
        self.network = network
        self.nodes = nodes
        self.protocol = protocol
        self.message_bytes = message_bytes
        self.counts: dict[str, list[float]] = {}
        self.quiet: Callable[[], bool] = lambda: False
        self.timers = Timers(env, background)
        self.after = self.timers.after
        self.cancel = self.timers.cancel

    @property
    def now(self) -> float:
        return self.env.now

    def up(self, node: int) -> bool:
        """Whether node index ``node`` is up (not crashed)."""
        return self.nodes[node].up

    def send(self, src: int, dst: int, kind: str, handler: Callable[..., None], *args: Any,
             payload: float = 0.0) -> bool:
        """Send a message of ``kind`` from ``src`` to ``dst``; on arrival (if ``dst`` is
        still up) call ``handler(*args)``. Returns False when it is lost at once (the
        sender is down or no route is up); a message lost on arrival returns True."""
        count = self.counts.get(kind)
        if count is None:
            count = self.counts[kind] = [0, 0, 0, 0.0]
        nbytes = self.message_bytes + payload
        count[0] += 1
        count[3] += nbytes
        if not self.nodes[src].up or not self.network.send(src, dst, nbytes, self._arrive, count, dst, handler, args):
            count[2] += 1
            return False
        return True

    def _arrive(self, count: list[float], dst: int, handler: Callable[..., None], args: tuple) -> None:
        if self.nodes[dst].up:
            count[1] += 1
            handler(*args)
        else:
            count[2] += 1

    def latency(self, src: int, dst: int) -> float:
        """Unloaded one-way message time from ``src`` to ``dst`` (inf: unreachable now)."""
        return self.network.estimate(src, dst, self.message_bytes)

    def nearest(self, node: int, candidates: Sequence[int]) -> int:
        """The candidate a client on ``node`` reaches soonest (the first when none is
        reachable: its messages will be lost)."""
        return min(candidates, key=lambda c: (self.latency(node, c), c))


class ReplicationProtocol(ABC):
    """A replication protocol serving one consistency level over a set of replicas.

    Subclasses set :attr:`level` and implement :meth:`submit` and :meth:`snapshot`;
    they may override :meth:`on_crash` and :meth:`on_recover` (a crash loses what a
    real process would keep in memory; what it would keep on disk survives).

    Args:
        transport: How replicas talk and keep timers.
        replicas: Node indices of the replicas, in order of preference (the first is
            the natural leader or sequencer).
        settings: The consistency settings (timeouts, Raft and gossip parameters, …).
        rng: The protocol's own random stream.
        record: The store's recorder hooks (:class:`ProtocolRecords`).
    """

    level: ClassVar[ConsistencyLevel]

    def __init__(self, transport: Transport, replicas: Sequence[int], settings: ConsistencySettings,
                 rng: np.random.Generator, record: ProtocolRecords) -> None:
        self.net = transport
        self.replicas = list(replicas)
        self.settings = settings
        self.rng = rng
        self.record = record

    @abstractmethod
    def submit(self, request: Request) -> None:
        """Start serving ``request``; call ``request.reply`` when it is done (or never,
        if it cannot be: the store times it out)."""

    @abstractmethod
    def snapshot(self) -> dict[str, dict[int, Any]]:
        """What each replica holds now: key → replica node index → the value a local
        read there would return (a list for kept siblings)."""

    # Optional hooks: a protocol that keeps nothing in memory needs neither.
    def on_crash(self, node: int) -> None:  # noqa: B027
        """Node index ``node`` crashed (it may not be a replica)."""

    def on_recover(self, node: int) -> None:  # noqa: B027
        """Node index ``node`` is back up."""


@dataclass
class ProtocolRecords:
    """What a protocol may record, besides its messages.

    Attributes:
        raft: ``(time, node, event, term, index, op)``: a Raft event (``RAFT_EVENTS``:
            a role change, a commit by the leader, an apply at a replica); ``index`` and
            ``op`` are -1 where they do not apply.
        resolution: ``(time, node, key, level code, resolver, inputs, lost)``: a
            conflict the resolver settled at a replica: ``inputs`` concurrent versions
            met, and ``lost`` of them were
            discarded without their effect surviving (last writer wins loses all but
            one; multi-value siblings and CRDT merges lose none).
    """

    raft: Callable[[tuple], None]
    resolution: Callable[[tuple], None]


__all__ = ["FAIL", "OK", "UNKNOWN", "ProtocolRecords", "ReplicationProtocol", "Request", "Session", "Transport"]
