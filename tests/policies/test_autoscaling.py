"""Autoscaling of node capacity: the strategies' rules, the control loop (cooldown,
provisioning delay), P18 resource conservation on traces, metrics and YAML."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import (
    Link,
    Node,
    PlacementStrategy,
    Poisson,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    Workload,
    chain,
    fork_join,
    hierarchical,
)
from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.policies.autoscaling import (
    AUTOSCALERS,
    PredictiveScaling,
    RightSizing,
    ThresholdScaling,
    UtilisationHistory,
    ols_predict,
)
from wfsim.trace.metrics import capacity_core_seconds, summarize
from wfsim.trace.trace import Trace

from sim_support import Fixed


def hist(capacity: int, samples: list[tuple[float, float]]) -> UtilisationHistory:
    return UtilisationHistory(capacity, samples)


def flat(value: float, start: float, end: float, step: float = 10.0) -> list[tuple[float, float]]:
    return [(t, value) for t in np.arange(start, end + 1e-9, step)]


# --- the rules ---------------------------------------------------------------------
def test_threshold_scales_up_only_when_the_5_minute_average_confirms():
    s = ThresholdScaling(up_threshold=0.8, up_factor=1.5)
    now = 1000.0
    # Sustained: current 0.9 and the 5-min average 0.9 > 0.72.
    assert s.decide(now, hist(10, flat(0.9, 600, now))) == 15
    # A spike: current 0.95 but the last 5 minutes mostly idle (avg < 0.72).
    spike = flat(0.1, 600, now - 10) + [(now, 0.95)]
    assert s.decide(now, hist(10, spike)) is None
    # Just above the confirmation (avg of the 5-min window > 0.72), older samples ignored.
    samples = flat(0.0, 0, 690) + flat(0.73, 700, now - 10) + [(now, 0.81)]
    assert hist(10, samples).average(now, 300) > 0.72
    assert s.decide(now, hist(10, samples)) == 15
    # Not above the threshold: nothing.
    assert s.decide(now, hist(10, flat(0.8, 600, now))) is None
    # Up by at least one core.
    assert s.decide(now, hist(1, flat(0.9, 600, now))) == 2


def test_threshold_scales_down_only_when_the_15_minute_average_confirms():
    s = ThresholdScaling(down_threshold=0.3, down_factor=0.5)
    now = 2000.0
    assert s.decide(now, hist(10, flat(0.1, now - 900, now))) == 5
    # Current low but the last 15 minutes busy: the 15-min average 0.4 > 0.33.
    busy = flat(0.45, now - 900, now - 10) + [(now, 0.1)]
    assert s.decide(now, hist(10, busy)) is None
    # The 15-min average just below 1.1 × 0.3 = 0.33 confirms; the 5-min does not matter.
    mixed = flat(0.32, now - 900, now - 10) + [(now, 0.29)]
    assert hist(10, mixed).average(now, 900) < 0.33
    assert s.decide(now, hist(10, mixed)) == 5
    # Down by at least one core, never below one.
    assert s.decide(now, hist(1, flat(0.0, now - 900, now))) == 1
    assert ThresholdScaling(down_factor=0.9).decide(now, hist(3, flat(0.0, now - 900, now))) == 2
    # No samples: no decision.
    assert s.decide(now, hist(10, [])) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 300), st.floats(0, 1)), min_size=3, max_size=30,
                unique_by=lambda s: round(s[0], 3)),
       st.floats(10, 600))
def test_ols_prediction_matches_numpy_polyfit(raw, ahead):
    now = 300.0
    samples = sorted((now - t, u) for t, u in raw)
    xs = np.array([t - now for t, _ in samples])
    ys = np.array([u for _, u in samples])
    if np.ptp(xs) < 1e-3:
        return
    slope, intercept = np.polyfit(xs, ys, 1)
    expected = min(1.0, max(0.0, slope * ahead + intercept))
    assert ols_predict(samples, now, ahead) == pytest.approx(expected, abs=1e-7)


def test_predictive_scaling_uses_different_factors_up_and_down():
    s = PredictiveScaling(history_window=300, prediction_window=60, up_threshold=0.8, down_threshold=0.3,
                          target_utilisation=0.6)
    now = 300.0
    rising = [(t, 0.5 + 0.001 * t) for t in range(0, 301, 10)]  # 0.80 now, 0.86 in 60 s
    predicted = s.predict(now, hist(10, rising))
    assert predicted == pytest.approx(0.86)
    assert s.decide(now, hist(10, rising)) == math.ceil(10 * 0.86 / 0.6)  # 15: factor 1.43
    falling = [(t, 0.5 - 0.001 * t) for t in range(0, 301, 10)]  # 0.14 in 60 s
    assert s.predict(now, hist(10, falling)) == pytest.approx(0.14)
    assert s.decide(now, hist(10, falling)) == math.floor(10 * 0.14 / 0.6)  # 2: factor 0.23, not 1.2
    # Clamped to [0, 1].
    steep = [(t, 0.003 * t) for t in range(0, 301, 10)]
    assert s.predict(now, hist(10, steep)) == 1.0
    # Fewer than 3 samples in the window: no prediction.
    assert s.decide(now, hist(10, [(0.0, 0.1), (290.0, 0.9), (300.0, 0.95)][1:])) is None
    # Only the history window counts.
    old = [(t, 1.0) for t in range(0, 200, 10)] + [(t, 0.5) for t in range(700, 1001, 10)]
    assert s.predict(1000.0, hist(10, old)) == pytest.approx(0.5)
    assert s.decide(1000.0, hist(10, old)) is None


def test_right_sizing_bands():
    s = RightSizing()
    now = 500.0
    assert s.decide(now, hist(10, flat(0.2, 440, now))) == 8        # −20 %
    assert s.decide(now, hist(10, flat(0.9, 440, now))) == 13       # +30 %
    assert s.decide(now, hist(10, flat(0.5, 440, now))) is None
    assert s.decide(now, hist(10, flat(0.3, 440, now))) is None     # bands are strict
    assert s.decide(now, hist(10, flat(0.8, 440, now))) is None
    # Only the last 60 s: a busy past does not count.
    assert s.decide(now, hist(10, flat(1.0, 0, 430) + flat(0.1, 440, now))) == 8
    assert s.decide(now, hist(2, flat(0.9, 440, now))) == 3         # at least one core


def test_parameters_declared_and_validated():
    assert set(AUTOSCALERS) == {"threshold", "predictive", "right_sizing"}
    up = {p.name: p for p in ThresholdScaling.parameters}
    assert (up["up_threshold"].low, up["up_threshold"].high) == (0.6, 0.95)
    assert (up["down_threshold"].low, up["down_threshold"].high) == (0.05, 0.5)
    assert (up["cooldown"].low, up["cooldown"].high) == (30, 1800)
    with pytest.raises(ValueError, match="up_threshold"):
        ThresholdScaling(up_threshold=0.99)
    with pytest.raises(ValueError, match="unknown"):
        ThresholdScaling(nope=1)
    with pytest.raises(ValueError, match="target_utilisation"):
        PredictiveScaling(target_utilisation=0.85, up_threshold=0.8)


# --- the loop on runs ----------------------------------------------------------------
def one_edge(cores: int = 2, tier: Tier = Tier.EDGE_CLOUD) -> Topology:
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0), Node("e", tier, cores=cores, speed=1.0)]
    return Topology(nodes, [Link("d", "e", 0.001, 1e12)])


def loaded(autoscaler=None, duration: float = 600.0, rate: float = 0.5, **kw) -> Simulation:
    wf = Workflow("job", [Task("t", work=8.0)])
    settings = None if autoscaler is None else AutoscalingSettings(autoscaler, **kw)
    return Simulation(one_edge(), [Workload("w", wf, Poisson(rate))], placement=Fixed("e"),
                      duration=duration, seed=3, autoscaling=settings)


def capacity_rows(trace: Trace, node: str) -> list[tuple[float, int]]:
    st_ = trace.states
    rows = st_[(st_["kind"].astype(str) == "capacity") & (st_["entity"].astype(str) == node)]
    return [(float(t), int(c)) for t, c in zip(rows["time"], rows["state"].astype(str))]


def test_loaded_run_scales_up_after_the_provisioning_delay_and_finishes_sooner():
    base = loaded().run()
    sim = loaded(ThresholdScaling(cooldown=60))
    scaled = sim.run()
    ups = [d for d in sim.autoscaling.decisions if d.target > d.capacity]
    assert ups, "a node at 2 cores with 4 cores of load must scale up"
    for d in ups:
        assert d.effective == d.time + 30.0  # EdgeCloud
    rows = capacity_rows(scaled.trace, "e")
    first = ups[0]
    assert (first.time + 30.0, first.target) in rows
    assert all(t >= first.time + 30.0 for t, _ in rows if _ > 2)
    assert scaled.metrics["makespan"] < base.metrics["makespan"]
    assert scaled.metrics["latency"]["mean"] < base.metrics["latency"]["mean"]
    assert scaled.metrics["workflows"]["completed"] == base.metrics["workflows"]["completed"]


def test_provisioning_delay_per_tier_is_configurable():
    sim = loaded(ThresholdScaling(cooldown=60), provisioning={"EdgeCloud": 45.0})
    trace = sim.run().trace
    ups = [d for d in sim.autoscaling.decisions if d.target > d.capacity]
    assert ups and all(d.effective == d.time + 45.0 for d in ups)
    assert (ups[0].time + 45.0, ups[0].target) in capacity_rows(trace, "e")


@pytest.mark.parametrize("cooldown", [30.0, 120.0, 400.0])
def test_cooldown_takes_effect(cooldown):
    sim = loaded(ThresholdScaling(cooldown=cooldown, down_threshold=0.5), duration=1200, rate=0.4)
    sim.run()
    changes = sim.autoscaling.changes
    assert len(changes) >= 2
    times = [t for t, *_ in changes]
    assert all(b - a >= cooldown for a, b in zip(times, times[1:]))
    # Decisions too: none while a scale-up is in flight or within the cooldown.
    decided = [d.time for d in sim.autoscaling.decisions]
    assert all(b - a >= cooldown for a, b in zip(decided, decided[1:]))


def test_scale_down_waits_for_running_tasks_to_release_cores():
    from wfsim import Periodic

    wf = Workflow("job", [Task("t", work=100.0, cores=1)])
    sim = Simulation(one_edge(cores=4), [Workload("w", wf, Periodic(0.05), end=0.29)], placement=Fixed("e"),
                     duration=1, seed=1, autoscaling=AutoscalingSettings(ThresholdScaling(), tiers=()))
    node = sim.nodes[1]
    seen = []
    node.on_capacity = lambda n: seen.append((sim.env.now, n.capacity, n.capacity - n.free_cores))
    sim.env.timeout(5.0).callbacks.append(lambda _e: node.resize(1))
    trace = sim.run().trace
    starts = trace.task_events[trace.task_events["event"] == "start"]["time"].to_numpy()
    assert len(starts) == 6
    # 4 start at once, 2 wait; the scale-down at t=5 removes nothing (all 4 busy):
    # capacity drains 4 → 3 → 2 → 1 as three of them end, and the next task starts
    # only when the fourth ends, one at a time afterwards.
    assert (starts[:4] < 1).all()
    assert [cap for _, cap, _ in seen] == [3, 2, 1]
    assert [t for t, _, _ in seen] == pytest.approx(list(starts[:3] + 100))
    assert starts[4] == pytest.approx(starts[3] + 100)
    assert all(cap >= alloc for _, cap, alloc in seen)
    assert starts[5] >= starts[4] + 100 - 1e-9
    assert node.capacity == node.target == 1 and node.free_cores == 1


def test_no_scaling_of_devices_and_tiers_parameter():
    sim = loaded(ThresholdScaling(cooldown=60), tiers=("RegionalCloud",))
    trace = sim.run().trace
    assert not sim.autoscaling.nodes and not sim.autoscaling.decisions
    assert capacity_rows(trace, "e") == []


# --- P18 on random workloads ---------------------------------------------------------
def check_p18(trace: Trace) -> None:
    nodes = trace.nodes.set_index("id")
    te = trace.task_events
    ev = te[te["event"].isin(["start", "end"])]
    cores_of = trace.task_specs.set_index(["definition", "task"])["cores"]
    definition = trace.workflows.set_index("workflow")["definition"]
    # Every start has exactly one end (a run without ``until`` finishes all it starts).
    counts = ev.groupby(["workflow", ev["task"].astype(str), "event"], observed=True).size().unstack(fill_value=0)
    assert (counts["start"] == 1).all() and (counts["end"] == 1).all()
    # Merge the task events and capacity changes of each node in time order; at equal
    # times the engine's order is: ends, then capacity changes, then starts.
    rank = {"end": 0, "capacity": 1, "start": 2}
    timeline: dict[str, list[tuple[float, int, int]]] = {n: [] for n in nodes.index}
    for row in ev.itertuples():
        c = int(cores_of[(definition[row.workflow], str(row.task))])
        kind = str(row.event)
        timeline[str(row.node)].append((row.time, rank[kind], c if kind == "start" else -c))
    st_ = trace.states
    for row in st_[st_["kind"].astype(str) == "capacity"].itertuples():
        timeline[str(row.entity)].append((row.time, 1, int(str(row.state))))
    for node, items in timeline.items():
        capacity, allocated, draining = int(nodes.at[node, "cores"]), 0, False
        for _t, kind, value in sorted(items, key=lambda x: (x[0], x[1])):
            if kind == 1:
                draining = value < capacity and allocated > value
                capacity = value
                assert capacity >= 1
            else:
                allocated += value
                if kind == 2:
                    # No task starts during a scale-down's drain, nor beyond capacity.
                    assert not draining and allocated <= capacity, (node, _t)
                elif allocated <= capacity:
                    draining = False
            assert allocated >= 0
            # With drain-as-released, capacity never drops below what is allocated.
            assert allocated <= capacity, (node, _t, allocated, capacity)


scalers = st.one_of(
    st.builds(ThresholdScaling, cooldown=st.floats(30, 200), up_threshold=st.floats(0.6, 0.95),
              down_threshold=st.floats(0.05, 0.5), up_factor=st.floats(1.1, 2.0), down_factor=st.floats(0.1, 0.9)),
    st.builds(PredictiveScaling, cooldown=st.floats(30, 200), history_window=st.floats(60, 300),
              prediction_window=st.floats(10, 120)),
    st.builds(RightSizing, cooldown=st.floats(30, 200)),
)


class Spread(PlacementStrategy):
    """Tasks hashed onto the scalable nodes, so load concentrates on small nodes."""

    name = "spread"

    def __init__(self, nodes: list[str], salt: int) -> None:
        self.nodes, self.salt = nodes, salt

    def place(self, run, task, cluster):
        h = ((run.id * 1_000_003 + task * 7919 + self.salt) * 2654435761) % 2**32
        return cluster.nodes[cluster.topology.index[self.nodes[h % len(self.nodes)]]]


def small_continuum(cores: int) -> Topology:
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1e9),
             Node("e0", Tier.EDGE_CLOUD, cores=max(2, cores), speed=1e9),
             Node("e1", Tier.EDGE_CLOUD, cores=cores, speed=1e9),
             Node("r", Tier.REGIONAL_CLOUD, cores=4, speed=2e9)]
    links = [Link("d", "e0", 0.001, 1e9), Link("d", "e1", 0.001, 1e9), Link("e0", "r", 0.01, 1e9),
             Link("e1", "r", 0.01, 1e9)]
    return Topology(nodes, links)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scaler=scalers, seed=st.integers(0, 10_000), rate=st.floats(0.05, 2.0),
       cores=st.integers(1, 3), interval=st.sampled_from([5.0, 10.0, 20.0]))
def test_p18_resource_conservation_with_autoscaling(scaler, seed, rate, cores, interval):
    wf = fork_join(3, work=4e9, task={"cores": cores})
    sim = Simulation(small_continuum(cores),
                     [Workload("w", wf, Poisson(rate)), Workload("c", chain(2, work=6e9), Poisson(rate / 2))],
                     placement=Spread(["e0", "e1", "r"], seed), duration=400, seed=seed,
                     autoscaling=AutoscalingSettings(scaler, interval=interval, provisioning={"EdgeCloud": 15.0}))
    result = sim.run()
    check_p18(result.trace)
    for node in sim.nodes:
        allocated = node.capacity - node.free_cores
        assert node.free_cores >= 0 and allocated == 0 and node.running == 0
        assert node.capacity >= 1 and not node.queue
    assert result.metrics["workflows"]["running"] == 0
    assert result.metrics["workflows"]["completed"] == result.metrics["workflows"]["submitted"]


def test_p18_scenario_exercises_up_down_and_demand():
    reasons = set()
    for seed, rate in ((1, 1.5), (2, 0.1), (3, 0.8)):
        sim = Simulation(small_continuum(2),
                         [Workload("w", fork_join(3, work=4e9, task={"cores": 2}), Poisson(rate))],
                         placement=Spread(["e0", "e1", "r"], seed), duration=600, seed=seed,
                         autoscaling=AutoscalingSettings(ThresholdScaling(cooldown=30, down_threshold=0.5,
                                                                           down_factor=0.1)))
        check_p18(sim.run().trace)
        reasons |= {d.reason.split()[0] for d in sim.autoscaling.decisions}
    assert {"threshold-up", "threshold-down", "demand"} <= reasons


# --- traces and metrics ----------------------------------------------------------------
BEFORE_SUMMARY = "bc157ba4839ea152737d0505b441d5e3450a2536b23fd6c20b6d73499e7f7d7b"
BEFORE_TRACE = "60e263cf4f9c01750a973756c22bc3251c93452d65430266c825f2a53437c8aa"


def test_unchanged_without_autoscaling():
    """Digests computed with the code before autoscaling existed."""
    topo = hierarchical(devices=6, edge=2, regional=1)
    sim = Simulation(topo, [Workload("a", chain(3), Poisson(2.0)), Workload("b", fork_join(3), Poisson(1.0))],
                     duration=40, seed=7)
    result = sim.run()
    tr = result.trace
    h = hashlib.sha256()
    for name in ("workflows", "workflow_events", "task_events", "transfers", "link_usage", "states", "violations"):
        h.update(getattr(tr, name).to_csv(index=False).encode())
    h.update(repr(tr.horizon).encode())
    assert h.hexdigest() == BEFORE_TRACE
    # Metrics added since (overall utilisation) are left out: the others stay as they were.
    metrics = {**result.metrics, "utilisation": {k: v for k, v in result.metrics["utilisation"].items()
                                                 if k != "overall"}}
    assert hashlib.sha256(json.dumps(metrics, sort_keys=True).encode()).hexdigest() == BEFORE_SUMMARY
    assert sim.autoscaling is None


def test_metrics_follow_capacity():
    sim = loaded(ThresholdScaling(cooldown=60))
    trace = sim.run().trace
    rows = capacity_rows(trace, "e")
    assert rows
    times = [0.0] + [t for t, _ in rows] + [trace.horizon]
    caps = [2] + [c for _, c in rows]
    expected = sum((b - a) * c for a, b, c in zip(times, times[1:], caps))
    assert capacity_core_seconds(trace)["e"] == pytest.approx(expected)
    assert capacity_core_seconds(trace)["d"] == pytest.approx(trace.horizon)
    m = summarize(trace)
    from wfsim.trace.metrics import busy_core_seconds

    busy = busy_core_seconds(trace)["e"]
    assert m["utilisation"]["per_node"]["e"] == pytest.approx(busy / expected)
    assert 0 <= m["utilisation"]["per_node"]["e"] <= 1
    # overall: all busy core-seconds (all on e) over e's resized capacity and d's one core
    assert m["utilisation"]["overall"] == pytest.approx(busy / (expected + trace.horizon))
    # A saved trace gives the same metrics.
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        trace.save(tmp)
        assert summarize(Trace.load(tmp)) == m


def test_energy_idle_power_scales_with_capacity():
    topo = Topology([Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0),
                     Node("e", Tier.EDGE_CLOUD, cores=2, speed=1.0, idle_power=10.0, busy_power=10.0)],
                    [Link("d", "e", 0.001, 1e12)])
    wf = Workflow("job", [Task("t", work=8.0)])
    sim = Simulation(topo, [Workload("w", wf, Poisson(0.5))], placement=Fixed("e"), duration=600, seed=3,
                     autoscaling=AutoscalingSettings(ThresholdScaling(cooldown=60)))
    trace = sim.run().trace
    # busy = idle power: energy is idle_power × ∫capacity dt / initial cores.
    assert summarize(trace)["energy_joules"] == pytest.approx(10.0 * capacity_core_seconds(trace)["e"] / 2)


# --- YAML ------------------------------------------------------------------------------
def raw_config(**autoscaling):
    return {
        "topology": {"hierarchical": {"devices": 2, "edge": 2, "regional": 1}},
        "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2},
                       "arrivals": {"process": "poisson", "rate": 1.0}}],
        **({"autoscaling": autoscaling} if autoscaling else {}),
    }


def test_yaml_autoscaling_round_trip(tmp_path):
    import yaml

    from wfsim.experiments import build_simulation, load_config

    raw = raw_config(strategy="predictive", params={"target_utilisation": 0.5, "cooldown": 120},
                     interval=5, tiers=["EdgeCloud"], provisioning={"EdgeCloud": 12})
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    sim = build_simulation(config)
    loop = sim.autoscaling
    assert isinstance(loop.autoscaler, PredictiveScaling)
    assert loop.autoscaler.target_utilisation == 0.5 and loop.autoscaler.cooldown == 120
    assert loop.interval == 5 and loop.tiers == {Tier.EDGE_CLOUD}
    assert loop.provisioning_delay[Tier.EDGE_CLOUD] == 12
    assert [n.spec.id for n in loop.nodes] == ["edge-0", "edge-1"]
    assert sim.config["autoscaling"]["strategy"] == "predictive"
    # The dumped config validates again to the same thing.
    again = load_config(path)
    assert again == config
    path.write_text(yaml.safe_dump(sim.config))
    assert load_config(path).autoscaling == config.autoscaling
    # Without it, nothing in the manifest.
    path.write_text(yaml.safe_dump(raw_config()))
    plain = build_simulation(load_config(path))
    assert plain.autoscaling is None and "autoscaling" not in plain.config


@pytest.mark.parametrize("autoscaling, field", [
    ({"strategy": "magic"}, "autoscaling.strategy"),
    ({"strategy": "threshold", "params": {"up_threshold": 2.0}}, "autoscaling.params"),
    ({"strategy": "threshold", "params": {"cooldown": 5}}, "autoscaling.params"),
    ({"strategy": "right_sizing", "params": {"bogus": 1}}, "autoscaling.params"),
    ({"strategy": "threshold", "interval": 0}, "autoscaling.interval"),
    ({"strategy": "threshold", "tiers": ["Moon"]}, "autoscaling.tiers"),
    ({"strategy": "threshold", "colour": "red"}, "autoscaling.colour"),
])
def test_yaml_autoscaling_user_errors(tmp_path, autoscaling, field):
    import yaml

    from wfsim.experiments import ConfigError, load_config

    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw_config(**autoscaling)))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field is not None and info.value.field.startswith(field)
