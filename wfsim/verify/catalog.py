"""The property catalog: the seed's checkable properties (overview §3) whose subsystem
exists in wfsim, as named module-level objects.

Run them with :func:`check_catalog` (or ``wfsim verify DIR``)::

    from wfsim.verify.catalog import CATALOG, check_catalog
    for verdict in check_catalog(trace):
        print(verdict.summary())

Implemented (overview §3 id → registry name):

* P1 ``lifecycle`` (LTL per workflow) and ``engine.lifecycle`` (the run-time typestate
  enforcement, read from ``trace.violations``);
* P2 ``eventual-termination`` (LTL per workflow, three-valued);
* P3 ``terminal-stability`` (LTL per workflow);
* P4 ``dependency-safety`` (invariant over task releases);
* P5 ``acyclicity`` (invariant over definitions);
* P6 ``completion-postcondition`` (postcondition after every task ``end``);
* P17 ``placement-feasibility`` (invariant over placements and starts);
* P18 ``resource-conservation`` (invariant over per-node allocations: the
  executions' holdings against the autoscaled capacity, allocation bounds,
  elastic-only resizing, start/end/checkpoint pairing);
* P23, in part: ``run-once`` (LTL per task instance, a checkpoint allowing one more
  start) and ``single-node`` (invariant); its "no start before deps complete" clause
  is P4; its dispatch-order and policy-switch clauses are checked on the engine by
  hypothesis (``tests/policies/test_scheduling_properties.py``), as the trace does not
  record the queue or the load they are judged against;
* P24 ``migration-phases``, ``migration-exclusive`` (with the concurrency cap when the
  run's config names it) and ``migration-single-active``, over the ``migrations`` table
  (``not_applicable`` on runs without migrations);
* P25, in part: ``lb-healthy`` (placements, moves and starts honour node health, from
  the ``states`` rows of kind ``health``), ``rebalance-threshold`` and
  ``rebalance-direction`` (over the ``rebalances`` table; ``not_applicable`` on runs
  without rebalancing).  Its ring-remapping and session-affinity clauses are tested on
  the strategies themselves (``tests/policies/test_load_balancing.py``).

Checked elsewhere, because they are about models rather than recorded runs: P7 model
equivalence (:mod:`wfsim.verify.models`, differential tests of the DSL, event and
state-machine interpreters), P8 composition laws and P9 contracts
(:mod:`wfsim.verify.composition`), and P11's linearizability of register/CAS histories
(:mod:`wfsim.verify.history`, ``wfsim check-history``).

Pending, because their subsystem does not exist yet: P10 event sourcing, the rest of
P11 (version order of a register store), P12 Raft, P13 vector clocks, P14 causal reads, P15
convergence, P16 adaptive consistency (consistency stores), P19 edge autonomy, P20
failure detection, P21 partition safety, P22 leases, P26 optimizer, P27 evolution, P28 type evolution, P29 deployment FSM and P30 zero
downtime.  P17's latency bound, state keys and execution modes wait for nodes that
carry them.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
import pandas as pd

from wfsim.model.enums import ALLOWED_PHASES, DRAINED
from wfsim.trace.metrics import capacity_changes
from wfsim.verify.ltl import Formula
from wfsim.verify.properties import (
    TASK_EVENTS,
    Findings,
    Invariant,
    Postcondition,
    Projection,
    Property,
    PropertyVerdict,
    TemporalProperty,
    TraceView,
    project,
    records,
)

__all__ = [
    "ACYCLICITY",
    "CATALOG",
    "COMPLETION_POSTCONDITION",
    "DEPENDENCY_SAFETY",
    "ENGINE_LIFECYCLE",
    "EVENTUAL_TERMINATION",
    "LB_HEALTHY",
    "LIFECYCLE",
    "MIGRATION_EXCLUSIVE",
    "MIGRATION_PHASES",
    "MIGRATION_SINGLE_ACTIVE",
    "PLACEMENT_FEASIBILITY",
    "REBALANCE_DIRECTION",
    "REBALANCE_THRESHOLD",
    "RESOURCE_CONSERVATION",
    "RUN_ONCE",
    "SINGLE_NODE",
    "TERMINAL_STABILITY",
    "check_catalog",
    "check_formula",
    "resolve",
    "task_projection",
    "workflow_projection",
]

WORKFLOW_ATOMS = ("created", "running", "completed", "failed")


def _fmt(values: pd.Series, spec: str = ".6g") -> pd.Series:
    """Numbers as strings (a ``str`` series even when empty)."""
    return values.map(lambda x: format(x, spec)).astype(str)


# ---------------------------------------------------------------------------
# Projections
# ---------------------------------------------------------------------------


def workflow_projection(view: TraceView) -> Projection:
    """One trace per workflow: one step per lifecycle event, atoms
    ``created, running, completed, failed``; a workflow without events has an empty
    trace."""
    return view.cached("workflow_projection", lambda: project(
        view.workflow_events, ["workflow"], "state", WORKFLOW_ATOMS, "workflow",
        all_ids=view.workflow_ids, final=("completed", "failed")))


def task_projection(view: TraceView) -> Projection:
    """One trace per task instance: one step per task event, atoms
    ``placed, ready, start, end, failed``."""
    return view.cached("task_projection", lambda: project(
        view.task_events, ["workflow", "task"], "event", TASK_EVENTS, "task", final=("end", "failed")))


# ---------------------------------------------------------------------------
# Workflow lifecycle (P1–P3)
# ---------------------------------------------------------------------------

LIFECYCLE = TemporalProperty(
    "P1", "lifecycle", "P1, overview §3; seed l.77–163 (typestate Workflow<S>)",
    """A workflow's status changes only along Created → Running → {Completed | Failed}.

    Per workflow, over its lifecycle events: the first is Created, Created is followed
    by Running, Running only by Completed or Failed (or nothing yet), and nothing
    follows a terminal state.  Any other edge, Created → Failed included, is a
    violation.  Safety: judged on the recorded events, so a workflow still Running at
    the horizon of a truncated run satisfies it.
    """,
    "created & G(created -> X running) & G(running -> WX(completed | failed))"
    " & G(completed | failed -> WX false)",
    workflow_projection, unit="workflows",
)

EVENTUAL_TERMINATION = TemporalProperty(
    "P2", "eventual-termination", "P2, overview §3; seed l.304–461 (temporal logic, prop1)",
    """Every Running workflow eventually Completes or Fails: G(running -> F(completed | failed)).

    Seed defect corrected (overview §6.2): the seed omits the outer G and checks only
    the first step; here the obligation is globally quantified.  Liveness: on a
    truncated run a workflow still Running at the horizon is inconclusive; on a
    drained run it is a violation.
    """,
    "G(running -> F(completed | failed))", workflow_projection, unit="workflows", liveness=True,
)

TERMINAL_STABILITY = TemporalProperty(
    "P3", "terminal-stability", "P3, overview §3; seed l.304–461 (temporal logic, prop2)",
    """Terminal states are final: G(completed -> G completed) & G(failed -> G failed).

    Seed defect corrected (overview §6.2): the outer G the seed omits.  Per workflow
    over its lifecycle events; the counterexample points at the first event after the
    terminal one.
    """,
    "G(completed -> G completed) & G(failed -> G failed)", workflow_projection, unit="workflows",
)


def _engine_lifecycle(view: TraceView) -> Findings:
    vi = view.trace.violations
    kind = vi["kind"].astype(str).str.lower()
    rows = vi[kind.str.contains("lifecycle") | kind.str.contains("typestate")]
    entity = rows["entity"].astype(str).to_numpy()
    workflow = pd.to_numeric(pd.Series(entity), errors="coerce").to_numpy()
    found = pd.DataFrame({
        "entity_kind": "workflow", "entity": entity, "time": rows["time"].to_numpy(dtype=float),
        "step": None, "explanation": rows["message"].astype(str).to_numpy(), "workflow": workflow,
    })
    return Findings(len(view.workflow_ids), found)


ENGINE_LIFECYCLE = Invariant(
    "P1", "engine.lifecycle", "P1, overview §3 and §5 (typestate as a run-time FSM); seed l.77–163",
    """The engine's run-time typestate enforcement recorded no illegal transition.

    :mod:`wfsim.engine.lifecycle` checks every lifecycle move against the
    allowed-transition table; a breach is logged in ``trace.violations`` (kind
    ``lifecycle``).  This reports those rows through the same verdict objects.
    """,
    _engine_lifecycle, unit="workflows",
)


# ---------------------------------------------------------------------------
# Dependencies (P4–P6)
# ---------------------------------------------------------------------------


def _dependency_safety(view: TraceView) -> Findings:
    te = view.task_events
    released = te[te["event"].isin(["placed", "ready", "start"])]
    pairs = released.merge(view.edges, left_on=["definition", "task"], right_on=["definition", "target"])
    preds = view.task_times[["workflow", "task", "end", "failed"]].rename(
        columns={"task": "source", "end": "pred_end", "failed": "pred_failed"})
    pairs = pairs.merge(preds, on=["workflow", "source"], how="left")
    bad = pairs[pairs["pred_end"].isna() | (pairs["pred_end"] > pairs["time"])]
    why = np.where(bad["pred_failed"].notna(),
                   "failed at t=" + _fmt(bad["pred_failed"]),
                   np.where(bad["pred_end"].isna(), "never ended",
                            "ended only at t=" + _fmt(bad["pred_end"])))
    found = pd.DataFrame({
        "entity_kind": "task",
        "entity": bad["workflow"].astype(str) + "/" + bad["task"],
        "time": bad["time"], "step": None,
        "explanation": bad["event"] + " of " + bad["task"] + " at t=" + _fmt(bad["time"])
        + ", but its predecessor " + bad["source"] + " " + why,
        "workflow": bad["workflow"], "task": bad["task"], "related": bad["source"].map(lambda s: [s]),
    })
    return Findings(int(released["row"].isin(pairs["row"]).sum()), found)


DEPENDENCY_SAFETY = Invariant(
    "P4", "dependency-safety", "P4, overview §3; seed l.304–461 (prop3) and l.4533–5420 (readiness)",
    """No task is placed, ready or started before all its predecessors ended successfully.

    G ∀t running: deps(t) ⊆ completed_succeeded, checked on every ``placed``,
    ``ready`` and ``start`` event of a task with predecessors (``task_edges``): each
    predecessor has an ``end`` no later than it.  A failed predecessor has no ``end``,
    so it never releases a dependent.  Seed defects corrected: readiness that counts
    failed tasks as completed (overview §6.4) and per-predecessor release at joins
    (part 1 §6.2, AND-join).  Counts the release events of tasks with predecessors.
    """,
    _dependency_safety, unit="dependent task releases",
)


def _acyclicity(view: TraceView) -> Findings:
    edges = view.edges
    graph = nx.DiGraph()
    defs = edges["definition"].to_numpy()
    graph.add_edges_from(zip(zip(defs, edges["source"]), zip(defs, edges["target"])))
    cyclic: dict[int, list] = {}
    for component in nx.strongly_connected_components(graph):
        node = next(iter(component))
        if len(component) > 1 or graph.has_edge(node, node):
            cyclic.setdefault(int(node[0]), list(component))
    names = view.specs.drop_duplicates("definition").set_index("definition")["name"]
    rows = []
    for d, component in sorted(cyclic.items()):
        cycle = [u[1] for u, _ in nx.find_cycle(graph.subgraph(component))]
        # Start at the task declared first, so the report is deterministic.
        declared = view.specs.loc[view.specs["definition"] == d, "task"].tolist()
        first = min(range(len(cycle)), key=lambda i: (declared.index(cycle[i]) if cycle[i] in declared
                                                     else len(declared), cycle[i]))
        path = cycle[first:] + cycle[:first] + [cycle[first]]
        on_cycle = edges[(edges["definition"] == d)
                         & edges["source"].isin(cycle) & edges["target"].isin(cycle)]
        rows.append({
            "entity_kind": "definition", "entity": f"{d}:{names.get(d, '?')}", "time": None, "step": None,
            "explanation": "circular dependency " + " → ".join(path),
            "events": records(on_cycle.assign(table="task_edges")),
        })
    checked = len(set(view.specs["definition"]).union(defs.tolist()))
    return Findings(checked, pd.DataFrame(rows) if rows else Findings.empty_violations())


ACYCLICITY = Invariant(
    "P5", "acyclicity", "P5, overview §3; seed l.463–614 (NoCircularDependency)",
    """Every workflow definition's dependency graph is a DAG.

    The seed's ``NoCircularDependency`` as one strongly-connected-components pass over
    all definitions' ``task_edges`` (networkx); the counterexample is one cycle and its
    edges.  Evolution transforms do not exist yet, so only submitted definitions are
    checked.
    """,
    _acyclicity, unit="definitions",
)


def _completion(view: TraceView, ends: pd.DataFrame) -> Findings:
    times = view.task_times
    edges = view.edges
    # When each dependent became enabled: the last of its predecessors' (first) ends.
    succ = times[["workflow", "task", "end"]].merge(view.definition_of.rename("definition"),
                                                    left_on="workflow", right_index=True)
    succ = succ.merge(edges, left_on=["definition", "task"], right_on=["definition", "source"])
    indegree = edges.groupby(["definition", "target"]).size().rename("indegree")
    succ = succ.sort_values("end", kind="stable")
    enabled = succ.groupby(["workflow", "definition", "target"]).agg(
        ended=("end", "count"), at=("end", "max"), last=("source", "last"))
    enabled = enabled.join(indegree, on=["definition", "target"]).reset_index()
    enabled = enabled[enabled["ended"] == enabled["indegree"]]
    first = times.set_index(["workflow", "task"])[["placed", "failed"]].min(axis=1).rename("released")
    enabled = enabled.join(first, on=["workflow", "target"])
    wf_end = view.workflow_end.reindex(enabled["workflow"]).to_numpy()
    running = ~(wf_end <= enabled["at"].to_numpy())
    bad = enabled[running & ~(enabled["released"] == enabled["at"])]
    status = np.where(bad["released"].isna(), "was never placed",
                      "was placed only at t=" + _fmt(bad["released"]))
    found = pd.DataFrame({
        "entity_kind": "task", "entity": bad["workflow"].astype(str) + "/" + bad["target"],
        "time": bad["at"], "step": None,
        "explanation": bad["last"] + " ended at t=" + _fmt(bad["at"])
        + " completing the predecessors of " + bad["target"] + ", which " + status,
        "workflow": bad["workflow"], "task": bad["target"], "related": bad["last"].map(lambda s: [s]),
    })
    return Findings(len(ends), found)


COMPLETION_POSTCONDITION = Postcondition(
    "P6", "completion-postcondition", "P6, overview §3; seed l.463–614 (TaskCompletionPostcondition)",
    """After a task ends in a running workflow, each dependent whose predecessors have
    all ended is placed (or fails to place) at that same time.

    The seed asks that such dependents be *running* in the same step; with transfers
    and queues the workbench relaxes this to *released* (``placed``, or ``failed`` when
    no node fits), as part 1 §3 suggests.  Seed defect corrected: the seed's check uses
    an undefined ``workflow_definition`` (part 1 §6.4); here dependents come from
    ``task_edges``.  A workflow that terminated at or before that time is exempt (it
    may have failed at the same instant).  "Never reruns" is ``run-once`` (P23).
    """,
    "end", _completion, unit="task ends",
)


# ---------------------------------------------------------------------------
# Resources (P17, P18)
# ---------------------------------------------------------------------------


def _with_specs(view: TraceView, rows: pd.DataFrame) -> pd.DataFrame:
    specs = view.specs
    # Traces saved before tasks had minimums: the minimum is the recommended size.
    mins = specs[["min_cores", "min_memory"]] if "min_cores" in specs.columns else specs[["cores", "memory"]]
    specs = specs[["definition", "task", "cores", "memory", "tiers"]].assign(
        min_cores=mins.iloc[:, 0].to_numpy(), min_memory=mins.iloc[:, 1].to_numpy())
    return rows.merge(specs, on=["definition", "task"], how="left")


def _placement_feasibility(view: TraceView) -> Findings:
    te = view.task_events
    rows = _with_specs(view, te[te["event"].isin(["placed", "start"]) & te["node"].notna()])
    nodes = view.trace.nodes
    node = pd.DataFrame({"node": nodes["id"].astype(str).to_numpy(), "node_tier": nodes["tier"].astype(str).to_numpy(),
                         "node_cores": nodes["cores"].to_numpy(), "node_memory": nodes["memory"].to_numpy()})
    rows = rows.merge(node, on="node", how="left")
    origin = view.trace.workflows.set_index("workflow")["origin"].astype(str)
    rows["origin"] = origin.reindex(rows["workflow"]).to_numpy()
    tiers = rows["tiers"].fillna("")
    combos = (tiers + "|" + rows["node_tier"].fillna("")).to_numpy()
    allowed = {c: (c.split("|")[0] == "" or c.split("|")[1] in c.split("|")[0].split(",")) for c in set(combos)}
    tier_ok = np.fromiter((allowed[c] for c in combos), dtype=bool, count=len(combos))
    problems = {
        "unknown node": rows["node_tier"].isna(),
        "needs more cores than the node has": rows["min_cores"] > rows["node_cores"],
        "needs more memory than the node has": rows["min_memory"] > rows["node_memory"],
        "location requirement excludes the node's tier": ~tier_ok,
        "runs on another user's local device": (rows["node_tier"] == "LocalDevice") & (rows["node"] != rows["origin"]),
    }
    why = pd.Series("", index=rows.index)
    for text, mask in problems.items():
        why = why.where(~np.asarray(mask), why + "; " + text)
    bad = rows[why != ""]
    why = why[why != ""].str.lstrip("; ")
    found = pd.DataFrame({
        "entity_kind": "task", "entity": bad["workflow"].astype(str) + "/" + bad["task"],
        "time": bad["time"], "step": None,
        "explanation": bad["task"] + " (" + bad["cores"].astype(str) + " cores, " + _fmt(bad["memory"], ".4g")
        + " B, tiers " + bad["tiers"].replace("", "any") + ") " + bad["event"] + " on " + bad["node"]
        + " (" + bad["node_tier"].fillna("?") + ", " + bad["node_cores"].astype(str) + " cores): " + why,
        "workflow": bad["workflow"], "task": bad["task"],
    })
    return Findings(len(rows), found)


PLACEMENT_FEASIBILITY = Invariant(
    "P17", "placement-feasibility",
    "P17, overview §3; seed l.2681–3041 (find_suitable_nodes, C1) and l.5422–6347",
    """Every placement and start is on a node that can run the task.

    The node has at least the task's minimum cores and memory, its tier satisfies the task's
    location requirement, and a LocalDevice is used only by the workflow submitted from
    it (local devices are private).  The seed's latency bound, state keys and
    EdgeOnly/CloudOnly modes have no counterpart in the model yet.
    """,
    _placement_feasibility, unit="placements and starts",
)


def _resource_conservation(view: TraceView) -> Findings:
    trace = view.trace
    held = trace.holdings()
    horizon = trace.horizon
    # Ledger events per node: releases, then capacity changes, then acquisitions at
    # equal times (the engine frees cores before it resizes or starts anything).
    acquire = pd.DataFrame({"node": held["node"], "time": held["start"], "order": 2,
                            "d_cores": held["cores"], "d_memory": held["memory"],
                            "workflow": held["workflow"], "task": held["task"]})
    ended = held["end"] < horizon
    release = pd.DataFrame({"node": held["node"][ended], "time": held["end"][ended], "order": 0,
                            "d_cores": -held["cores"][ended], "d_memory": -held["memory"][ended],
                            "workflow": held["workflow"][ended], "task": held["task"][ended]})
    cap = capacity_changes(trace).rename(columns={"cores": "capacity"}).astype({"capacity": float}).assign(
        order=1, d_cores=0.0, d_memory=0.0, workflow=-1, task="")
    rows = pd.concat([acquire, release, cap], ignore_index=True).sort_values(
        ["node", "time", "order"], kind="stable").reset_index(drop=True)
    nodes = trace.nodes.set_index(trace.nodes["id"].astype(str))
    by_node = rows.groupby("node", sort=False)
    rows["cores_used"] = by_node["d_cores"].cumsum()
    rows["memory_used"] = by_node["d_memory"].cumsum()
    capacity = rows["capacity"].where(rows["order"] == 1)
    capacity = capacity.groupby(rows["node"], sort=False).ffill()
    rows["total_cores"] = capacity.fillna(nodes["cores"].reindex(rows["node"]).set_axis(rows.index)).astype(float)
    total_memory = nodes["memory"].reindex(rows["node"]).to_numpy(dtype=float)
    eps = 1e-9
    over = ((rows["cores_used"] > rows["total_cores"] + eps).to_numpy()
            | (rows["memory_used"].to_numpy() > total_memory * (1 + 1e-9) + eps))
    under = ((rows["cores_used"] < -eps) | (rows["memory_used"] < -1e-6 * np.maximum(total_memory, 1))).to_numpy()
    bad = rows[over | under]
    node_found = pd.DataFrame({
        "entity_kind": "node", "entity": bad["node"], "time": bad["time"], "step": None,
        "explanation": np.where(bad["order"] == 1, "capacity change", np.where(bad["order"] == 2, "start", "release"))
        + " (" + bad["workflow"].astype(str) + "/" + bad["task"].astype(str) + ") leaves "
        + _fmt(bad["cores_used"]) + "/" + _fmt(bad["total_cores"]) + " cores and "
        + _fmt(bad["memory_used"], ".4g") + " B in use",
        "node": bad["node"],
    })

    # Allocation bounds: min <= allocated <= recommended, and only elastic tasks change
    # allocation while running.
    alloc = trace.allocations
    spec_cols = [c for c in ("min_cores", "min_memory", "elastic") if c in view.specs.columns]
    found_alloc = Findings.empty_violations()
    if len(alloc) and len(spec_cols) == 3:
        a = alloc.assign(task=alloc["task"].astype(str))
        a = a.merge(trace.workflows[["workflow", "definition"]], on="workflow", how="left")
        a = a.merge(view.specs[["definition", "task", "cores", "memory", *spec_cols]].rename(
            columns={"cores": "rec_cores", "memory": "rec_memory"}), on=["definition", "task"], how="left")
        te = view.task_events
        starts = te[te["event"] == "start"][["workflow", "task", "time"]].astype({"task": str})
        at_start = a.merge(starts, on=["workflow", "task", "time"], how="left", indicator=True)["_merge"] == "both"
        problems = {
            "below its minimum": (a["cores"] < a["min_cores"]) | (a["memory"] < a["min_memory"] - 1e-9),
            "above its recommendation": (a["cores"] > a["rec_cores"]) | (a["memory"] > a["rec_memory"] + 1e-9),
            "resized while running but not elastic": ~at_start.to_numpy() & ~a["elastic"].astype(bool).to_numpy(),
        }
        why = pd.Series("", index=a.index)
        for text, mask in problems.items():
            why = why.where(~np.asarray(mask), why + "; " + text)
        b = a[why != ""]
        found_alloc = pd.DataFrame({
            "entity_kind": "task", "entity": b["workflow"].astype(str) + "/" + b["task"], "time": b["time"],
            "step": None, "explanation": b["task"] + " allocated " + b["cores"].astype(str) + " cores, "
            + _fmt(b["memory"], ".4g") + " B on " + b["node"].astype(str) + ": " + why[why != ""].str.lstrip("; "),
            "workflow": b["workflow"], "task": b["task"],
        })

    # Pairing: every start is closed by one end or checkpoint on the same node before
    # the task starts again (or is still running at the horizon of a truncated run).
    te = view.task_events
    ev = te[te["event"].isin(["start", "end", "checkpointed"])].sort_values(
        ["workflow", "task", "time", "row"], kind="stable")
    event = ev["event"].astype(str).to_numpy()
    same_prev = ((ev["workflow"] == ev["workflow"].shift()) & (ev["task"] == ev["task"].shift())).to_numpy()
    prev_event = np.where(same_prev, pd.Series(event).shift().fillna("").to_numpy(), "")
    prev_node = np.where(same_prev, ev["node"].astype(str).shift().fillna("").to_numpy(), "")
    last = ~np.append(same_prev[1:], False)
    closing = event != "start"
    problems = {
        "started again before it ended or was checkpointed": (event == "start") & (prev_event == "start"),
        "ended or checkpointed without starting": closing & (prev_event != "start"),
        "ended or checkpointed on another node than it started": closing & (prev_event == "start")
        & (prev_node != ev["node"].astype(str).to_numpy()),
        "started but never ended": (event == "start") & last & (not view.truncated),
    }
    why = pd.Series("", index=ev.index)
    for text, mask in problems.items():
        why = why.where(~np.asarray(mask), why + "; " + text)
    badt = ev[why != ""]
    pair_found = pd.DataFrame({
        "entity_kind": "task", "entity": badt["workflow"].astype(str) + "/" + badt["task"].astype(str),
        "time": badt["time"], "step": None,
        "explanation": badt["task"].astype(str) + " " + badt["event"].astype(str) + " on "
        + badt["node"].astype(str) + ": " + why[why != ""].str.lstrip("; "),
        "workflow": badt["workflow"], "task": badt["task"].astype(str),
    })
    parts = [f for f in (node_found, found_alloc, pair_found) if len(f)]
    found = pd.concat(parts, ignore_index=True) if parts else Findings.empty_violations()
    return Findings(len(ev), found)


RESOURCE_CONSERVATION = Invariant(
    "P18", "resource-conservation", "P18, overview §3; seed l.5422–6347 (resource-aware execution)",
    """Per node, the cores and memory held by running tasks never exceed the node's
    total nor go below zero; allocations stay within ``[min, recommended]`` and
    change while running only for elastic tasks; and every start is closed by one
    end or checkpoint on the same node (or is still running at the horizon of a
    truncated run).

    Usage is rebuilt from the executions' holdings (``start``/``end``/
    ``checkpointed`` events, the task specs and the ``allocations`` table: available
    = total − Σ allocated ≥ 0; a release returns exactly the allocation); the total
    follows autoscaling's ``capacity`` state rows.  Seed defect corrected: the seed
    releases a stub usage (CPU 0.1, memory 128; overview §6.4).  Counts the start,
    end and checkpoint events.
    """,
    _resource_conservation, unit="start/end/checkpoint events",
)


# ---------------------------------------------------------------------------
# Scheduling (P23, in part)
# ---------------------------------------------------------------------------

RUN_ONCE = TemporalProperty(
    "P23", "run-once", "P23, overview §3; seed l.4533–5420 (adaptive scheduling)",
    """Each task instance runs at most once, in the order placed → ready → start → end.

    Per task instance over its events: no second ``start`` unless a
    ``checkpointed`` (a running migration) came in between, and then only after a
    new ``ready``; nothing is placed, readied, started, ended or checkpointed after
    an ``end`` or ``failed``; no ``ready`` before ``placed``, ``start`` before
    ``ready``, ``end`` or ``checkpointed`` before ``start``.  The completion
    postcondition's "t never reruns" (P6) is part of this; that a checkpointed task
    does each op once is P18's holdings plus the engine tests.
    """,
    "G(start -> WX(checkpointed R !start))"
    " & G(end | failed -> WX G !(placed | ready | start | end | checkpointed))"
    " & (placed R !ready) & (ready R !start) & (start R !(end | checkpointed))"
    " & G(checkpointed -> WX((ready R !start) & (start R !(end | checkpointed))))",
    task_projection, unit="task instances",
)


def _single_node(view: TraceView) -> Findings:
    te = view.task_events
    rows = te[te["node"].notna()].drop_duplicates(["workflow", "task", "node"])
    counts = rows.groupby(["workflow", "task"], sort=False).size()
    multi = counts[counts > 1].reset_index()[["workflow", "task"]]
    m = _migrations(view)
    if len(m) and len(multi):
        # Migrations explain events on their sources and targets, and only there: a
        # migrated task's events are on the node it was placed on or on one of its
        # migrations' nodes (its executions must still never overlap, below).
        rows = rows.assign(task=rows["task"].astype(str), node=rows["node"].astype(str))
        placed = rows[rows["event"] == "placed"][["workflow", "task", "node"]]
        allowed = pd.concat([placed, m[["workflow", "task", "source"]].rename(columns={"source": "node"}),
                             m[["workflow", "task", "target"]].rename(columns={"target": "node"})])
        allowed = allowed.astype({"task": str, "node": str}).drop_duplicates()
        migrated = m[["workflow", "task"]].astype({"task": str}).drop_duplicates()
        multi = multi.assign(task=multi["task"].astype(str))
        mark = multi.merge(migrated, on=["workflow", "task"], how="left", indicator=True)
        unexplained = mark[mark["_merge"] == "left_only"][["workflow", "task"]]
        explained = mark[mark["_merge"] == "both"][["workflow", "task"]]
        stray = rows.merge(explained, on=["workflow", "task"]).merge(
            allowed, on=["workflow", "task", "node"], how="left", indicator=True)
        stray = stray[stray["_merge"] == "left_only"][["workflow", "task"]].drop_duplicates()
        multi = pd.concat([unexplained, stray], ignore_index=True)
    bad = rows.merge(multi, on=["workflow", "task"])
    bad = bad.groupby(["workflow", "task"], sort=False).agg(
        time=("time", lambda s: s.iloc[1]), nodes=("node", lambda s: ", ".join(s))).reset_index()
    found = pd.DataFrame({
        "entity_kind": "task", "entity": bad["workflow"].astype(str) + "/" + bad["task"].astype(str),
        "time": bad["time"], "step": None,
        "explanation": bad["task"].astype(str) + " has events on nodes " + bad["nodes"]
        + ", not all of them where it was placed or migrated",
        "workflow": bad["workflow"], "task": bad["task"].astype(str),
    })
    held = view.trace.holdings().sort_values(["workflow", "task", "start"], kind="stable")
    same = (held["workflow"] == held["workflow"].shift()) & (held["task"] == held["task"].shift())
    overlap = held[same & (held["start"] < held["end"].shift() - 1e-12)]
    found = pd.concat([found, pd.DataFrame({
        "entity_kind": "task", "entity": overlap["workflow"].astype(str) + "/" + overlap["task"],
        "time": overlap["start"], "step": None,
        "explanation": overlap["task"] + " runs on " + overlap["node"] + " while still running elsewhere",
        "workflow": overlap["workflow"], "task": overlap["task"],
    })], ignore_index=True) if len(overlap) else found
    return Findings(len(task_projection(view)), found)


SINGLE_NODE = Invariant(
    "P23", "single-node", "P23, overview §3; seed l.4533–5420 (adaptive scheduling)",
    """Each task instance runs on at most one node at a time: all its events name
    the node it was placed on, or a source or target of its migrations, and its
    executions never overlap in time.

    The "running on ≤ 1 executor" clause of P23.
    """,
    _single_node, unit="task instances",
)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# Migration (P24)
# ---------------------------------------------------------------------------

_NEXT_PHASE = {state.value: {nxt.value for nxt in allowed}
               for state, allowed in ALLOWED_PHASES.items() if state is not None}


def _migrations(view: TraceView) -> pd.DataFrame:
    m = getattr(view.trace, "migrations", None)
    if m is None or not len(m):
        return pd.DataFrame(columns=["time", "migration", "workflow", "task", "source", "target", "state"])
    return m.assign(state=m["state"].astype(str), task=m["task"].astype(str)).sort_values(
        ["migration", "time"], kind="stable")


def _has_migrations(view: TraceView) -> bool:
    return bool(len(_migrations(view)))


def _migration_phases(view: TraceView) -> Findings:
    m = _migrations(view)
    previous = m.groupby("migration")["state"].shift()
    first = previous.isna()
    ok = np.where(first, m["state"] == "Preparing",
                  [nxt in _NEXT_PHASE.get(prev, set()) for prev, nxt in zip(previous.fillna(""), m["state"])])
    bad = m[~ok]
    found = pd.DataFrame({
        "entity_kind": "migration", "entity": bad["migration"].astype(str), "time": bad["time"], "step": None,
        "explanation": "migration of " + bad["workflow"].astype(str) + "/" + bad["task"] + " went "
        + previous[~ok].fillna("(start)") + " -> " + bad["state"],
        "workflow": bad["workflow"], "task": bad["task"],
    })
    return Findings(int(m["migration"].nunique()), found)


MIGRATION_PHASES = Invariant(
    "P24", "migration-phases", "P24, overview §3; seed l.6348–7622 (MigrationManager)",
    """Every migration moves Preparing → Transferring → Activating → Completed, or ends
    Failed or Canceled from any phase; nothing follows a terminal state.""",
    _migration_phases, unit="migrations", applies=_has_migrations,
)


def _migration_intervals(view: TraceView) -> pd.DataFrame:
    m = _migrations(view)
    spans = m.groupby("migration").agg(workflow=("workflow", "first"), task=("task", "first"),
                                      begin=("time", "min"), finish=("time", "max"),
                                      last=("state", "last"), target=("target", "last"))
    return spans.reset_index()


def _migration_exclusive(view: TraceView) -> Findings:
    spans = _migration_intervals(view).sort_values(["workflow", "task", "begin", "migration"], kind="stable")
    same = (spans["workflow"] == spans["workflow"].shift()) & (spans["task"] == spans["task"].shift())
    overlap = same & (spans["begin"] < spans["finish"].shift())
    bad = spans[overlap]
    found = pd.DataFrame({
        "entity_kind": "task", "entity": bad["workflow"].astype(str) + "/" + bad["task"], "time": bad["begin"],
        "step": None, "explanation": "migration " + bad["migration"].astype(str)
        + " began while an earlier migration of the same task was still in progress",
        "workflow": bad["workflow"], "task": bad["task"],
    })
    cap = ((view.trace.manifest.get("config") or {}).get("rebalance") or {}).get("max_concurrent")
    if cap is not None and len(spans):
        # Sweep: +1 at each begin, -1 at each finish (finishes first at equal times).
        times = np.concatenate([spans["begin"].to_numpy(), spans["finish"].to_numpy()])
        delta = np.concatenate([np.ones(len(spans)), -np.ones(len(spans))])
        order = np.lexsort((delta, times))
        active = np.cumsum(delta[order])
        if active.max() > cap:
            at = float(times[order][int(np.argmax(active > cap))])
            found = pd.concat([found, pd.DataFrame({
                "entity_kind": ["cluster"], "entity": ["migrations"], "time": [at], "step": [None],
                "explanation": [f"{int(active.max())} migrations active at once; the cap is {cap}"],
                "workflow": [np.nan]})], ignore_index=True)
    return Findings(len(spans), found)


MIGRATION_EXCLUSIVE = Invariant(
    "P24", "migration-exclusive", "P24, overview §3; seed l.6348–7622 (MigrationManager)",
    """No task is in two migrations at once, and (when the run's config names the cap)
    active migrations never exceed ``max_concurrent``.""",
    _migration_exclusive, unit="migrations", applies=_has_migrations,
)


def _migration_single_active(view: TraceView) -> Findings:
    spans = _migration_intervals(view)
    te = view.task_events
    starts = te[te["event"] == "start"][["workflow", "task", "time", "node"]].astype({"task": str})
    done = spans[spans["last"] == "Completed"].sort_values("finish").groupby(["workflow", "task"]).tail(1)
    moved = starts.merge(done, on=["workflow", "task"], how="inner")
    # Starts before the last completed migration happened where the task was then
    # (a running task migrates by checkpoint); those after it, on its target.
    moved = moved[moved["time"] >= moved["finish"]]
    wrong_node = moved[moved["node"].astype(str) != moved["target"].astype(str)]
    during = starts.merge(spans, on=["workflow", "task"])
    # Strictly inside: a task may start at the instant its migration activates it.
    during = during[(during["time"] > during["begin"]) & (during["time"] < during["finish"])]
    found = pd.concat([
        pd.DataFrame({"entity_kind": "task", "entity": wrong_node["workflow"].astype(str) + "/" + wrong_node["task"],
                      "time": wrong_node["time"], "step": None,
                      "explanation": "started on " + wrong_node["node"].astype(str) + " after migrating to "
                      + wrong_node["target"].astype(str), "workflow": wrong_node["workflow"],
                      "task": wrong_node["task"]}),
        pd.DataFrame({"entity_kind": "task", "entity": during["workflow"].astype(str) + "/" + during["task"],
                      "time": during["time"], "step": None,
                      "explanation": "started while migration " + during["migration"].astype(str)
                      + " was moving it", "workflow": during["workflow"], "task": during["task"]}),
    ], ignore_index=True)
    return Findings(int(spans[["workflow", "task"]].drop_duplicates().shape[0]), found)


MIGRATION_SINGLE_ACTIVE = Invariant(
    "P24", "migration-single-active", "P24, overview §3; seed l.6348–7622 (MigrationManager)",
    """A migrated task is active on exactly one node: it never starts while a migration
    is moving it, and after a completed migration it starts on that migration's target.""",
    _migration_single_active, unit="migrated tasks", applies=_has_migrations,
)


