"""Summary metrics computed from a :class:`~wfsim.trace.trace.Trace`.

Everything here reads only the trace (a live one or one loaded from disk), except the
byte totals of a run that kept only its metrics: it sums them as it goes and hands them
to :func:`summarize` as :class:`NetworkTotals`.

Definitions:
    latency: completion time − arrival time of each completed workflow.
    makespan: last workflow completion − first arrival.
    throughput: completed workflows / makespan.
    utilisation: busy core-seconds / capacity core-seconds, per node, per tier and
        ``overall`` (all nodes' busy core-seconds over all their capacity, so a big
        node weighs more than a small one; 0 at horizon 0); a task still running at
        the horizon counts up to the horizon. Capacity
        core-seconds are ``cores × horizon`` for a node of fixed size, and
        ``∫ capacity dt`` over ``[0, horizon]`` for a node that autoscaling resized
        (capacity starts at ``nodes.cores`` and follows the trace's ``states`` rows of
        kind ``"capacity"``; see :func:`capacity_core_seconds`).
    cost: busy core-seconds × the node's price (pay per use; unchanged by autoscaling).
    energy: linear power model per node,
        ``idle_power × horizon + (busy_power − idle_power) × busy core-seconds / cores``;
        with autoscaling, idle power scales with provisioned capacity: the first term
        becomes ``idle_power × ∫ capacity dt / cores`` (``cores``: the initial
        ``nodes.cores``), i.e. a node idles at ``idle_power`` per initial-size unit of
        capacity, while the busy term is unchanged (busy power per core-second is a
        property of the hardware, not of how much of it is provisioned).
    deadline misses: workflows (task instances) with a deadline that did not
        complete (end) within it: late, failed (for a task: failed, or blocked in a
        failed workflow), or still open when the deadline had passed by the horizon.
    faults (only when the trace has ``task_faults`` rows; see :func:`task_fault_metrics`):
        work lost in crashes and redone, retries, replicas, workflow success rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wfsim.trace.trace import Trace


def busy_core_seconds(trace: Trace) -> pd.Series:
    """Core-seconds each node spent running tasks, indexed by node id: the cores
    tasks actually held (:meth:`~wfsim.trace.trace.Trace.holdings`, so short and
    resized allocations and checkpointed executions count as they ran)."""
    held = trace.holdings()
    busy = (held["end"] - held["start"]) * held["cores"]
    out = busy.groupby(held["node"].astype(str)).sum()
    return out.reindex(trace.nodes["id"], fill_value=0.0)


def capacity_changes(trace: Trace) -> pd.DataFrame:
    """The capacity changes autoscaling recorded: ``time, node, cores`` in time order
    (empty for a run without autoscaling)."""
    st = trace.states
    rows = st[st["kind"].astype(str) == "capacity"] if len(st) else st
    return pd.DataFrame({"time": rows["time"].to_numpy(dtype=float),
                         "node": rows["entity"].astype(str).to_numpy(dtype=object),
                         "cores": rows["state"].astype(str).astype(int).to_numpy() if len(rows)
                         else np.empty(0, dtype=np.int64)})


def capacity_core_seconds(trace: Trace, horizon: float | None = None) -> pd.Series:
    """``∫ capacity dt`` over ``[0, horizon]`` per node id: ``cores × horizon`` for a
    node never resized, else the piecewise-constant capacity from ``nodes.cores`` and
    the ``"capacity"`` state changes."""
    horizon = trace.horizon if horizon is None else horizon
    nodes = trace.nodes.set_index("id")
    out = (nodes["cores"] * horizon).astype(float)
    initial = nodes["cores"].astype(float)
    changes = capacity_changes(trace)
    for key, rows in changes.groupby("node", sort=False):
        node = str(key)
        times = np.concatenate([[0.0], np.minimum(rows["time"].to_numpy(), horizon), [horizon]])
        cores = np.concatenate([[initial.at[node]], rows["cores"].to_numpy(dtype=float)])
        out[node] = float((np.diff(times) * cores).sum())
    return out


def utilisation(trace: Trace, busy: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Utilisation per node and per tier (both in [0, 1]).

    Args:
        trace: The run's trace.
        busy: Its :func:`busy_core_seconds`, when already computed.
    """
    busy = busy_core_seconds(trace) if busy is None else busy
    nodes = trace.nodes.set_index("id")
    horizon = trace.horizon or 1.0
    tier = nodes["tier"].astype(str)
    if not len(capacity_changes(trace)):
        per_node = busy / (nodes["cores"] * horizon)
        per_tier = busy.groupby(tier).sum() / (nodes["cores"].groupby(tier).sum() * horizon)
    else:
        capacity = capacity_core_seconds(trace, horizon)
        per_node = busy / capacity
        per_tier = busy.groupby(tier).sum() / capacity.groupby(tier).sum()
    return per_node.fillna(0.0), per_tier.fillna(0.0)


