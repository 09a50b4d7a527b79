"""Task migration (P24), over the ``migrations`` table: every migration follows the
phase order, no task is in two at once (nor more than the configured cap overall),
and a migrated task is active on one node.  ``not_applicable`` on runs without
migrations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfsim.model.enums import ALLOWED_PHASES
from wfsim.verify.catalog.common import migrations
from wfsim.verify.properties import Findings, Invariant, TraceView

_NEXT_PHASE = {state.value: {nxt.value for nxt in allowed}
               for state, allowed in ALLOWED_PHASES.items() if state is not None}


def _has_migrations(view: TraceView) -> bool:
    return bool(len(migrations(view)))


def _migration_phases(view: TraceView) -> Findings:
    m = migrations(view)
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
    m = migrations(view)
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