# ---------------------------------------------------------------------------
# Load balancing (P25)
# ---------------------------------------------------------------------------

#: Node health states in which a node takes no new work (a drain).
_DRAINED = frozenset(status.value for status in DRAINED)


def _str(column: pd.Series) -> np.ndarray:
    """A (categorical) column as an object array of ``str``."""
    return column.astype(str).to_numpy(dtype=object)


def _lb_placements() -> frozenset[str]:
    """Class names of the placement strategies that are load balancers (they choose
    only Healthy nodes), as the manifest's ``placement`` names them."""
    from wfsim.policies.load_balancing import STRATEGIES, LoadBalancer

    return frozenset({cls.__name__ for cls in STRATEGIES.values()} | {LoadBalancer.__name__})


def _health_changes(view: TraceView) -> pd.DataFrame:
    """The ``states`` rows of kind ``health``: ``time, node, status`` in record order."""
    st = view.trace.states
    rows = st[st["kind"].astype(str) == "health"]
    return pd.DataFrame({"time": rows["time"].to_numpy(dtype=float), "node": _str(rows["entity"]),
                         "status": _str(rows["state"])})


def _status_at(changes: pd.DataFrame, rows: pd.DataFrame, exact: bool) -> pd.DataFrame:
    """Per row of ``rows`` (``time, node``), the node's health and since when: the last
    change at (``exact``) or strictly before its time; ``Healthy`` since −inf if none."""
    if not len(rows):
        return pd.DataFrame({"status": pd.Series([], dtype=object), "since": pd.Series([], dtype=float)},
                            index=rows.index)
    left = pd.DataFrame({"time": rows["time"].to_numpy(dtype=float), "node": rows["node"].astype(str).to_numpy(),
                         "_row": np.arange(len(rows))}).sort_values("time", kind="stable")
    right = changes.rename(columns={"time": "since"}).assign(time=changes["time"]).sort_values("time", kind="stable")
    right["node"] = right["node"].astype(str).to_numpy()  # same key dtype on both sides
    found = pd.merge_asof(left, right, on="time", by="node", allow_exact_matches=exact).sort_values("_row")
    return pd.DataFrame({"status": found["status"].fillna("Healthy").to_numpy(dtype=object),
                         "since": found["since"].fillna(-np.inf).to_numpy(dtype=float)}, index=rows.index)


