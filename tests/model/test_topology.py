"""Tests of wfsim.model.topology: the hierarchical builder, validation, and routes
(checked against networkx shortest paths)."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.model import LINK_DEFAULTS, TIER_DEFAULTS, Link, Node, Tier, Topology, TopologyError, hierarchical


def link_of(topo: Topology, a: str, b: str) -> Link:
    return topo.links[topo.link_index(a, b)]


def neighbours(topo: Topology, node_id: str) -> set[str]:
    out = set()
    for link in topo.links:
        if link.a == node_id:
            out.add(link.b)
        elif link.b == node_id:
            out.add(link.a)
    return out


# --- hierarchical -------------------------------------------------------------------
@pytest.mark.parametrize(("devices", "edge", "regional"), [(10, 2, 1), (7, 3, 2), (5, 4, 3), (0, 1, 0), (6, 4, 0)])
def test_hierarchical_structure(devices: int, edge: int, regional: int) -> None:
    topo = hierarchical(devices, edge, regional)
    assert len(topo.nodes_of(Tier.LOCAL_DEVICE)) == devices
    assert len(topo.nodes_of(Tier.EDGE_CLOUD)) == edge
    assert len(topo.nodes_of(Tier.REGIONAL_CLOUD)) == regional
    assert [n.id for n in topo.nodes_of(Tier.CLOUD)] == ["cloud"]
    assert len(topo.links) == devices + edge + regional  # a tree over 1 + … nodes
    g = nx.Graph([(link.a, link.b) for link in topo.links])
    g.add_nodes_from(n.id for n in topo.nodes)
    assert nx.is_tree(g)
    for i in range(devices):
        assert neighbours(topo, f"device-{i}") == {f"edge-{i % edge}"}
        assert link_of(topo, f"device-{i}", f"edge-{i % edge}") == Link(
            f"device-{i}", f"edge-{i % edge}", **LINK_DEFAULTS["device-edge"])
    for j in range(edge):
        up = f"regional-{j % regional}" if regional else "cloud"
        level = "edge-regional" if regional else "edge-cloud"
        assert link_of(topo, f"edge-{j}", up) == Link(f"edge-{j}", up, **LINK_DEFAULTS[level])
        assert neighbours(topo, f"edge-{j}") - {f"device-{i}" for i in range(devices)} == {up}
    for k in range(regional):
        expected = Link(f"regional-{k}", "cloud", **LINK_DEFAULTS["regional-cloud"])
        assert link_of(topo, f"regional-{k}", "cloud") == expected
    for node in topo.nodes:
        defaults = TIER_DEFAULTS[node.tier]
        assert {k: getattr(node, k) for k in defaults} == defaults


def test_hierarchical_without_regional_routes_edges_to_cloud() -> None:
    topo = hierarchical(4, 2, 0)
    d, c = topo.index["device-3"], topo.index["cloud"]
    expected = LINK_DEFAULTS["device-edge"]["latency"] + LINK_DEFAULTS["edge-cloud"]["latency"]
    assert topo.route_latency(d, c) == pytest.approx(expected)
    assert [topo.channel_ends(ch) for ch in topo.route(d, c)] == [("device-3", "edge-1"), ("edge-1", "cloud")]


def test_hierarchical_tiers_and_overrides() -> None:
    topo = hierarchical(
        3, 2, 1, device_tier="EdgeDevice", edge_tier=Tier.EDGE_DEVICE,
        nodes={"Cloud": {"cores": 64, "price": 1.0}, "EDGE_DEVICE": {"speed": 7.0}},
        links={"device-edge": {"latency": 0.002}, "regional-cloud": {"bandwidth": 5.0}},
    )
    assert {n.tier for n in topo.nodes if n.id.startswith(("device", "edge"))} == {Tier.EDGE_DEVICE}
    cloud = topo.node("cloud")
    assert (cloud.cores, cloud.price, cloud.speed) == (64, 1.0, TIER_DEFAULTS[Tier.CLOUD]["speed"])
    assert all(n.speed == 7.0 for n in topo.nodes_of(Tier.EDGE_DEVICE))
    assert topo.node("regional-0").cores == TIER_DEFAULTS[Tier.REGIONAL_CLOUD]["cores"]
    dev = link_of(topo, "device-0", "edge-0")
    assert (dev.latency, dev.bandwidth) == (0.002, LINK_DEFAULTS["device-edge"]["bandwidth"])
    rc = link_of(topo, "regional-0", "cloud")
    assert (rc.latency, rc.bandwidth) == (LINK_DEFAULTS["regional-cloud"]["latency"], 5.0)
    assert link_of(topo, "edge-1", "regional-0").latency == LINK_DEFAULTS["edge-regional"]["latency"]
    # the module-level defaults are not mutated by overrides
    assert TIER_DEFAULTS[Tier.CLOUD]["cores"] == 512
    assert LINK_DEFAULTS["device-edge"]["latency"] == 0.005


@pytest.mark.parametrize(("devices", "edge", "regional"), [(-1, 1, 1), (1, 0, 1), (1, 1, -1)])
def test_hierarchical_bad_counts(devices: int, edge: int, regional: int) -> None:
    with pytest.raises(TopologyError, match="devices >= 0, edge >= 1, regional >= 0"):
        hierarchical(devices, edge, regional)


def test_unknown_link_level_names_allowed() -> None:
    with pytest.raises(TopologyError) as info:
        hierarchical(2, 1, 1, links={"sky": {"latency": 1.0}})
    message = str(info.value)
    assert "'sky'" in message
    for level in LINK_DEFAULTS:
        assert level in message


def test_unknown_node_field_is_a_topology_error() -> None:
    with pytest.raises(TopologyError, match=r"unknown node field\(s\) \['colour'\] for tier Cloud"):
        hierarchical(2, 1, 1, nodes={"Cloud": {"colour": "blue"}})


def test_bad_override_value_is_a_topology_error() -> None:
    with pytest.raises(TopologyError, match="cores must be >= 1"):
        hierarchical(2, 1, 1, nodes={"Cloud": {"cores": 0}})


def test_unknown_override_tier_is_a_topology_error() -> None:
    with pytest.raises(TopologyError, match="allowed: LocalDevice, EdgeDevice, EdgeCloud, RegionalCloud, Cloud"):
        hierarchical(2, 1, 1, nodes={"Moon": {"cores": 2}})


def test_unknown_node_field_names_allowed_fields() -> None:
    with pytest.raises(TopologyError) as info:
        hierarchical(2, 1, 1, nodes={"Cloud": {"colour": "blue"}})
    for name in ("cores", "speed", "memory", "price", "idle_power", "busy_power"):
        assert name in str(info.value)


@pytest.mark.parametrize("field", ["id", "tier"])
def test_override_of_id_or_tier_is_a_topology_error(field: str) -> None:
    with pytest.raises(TopologyError, match=field):
        hierarchical(2, 1, 1, nodes={"Cloud": {field: "Cloud"}})


def test_unknown_link_field_is_a_topology_error() -> None:
    with pytest.raises(TopologyError, match="latency"):
        hierarchical(2, 1, 1, links={"device-edge": {"speed": 2.0}})


# --- Topology validation -----------------------------------------------------------
def test_topology_errors() -> None:
    a, b = Node("a", Tier.CLOUD), Node("b", Tier.CLOUD)
    with pytest.raises(TopologyError, match="no nodes"):
        Topology([])
    with pytest.raises(TopologyError, match="duplicate node id 'a'"):
        Topology([a, Node("a", Tier.EDGE_CLOUD)])
    with pytest.raises(TopologyError, match="names unknown node 'z'"):
        Topology([a, b], [Link("a", "z")])
    with pytest.raises(TopologyError, match="duplicate link between 'a' and 'b'"):
        Topology([a, b], [Link("a", "b"), Link("a", "b", latency=1)])
    with pytest.raises(TopologyError, match="duplicate link between 'b' and 'a'"):
        Topology([a, b], [Link("a", "b"), Link("b", "a")])
    with pytest.raises(TopologyError, match="connects a node to itself"):
        Link("a", "a")
    for bw in (0.0, -1.0, float("nan")):
        with pytest.raises(TopologyError, match="bandwidth must be > 0"):
            Link("a", "b", bandwidth=bw)
    with pytest.raises(TopologyError, match="latency must be >= 0"):
        Link("a", "b", latency=-0.1)
    with pytest.raises(TopologyError, match="no link between 'a' and 'b'"):
        Topology([a, b]).link_index("a", "b")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [({"cores": 0}, "cores must be >= 1"), ({"speed": 0.0}, "speed must be > 0"),
     ({"memory": -1.0}, "memory must be >= 0"), ({"price": -1.0}, "price must be >= 0"),
     ({"idle_power": -1.0}, "idle_power must be >= 0"), ({"busy_power": float("nan")}, "busy_power must be >= 0")],
)
def test_node_errors(kwargs: dict, pattern: str) -> None:
    with pytest.raises(TopologyError, match=f"node 'n': {pattern}"):
        Node("n", Tier.CLOUD, **kwargs)


# --- routes against networkx ---------------------------------------------------------
@st.composite
def connected_topologies(draw):
    n = draw(st.integers(2, 10))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    pairs = {(parents[i - 1], i) for i in range(1, n)}
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=15))
    pairs |= {(min(u, v), max(u, v)) for u, v in extra if u != v}
    pairs = sorted(pairs)
    # Integer-valued latencies keep sums exact, so equal-length paths tie exactly.
    lat = draw(st.lists(st.integers(0, 20), min_size=len(pairs), max_size=len(pairs)))
    nodes = [Node(f"n{i}", draw(st.sampled_from(list(Tier)))) for i in range(n)]
    links = [Link(f"n{u}", f"n{v}", latency=float(ms)) for (u, v), ms in zip(pairs, lat)]
    return Topology(nodes, links)


def reference_graph(topo: Topology, up: list[bool] | None = None) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(topo.nodes)))
    for k, link in enumerate(topo.links):
        if up is None or up[k]:
            g.add_edge(topo.index[link.a], topo.index[link.b], latency=link.latency)
    return g


def check_route(topo: Topology, src: int, dst: int) -> None:
    route = topo.route(src, dst)
    if src == dst:
        assert route == ()
        return
    assert route is not None
    hops = [topo.channel_ends(c) for c in route]
    assert hops[0][0] == topo.nodes[src].id and hops[-1][1] == topo.nodes[dst].id
    assert all(h[1] == nxt[0] for h, nxt in zip(hops, hops[1:])), hops
    assert all(topo.link_up[c >> 1] for c in route)


@given(connected_topologies())
@settings(max_examples=60, deadline=None)
def test_route_latency_is_shortest(topo: Topology) -> None:
    g = reference_graph(topo)
    dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="latency"))
    n = len(topo.nodes)
    for s in range(n):
        for d in range(n):
            check_route(topo, s, d)
            assert topo.route_latency(s, d) == dist[s][d]
            assert topo.route(s, d) is topo.route(s, d)  # cached object


def assert_nearest_order(found: tuple[int, ...], distance: dict[int, float]) -> None:
    """``found`` lists exactly the reachable nodes, by distance then index; distances
    equal up to float rounding (sums taken in another order) may come either way."""
    assert sorted(found) == sorted(distance)
    for a, b in zip(found, found[1:]):
        da, db = distance[a], distance[b]
        assert da < db or (da == db and a < b) or math.isclose(da, db, rel_tol=1e-12, abs_tol=1e-15), (a, b, da, db)


@given(connected_topologies(), st.data())
@settings(max_examples=60, deadline=None)
def test_routes_follow_link_state(topo: Topology, data) -> None:
    down = data.draw(st.lists(st.integers(0, len(topo.links) - 1), max_size=4, unique=True)) if topo.links else []
    for k in down:
        topo.set_link_up(k, False)
    g = reference_graph(topo, topo.link_up)
    n = len(topo.nodes)
    for s in range(n):
        lengths = nx.single_source_dijkstra_path_length(g, s, weight="latency")
        for d in range(n):
            if d in lengths:
                check_route(topo, s, d)
                assert topo.route_latency(s, d) == lengths[d]
            else:
                assert topo.route(s, d) is None
                assert topo.route_latency(s, d) == float("inf")
        tiers = frozenset(data.draw(st.sets(st.sampled_from(list(Tier)), min_size=1)))
        assert_nearest_order(topo.nearest(s, tiers), {i: d for i, d in lengths.items() if topo.nodes[i].tier in tiers})
    for k in down:
        topo.set_link_up(k, True)
    full = dict(nx.all_pairs_dijkstra_path_length(reference_graph(topo), weight="latency"))
    assert all(topo.route_latency(s, d) == full[s][d] for s in range(n) for d in range(n))


def triangle() -> Topology:
    nodes = [Node("a", Tier.LOCAL_DEVICE), Node("b", Tier.EDGE_CLOUD), Node("c", Tier.CLOUD)]
    links = [Link("a", "b", latency=0.001), Link("b", "c", latency=0.001), Link("a", "c", latency=0.005)]
    return Topology(nodes, links)


def test_link_down_reroutes_and_up_restores() -> None:
    topo = triangle()
    a, c = topo.index["a"], topo.index["c"]
    before = topo.route(a, c)
    assert [topo.channel_ends(ch) for ch in before] == [("a", "b"), ("b", "c")]
    assert topo.route_latency(a, c) == pytest.approx(0.002)
    assert topo.route(c, a) == (3, 1)  # reverse channels of links 1 and 0
    ab = topo.link_index("b", "a")
    topo.set_link_up(ab, False)
    assert topo.route(a, c) == (4,)  # link 2 forward
    assert topo.route_latency(a, c) == pytest.approx(0.005)
    topo.set_link_up(topo.link_index("a", "c"), False)
    assert topo.route(a, c) is None and topo.route_latency(a, c) == float("inf")
    assert topo.nearest(a, frozenset(Tier)) == (a,)
    topo.set_link_up(ab, True)
    topo.set_link_up(topo.link_index("a", "c"), True)
    assert topo.route(a, c) == before
    # setting a link to the state it already has keeps the cache
    cached = topo.route(a, c)
    topo.set_link_up(ab, True)
    assert topo.route(a, c) is cached


def test_nearest_orders_by_latency_then_definition() -> None:
    nodes = [Node("o", Tier.LOCAL_DEVICE), Node("far", Tier.CLOUD), Node("x", Tier.CLOUD), Node("y", Tier.CLOUD)]
    links = [Link("o", "far", latency=0.5), Link("o", "x", latency=0.1), Link("o", "y", latency=0.1)]
    topo = Topology(nodes, links)
    assert topo.nearest(0, frozenset({Tier.CLOUD})) == (2, 3, 1)
    assert topo.nearest(0, frozenset(Tier)) == (0, 2, 3, 1)
    assert topo.nearest(0, frozenset({Tier.REGIONAL_CLOUD})) == ()


def test_to_dict_round_trips() -> None:
    topo = hierarchical(3, 2, 1)
    d = topo.to_dict()
    again = Topology([Node(**{**n, "tier": Tier.parse(n["tier"])}) for n in d["nodes"]],
                     [Link(**link) for link in d["links"]])
    assert again.nodes == topo.nodes and again.links == topo.links


@settings(max_examples=20, deadline=None)
@given(down=st.sets(st.integers(0, 12), max_size=8))  # 13 links: 2 regional, 3 edge, 8 device
def test_side_is_the_first_node_of_the_connected_component_over_links_up(down: set[int]) -> None:
    topo = hierarchical(devices=8, edge=3, regional=2)
    assert [topo.side(i) for i in range(len(topo.nodes))] == [0] * len(topo.nodes)
    for k in down:
        topo.set_link_up(k, False)
    up = nx.Graph()
    up.add_nodes_from(range(len(topo.nodes)))
    up.add_edges_from((topo.index[link.a], topo.index[link.b]) for k, link in enumerate(topo.links) if topo.link_up[k])
    for component in nx.connected_components(up):
        assert {topo.side(v) for v in component} == {min(component)}


def test_access_points_link_each_device_to_the_next_edge_nodes_too() -> None:
    plain = hierarchical(devices=5, edge=3, regional=1)
    assert hierarchical(devices=5, edge=3, regional=1, access_points=1).to_dict() == plain.to_dict()
    multi = hierarchical(devices=5, edge=3, regional=1, access_points=3)
    assert multi.links[:len(plain.links)] == plain.links  # the usual links first, in the usual order
    extra = [(link.a, link.b) for link in multi.links[len(plain.links):]]
    assert extra[:4] == [("device-0", "edge-1"), ("device-0", "edge-2"), ("device-1", "edge-2"), ("device-1", "edge-0")]
    assert len(extra) == 10
    with pytest.raises(TopologyError, match=r"access_points must be in \[1, edge=3\], got 4"):
        hierarchical(devices=5, edge=3, access_points=4)


def test_a_copy_changes_its_links_on_its_own() -> None:
    topo = hierarchical(devices=2, edge=1, regional=1)
    topo.set_link_up(0, False)
    copy = topo.copy()
    assert copy.link_up == topo.link_up and copy.nodes == topo.nodes
    copy.set_link_up(1, False)
    assert topo.link_up[1] and not copy.link_up[1]
