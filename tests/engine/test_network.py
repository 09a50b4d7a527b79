"""Transfers: timing of both network fidelities against closed-form answers."""

from __future__ import annotations

import math

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.engine.network import FastNetwork, SharedNetwork
from wfsim.model import Link, LocationRequirement, Node, Tier, Topology


def line_topology(*links: tuple[float, float]) -> Topology:
    """n0 — n1 — … with the given (latency, bandwidth) per link."""
    nodes = [Node(f"n{i}", Tier.CLOUD) for i in range(len(links) + 1)]
    return Topology(nodes, [Link(f"n{i}", f"n{i + 1}", lat, bw) for i, (lat, bw) in enumerate(links)])


def run_transfers(network_cls, topology: Topology, sends: list[tuple[float, int, int, float]]) -> list[float]:
    """Start each (time, src, dst, bytes) transfer and return the arrival times."""
    env = simpy.Environment()
    hops: list[tuple] = []
    net = network_cls(env, topology, hops.append)
    arrivals = [math.nan] * len(sends)

    def arrived(i: int) -> None:
        arrivals[i] = env.now

    def start(i: int, src: int, dst: int, nbytes: float) -> None:
        assert net.send(src, dst, nbytes, arrived, i)

    for i, (t, src, dst, nbytes) in enumerate(sends):
        env.timeout(t).callbacks.append(lambda _e, i=i, s=src, d=dst, b=nbytes: start(i, s, d, b))
    env.run()
    return arrivals


@pytest.mark.parametrize("network", [FastNetwork, SharedNetwork])
@given(latency=st.floats(0, 1), bandwidth=st.floats(1e3, 1e10), nbytes=st.floats(0, 1e9))
@settings(max_examples=50, deadline=None)
def test_one_transfer_takes_latency_plus_size_over_bandwidth(network, latency, bandwidth, nbytes) -> None:
    (arrival,) = run_transfers(network, line_topology((latency, bandwidth)), [(0.0, 0, 1, nbytes)])
    assert arrival == pytest.approx(latency + nbytes / bandwidth, rel=1e-9, abs=1e-12)


def test_same_node_transfer_is_instant() -> None:
    (arrival,) = run_transfers(FastNetwork, line_topology((0.5, 10.0)), [(2.0, 1, 1, 1e6)])
    assert arrival == 2.0


def test_fast_network_serialises_a_link_fifo_and_forwards_hop_by_hop() -> None:
    topo = line_topology((0.1, 100.0), (0.2, 50.0))
    a, b = run_transfers(FastNetwork, topo, [(0.0, 0, 2, 100.0), (0.5, 0, 2, 100.0)])
    # First: 1 s on link 0, +0.1 propagation, 2 s on link 1, +0.2.
    assert a == pytest.approx(1.0 + 0.1 + 2.0 + 0.2)
    # Second waits for link 0 until t=1, leaves it at 2; link 1 is busy until 3.1.
    assert b == pytest.approx(max(2.0 + 0.1, 3.1) + 2.0 + 0.2)


def test_fast_network_latency_does_not_occupy_the_link() -> None:
    topo = line_topology((10.0, 100.0))
    a, b = run_transfers(FastNetwork, topo, [(0.0, 0, 1, 100.0), (0.0, 0, 1, 100.0)])
    assert (a, b) == (pytest.approx(11.0), pytest.approx(12.0))


def test_full_duplex_directions_do_not_interfere() -> None:
    topo = line_topology((0.0, 100.0))
    a, b = run_transfers(FastNetwork, topo, [(0.0, 0, 1, 100.0), (0.0, 1, 0, 100.0)])
    assert a == pytest.approx(1.0) and b == pytest.approx(1.0)


def test_shared_network_splits_bandwidth_fairly() -> None:
    topo = line_topology((0.0, 100.0))
    a, b = run_transfers(SharedNetwork, topo, [(0.0, 0, 1, 100.0), (0.0, 0, 1, 300.0)])
    # Both at 50 B/s until the first ends at 2 s; the second then has 200 B left alone.
    assert a == pytest.approx(2.0)
    assert b == pytest.approx(4.0)


def test_shared_network_is_max_min_fair_across_bottlenecks() -> None:
    # n0 —(100)— n1 —(30)— n2. Flows: A n0→n2, B n1→n2, C n0→n1.
    # Link 1 (30) is the bottleneck for A and B: 15 each. C gets the rest of link 0: 85.
    topo = line_topology((0.0, 100.0), (0.0, 30.0))
    a, b, c = run_transfers(SharedNetwork, topo, [(0.0, 0, 2, 15.0), (0.0, 1, 2, 30.0), (0.0, 0, 1, 85.0)])
    assert a == pytest.approx(1.0)          # 15 B at 15 B/s
    assert c == pytest.approx(1.0)          # 85 B at 85 B/s
    assert b == pytest.approx(1.0 + 15 / 30)  # 15 B sent, then 15 B left at 30 B/s


def test_shared_network_adds_path_latency_once_after_the_last_byte() -> None:
    topo = line_topology((0.25, 100.0), (0.5, 200.0))
    (a,) = run_transfers(SharedNetwork, topo, [(0.0, 0, 2, 100.0)])
    assert a == pytest.approx(100 / 100 + 0.75)


def test_routes_follow_shortest_latency_and_avoid_down_links() -> None:
    nodes = [Node(x, Tier.CLOUD) for x in "abc"]
    topo = Topology(nodes, [Link("a", "b", 0.01), Link("b", "c", 0.01), Link("a", "c", 0.05)])
    assert topo.route_latency(0, 2) == pytest.approx(0.02)
    topo.set_link_up(topo.link_index("a", "b"), False)
    assert topo.route_latency(0, 2) == pytest.approx(0.05)
    topo.set_link_up(topo.link_index("a", "c"), False)
    assert topo.route(0, 2) is None
    env = simpy.Environment()
    assert FastNetwork(env, topo, [].append).send(0, 2, 1.0, lambda: None) is False


def test_candidates_and_estimates_follow_link_state() -> None:
    from wfsim.engine.cluster import Cluster
    from wfsim.engine.node import NodeRuntime
    from wfsim.model import Task
    from wfsim.policies.scheduling import FIFO

    nodes = [Node("a", Tier.EDGE_CLOUD), Node("b", Tier.CLOUD), Node("c", Tier.CLOUD)]
    topo = Topology(nodes, [Link("a", "b", 0.01, 100.0), Link("a", "c", 0.02, 100.0)])
    env = simpy.Environment()
    net = FastNetwork(env, topo, [].append)
    runtimes = [NodeRuntime(env, i, n, FIFO(), [].append) for i, n in enumerate(nodes)]
    cluster = Cluster(env, topo, runtimes, net)
    task = Task("t", location=LocationRequirement.specific("Cloud"))
    assert [n.spec.id for n in cluster.candidates(task, 0)] == ["b", "c"]
    assert net.estimate(0, 1, 100.0) == pytest.approx(1.01)
    topo.set_link_up(topo.link_index("a", "b"), False)
    assert [n.spec.id for n in cluster.candidates(task, 0)] == ["c"]
    assert net.estimate(0, 1, 100.0) == float("inf")
