"""Task dependencies (P4–P6): no task is released before its predecessors ended,
every definition is acyclic, and a task's end releases the dependents it enables."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from wfsim.verify.catalog.common import fmt
from wfsim.verify.properties import (
    Findings,
    Invariant,
    Postcondition,
    TraceView,
    records,
)


def _dependency_safety(view: TraceView) -> Findings:
    te = view.task_events
    released = te[te["event"].isin(["placed", "ready", "start"])]
    pairs = released.merge(view.edges, left_on=["definition", "task"], right_on=["definition", "target"])
    preds = view.task_times[["workflow", "task", "end", "failed"]].rename(
        columns={"task": "source", "end": "pred_end", "failed": "pred_failed"})
    pairs = pairs.merge(preds, on=["workflow", "source"], how="left")
    bad = pairs[pairs["pred_end"].isna() | (pairs["pred_end"] > pairs["time"])]
    why = np.where(bad["pred_failed"].notna(),
                   "failed at t=" + fmt(bad["pred_failed"]),
                   np.where(bad["pred_end"].isna(), "never ended",
                            "ended only at t=" + fmt(bad["pred_end"])))
    found = pd.DataFrame({
        "entity_kind": "task",
        "entity": bad["workflow"].astype(str) + "/" + bad["task"],
        "time": bad["time"], "step": None,
        "explanation": bad["event"] + " of " + bad["task"] + " at t=" + fmt(bad["time"])
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
    graph: nx.DiGraph[tuple[int, str]] = nx.DiGraph()
    defs = edges["definition"].to_numpy()
    graph.add_edges_from(zip(zip(defs, edges["source"]), zip(defs, edges["target"])))
    cyclic: dict[int, list] = {}
    for component in nx.strongly_connected_components(graph):
        node = next(iter(component))
        if len(component) > 1 or graph.has_edge(node, node):
            cyclic.setdefault(int(node[0]), list(component))
    names = view.specs.drop_duplicates("definition").set_index("definition")["name"]
    rows = []
    for d, members in sorted(cyclic.items()):
        cycle = [u[1] for u, _ in nx.find_cycle(graph.subgraph(members))]
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


def _deferred(view: TraceView, enabled: pd.DataFrame) -> np.ndarray:
    """Which dependents fault tolerance handled (``task_faults`` rows: their placement
    may wait for a retry, e.g. while an input's node is cut off or down)."""
    tf: pd.DataFrame | None = getattr(view.trace, "task_faults", None)
    if tf is None or not len(tf):
        return np.zeros(len(enabled), dtype=bool)
    handled = tf[["workflow", "task"]].astype({"task": str}).drop_duplicates().rename(columns={"task": "target"})
    mark = enabled[["workflow", "target"]].astype({"target": str}).merge(
        handled, on=["workflow", "target"], how="left", indicator=True)["_merge"]
    return (mark == "both").to_numpy()


def _completion(view: TraceView, ends: pd.DataFrame) -> Findings:
    times = view.task_times
    edges = view.edges
    # When each dependent became enabled: the last of its predecessors' ends (a task
    # that failed in the end never completed, whatever its Quorum replicas returned).
    succ = times.loc[times["failed"].isna(), ["workflow", "task", "end"]].merge(view.definition_of.rename("definition"),
                                                    left_on="workflow", right_index=True)
    succ = succ.merge(edges, left_on=["definition", "task"], right_on=["definition", "source"])
    indegree = edges.groupby(["definition", "target"]).size().rename("indegree")
    succ = succ.sort_values("end", kind="stable")
    enabled = succ.groupby(["workflow", "definition", "target"]).agg(
        ended=("end", "count"), at=("end", "max"), last=("source", "last"))
    enabled = enabled.join(indegree, on=["definition", "target"]).reset_index()
    enabled = enabled[enabled["ended"] == enabled["indegree"]]
    first = times.set_index(["workflow", "task"])[["placed", "failed"]].min(axis=1).rename("released")
    # An edge node cut off from the cloud may hold a released task back (Defer, Retry):
    # its decision, in the ``decisions`` table, is the release.
    d = view.trace.decisions
    held = d[d["action"].astype(str).isin(["Defer", "Retry"])]
    if len(held):
        keys = pd.MultiIndex.from_arrays([held["workflow"].to_numpy(dtype=np.int64),
                                          held["task"].astype(str).to_numpy(dtype=object)])
        by_decision = pd.Series(held["time"].to_numpy(dtype=float), index=keys).groupby(level=[0, 1]).min()
        first = pd.concat([first, by_decision]).groupby(level=[0, 1]).min().rename("released")
    enabled = enabled.join(first, on=["workflow", "target"])
    wf_end = view.workflow_end.reindex(enabled["workflow"]).to_numpy()
    running = ~(wf_end <= enabled["at"].to_numpy())
    bad = enabled[running & ~(enabled["released"] == enabled["at"]) & ~_deferred(view, enabled)]
    status = np.where(bad["released"].isna(), "was never placed",
                      "was placed only at t=" + fmt(bad["released"]))
    found = pd.DataFrame({
        "entity_kind": "task", "entity": bad["workflow"].astype(str) + "/" + bad["target"],
        "time": bad["at"], "step": None,
        "explanation": bad["last"] + " ended at t=" + fmt(bad["at"])
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
    may have failed at the same instant), and so is a dependent that fault tolerance
    handled (``task_faults`` rows: it may wait for a retry while an input is
    unreachable).  An edge node cut off from the cloud that defers the dependent, or
    retries it later (the ``decisions`` table), releases it by that decision.  "Never
    reruns" is ``run-once`` (P23).
    """,
    "end", _completion, unit="task ends",
)