def overall_utilisation(trace: Trace, busy: pd.Series | None = None) -> float:
    """Busy core-seconds over capacity core-seconds of all nodes together, in [0, 1]
    (0 without capacity: a run of horizon 0).

    Args:
        trace: The run's trace.
        busy: Its :func:`busy_core_seconds`, when already computed.
    """
    busy = busy_core_seconds(trace) if busy is None else busy
    capacity = float(capacity_core_seconds(trace).sum())
    return float(busy.sum()) / capacity if capacity > 0 else 0.0


def cost_and_energy(trace: Trace, busy: pd.Series | None = None) -> tuple[float, float]:
    """Total cost (currency) and energy (joules).

    Args:
        trace: The run's trace.
        busy: Its :func:`busy_core_seconds`, when already computed.
    """
    busy = busy_core_seconds(trace) if busy is None else busy
    nodes = trace.nodes.set_index("id")
    cost = float((busy * nodes["price"]).sum())
    if not len(capacity_changes(trace)):
        idle = nodes["idle_power"] * trace.horizon
    else:
        idle = nodes["idle_power"] * capacity_core_seconds(trace) / nodes["cores"]
    energy = float((idle + (nodes["busy_power"] - nodes["idle_power"]) * busy / nodes["cores"]).sum())
    return cost, energy


def bytes_per_link(trace: Trace) -> pd.Series:
    """Bytes carried by each link (both directions), indexed by link name."""
    usage = trace.link_usage
    out = usage.groupby(usage["link"].astype(str))["bytes"].sum() if len(usage) else pd.Series(dtype="float64")
    return out.reindex(trace.links["link"], fill_value=0.0)


@dataclass(frozen=True)
class NetworkTotals:
    """The bytes the network metrics report.

    Summed from the trace's ``link_usage`` and ``transfers`` tables (:meth:`of`), or, in
    a run that kept only its metrics, by the recorder as the run went (in event order,
    so the sums may differ from the tables' in the last bits).

    Attributes:
        per_link: Bytes carried by each link (both directions), indexed by link name
            in the order of the trace's ``links``.
        transferred: Bytes of every transfer between two nodes.
    """

    per_link: pd.Series
    transferred: float

    @classmethod
    def of(cls, trace: Trace) -> NetworkTotals:
        """The totals of a trace that kept its ``link_usage`` and ``transfers``."""
        transfers = trace.transfers
        return cls(bytes_per_link(trace), float(transfers["bytes"].sum()) if len(transfers) else 0.0)


def _percentiles(values: np.ndarray) -> dict[str, float | None]:
    if len(values) == 0:
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"mean": float(values.mean()), "p50": float(p50), "p95": float(p95), "p99": float(p99)}


def deadline_misses(trace: Trace) -> dict[str, int]:
    """Workflows and tasks that missed their deadline (see module docstring)."""
    horizon = trace.horizon
    wf = trace.workflow_summary()
    due = wf["arrival"] + wf["deadline"]
    has = wf["deadline"].notna()
    done_in_time = (wf["state"] == "Completed") & (wf["end"] <= due)
    wf_missed = has & ~done_in_time & ((wf["state"] != "Running") | (due < horizon))

    # Every task instance with a deadline counts, including those never placed
    # (blocked behind a failed or still-running predecessor).
    specs = trace.task_specs.loc[trace.task_specs["deadline"].notna(), ["definition", "task", "deadline"]]
    due_tasks = trace.workflows[["workflow", "definition", "arrival"]].merge(specs, on="definition")
    if len(due_tasks):
        ex = trace.executions()[["workflow", "task", "end", "failed"]].astype({"task": str})
        due_tasks = due_tasks.astype({"task": str}).merge(ex, on=["workflow", "task"], how="left")
        tdue = due_tasks["arrival"] + due_tasks["deadline"]
        failed_wf = due_tasks["workflow"].map(wf.set_index("workflow")["state"]) == "Failed"
        open_past_due = due_tasks["end"].isna() & (due_tasks["failed"].notna() | failed_wf | (tdue < horizon))
        task_missed = int(((due_tasks["end"] > tdue) | open_past_due).sum())
    else:
        task_missed = 0
    return {"workflows": int(wf_missed.sum()), "tasks": task_missed}