def _assignments(view: TraceView) -> pd.DataFrame:
    """Every decision that put a task on a node: ``placed`` events and migration
    targets (Preparing rows), with ``time, workflow, task, node, what, strict``;
    ``strict`` means only a Healthy node is allowed (load-balancer placements and
    rebalancing moves)."""
    te = view.task_events
    placed = te[(te["event"] == "placed") & te["node"].notna()]
    lb = str(view.trace.manifest.get("placement")) in _lb_placements()
    out = [pd.DataFrame({"time": placed["time"], "workflow": placed["workflow"], "task": placed["task"],
                         "node": placed["node"], "what": "placed", "strict": lb})]
    m = _migrations(view)
    if len(m):
        prep = m[m["state"] == "Preparing"]
        out.append(pd.DataFrame({
            "time": prep["time"].to_numpy(dtype=float), "workflow": prep["workflow"].to_numpy(dtype=np.int64),
            "task": prep["task"].to_numpy(dtype=object), "node": _str(prep["target"]),
            "what": "migration " + prep["migration"].astype(str).to_numpy(dtype=object) + " to",
            "strict": (prep["trigger"].astype(str) == "LoadImbalance").to_numpy()}))
    return pd.concat(out, ignore_index=True)


def _lb_healthy(view: TraceView) -> Findings:
    te = view.task_events
    decisions = _assignments(view)
    starts = te[(te["event"] == "start") & te["node"].notna()]
    checked = len(decisions) + len(starts)
    changes = _health_changes(view)
    if not len(changes):  # every node Healthy throughout
        return Findings(checked, Findings.empty_violations())
    # A start is judged where its task was assigned to that node (tasks queued on a
    # node when it is drained still start there); one with no recorded assignment
    # there is judged at its own time.
    keys = ["workflow", "task", "node"]
    s = starts[["time", *keys]].astype({"task": object, "node": object}).sort_values("time", kind="stable")
    a = decisions[["time", *keys]].astype({"task": object, "node": object}).assign(assigned=decisions["time"])
    s = pd.merge_asof(s, a.sort_values("time", kind="stable"), on="time", by=keys)
    lone = s[s["assigned"].isna()]
    rows = pd.concat([decisions, pd.DataFrame({
        "time": lone["time"], "workflow": lone["workflow"], "task": lone["task"], "node": lone["node"],
        "what": "start", "strict": False})], ignore_index=True)
    before, at = _status_at(changes, rows, exact=False), _status_at(changes, rows, exact=True)
    strict = rows["strict"].to_numpy(dtype=bool)

    def refused(status: pd.Series) -> np.ndarray:
        drained = status.isin(_DRAINED).to_numpy()
        return drained | (strict & (status != "Healthy").to_numpy())

    # At the instant of a change the decision may have come just before it.
    bad = refused(before["status"]) & refused(at["status"])
    rows, at = rows[bad], at[bad]
    found = pd.DataFrame({
        "entity_kind": "task", "entity": rows["workflow"].astype(str) + "/" + rows["task"].astype(str),
        "time": rows["time"], "step": None,
        "explanation": rows["what"] + " " + rows["node"].astype(str) + " at t=" + _fmt(rows["time"]) + " while "
        + rows["node"].astype(str) + " was " + at["status"] + " (since t=" + _fmt(at["since"]) + ")"
        + np.where(rows["strict"].to_numpy(dtype=bool), "; only Healthy nodes may be chosen", ""),
        "workflow": rows["workflow"], "task": rows["task"].astype(str),
    })
    return Findings(checked, found)


