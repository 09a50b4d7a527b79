"""Fault processes: reproducible draws, statistics that match their parameters, and
targets checked against the topology."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import hierarchical
from wfsim.faults import (
    FAULT_PROCESSES,
    Crashes,
    Fault,
    FaultTargetError,
    LatencySpikes,
    LinkOutages,
    Mobility,
    Partitions,
    Schedule,
    SiteFailures,
    region,
    site,
)
from wfsim.model.enums import Tier
from wfsim.model.topology import Link, Node, Topology

TOPO = hierarchical(devices=6, edge=3, regional=2, access_points=2)


def _processes() -> list:
    return [Crashes(mtbf=40.0, mttr=5.0), LinkOutages(mtbf=60.0, mttr=4.0, between=("EdgeCloud~RegionalCloud",)),
            Partitions(site="edge-1", start=5.0, duration=10.0, every=30.0, distribution="exponential"),
            LatencySpikes(rate=0.02, duration=3.0, factor=4.0), SiteFailures(mtbf=80.0, mttr=10.0),
            Mobility(dwell=20.0)]


def test_every_registered_process_is_named_by_its_class_and_has_declared_parameters() -> None:
    assert set(FAULT_PROCESSES) == {"crashes", "schedule", "link_outages", "partitions", "latency_spikes",
                                    "site_failures", "mobility"}
    for name, cls in FAULT_PROCESSES.items():
        assert cls.name == name and cls.__doc__
        assert all(p.doc for p in cls.parameters)


@pytest.mark.parametrize("process", _processes(), ids=lambda p: p.name)
def test_a_draw_is_reproducible_from_a_seed_and_changes_with_it(process) -> None:
    def draw(seed: int) -> list[Fault]:
        return process.draw(np.random.default_rng(seed), TOPO, 300.0)

    first = draw(7)
    assert first and first == draw(7)
    assert [f.start for f in first] == sorted(f.start for f in first)
    if process.name != "mobility" or len(first) > 6:  # beyond the attachments at 0
        assert first != draw(8)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), short=st.floats(1.0, 200.0), more=st.floats(0.0, 500.0),
       which=st.integers(0, 5))
def test_a_longer_horizon_only_adds_later_faults(seed: int, short: float, more: float, which: int) -> None:
    # Each target draws from its own child generator: what happens before the horizon
    # does not depend on how far the process was asked to draw.
    process = _processes()[which]
    near = process.draw(np.random.default_rng(seed), TOPO, short)
    far = process.draw(np.random.default_rng(seed), TOPO, short + more)
    assert sorted(near, key=repr) == sorted((f for f in far if f.start < short), key=repr)


@pytest.mark.parametrize("distribution", ["exponential", "weibull", "lognormal"])
def test_crashes_match_their_mtbf_mttr_and_availability(distribution: str) -> None:
    # Oracle: an alternating renewal process with means MTBF and MTTR has up and down
    # times of those means and long-run availability MTBF / (MTBF + MTTR).
    topo = Topology([Node("n", Tier.EDGE_CLOUD)])
    mtbf, mttr, horizon = 100.0, 25.0, 500_000.0
    faults = Crashes(mtbf=mtbf, mttr=mttr, distribution=distribution, shape=1.5).draw(
        np.random.default_rng(3), topo, horizon)
    starts = np.array([f.start for f in faults])
    ends = np.array([f.end for f in faults])
    up_times = starts - np.concatenate([[0.0], ends[:-1]])
    down_times = ends - starts
    assert len(faults) > 3000
    for sample, mean in ((up_times, mtbf), (down_times, mttr)):  # within 4 standard errors
        assert abs(sample.mean() - mean) < 4 * sample.std() / math.sqrt(len(sample))
    down = np.minimum(ends, horizon) - starts
    assert 1 - down.sum() / horizon == pytest.approx(mtbf / (mtbf + mttr), abs=0.025)


def test_fixed_times_are_exact() -> None:
    topo = Topology([Node("n", Tier.EDGE_CLOUD)])
    faults = Crashes(mtbf=10.0, mttr=2.0, distribution="fixed", nodes=("n",)).draw(np.random.default_rng(0), topo, 40)
    assert [(f.start, f.end) for f in faults] == [(10.0, 12.0), (22.0, 24.0), (34.0, 36.0)]


def test_crashes_default_to_the_edge_nodes_and_take_tiers_and_nodes() -> None:
    def crashed(process: Crashes) -> set[str]:
        return {t for f in process.draw(np.random.default_rng(1), TOPO, 10_000) for t in f.targets}

    assert crashed(Crashes(mtbf=50.0)) == {"edge-0", "edge-1", "edge-2"}
    assert crashed(Crashes(mtbf=50.0, tiers=("RegionalCloud",), nodes=("cloud",))) == {
        "regional-0", "regional-1", "cloud"}


def test_sites_and_regions_are_subtrees_and_tags() -> None:
    topo = hierarchical(devices=4, edge=2, regional=2)
    assert site(topo, "edge-1") == ["edge-1", "device-1", "device-3"]
    assert region(topo, "regional-0") == ["regional-0", "edge-0", "device-0", "device-2"]
    tagged = Topology([Node("c", Tier.CLOUD), Node("r", Tier.REGIONAL_CLOUD, region="eu"),
                       Node("e", Tier.EDGE_CLOUD), Node("d", Tier.LOCAL_DEVICE)],
                      [Link("c", "r"), Link("r", "e"), Link("e", "d")])
    assert region(tagged, "eu") == ["r", "e", "d"]
    with pytest.raises(FaultTargetError, match=r"unknown region 'us'.*eu.*r"):
        region(tagged, "us")


def test_a_site_failure_crashes_the_whole_site_at_once() -> None:
    faults = SiteFailures(mtbf=100.0, mttr=10.0, sites=("edge-0",)).draw(np.random.default_rng(2), TOPO, 1000)
    assert faults and all(f.targets == tuple(site(TOPO, "edge-0")) and f.name == "edge-0" for f in faults)
    default = SiteFailures(mtbf=100.0).draw(np.random.default_rng(2), TOPO, 5000)
    assert {f.name for f in default} == {"edge-0", "edge-1", "edge-2"}


def test_a_one_off_partition_and_a_recurring_one() -> None:
    once = Partitions(nodes=("device-0", "edge-0"), start=10.0, duration=5.0).draw(np.random.default_rng(0), TOPO, 100)
    assert once == [Fault("partition", ("edge-0", "device-0"), 10.0, 15.0, "partition")]
    recurring = Partitions(region="regional-1", start=1.0, duration=2.0, every=10.0)
    again = recurring.draw(np.random.default_rng(0), TOPO, 100)
    assert [f.start for f in again] == [1.0, 13.0, 25.0, 37.0, 49.0, 61.0, 73.0, 85.0, 97.0]
    assert again[0].targets == tuple(region(TOPO, "regional-1")) and again[0].name == "regional-1"


def test_mobility_attaches_each_device_then_hands_it_over_between_its_access_points() -> None:
    faults = Mobility(dwell=10.0).draw(np.random.default_rng(4), TOPO, 200)
    first = [f for f in faults if f.start == 0]
    assert [f.targets for f in first] == [(f"device-{i}", f"edge-{i % 3}") for i in range(6)]
    for device in ("device-0", "device-4"):
        aps = [f.targets[1] for f in faults if f.targets[0] == device]
        assert len(aps) > 5 and all(a != b for a, b in zip(aps, aps[1:]))  # every handover moves
        assert set(aps) <= {f"edge-{int(device[-1]) % 3}", f"edge-{(int(device[-1]) + 1) % 3}"}


@pytest.mark.parametrize(("process", "message"), [
    (Crashes(nodes=("edge-9",)), "nodes: unknown node 'edge-9'; allowed: cloud"),
    (Crashes(tiers=("Fog",)), "tiers: .*Fog"),
    (LinkOutages(links=("edge-0~cloud",)), "links: unknown link 'edge-0~cloud'; allowed: regional-0~cloud"),
    (LatencySpikes(between=("EdgeCloud",)), "between: a tier pair looks like"),
    (Partitions(site="nowhere"), "site: unknown node 'nowhere'"),
    (Partitions(), "give exactly one of nodes, site or region"),
    (Partitions(site="edge-0", nodes=("edge-1",)), "exactly one"),
    (SiteFailures(regions=("mars",)), "regions: unknown region 'mars'"),
    (Mobility(nodes=("device-0",)), "nodes: 'device-0' has 1 access point"),
    (Schedule(faults=(Fault("handover", ("device-0", "edge-1"), 1.0),)),
     r"faults\[0\].targets: 'device-0' has no link"),
    (Schedule(faults=(Fault("link_down", ("a~b",), 1.0),)), r"faults\[0\].targets: unknown link 'a~b'"),
])
def test_unknown_targets_are_refused_naming_the_field_and_the_allowed_ones(process, message: str) -> None:
    with pytest.raises(FaultTargetError, match=message):
        process.check(hierarchical(devices=4, edge=2, regional=1))


def test_faults_and_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="crashes: mtbf must be in"):
        Crashes(mtbf=0.0)
    with pytest.raises(ValueError, match="distribution must be one of exponential, weibull, lognormal, fixed"):
        Crashes(distribution="pareto")
    with pytest.raises(ValueError, match="fault kind must be one of crash, link_down, partition, spike, handover"):
        Fault("meteor", ("x",), 1.0)
    with pytest.raises(ValueError, match="start <= end"):
        Fault("crash", ("x",), 5.0, 4.0)
    assert math.isinf(Fault("crash", ("x",), 5.0).end)