def task_fault_metrics(trace: Trace) -> dict[str, Any]:
    """What task-level fault tolerance cost and achieved, from ``task_faults``.

    ``work_lost_ops``: ops done since the last checkpoint by executions a crash took
    (``lost`` rows); ``work_redone_ops``: the part of it belonging to tasks that
    were taken over or retried afterwards (they did it again). Each also in
    core-seconds (``_core_seconds``): ops over the speed of one core of the node that
    lost them (exact for tasks of linear scalability). ``lost``, ``retries``,
    ``exhausted``, ``takeovers``, ``replicas``, ``disagreements``: rows of each kind;
    ``replicas_cancelled``: ``cancelled`` task events; ``workflow_success_rate``:
    completed / (completed + failed) workflows (None when none finished).
    """
    tf = trace.task_faults
    kind = tf["kind"].astype(str)
    lost = tf[kind == "lost"]
    speed = trace.nodes.set_index("id")["speed"].astype(float)
    lost_cs = lost["work_lost"].to_numpy(dtype=float) / lost["node"].astype(str).map(speed).to_numpy(dtype=float)
    keys = ["workflow", "task"]
    again = tf[kind.isin(["retry", "takeover"])].groupby(keys, observed=True)["time"].max().rename("again")
    redone = lost.join(again, on=keys)["again"].to_numpy(dtype=float) >= lost["time"].to_numpy(dtype=float)
    states = trace.workflow_summary()["state"].astype(str)
    completed, failed = int((states == "Completed").sum()), int((states == "Failed").sum())
    return {
        "work_lost_ops": float(lost["work_lost"].sum()),
        "work_lost_core_seconds": float(lost_cs.sum()),
        "work_redone_ops": float(lost["work_lost"].to_numpy(dtype=float)[redone].sum()),
        "work_redone_core_seconds": float(lost_cs[redone].sum()),
        "lost": len(lost),
        "retries": int((kind == "retry").sum()),
        "exhausted": int((kind == "exhausted").sum()),
        "takeovers": int((kind == "takeover").sum()),
        "replicas": int((kind == "replica").sum()),
        "replicas_cancelled": int((trace.task_events["event"] == "cancelled").sum()),
        "disagreements": int((kind == "disagree").sum()),
        "workflow_success_rate": completed / (completed + failed) if completed + failed else None,
    }


def summarize(trace: Trace, network: NetworkTotals | None = None) -> dict[str, Any]:
    """All summary metrics as a JSON-ready dict.

    Args:
        trace: The run's trace.
        network: Its byte totals, for a trace without ``link_usage`` and
            ``transfers`` rows (a run with ``trace="metrics"``); None: summed from them.
    """
    wf = trace.workflow_summary()
    completed = wf[wf["state"] == "Completed"]
    latencies = completed["latency"].to_numpy(dtype=float)
    makespan = float(completed["end"].max() - wf["arrival"].min()) if len(completed) else None
    busy = busy_core_seconds(trace)  # the costliest part (holdings): once for all three
    per_node, per_tier = utilisation(trace, busy)
    cost, energy = cost_and_energy(trace, busy)
    network = NetworkTotals.of(trace) if network is None else network
    ex = trace.executions()
    out = {
        "horizon": trace.horizon,
        "workflows": {
            "submitted": len(wf),
            "completed": len(completed),
            "failed": int((wf["state"] == "Failed").sum()),
            "running": int((wf["state"] == "Running").sum()),
        },
        "tasks": {
            "executed": int(ex["end"].notna().sum()),
            "failed": int(ex["failed"].notna().sum()),
        },
        "latency": _percentiles(latencies),
        "makespan": makespan,
        "throughput": (len(completed) / makespan) if makespan else None,
        "utilisation": {
            "per_tier": {k: float(v) for k, v in per_tier.items()},
            "per_node": {k: float(v) for k, v in per_node.items()},
            "overall": overall_utilisation(trace, busy),
        },
        "bytes_per_link": {k: float(v) for k, v in network.per_link.items()},
        "bytes_transferred": float(network.transferred),
        "cost": cost,
        "energy_joules": energy,
        "deadline_misses": deadline_misses(trace),
    }
    if len(trace.task_faults):
        out["faults"] = task_fault_metrics(trace)
    return out