LB_HEALTHY = Invariant(
    "P25", "lb-healthy", "P25, overview §3 (the selected node is Healthy); seed l.6348–7622 (LoadBalancer)",
    """No work is put on a node that may not receive it, by the health recorded in ``states``.

    Node health changes are the ``states`` rows of kind ``health`` (every node is
    Healthy until its first).  Every ``placed`` event and every migration target is on
    a node that is neither Unhealthy nor Maintenance at that time; load-balancer
    placements (the manifest's placement is one of :mod:`wfsim.policies.load_balancing`'s
    classes) and rebalancing moves (trigger ``LoadImbalance``) only on a Healthy one.
    A ``start`` is judged at the assignment that put the task on its node (a drained
    node still runs the tasks it already had), or at its own time if none is recorded.
    At the instant of a health change a decision counts as made just before or just
    after it.  Session affinity follows: a binding is used only while its node is
    Healthy.  Trivially true on runs without health changes.
    """,
    _lb_healthy, unit="placements, moves and starts",
)


def _rebalance_rounds(view: TraceView) -> pd.DataFrame:
    """One row per rebalancing round and tier: ``time, tier, imbalance, average``,
    the loads of its nodes (``loads``: node → load) and its rows (``records``),
    computed as :class:`~wfsim.engine.migration.Rebalancer` does."""
    def build() -> pd.DataFrame:
        rb = getattr(view.trace, "rebalances", None)
        nodes = view.trace.nodes
        tier_of = dict(zip(nodes["id"].astype(str), nodes["tier"].astype(str)))
        rows = []
        if rb is not None and len(rb):
            frame = pd.DataFrame({"time": rb["time"].to_numpy(dtype=float), "node": _str(rb["node"]),
                                  "load": rb["load"].to_numpy(dtype=float)})
            frame["tier"] = frame["node"].map(tier_of)
            for (t, tier), group in frame.groupby(["time", "tier"], sort=False):
                loads = group["load"].tolist()  # in record order: the same sum as the engine's
                hi, lo = max(loads), min(loads)
                imbalance = np.inf if lo <= 0 < hi else (hi - lo) / lo if lo > 0 else 0.0
                rows.append({"time": t, "tier": tier, "imbalance": imbalance, "average": sum(loads) / len(loads),
                             "loads": dict(zip(group["node"], loads)),
                             "records": records(group.assign(table="rebalances")[
                                 ["table", "time", "node", "load"]])})
        return pd.DataFrame(rows, columns=["time", "tier", "imbalance", "average", "loads", "records"])
    return view.cached("rebalance_rounds", build)


