"""The fault injector in real runs: partitions cut and heal, holds on a link add up,
crashes stop nodes and call back, spikes scale transfer times, handovers move routes,
and the faults table records it all reproducibly."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.faults import Crashes, Fault, LinkOutages, Mobility, Partitions, Schedule
from wfsim.policies.placement import CloudOnly
from wfsim.trace.trace import Trace

UPLINK = "edge-0~regional-0"


def _sim(*faults, topo=None, workloads=(), until: float | None = 60.0, **kwargs) -> Simulation:
    topo = topo if topo is not None else hierarchical(devices=4, edge=2, regional=1)
    return Simulation(topo, list(workloads), duration=60.0, until=until, seed=1, faults=list(faults), **kwargs)


def _probe(sim: Simulation, times: list[float], look) -> list:
    """``look()`` at each of ``times`` (after the faults due then)."""
    seen: list = []

    def run():
        for t in times:
            yield sim.env.timeout(t - sim.env.now)
            seen.append(look())

    sim.env.process(run())
    return seen


def _rows(trace: Trace) -> list[tuple]:
    f = trace.faults
    return list(zip(f["time"], f["kind"].astype(str), f["target"], f["detail"].astype(object).where(
        f["detail"].notna(), None)))


def test_a_partition_cuts_its_nodes_off_from_the_rest_and_heals() -> None:
    sim = _sim(Schedule(faults=(Fault("partition", ("edge-0", "device-0", "device-2"), 10.0, 20.0, "site-0"),)))
    i = sim.topology.index
    seen = _probe(sim, [5.0, 15.0, 25.0], lambda: (sim.topology.route(i["device-0"], i["cloud"]) is not None,
                                                  sim.topology.route(i["device-0"], i["edge-0"]) is not None,
                                                  sim.topology.route(i["device-1"], i["cloud"]) is not None))
    trace = sim.run().trace
    assert seen == [(True, True, True), (False, True, True), (True, True, True)]
    assert _rows(trace) == [(10.0, "partition", "site-0", "edge-0,device-0,device-2"),
                            (10.0, "link_down", UPLINK, "partition"),
                            (20.0, "heal", "site-0", "edge-0,device-0,device-2"),
                            (20.0, "link_up", UPLINK, "partition")]
    assert set(trace.faults["process"].astype(str)) == {"schedule"}


@settings(max_examples=8, deadline=None)
@given(holds=st.lists(st.tuples(st.sampled_from(["link_down", "partition", "crash"]),
                                st.integers(0, 20), st.integers(1, 15)), min_size=1, max_size=5))
def test_a_link_is_up_exactly_when_no_fault_holds_it(holds: list[tuple[str, int, int]]) -> None:
    # The oracle: an outage of the link, a partition of its site and a crash of its
    # end each hold it down; it is up at t iff no hold covers t.
    targets = {"link_down": (UPLINK,), "partition": ("edge-0", "device-0", "device-2"), "crash": ("edge-0",)}
    faults = tuple(Fault(kind, targets[kind], float(s), float(s + d)) for kind, s, d in holds)
    sim = _sim(Schedule(faults=faults), until=40.0)
    k = sim.topology.link_index("edge-0", "regional-0")
    times = [t + 0.5 for t in range(39)]
    seen = _probe(sim, times, lambda: sim.topology.link_up[k])
    trace = sim.run().trace
    assert seen == [not any(s <= t < s + d for _, s, d in holds) for t in times]
    # The table tells the same story: down exactly between a link_down and the next link_up.
    rows = trace.faults[trace.faults["target"] == UPLINK]
    kinds = rows["kind"].astype(str).tolist()
    assert kinds == ["link_down", "link_up"] * (len(kinds) // 2)
    assert sim.faults.link_holds[k] == 0 and all(sim.topology.link_up)


def test_a_crash_stops_the_node_holds_its_links_and_calls_back() -> None:
    sim = _sim(Schedule(faults=(Fault("crash", ("edge-0",), 10.0, 20.0),)))
    calls: list[tuple[str, float, str, bool]] = []
    sim.faults.on_crash.append(lambda node: calls.append(("crash", sim.env.now, node.spec.id, node.up)))
    sim.faults.on_recover.append(lambda node: calls.append(("recover", sim.env.now, node.spec.id, node.up)))
    edge = sim.nodes[sim.topology.index["edge-0"]]
    links = [k for k, link in enumerate(sim.topology.links) if "edge-0" in (link.a, link.b)]
    seen = _probe(sim, [5.0, 15.0, 25.0], lambda: (edge.up, [sim.topology.link_up[k] for k in links]))
    trace = sim.run().trace
    assert seen == [(True, [True] * 3), (False, [False] * 3), (True, [True] * 3)]
    assert calls == [("crash", 10.0, "edge-0", False), ("recover", 20.0, "edge-0", True)]
    assert [r[1:] for r in _rows(trace)] == (
        [("crash", "edge-0", None)] + [("link_down", sim.topology.links[k].a + "~" + sim.topology.links[k].b, "crash")
                                       for k in links]
        + [("link_up", sim.topology.links[k].a + "~" + sim.topology.links[k].b, "crash") for k in links]
        + [("recover", "edge-0", None)])


@pytest.mark.parametrize("network", ["fast", "shared"])
def test_a_spike_multiplies_the_links_latency_for_transfers_starting_during_it(network: str) -> None:
    sim = _sim(Schedule(faults=(Fault("spike", (UPLINK,), 10.0, 20.0, factor=10.0),)), network=network)
    topo, i = sim.topology, sim.topology.index
    src, dst, nbytes = i["device-0"], i["cloud"], 2e6
    route = topo.route(src, dst)
    latencies = [topo.links[c >> 1].latency for c in route]
    bottleneck = min(topo.links[c >> 1].bandwidth for c in route)
    spiked = sum(lat * (10 if topo.links[c >> 1].a == "edge-0" else 1) for c, lat in zip(route, latencies))
    arrivals: list[tuple[float, float]] = []

    def send() -> tuple[float, float]:
        start = sim.env.now
        sim.network.send(src, dst, nbytes, lambda: arrivals.append((start, sim.env.now)))
        return sim.network.estimate(src, dst, nbytes), start

    estimates = _probe(sim, [5.0, 15.0, 25.0], send)
    trace = sim.run().trace
    nominal = sum(latencies) + nbytes / bottleneck
    spike = spiked + nbytes / bottleneck
    assert [e for e, _ in estimates] == pytest.approx([nominal, spike, nominal])
    if network == "fast":  # store and forward: each hop transmits the whole message
        nominal = sum(latencies) + sum(nbytes / topo.links[c >> 1].bandwidth for c in route)
        spike = nominal + spiked - sum(latencies)
    assert [end - start for start, end in arrivals] == pytest.approx([nominal, spike, nominal])
    assert _rows(trace) == [(10.0, "spike", UPLINK, "10"), (20.0, "spike_end", UPLINK, "10")]


def test_a_handover_moves_the_devices_route_to_the_new_access_point() -> None:
    topo = hierarchical(devices=2, edge=2, regional=1, access_points=2)
    assert len(topo.links) == len(hierarchical(devices=2, edge=2, regional=1).links) + 2
    sim = _sim(Schedule(faults=(Fault("handover", ("device-0", "edge-0"), 0.0),
                                Fault("handover", ("device-0", "edge-1"), 10.0))), topo=topo)
    i = sim.topology.index

    def first_hop() -> str:
        route = sim.topology.route(i["device-0"], i["cloud"])
        return sim.topology.channel_ends(route[0])[1]

    seen = _probe(sim, [5.0, 15.0], first_hop)
    trace = sim.run().trace
    assert seen == ["edge-0", "edge-1"]
    assert _rows(trace) == [(0.0, "handover", "device-0", "->edge-0"),
                            (0.0, "link_down", "device-0~edge-1", "handover"),
                            (10.0, "handover", "device-0", "edge-0->edge-1"),
                            (10.0, "link_down", "device-0~edge-0", "handover"),
                            (10.0, "link_up", "device-0~edge-1", "handover")]


def test_the_faults_drawn_depend_on_the_seed_only_not_on_strategies_or_workloads() -> None:
    topo = hierarchical(devices=6, edge=3, regional=1, access_points=2)

    def faults(seed: int, **kwargs) -> pd.DataFrame:
        processes = [Crashes(mtbf=20.0, mttr=3.0), LinkOutages(mtbf=40.0, mttr=2.0), Mobility(dwell=10.0),
                     Partitions(site="edge-2", start=5.0, duration=4.0, every=20.0, distribution="exponential")]
        sim = Simulation(topo, kwargs.pop("workloads", [Workload("w", chain(3), Poisson(0.5))]), duration=60,
                         until=80.0, seed=seed, faults=processes, **kwargs)
        return sim.run().trace.faults

    base = faults(3)
    assert len(base) > 30
    other = faults(3, placement=CloudOnly(), workloads=[Workload("w", chain(3), Poisson(0.5)),
                                                      Workload("more", chain(2), Poisson(1.0))])
    pd.testing.assert_frame_equal(base, other)
    assert not base.equals(faults(4))
    assert all(topo.link_up)  # the run changed its own copy


def test_the_faults_table_round_trips_through_save_and_load(tmp_path) -> None:
    sim = _sim(Crashes(mtbf=10.0, mttr=2.0), Schedule(faults=(Fault("spike", (UPLINK,), 1.0, 2.0, factor=2.5),)),
               workloads=[Workload("w", chain(2), Poisson(0.5))])
    trace = sim.run().trace
    assert len(trace.faults) > 10
    loaded = Trace.load(trace.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.faults, trace.faults)


def test_faults_after_the_last_work_neither_extend_the_run_nor_show() -> None:
    work = [Workload("w", chain(2), Poisson(0.5))]
    plain = _sim(workloads=work, until=None)
    assert not plain._background_sources and not plain.faults.pending()
    late = _sim(Schedule(faults=(Fault("crash", ("edge-0",), 1e6, 1e6 + 5),)), workloads=work, until=None)
    a, b = plain.run(), late.run()
    assert a.trace.horizon == b.trace.horizon and len(b.trace.faults) == 0
    pd.testing.assert_frame_equal(a.trace.task_events, b.trace.task_events)


def test_direct_holds_must_be_released_in_kind() -> None:
    sim = _sim()
    with pytest.raises(ValueError, match="is not held down"):
        sim.faults.release_link(0)
    with pytest.raises(ValueError, match="edge-0 is not crashed"):
        sim.faults.recover(sim.topology.index["edge-0"])
