"""The property catalog (wfsim.verify.catalog) on real and corrupted traces.

Every property is true on runs of the shipped experiments and of random small
simulations; each is false on a hand-corrupted trace, with the counterexample at the
right entity and time; P2 is inconclusive on a truncated run.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import (
    CloudOnly,
    EarliestFinishTime,
    LocationRequirement,
    NearestEdge,
    Poisson,
    Simulation,
    Task,
    Workflow,
    Workload,
    chain,
    diamond,
    fork_join,
    hierarchical,
)
from wfsim.experiments import build_simulation, load_config
from wfsim.trace.trace import Trace
from wfsim.verify.catalog import CATALOG, check_catalog, resolve
from wfsim.verify.properties import NOT_APPLICABLE, PropertyVerdict, TraceView

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
#: P25's rebalancing properties: not_applicable on runs without rebalancing, like P24.
REBALANCING = ("rebalance-threshold", "rebalance-direction")
#: Subsystems the shipped runs do not exercise: replicated state (P10–P16), edge
#: autonomy, failure detection, the write gate, leases (P19–P22) and migration (P24).
ABSENT = ("P10", "P11", "P12", "P14", "P15", "P16", "P19", "P20", "P21", "P22", "P24")


def run_experiment(name: str, **overrides: object) -> Trace:
    path = EXPERIMENTS / name
    config = load_config(path, [f"{k}={v}" for k, v in overrides.items()])
    return build_simulation(config, path.parent, str(path)).run().trace


@pytest.fixture(scope="module")
def quickstart() -> Trace:
    return run_experiment("quickstart.yaml")


def verdicts(trace: Trace | TraceView, names: list[str] | None = None) -> dict[str, PropertyVerdict]:
    return {v.name: v for v in check_catalog(trace, names)}


def corrupt(trace: Trace) -> Trace:
    return copy.deepcopy(trace)


def failing(trace: Trace) -> set[str]:
    return {name for name, v in verdicts(trace).items() if v.verdict == "false"}


# ---------------------------------------------------------------------------
# True on real runs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["quickstart.yaml", "campus.yaml"])
def test_catalog_true_on_shipped_experiments(name: str, quickstart: Trace) -> None:
    trace = quickstart if name == "quickstart.yaml" else run_experiment(name)
    result = verdicts(trace)
    assert set(result) == set(CATALOG)
    for v in result.values():
        if v.pid in ABSENT or v.name in REBALANCING:  # no migrations without rebalancing
            assert v.verdict == NOT_APPLICABLE, v.summary()
            continue
        assert v.verdict == "true", v.summary()
        assert v.checked > 0 and v.violated == 0 and v.counterexamples == []
    assert result["lifecycle"].checked == len(trace.workflows)
    assert result["run-once"].checked == len(trace.task_events.drop_duplicates(["workflow", "task"]))


def _random_workflow(kind: str, cores: int) -> Workflow:
    if kind == "chain":
        return chain(3, work=3e8, data_bytes=1e5)
    if kind == "fork_join":
        return fork_join(3, work=3e8, data_bytes=1e5)
    if kind == "diamond":
        return diamond(work=3e8, data_bytes=1e5)
    # Location requirements and multi-core tasks: above 64 cores "big" fits nowhere,
    # so its workflows fail.
    return Workflow("mixed", [
        Task("pre", work=1e8, location=LocationRequirement.preferred_order(["LocalDevice", "EdgeCloud"])),
        Task("big", work=5e8, cores=cores, location=LocationRequirement.any_of(["EdgeCloud", "RegionalCloud"])),
        Task("post", work=1e8, location=LocationRequirement.specific("Cloud")),
    ], edges=[("pre", "big", 1e5), ("big", "post", 1e5)], input_bytes=1e4)


@given(
    devices=st.integers(1, 6), edge=st.integers(1, 2), seed=st.integers(0, 10_000),
    kind=st.sampled_from(["chain", "fork_join", "diamond", "mixed"]), cores=st.integers(1, 96),
    rate=st.floats(0.2, 3.0), placement=st.sampled_from([CloudOnly, NearestEdge, EarliestFinishTime]),
    network=st.sampled_from(["fast", "shared"]), until=st.one_of(st.none(), st.floats(0.5, 8.0)),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_catalog_on_random_simulations(devices: int, edge: int, seed: int, kind: str, cores: int, rate: float,
                                       placement: type, network: str, until: float | None) -> None:
    topology = hierarchical(devices=devices, edge=edge, regional=1)
    workload = Workload("w", _random_workflow(kind, cores), Poisson(rate))
    trace = Simulation(topology, [workload], placement=placement(), network=network,
                       duration=5.0, until=until, seed=seed).run().trace
    for v in verdicts(trace).values():
        if v.name == "eventual-termination" and trace.manifest["truncated"]:
            assert v.verdict in ("true", "inconclusive"), v.summary()
        elif v.checked == 0:
            assert v.verdict == NOT_APPLICABLE
        else:
            assert v.verdict == "true", v.summary()


# ---------------------------------------------------------------------------
# Three-valued liveness
# ---------------------------------------------------------------------------


def test_eventual_termination_inconclusive_when_truncated_true_when_drained() -> None:
    truncated = run_experiment("quickstart.yaml", until=30)
    assert truncated.manifest["truncated"]
    v = verdicts(truncated, ["eventual-termination"])["eventual-termination"]
    assert v.verdict == "inconclusive"
    summary = truncated.workflow_summary()
    running = summary.loc[summary["state"] == "Running", "workflow"]
    assert v.inconclusive == len(running) > 0
    first = v.first
    assert first is not None and first.verdict == "inconclusive"
    assert int(first.entity) in set(running)
    # The other properties are safety properties: judged on the recorded prefix.
    assert all(x.verdict == ("not_applicable" if x.pid in ABSENT or x.name in REBALANCING else "true")
               for x in check_catalog(truncated) if x.name != "eventual-termination")

    drained = run_experiment("quickstart.yaml")
    assert verdicts(drained, ["P2"])["eventual-termination"].verdict == "true"


def test_eventual_termination_false_on_a_drained_run_with_a_hanging_workflow(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    we = trace.workflow_events
    victim = 11
    end = we.index[(we["workflow"] == victim) & we["state"].isin(["Completed", "Failed"])]
    trace.workflow_events = we.drop(end).reset_index(drop=True)
    v = verdicts(trace, ["eventual-termination"])["eventual-termination"]
    assert v.verdict == "false" and v.violated == 1
    assert v.first.entity == str(victim)
    running = we[(we["workflow"] == victim) & (we["state"] == "Running")]["time"].iloc[0]
    assert v.first.time == running


# ---------------------------------------------------------------------------
# False on corrupted traces, at the right entity and time
# ---------------------------------------------------------------------------


def _rows(trace: Trace, workflow: int, task: str, event: str) -> pd.Index:
    te = trace.task_events
    return te.index[(te["workflow"] == workflow) & (te["task"] == task) & (te["event"] == event)]


def _chain_instance(trace: Trace) -> int:
    """A chain workflow (t0 → t1 → t2) that completed."""
    wf = trace.workflows
    summary = trace.workflow_summary().set_index("workflow")
    ids = wf.loc[wf["name"] == "chain", "workflow"]
    return int(next(w for w in ids if summary.loc[w, "state"] == "Completed"))


def test_dependency_safety_start_before_predecessor_ended(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    te = trace.task_events
    early = te.loc[_rows(trace, w, "t0", "start"), "time"].iloc[0]
    te.loc[_rows(trace, w, "t1", "start"), "time"] = early
    v = verdicts(trace, ["P4"])["dependency-safety"]
    assert v.verdict == "false" and v.violated == 1
    cex = v.first
    assert (cex.entity_kind, cex.entity, cex.time) == ("task", f"{w}/t1", early)
    assert "t0" in cex.explanation and "start" in cex.explanation
    # The slice holds the task and its predecessor.
    assert {r["task"] for r in cex.events if r["table"] == "task_events"} == {"t0", "t1"}


def test_dependency_safety_failed_predecessor_never_releases(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    te = trace.task_events
    # t0 "failed" instead of ending: t1 must not have been released.
    te.loc[_rows(trace, w, "t0", "end"), "event"] = "failed"
    v = verdicts(trace, ["dependency-safety"])["dependency-safety"]
    assert v.verdict == "false" and v.first.entity == f"{w}/t1"
    assert "failed" in v.first.explanation
    assert v.first.time == te.loc[_rows(trace, w, "t1", "placed"), "time"].iloc[0]


def test_lifecycle_created_to_failed(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    we = trace.workflow_events
    w = 7
    we = we[~((we["workflow"] == w) & we["state"].isin(["Running", "Completed"]))].copy()
    we.loc[we["workflow"] == w, "state"] = "Created"
    failed_at = float(we.loc[we["workflow"] == w, "time"].iloc[0]) + 1.0
    extra = pd.DataFrame({"time": [failed_at], "workflow": [w], "state": ["Failed"], "reason": [None]})
    trace.workflow_events = pd.concat([we, extra.astype({"reason": "string"})], ignore_index=True)
    v = verdicts(trace, ["lifecycle"])["lifecycle"]
    assert v.verdict == "false" and v.violated == 1
    cex = v.first
    assert (cex.entity_kind, cex.entity, cex.time, cex.step) == ("workflow", str(w), failed_at, 1)
    assert "created" in cex.explanation and "failed" in cex.explanation
    assert [r["state"] for r in cex.events if r["table"] == "workflow_events"] == ["Created", "Failed"]


def test_terminal_stability_completed_then_running(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    we = trace.workflow_events
    w = 9
    done = float(we.loc[(we["workflow"] == w) & (we["state"] == "Completed"), "time"].iloc[0])
    extra = pd.DataFrame({"time": [done + 0.5], "workflow": [w], "state": ["Running"], "reason": [None]})
    trace.workflow_events = pd.concat([we, extra.astype({"reason": "string"})], ignore_index=True)
    result = verdicts(trace)
    v = result["terminal-stability"]
    assert v.verdict == "false" and v.violated == 1
    assert (v.first.entity, v.first.time, v.first.step, v.first.trigger_step) == (str(w), done + 0.5, 3, 2)
    assert result["lifecycle"].verdict == "false"
    assert result["lifecycle"].first.time == done + 0.5


def test_acyclicity_cycle_in_task_edges(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    edges = trace.task_edges
    chain_def = int(trace.workflows.loc[trace.workflows["name"] == "chain", "definition"].iloc[0])
    extra = pd.DataFrame({"definition": [chain_def], "source": ["t2"], "target": ["t0"], "bytes": [1.0]})
    trace.task_edges = pd.concat([edges, extra.astype(edges.dtypes.to_dict())], ignore_index=True)
    v = verdicts(trace, ["acyclicity"])["acyclicity"]
    assert v.verdict == "false" and v.violated == 1 and v.checked == 2
    cex = v.first
    assert cex.entity_kind == "definition" and cex.entity == f"{chain_def}:chain" and cex.time is None
    assert "t0 → t1 → t2 → t0" in cex.explanation
    assert {(r["source"], r["target"]) for r in cex.events} == {("t0", "t1"), ("t1", "t2"), ("t2", "t0")}


def test_completion_postcondition_dependent_not_released(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    ended = trace.task_events.loc[_rows(trace, w, "t0", "end"), "time"].iloc[0]
    # t1's placement is delayed by a second after t0 ended.
    trace.task_events.loc[_rows(trace, w, "t1", "placed"), "time"] = ended + 1.0
    v = verdicts(trace, ["completion-postcondition"])["completion-postcondition"]
    assert v.verdict == "false" and v.violated == 1
    assert (v.first.entity, v.first.time) == (f"{w}/t1", ended)
    assert "placed only at" in v.first.explanation


def test_placement_feasibility_too_small_node(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    specs = trace.task_specs
    chain_def = int(trace.workflows.loc[trace.workflows["name"] == "chain", "definition"].iloc[0])
    specs.loc[(specs["definition"] == chain_def) & (specs["task"] == "t1"), ["cores", "min_cores"]] = 32
    v = verdicts(trace, ["placement-feasibility"])["placement-feasibility"]
    assert v.verdict == "false"
    # Expected: the earliest placement of a chain t1 on a node with fewer than 32 cores.
    small = set(trace.nodes.loc[trace.nodes["cores"] < 32, "id"])
    te = trace.task_events.merge(trace.workflows[["workflow", "definition"]], on="workflow")
    hits = te[(te["definition"] == chain_def) & (te["task"] == "t1") & (te["event"] == "placed")
              & te["node"].astype(str).isin(small)].sort_values("time")
    assert len(hits) > 0
    assert v.first.entity == f"{hits['workflow'].iloc[0]}/t1" and v.first.time == hits["time"].iloc[0]
    assert "more cores" in v.first.explanation


def test_placement_feasibility_other_users_device(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    origin = str(trace.workflows.set_index("workflow").loc[w, "origin"])
    other = next(d for d in trace.nodes.loc[trace.nodes["tier"] == "LocalDevice", "id"] if d != origin)
    te = trace.task_events
    rows = te.index[(te["workflow"] == w) & (te["task"] == "t0")]
    te.loc[rows, "node"] = other
    v = verdicts(trace, ["placement-feasibility"])["placement-feasibility"]
    assert v.verdict == "false" and v.violated == 1
    assert v.first.entity == f"{w}/t0" and "another user's local device" in v.first.explanation
    assert v.first.time == te.loc[_rows(trace, w, "t0", "placed"), "time"].iloc[0]


def test_resource_conservation_overlapping_starts_exceed_cores(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    # Shrink a node that ran tasks concurrently to one core; the first moment two
    # tasks overlap on it is the violation.
    te = trace.task_events.merge(trace.workflows[["workflow", "definition"]], on="workflow")
    te = te.merge(trace.task_specs[["definition", "task", "cores"]].astype({"task": str}),
                  left_on=["definition", te["task"].astype(str)], right_on=["definition", "task"],
                  suffixes=("", "_spec"))
    best = None
    for node in trace.nodes["id"]:
        on = te[(te["node"].astype(str) == node) & te["event"].isin(["start", "end"])].copy()
        on["delta"] = np.where(on["event"] == "start", on["cores"], -on["cores"])
        on["order"] = np.where(on["event"] == "start", 1, 0)
        on = on.sort_values(["time", "order"], kind="stable")
        over = on[on["delta"].cumsum() > 1]
        if len(over) and (best is None or over["time"].iloc[0] < best[1]):
            best = (node, over["time"].iloc[0])
    assert best is not None
    node, when = best
    trace.nodes.loc[trace.nodes["id"] == node, "cores"] = 1
    v = verdicts(trace, ["resource-conservation"])["resource-conservation"]
    assert v.verdict == "false"
    cex = next(c for c in v.counterexamples if c.entity == node)
    assert cex.entity_kind == "node" and cex.time == when
    assert "/1 cores" in cex.explanation
    assert cex.events and all(r["node"] == node for r in cex.events)


def test_resource_conservation_start_without_end(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    start = trace.task_events.loc[_rows(trace, w, "t2", "start"), "time"].iloc[0]
    trace.task_events = trace.task_events.drop(_rows(trace, w, "t2", "end"))
    v = verdicts(trace, ["resource-conservation"])["resource-conservation"]
    assert v.verdict == "false"
    assert (v.first.entity, v.first.time) == (f"{w}/t2", start)
    assert "never ended" in v.first.explanation


def test_run_once_task_run_twice(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    te = trace.task_events
    again = te.loc[list(_rows(trace, w, "t2", "start")) + list(_rows(trace, w, "t2", "end"))].copy()
    again["time"] += 100.0
    trace.task_events = pd.concat([te, again], ignore_index=True)
    result = verdicts(trace)
    v = result["run-once"]
    assert v.verdict == "false" and v.violated == 1
    assert v.first.entity == f"{w}/t2"
    assert v.first.time == again["time"].iloc[0]
    assert "start" in v.first.explanation
    assert failing(trace) == {"run-once"}


def test_single_node_task_on_two_nodes(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    te = trace.task_events
    end = _rows(trace, w, "t1", "end")
    start_node = str(te.loc[_rows(trace, w, "t1", "start"), "node"].iloc[0])
    other = next(n for n in trace.nodes["id"] if n != start_node and not n.startswith("device"))
    te.loc[end, "node"] = other
    result = verdicts(trace)
    assert result["single-node"].verdict == "false"
    assert result["single-node"].first.entity == f"{w}/t1"
    assert result["resource-conservation"].verdict == "false"


def test_engine_lifecycle_reports_runtime_violations(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    trace.violations = pd.DataFrame({
        "time": [3.5], "kind": pd.Categorical(["lifecycle"]), "entity": pd.array(["4"], dtype="string"),
        "message": pd.array(["workflow 4: illegal transition Completed -> Running"], dtype="string"),
    })
    v = verdicts(trace, ["engine.lifecycle"])["engine.lifecycle"]
    assert v.verdict == "false" and v.kind == "invariant"
    assert (v.first.entity, v.first.time) == ("4", 3.5)
    assert "illegal transition" in v.first.explanation
    assert any(r.get("workflow") == 4 for r in v.first.events)


# ---------------------------------------------------------------------------
# Verdicts as data, the registry
# ---------------------------------------------------------------------------


def test_verdicts_are_json_ready_and_render(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    w = _chain_instance(trace)
    trace.task_events.loc[_rows(trace, w, "t1", "start"), "time"] = 0.0
    for v in check_catalog(trace):
        data = json.loads(json.dumps(v.to_dict(), allow_nan=False))
        assert data["name"] == v.name and data["verdict"] == v.verdict
        assert data["seed_ref"].startswith(v.pid)
        for cex in v.counterexamples:
            assert isinstance(cex.frame(), pd.DataFrame) and len(cex.frame()) == len(cex.events)
    ltl = verdicts(trace, ["run-once"])["run-once"]
    assert ltl.first.ltl is not None and ltl.first.ltl.value == "false"


def test_not_applicable_on_an_empty_trace(quickstart: Trace) -> None:
    trace = corrupt(quickstart)
    for name in ("workflows", "workflow_events", "task_events", "task_specs", "task_edges"):
        setattr(trace, name, getattr(trace, name).iloc[0:0])
    for v in check_catalog(trace):
        assert v.verdict == NOT_APPLICABLE, v.summary()


def test_catalog_objects_are_documented() -> None:
    for name, prop in CATALOG.items():
        assert prop.name == name
        assert prop.__doc__ and prop.pid in prop.seed_ref and "seed" in prop.seed_ref
        assert prop.kind in ("ltl", "invariant", "postcondition")
    assert [p.name for p in resolve(["P23"])] == ["run-once", "single-node"]
    assert [p.name for p in resolve(["Lifecycle"])] == ["lifecycle"]
    with pytest.raises(KeyError, match="allowed: lifecycle"):
        resolve(["nope"])


def test_view_is_shared_and_reused(quickstart: Trace) -> None:
    view = TraceView(quickstart)
    first = check_catalog(view)
    again = check_catalog(view)
    assert [v.verdict for v in first] == [v.verdict for v in again]


def test_check_formula_on_a_custom_task_property() -> None:
    from wfsim import Poisson, Simulation, Workload, chain, hierarchical
    from wfsim.verify import check_formula

    sim = Simulation(hierarchical(3, 1, 1), [Workload("w", chain(3), Poisson(1.0))], duration=20, until=12, seed=3)
    trace = sim.run().trace
    assert check_formula(trace, "G(ready -> F start)", per="task").verdict in ("true", "inconclusive")
    # Every task is placed before it starts: holds on every instance.
    assert check_formula(trace, "!start U placed", per="task").verdict == "true"
    # A task never ends: false, with a counterexample naming a task instance.
    verdict = check_formula(trace, "G !end", per="task", liveness=False)
    assert verdict.verdict == "false"
    assert verdict.first is not None and "/" in verdict.first.entity
    with pytest.raises(ValueError, match="per must be one of"):
        check_formula(trace, "G true", per="link")