def _has_rebalancing(view: TraceView) -> bool:
    return bool(len(_rebalance_rounds(view)))


def _round_moves(view: TraceView) -> pd.DataFrame:
    """The rebalancing migrations (trigger ``LoadImbalance``), each with the round of
    its source's tier at its Preparing time (NaN fields if there is none: only a
    round starts such a migration)."""
    m = _migrations(view)
    rounds = _rebalance_rounds(view)
    if not len(m) or "trigger" not in m:
        return pd.DataFrame(columns=["migration", "time", "workflow", "task", "source", "target", "tier",
                                     "imbalance", "average", "loads", "records"])
    prep = m[(m["state"] == "Preparing") & (m["trigger"].astype(str) == "LoadImbalance")]
    nodes = view.trace.nodes
    tier_of = dict(zip(nodes["id"].astype(str), nodes["tier"].astype(str)))
    moves = pd.DataFrame({
        "migration": prep["migration"].to_numpy(), "time": prep["time"].to_numpy(dtype=float),
        "workflow": prep["workflow"].to_numpy(), "task": prep["task"].astype(str).to_numpy(),
        "source": _str(prep["source"]), "target": _str(prep["target"]),
    })
    moves["tier"] = moves["source"].map(tier_of)
    return moves.merge(rounds, on=["time", "tier"], how="left")


