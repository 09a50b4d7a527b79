"""The replicated key-value store: replicas, the level of each operation, timeouts and
the fallback chain, and the history clients saw.

A request's level is, in order: the one the caller names, else its session's, else
the strategy's for the key, the operation and the store's health; never weaker than
the key's floor. The request is an *attempt* at that level's protocol; if no answer
comes within the level's timeout the attempt is ``unknown`` (it may still take
effect) and, with ``fallback``, the request is tried again one level down
(Linearizable → Sequential → Causal → Eventual), never below the floor. Every attempt
is a row of the ``operations`` table, recorded at its invocation and completed at its
return. Writes pass the partition write gate first, when there is one: a refused
write certainly did not happen (``fail``). An acknowledged write is also copied, in
the background, to every weaker level's replicas (the seed's hybrid store), so a
weaker read sees stronger writes; a stronger read does not see weaker writes.

Tasks use the store through :meth:`ReplicatedStore.read_keys` (before they start)
and :meth:`ReplicatedStore.write_keys` (when they end), in one session per task
instance whose causal context starts from its predecessors' (what a task saw, its
successors have seen). State clients (``clients`` in the settings) issue operations
beside the workflows, one at a time each, on keys ``kv:<i>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from wfsim._timers import Timers
from wfsim.consistency.health import HealthMonitor
from wfsim.consistency.protocols.base import (
    FAIL,
    OK,
    UNKNOWN,
    ProtocolRecords,
    ReplicationProtocol,
    Request,
    Session,
    Transport,
)
from wfsim.consistency.settings import ConsistencySettings
from wfsim.model.enums import ConsistencyLevel, NodeState, ReplicationPolicy, SystemHealth, Tier
from wfsim.model.events import LEVELS, OPERATIONS, OUTCOMES
from wfsim.model.topology import Topology
from wfsim.policies.consistency import key_type
from wfsim.trace.recorder import TraceRecorder

if TYPE_CHECKING:
    from wfsim.engine.detection import FailureDetector
    from wfsim.engine.executor import WorkflowRun
    from wfsim.engine.network import Network
    from wfsim.engine.node import NodeRuntime
    from wfsim.engine.partitions import WriteGate

ProtocolFactory = Callable[[Transport, Sequence[int], ConsistencySettings, np.random.Generator, ProtocolRecords],
                           ReplicationProtocol]
#: ``(outcome, output, reason)``: how a request ended, for whoever issued it.
Done = Callable[[str, Any, "str | None"], None]

_LEVEL = {ConsistencyLevel(v): i for i, v in enumerate(LEVELS)}
_F = {f: i for i, f in enumerate(OPERATIONS)}
_OUTCOME = {o: i for i, o in enumerate(OUTCOMES)}
# Row positions in the recorder's operation rows.
_OUTPUT, _RET, _RESULT, _REASON = 8, 12, 13, 14


def _ignore(req: Request, outcome: str, output: Any) -> None:
    """The reply to a cascaded write: nobody waits for it."""


class StateError(ValueError):
    """A store that cannot be built: no node to hold replicas, an unknown node, …"""


def replica_nodes(topology: Topology, settings: ConsistencySettings) -> list[int]:
    """The replicas' node indices, by the replication policy, nearest the cloud first
    (the first is the natural Raft leader and the Sequential sequencer).

    ``None``: the first node of the highest state tier. ``FullReplication``: every node
    of the state tiers. ``RegionalReplication``: the first Cloud node, then per regional
    cloud ``replication_factor`` nodes of its region (itself first, then its nearest
    state-tier nodes). ``Custom``: the nodes named.

    Raises:
        StateError: No node of the state tiers, or an unknown node named.
    """
    policy = ReplicationPolicy(settings.replication)
    if policy is ReplicationPolicy.CUSTOM:
        try:
            return list(dict.fromkeys(topology.index_of(n) for n in settings.nodes))
        except ValueError as exc:
            raise StateError(f"consistency: nodes: {exc}") from None
    tiers = sorted(set(settings.tiers), key=lambda t: -t.order)
    candidates = [topology.index[n.id] for tier in tiers for n in topology.nodes_of(tier)]
    if not candidates:
        raise StateError("consistency: the topology has no node of the state tiers "
                         f"({', '.join(t.value for t in settings.tiers)}) to hold replicas")
    if policy is ReplicationPolicy.NONE:
        return candidates[:1]
    if policy is ReplicationPolicy.FULL_REPLICATION:
        return candidates
    chosen = [topology.index[n.id] for n in topology.nodes_of(Tier.CLOUD)][:1]
    state_tiers = frozenset(settings.tiers)
    for regional in topology.nodes_of(Tier.REGIONAL_CLOUD):
        root = topology.index[regional.id]
        near = [root, *(i for i in topology.nearest(root, state_tiers) if i != root)]
        chosen.extend(i for i in near[:settings.replication_factor] if i not in chosen)
    return chosen or candidates[:1]


class ReplicatedStore:
    """Replicated key-value state with a consistency level per operation.

    Args:
        env: The simulation's environment.
        topology: Its topology.
        nodes: Its nodes, in topology order.
        network: The network protocol messages travel through.
        recorder: Where operations, health checks and protocol events go.
        settings: The ``consistency`` settings.
        protocols: Level → protocol class (:data:`~wfsim.consistency.protocols.PROTOCOLS`);
            only the levels the strategy, the floors and the fallback chain can reach
            are started.
        stream: The run's named random streams (``RandomStreams.stream``).
        background: Registers background timers (``Simulation.add_background``).
        detector: The failure detector, if any: replicas it suspects count as
            unavailable for health (else a replica is available while it is up).
        write_gate: The partition write gate, if any: it judges every write at the
            client's node.

    Attributes:
        replicas: Replica node indices.
        protocols: The running protocols by level.
        monitor: The health monitor.
        sessions: ``(workflow id, task index) → Session`` of task instances.

    Raises:
        StateError: No replica can be placed, or a level has no protocol.
    """

    def __init__(self, env: simpy.Environment, topology: Topology, nodes: Sequence[NodeRuntime], network: Network,
                 recorder: TraceRecorder, settings: ConsistencySettings,
                 protocols: Mapping[ConsistencyLevel, ProtocolFactory],
                 stream: Callable[[str], np.random.Generator],
                 background: Callable[[Callable[[], Collection[simpy.Event]]], None],
                 detector: FailureDetector | None = None, write_gate: WriteGate | None = None) -> None:
        self.env = env
        self.topology = topology
        self.nodes = nodes
        self.settings = settings
        self.detector = detector
        self.write_gate = write_gate
        self.replicas = replica_nodes(topology, settings)
        self._floors = {prefix: ConsistencyLevel(level) for prefix, level in settings.floors.items()}
        self._record = recorder.record_operation
        self._recorder = recorder
        self._next_op = 0
        self._next_request = 0
        self.sessions: dict[tuple[int, int], Session] = {}
        self._inflight = 0
        records = ProtocolRecords(raft=recorder.record_raft, resolution=recorder.record_resolution)
        self.transports: dict[ConsistencyLevel, Transport] = {}
        self.protocols: dict[ConsistencyLevel, ReplicationProtocol] = {}
        for level in self.reachable_levels():
            if level not in protocols:
                raise StateError(f"consistency: no protocol serves level {level.value}")
            transport = Transport(env, network, nodes, level.value, background, settings.message_bytes)
            self.transports[level] = transport
            self.protocols[level] = protocols[level](transport, self.replicas, settings,
                                                     stream(f"consistency/{level.value}"), records)
        self.monitor = HealthMonitor(settings, self.available, Timers(env, background), recorder.record_health)
        self.quiet: Callable[[], bool] = lambda: False
        for transport in self.transports.values():
            transport.quiet = lambda: self.quiet() and not self._inflight

    # --- levels ----------------------------------------------------------------------
    def reachable_levels(self) -> list[ConsistencyLevel]:
        """Every level an operation may be served at: the strategy's, the floors', and,
        with the fallback chain, every level below them (strongest first)."""
        levels = set(self.settings.strategy.levels()) | set(self._floors.values())
        if self.settings.fallback:
            strongest = min(level.rank for level in levels)
            levels |= {level for level in ConsistencyLevel if level.rank >= strongest}
        return sorted(levels, key=lambda level: level.rank)

    def floor(self, key: str) -> ConsistencyLevel | None:
        """The weakest level ``key`` may be served at (None: any)."""
        return self._floors.get(key_type(key))

    def level_for(self, key: str, f: str, session: Session | None = None,
                  level: ConsistencyLevel | str | None = None) -> ConsistencyLevel:
        """The level a request would get now: ``level`` if given, else the session's,
        else the strategy's; raised to the key's floor."""
        if level is not None:
            chosen = ConsistencyLevel.parse(level)
        elif session is not None and session.level is not None:
            chosen = session.level
        else:
            chosen = self.settings.strategy.level_for(key, f, self.health)
        floor = self.floor(key)
        return floor if floor is not None and floor.rank < chosen.rank else chosen

    @property
    def health(self) -> SystemHealth:
        """The store's health in force."""
        return self.monitor.health

    def available(self) -> tuple[int, int]:
        """``(replicas available, replicas)``: by the detector's belief when there is one,
        else by whether they are up."""
        if self.detector is not None:
            state = self.detector.state
            return sum(state[i] is NodeState.HEALTHY for i in self.replicas), len(self.replicas)
        return sum(self.nodes[i].up for i in self.replicas), len(self.replicas)

    # --- requests --------------------------------------------------------------------
    def request(self, session: Session, node: int, key: str, f: str, done: Done | None = None,
                level: ConsistencyLevel | str | None = None) -> int:
        """Issue a read or a write of ``key`` from a client on node index ``node``.

        A write writes its operation's id (every written value is unique, so
        histories can be checked). ``done(outcome, output, reason)`` is called once the
        request has ended: ``ok`` with what a read returned, ``fail`` (it did not
        happen: refused), or ``unknown`` (no answer, even down the fallback chain).

        Returns:
            The request's id.

        Raises:
            ValueError: For an operation other than read or write.
        """
        if f not in _F:
            raise ValueError(f"unknown operation {f!r}; allowed: {', '.join(OPERATIONS)}")
        request = self._next_request
        self._next_request += 1
        chosen = self.level_for(key, f, session, level)
        self._attempt(request, 0, session, node, key, f, chosen, chosen, done)
        return request

    def _attempt(self, request: int, attempt: int, session: Session, node: int, key: str, f: str,
                 requested: ConsistencyLevel, level: ConsistencyLevel, done: Done | None) -> None:
        op = self._next_op
        self._next_op += 1
        now = self.env.now
        value = op if f == "write" else None
        row: list[Any] = [op, request, attempt, session.client, node, key, _F[f],
                          None if value is None else json.dumps(value), None, _LEVEL[requested], _LEVEL[level],
                          now, float("nan"), -1, None]
        self._record(row)
        if f == "write" and self.write_gate is not None and not self.write_gate.accepts(node):
            reason = f"write refused: {self.write_gate.strategy.value}"
            self._close(row, FAIL, None, reason)
            if done is not None:
                done(FAIL, None, reason)
            return
        self._inflight += 1

        def replied(req: Request, outcome: str, output: Any) -> None:
            self._inflight -= 1
            self.monitor.observe(self.env.now - now)
            self._close(row, outcome, output, None if outcome == OK else f"refused at {level.value}")
            if outcome == OK and req.is_write:
                self._cascade(req)
            if done is not None:
                done(outcome, output, row[_REASON])

        req = Request(op, key, f, value, node, session, level, replied)
        timeout = self.settings.timeout(level)
        self.env.timeout(timeout).callbacks.append(lambda _e: self._timed_out(req, row, timeout, done))
        self.protocols[level].submit(req)

    def _cascade(self, req: Request) -> None:
        """Copy an acknowledged write to every weaker level's replicas in the background
        (the seed's hybrid store: a write at level L is visible in every weaker store),
        as a write from the same client node carrying the client's context. It is no
        client operation: it has no row and no timeout."""
        for level, protocol in self.protocols.items():
            if level.rank > req.level.rank:
                protocol.submit(Request(req.op, req.key, "write", req.value, req.node, req.session.fork("cascade"),
                                        level, _ignore))

    def _timed_out(self, req: Request, row: list[Any], timeout: float, done: Done | None) -> None:
        if req.done:
            return
        req.done = True  # a late answer is ignored: the client has given up
        self._inflight -= 1
        self.monitor.observe(timeout)
        level = req.level
        reason = f"no answer within {timeout:g} s at {level.value}"
        self._close(row, UNKNOWN, None, reason)
        lower = level.weaker()
        floor = self.floor(req.key)
        if self.settings.fallback and lower is not None and (floor is None or lower.rank <= floor.rank):
            self._attempt(row[1], row[2] + 1, req.session, req.node, req.key, req.f,
                          ConsistencyLevel(LEVELS[row[9]]), lower, done)
        elif done is not None:
            done(UNKNOWN, None, reason)

    def _close(self, row: list[Any], outcome: str, output: Any, reason: str | None) -> None:
        row[_RET] = self.env.now
        row[_RESULT] = _OUTCOME[outcome]
        row[_REASON] = reason
        if outcome == OK and row[6] == _F["read"]:
            row[_OUTPUT] = json.dumps(output)

    # --- tasks -----------------------------------------------------------------------
    def session(self, run: WorkflowRun, task: int) -> Session:
        """The session of task ``task`` of ``run``: its context starts as the merge of
        its predecessors' contexts."""
        key = (run.id, task)
        found = self.sessions.get(key)
        if found is None:
            found = Session(f"{run.id}/{run.spec.tasks[task].id}")
            for p in run.spec.predecessors[task]:
                found.merge(self.session(run, p).clock)
            self.sessions[key] = found
        return found

    def read_keys(self, run: WorkflowRun, task: int, node: int, then: Callable[[], None],
                  fail: Callable[[str], None]) -> bool:
        """Read the task's state keys one after another from ``node``, then call
        ``then()``; on a read that fails or gets no answer, call ``fail(reason)``.
        Returns False (and calls nothing) for a task without state keys."""
        return self._sequence(run, task, node, "read", then, fail)

    def write_keys(self, run: WorkflowRun, task: int, node: int, then: Callable[[], None],
                   fail: Callable[[str], None]) -> bool:
        """Write the task's state keys one after another; as :meth:`read_keys`."""
        return self._sequence(run, task, node, "write", then, fail)

    def _sequence(self, run: WorkflowRun, task: int, node: int, f: str, then: Callable[[], None],
                  fail: Callable[[str], None]) -> bool:
        templates = run.spec.tasks[task].state_keys
        if not templates:
            return False
        keys = sorted(t.replace("<id>", str(run.id)) for t in templates)
        session = self.session(run, task)

        def step(i: int) -> None:
            if i == len(keys):
                then()
                return

            def done(outcome: str, output: Any, reason: str | None) -> None:
                if outcome == OK:
                    step(i + 1)
                else:
                    fail(f"state {f} of {keys[i]!r}: {reason}")

            self.request(session, node, keys[i], f, done)

        step(0)
        return True

    # --- faults and the end of the run --------------------------------------------------
    def on_crash(self, node: NodeRuntime) -> None:
        """A node crashed: every protocol forgets what it kept in memory there."""
        for protocol in self.protocols.values():
            protocol.on_crash(node.index)

    def on_recover(self, node: NodeRuntime) -> None:
        """A node is back up."""
        for protocol in self.protocols.values():
            protocol.on_recover(node.index)

    def finish(self) -> None:
        """Record what each replica holds and the messages each protocol sent (the
        ``replicas`` and ``messages`` tables); called once, when the run ends."""
        rec = self._recorder
        for level, protocol in self.protocols.items():
            code = _LEVEL[level]
            for key, held in sorted(protocol.snapshot().items()):
                for node, value in sorted(held.items()):
                    rec.replicas.append((code, key, node, json.dumps(value)))
            for kind, (sent, delivered, dropped, nbytes) in sorted(self.transports[level].counts.items()):
                rec.messages.append((code, kind, int(sent), int(delivered), int(dropped), float(nbytes)))
