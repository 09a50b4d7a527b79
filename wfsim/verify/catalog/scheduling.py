"""Scheduling (P23, in part): each task instance runs once, on one node at a time.

P23's "no start before its dependencies complete" is P4; its dispatch-order and
policy-switch clauses are checked on the engine by hypothesis
(``tests/policies/test_scheduling_properties.py``), as the trace does not record the
queue or the load they are judged against.
"""

from __future__ import annotations

import pandas as pd

from wfsim.verify.catalog.common import migrations, task_projection
from wfsim.verify.properties import Findings, Invariant, TemporalProperty, TraceView

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
    m = migrations(view)
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
