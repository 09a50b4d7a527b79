"""P25 (load balancing) over traces: ``lb-healthy``, ``rebalance-threshold`` and
``rebalance-direction`` are true on real runs with health changes and rebalancing,
and false, at the right entity and time, on hand-corrupted ones."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from wfsim import (
    EarliestFinishTime,
    Link,
    LocationRequirement,
    Node,
    Poisson,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    Workload,
    hierarchical,
)
from wfsim.engine.migration import RebalanceSettings
from wfsim.engine.simulation import HealthChange
from wfsim.policies.load_balancing import LBLeastConnections, LBRoundRobin
from wfsim.policies.placement import PlacementStrategy
from wfsim.trace.trace import Trace
from wfsim.verify.catalog import CATALOG, check_catalog, resolve
from wfsim.verify.properties import NOT_APPLICABLE, PropertyVerdict

EDGE = LocationRequirement.specific("EdgeCloud")
P25 = ["lb-healthy", "rebalance-threshold", "rebalance-direction"]


class Skewed(PlacementStrategy):
    """Most tasks on the first candidate ``e0``: an imbalanced tier to rebalance."""

    name = "skewed"

    def place(self, run, task, cluster):
        candidates = cluster.candidates(run.spec.tasks[task], run.origin)
        h = ((run.id * 1_000_003 + task * 7919) * 2654435761) % 2**32 / 2**32
        if h < 0.8 and candidates and candidates[0].spec.id == "e0":
            return candidates[0]
        return candidates[int(h * 7919) % len(candidates)] if candidates else None


def rebalanced_trace(health: list[HealthChange] | None = None, threshold: float = 0.3) -> Trace:
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1e9)]
    nodes += [Node(f"e{i}", Tier.EDGE_CLOUD, cores=2, speed=1e9) for i in range(3)]
    links = [Link("d", f"e{i}", 0.005, 1e8) for i in range(3)]
    links += [Link(f"e{i}", f"e{j}", 0.002, 1e8) for i in range(3) for j in range(i + 1, 3)]
    job = Workflow("job", [Task("t", work=1e9, location=EDGE)], input_bytes=1e4)
    sim = Simulation(Topology(nodes, links), [Workload("w", job, Poisson(6.0), origins=["d"])],
                     placement=Skewed(), duration=30, seed=2, rebalance=RebalanceSettings(2.0, threshold),
                     health=health)
    return sim.run().trace


def balanced_trace(placement: PlacementStrategy, health: list[HealthChange]) -> Trace:
    """Three-task chains pinned to the (2-core, busy) EdgeCloud tier of a continuum."""
    job = Workflow("job", [Task(f"t{i}", work=4e9, location=EDGE) for i in range(3)],
                   edges=[("t0", "t1", 1e5), ("t1", "t2", 1e5)], input_bytes=1e4)
    topology = hierarchical(devices=6, edge=3, regional=2, nodes={"EdgeCloud": {"cores": 2}})
    sim = Simulation(topology, [Workload("w", job, Poisson(1.0))],
                     placement=placement, duration=40, seed=5, health=health)
    return sim.run().trace


DRAIN = [HealthChange(5.0, "edge-0", "Maintenance"), HealthChange(8.0, "edge-1", "Degraded"),
         HealthChange(15.0, "edge-0", "Healthy"), HealthChange(25.0, "edge-1", "Unhealthy")]


@pytest.fixture(scope="module")
def lb_trace() -> Trace:
    return balanced_trace(LBLeastConnections(session_affinity=True), DRAIN)


@pytest.fixture(scope="module")
def eft_trace() -> Trace:
    return balanced_trace(EarliestFinishTime(), DRAIN)


@pytest.fixture(scope="module")
def moved_trace() -> Trace:
    return rebalanced_trace([HealthChange(10.0, "e2", "Degraded"), HealthChange(20.0, "e2", "Healthy")])


def verdicts(trace: Trace, names: list[str] | None = None) -> dict[str, PropertyVerdict]:
    return {v.name: v for v in check_catalog(trace, names or ["P25"])}


def with_(trace: Trace, **tables) -> Trace:
    out = copy.deepcopy(trace)
    for name, value in tables.items():
        setattr(out, name, value)
    return out


def first_placed(trace: Trace, after: float, before: float, not_on: str) -> pd.Series:
    te = trace.task_events
    rows = te[(te["event"] == "placed") & (te["time"] > after) & (te["time"] < before)
              & (te["node"].astype(str) != not_on) & te["node"].astype(str).str.startswith("edge")]
    return rows.iloc[0]


# --- registry -----------------------------------------------------------------------------------
def test_p25_is_registered_and_documented() -> None:
    assert [p.name for p in resolve(["P25"])] == P25
    assert set(P25) <= set(CATALOG)
    for name in P25:
        assert CATALOG[name].pid == "P25" and "seed" in CATALOG[name].seed_ref


# --- true on real runs ----------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["lb", "eft"])
def test_lb_healthy_holds_on_runs_with_health_changes(which: str, lb_trace: Trace, eft_trace: Trace) -> None:
    trace = lb_trace if which == "lb" else eft_trace
    v = verdicts(trace)
    assert v["lb-healthy"].verdict == "true", v["lb-healthy"].summary()
    assert v["lb-healthy"].checked == 2 * len(trace.task_events.drop_duplicates(["workflow", "task"]))
    assert v["rebalance-threshold"].verdict == v["rebalance-direction"].verdict == NOT_APPLICABLE
    # The drained node still ran what it had been given before the drain.
    te = trace.task_events
    drained = te[(te["node"].astype(str) == "edge-0") & (te["time"] > 5.0) & (te["time"] < 15.0)]
    assert set(drained["event"]) <= {"ready", "start", "end"}
    assert (drained["event"] == "start").any()
    if which == "eft":  # earliest finish time may use the Degraded node; load balancing may not
        placed = te[(te["event"] == "placed") & (te["node"].astype(str) == "edge-1")]
        assert ((placed["time"] > 8.0) & (placed["time"] < 25.0)).any()


def test_lb_healthy_is_trivially_true_without_health_changes() -> None:
    trace = balanced_trace(LBRoundRobin(), [])
    v = verdicts(trace)["lb-healthy"]
    assert v.verdict == "true" and v.checked > 0


def test_rebalancing_properties_hold_on_a_rebalanced_run(moved_trace: Trace, tmp_path: Path) -> None:
    v = verdicts(moved_trace)
    assert {name: x.verdict for name, x in v.items()} == dict.fromkeys(P25, "true")
    rounds = moved_trace.rebalances.groupby("time").ngroups
    assert v["rebalance-threshold"].checked == v["rebalance-direction"].checked == rounds > 10
    moves = moved_trace.migrations
    assert (moves["state"] == "Preparing").sum() > 5
    moved_trace.save(tmp_path)
    again = verdicts(Trace.load(tmp_path))
    assert {name: x.verdict for name, x in again.items()} == dict.fromkeys(P25, "true")


# --- false on corrupted traces ----------------------------------------------------------------------
def test_lb_healthy_catches_a_placement_on_a_drained_node(lb_trace: Trace) -> None:
    row = first_placed(lb_trace, 5.0, 15.0, "edge-0")
    te = lb_trace.task_events.copy()
    te.loc[row.name, "node"] = "edge-0"
    v = verdicts(with_(lb_trace, task_events=te))["lb-healthy"]
    assert v.verdict == "false" and v.violated == 1
    assert v.first.entity == f"{row['workflow']}/{row['task']}" and v.first.time == row["time"]
    assert "edge-0 was Maintenance (since t=5)" in v.first.explanation


def test_lb_healthy_catches_a_start_on_a_drained_node_it_was_never_given(lb_trace: Trace) -> None:
    te = lb_trace.task_events
    start = te[(te["event"] == "start") & (te["time"] > 26.0) & (te["node"].astype(str) != "edge-1")
               & te["node"].astype(str).str.startswith("edge")].iloc[0]
    bad = te.copy()
    bad.loc[start.name, "node"] = "edge-1"                       # Unhealthy from t=25
    v = verdicts(with_(lb_trace, task_events=bad))["lb-healthy"]
    assert v.verdict == "false"
    assert v.first.entity == f"{start['workflow']}/{start['task']}" and v.first.time == start["time"]
    assert v.first.explanation.startswith("start edge-1")


def test_degraded_nodes_are_refused_to_load_balancers_only(eft_trace: Trace) -> None:
    te = eft_trace.task_events
    placed = te[(te["event"] == "placed") & (te["node"].astype(str) == "edge-1")
                & (te["time"] > 8.0) & (te["time"] < 25.0)].iloc[0]
    assert verdicts(eft_trace)["lb-healthy"].verdict == "true"
    as_lb = with_(eft_trace, manifest={**eft_trace.manifest, "placement_only_healthy": True})
    v = verdicts(as_lb)["lb-healthy"]
    assert v.verdict == "false"
    assert v.first.entity == f"{placed['workflow']}/{placed['task']}" and v.first.time == placed["time"]
    assert "only Healthy nodes may be chosen" in v.first.explanation


def test_the_manifest_records_whether_placement_chooses_only_healthy_nodes(lb_trace: Trace,
                                                                           eft_trace: Trace) -> None:
    assert lb_trace.manifest["placement_only_healthy"] is True
    assert eft_trace.manifest["placement_only_healthy"] is False


def test_placements_on_degraded_nodes_are_inconclusive_without_the_manifest_key(lb_trace: Trace,
                                                                                eft_trace: Trace) -> None:
    """A trace saved before ``placement_only_healthy`` was recorded: whether a placement
    on a Degraded node is allowed depends on a strategy the trace does not describe."""
    def saved_before(trace: Trace) -> Trace:
        return with_(trace, manifest={k: v for k, v in trace.manifest.items() if k != "placement_only_healthy"})

    assert verdicts(saved_before(lb_trace))["lb-healthy"].verdict == "true"   # never on a Degraded node
    te = eft_trace.task_events
    on_degraded = te[(te["event"] == "placed") & (te["node"].astype(str) == "edge-1")
                     & (te["time"] > 8.0) & (te["time"] < 25.0)]
    v = verdicts(saved_before(eft_trace))["lb-healthy"]
    assert v.verdict == "inconclusive" and v.violated == 0
    assert v.inconclusive == len(on_degraded.drop_duplicates(["workflow", "task"]))
    assert v.first.verdict == "inconclusive" and "placement_only_healthy" in v.first.explanation
    # A placement on a drained node is refused to every strategy: still a violation.
    placed = first_placed(eft_trace, 5.0, 8.0, "edge-0")          # edge-0 in Maintenance, none Degraded yet
    bad = te.copy()
    bad.loc[placed.name, "node"] = "edge-0"
    v = verdicts(saved_before(with_(eft_trace, task_events=bad)))["lb-healthy"]
    assert v.verdict == "false" and v.first.entity == f"{placed['workflow']}/{placed['task']}"


def test_a_decision_at_the_instant_of_a_change_may_precede_it(eft_trace: Trace) -> None:
    row = first_placed(eft_trace, 30.0, 40.0, "")
    node, t = str(row["node"]), float(row["time"])

    def drained_from(time: float) -> Trace:  # ... until just after t
        extra = pd.DataFrame({"time": [time, t + 1e-9], "kind": ["health"] * 2, "entity": [node] * 2,
                              "state": ["Maintenance", "Healthy"]})
        states = pd.concat([eft_trace.states.astype(object), extra], ignore_index=True)
        return with_(eft_trace, states=states)

    assert verdicts(drained_from(t))["lb-healthy"].verdict == "true"          # same instant: fine
    v = verdicts(drained_from(t - 1e-6))["lb-healthy"]
    assert v.verdict == "false" and v.first.time == t


def test_rebalance_threshold_catches_moves_below_the_threshold(moved_trace: Trace) -> None:
    prep = moved_trace.migrations[moved_trace.migrations["state"] == "Preparing"]
    first = prep.iloc[0]
    # A threshold above every finite imbalance: only moves of rounds with an idle node
    # (imbalance infinite) stay legal.
    rb = moved_trace.rebalances
    idle = set(rb.loc[rb["load"] == 0, "time"])
    finite = prep[~prep["time"].isin(idle)]
    assert 0 < len(finite) < len(prep)
    strict = with_(moved_trace, manifest={**moved_trace.manifest, "rebalance": {"interval": 2.0, "threshold": 1e9}})
    v = verdicts(strict)["rebalance-threshold"]
    assert v.verdict == "false" and v.violated == len(finite)
    assert v.first.entity_kind == "migration" and v.first.entity == str(finite.iloc[0]["migration"])
    assert v.first.time == finite.iloc[0]["time"]
    assert "is not above the threshold 1e+09" in v.first.explanation
    assert any(r["table"] == "rebalances" for r in v.first.events)
    assert any(r["table"] == "migrations" for r in v.first.events)
    # Or: that round's loads made equal (no imbalance) — only that round's moves fail.
    rb = moved_trace.rebalances.copy()
    rb.loc[rb["time"] == first["time"], "load"] = 1.0
    flat = verdicts(with_(moved_trace, rebalances=rb))
    same_round = (prep["time"] == first["time"]).sum()
    assert flat["rebalance-threshold"].verdict == "false"
    assert flat["rebalance-threshold"].violated == same_round
    assert flat["rebalance-threshold"].first.entity == str(first["migration"])
    assert flat["rebalance-threshold"].first.time == first["time"]
    assert "imbalance 0 is not above the threshold 0.3" in flat["rebalance-threshold"].first.explanation


def test_rebalance_direction_catches_a_move_from_a_node_that_was_not_overloaded(moved_trace: Trace) -> None:
    prep = moved_trace.migrations[moved_trace.migrations["state"] == "Preparing"]
    first = prep.iloc[0]
    rb = moved_trace.rebalances.copy()
    in_round = rb["time"] == first["time"]
    rb.loc[in_round & (rb["node"].astype(str) == str(first["source"])), "load"] = 0.0
    v = verdicts(with_(moved_trace, rebalances=rb))["rebalance-direction"]
    assert v.verdict == "false"
    assert v.first.entity == str(first["migration"]) and v.first.time == first["time"]
    assert f"its source {first['source']} had load 0, not above 1.2 × average" in v.first.explanation
    # A target that was not underloaded.
    rb = moved_trace.rebalances.copy()
    rb.loc[in_round & (rb["node"].astype(str) == str(first["target"])), "load"] = 100.0
    v = verdicts(with_(moved_trace, rebalances=rb))["rebalance-direction"]
    assert v.verdict == "false" and v.first.entity == str(first["migration"])
    assert f"its target {first['target']} had load 100" in v.first.explanation


def test_rebalance_properties_not_applicable_without_rebalancing(eft_trace: Trace) -> None:
    v = verdicts(eft_trace)
    assert v["rebalance-threshold"].verdict == v["rebalance-direction"].verdict == NOT_APPLICABLE
    # A trace saved before the rebalances table existed loads with an empty one.
    old = with_(eft_trace)
    del old.rebalances
    assert verdicts(old)["rebalance-direction"].verdict == NOT_APPLICABLE


def test_lb_healthy_with_health_changes_and_nothing_placed():
    """Every task fails (its only tier is in maintenance): nothing to judge, no crash."""
    nodes = [Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1e9), Node("e0", Tier.EDGE_CLOUD, cores=2, speed=1e9)]
    job = Workflow("job", [Task("t", work=1e9, location=EDGE)], input_bytes=1e4)
    sim = Simulation(Topology(nodes, [Link("d", "e0", 0.005, 1e8)]), [Workload("w", job, Poisson(1.0))],
                     duration=5, seed=1, health=[HealthChange(0.0, "e0", "Maintenance")])
    trace = sim.run().trace
    assert (trace.task_events["event"] == "failed").all()
    verdicts = {v.name: v for v in check_catalog(trace)}
    assert verdicts["lb-healthy"].verdict in ("true", NOT_APPLICABLE)
