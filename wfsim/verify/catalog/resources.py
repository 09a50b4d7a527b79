"""Resources (P17, P18): every placement fits its node, and per node the holdings
of running tasks stay within the (autoscaled) capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfsim.model.events import SEGMENT_ENDS
from wfsim.trace.metrics import capacity_changes
from wfsim.verify.catalog.common import fmt
from wfsim.verify.properties import Findings, Invariant, TraceView


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
        "explanation": bad["task"] + " (" + bad["cores"].astype(str) + " cores, " + fmt(bad["memory"], ".4g")
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
        + fmt(bad["cores_used"]) + "/" + fmt(bad["total_cores"]) + " cores and "
        + fmt(bad["memory_used"], ".4g") + " B in use",
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
            + fmt(b["memory"], ".4g") + " B on " + b["node"].astype(str) + ": " + why[why != ""].str.lstrip("; "),
            "workflow": b["workflow"], "task": b["task"],
        })

    # Pairing: every start is closed by one end, checkpoint, loss or cancellation on
    # the same node before the task starts there again (or is still running at the
    # horizon of a truncated run). Executions pair per node: replicas run at once on
    # several. A loss or cancellation may also close a copy that never started
    # (queued, or waiting for its inputs).
    te = view.task_events
    ev = te[te["event"].isin(["start", *SEGMENT_ENDS])].sort_values(
        ["workflow", "task", "node", "time", "row"], kind="stable")
    event = ev["event"].astype(str).to_numpy()
    same_prev = ((ev["workflow"] == ev["workflow"].shift()) & (ev["task"] == ev["task"].shift())
                 & (ev["node"] == ev["node"].shift())).to_numpy()
    prev_event = np.where(same_prev, pd.Series(event).shift().fillna("").to_numpy(), "")
    last = ~np.append(same_prev[1:], False)
    must_close = np.isin(event, ("end", "checkpointed"))
    problems = {
        "started again on its node before it ended or was checkpointed": (event == "start") & (prev_event == "start"),
        "ended or checkpointed without starting on its node": must_close & (prev_event != "start"),
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
    end, checkpoint, loss or cancellation on the same node (or is still running at
    the horizon of a truncated run).

    Usage is rebuilt from the executions' holdings (``start`` and ``end``,
    ``checkpointed``, ``lost`` or ``cancelled`` events, the task specs and the ``allocations`` table: available
    = total − Σ allocated ≥ 0; a release returns exactly the allocation); the total
    follows autoscaling's ``capacity`` state rows.  Seed defect corrected: the seed
    releases a stub usage (CPU 0.1, memory 128; overview §6.4).  Counts the start,
    end and checkpoint events.
    """,
    _resource_conservation, unit="start/end/checkpoint events",
)