def _move_findings(view: TraceView, moves: pd.DataFrame, why: pd.Series) -> pd.DataFrame:
    """Violations (one per move with a non-empty ``why``) with the round's loads and
    the migration's rows as the trace slice."""
    bad = moves[why != ""]
    m = _migrations(view)
    events = [(rec if isinstance(rec, list) else [])
              + records(m[m["migration"] == mig].assign(table="migrations")[
                  ["table", "time", "migration", "workflow", "task", "source", "target", "state"]])
              for mig, rec in zip(bad["migration"], bad["records"])]
    return pd.DataFrame({
        "entity_kind": "migration", "entity": bad["migration"].astype(str), "time": bad["time"], "step": None,
        "explanation": "rebalancing migration " + bad["migration"].astype(str) + " of " + bad["workflow"].astype(str)
        + "/" + bad["task"] + " (" + bad["source"] + " -> " + bad["target"] + ") at t=" + _fmt(bad["time"])
        + ": " + why[why != ""],
        "workflow": bad["workflow"], "task": bad["task"], "events": events,
    })


def _rebalance_threshold_value(view: TraceView) -> float:
    manifest = view.trace.manifest
    configured = (manifest.get("rebalance") or (manifest.get("config") or {}).get("rebalance") or {})
    return float(configured.get("threshold", 0.3))


