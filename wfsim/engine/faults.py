"""Applying fault processes' schedules to a running simulation.

The :class:`FaultInjector` (``sim.faults``) draws each process's schedule before the
run and applies every fault start and end at its time, before anything else happens
at that instant. It holds links down by *count*: a link is up only when no fault
holds it (a partition and an outage overlapping keep it down until both end), and
likewise a node is up only when no crash holds it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Collection, Sequence

import simpy
from simpy.core import URGENT

from wfsim.engine.network import Network
from wfsim.engine.node import NodeRuntime
from wfsim.engine.randomness import RandomStreams
from wfsim.faults.fault import END_OF, Fault, link_name, link_of
from wfsim.faults.processes import FaultProcess
from wfsim.model.events import (
    CRASH,
    FAULT_KINDS,
    HANDOVER,
    HEAL,
    LINK_DOWN,
    LINK_UP,
    PARTITION,
    RECOVER,
    SPIKE,
    SPIKE_END,
)
from wfsim.model.topology import Topology
from wfsim.trace.recorder import TraceRecorder

#: Who changed a node or link when no fault process did (a direct call).
DIRECT = "direct"


class FaultInjector:
    """Applies fault schedules and keeps the ground truth of what is down.

    Every change is a row of the trace's ``faults`` table, ``(time, kind, target,
    process, detail)``: ``crash``/``recover`` and ``link_down``/``link_up`` rows record
    a node or link actually going down or up (a fault finding it already down writes
    none; ``detail`` names the cause of a link's change when it is not a link outage:
    ``crash``, ``partition`` or ``handover``, and a site's name on its nodes' crash
    rows); ``partition``/``heal``, ``spike``/``spike_end`` and ``handover`` rows record
    each such fault. So a link is down exactly between its ``link_down`` and the next
    ``link_up`` row.

    Args:
        env: The simulation's environment.
        topology: The run's topology (its links go down and up).
        network: The run's network (spikes scale its latencies).
        nodes: The run's nodes.
        recorder: Where rows go.
        processes: The fault processes; each draws from the stream
            ``faults/<name>/<index>`` of ``random``.
        random: The run's random streams.
        horizon: Faults are drawn up to this simulated time.

    Attributes:
        on_crash: Called with the :class:`~wfsim.engine.node.NodeRuntime` when a node
            crashes (after it is marked down and its links are held down).
        on_recover: Called with the node when it comes back (after its links are released).
        link_holds: Per link, how many faults hold it down (a link down before the run
            counts one that is never released).
        node_holds: Per node, how many crashes hold it down.
    """

    def __init__(self, env: simpy.Environment, topology: Topology, network: Network, nodes: Sequence[NodeRuntime],
                 recorder: TraceRecorder, processes: Sequence[FaultProcess] = (),
                 random: RandomStreams | None = None, horizon: float = math.inf) -> None:
        self.env = env
        self.topology = topology
        self.network = network
        self.nodes = nodes
        self.processes = tuple(processes)
        self.on_crash: list[Callable[[NodeRuntime], None]] = []
        self.on_recover: list[Callable[[NodeRuntime], None]] = []
        self.link_holds = [0 if up else 1 for up in topology.link_up]
        self.node_holds = [0] * len(nodes)
        self._record = recorder.record_fault
        self._links_of: list[list[int]] = [[] for _ in topology.nodes]
        for k, link in enumerate(topology.links):
            self._links_of[topology.index[link.a]].append(k)
            self._links_of[topology.index[link.b]].append(k)
        self._factors: dict[int, list[float]] = {}  # active spike factors per link
        self._access: dict[int, int] = {}  # device → its access point now (mobility)
        self._due: list[tuple[float, int, bool, Fault, str]] = []  # (time, order, is end, fault, process)
        self._order = itertools.count()  # ties at one time: in drawing order
        self._pending: set[simpy.Event] = set()
        if self.processes and random is None:
            raise ValueError("fault processes need the run's random streams")
        for i, process in enumerate(self.processes):
            assert random is not None
            for fault in process.draw(random.stream(f"faults/{process.name}/{i}"), topology, horizon):
                self._push(fault.start, False, fault, process.name)
                if END_OF[fault.kind] is not None and fault.end < math.inf:
                    self._push(fault.end, True, fault, process.name)
        self._arm()

    # --- the schedule ------------------------------------------------------------
    def pending(self) -> Collection[simpy.Event]:
        """The scheduled event of the next fault change (for ``Simulation.add_background``)."""
        return self._pending

    def _push(self, time: float, end: bool, fault: Fault, process: str) -> None:
        heapq.heappush(self._due, (time, next(self._order), end, fault, process))

    def _arm(self) -> None:
        if not self._due:
            return
        event = simpy.Event(self.env)
        event._ok, event._value = True, None  # a triggered event: fires at its time
        # URGENT: a fault at t is in force for everything else that happens at t.
        self.env.schedule(event, URGENT, self._due[0][0] - self.env.now)
        event.callbacks.append(self._fire)
        self._pending.add(event)

    def _fire(self, event: simpy.Event) -> None:
        self._pending.discard(event)
        now = self.env.now
        while self._due and self._due[0][0] <= now:
            _, _, end, fault, process = heapq.heappop(self._due)
            (self._end if end else self._start)(fault, process)
        self._arm()

    def _start(self, fault: Fault, process: str) -> None:
        topo, now, kind = self.topology, self.env.now, fault.kind
        if kind == FAULT_KINDS[CRASH]:
            for node in fault.targets:
                self.crash(topo.index[node], process, fault.name or None)
        elif kind == FAULT_KINDS[LINK_DOWN]:
            for name in fault.targets:
                self.hold_link(link_of(topo, name), process)
        elif kind == FAULT_KINDS[PARTITION]:
            self._record((now, PARTITION, fault.name, process, ",".join(fault.targets)))
            for k in self._cut(fault.targets):
                self.hold_link(k, process, "partition")
        elif kind == FAULT_KINDS[SPIKE]:
            for name in fault.targets:
                k = link_of(topo, name)
                self._record((now, SPIKE, name, process, f"{fault.factor:g}"))
                self._factors.setdefault(k, []).append(fault.factor)
                self.network.set_latency_factor(k, math.prod(self._factors[k]))
        else:
            self._handover(fault, process)

    def _end(self, fault: Fault, process: str) -> None:
        topo, now, kind = self.topology, self.env.now, fault.kind
        if kind == FAULT_KINDS[CRASH]:
            for node in fault.targets:
                self.recover(topo.index[node], process, fault.name or None)
        elif kind == FAULT_KINDS[LINK_DOWN]:
            for name in fault.targets:
                self.release_link(link_of(topo, name), process)
        elif kind == FAULT_KINDS[PARTITION]:
            self._record((now, HEAL, fault.name, process, ",".join(fault.targets)))
            for k in self._cut(fault.targets):
                self.release_link(k, process, "partition")
        else:  # a spike
            for name in fault.targets:
                k = link_of(topo, name)
                self._record((now, SPIKE_END, name, process, f"{fault.factor:g}"))
                self._factors[k].remove(fault.factor)
                self.network.set_latency_factor(k, math.prod(self._factors[k]))

    def _cut(self, members: Sequence[str]) -> list[int]:
        """The links with exactly one end among ``members``."""
        inside = set(members)
        return [k for k, link in enumerate(self.topology.links) if (link.a in inside) != (link.b in inside)]

    def _handover(self, fault: Fault, process: str) -> None:
        topo = self.topology
        device, access = (topo.index[n] for n in fault.targets)
        before = self._access.get(device)
        self._record((self.env.now, HANDOVER, fault.targets[0], process,
                      f"{'' if before is None else topo.nodes[before].id}->{fault.targets[1]}"))
        if before == access:
            return
        self._access[device] = access
        rank = topo.nodes[device].tier.order
        for k in self._links_of[device]:
            link = topo.links[k]
            other = topo.index[link.b if topo.index[link.a] == device else link.a]
            if other == access and before is not None:
                self.release_link(k, process, "handover")
            elif (other == before or before is None) and other != access and topo.nodes[other].tier.order > rank:
                self.hold_link(k, process, "handover")

    # --- the ground truth --------------------------------------------------------
    def hold_link(self, link: int, process: str = DIRECT, detail: str | None = None) -> None:
        """One more fault holds link ``link`` down; it goes down (routes change, a
        ``link_down`` row) if it was up."""
        self.link_holds[link] += 1
        if self.link_holds[link] == 1:
            self.topology.set_link_up(link, False)
            self._record((self.env.now, LINK_DOWN, link_name(self.topology, link), process, detail))

    def release_link(self, link: int, process: str = DIRECT, detail: str | None = None) -> None:
        """One fault fewer holds link ``link`` down; it comes up (a ``link_up`` row)
        when none is left.

        Raises:
            ValueError: Nothing holds the link down.
        """
        if self.link_holds[link] <= 0:
            raise ValueError(f"link {link_name(self.topology, link)} is not held down")
        self.link_holds[link] -= 1
        if not self.link_holds[link]:
            self.topology.set_link_up(link, True)
            self._record((self.env.now, LINK_UP, link_name(self.topology, link), process, detail))

    def crash(self, node: int, process: str = DIRECT, detail: str | None = None) -> None:
        """One more crash holds node ``node`` (an index) down. If it was up, it stops:
        ``up`` becomes False, every link of it is held down (it forwards nothing), a
        ``crash`` row is written, then :attr:`on_crash` is called."""
        self.node_holds[node] += 1
        if self.node_holds[node] != 1:
            return
        runtime = self.nodes[node]
        runtime.up = False
        self._record((self.env.now, CRASH, runtime.spec.id, process, detail))
        for k in self._links_of[node]:
            self.hold_link(k, process, "crash")
        for callback in self.on_crash:
            callback(runtime)

    def recover(self, node: int, process: str = DIRECT, detail: str | None = None) -> None:
        """One crash fewer holds node ``node`` down; when none is left it comes back
        (empty: what ran there was lost when it crashed): its links are released, a
        ``recover`` row is written, ``up`` becomes True, then :attr:`on_recover` is called.

        Raises:
            ValueError: The node is not crashed.
        """
        if self.node_holds[node] <= 0:
            raise ValueError(f"node {self.topology.nodes[node].id} is not crashed")
        self.node_holds[node] -= 1
        if self.node_holds[node]:
            return
        runtime = self.nodes[node]
        for k in self._links_of[node]:
            self.release_link(k, process, "crash")
        self._record((self.env.now, RECOVER, runtime.spec.id, process, detail))
        runtime.up = True
        for callback in self.on_recover:
            callback(runtime)
