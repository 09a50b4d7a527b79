"""A Raft group on a small hierarchical continuum, driven without the store: closed-loop
clients on devices, the run's crashes and recoveries hooked to the protocol, and what
the clients saw as a history for the checkers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wfsim import Simulation, hierarchical
from wfsim.consistency.protocols.base import OK, ProtocolRecords, Request, Session, Transport
from wfsim.consistency.protocols.raft import RaftProtocol
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults.processes import FaultProcess
from wfsim.model.enums import ConsistencyLevel
from wfsim.model.topology import Topology
from wfsim.trace.trace import Trace
from wfsim.verify.history import Operation

#: Replica node ids, first ``n`` used: one per region first, so that each of the first
#: three has a site of its own (an edge node and devices) to cut off with it.
REPLICAS = ("regional-0", "regional-1", "regional-2", "cloud", "edge-0")


def topology():
    """Three regions, each with an edge node and two devices."""
    return hierarchical(devices=6, edge=3, regional=3)


@dataclass(eq=False)
class RaftRun:
    """A Raft group in a simulation, with clients.

    Attributes:
        sim, net, raft: The simulation, the transport and the protocol.
        history: What the clients saw (filled as the run goes).
        trace: The run's trace, after :meth:`run`.
    """

    sim: Simulation
    net: Transport
    raft: RaftProtocol
    rng: np.random.Generator
    timeout: float
    history: list[Operation] = field(default_factory=list)
    trace: Trace | None = None
    _ops: int = 0

    def node(self, name: str) -> int:
        return self.sim.topology.index[name]

    def submit(self, client: str, node: int, f: str, key: str, value: Any = None,
               then: Callable[[], None] | None = None) -> Request:
        """Issue one operation; it enters :attr:`history` when answered or timed out
        (a write not answered within ``timeout`` is indeterminate: ``info``, returned
        never; such a read constrains nothing and is left out)."""
        op, call = self._ops, self.net.now
        self._ops += 1

        def done(request: Request, outcome: str, output: Any) -> None:
            self.history.append(Operation(op, client, f, key, value, output if f == "read" else None, call,
                                          self.net.now, "ok" if outcome == OK else "fail"))
            if then is not None:
                then()

        def expire(request: Request) -> None:
            if not request.done:
                request.done = True  # a late reply is ignored, as the store ignores it
                if f == "write":
                    self.history.append(Operation(op, client, f, key, value, None, call, math.inf, "info"))
                if then is not None:
                    then()

        request = Request(op, key, f, value, node, Session(client), ConsistencyLevel.LINEARIZABLE, done)
        self.net.after(self.timeout, expire, request)
        self.raft.submit(request)
        return request

    def client(self, name: str, node: str, start: float, stop: float, keys: Sequence[str] = ("x", "y"),
               think: float = 0.02, read_fraction: float = 0.5) -> None:
        """A closed-loop client on ``node``: reads and writes (unique values) from
        ``start`` until ``stop``, one at a time, ``think`` seconds apart."""
        where = self.node(node)

        def step() -> None:
            if self.net.now >= stop:
                return
            key = str(keys[int(self.rng.integers(len(keys)))])
            if self.rng.random() < read_fraction:
                self.submit(name, where, "read", key, then=lambda: self.net.after(think, step))
            else:
                self.submit(name, where, "write", key, f"{name}-{self._ops}", then=lambda: self.net.after(think, step))

        self.net.after(start, step)

    def leader(self) -> int | None:
        """The node index of the member leading in the highest term now, if any."""
        leaders = [m for m in self.raft.members.values() if m.role.value == "Leader" and self.net.up(m.node)]
        return max(leaders, key=lambda m: m.term).node if leaders else None

    def run(self) -> RaftRun:
        self.trace = self.sim.run().trace
        return self

    def rows(self) -> list[tuple]:
        """The ``raft`` table as ``(time, node, event, term, index, op)`` tuples."""
        assert self.trace is not None
        r = self.trace.raft
        return list(zip(r["time"], r["node"].astype(str), r["event"].astype(str), r["term"], r["index"], r["op"]))


def raft_run(n: int = 3, seed: int = 0, until: float = 4.0, faults: Sequence[FaultProcess] = (),
             timeout: float = 0.5, topo: Topology | None = None, replicas: Sequence[str] = REPLICAS,
             **settings: Any) -> RaftRun:
    """A Raft group on the first ``n`` of ``replicas`` of ``topo`` (default: :func:`topology`
    and :data:`REPLICAS`); clients are added by the caller."""
    sim = Simulation(topo or topology(), [], duration=0.0, until=until, faults=list(faults), seed=seed)
    s = ConsistencySettings(**settings)
    net = Transport(sim.env, sim.network, sim.nodes, "raft", sim.add_background, s.message_bytes)
    raft = RaftProtocol(net, [sim.topology.index[r] for r in replicas[:n]], s, sim.random.stream("consistency/raft"),
                        ProtocolRecords(raft=sim.recorder.record_raft, resolution=lambda row: None))
    sim.faults.on_crash.append(lambda node: raft.on_crash(node.index))
    sim.faults.on_recover.append(lambda node: raft.on_recover(node.index))
    return RaftRun(sim, net, raft, np.random.default_rng(seed), timeout)