def _rebalance_threshold(view: TraceView) -> Findings:
    threshold = _rebalance_threshold_value(view)
    moves = _round_moves(view)
    imbalance = moves["imbalance"].astype(float)
    why = pd.Series(np.where(
        imbalance.isna(), "no rebalancing round of tier " + moves["tier"].astype(str) + " recorded at that time",
        np.where(imbalance > threshold, "",
                 "the " + moves["tier"].astype(str) + " round's imbalance " + _fmt(imbalance)
                 + " is not above the threshold " + format(threshold, "g"))), index=moves.index)
    return Findings(len(_rebalance_rounds(view)), _move_findings(view, moves, why))


REBALANCE_THRESHOLD = Invariant(
    "P25", "rebalance-threshold", "P25, overview §3 (rebalance only when imbalance > 0.3); seed l.6348–7622",
    """A rebalancing round moves work only when its tier's imbalance exceeds the threshold.

    From the ``rebalances`` table (one row per node of each tier a round examined,
    with the load it decided on): per round time and tier (``nodes.tier``), imbalance
    ``(max − min) / min`` (infinite when min = 0 < max).  Every migration with trigger
    ``LoadImbalance`` starts (its Preparing row) at the time of a round of its
    source's tier, whose imbalance is above the run's threshold (the manifest's
    ``rebalance.threshold``; the seed's 0.3 if absent).  Counts the rounds (per tier);
    ``not_applicable`` on runs without rebalancing.
    """,
    _rebalance_threshold, unit="rebalancing rounds", applies=_has_rebalancing,
)


