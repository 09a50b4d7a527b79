"""Edge autonomy in the simulator (wfsim.engine.autonomy): connectivity bands from
heartbeats over the simulated network, the seed's level mapping and local-decision
rule, each fallback action's effect on a partitioned edge site, decision accuracy
against the cloud's decisions, P19 on the recorded trace, and the YAML group."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim import Periodic, Simulation, Workload, chain, hierarchical
from wfsim.engine.autonomy import (
    AutonomySettings,
    ConnectivityMonitor,
    EdgeAutonomyEngine,
    connectivity_of,
    sites,
)
from wfsim.engine.node import NodeRuntime
from wfsim.experiments.building import build_simulation
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import validate_config
from wfsim.experiments.tunables import tunables
from wfsim.model.enums import ConnectivityStatus, EdgeAutonomyLevel, FallbackAction
from wfsim.policies.autonomy import FixedFallback, ThresholdRule
from wfsim.policies.placement import CloudOnly, NearestEdge
from wfsim.policies.scheduling import FIFO
from wfsim.trace.metrics import summarize
from wfsim.verify.catalog import check_catalog

from sim_support import assert_same_metrics

C, D, IN, X = (ConnectivityStatus.CONNECTED, ConnectivityStatus.DEGRADED, ConnectivityStatus.INTERMITTENT,
              ConnectivityStatus.DISCONNECTED)
FD, SA, HA, FA = (EdgeAutonomyLevel.FULLY_DEPENDENT, EdgeAutonomyLevel.SEMI_AUTONOMOUS,
                  EdgeAutonomyLevel.HIGHLY_AUTONOMOUS, EdgeAutonomyLevel.FULLY_AUTONOMOUS)
SEVERITY = [C, D, IN, X]
CUT, HEAL = 10.3, 30.3  # the outage of edge-0's uplink (off the monitor's whole seconds)


# --- connectivity bands ------------------------------------------------------------------
@pytest.mark.parametrize(("age", "expected"), [
    (0.0, C), (1.99, C), (2.0, D), (3.99, D), (4.0, IN), (7.99, IN), (8.0, X), (1e6, X)])
def test_heartbeat_age_maps_to_the_seeds_band(age: float, expected: ConnectivityStatus) -> None:
    assert connectivity_of(age, 8.0) is expected  # T/4 = 2, T/2 = 4, T = 8


@settings(max_examples=30, deadline=None)
@given(a=st.floats(0, 100), b=st.floats(0, 100), timeout=st.floats(1, 60))
def test_an_older_heartbeat_is_never_better_connectivity(a: float, b: float, timeout: float) -> None:
    young, old = sorted((a, b))
    assert SEVERITY.index(connectivity_of(young, timeout)) <= SEVERITY.index(connectivity_of(old, timeout))


def test_the_fractions_must_be_ordered() -> None:
    with pytest.raises(ValueError, match=r"degraded_fraction .* must be below intermittent_fraction"):
        AutonomySettings(degraded_fraction=0.5, intermittent_fraction=0.5)


def outage(sim: Simulation, start: float = CUT, end: float | None = HEAL,
           link: tuple[str, str] = ("edge-0", "regional-0")) -> None:
    """Cut ``link`` from ``start`` to ``end`` (None: for good) in a plain process (real work)."""
    index = sim.topology.link_index(*link)

    def cut(env: Any):
        yield env.timeout(start)
        sim.topology.set_link_up(index, False)
        if end is not None:
            yield env.timeout(end - start)
            sim.topology.set_link_up(index, True)

    sim.env.process(cut(sim.env))


def test_recorded_statuses_follow_the_bands_of_the_heartbeats_heard() -> None:
    period, timeout, interval, until = 1.5, 6.0, 0.7, 45.0
    sim = Simulation(hierarchical(devices=2, edge=2, regional=1), [], until=until, autonomy=AutonomySettings(
        heartbeat_period=period, heartbeat_timeout=timeout, monitor_interval=interval))
    outage(sim)
    trace = sim.run().trace
    topo = sim.topology
    # Oracle: heartbeats leave the cloud every period and arrive after the route's
    # store-and-forward time, unless edge-0's uplink is down when they leave.
    expected: dict[str, list[tuple[float, ConnectivityStatus]]] = {}
    for edge in ("edge-0", "edge-1"):
        route = topo.route(topo.index_of("cloud"), topo.index_of(edge))
        delay = sum(topo.links[c >> 1].latency + 64 / topo.links[c >> 1].bandwidth for c in route)
        heard = [k * period + delay for k in range(int(until / period) + 1)
                 if edge != "edge-0" or not CUT <= k * period < HEAL]
        samples = [(t, "hb") for t in heard if t < until] + [(m * interval, "check")
                                                              for m in range(1, int(until / interval) + 1)]
        status, last, changes = C, 0.0, [(0.0, C)]
        for t, kind in sorted(samples):
            if kind == "hb":
                new, last = C, t
            else:
                new = connectivity_of(t - last, timeout)
            if new is not status:
                changes.append((t, new))
                status = new
        expected[edge] = changes
    rows = trace.connectivity
    for edge, changes in expected.items():
        mine = rows[rows["node"] == edge]
        status = mine["status"].astype(str).to_numpy()
        keep = np.r_[True, status[1:] != status[:-1]]  # level-only changes are rows too
        got = [(t, ConnectivityStatus(s)) for t, s in zip(mine["time"].to_numpy()[keep], status[keep])]
        assert [s for _, s in got] == [s for _, s in changes], edge
        assert np.allclose([t for t, _ in got], [t for t, _ in changes]), edge
    assert [s for _, s in expected["edge-0"]][:5] == [C, D, IN, X, C]  # the outage went all the way


def test_a_heartbeat_makes_the_monitor_connected() -> None:
    monitor = ConnectivityMonitor(AutonomySettings(heartbeat_timeout=4.0))
    assert monitor.sample(10.0) is X
    monitor.heartbeat(10.5)
    assert monitor.status is C and monitor.sample(11.0) is C


def test_an_edge_node_governs_its_devices_and_the_nearest_governs() -> None:
    topo = hierarchical(devices=4, edge=2, regional=1)
    found = sites(topo, [topo.index_of("edge-0"), topo.index_of("edge-1")])
    assert {topo.nodes[e].id: sorted(topo.nodes[i].id for i in s) for e, s in found.items()} == {
        "edge-0": ["device-0", "device-2", "edge-0"], "edge-1": ["device-1", "device-3", "edge-1"]}
    nested = Simulation(hierarchical(devices=2, edge=1, regional=0, device_tier="EdgeDevice"), [],
                        until=1.0, autonomy=AutonomySettings())
    assert nested.autonomy is not None
    governed = {nested.topology.nodes[k].id: e.node.spec.id for k, e in nested.autonomy._governor.items()}
    assert governed == {"device-0": "device-0", "device-1": "device-1", "edge-0": "edge-0"}


# --- levels and local decisions ------------------------------------------------------------
def engine(status: ConnectivityStatus, accuracy: float, level: str = "adaptive",
           rules: tuple = ()) -> EdgeAutonomyEngine:
    topo = hierarchical(devices=1, edge=1, regional=0)
    node = NodeRuntime(None, 1, topo.nodes[1], FIFO(), lambda row: None)  # type: ignore[arg-type]
    made = EdgeAutonomyEngine(node, frozenset({1}), AutonomySettings(level=level, rules=rules, accuracy_window=100))
    made.monitor.status = status
    made.agreements.extend([1] * round(accuracy * 100) + [0] * (100 - round(accuracy * 100)))
    made.adjust()
    return made


# The seed's adjust_autonomy_level table, written out.
LEVELS = [(C, 0.95, SA), (C, 0.90, FD), (C, 0.50, FD), (D, 0.0, SA), (D, 1.0, SA),
          (IN, 0.0, HA), (IN, 1.0, HA), (X, 0.0, FA), (X, 1.0, FA)]


@pytest.mark.parametrize(("status", "accuracy", "level"), LEVELS)
def test_level_follows_the_seeds_mapping(status: ConnectivityStatus, accuracy: float,
                                         level: EdgeAutonomyLevel) -> None:
    assert engine(status, accuracy).level is level
    assert engine(status, accuracy, level="HighlyAutonomous").level is HA  # a fixed level stays


@pytest.mark.parametrize(("level", "status", "fires"),
                         list(itertools.product(list(EdgeAutonomyLevel), SEVERITY, [False, True])))
def test_can_decide_locally_is_the_seeds_rule(level: EdgeAutonomyLevel, status: ConnectivityStatus,
                                              fires: bool) -> None:
    rule = ThresholdRule(metric="utilisation", threshold=-1.0 if fires else 2.0, comparison="GreaterThan")
    made = engine(status, 0.0, level=level.value, rules=(rule,))
    made.refresh(0.0)
    expected = {FD: False, FA: True}.get(level, status is X or fires)
    assert made.can_decide_locally() is expected


# --- fallback actions on a partitioned site -----------------------------------------------------
def site_run(action: str | None, placement: Any = None, until: float | None = None, heal: float | None = HEAL,
             work: float = 1e9, **settings: Any) -> tuple[Simulation, Any]:
    """Chains of two tasks of ``work`` ops from two devices under edge-0 every 3 s for
    45 s; edge-0's uplink is down from CUT to ``heal``. The cloud places every task in
    the cloud (``CloudOnly``); the edge, FullyDependent, falls back to ``action``."""
    if action is not None:
        settings = {"level": "FullyDependent", "fallback": FixedFallback(action=action), **settings}
    workload = Workload("w", chain(2, work=work), Periodic(3.0, phase=0.37))
    sim = Simulation(hierarchical(devices=2, edge=1, regional=1), [workload], duration=45, seed=2, until=until,
                     placement=placement or CloudOnly(),
                     autonomy=AutonomySettings(heartbeat_timeout=4.0, **settings))
    outage(sim, end=heal)
    return sim, sim.run().trace


def fallbacks(trace: Any, action: str) -> pd.DataFrame:
    d = trace.decisions
    return d[d["action"].astype(str) == action].assign(task=lambda f: f["task"].astype(str))


def events(trace: Any, kind: str) -> pd.DataFrame:
    te = trace.task_events
    return te[te["event"] == kind].assign(task=lambda f: f["task"].astype(str))


def reconnected(trace: Any) -> float:
    rows = trace.connectivity
    back = rows[(rows["node"] == "edge-0") & (rows["status"] == "Connected") & (rows["time"] > CUT)]
    return float(back["time"].min())


def test_use_cache_completes_fresh_tasks_at_once_without_running_them() -> None:
    _, trace = site_run("UseCache", max_cache_age=12.0)
    hits = fallbacks(trace, "UseCache")
    assert len(hits) and (hits["staleness"] <= 12.0).all() and (hits["staleness"] >= 0).all()
    assert len(fallbacks(trace, "ExecuteLocal"))  # later, nothing fresh was left: run at the site
    key = ["workflow", "task"]
    for kind in ("placed", "ready", "start", "end"):  # the whole lifecycle at once, on the edge node
        at = hits.merge(events(trace, kind), on=key, suffixes=("", "_event"))
        assert len(at) == len(hits) and (at["time_event"] == at["time"]).all(), kind
        assert set(at["node_event"].astype(str)) == {"edge-0"}
    held = trace.holdings().astype({"task": str}).merge(hits[key], on=key)
    assert ((held["end"] - held["start"]) == 0).all()  # it never ran: no time on any core
    assert (trace.workflow_summary()["state"] == "Completed").all()
    summary = autonomy_metrics(trace)
    assert summary["cache_hits"] == len(hits)
    assert summary["staleness"]["max"] == pytest.approx(hits["staleness"].max())
    assert summary["workflows_served_from_cache"] == hits["workflow"].nunique()


def test_defer_holds_tasks_until_the_edge_reconnects() -> None:
    _, trace = site_run("Defer")
    deferred = fallbacks(trace, "Defer")
    placed = deferred.merge(events(trace, "placed"), on=["workflow", "task"], suffixes=("", "_placed"))
    back = reconnected(trace)
    assert len(deferred) and len(placed) == len(deferred)
    assert (placed["time_placed"] >= back).all() and (placed["time"] < back).all()
    assert (placed["node_placed"].astype(str) == "cloud").all()  # placed normally, by the cloud
    assert (trace.workflow_summary()["state"] == "Completed").all()
    wait = autonomy_metrics(trace)["deferred"]
    started = deferred.merge(events(trace, "start"), on=["workflow", "task"], suffixes=("", "_start"))
    assert wait["tasks"] == wait["started"] == len(deferred) == len(started)
    assert wait["wait"]["max"] == pytest.approx((started["time_start"] - started["time"]).max())


def test_reject_fails_the_task_and_its_workflow() -> None:
    _, trace = site_run("Reject")
    rejected = fallbacks(trace, "Reject")
    failed = rejected.merge(events(trace, "failed"), on=["workflow", "task"], suffixes=("", "_failed"))
    assert len(rejected) and len(failed) == len(rejected) and (failed["time_failed"] == failed["time"]).all()
    states = trace.workflow_summary().set_index("workflow")["state"]
    assert (states[rejected["workflow"]] == "Failed").all()
    wf = trace.workflow_events
    assert set(wf[wf["workflow"].isin(rejected["workflow"]) & (wf["state"] == "Failed")]["reason"]) == {"rejected"}
    assert autonomy_metrics(trace)["rejected"] == len(rejected)


def test_execute_local_runs_on_the_edge_node() -> None:
    _, trace = site_run("ExecuteLocal")
    local = fallbacks(trace, "ExecuteLocal")
    ran = local.merge(events(trace, "end"), on=["workflow", "task"], suffixes=("", "_end"))
    assert len(local) and len(ran) == len(local)
    assert set(ran["node_end"].astype(str)) == {"edge-0"}  # the cloud would have chosen the cloud


def test_use_approximation_runs_a_fraction_of_the_work_locally() -> None:
    sim, trace = site_run("UseApproximation", approximation=0.25)
    approx = fallbacks(trace, "UseApproximation")
    key = ["workflow", "task"]
    ran = approx.merge(events(trace, "start"), on=key, suffixes=("", "_start")).merge(
        events(trace, "end")[[*key, "time"]].rename(columns={"time": "end"}), on=key)
    assert len(approx) and len(ran) == len(approx)
    assert set(ran["node_start"].astype(str)) == {"edge-0"}
    speed = sim.topology.node("edge-0").speed
    assert np.allclose(ran["end"] - ran["time_start"], 0.25 * 1e9 / speed)
    assert autonomy_metrics(trace)["approximate_results"] == len(approx)


def test_retry_places_the_task_again_after_the_backoff() -> None:
    _, trace = site_run("Retry", retry_backoff=2.5)
    retries = fallbacks(trace, "Retry")
    assert len(retries) > retries[["workflow", "task"]].drop_duplicates().shape[0]  # retried more than once
    for _, rows in retries.groupby(["workflow", "task"]):
        assert np.allclose(np.diff(rows["time"].to_numpy()), 2.5)
    last = retries.groupby(["workflow", "task"], as_index=False)["time"].max()
    placed = last.merge(events(trace, "placed"), on=["workflow", "task"], suffixes=("", "_placed"))
    assert len(placed) == len(last)
    assert np.allclose(placed["time_placed"], placed["time"] + 2.5)
    assert (placed["time_placed"] >= reconnected(trace)).all()
    assert (trace.workflow_summary()["state"] == "Completed").all()


@pytest.mark.parametrize("action", ["UseCache", "Defer", "Retry"])
def test_the_property_catalog_holds_with_fallbacks(action: str) -> None:
    # Tasks of 10 s in the cloud: some end during the outage, and their successors are
    # held back by the edge (P6 counts the deferral or retry as their release).
    _, trace = site_run(action, work=3e10)
    assert len(trace.decisions)
    assert [r.name for r in check_catalog(trace) if r.verdict == "false"] == []


def test_deferred_tasks_of_a_site_never_reconnected_end_a_run_without_until() -> None:
    _, trace = site_run("Defer", heal=None)  # the uplink never comes back
    assert len(fallbacks(trace, "Defer"))
    assert (trace.workflow_summary()["state"] == "Running").any()
    assert trace.manifest["truncated"]


# --- accuracy and P19 ---------------------------------------------------------------------------
def autonomy_metrics(trace: Any) -> dict[str, Any]:
    return summarize(trace)["autonomy"]


@pytest.mark.parametrize(("placement", "agrees", "connected_level", "deciders"), [
    (NearestEdge(), 1.0, "SemiAutonomous", {"cloud", "local", "fallback"}),  # fallbacks: Degraded, no rules
    (CloudOnly(), 0.0, "FullyDependent", {"cloud", "local", "fallback"}),  # local: no node, it fails
])
def test_accuracy_is_the_share_of_decisions_agreeing_with_the_cloud(placement: Any, agrees: float,
                                                                    connected_level: str, deciders: set) -> None:
    sim, trace = site_run(None, placement=placement, accuracy_window=5)
    d = trace.decisions
    assert set(d["decider"].astype(str)) == deciders
    compared = d["agrees"].dropna()
    assert len(compared) == (d["decider"] != "fallback").sum()
    assert (compared == agrees).all()  # the edge alone picks the device (NearestEdge) or nothing (CloudOnly)
    assert autonomy_metrics(trace)["accuracy"] == pytest.approx(compared.mean())
    (edge,) = sim.autonomy.engines
    assert edge.accuracy == pytest.approx(compared.to_numpy()[-5:].mean())
    rows = trace.connectivity
    connected = rows[(rows["status"] == "Connected") & (rows["time"] > 1.0)]
    assert set(connected["level"].astype(str)) == {connected_level}


@pytest.mark.parametrize("configuration", [
    {"action": None}, {"action": "Defer"}, {"action": None, "level": "HighlyAutonomous"},
    {"action": None, "fallback": FixedFallback(action="Reject"),
     "rules": (ThresholdRule(metric="queue_length", threshold=0.5, comparison="LessThan"),)},
])
def test_p19_on_the_trace(configuration: dict[str, Any]) -> None:
    configuration = dict(configuration)
    _, trace = site_run(configuration.pop("action"), **configuration)
    d = trace.decisions.sort_values("time", kind="stable")
    states = trace.connectivity.sort_values("time", kind="stable")
    at = pd.merge_asof(d, states[["time", "node", "status", "level"]], on="time", by="node")
    decider, level, status = (at[c].astype(str) for c in ("decider", "level", "status"))
    assert len(at) and not ((level == "FullyDependent") & (decider == "local")).any()
    forced = (status == "Disconnected") & (level != "FullyDependent")
    assert (decider[forced] == "local").all()
    assert (decider[status == "Connected"] == "cloud").all()
    assert ((status != "Connected") == (decider != "cloud")).all()


def test_without_an_outage_the_cloud_decides_everything_as_without_autonomy() -> None:
    workload = Workload("w", chain(3, work=1e9), Periodic(2.0, phase=0.37))
    runs = [Simulation(hierarchical(devices=4, edge=2, regional=1), [workload], duration=30, seed=4,
                       placement=NearestEdge(), autonomy=autonomy).run().trace
            for autonomy in (None, AutonomySettings())]
    plain, governed = (events(t, "placed")[["workflow", "task", "node"]].reset_index(drop=True) for t in runs)
    pd.testing.assert_frame_equal(plain, governed)
    assert set(runs[1].decisions["decider"].astype(str)) == {"cloud"}
    assert set(runs[1].connectivity["status"].astype(str)) == {"Connected"}
    assert not len(runs[0].decisions) and "autonomy" not in summarize(runs[0])


def test_the_autonomy_metrics_are_the_same_at_both_trace_levels() -> None:
    settings = {"level": "FullyDependent", "fallback": FixedFallback(action="Defer"), "heartbeat_timeout": 4.0}
    metrics = []
    for level in ("full", "metrics"):
        sim = Simulation(hierarchical(devices=2, edge=1, regional=1),
                         [Workload("w", chain(2, work=1e9), Periodic(3.0, phase=0.37))], duration=30, seed=2,
                         placement=CloudOnly(), trace=level, autonomy=AutonomySettings(**settings))
        outage(sim)
        metrics.append(sim.run().metrics)
    assert metrics[0]["autonomy"]["deferred"]["started"] > 0
    assert_same_metrics(metrics[0], metrics[1])


def test_a_run_is_reproducible() -> None:
    first = site_run(None, placement=NearestEdge(), rules=(ThresholdRule(),))[1]
    second = site_run(None, placement=NearestEdge(), rules=(ThresholdRule(),))[1]
    pd.testing.assert_frame_equal(first.decisions, second.decisions)
    pd.testing.assert_frame_equal(first.connectivity, second.connectivity)


# --- YAML ----------------------------------------------------------------------------------------
CONFIG: dict[str, Any] = {
    "seed": 1, "duration": 10, "until": 20,
    "topology": {"hierarchical": {"devices": 2, "edge": 1, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2},
                   "arrivals": {"process": "poisson", "rate": 0.5}}],
}


def built(autonomy: Any) -> Simulation:
    return build_simulation(validate_config({**CONFIG, "autonomy": autonomy}, "a.yaml"), source="a.yaml")


def test_the_yaml_group_builds_the_settings() -> None:
    sim = built({"heartbeat_timeout": 20.0, "level": "SemiAutonomous", "tiers": ["EdgeCloud"],
                 "fallback": {"policy": "fixed", "params": {"action": "UseApproximation"}},
                 "rules": [{"rule": "pattern", "pattern": ["Degraded"], "params": {"window": 4.0}}]})
    assert sim.autonomy is not None
    made = sim.autonomy.settings
    assert made.heartbeat_timeout == 20.0 and made.level == "SemiAutonomous"
    assert made.fallback.choose(None, None) is FallbackAction.USE_APPROXIMATION  # type: ignore[arg-type]
    assert made.rules[0].pattern == ("Degraded",)
    assert built({"fallback": "fixed"}).autonomy.settings.fallback.action == "Defer"
    assert built({}).autonomy.settings.fallback.name == "cache"
    result = sim.run()
    assert "autonomy" in result.metrics and result.manifest["config"]["autonomy"]["heartbeat_timeout"] == 20.0
    plain = build_simulation(validate_config(CONFIG, "a.yaml"), source="a.yaml")
    assert plain.autonomy is None and "autonomy" not in plain.run().manifest["config"]


@pytest.mark.parametrize(("autonomy", "field", "says"), [
    ({"heartbeat_timeout": 0.5}, "autonomy.heartbeat_timeout", "greater than or equal to 1"),
    ({"level": "Free"}, "autonomy.level", "'adaptive'"),
    ({"fallback": {"policy": "fixed", "params": {"action": "Pray"}}}, "autonomy.fallback.params",
     "action must be one of Retry, UseCache"),
    ({"rules": [{"rule": "threshold", "params": {"metric": "cpu"}}]}, "autonomy.rules[0].params",
     "metric must be one of"),
    ({"degraded_fraction": 0.6}, "autonomy.degraded_fraction", "must be below intermittent_fraction"),
    ({"tiers": ["Cloud"]}, "autonomy.tiers", "'EdgeDevice' or 'EdgeCloud'"),
])
def test_yaml_errors_name_the_field_and_what_is_allowed(autonomy: dict, field: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        built(autonomy)
    assert caught.value.field is not None and caught.value.field.startswith(field), caught.value
    assert says in str(caught.value)


def test_autonomy_is_listed_for_params_and_the_tuner() -> None:
    entries = {(e.axis, e.name): e.key for e in tunables()}
    assert entries[("settings", "autonomy")] == "autonomy"
    assert entries[("fallback", "fixed")] == "autonomy.fallback.params"
    assert entries[("rule", "prediction")] == "autonomy.rules[].params"
    assert not math.isnan(AutonomySettings().max_cache_age)
