"""Load balancing (P25, in part): placements, moves and starts honour node health
(the ``states`` rows of kind ``health``), and rebalancing moves work only above the
imbalance threshold, from overloaded to underloaded nodes (the ``rebalances`` table).

P25's ring-remapping and session-affinity clauses are tested on the strategies
themselves (``tests/policies/test_load_balancing.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.enums import DRAINED
from wfsim.verify.catalog.common import as_str, fmt, migrations
from wfsim.verify.ltl import INCONCLUSIVE, Truth
from wfsim.verify.properties import Findings, Invariant, TraceView, records

#: Node health states in which a node takes no new work (a drain).
_DRAINED = frozenset(status.value for status in DRAINED)


def _placement_only_healthy(view: TraceView) -> bool | None:
    """Whether the run's placement strategy chooses only Healthy nodes, as the
    manifest records it (``placement_only_healthy``); None for a trace saved before
    it was recorded."""
    flag = view.trace.manifest.get("placement_only_healthy")
    return None if flag is None else bool(flag)


def _health_changes(view: TraceView) -> pd.DataFrame:
    """The ``states`` rows of kind ``health``: ``time, node, status`` in record order."""
    st = view.trace.states
    rows = st[st["kind"].astype(str) == "health"]
    return pd.DataFrame({"time": rows["time"].to_numpy(dtype=float), "node": as_str(rows["entity"]),
                         "status": as_str(rows["state"])})


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
    targets (Preparing rows), with ``time, workflow, task, node, what, strict,
    unknown``; ``strict`` means only a Healthy node is allowed (load-balancer
    placements and rebalancing moves), ``unknown`` that the trace does not say
    whether it is (placements of a run whose manifest predates
    ``placement_only_healthy``)."""
    te = view.task_events
    placed = te[(te["event"] == "placed") & te["node"].notna()]
    only_healthy = _placement_only_healthy(view)
    out = [pd.DataFrame({"time": placed["time"], "workflow": placed["workflow"], "task": placed["task"],
                         "node": placed["node"], "what": "placed", "strict": bool(only_healthy),
                         "unknown": only_healthy is None})]
    m = migrations(view)
    if len(m):
        prep = m[m["state"] == "Preparing"]
        out.append(pd.DataFrame({
            "time": prep["time"].to_numpy(dtype=float), "workflow": prep["workflow"].to_numpy(dtype=np.int64),
            "task": prep["task"].to_numpy(dtype=object), "node": as_str(prep["target"]),
            "what": "migration " + prep["migration"].astype(str).to_numpy(dtype=object) + " to",
            "strict": (prep["trigger"].astype(str) == "LoadImbalance").to_numpy(), "unknown": False}))
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
        "what": "start", "strict": False, "unknown": False})], ignore_index=True)
    before, at = _status_at(changes, rows, exact=False), _status_at(changes, rows, exact=True)
    strict = rows["strict"].to_numpy(dtype=bool)
    unknown = rows["unknown"].to_numpy(dtype=bool)

    def refused(status: pd.Series, strict: np.ndarray) -> np.ndarray:
        drained = status.isin(_DRAINED).to_numpy()
        return drained | (strict & (status != "Healthy").to_numpy())

    # At the instant of a change the decision may have come just before it.
    bad = refused(before["status"], strict) & refused(at["status"], strict)
    # Refused only if the placement was a load balancer's, which the trace does not say.
    undecided = ~bad & refused(before["status"], strict | unknown) & refused(at["status"], strict | unknown)
    keep = bad | undecided
    rows, at, undecided = rows[keep], at[keep], undecided[keep]
    found = pd.DataFrame({
        "entity_kind": "task", "entity": rows["workflow"].astype(str) + "/" + rows["task"].astype(str),
        "time": rows["time"], "step": None,
        "explanation": rows["what"] + " " + rows["node"].astype(str) + " at t=" + fmt(rows["time"]) + " while "
        + rows["node"].astype(str) + " was " + at["status"] + " (since t=" + fmt(at["since"]) + ")"
        + np.where(rows["strict"].to_numpy(dtype=bool), "; only Healthy nodes may be chosen", "")
        + np.where(undecided, "; the manifest does not record whether the placement strategy chooses only"
                   " Healthy nodes (placement_only_healthy)", ""),
        "workflow": rows["workflow"], "task": rows["task"].astype(str),
        "verdict": np.where(undecided, INCONCLUSIVE.value, Truth.FALSE.value),
    })
    return Findings(checked, found)


LB_HEALTHY = Invariant(
    "P25", "lb-healthy", "P25, overview §3 (the selected node is Healthy); seed l.6348–7622 (LoadBalancer)",
    """No work is put on a node that may not receive it, by the health recorded in ``states``.

    Node health changes are the ``states`` rows of kind ``health`` (every node is
    Healthy until its first).  Every ``placed`` event and every migration target is on
    a node that is neither Unhealthy nor Maintenance at that time; load-balancer
    placements (the manifest's ``placement_only_healthy`` is true: the placement
    strategy declares it chooses only Healthy nodes) and rebalancing moves (trigger
    ``LoadImbalance``) only on a Healthy one.  A trace saved before the manifest
    recorded ``placement_only_healthy`` does not say which rule its placements
    follow: a placement there on a node that is neither Healthy nor drained (Degraded)
    is ``inconclusive``, not a violation; everything else is judged as above.
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
            frame = pd.DataFrame({"time": rb["time"].to_numpy(dtype=float), "node": as_str(rb["node"]),
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
    m = migrations(view)
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
        "source": as_str(prep["source"]), "target": as_str(prep["target"]),
    })
    moves["tier"] = moves["source"].map(tier_of)
    return moves.merge(rounds, on=["time", "tier"], how="left")


def _move_findings(view: TraceView, moves: pd.DataFrame, why: pd.Series) -> pd.DataFrame:
    """Violations (one per move with a non-empty ``why``) with the round's loads and
    the migration's rows as the trace slice."""
    bad = moves[why != ""]
    m = migrations(view)
    events = [(rec if isinstance(rec, list) else [])
              + records(m[m["migration"] == mig].assign(table="migrations")[
                  ["table", "time", "migration", "workflow", "task", "source", "target", "state"]])
              for mig, rec in zip(bad["migration"], bad["records"])]
    return pd.DataFrame({
        "entity_kind": "migration", "entity": bad["migration"].astype(str), "time": bad["time"], "step": None,
        "explanation": "rebalancing migration " + bad["migration"].astype(str) + " of " + bad["workflow"].astype(str)
        + "/" + bad["task"] + " (" + bad["source"] + " -> " + bad["target"] + ") at t=" + fmt(bad["time"])
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
                 "the " + moves["tier"].astype(str) + " round's imbalance " + fmt(imbalance)
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
    row: Any  # pandas-stubs type a row's fields as any scalar
    for row in moves.itertuples(index=False):
        loads: dict[str, float] = row.loads if isinstance(row.loads, dict) else {}
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
