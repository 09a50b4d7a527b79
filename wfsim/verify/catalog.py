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
* P18 ``resource-conservation`` (invariant over per-node allocations);
* P23, in part: ``run-once`` (LTL per task instance) and ``single-node`` (invariant);
  its "no start before deps complete" clause is P4;
* P24 ``migration-phases``, ``migration-exclusive`` (with the concurrency cap when the
  run's config names it) and ``migration-single-active``, over the ``migrations`` table
  (``not_applicable`` on runs without migrations).

Checked elsewhere, because they are about models rather than recorded runs: P7 model
equivalence (:mod:`wfsim.verify.models`, differential tests of the DSL, event and
state-machine interpreters), P8 composition laws and P9 contracts
(:mod:`wfsim.verify.composition`), and P11's linearizability of register/CAS histories
(:mod:`wfsim.verify.history`, ``wfsim check-history``).

Pending, because their subsystem does not exist yet: P10 event sourcing, the rest of
P11 (version order of a register store), P12 Raft, P13 vector clocks, P14 causal reads, P15
convergence, P16 adaptive consistency (consistency stores), P19 edge autonomy, P20
failure detection, P21 partition safety, P22 leases, the rest of P23 (dispatch order,
policy switch, history bound: adaptive scheduler), P25 load balancing,
P26 optimizer, P27 evolution, P28 type evolution, P29 deployment FSM and P30 zero
downtime.  P17's latency bound, state keys and execution modes wait for nodes that
carry them.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
import pandas as pd

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
    "LIFECYCLE",
    "MIGRATION_EXCLUSIVE",
    "MIGRATION_PHASES",
    "MIGRATION_SINGLE_ACTIVE",
    "PLACEMENT_FEASIBILITY",
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
    specs = view.specs[["definition", "task", "cores", "memory", "tiers"]]
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
        "needs more cores than the node has": rows["cores"] > rows["node_cores"],
        "needs more memory than the node has": rows["memory"] > rows["node_memory"],
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

    The node has at least the task's cores and memory, its tier satisfies the task's
    location requirement, and a LocalDevice is used only by the workflow submitted from
    it (local devices are private).  The seed's latency bound, state keys and
    EdgeOnly/CloudOnly modes have no counterpart in the model yet.
    """,
    _placement_feasibility, unit="placements and starts",
)


def _resource_conservation(view: TraceView) -> Findings:
    te = view.task_events
    rows = _with_specs(view, te[te["event"].isin(["start", "end"])])
    sign = np.where(rows["event"] == "start", 1, -1)
    rows["d_cores"] = sign * rows["cores"].fillna(0).to_numpy()
    rows["d_memory"] = sign * rows["memory"].fillna(0).to_numpy()
    # At equal times releases come first: the engine frees cores before it starts
    # the next queued task.
    rows["order"] = np.where(sign > 0, 1, 0)
    rows = rows.sort_values(["node", "time", "order", "row"], kind="stable")
    by_node = rows.groupby("node", sort=False)
    rows["cores_used"] = by_node["d_cores"].cumsum()
    rows["memory_used"] = by_node["d_memory"].cumsum()
    nodes = view.trace.nodes.set_index(view.trace.nodes["id"].astype(str))
    total_cores = nodes["cores"].reindex(rows["node"]).to_numpy(dtype=float)
    total_memory = nodes["memory"].reindex(rows["node"]).to_numpy(dtype=float)
    over = (rows["cores_used"].to_numpy() > total_cores) | (rows["memory_used"].to_numpy() > total_memory)
    under = (rows["cores_used"] < 0) | (rows["memory_used"] < -1e-6 * np.maximum(total_memory, 1))
    bad = rows[over | under.to_numpy()]
    node_found = pd.DataFrame({
        "entity_kind": "node", "entity": bad["node"], "time": bad["time"], "step": None,
        "explanation": bad["event"] + " of " + bad["workflow"].astype(str) + "/" + bad["task"] + " leaves "
        + bad["cores_used"].astype(str) + "/" + _fmt(pd.Series(total_cores[over | under.to_numpy()], index=bad.index))
        + " cores and " + _fmt(bad["memory_used"], ".4g") + " B in use",
        "node": bad["node"],
    })
    # Pairing: each start has exactly one end on the same node, or is still running
    # at the horizon of a truncated run.
    times = view.task_times
    nodes_of = rows.drop_duplicates(["workflow", "task", "event"]).pivot_table(
        index=["workflow", "task"], columns="event", values="node", aggfunc="first", observed=True)
    nodes_of = nodes_of.reindex(columns=["start", "end"])
    times = times.join(nodes_of.rename(columns={"start": "start_node", "end": "end_node"}), on=["workflow", "task"])
    missing_ok = view.truncated
    problems = {
        "ended without starting": times["ends"] > times["starts"],
        "started but never ended": (times["ends"] < times["starts"] - (1 if missing_ok else 0)),
        "ended on a different node than it started": times["end_node"].notna() & times["start_node"].notna()
        & (times["end_node"] != times["start_node"]),
    }
    why = pd.Series("", index=times.index)
    for text, mask in problems.items():
        why = why.where(~np.asarray(mask), why + "; " + text)
    badt = times[why != ""]
    pair_found = pd.DataFrame({
        "entity_kind": "task", "entity": badt["workflow"].astype(str) + "/" + badt["task"],
        "time": badt[["start", "end"]].min(axis=1), "step": None,
        "explanation": badt["task"] + ": " + badt["starts"].astype(str) + " start(s), " + badt["ends"].astype(str)
        + " end(s) — " + why[why != ""].str.lstrip("; "),
        "workflow": badt["workflow"], "task": badt["task"],
    })
    found = pd.concat([f for f in (node_found, pair_found) if len(f)], ignore_index=True) \
        if len(node_found) or len(pair_found) else Findings.empty_violations()
    return Findings(len(rows), found)


RESOURCE_CONSERVATION = Invariant(
    "P18", "resource-conservation", "P18, overview §3; seed l.5422–6347 (resource-aware execution)",
    """Per node, the cores and memory held by running tasks never exceed the node's
    total nor go below zero, and every start has exactly one end on the same node
    (or is still running at the horizon of a truncated run).

    Usage is rebuilt from ``start``/``end`` events and the task specs (available =
    total − Σ allocated ≥ 0; a release returns exactly the allocation).  Seed defect
    corrected: the seed releases a stub usage (CPU 0.1, memory 128; overview §6.4).
    Counts the start and end events.
    """,
    _resource_conservation, unit="start/end events",
)


# ---------------------------------------------------------------------------
# Scheduling (P23, in part)
# ---------------------------------------------------------------------------

RUN_ONCE = TemporalProperty(
    "P23", "run-once", "P23, overview §3; seed l.4533–5420 (adaptive scheduling)",
    """Each task instance runs at most once, in the order placed → ready → start → end.

    Per task instance over its events: at most one ``start``; nothing is placed,
    readied, started or ended again after an ``end`` or ``failed``; no ``ready``
    before ``placed``, ``start`` before ``ready``, ``end`` before ``start``.  The
    completion postcondition's "t never reruns" (P6) is part of this.
    """,
    "G(start -> WX G !start) & G(end | failed -> WX G !(placed | ready | start | end))"
    " & (placed R !ready) & (ready R !start) & (start R !end)",
    task_projection, unit="task instances",
)


def _single_node(view: TraceView) -> Findings:
    te = view.task_events
    rows = te[te["node"].notna()].drop_duplicates(["workflow", "task", "node"])
    counts = rows.groupby(["workflow", "task"], sort=False).size()
    multi = counts[counts > 1].reset_index()[["workflow", "task"]]
    bad = rows.merge(multi, on=["workflow", "task"])
    bad = bad.groupby(["workflow", "task"], sort=False).agg(
        time=("time", lambda s: s.iloc[1]), nodes=("node", lambda s: ", ".join(s))).reset_index()
    found = pd.DataFrame({
        "entity_kind": "task", "entity": bad["workflow"].astype(str) + "/" + bad["task"],
        "time": bad["time"], "step": None, "explanation": bad["task"] + " has events on nodes " + bad["nodes"],
        "workflow": bad["workflow"], "task": bad["task"],
    })
    return Findings(len(task_projection(view)), found)


SINGLE_NODE = Invariant(
    "P23", "single-node", "P23, overview §3; seed l.4533–5420 (adaptive scheduling)",
    """Each task instance is on at most one node: all its events name the same node.

    The "running on ≤ 1 executor" clause of P23 (there is no migration yet).
    """,
    _single_node, unit="task instances",
)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# Migration (P24)
# ---------------------------------------------------------------------------

_NEXT_PHASE = {
    "Preparing": {"Transferring", "Failed", "Canceled"},
    "Transferring": {"Activating", "Failed", "Canceled"},
    "Activating": {"Completed", "Failed", "Canceled"},
}


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


CATALOG: dict[str, Property] = {p.name: p for p in (
    LIFECYCLE, ENGINE_LIFECYCLE, EVENTUAL_TERMINATION, TERMINAL_STABILITY, DEPENDENCY_SAFETY,
    ACYCLICITY, COMPLETION_POSTCONDITION, PLACEMENT_FEASIBILITY, RESOURCE_CONSERVATION, RUN_ONCE,
    SINGLE_NODE, MIGRATION_PHASES, MIGRATION_EXCLUSIVE, MIGRATION_SINGLE_ACTIVE,
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
