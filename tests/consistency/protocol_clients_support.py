"""Driving a replication protocol without the store: a simulation with no workload,
clients that issue one operation at a time over a session, and the history they saw
(unique written values; an operation not answered within the level's timeout is
indeterminate), ready for the checkers of :mod:`wfsim.verify.history`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from wfsim import Simulation, hierarchical
from wfsim.consistency.protocols.base import ProtocolRecords, ReplicationProtocol, Request, Session, Transport
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults import Partitions
from wfsim.policies.consistency import FixedLevel
from wfsim.verify.history import Operation, check_history

#: Replicas of the default topology, the cloud first (the sequencer).
REPLICAS = ("cloud", "regional-0", "regional-1", "edge-0", "edge-1")
#: Gap between a reply and the client's next call (a client calls strictly after).
THINK = 1e-4


class Clients:
    """A protocol on ``hierarchical(devices=4, edge=2, regional=2)`` (or
    ``topology``) with scripted or random clients; :meth:`run` runs to ``until``.

    Attributes:
        history: What the clients saw, one :class:`Operation` per operation.
        resolutions: The protocol's resolution records.
        sent: Writes issued (values are 1, 2, …).
    """

    def __init__(self, protocol: type[ReplicationProtocol], *, settings: ConsistencySettings | None = None,
                 seed: int = 0, faults: Sequence[Any] = (), until: float = 30.0, topology: Any = None,
                 replicas: Sequence[str] = REPLICAS) -> None:
        self.settings = settings or ConsistencySettings()
        self.sim = Simulation(topology or hierarchical(devices=4, edge=2, regional=2), [], duration=until,
                              until=until, faults=faults, seed=seed, trace="metrics")
        sim = self.sim
        self.transport = Transport(sim.env, sim.network, sim.nodes, protocol.level.value, sim.add_background,
                                   self.settings.message_bytes)
        self.resolutions: list[tuple] = []
        records = ProtocolRecords(raft=lambda row: None, resolution=self.resolutions.append)
        self.protocol = protocol(self.transport, [self.node(r) for r in replicas], self.settings,
                                 sim.random.stream("protocol"), records)
        sim.faults.on_crash.append(lambda node: self.protocol.on_crash(node.index))
        sim.faults.on_recover.append(lambda node: self.protocol.on_recover(node.index))
        self.timeout = self.settings.timeout(protocol.level)
        self.history: list[Operation] = []
        self.sessions: dict[str, Session] = {}
        self.sent = 0
        self._ids = 0

    def node(self, name: str) -> int:
        return self.sim.topology.index[name]

    def client(self, name: str, node: str, script: Iterable[tuple]) -> None:
        """A client on ``node`` that issues ``(time, f, key)`` operations in order, each
        at its time or just after the previous one ends (a write writes a new value);
        ``(time, f, key, other)`` issues that one from node ``other`` (the client moved)."""
        self.sessions[name] = Session(name)
        self.sim.env.process(self._run(name, node, list(script)))

    def random_client(self, name: str, node: str, rng: np.random.Generator, *, ops: int, keys: int = 2,
                      reads: float = 0.5, rate: float = 5.0, start: float = 0.0) -> None:
        """A client issuing ``ops`` random operations, one every exponential gap of
        mean ``1/rate`` seconds, over keys ``k0 … k<keys-1>``."""
        t, script = start, []
        for _ in range(ops):
            t += float(rng.exponential(1.0 / rate))
            script.append((t, "read" if rng.random() < reads else "write", f"k{int(rng.integers(keys))}"))
        self.client(name, node, script)

    def run(self) -> Clients:
        # The simulation's events only: no workload, so no trace or metrics to build.
        self.sim.env.run(until=self.sim.until)
        return self

    def _run(self, name: str, home: str, script: list[tuple]):
        env, session = self.sim.env, self.sessions[name]
        for at, f, key, *moved in script:
            node = self.node(moved[0] if moved else home)
            yield env.timeout(max(at - env.now, THINK))
            value = None
            if f == "write":
                self.sent += 1
                value = self.sent
            done = env.event()
            request = Request(self._ids, key, f, value, node, session, self.protocol.level,
                              lambda _r, outcome, output, done=done: done.succeed((outcome, output)))
            self._ids += 1
            call = env.now
            self.protocol.submit(request)
            yield done | env.timeout(self.timeout)
            if done.triggered:
                outcome, output = done.value
                self.history.append(Operation(request.op, name, f, key, value, output, call, env.now,
                                              "ok" if outcome == "ok" else "fail"))
            else:
                request.done = True  # as the store does: a late reply is ignored
                self.history.append(Operation(request.op, name, f, key, value, None, call, math.inf, "info"))

    def ops(self, client: str) -> list[Operation]:
        return [op for op in self.history if op.process == client]

    def verdict(self, consistency: str) -> str:
        return check_history(self.history, "register", consistency, budget=20).verdict


def store_history(operations: Any) -> list[Operation]:
    """The history in a trace's ``operations`` table (one attempt per operation: a
    run without the fallback chain); an ``unknown`` outcome is indeterminate."""
    out = []
    for row in operations.itertuples():
        value = None if row.value is pd.NA else json.loads(row.value)
        output = None if row.output is pd.NA else json.loads(row.output)
        status = {"ok": "ok", "fail": "fail", "unknown": "info"}[row.outcome]
        out.append(Operation(int(row.op), str(row.client), str(row.f), str(row.key), value, output, float(row.call),
                             math.inf if status == "info" else float(row.ret), status))
    return out


def store_run(level: str, seed: int = 2) -> list[Operation]:
    """The history of six state clients (two keys) using the store at ``level`` only
    for 10 s, with edge-1's site cut off from 3 s to 6 s."""
    settings = ConsistencySettings(strategy=FixedLevel(level=level), fallback=False, clients=6, client_rate=4.0,
                                   client_keys=2, anti_entropy_interval=0.5)
    result = Simulation(hierarchical(devices=4, edge=2, regional=2), [], duration=10.0, seed=seed,
                        consistency=settings, faults=[Partitions(site="edge-1", start=3.0, duration=3.0)]).run()
    return store_history(result.trace.operations)
