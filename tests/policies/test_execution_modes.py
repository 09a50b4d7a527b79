"""Execution modes and data-aware placement: each mode's tier choice, P17 mode
confinement on random workloads, the data-aware score against hand computations,
AdaptiveFlow's migration triggers, PreferredOrder, and declared parameters."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import (
    LocationRequirement,
    Periodic,
    Poisson,
    Simulation,
    Task,
    Tier,
    Workflow,
    Workload,
    chain,
    hierarchical,
    layered_random,
)
from wfsim.model.enums import TaskPriority
from wfsim.model.parameters import validate_params
from wfsim.model.workflow import LocationKind
from wfsim.policies import data_aware
from wfsim.policies.data_aware import DataAwarePlacementStrategy, PlacementFeatures, TierStats
from wfsim.policies.execution_modes import (
    EDGE_TIER_SETS,
    MODE_STRATEGIES,
    AdaptiveFlow,
    EdgeOnly,
    ExecutionMode,
    HybridDynamic,
    HybridExecution,
    HybridStatic,
)
from wfsim.policies.execution_modes import STRATEGIES as MODES
from wfsim.policies.placement import PlacementStrategy
from wfsim.verify.catalog import check_catalog

#: The execution modes and the data-aware strategy they use, by name.
STRATEGIES = {**MODES, **data_aware.STRATEGIES}

SPEC = LocationRequirement.specific
PREF = LocationRequirement.preferred_order
ANY = LocationRequirement.any_of


def topo(edge_tier: str = "EdgeCloud"):
    return hierarchical(devices=4, edge=2, regional=1, edge_tier=edge_tier)


def run_once(topology, workflow, placement, origin="device-0"):
    """One instance at t=0 from ``origin``, run to completion."""
    workload = Workload("one", workflow, Periodic(period=1e9), origins=[origin])
    return Simulation(topology, [workload], placement=placement, duration=1.0).run()


def nodes_by_task(result) -> dict[str, str | None]:
    ex = result.trace.executions()
    return {str(r.task): (None if r.node != r.node else str(r.node)) for r in ex.itertuples()}


def single(task: Task, **wf) -> Workflow:
    return Workflow("one", [task], **wf)


# --- each mode's tier choice ----------------------------------------------------------
def test_cloud_only_picks_the_cloud():
    wf = chain(3, work=1e8)
    placed = nodes_by_task(run_once(topo(), wf, HybridExecution("CloudOnly")))
    assert set(placed.values()) == {"cloud"}


def test_edge_only_stays_on_the_users_side():
    wf = chain(3, work=1e8)
    # default "edge" = Tier.is_edge: the own device is the nearest such node
    assert set(nodes_by_task(run_once(topo(), wf, EdgeOnly())).values()) == {"device-0"}
    # shared edge infrastructure only: device-0 hangs off edge-0
    assert set(nodes_by_task(run_once(topo(), wf, EdgeOnly("edge_nodes"))).values()) == {"edge-0"}
    # the seed's literal rule on a topology that has EdgeDevice nodes
    t = topo(edge_tier="EdgeDevice")
    assert set(nodes_by_task(run_once(t, wf, EdgeOnly("EdgeDevice"))).values()) == {"edge-0"}
    assert {n.tier for n in t.nodes if n.id == "edge-0"} == {Tier.EDGE_DEVICE}
    for name, tiers in EDGE_TIER_SETS.items():
        assert tiers <= {t for t in Tier if t.is_edge}, name


def test_edge_only_seed_rule_without_edge_devices_fails_with_a_reason():
    result = run_once(topo(), chain(2, work=1e8), EdgeOnly("EdgeDevice"))
    summary = result.trace.workflow_summary()
    assert (summary["state"] == "Failed").all()
    assert "no feasible node for task 't0'" in summary["reason"].iloc[0]


def test_hybrid_static_uses_the_specific_tier_else_the_cloud():
    wf = Workflow("static", [
        Task("a", work=1e8, location=SPEC("RegionalCloud")),
        Task("b", work=1e8),                                    # All → Cloud
        Task("c", work=1e8, location=SPEC("EdgeCloud")),
        Task("d", work=1e8, location=ANY(["EdgeCloud", "Cloud"])),  # not Specific → Cloud
        Task("e", work=1e8, location=SPEC("LocalDevice")),
    ], edges=[("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")])
    placed = nodes_by_task(run_once(topo(), wf, HybridStatic()))
    assert placed == {"a": "regional-0", "b": "cloud", "c": "edge-0", "d": "cloud", "e": "device-0"}


@pytest.mark.parametrize("strategy, location", [
    (lambda: HybridExecution("CloudOnly"), SPEC("EdgeCloud")),
    (lambda: EdgeOnly(), ANY(["RegionalCloud", "Cloud"])),
    (lambda: HybridStatic(), ANY(["EdgeCloud", "RegionalCloud"])),   # not Specific, cloud excluded
    (lambda: HybridStatic(), PREF(["EdgeCloud", "RegionalCloud"])),
])
def test_mode_and_requirement_in_conflict_fail_the_task(strategy, location):
    result = run_once(topo(), single(Task("x", work=1e8, location=location)), strategy())
    summary = result.trace.workflow_summary()
    assert summary["state"].tolist() == ["Failed"]
    assert "no feasible node for task 'x'" in summary["reason"].iloc[0]
    assert nodes_by_task(result) == {"x": None}


def test_hybrid_dynamic_light_tasks_stay_local_heavy_tasks_go_to_the_cloud():
    wf = Workflow("mix", [Task("light", work=1e7), Task("heavy", work=5e9)], edges=[("light", "heavy")])
    placed = nodes_by_task(run_once(topo(), wf, HybridDynamic()))
    # light: complexity 0.01, Normal (60 ms), battery origin: Local 0.5(.001+.6+1) beats Cloud 0.5(.01+.12+.3)
    # heavy: complexity 5: Cloud 0.5(5+.12+.3)=2.71 beats Local 0.5(.5+.6+1)=1.05
    assert placed == {"light": "device-0", "heavy": "cloud"}


# --- PreferredOrder ----------------------------------------------------------------------
def test_preferred_order_is_honoured_in_order():
    heavy_pref = Task("h", work=5e9, location=PREF(["EdgeCloud", "Cloud"]))
    # the score prefers the cloud for a heavy task, but EdgeCloud is listed first
    assert nodes_by_task(run_once(topo(), single(heavy_pref), HybridDynamic())) == {"h": "edge-0"}
    assert nodes_by_task(run_once(topo(), single(heavy_pref), AdaptiveFlow())) == {"h": "edge-0"}
    # EdgeOnly: the own device is nearer, but EdgeCloud is preferred
    edge_pref = Task("e", work=1e8, location=PREF(["EdgeCloud", "LocalDevice"]))
    assert nodes_by_task(run_once(topo(), single(edge_pref), EdgeOnly())) == {"e": "edge-0"}
    # a mode skips the tiers it forbids, then takes the best rank left
    assert nodes_by_task(run_once(topo(), single(heavy_pref), HybridExecution("CloudOnly"))) == {"h": "cloud"}
    regional_first = Task("r", work=1e8, location=PREF(["RegionalCloud", "LocalDevice", "EdgeCloud"]))
    assert nodes_by_task(run_once(topo(), single(regional_first), EdgeOnly())) == {"r": "device-0"}
    # a light task listed Cloud-first still goes to the cloud under the dynamic score
    light_pref = Task("l", work=1e6, location=PREF(["Cloud", "LocalDevice"]))
    assert nodes_by_task(run_once(topo(), single(light_pref), HybridDynamic())) == {"l": "cloud"}


# --- P17 mode confinement on random workloads --------------------------------------------
REQUIREMENTS = [
    LocationRequirement.all(), SPEC("Cloud"), SPEC("EdgeCloud"), SPEC("LocalDevice"), SPEC("RegionalCloud"),
    SPEC("EdgeDevice"), ANY(["EdgeCloud", "RegionalCloud"]), ANY(["LocalDevice", "Cloud"]),
    PREF(["EdgeCloud", "Cloud"]), PREF(["LocalDevice", "EdgeDevice", "EdgeCloud"]),
    PREF(["RegionalCloud", "LocalDevice"]),
]
MODE_FACTORIES = {
    "cloud_only": lambda: HybridExecution("CloudOnly"),
    "edge_only": EdgeOnly,
    "edge_only_nodes": lambda: EdgeOnly("edge_nodes"),
    "edge_only_seed": lambda: EdgeOnly("EdgeDevice"),
    "hybrid_static": HybridStatic,
    "hybrid_dynamic": HybridDynamic,
    "adaptive_flow": lambda: AdaptiveFlow(cooloff=5.0),
    "data_aware": DataAwarePlacementStrategy,
}


def mode_allows(mode: str, task: Task, tier: Tier) -> bool:
    if mode == "cloud_only":
        return tier is Tier.CLOUD
    if mode == "edge_only":
        return tier.is_edge
    if mode == "edge_only_nodes":
        return tier in (Tier.EDGE_DEVICE, Tier.EDGE_CLOUD)
    if mode == "edge_only_seed":
        return tier is Tier.EDGE_DEVICE
    if mode == "hybrid_static":
        loc = task.location
        return tier is (loc.tiers[0] if loc.kind is LocationKind.SPECIFIC else Tier.CLOUD)
    return True


@given(
    mode=st.sampled_from(sorted(MODE_FACTORIES)),
    edge_tier=st.sampled_from(["EdgeCloud", "EdgeDevice"]),
    regional=st.integers(0, 2),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 10_000)),
    requirements=st.lists(st.sampled_from(range(len(REQUIREMENTS))), min_size=12, max_size=12),
    works=st.lists(st.sampled_from([1e6, 1e8, 1e9, 5e9]), min_size=12, max_size=12),
)
@settings(max_examples=40, deadline=None)
def test_p17_every_placement_respects_mode_and_requirement(mode, edge_tier, regional, shape, requirements, works):
    layers, width, seed = shape
    base = layered_random(layers, width, seed=seed, data_bytes=2e6)
    wf = base.with_tasks({t.id: Task(t.id, work=works[i], location=REQUIREMENTS[requirements[i]])
                          for i, t in enumerate(base.tasks)})
    topology = hierarchical(devices=4, edge=2, regional=regional, edge_tier=edge_tier)
    present = {n.tier for n in topology.nodes}
    result = Simulation(topology, [Workload("w", wf, Poisson(rate=1.0))], placement=MODE_FACTORIES[mode](),
                        duration=8.0, seed=seed).run()
    trace = result.trace
    tier_of = {n.id: n.tier for n in topology.nodes}
    origin = trace.workflow_summary()["origin"].astype(str).to_dict()
    spec = {t.id: t for t in wf.tasks}
    ex = trace.executions()
    placed = ex[ex["placed"].notna()]
    assert len(placed) > 0 or (ex["failed"].notna()).any()
    for row in placed.itertuples():
        task, tier = spec[str(row.task)], tier_of[str(row.node)]
        assert task.location.allows(tier), (mode, row)
        assert mode_allows(mode, task, tier), (mode, row)
        if tier is Tier.LOCAL_DEVICE:
            assert str(row.node) == origin[row.workflow]
    # a task never placed really had no node both the mode and the requirement allow
    never = ex[ex["placed"].isna() & ex["failed"].notna()]
    for row in never.itertuples():
        task = spec[str(row.task)]
        feasible = {t for t in present if task.location.allows(t) and mode_allows(mode, task, t)}
        assert not feasible, (mode, row, feasible)
    (verdict,) = check_catalog(trace, ["P17"])
    assert verdict.verdict == ("true" if len(placed) else "not_applicable"), verdict


# --- the data-aware score by hand -----------------------------------------------------------
W = dict(data_locality_weight=0.4, compute_power_weight=0.3, latency_weight=0.2, energy_weight=0.1)
F = PlacementFeatures(data_size_bytes=2 * 2**20, computation_complexity=2.0, latency_sensitivity_ms=50.0,
                      energy_constraints=True)


@pytest.mark.parametrize("tier, expected", [
    # w_cp·C·2 + w_lat·Lat·0.5 + w_en·E
    (Tier.CLOUD, 0.3 * 1.0 * 2 + 0.2 * 0.2 * 0.5 + 0.1 * 0.3),          # 0.65
    (Tier.REGIONAL_CLOUD, 0.3 * 0.8 * 2 + 0.2 * 0.4 * 0.5 + 0.1 * 0.4),  # 0.56
    (Tier.EDGE_CLOUD, 0.3 * 0.6 * 2 + 0.2 * 0.6 * 0.5 + 0.1 * 0.6),      # 0.48
    (Tier.EDGE_DEVICE, 0.3 * 0.3 * 2 + 0.2 * 0.8 * 0.5 + 0.1 * 0.7),     # 0.33
    (Tier.LOCAL_DEVICE, 0.3 * 0.1 * 2 + 0.2 * 1.0 * 0.5 + 0.1 * 1.0),    # 0.26
])
def test_score_matches_the_tables(tier, expected):
    assert DataAwarePlacementStrategy(**W).score(tier, F) == pytest.approx(expected)


def test_score_ordering_and_terms():
    s = DataAwarePlacementStrategy(**W)
    values = {t: s.score(t, F) for t in Tier}
    assert sorted(values, key=values.get, reverse=True) == [
        Tier.CLOUD, Tier.REGIONAL_CLOUD, Tier.EDGE_CLOUD, Tier.EDGE_DEVICE, Tier.LOCAL_DEVICE]
    # latency-sensitive, light: the order reverses (Local .003+1.0+.1 vs Cloud .03+.2+.03)
    urgent = PlacementFeatures(computation_complexity=0.1, latency_sensitivity_ms=500.0, energy_constraints=True)
    assert s.score(Tier.LOCAL_DEVICE, urgent) == pytest.approx(1.103)
    assert s.score(Tier.CLOUD, urgent) == pytest.approx(0.26)
    # locality: 0.4 × 2 MB when the data's tier matches
    assert s.score(Tier.EDGE_CLOUD, F, locality_bytes=F.data_size_bytes) == pytest.approx(0.48 + 0.8)
    # no energy term without the constraint
    free = PlacementFeatures(2 * 2**20, 2.0, 50.0, False)
    assert s.score(Tier.LOCAL_DEVICE, free) == pytest.approx(0.16)
    # history: × (1 − fr), then + 0.2 · 1000 / avg_ms
    stats = TierStats(10)
    stats.record(True, 0.1)
    stats.record(True, 0.1)               # fr = 0.19
    stats.record(False, 0.1, 0.4)
    stats.record(False, 0.1, 0.6)         # fr = 0.19·0.81 = 0.1539, mean 500 ms
    assert stats.failure_rate == pytest.approx(0.1539)
    assert s.score(Tier.CLOUD, F, stats=stats) == pytest.approx(0.65 * (1 - 0.1539) + 0.2 * 1000 / 500)


def test_data_aware_places_at_the_argmax_with_ties_to_the_nearer_node():
    urgent = PlacementFeatures(computation_complexity=0.1, latency_sensitivity_ms=500.0, energy_constraints=True)
    heavy = PlacementFeatures(computation_complexity=10.0, latency_sensitivity_ms=10.0)
    for feats, expected in ((urgent, "device-0"), (heavy, "cloud"), (F, "cloud")):
        strat = DataAwarePlacementStrategy(**W, features=lambda run, task, cluster, f=feats: f)
        assert nodes_by_task(run_once(topo(), single(Task("x", work=1e8)), strat)) == {"x": expected}
    # two edge nodes tie on score: the nearer one (edge-1 for device-1) wins
    strat = DataAwarePlacementStrategy(**W, features=lambda run, task, cluster: F)
    placed = nodes_by_task(run_once(topo(), single(Task("x", location=SPEC("EdgeCloud"))), strat, origin="device-1"))
    assert placed == {"x": "edge-1"}


def test_specific_locality_counts_the_input_megabytes():
    strat = DataAwarePlacementStrategy(**W)
    wf = Workflow("loc", [Task("a", work=1e8), Task("b", work=1e8, location=SPEC("EdgeCloud"))],
                  edges=[("a", "b", 3 * 2**20)], input_bytes=2**20)
    cluster = SimpleNamespace(nodes=[SimpleNamespace(spec=SimpleNamespace(tier=Tier.LOCAL_DEVICE))])
    run = SimpleNamespace(spec=wf, origin=0, node_of=[0, -1])
    fa, fb = strat.features_of(run, 0, cluster), strat.features_of(run, 1, cluster)
    assert fa.data_size_bytes == 2**20 and fb.data_size_bytes == 3 * 2**20
    edge_node = SimpleNamespace(index=5, spec=SimpleNamespace(tier=Tier.EDGE_CLOUD))
    cloud_node = SimpleNamespace(index=1, spec=SimpleNamespace(tier=Tier.CLOUD))
    assert strat._locality_bytes(run, 1, edge_node, fb) == 3 * 2**20
    assert strat._locality_bytes(run, 1, cloud_node, fb) == 0
    inputs = DataAwarePlacementStrategy(locality="inputs")
    assert inputs._locality_bytes(run, 1, SimpleNamespace(index=0, spec=None), fb) == 3 * 2**20
    assert inputs._locality_bytes(run, 1, edge_node, fb) == 0
    assert inputs._locality_bytes(run, 0, SimpleNamespace(index=0, spec=None), fa) == 2**20


def test_derived_features():
    strat = DataAwarePlacementStrategy(complexity_reference=1e9, deadline_reference=2.0)
    wf = Workflow("f", [
        Task("n", work=3e9),
        Task("c", work=5e8, priority=TaskPriority.CRITICAL),
        Task("d", work=1e9, deadline=4.0, priority=TaskPriority.BACKGROUND),   # 2/4 = .5 > .2
        Task("u", work=1e9, deadline=1.0, priority=TaskPriority.LOW),          # min(1, 2/1) = 1
    ])
    device = SimpleNamespace(spec=SimpleNamespace(tier=Tier.LOCAL_DEVICE))
    cloud = SimpleNamespace(spec=SimpleNamespace(tier=Tier.CLOUD))
    run = SimpleNamespace(spec=wf, origin=0)
    feats = [strat.features_of(run, i, SimpleNamespace(nodes=[device])) for i in range(4)]
    assert [f.computation_complexity for f in feats] == [3.0, 0.5, 1.0, 1.0]
    assert [f.latency_sensitivity_ms for f in feats] == pytest.approx([60.0, 100.0, 50.0, 100.0])
    assert all(f.energy_constraints for f in feats)
    assert not strat.features_of(run, 0, SimpleNamespace(nodes=[cloud])).energy_constraints
    assert DataAwarePlacementStrategy(energy_constrained="always").features_of(
        run, 0, SimpleNamespace(nodes=[cloud])).energy_constraints
    assert not DataAwarePlacementStrategy(energy_constrained="never").features_of(
        run, 0, SimpleNamespace(nodes=[device])).energy_constraints
    # the workflow's deadline applies when the task has none
    wf2 = Workflow("g", [Task("n", priority=TaskPriority.BACKGROUND)], deadline=0.5)
    f2 = strat.features_of(SimpleNamespace(spec=wf2, origin=0), 0, SimpleNamespace(nodes=[device]))
    assert f2.latency_sensitivity_ms == pytest.approx(100.0)


# --- AdaptiveFlow's triggers ------------------------------------------------------------------
def fake(tier: Tier, now: float = 0.0, wf_name: str = "wf", task_id: str = "t"):
    """A run and a node just rich enough for the hooks."""
    wf = Workflow(wf_name, [Task(task_id)])
    run = SimpleNamespace(id=0, spec=wf)
    node = SimpleNamespace(spec=SimpleNamespace(tier=tier), env=SimpleNamespace(now=now))
    return run, node


def feed(strategy, durations, tier=Tier.EDGE_CLOUD):
    run, node = fake(tier)
    for d in durations:
        strategy.on_task_end(run, 0, node, d)


def test_slowdown_of_25_percent_migrates():
    af = AdaptiveFlow(duration="execution")
    feed(af, [1.0] * 4 + [1.25] * 2)
    assert af.migrations == []        # n = 6: recent (1, 1.25, 1.25) / older 1 = 1.167
    feed(af, [1.25])                   # n = 7: 1.25 / 1.0 > 1.2
    (m,) = af.migrations
    assert (m.workflow, m.task, m.tier, m.reason) == ("wf", "t", Tier.EDGE_CLOUD, "slowdown")
    assert m.value == pytest.approx(1.25) and m.until == pytest.approx(60.0)
    assert af.avoided == {("wf", "t"): {Tier.EDGE_CLOUD: pytest.approx(60.0)}}


def test_slowdown_of_15_percent_does_not_migrate():
    af = AdaptiveFlow(duration="execution")
    feed(af, [1.0] * 4 + [1.15] * 6)
    assert af.migrations == []
    assert len(af.scorer.stats[("wf", "t")][Tier.EDGE_CLOUD].durations) == 10   # the window


def test_slowdown_needs_more_than_five_samples():
    af = AdaptiveFlow(duration="execution")
    feed(af, [1.0, 1.0, 5.0, 5.0, 5.0])          # n = 5: 5× slower, not enough samples
    assert af.migrations == []
    feed(af, [5.0])                              # n = 6: recent 5 / older (1, 1, 5) = 2.14
    assert [m.reason for m in af.migrations] == ["slowdown"]
    assert af.migrations[0].value == pytest.approx(5 / (7 / 3))


def test_slowdown_factor_is_tunable():
    af = AdaptiveFlow(duration="execution", slowdown_factor=1.1)
    feed(af, [1.0] * 4 + [1.15] * 3)
    assert [m.reason for m in af.migrations] == ["slowdown"]


def test_failure_ewma_crosses_point_one_on_the_second_failure():
    af = AdaptiveFlow()
    run, node = fake(Tier.CLOUD)
    af.on_task_failed(run, 0, node, "unreachable")
    assert af.scorer.stats[("wf", "t")][Tier.CLOUD].failure_rate == pytest.approx(0.1)
    assert af.migrations == []                # 0.1 is not > 0.1
    af.on_task_failed(run, 0, node, "unreachable")
    (m,) = af.migrations                      # 0.9·0.1 + 0.1 = 0.19
    assert (m.tier, m.reason) == (Tier.CLOUD, "failures") and m.value == pytest.approx(0.19)


def test_failure_threshold_is_tunable_and_successes_decay_the_rate():
    af = AdaptiveFlow(failure_threshold=0.25)
    for expected in (0.1, 0.19):
        af.record("wf", "t", Tier.CLOUD, failed=True)
        assert af.scorer.stats[("wf", "t")][Tier.CLOUD].failure_rate == pytest.approx(expected)
    assert af.migrations == []
    af.record("wf", "t", Tier.CLOUD, failed=True)          # 0.271 > 0.25
    assert [m.value for m in af.migrations] == [pytest.approx(0.271)]
    af2 = AdaptiveFlow()
    af2.record("wf", "t", Tier.CLOUD, failed=True)          # 0.1
    af2.record("wf", "t", Tier.CLOUD, failed=False, duration=1.0)   # 0.09
    af2.record("wf", "t", Tier.CLOUD, failed=True)          # 0.181 > 0.1
    assert [m.value for m in af2.migrations] == [pytest.approx(0.181)]


def test_a_never_placed_task_blames_no_tier():
    af = AdaptiveFlow()
    run, _ = fake(Tier.CLOUD)
    for _ in range(5):
        af.on_task_failed(run, 0, None, "no feasible node")
    assert af.migrations == [] and af.scorer.stats == {}


def test_hybrid_dynamic_keeps_statistics_but_never_migrates():
    hd = HybridDynamic(duration="execution")
    feed(hd, [1.0] * 4 + [3.0] * 6)
    for _ in range(5):
        hd.record("wf", "t", Tier.CLOUD, failed=True)
    assert hd.migrations == [] and hd.avoided == {}
    assert hd.scorer.stats[("wf", "t")][Tier.EDGE_CLOUD].mean() == pytest.approx(2.2)


def test_migrated_class_avoids_the_tier_until_the_cool_off():
    light = Workflow("wf", [Task("t0", work=1e7), Task("t1", work=1e7)], edges=[("t0", "t1")])
    af = AdaptiveFlow(cooloff=30.0)
    before = nodes_by_task(run_once(topo(), light, AdaptiveFlow()))
    assert before == {"t0": "device-0", "t1": "device-0"}
    af.record("wf", "t0", Tier.LOCAL_DEVICE, failed=True, now=0.0)
    af.record("wf", "t0", Tier.LOCAL_DEVICE, failed=True, now=0.0)
    assert [(m.task, m.tier) for m in af.migrations] == [("t0", Tier.LOCAL_DEVICE)]
    after = nodes_by_task(run_once(topo(), light, af))
    assert after["t1"] == "device-0"                      # another class: unaffected
    assert after["t0"] not in ("device-0", None)          # migrated away from LocalDevice
    # no second migration while avoided, even on more failures
    af.record("wf", "t0", Tier.LOCAL_DEVICE, failed=True, now=10.0)
    assert len(af.migrations) == 1
    # after the cool-off the tier is allowed again, with a clean record
    assert af._avoided_now(("wf", "t0"), 29.9) == {Tier.LOCAL_DEVICE}
    assert af._avoided_now(("wf", "t0"), 30.0) == frozenset()
    entry = af.scorer.stats[("wf", "t0")][Tier.LOCAL_DEVICE]
    assert entry.failure_rate == 0.0 and not entry.durations and af.avoided == {}


def test_a_class_with_every_tier_avoided_stays_where_it_can_run():
    wf = single(Task("t", work=1e7, location=SPEC("LocalDevice")))
    af = AdaptiveFlow(cooloff=1000.0)
    af.record("one", "t", Tier.LOCAL_DEVICE, failed=True)
    af.record("one", "t", Tier.LOCAL_DEVICE, failed=True)
    assert af.avoided
    assert nodes_by_task(run_once(topo(), wf, af)) == {"t": "device-0"}


def test_adaptive_flow_moves_load_off_overloaded_devices():
    """End to end: light tasks start on 1-core devices, queueing there slows them, and
    the classes migrate to the edge; HybridDynamic on the same seed never moves."""
    wf = chain(3, work=3e8, data_bytes=1e5)
    runs = {}
    for name, cls in (("dynamic", HybridDynamic), ("adaptive", AdaptiveFlow)):
        sim = Simulation(topo(), [Workload("w", wf, Poisson(rate=2.0))], placement=cls(),
                         duration=30, seed=3)
        result = sim.run()
        runs[name] = (sim.placement, result.trace.executions()["tier"].value_counts())
    assert runs["dynamic"][0].migrations == []
    assert set(runs["dynamic"][1][runs["dynamic"][1] > 0].index) == {"LocalDevice"}
    migrations = runs["adaptive"][0].migrations
    assert {m.task for m in migrations} == {"t0", "t1", "t2"}
    assert all(m.tier is Tier.LOCAL_DEVICE and m.reason == "slowdown" for m in migrations)
    assert runs["adaptive"][1]["EdgeCloud"] > runs["adaptive"][1]["LocalDevice"]


# --- declared parameters -------------------------------------------------------------------------
def test_registry_and_modes():
    assert set(MODES) == {"hybrid_execution", "edge_only", "hybrid_static", "hybrid_dynamic", "adaptive_flow"}
    assert set(data_aware.STRATEGIES) == {"data_aware"}
    for name, cls in STRATEGIES.items():
        assert issubclass(cls, PlacementStrategy) and cls.name == name
    assert [m.value for m in ExecutionMode] == ["CloudOnly", "EdgeOnly", "HybridStatic", "HybridDynamic",
                                                "AdaptiveFlow"]
    assert ExecutionMode.parse("adaptive_flow") is ExecutionMode.ADAPTIVE_FLOW
    assert ExecutionMode.parse("CloudOnly") is ExecutionMode.CLOUD_ONLY
    with pytest.raises(ValueError, match="allowed: CloudOnly, EdgeOnly"):
        ExecutionMode.parse("fog")
    assert {m: f().mode for m, f in MODE_STRATEGIES.items()} == {m: m for m in ExecutionMode}



def test_seed_defaults_and_overview_ranges():
    by_name = {p.name: p for p in AdaptiveFlow.parameters}
    expect = {
        "data_locality_weight": (0.5, 0, 1), "compute_power_weight": (0.5, 0, 1),
        "latency_weight": (0.5, 0, 1), "energy_weight": (0.5, 0, 1),
        "history_weight": (0.2, 0, 1), "stats_window": (10, 3, 50), "failure_alpha": (0.1, 0.01, 0.5),
        "slowdown_factor": (1.2, 1.05, 2), "failure_threshold": (0.1, 0.02, 0.5),
        "recent_samples": (3, 1, 5), "min_samples": (5, 2, 49),
    }
    for name, (default, low, high) in expect.items():
        p = by_name[name]
        assert (p.default, p.low, p.high) == (default, low, high), name
    assert STRATEGIES["hybrid_execution"].parameters[0].name == "mode"


@pytest.mark.parametrize("name, params, message", [
    ("adaptive_flow", {"slowdown_factor": 1.01}, r"slowdown_factor must be in \[1.05, 2.0\]"),
    ("adaptive_flow", {"slowdown_factor": 2.5}, r"slowdown_factor must be in \[1.05, 2.0\]"),
    ("adaptive_flow", {"failure_threshold": 0.01}, r"failure_threshold must be in \[0.02, 0.5\]"),
    ("adaptive_flow", {"failure_threshold": 0.6}, "failure_threshold"),
    ("adaptive_flow", {"stats_window": 2}, r"stats_window must be in \[3, 50\]"),
    ("adaptive_flow", {"stats_window": 51}, "stats_window"),
    ("adaptive_flow", {"stats_window": 10.5}, "integer"),
    ("hybrid_dynamic", {"latency_weight": -0.1}, r"latency_weight must be in \[0.0, 1.0\]"),
    ("data_aware", {"energy_weight": 1.5}, "energy_weight"),
    ("data_aware", {"history_weight": "high"}, "history_weight must be a number"),
    ("hybrid_execution", {"mode": "Fog"}, "mode must be one of"),
    ("edge_only", {"edge_tiers": "Cloud"}, "edge_tiers must be one of"),
    ("hybrid_static", {"latency_weight": 0.5}, "unknown parameter"),
    ("hybrid_dynamic", {"slowdown_factor": 1.2}, "unknown parameter"),
])
def test_out_of_range_values_are_rejected(name, params, message):
    cls = STRATEGIES[name]
    with pytest.raises(ValueError, match=message):
        validate_params(name, cls.parameters, params)
    with pytest.raises((ValueError, TypeError)):
        cls(**params)


def test_inconsistent_sample_counts_are_rejected():
    with pytest.raises(ValueError, match="recent_samples <= min_samples < stats_window"):
        AdaptiveFlow(stats_window=5, min_samples=5)
    with pytest.raises(ValueError, match="recent_samples <= min_samples"):
        AdaptiveFlow(recent_samples=4, min_samples=3)
    AdaptiveFlow(stats_window=3, min_samples=2, recent_samples=1)
