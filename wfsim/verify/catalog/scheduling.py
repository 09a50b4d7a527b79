"""Scheduling (P23, in part): each task instance runs once, on one node at a time.

P23's "no start before its dependencies complete" is P4; its dispatch-order and
policy-switch clauses are checked on the engine by hypothesis
(``tests/policies/test_scheduling_properties.py``), as the trace does not record the
queue or the load they are judged against.
"""

from __future__ import annotations

import pandas as pd

from wfsim.model.events import TASK_EVENTS
from wfsim.verify.catalog.common import migrations, task_projection
from wfsim.verify.properties import Findings, Invariant, Projection, TemporalProperty, TraceView, project


def replicated_tasks(view: TraceView) -> pd.DataFrame:
    """``workflow, task`` (a string) of the task instances that ran as replicas (with
    ``replica`` rows in ``task_faults``: ActiveActive, Quorum), which run on several
    nodes at once by design."""
    tf: pd.DataFrame | None = getattr(view.trace, "task_faults", None)
    if tf is None or not len(tf):
        return pd.DataFrame({"workflow": pd.Series(dtype="int64"), "task": pd.Series(dtype=str)})
    rep = tf[tf["kind"].astype(str) == "replica"]
    out: pd.DataFrame = rep[["workflow", "task"]].astype({"task": str}).drop_duplicates().reset_index(drop=True)
    return out


def _without_replicas(view: TraceView, rows: pd.DataFrame) -> pd.DataFrame:
    rep = replicated_tasks(view)
    if not len(rep):
        return rows
    keys = rows[["workflow", "task"]].astype({"task": str})
    mark = keys.merge(rep, on=["workflow", "task"], how="left", indicator=True)["_merge"].to_numpy()
    kept: pd.DataFrame = rows[mark == "left_only"]
    return kept


def _single_copy_projection(view: TraceView) -> Projection:
    """:func:`task_projection` of the task instances that did not run as replicas."""
    if not len(replicated_tasks(view)):
        return task_projection(view)
    return view.cached("single_copy_projection", lambda: project(
        _without_replicas(view, view.task_events), ["workflow", "task"], "event", TASK_EVENTS, "task",
        final=("end", "failed")))


RUN_ONCE = TemporalProperty(
    "P23", "run-once", "P23, overview §3; seed l.4533–5420 (adaptive scheduling)",
    """Each task instance runs at most once, in the order placed → ready → start → end.

    Per task instance over its events: no second ``start`` unless a
    ``checkpointed`` (a running migration) or ``lost`` (its node crashed) came in
    between, and then only after a new ``ready`` (after a loss, a new ``placed``
    first); nothing is placed, readied, started, ended, checkpointed or lost after
    an ``end`` or ``failed``; no ``ready`` before ``placed``, ``start`` before
    ``ready``, ``end`` or ``checkpointed`` before ``start``.  The completion
    postcondition's "t never reruns" (P6) is part of this; that a checkpointed task
    does each op once is P18's holdings plus the engine tests. Tasks run as replicas
    (``replica`` rows in ``task_faults``) run on several nodes at once by design and
    are left out.
    """,
    "G(start -> WX((checkpointed | lost) R !start))"
    " & G(end | failed -> WX G !(placed | ready | start | end | checkpointed | lost))"
    " & (placed R !ready) & (ready R !start) & (start R !(end | checkpointed))"
    " & G(checkpointed -> WX((ready R !start) & (start R !(end | checkpointed))))"
    " & G(lost -> WX((placed R !ready) & (ready R !start) & (start R !(end | checkpointed))))",
    _single_copy_projection, unit="task instances",
)


def _single_node(view: TraceView) -> Findings:
    te = view.task_events
    rows = te[te["node"].notna()].drop_duplicates(["workflow", "task", "node"])
    counts = rows.groupby(["workflow", "task"], sort=False).size()
    multi = counts[counts > 1].reset_index()[["workflow", "task"]]
    m = migrations(view)
    if len(multi):
        # Placements (a retried task is placed again) and migrations explain events on
        # their nodes, and only there: a task's events are on a node it was placed on
        # or on one of its migrations' nodes (its executions must still never
        # overlap, below).
        rows = rows.assign(task=rows["task"].astype(str), node=rows["node"].astype(str))
        placed = te[te["event"] == "placed"][["workflow", "task", "node"]]
        allowed = pd.concat([placed.astype({"task": str, "node": str}),
                             m[["workflow", "task", "source"]].rename(columns={"source": "node"}),
                             m[["workflow", "task", "target"]].rename(columns={"target": "node"})])
        allowed = allowed.astype({"task": str, "node": str}).drop_duplicates()
        multi = multi.assign(task=multi["task"].astype(str))
        stray = rows.merge(multi, on=["workflow", "task"]).merge(
            allowed, on=["workflow", "task", "node"], how="left", indicator=True)
        multi = stray[stray["_merge"] == "left_only"][["workflow", "task"]].drop_duplicates()
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
    held = _without_replicas(view, view.trace.holdings()).sort_values(["workflow", "task", "start"], kind="stable")
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
    a node it was placed on (again after a loss), or a source or target of its
    migrations, and its executions never overlap in time (except a task's replicas,
    see ``run-once``).

    The "running on ≤ 1 executor" clause of P23.
    """,
    _single_node, unit="task instances",
)
