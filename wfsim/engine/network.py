"""Data transfers over the topology, at two fidelities.

Both networks take ``send(src, dst, nbytes, callback, *args)`` and call
``callback(*args)`` when the data has arrived at ``dst``. Routes are the topology's
cached shortest-latency paths, fixed when the transfer starts: a link going down does
not affect data already in flight, only later routes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import simpy

from wfsim.model.enums import NetworkFidelity
from wfsim.model.topology import Topology

Callback = Callable[..., None]


class Network(ABC):
    """Moves bytes between node indices and records link usage.

    Attributes:
        bytes_sent: Bytes carried per channel (link direction), for quick metrics.
    """

    def __init__(self, env: simpy.Environment, topology: Topology, record_hop: Callable[[tuple], None]) -> None:
        self.env = env
        self.topology = topology
        self._record_hop = record_hop
        self._latency = [link.latency for link in topology.links for _ in (0, 1)]
        self._bandwidth = [link.bandwidth for link in topology.links for _ in (0, 1)]
        self._estimates: dict[tuple[int, int], tuple[float, float]] = {}
        self._version = topology.version

    def send(self, src: int, dst: int, nbytes: float, callback: Callback, *args: Any) -> bool:
        """Start moving ``nbytes`` from ``src`` to ``dst``.

        Returns False (and never calls back) when ``dst`` is unreachable. A transfer to
        the same node completes at once, within this call.
        """
        route = self.topology.route(src, dst)
        if route is None:
            return False
        if not route:
            callback(*args)
            return True
        self._send(route, nbytes, callback, args)
        return True

    def set_latency_factor(self, link: int, factor: float) -> None:
        """From now on, link ``link`` (both directions) has ``factor`` times its
        nominal latency (1: nominal again). Messages starting on the link later see
        it (data already in flight keeps the latency it started with); estimates are
        recomputed.

        Raises:
            ValueError: For a factor that is not a positive number.
        """
        if not 0 < factor < float("inf"):
            raise ValueError(f"a latency factor must be > 0, got {factor}")
        self._latency[2 * link] = self._latency[2 * link + 1] = self.topology.links[link].latency * factor
        self._estimates.clear()

    @abstractmethod
    def _send(self, route: tuple[int, ...], nbytes: float, callback: Callback, args: tuple) -> None: ...

    def estimate(self, src: int, dst: int, nbytes: float) -> float:
        """Unloaded transfer time: route latency plus ``nbytes`` over the route's
        bottleneck bandwidth (``inf`` when unreachable). Cheap and cached; ignores
        queueing, so placement strategies can call it freely."""
        if self._version != self.topology.version:  # a link changed state
            self._estimates.clear()
            self._version = self.topology.version
        key = (src, dst)
        try:
            latency, bottleneck = self._estimates[key]
        except KeyError:
            route = self.topology.route(src, dst)
            if route is None:
                return float("inf")
            latency = sum(self._latency[c] for c in route)
            bottleneck = min((self._bandwidth[c] for c in route), default=float("inf"))
            self._estimates[key] = (latency, bottleneck)
        return latency + nbytes / bottleneck


class FastNetwork(Network):
    """Store-and-forward; each link direction transmits one message at a time, FIFO.

    A message reaching a link at time ``t`` starts transmitting at
    ``max(t, link busy until)``, occupies the link for ``nbytes / bandwidth`` and
    reaches the far end ``latency`` later. Exact for FIFO links with one SimPy event
    per hop (no per-link process or resource).
    """

    def __init__(self, env: simpy.Environment, topology: Topology, record_hop: Callable[[tuple], None]) -> None:
        super().__init__(env, topology, record_hop)
        self._busy_until = [0.0] * len(self._latency)

    def _send(self, route: tuple[int, ...], nbytes: float, callback: Callback, args: tuple) -> None:
        _Hop(self, route, nbytes, callback, args).advance(None)


class _Hop:
    """One message moving through a :class:`FastNetwork`, hop by hop."""

    __slots__ = ("net", "route", "i", "nbytes", "callback", "args")

    def __init__(self, net: FastNetwork, route: tuple[int, ...], nbytes: float, callback: Callback,
                 args: tuple) -> None:
        self.net = net
        self.route = route
        self.i = 0
        self.nbytes = nbytes
        self.callback = callback
        self.args = args

    def advance(self, _event: simpy.Event | None) -> None:
        i = self.i
        if i == len(self.route):
            self.callback(*self.args)
            return
        net = self.net
        env = net.env
        channel = self.route[i]
        self.i = i + 1
        now = env.now
        busy_until = net._busy_until
        busy = busy_until[channel]
        start = now if busy < now else busy
        nbytes = self.nbytes
        done = busy_until[channel] = start + nbytes / net._bandwidth[channel]
        arrive = done + net._latency[channel]
        net._record_hop((start, arrive, channel, nbytes))
        env.timeout(arrive - now).callbacks.append(self.advance)


class SharedNetwork(Network):
    """Fluid flows sharing link bandwidth max-min fairly (progressive filling).

    A flow sends its bytes along the whole route at the rate max-min fairness gives
    it; rates are recomputed whenever a flow starts or ends. Once its last byte has
    left, the data reaches the destination after the route's propagation latency.
    """

    # A flow whose remaining bytes fall below this share of its size has also
    # finished (floating-point residue from rate × time products).
    _EPS = 1e-9

    def __init__(self, env: simpy.Environment, topology: Topology, record_hop: Callable[[tuple], None]) -> None:
        super().__init__(env, topology, record_hop)
        self._flows: list[_Flow] = []
        self._updated = 0.0
        self._generation = 0

    def _send(self, route: tuple[int, ...], nbytes: float, callback: Callback, args: tuple) -> None:
        now = self.env.now
        latency = sum(self._latency[c] for c in route)
        if nbytes <= 0:
            for c in route:
                self._record_hop((now, now + latency, c, 0.0))
            self.env.timeout(latency).callbacks.append(lambda _e: callback(*args))
            return
        self._progress()
        self._flows.append(_Flow(route, nbytes, now, latency, callback, args))
        self._reallocate()

    def _progress(self) -> None:
        now = self.env.now
        elapsed = now - self._updated
        if elapsed > 0:
            for flow in self._flows:
                flow.remaining -= flow.rate * elapsed
        self._updated = now

    def _reallocate(self) -> None:
        flows = self._flows
        capacity: dict[int, float] = {}
        users: dict[int, list[_Flow]] = {}
        for flow in flows:
            flow.rate = -1.0
            for c in flow.route:
                capacity[c] = self._bandwidth[c]
                users.setdefault(c, []).append(flow)
        unfrozen = len(flows)
        while unfrozen:
            # The most constrained link fixes the rate of every flow crossing it.
            share, bottleneck = min(
                (capacity[c] / sum(1 for f in fs if f.rate < 0), c)
                for c, fs in users.items() if any(f.rate < 0 for f in fs)
            )
            for flow in users[bottleneck]:
                if flow.rate < 0:
                    flow.rate = share
                    unfrozen -= 1
                    if share != float("inf"):
                        for c in flow.route:
                            capacity[c] -= share
        self._generation += 1
        if flows:
            now = self.env.now
            for flow in flows:
                flow.finish = now + flow.remaining / flow.rate
            soonest = min(f.finish for f in flows)
            generation = self._generation
            self.env.timeout(max(soonest - now, 0.0)).callbacks.append(lambda _e: self._on_timer(generation))

    def _on_timer(self, generation: int) -> None:
        if generation != self._generation:
            return  # superseded by a later reallocation
        self._progress()
        now = self.env.now
        # The flow the timer was set for is done by definition (its residue may be a
        # rounding error, or too small to advance the clock at all).
        done = [f.finish <= now or f.remaining <= self._EPS * f.size for f in self._flows]
        finished = [f for f, d in zip(self._flows, done) if d]
        self._flows = [f for f, d in zip(self._flows, done) if not d]
        for flow in finished:
            arrive = now + flow.latency
            for c in flow.route:
                self._record_hop((flow.start, arrive, c, flow.size))
            def deliver(_e: simpy.Event, cb: Callback = flow.callback, a: tuple = flow.args) -> None:
                cb(*a)

            self.env.timeout(flow.latency).callbacks.append(deliver)
        self._reallocate()


class _Flow:
    __slots__ = ("route", "size", "remaining", "rate", "finish", "start", "latency", "callback", "args")

    def __init__(self, route: tuple[int, ...], size: float, start: float, latency: float,
                 callback: Callback, args: tuple) -> None:
        self.route = route
        self.size = size
        self.remaining = size
        self.rate = 0.0
        self.finish = start
        self.start = start
        self.latency = latency
        self.callback = callback
        self.args = args


NETWORKS: dict[NetworkFidelity, type[Network]] = {
    NetworkFidelity.FAST: FastNetwork,
    NetworkFidelity.SHARED: SharedNetwork,
}