def _rebalance_direction(view: TraceView) -> Findings:
    moves = _round_moves(view)
    why = []
    for row in moves.itertuples(index=False):
        loads = row.loads if isinstance(row.loads, dict) else {}
        src, dst, avg = loads.get(row.source), loads.get(row.target), row.average
        problems = []
        if src is None:
            problems.append(f"no load of its source {row.source} recorded in the round")
        elif not src > 1.2 * avg:
            problems.append(f"its source {row.source} had load {src:.6g}, not above 1.2 × average {avg:.6g}")
        if dst is None:
            problems.append(f"no load of its target {row.target} recorded in the source's tier's round")
        elif not dst < 0.8 * avg:
            problems.append(f"its target {row.target} had load {dst:.6g}, not below 0.8 × average {avg:.6g}")
        why.append("; ".join(problems))
    return Findings(len(_rebalance_rounds(view)), _move_findings(view, moves, pd.Series(why, index=moves.index,
                                                                                       dtype=object)))


REBALANCE_DIRECTION = Invariant(
    "P25", "rebalance-direction", "P25, overview §3 (moves from overloaded to underloaded); seed l.6348–7622",
    """Rebalancing moves work only from overloaded to underloaded nodes of one tier.

    Every migration with trigger ``LoadImbalance`` moves a task from a node whose
    load in the round that started it (the ``rebalances`` row)
    was above ``1.2 ×`` its tier's average to a node of the same tier below
    ``0.8 ×`` it — the loads as the round saw them before moving anything, which is
    what it decided on.  Counts the rounds (per tier); ``not_applicable`` on runs
    without rebalancing.
    """,
    _rebalance_direction, unit="rebalancing rounds", applies=_has_rebalancing,
)


CATALOG: dict[str, Property] = {p.name: p for p in (
    LIFECYCLE, ENGINE_LIFECYCLE, EVENTUAL_TERMINATION, TERMINAL_STABILITY, DEPENDENCY_SAFETY,
    ACYCLICITY, COMPLETION_POSTCONDITION, PLACEMENT_FEASIBILITY, RESOURCE_CONSERVATION, RUN_ONCE,
    SINGLE_NODE, MIGRATION_PHASES, MIGRATION_EXCLUSIVE, MIGRATION_SINGLE_ACTIVE, LB_HEALTHY,
    REBALANCE_THRESHOLD, REBALANCE_DIRECTION,
)}


def resolve(names: Iterable[str] | None = None) -> list[Property]:
    """The catalog entries named by registry name or seed id (``P23`` selects both
    of its parts), case-insensitive, in catalog order; all of them for ``None``.

    Raises:
        KeyError: For an unknown name; the message lists the allowed ones.
    """
    if names is None:
        return list(CATALOG.values())
    wanted = [n.strip().lower() for n in names]
    chosen = []
    for n in wanted:
        hits = [p for p in CATALOG.values() if n in (p.name.lower(), p.pid.lower())]
        if not hits:
            allowed = ", ".join(f"{p.name} ({p.pid})" for p in CATALOG.values())
            raise KeyError(f"unknown property {n!r}; allowed: {allowed}")
        chosen.extend(hits)
    return [p for p in CATALOG.values() if p in chosen]


def check_formula(trace: object, formula: str | Formula, per: str = "workflow",
                  liveness: bool = True) -> PropertyVerdict:
    """Check your own LTLf formula on every workflow or task instance of a trace.

    Atoms are the entity's event kinds: ``created, running, completed, failed`` per
    workflow; ``placed, ready, start, end, failed`` per task instance.

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace`.
        formula: Text (``"G(start -> F end)"``) or a formula object.
        per: ``"workflow"`` or ``"task"``.
        liveness: Judge entities still open at the horizon of a truncated run with
            the three-valued semantics (``inconclusive`` while an obligation is
            pending); otherwise judge every entity's recorded events as final.

    Returns:
        A :class:`PropertyVerdict` with counterexamples, like a catalog property's.

    Example:
        >>> check_formula(trace, "G(ready -> F start)", per="task").verdict  # doctest: +SKIP
        'true'
    """
    projections = {"workflow": (workflow_projection, "workflows"), "task": (task_projection, "task instances")}
    if per not in projections:
        raise ValueError(f"per must be one of {list(projections)}, got {per!r}")
    projection, unit = projections[per]
    prop = TemporalProperty("-", "formula", "user formula", "A formula checked with check_formula().",
                            formula, projection, unit=unit, liveness=liveness)
    return prop.check(trace)


def check_catalog(trace: object, names: Iterable[str] | None = None) -> list[PropertyVerdict]:
    """Check catalog properties on a trace, sharing one :class:`TraceView`.

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace` (or a view of one).
        names: Registry names or seed ids; ``None`` for the whole catalog.

    Returns:
        One :class:`PropertyVerdict` per property, in catalog order.
    """
    view = TraceView.of(trace)
    return [prop.check(view) for prop in resolve(names)]
