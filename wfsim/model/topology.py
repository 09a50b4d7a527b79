"""The continuum: nodes, links and routes.

Units: seconds, bytes, bytes/s, operations/s per core, currency per core-second, watts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from wfsim.model.enums import Tier


class TopologyError(ValueError):
    """A topology definition is malformed; the message names the problem."""


@dataclass(frozen=True)
class Node:
    """A compute node.

    Attributes:
        id: Unique name.
        tier: Position on the continuum.
        cores: Number of cores.
        speed: Operations per second of one core.
        memory: Bytes of memory.
        price: Currency per busy core-second (pay per use).
        idle_power: Watts drawn when idle.
        busy_power: Watts drawn with every core busy; power is linear in between.
        region: Optional free-form tag (site, availability zone, …).
    """

    id: str
    tier: Tier
    cores: int = 1
    speed: float = 1e9
    memory: float = 4 * 2**30
    price: float = 0.0
    idle_power: float = 0.0
    busy_power: float = 0.0
    region: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise TopologyError("node id must be a non-empty string")
        if self.cores < 1:
            raise TopologyError(f"node {self.id!r}: cores must be >= 1, got {self.cores}")
        for name in ("speed",):
            if not getattr(self, name) > 0:
                raise TopologyError(f"node {self.id!r}: {name} must be > 0, got {getattr(self, name)}")
        for name in ("memory", "price", "idle_power", "busy_power"):
            if not getattr(self, name) >= 0:
                raise TopologyError(f"node {self.id!r}: {name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Link:
    """A full-duplex link between two nodes; each direction carries its own traffic.

    Attributes:
        a, b: Node ids.
        latency: One-way propagation delay in seconds.
        bandwidth: Bytes per second in each direction (``inf`` for a free link).
    """

    a: str
    b: str
    latency: float = 0.001
    bandwidth: float = 125e6

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise TopologyError(f"link {self.a!r} -> {self.b!r} connects a node to itself")
        if not self.latency >= 0:
            raise TopologyError(f"link {self.a!r} -> {self.b!r}: latency must be >= 0, got {self.latency}")
        if not self.bandwidth > 0:
            raise TopologyError(f"link {self.a!r} -> {self.b!r}: bandwidth must be > 0, got {self.bandwidth}")


class Topology:
    """Nodes and links of the continuum with cached shortest-latency routes.

    A route is a tuple of *channels*: channel ``2*k`` is link ``k`` in its ``a → b``
    direction, ``2*k + 1`` the reverse. Routes avoid links that are down; changing a
    link's state clears the cache.

    Raises:
        TopologyError: duplicate node ids, links naming unknown nodes, duplicate links.
    """

    def __init__(self, nodes: Iterable[Node], links: Iterable[Link] = ()) -> None:
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.links: tuple[Link, ...] = tuple(links)
        if not self.nodes:
            raise TopologyError("topology has no nodes")
        self.index: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            if node.id in self.index:
                raise TopologyError(f"duplicate node id {node.id!r}")
            self.index[node.id] = i
        self._graph: nx.Graph[int] = nx.Graph()
        self._graph.add_nodes_from(range(len(self.nodes)))
        for k, link in enumerate(self.links):
            for end in (link.a, link.b):
                if end not in self.index:
                    raise TopologyError(f"link {link.a!r} -> {link.b!r} names unknown node {end!r}")
            a, b = self.index[link.a], self.index[link.b]
            if self._graph.has_edge(a, b):
                raise TopologyError(f"duplicate link between {link.a!r} and {link.b!r}")
            self._graph.add_edge(a, b, latency=link.latency, link=k)
        self.link_up: list[bool] = [True] * len(self.links)
        self._routes: dict[tuple[int, int], tuple[int, ...] | None] = {}
        self._nearest: dict[tuple[int, frozenset[Tier]], tuple[int, ...]] = {}
        self._reach_cache: _Reach | None = None
        self._sides: list[int] | None = None
        #: Bumped on every link state change, so caches built on routes elsewhere
        #: (placement candidates, transfer estimates) know to rebuild.
        self.version = 0

    # --- queries -----------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        """The node called ``node_id``."""
        return self.nodes[self.index[node_id]]

    def index_of(self, node_id: str) -> int:
        """Position of node ``node_id``.

        Raises:
            ValueError: For an unknown id; the message lists (the first dozen) ids.
        """
        try:
            return self.index[node_id]
        except (KeyError, TypeError):
            ids = [n.id for n in self.nodes]
            shown = ", ".join(ids[:12]) + (f", … ({len(ids)} nodes)" if len(ids) > 12 else "")
            raise ValueError(f"unknown node {node_id!r}; allowed: {shown}") from None

    def nodes_of(self, *tiers: Tier) -> list[Node]:
        """Nodes of the given tiers, in definition order."""
        return [n for n in self.nodes if n.tier in tiers]

    def channel_ends(self, channel: int) -> tuple[str, str]:
        """``(from, to)`` node ids of a channel."""
        link = self.links[channel >> 1]
        return (link.a, link.b) if channel % 2 == 0 else (link.b, link.a)

    def route(self, src: int, dst: int) -> tuple[int, ...] | None:
        """Channels on the shortest-latency path from node index ``src`` to ``dst``;
        ``()`` when they are the same node, None when no path is up."""
        key = (src, dst)
        try:
            return self._routes[key]
        except KeyError:
            pass
        reach = self._reach()
        if src == dst:
            route: tuple[int, ...] | None = ()
        elif src in reach.leaves and reach.leaves[src][0] != dst:
            via = self.route(reach.leaves[src][0], dst)
            route = None if via is None else (self._channel(src, reach.leaves[src][0]),) + via
        elif dst in reach.leaves and reach.leaves[dst][0] != src:
            via = self.route(src, reach.leaves[dst][0])
            route = None if via is None else via + (self._channel(reach.leaves[dst][0], dst),)
        else:
            try:
                path = nx.dijkstra_path(reach.graph, src, dst, weight="latency")
            except nx.NetworkXNoPath:
                path = None
            route = None if path is None else tuple(self._channel(u, v) for u, v in zip(path, path[1:]))
        self._routes[key] = route
        return route

    def route_latency(self, src: int, dst: int) -> float:
        """Propagation latency along the route (``inf`` when unreachable)."""
        route = self.route(src, dst)
        if route is None:
            return float("inf")
        return sum(self.links[c >> 1].latency for c in route)

    def nearest(self, origin: int, tiers: frozenset[Tier]) -> tuple[int, ...]:
        """Indices of nodes of the given tiers that ``origin`` can reach, nearest first
        (by route latency, then definition order)."""
        key = (origin, tiers)
        try:
            return self._nearest[key]
        except KeyError:
            pass
        reach = self._reach()
        leaf = reach.leaves.get(origin)
        if leaf is not None and leaf[1] > 0:
            # A leaf reaches everything through its one neighbour, strictly farther
            # than itself: the neighbour's order with the leaf in front.
            own = (origin,) if self.nodes[origin].tier in tiers else ()
            result = own + tuple(i for i in self.nearest(leaf[0], tiers) if i != origin)
        else:
            if leaf is not None:  # a leaf on a zero-latency link: tied with its neighbour
                dist = {i: leaf[1] + d for i, d in reach.distances(leaf[0]).items()}
                dist[origin] = 0.0
            else:
                dist = reach.distances(origin)
            found = [(d, i) for i, d in dist.items() if self.nodes[i].tier in tiers]
            for tier in tiers:
                found += [(dist[nb] + latency, i) for i, nb, latency in reach.leaves_of.get(tier, ())
                          if nb in dist and i != origin]
            result = tuple(i for _, i in sorted(found))
        self._nearest[key] = result
        return result

    def copy(self) -> Topology:
        """A topology of the same nodes and links, with the same links up, whose link
        state changes independently of this one's."""
        other = Topology(self.nodes, self.links)
        for k, up in enumerate(self.link_up):
            if not up:
                other.set_link_up(k, False)
        return other

    # --- link state --------------------------------------------------------------
    def set_link_up(self, link: int, up: bool) -> None:
        """Bring a link up or down; routes are recomputed on next use."""
        if self.link_up[link] != up:
            self.link_up[link] = up
            self.version += 1
            self._routes.clear()
            self._nearest.clear()
            self._reach_cache = None
            self._sides = None

    def side(self, node: int) -> int:
        """The partition side node index ``node`` is on: the first node, in topology
        order, of its connected component over the links that are up (``node`` itself
        when it is cut off from everything). Cached until a link changes state."""
        if self._sides is None:
            sides = list(range(len(self.nodes)))
            for component in nx.connected_components(self._reach().graph):
                first = min(component)
                for v in component:
                    sides[v] = first
            self._sides = sides
        return self._sides[node]

    def link_index(self, a: str, b: str) -> int:
        """Index of the link between nodes ``a`` and ``b`` (either order)."""
        try:
            link: int = self._graph.edges[self.index[a], self.index[b]]["link"]
        except KeyError:
            raise TopologyError(f"no link between {a!r} and {b!r}") from None
        return link

    def _channel(self, u: int, v: int) -> int:
        k: int = self._graph.edges[u, v]["link"]
        return 2 * k if self.index[self.links[k].a] == u else 2 * k + 1

    def _reach(self) -> _Reach:
        if self._reach_cache is None:
            up: nx.Graph[int] = nx.Graph()
            up.add_nodes_from(self._graph.nodes)
            up.add_edges_from((u, v, d) for u, v, d in self._graph.edges(data=True) if self.link_up[d["link"]])
            self._reach_cache = _Reach(up, self.nodes)
        return self._reach_cache

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (the YAML ``nodes``/``links`` form)."""
        def node_dict(n: Node) -> dict[str, Any]:
            d = {k: getattr(n, k) for k in n.__dataclass_fields__}
            d["tier"] = n.tier.value
            return d
        return {
            "nodes": [node_dict(n) for n in self.nodes],
            "links": [{k: getattr(link, k) for k in link.__dataclass_fields__} for link in self.links],
        }

    def __repr__(self) -> str:
        counts = {t.value: len(self.nodes_of(t)) for t in Tier if self.nodes_of(t)}
        return f"Topology({counts}, {len(self.links)} links)"


class _Reach:
    """Shortest-path structure of the links that are up.

    Devices hang off the continuum by a single link, and a node of degree one is never
    on a shortest path between two others. So paths are searched on the *core* (every
    node but such leaves) and a leaf's distance is its neighbour's plus its link:
    Dijkstra runs over hundreds of core nodes, not thousands of devices.

    Attributes:
        graph: The links that are up.
        leaves: Leaf node → (its neighbour, the link's latency).
        leaves_of: Per tier, ``(leaf, neighbour, latency)`` triples.
    """

    def __init__(self, graph: nx.Graph, nodes: tuple[Node, ...]) -> None:
        self.graph = graph
        self.leaves: dict[int, tuple[int, float]] = {}
        self.leaves_of: dict[Tier, list[tuple[int, int, float]]] = {}
        for v in graph.nodes:
            if graph.degree(v) == 1:
                (nb,) = graph.neighbors(v)
                if graph.degree(nb) > 1:
                    latency = graph.edges[v, nb]["latency"]
                    self.leaves[v] = (nb, latency)
                    self.leaves_of.setdefault(nodes[v].tier, []).append((v, nb, latency))
        self.core = graph.subgraph(v for v in graph.nodes if v not in self.leaves).copy()
        self._distances: dict[int, dict[int, float]] = {}

    def distances(self, origin: int) -> dict[int, float]:
        """Route latency from a core node to every core node it reaches."""
        try:
            return self._distances[origin]
        except KeyError:
            dist = self._distances[origin] = nx.single_source_dijkstra_path_length(
                self.core, origin, weight="latency")
            return dist


# --- builders ----------------------------------------------------------------------

#: Per-tier node defaults used by :func:`hierarchical`. Orders of magnitude, not a
#: measurement: a phone-class device, a gateway, a MEC rack, a regional DC, a cloud
#: region. Prices per core-second follow on-demand cloud pricing (~0.04/core-hour).
TIER_DEFAULTS: dict[Tier, dict[str, Any]] = {
    Tier.LOCAL_DEVICE: dict(cores=1, speed=1e9, memory=2 * 2**30, price=0.0, idle_power=1.0, busy_power=4.0),
    Tier.EDGE_DEVICE: dict(cores=4, speed=1.5e9, memory=4 * 2**30, price=0.0, idle_power=4.0, busy_power=12.0),
    Tier.EDGE_CLOUD: dict(cores=16, speed=2e9, memory=64 * 2**30, price=2e-5, idle_power=100.0, busy_power=300.0),
    Tier.REGIONAL_CLOUD: dict(cores=64, speed=2.5e9, memory=256 * 2**30, price=1.5e-5, idle_power=300.0,
                              busy_power=900.0),
    Tier.CLOUD: dict(cores=512, speed=3e9, memory=2048 * 2**30, price=1.1e-5, idle_power=2000.0, busy_power=7000.0),
}

#: Link defaults used by :func:`hierarchical`, keyed by level.
LINK_DEFAULTS: dict[str, dict[str, float]] = {
    "device-edge": dict(latency=0.005, bandwidth=12.5e6),      # 5 ms, 100 Mbit/s
    "edge-regional": dict(latency=0.010, bandwidth=125e6),     # 10 ms, 1 Gbit/s
    "regional-cloud": dict(latency=0.030, bandwidth=1.25e9),   # 30 ms, 10 Gbit/s
    "edge-cloud": dict(latency=0.040, bandwidth=125e6),        # used when there is no regional tier
}


def hierarchical(
    devices: int = 10,
    edge: int = 2,
    regional: int = 1,
    *,
    device_tier: Tier | str = Tier.LOCAL_DEVICE,
    edge_tier: Tier | str = Tier.EDGE_CLOUD,
    nodes: Mapping[Tier | str, Mapping[str, Any]] | None = None,
    links: Mapping[str, Mapping[str, float]] | None = None,
    access_points: int = 1,
) -> Topology:
    """Build ``devices → edge → regional → one cloud`` as a tree.

    Device ``i`` attaches to edge node ``i mod edge``, edge node ``j`` to regional cloud
    ``j mod regional`` (or straight to the cloud when ``regional`` is 0). Node ids are
    ``device-<i>``, ``edge-<j>``, ``regional-<k>`` and ``cloud``.

    Args:
        devices: Number of devices (``device_tier``).
        edge: Number of edge nodes (``edge_tier``).
        regional: Number of regional clouds.
        device_tier: Tier of the devices (LocalDevice or EdgeDevice).
        edge_tier: Tier of the edge nodes (EdgeDevice or EdgeCloud).
        nodes: Per-tier overrides of :data:`TIER_DEFAULTS`, e.g.
            ``{"Cloud": {"cores": 64}}``.
        links: Per-level overrides of :data:`LINK_DEFAULTS`, e.g.
            ``{"device-edge": {"latency": 0.002}}``.
        access_points: Edge nodes each device links to: device ``i`` also links to
            edge nodes ``i+1 … i+k-1`` (mod ``edge``), after every other link, so a
            device can hand over between them (the ``mobility`` fault process).
            Without mobility, a device uses the nearest one up.
    """
    if devices < 0 or edge < 1 or regional < 0:
        raise TopologyError(
            f"hierarchical topology needs devices >= 0, edge >= 1, regional >= 0; "
            f"got devices={devices}, edge={edge}, regional={regional}"
        )
    if not 1 <= access_points <= edge:
        raise TopologyError(f"access_points must be in [1, edge={edge}], got {access_points}")
    device_tier, edge_tier = Tier.parse(device_tier), Tier.parse(edge_tier)
    node_params = {tier: dict(params) for tier, params in TIER_DEFAULTS.items()}
    node_fields = [f for f in Node.__dataclass_fields__ if f not in ("id", "tier")]
    for tier, override in (nodes or {}).items():
        try:
            tier = Tier.parse(tier)
        except ValueError as exc:
            raise TopologyError(str(exc)) from None
        unknown = sorted(set(override) - set(node_fields))
        if unknown:
            raise TopologyError(f"unknown node field(s) {unknown} for tier {tier.value}; "
                                f"allowed: {', '.join(node_fields)}")
        node_params[tier].update(override)
    link_params = {level: dict(params) for level, params in LINK_DEFAULTS.items()}
    for level, override in (links or {}).items():
        if level not in link_params:
            raise TopologyError(f"unknown link level {level!r}; allowed: {', '.join(LINK_DEFAULTS)}")
        unknown = sorted(set(override) - {"latency", "bandwidth"})
        if unknown:
            raise TopologyError(f"unknown link field(s) {unknown} for level {level}; allowed: latency, bandwidth")
        link_params[level].update(override)

    built: list[Node] = [Node("cloud", Tier.CLOUD, **node_params[Tier.CLOUD])]
    wires: list[Link] = []
    for k in range(regional):
        built.append(Node(f"regional-{k}", Tier.REGIONAL_CLOUD, **node_params[Tier.REGIONAL_CLOUD]))
        wires.append(Link(f"regional-{k}", "cloud", **link_params["regional-cloud"]))
    for j in range(edge):
        built.append(Node(f"edge-{j}", edge_tier, **node_params[edge_tier]))
        if regional:
            wires.append(Link(f"edge-{j}", f"regional-{j % regional}", **link_params["edge-regional"]))
        else:
            wires.append(Link(f"edge-{j}", "cloud", **link_params["edge-cloud"]))
    for i in range(devices):
        built.append(Node(f"device-{i}", device_tier, **node_params[device_tier]))
        wires.append(Link(f"device-{i}", f"edge-{i % edge}", **link_params["device-edge"]))
    for i in range(devices):
        for extra in range(1, access_points):
            wires.append(Link(f"device-{i}", f"edge-{(i + extra) % edge}", **link_params["device-edge"]))
    return Topology(built, wires)

