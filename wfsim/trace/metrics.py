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
    autonomy: the edge nodes' decisions, accuracy, cache hits and staleness,
        deferrals, rejects and time per connectivity status (:func:`autonomy_summary`).
    deadline misses: workflows (task instances) with a deadline that did not
        complete (end) within it: late, failed (for a task: failed, or blocked in a
        failed workflow), or still open when the deadline had passed by the horizon.
    detection and recovery time: crash to ``Failed``; cleared to recovered
        (:func:`detection_times`, :func:`recovery_times`).
    false suspicion: the detector began suspecting (``Partitioned`` or ``Failed``
        from ``Healthy``) a node that was up (see :func:`suspicion_onsets`).
    faults: work lost and redone, retries, success rate (:func:`task_fault_metrics`).
    availability: per tier, node-time up and connected (:func:`availability`).
    write unavailability: seconds a node would have refused a write (the write gate's
        ``states`` of kind ``writes``; see :func:`write_unavailability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.events import AUTONOMY_LEVELS, CONNECTIVITY_STATES, DECIDERS, FALLBACK_ACTIONS
from wfsim.trace.outages import node_outages, partition_spans, suspicions
from wfsim.trace.state_metrics import consistency_summary
from wfsim.trace.state_metrics import staleness as staleness  # the per-read frame the views plot
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


def _spread(values: pd.Series) -> dict[str, float | None]:
    return {"mean": float(values.mean()) if len(values) else None,
            "max": float(values.max()) if len(values) else None}


def _time_in(rows: pd.DataFrame, column: str, states: tuple[str, ...], horizon: float) -> dict[str, float]:
    """Seconds in each state of ``column``, from the rows' times (each lasting until
    the next row, the last until the horizon)."""
    times = rows["time"].to_numpy(dtype=float)
    until = np.minimum(np.append(times[1:], max(horizon, times[-1])), max(horizon, times[-1]))
    spent = pd.Series(until - times).groupby(rows[column].astype(str).to_numpy()).sum()
    return {state: float(spent.get(state, 0.0)) for state in states}


def autonomy_summary(trace: Trace) -> dict[str, Any]:
    """The edge autonomy metrics of a run from its ``decisions``, ``connectivity``,
    ``task_events`` and ``workflow_events``: the edge nodes' decisions by decider and
    fallback action; decision accuracy (the share of decisions compared with the
    cloud's that agreed); cache hits and the staleness of the results served;
    approximate results; deferred tasks and their wait (from the deferral to their
    start); rejects; retries; and each edge node's time in each connectivity status
    and autonomy level."""
    d = trace.decisions
    decider = d["decider"].astype(str)
    action = d["action"].astype(str)
    agrees = d["agrees"].dropna()
    hits = d[action == "UseCache"]
    deferred = d[action == "Defer"]
    te = trace.task_events
    started = te[te["event"] == "start"]  # kept at every trace level (``placed`` is not)
    started = started.assign(task=started["task"].astype(str))[["workflow", "task", "time"]]
    later = deferred.assign(task=deferred["task"].astype(str))[["workflow", "task", "time"]].merge(
        started, on=["workflow", "task"], suffixes=("", "_start"))
    later = later[later["time_start"] >= later["time"]]
    wait = later.groupby(["workflow", "task", "time"])["time_start"].min().reset_index()
    wf = trace.workflow_summary().set_index("workflow")["state"]
    from_cache = hits["workflow"].drop_duplicates()
    connectivity = trace.connectivity.sort_values("time", kind="stable")
    per_node = {
        str(node): {"status": _time_in(rows, "status", CONNECTIVITY_STATES, trace.horizon),
                    "level": _time_in(rows, "level", AUTONOMY_LEVELS, trace.horizon)}
        for node, rows in connectivity.groupby(connectivity["node"].astype(str), sort=False)
    }
    return {
        "decisions": {"by_decider": {k: int((decider == k).sum()) for k in DECIDERS},
                      "by_action": {k: int((action == k).sum()) for k in FALLBACK_ACTIONS}},
        "accuracy": float(agrees.mean()) if len(agrees) else None,
        "cache_hits": len(hits),
        "staleness": _spread(hits["staleness"]),
        "workflows_served_from_cache": int((wf.reindex(from_cache.to_numpy()) == "Completed").sum()),
        "approximate_results": int((action == "UseApproximation").sum()),
        "deferred": {"tasks": len(deferred), "started": len(wait),
                     "wait": _spread(wait["time_start"] - wait["time"])},
        "rejected": int((action == "Reject").sum()),
        "retries": int((action == "Retry").sum()),
        "time_per_node": per_node,
    }


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
    return {
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
        **_fault_summary(trace),
        # Replicated state: only on runs that have it (wfsim.trace.state_metrics).
        **({"consistency": consistency_summary(trace)} if len(trace.operations) else {}),
    }


# --- failure detection, recovery, writes and leases --------------------------------

def down_intervals(trace: Trace) -> dict[str, list[tuple[float, float]]]:
    """Each crashed node's ``(crash, recover)`` intervals (``recover`` is the horizon
    for a node still down): :func:`~wfsim.trace.outages.node_outages` by node."""
    out: dict[str, list[tuple[float, float]]] = {}
    for node, start, end in node_outages(trace)[["node", "start", "end"]].itertuples(index=False):
        out.setdefault(str(node), []).append((float(start), float(end)))
    return out


def availability(trace: Trace) -> dict[str, float]:
    """Per tier, the share of node-time its nodes were up and connected to the rest of
    the continuum: ``1 − (crashed or partitioned node-seconds) / (nodes × horizon)``
    (intervals of one node that overlap count once); 1.0 on a run without faults."""
    nodes = trace.nodes
    horizon = trace.horizon
    spans = pd.concat([node_outages(trace)[["node", "start", "end"]],
                       partition_spans(trace)[["node", "start", "end"]]], ignore_index=True)
    lost: dict[str, float] = {}
    for node, group in spans.groupby("node", sort=False):
        end = -np.inf
        total = 0.0
        for a, b in sorted(zip(group["start"].astype(float), group["end"].astype(float))):
            a, b = max(a, end), min(b, horizon)  # the union of the node's intervals
            if b > a:
                total += b - a
            end = max(end, b)
        lost[str(node)] = total
    out: dict[str, float] = {}
    for tier, ids in nodes.groupby(nodes["tier"].astype(str), sort=False)["id"]:
        possible = len(ids) * horizon
        out[str(tier)] = 1.0 - sum(lost.get(str(i), 0.0) for i in ids) / possible if possible else 1.0
    return out


def recovery_times(trace: Trace) -> pd.DataFrame:
    """Per node cleared by a heartbeat: ``node, cleared, done, duration``: from the
    detector's ``Healthy`` after a suspicion to the end of the last recovery action it
    started then (``done`` NaN when one never finished; a node cleared without
    actions to run is back at once, duration 0)."""
    det = trace.detections.sort_values("time", kind="stable")
    rec = trace.recoveries
    ends = rec[rec["phase"].astype(str) != "start"]
    rows = []
    for node, g in det.groupby(det["node"].astype(str), observed=True):
        states = g["state"].astype(str).to_numpy()
        times = g["time"].to_numpy(dtype=float)
        mine = ends[ends["node"].astype(str) == node]
        done_at = mine["time"].to_numpy(dtype=float)
        finished = mine["phase"].astype(str).to_numpy() == "done"
        for k in range(1, len(states)):
            if states[k] != "Healthy" or states[k - 1] == "Healthy":
                continue
            until = times[k + 1] if k + 1 < len(times) else np.inf
            window = (done_at >= times[k]) & (done_at < until)
            if not window.any():
                rows.append((node, times[k], times[k]))
            elif finished[window].all():
                rows.append((node, times[k], float(done_at[window].max())))
            else:
                rows.append((node, times[k], np.nan))
    out = pd.DataFrame(rows, columns=["node", "cleared", "done"])
    return out.assign(duration=out["done"] - out["cleared"])


def detection_times(trace: Trace) -> pd.DataFrame:
    """Per crash: ``node, crash, detected`` (the first ``Failed`` detection of that
    node while it was down, NaN if none: a crash shorter than the detector's bound
    may end unnoticed; the crash itself when the detector already held the node
    Failed, e.g. cut off by an earlier fault) and ``delay`` (detected − crash)."""
    det = trace.detections.sort_values("time", kind="stable")
    rows_of = {n: (g["time"].to_numpy(dtype=float), g["state"].astype(str).to_numpy())
               for n, g in det.groupby(det["node"].astype(str), observed=True)}
    rows = []
    for node, spans in down_intervals(trace).items():
        times, states = rows_of.get(node, (np.empty(0), np.empty(0, dtype=object)))
        for crash, recover in spans:
            before = np.searchsorted(times, crash, side="right") - 1
            if before >= 0 and states[before] == "Failed":
                rows.append((node, crash, crash))
                continue
            later = times[(times >= crash) & (times <= recover) & (states == "Failed")]
            rows.append((node, crash, float(later[0]) if len(later) else np.nan))
    out = pd.DataFrame(rows, columns=["node", "crash", "detected"])
    return out.assign(delay=out["detected"] - out["crash"])


def suspicion_onsets(trace: Trace) -> pd.DataFrame:
    """Each time the detector began suspecting a node (``Partitioned`` or ``Failed``
    after ``Healthy``; the intervals of :func:`~wfsim.trace.outages.suspicions`, a
    suspicion running on from ``Partitioned`` into ``Failed`` counted once): ``node,
    time, state`` and ``false`` (the node was up then: no crash of it covers that time)."""
    spans = suspicions(trace).sort_values(["node", "start"], kind="stable")
    node = spans["node"].to_numpy()
    begin, end = spans["start"].to_numpy(dtype=float), spans["end"].to_numpy(dtype=float)
    onset = np.ones(len(spans), dtype=bool)
    onset[1:] = (node[1:] != node[:-1]) | (begin[1:] != end[:-1])
    on = spans[onset]
    down = down_intervals(trace)
    false = [not any(a <= t <= b for a, b in down.get(str(n), ())) for n, t in zip(on["node"], on["start"])]
    out = pd.DataFrame({"node": on["node"].astype(str).to_numpy(), "time": on["start"].to_numpy(dtype=float),
                        "state": on["state"].astype(str).to_numpy(), "false": np.array(false, dtype=bool)})
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def write_unavailability(trace: Trace) -> pd.Series:
    """Seconds each node (by id; only nodes that ever refused) would have refused a
    write: the write gate's ``states`` of kind ``writes`` (``refused`` until the next
    ``open``, or until the horizon)."""
    st = trace.states
    st = st[st["kind"].astype(str) == "writes"]
    out: dict[str, float] = {}
    since: dict[str, float] = {}
    for t, node, state in zip(st["time"].to_numpy(dtype=float), st["entity"].astype(str), st["state"].astype(str)):
        if state == "refused":
            since.setdefault(node, t)
        elif node in since:
            out[node] = out.get(node, 0.0) + t - since.pop(node)
    for node, t in since.items():
        out[node] = out.get(node, 0.0) + trace.horizon - t
    return pd.Series(out, dtype=float)


def reconcile_conflicts(trace: Trace) -> int:
    """Keys found written on two sides when partitioned nodes reconciled: for each
    ``Reconcile`` done at node n, the keys n accepted while ``Partitioned`` (since the
    detector last made it so) that another node accepted, from a side other than one
    n wrote it on, between then and the reconcile."""
    rec = trace.recoveries
    done = rec[(rec["action"].astype(str) == "Reconcile") & (rec["phase"].astype(str) == "done")]
    if not len(done):
        return 0
    det = trace.detections
    parted = det[det["state"].astype(str) == "Partitioned"]
    w = trace.writes[trace.writes["accepted"].to_numpy(dtype=bool)]
    w_time = w["time"].to_numpy(dtype=float)
    w_node, w_key, w_side = w["node"].astype(str).to_numpy(), w["key"].astype(str).to_numpy(), \
        w["side"].astype(str).to_numpy()
    w_parted = w["state"].astype(str).to_numpy() == "Partitioned"
    total = 0
    for t_done, node in zip(done["time"].to_numpy(dtype=float), done["node"].astype(str)):
        starts = parted["time"].to_numpy(dtype=float)[(parted["node"].astype(str) == node).to_numpy()]
        starts = starts[starts <= t_done]
        if not len(starts):
            continue
        window = (w_time >= starts[-1]) & (w_time <= t_done)
        mine: dict[str, set[str]] = {}
        for k, s in zip(w_key[window & (w_node == node) & w_parted], w_side[window & (w_node == node) & w_parted]):
            mine.setdefault(k, set()).add(s)
        others = window & (w_node != node)
        total += len({k for k, s in zip(w_key[others], w_side[others]) if k in mine and mine[k] - {s}})
    return total


def lease_violations(trace: Trace) -> list[str]:
    """Breaches of P22 in the ``leases`` table: a lease acquired while another
    (or the same holder's) was unexpired, or renewed after it had expired or
    ended. Empty when every resource had at most one unexpired lease at a time."""
    found = []
    le = trace.leases
    held: dict[str, tuple[str, float]] = {}  # resource → (holder, expires)
    for t, res, holder, event, expires in zip(
            le["time"].to_numpy(dtype=float), le["resource"].astype(str), le["holder"].astype(str),
            le["event"].astype(str), le["expires"].to_numpy(dtype=float)):
        current = held.get(res)
        if event == "acquire":
            if current is not None and t < current[1]:
                found.append(f"t={t:g}: {holder} acquired {res} while {current[0]} held it until {current[1]:g}")
            held[res] = (holder, expires)
        elif event == "renew":
            if current is None or current[0] != holder or not t < current[1]:
                found.append(f"t={t:g}: {holder} renewed {res} without an unexpired lease on it")
            held[res] = (holder, expires)
        elif event in ("release", "revoke", "expire"):
            held.pop(res, None)
    return found


def _fault_summary(trace: Trace) -> dict[str, Any]:
    """The ``faults``, ``availability``, ``detection``, ``writes`` and ``leases``
    parts of :func:`summarize`, for the tables that have rows."""
    out: dict[str, Any] = {}
    if len(trace.task_faults):
        out["faults"] = task_fault_metrics(trace)
    if len(trace.faults):
        out["availability"] = {"per_tier": availability(trace)}
    if len(trace.detections):
        sus = suspicion_onsets(trace)
        times = detection_times(trace)
        rec = trace.recoveries
        done = rec[rec["phase"].astype(str) == "done"]
        out["detection"] = {
            "suspicions": len(sus),
            "false_suspicions": int(sus["false"].sum()),
            "crashes": len(times),
            "crashes_detected": int(times["detected"].notna().sum()),
            "detection_time": _percentiles(times["delay"].dropna().to_numpy(dtype=float)),
            "recoveries": {str(k): int(v) for k, v in done["action"].astype(str).value_counts().sort_index().items()},
            "recovery_time": _percentiles(recovery_times(trace)["duration"].dropna().to_numpy(dtype=float)),
        }
    if len(trace.writes):
        accepted = trace.writes["accepted"].to_numpy(dtype=bool)
        unavailable = write_unavailability(trace)
        out["writes"] = {
            "accepted": int(accepted.sum()),
            "rejected": int((~accepted).sum()),
            "conflicts": reconcile_conflicts(trace),
            "unavailable_seconds": {k: float(v) for k, v in unavailable.sort_index().items()},
        }
    if len(trace.leases):
        ev = trace.leases["event"].astype(str)
        out["leases"] = {kind: int((ev == kind).sum()) for kind in ("acquire", "renew", "refuse", "revoke", "expire")}
        out["leases"]["violations"] = len(lease_violations(trace))
    if len(trace.decisions) or len(trace.connectivity):
        out["autonomy"] = autonomy_summary(trace)
    return out
