"""Replicated state (P10, P11, P14–P16, and P21's merge clause), over the
``operations``, ``health``, ``raft``, ``resolutions`` and ``replicas`` tables and the
``consistency`` settings the manifest records.  Each property is ``not_applicable``
on runs without its table.

What the trace can and cannot prove, in short (each property says more):

* P11 checks each level's attempts with that level's checker
  (:mod:`wfsim.verify.history`); keys whose reads returned lists are no registers
  and are left out (:func:`~wfsim.verify.history.from_trace`).
* P14 judges the session guarantees from what the table proves of causal order:
  session order, and one reads-from step (what the writer of a value had seen).
* P15 is judged only on runs that ended quiescent; otherwise a divergence is
  ``inconclusive``.
* P16 applies the threshold rule with the thresholds the manifest records, and the
  floors it records (runs saved before floors were recorded: their config's, if any).
* P10 replays what the trace records of an apply log, Raft's: each member's applied
  writes give its final state; every other replica's value must have been written.

:func:`key_projection` gives ``check_formula(trace, f, per="key")`` its steps.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.enums import ConsistencyLevel, SystemHealth, key_type
from wfsim.model.events import LEVELS, OPERATIONS, OUTCOMES
from wfsim.trace.outages import link_outages, node_outages, partition_spans
from wfsim.trace.tables import json_cell
from wfsim.verify.catalog.common import config
from wfsim.verify.ltl import INCONCLUSIVE
from wfsim.verify.properties import MAX_SLICE, Findings, Invariant, Projection, TraceView, records

__all__ = ["KEY_ATOMS", "key_projection", "key_slice"]

#: Seconds each level's history check may take before its verdict is ``inconclusive``.
CHECK_SECONDS = 30.0
#: Memoised search states per history check.
CHECK_STATES = 2_000_000
_RANK = {level: i for i, level in enumerate(LEVELS)}
_COLUMNS = ["entity_kind", "entity", "time", "step", "workflow", "explanation", "events", "verdict"]
_SLICE = ["table", "op", "request", "attempt", "client", "key", "f", "value", "output", "level", "call", "ret",
          "outcome"]


# --- the operations, as plain columns ------------------------------------------------------------------------


def operations(view: TraceView) -> pd.DataFrame:
    """``operations`` with plain-string categories and parsed ``value``/``output``
    (``None`` for JSON ``null`` and for a missing answer, with ``answered`` telling
    which), in call order (then op id)."""

    def build() -> pd.DataFrame:
        o = view.trace.operations
        frame = pd.DataFrame({
            "op": o["op"].to_numpy(dtype=np.int64), "request": o["request"].to_numpy(dtype=np.int64),
            "attempt": o["attempt"].to_numpy(dtype=np.int64),
            **{c: o[c].astype(str).to_numpy(dtype=object) for c in ("client", "node", "key", "f", "requested",
                                                                     "level", "outcome")},
            "value": _objects(json_cell(x) for x in o["value"].astype(object)),
            "output": _objects(json_cell(x) for x in o["output"].astype(object)),
            "answered": o["output"].notna().to_numpy(dtype=bool),
            "call": o["call"].to_numpy(dtype=float), "ret": o["ret"].to_numpy(dtype=float),
        })
        return frame.sort_values(["call", "op"], kind="stable").reset_index(drop=True)

    return view.cached("consistency_operations", build)


def _objects(values: Any) -> np.ndarray:
    """An object array of ``values`` as they are (pandas would make numbers of them,
    and ``None`` NaN)."""
    items = list(values)
    out = np.empty(len(items), dtype=object)
    for k, v in enumerate(items):
        out[k] = v
    return out


def _has_ops(view: TraceView) -> bool:
    return bool(len(view.trace.operations))


def _slice(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Operations as counterexample records (at most :data:`MAX_SLICE`)."""
    shown = rows.head(MAX_SLICE).assign(table="operations")
    value: list[str | None] = [json.dumps(v) if f == "write" else None for v, f in zip(shown["value"], shown["f"])]
    output: list[str | None] = [json.dumps(v) if a else None for v, a in zip(shown["output"], shown["answered"])]
    shown = shown.assign(value=_objects(value), output=_objects(output))
    return records(shown[_SLICE])


def _violations(found: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(found, columns=_COLUMNS)


def _finding(kind: str, entity: str, t: float | None, explanation: str, events: list[dict[str, Any]],
             verdict: str = "false") -> dict[str, Any]:
    return {"entity_kind": kind, "entity": entity, "time": t, "step": None, "workflow": np.nan,
            "explanation": explanation, "events": events, "verdict": verdict}


def _describe(row: Any) -> str:
    """``op 7 (c1 read k -> 3 at t=1.2)``."""
    what = (f"read {row.key} -> {json.dumps(row.output) if row.answered else '?'}" if row.f == "read"
            else f"write {row.key} = {json.dumps(row.value)}")
    return f"op {row.op} ({row.client} {what} at t={row.call:.6g}, {row.level}, {row.outcome})"


# --- P11: each level's history -------------------------------------------------------------------------------

#: The levels whose histories P11 checks, and the checker of each.
_CHECKERS = {ConsistencyLevel.LINEARIZABLE.value: "linearizable", ConsistencyLevel.SEQUENTIAL.value: "sequential",
             ConsistencyLevel.CAUSAL.value: "causal"}


def _has_checked_levels(view: TraceView) -> bool:
    return _has_ops(view) and bool(np.isin(operations(view)["level"], list(_CHECKERS)).any())


def _check_level(history: Any, checker: str) -> tuple[str, Any, str | None]:
    """``(verdict, counterexample, reason)`` of one level's history."""
    from wfsim.verify.history import Budget, check_history
    from wfsim.verify.history.causal import find_bad_pattern
    from wfsim.verify.history.model import RegisterModel, prepared_ops
    from wfsim.verify.history.result import BudgetExceeded

    if checker != "causal":
        v = check_history(history, "register", checker, Budget(CHECK_SECONDS, CHECK_STATES))
        return v.verdict, v.counterexample, v.reason
    # Causal consistency (CC): the bad patterns every causal level excludes (causal
    # memory and causal convergence each exclude more, and neither contains the other).
    model = RegisterModel()
    try:
        cex = find_bad_pattern(prepared_ops(history, model), model, None, time.perf_counter() + CHECK_SECONDS,
                               CHECK_STATES)
    except BudgetExceeded as exc:
        return "unknown", None, str(exc)
    return ("violation" if cex else "ok"), cex, None


def _level_histories(view: TraceView) -> Findings:
    from wfsim.verify.history import from_trace

    ops = operations(view)
    found, checked = [], 0
    for level, checker in _CHECKERS.items():
        history = from_trace(view.trace, level)
        served = history.metadata["served"]
        if not served:
            continue
        checked += 1
        try:
            verdict, cex, reason = _check_level(history, checker)
        except ValueError as exc:  # a client with two operations at once: not a history of sessions
            verdict, cex, reason = "violation", None, str(exc)
        if verdict == "ok":
            continue
        ids = sorted(set(cex.ops) | set(cex.prefix[-5:]) | ({cex.blocked} if cex.blocked is not None else set())
                     ) if cex is not None else []
        involved = ops[ops["op"].isin(ids)]
        at = float(involved["call"].max()) if len(involved) else None
        if verdict == "violation":
            why = cex.description if cex is not None else reason
            text = f"the {served} attempts served {level} are not {checker}" + (
                f" (key {cex.key})" if cex is not None and cex.key is not None else "") + f": {why}"
            found.append(_finding("level", level, at, text, _slice(involved)))
        else:
            found.append(_finding("level", level, at, f"the {checker} check of the {served} attempts served "
                                  f"{level} ran out of its budget: {reason}", [], INCONCLUSIVE.value))
    return Findings(checked, _violations(found))


LEVEL_HISTORIES = Invariant(
    "P11", "level-histories", "P11, overview §3; part 1 §1.9–1.11; seed l.1515–2403 (linearizable, hybrid stores)",
    """The attempts served at each level form a history that level's checker accepts:
    Linearizable ones linearizable, Sequential ones sequentially consistent, Causal
    ones causally consistent.

    Per level, :func:`~wfsim.verify.history.from_trace` makes the attempts served at
    it one register history (every write writes its own op id; a timed-out attempt
    may have taken effect; a write acknowledged at a stronger level is copied down
    and may take effect any time after; keys whose reads returned lists are no
    registers and are left out), checked with :func:`~wfsim.verify.history.check_history` (Causal: the
    bad patterns of causal consistency, Bouajjani et al. 2017).  A check that runs
    out of its budget (:data:`CHECK_SECONDS`, :data:`CHECK_STATES`) is
    ``inconclusive``, never a pass.  Eventual attempts promise no order (P15 judges
    them).  Raft reads served with ``read_mode: LeaderLocal`` are not linearizable:
    such a run may break it, rightly.  Counts the levels checked.
    """,
    _level_histories, unit="levels", applies=_has_checked_levels,
)


# --- P14: session guarantees -----------------------------------------------------------------------------------


def _registers(ops: pd.DataFrame) -> pd.DataFrame:
    """The attempts of keys no read returned a list for, at each level (registers)."""
    listed = ops["output"].map(lambda v: isinstance(v, list)).to_numpy(dtype=bool)
    bad = set(zip(ops["level"][listed], ops["key"][listed]))
    keep = [(lv, k) not in bad for lv, k in zip(ops["level"], ops["key"])] if bad else np.ones(len(ops), bool)
    return ops[np.asarray(keep, dtype=bool)]


def _session_ops(view: TraceView) -> pd.DataFrame:
    ops = operations(view)
    strong = ops[ops["level"].isin([lv.value for lv in ConsistencyLevel if lv.rank <= ConsistencyLevel.CAUSAL.rank])
                 & (ops["outcome"] == "ok")]
    return _registers(strong)


def _has_session_reads(view: TraceView) -> bool:
    if not _has_ops(view):
        return False
    s = _session_ops(view)
    return bool((s["f"] == "read").any())


def _session_guarantees(view: TraceView) -> Findings:
    s = _session_ops(view)
    sessions: list[tuple[tuple[str, ...], pd.DataFrame, list[Any]]] = [
        (tuple(map(str, session)), rows, list(rows.itertuples(index=False)))
        for session, rows in s.groupby(["level", "client", "key"], sort=False)]
    # What each session (level, client, key) had observed: its acknowledged writes and
    # the values its reads returned, value -> first position; and who wrote each value.
    seen: dict[tuple[str, ...], dict[Any, int]] = {}
    writer: dict[tuple[str, str, Any], tuple[tuple[str, ...], int, Any]] = {}
    for session, _, rows in sessions:
        observed: dict[Any, int] = {}
        for pos, row in enumerate(rows):
            value = _hashable(row.value if row.f == "write" else row.output)
            if row.f == "write":
                writer[(row.level, row.key, value)] = (session, pos, row)
            if value is not None:
                observed.setdefault(value, pos)
        seen[session] = observed
    found = []
    for session, frame, rows in sessions:
        level, client, key = session
        observed = seen[session]
        own: tuple[int, Any] | None = None  # the last acknowledged write: position, row
        last_read: Any = None
        for pos, row in enumerate(rows):
            if row.f == "write":
                own = (pos, row)
                continue
            v = _hashable(row.output)
            problem = None
            if own is not None and v != _hashable(own[1].value):
                if v is None:
                    problem = f"returned null after its own {_describe(own[1])}"
                elif observed.get(v, pos) < own[0]:
                    problem = (f"returned {json.dumps(row.output)}, which the session had seen before its own "
                               f"{_describe(own[1])} (read-your-writes)")
            if problem is None and last_read is not None and last_read.output is not None:
                x = _hashable(last_read.output)
                w = writer.get((level, key, x))
                if v is None:
                    problem = f"returned null after {_describe(last_read)} (monotonic reads)"
                elif v != x and w is not None and seen[w[0]].get(v, w[1]) < w[1]:
                    problem = (f"returned {json.dumps(row.output)} after {_describe(last_read)}, whose writer "
                               f"{w[2].client} had seen {json.dumps(row.output)} before writing it "
                               "(monotonic reads)")
            if problem is not None:
                found.append(_finding("session", f"{client} {key} ({level})", float(row.call),
                                      f"{_describe(row)} {problem}", _slice(frame.iloc[max(0, pos - 10):pos + 1])))
            last_read = row
    return Findings(int((s["f"] == "read").sum()), _violations(found))


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


SESSION_GUARANTEES = Invariant(
    "P14", "session-guarantees", "P14, overview §3; part 1 §1.10; seed l.1826–2059 (CausalStore sessions)",
    """Read-your-writes and monotonic reads hold in every session at Causal and
    stronger levels.

    Per level, client (the session) and key, over the acknowledged (``ok``) attempts
    in call order: a read after the session's own acknowledged write returns that
    write or a value the session had not seen before writing it (never null, never
    a value the write causally overwrote); a read after a read that returned ``x``
    never returns null, nor a value the writer of ``x`` had seen (written or read) in
    its session before writing ``x`` (that value causally precedes ``x``).  Only
    causal order the table proves is used (session order and one reads-from step),
    so a violation is certain; P11's causal check sees longer chains.  Keys whose
    reads returned lists are left out.  Counts the reads.
    """,
    _session_guarantees, unit="reads", applies=_has_session_reads,
)


# --- P15: convergence ------------------------------------------------------------------------------------------


def _replica_values(view: TraceView) -> pd.DataFrame:
    r = view.trace.replicas
    return pd.DataFrame({"level": r["level"].astype(str).to_numpy(dtype=object),
                         "key": r["key"].astype(str).to_numpy(dtype=object),
                         "node": r["node"].astype(str).to_numpy(dtype=object),
                         "value": _objects(json_cell(x) for x in r["value"].astype(object))})


def _has_replicas(view: TraceView) -> bool:
    return bool(len(view.trace.replicas))


def quiescent(view: TraceView) -> tuple[bool, str]:
    """Whether the run ended quiescent, and why not: no crash, partition or link
    outage in force at its end, and no write invoked in its last ``10 ×
    anti_entropy_interval`` seconds (the manifest's ``consistency`` settings; unknown
    without them)."""
    trace = view.trace
    for name, frame in (("a crash", node_outages(trace)), ("a partition", partition_spans(trace)),
                        ("a link outage", link_outages(trace))):
        if len(frame) and frame["open"].to_numpy(dtype=bool).any():
            return False, f"{name} was still in force when the run ended"
    interval = settings(view).get("anti_entropy_interval")
    if interval is None:
        return False, "the manifest records no consistency.anti_entropy_interval to judge quiescence by"
    ops = operations(view) if _has_ops(view) else None
    writes = ops[ops["f"] == "write"] if ops is not None else None
    last = float(writes["call"].max()) if writes is not None and len(writes) else -math.inf
    quiet = 10 * float(interval)
    if view.horizon - last < quiet:
        return False, f"the last write came at t={last:.6g}, less than {quiet:.6g} s before the end"
    return True, ""


def _canonical(value: Any) -> str:
    """A replica's value, siblings and set members in one order."""
    if isinstance(value, list):
        value = sorted(value, key=lambda v: json.dumps(v, sort_keys=True))
    return json.dumps(value, sort_keys=True)


def _convergence(view: TraceView) -> Findings:
    r = _replica_values(view)
    r = r.assign(canon=[_canonical(v) for v in r["value"]])
    settled, why = quiescent(view)
    found = []
    groups = r.groupby(["level", "key"], sort=True)
    for (level, key), rows in groups:
        if rows["canon"].nunique() < 2:
            continue
        held = "; ".join(f"{n}: {c}" for n, c in zip(rows["node"], rows["canon"]))
        text = f"the {level} replicas of {key} differ at the end ({held})"
        events = records(rows.assign(table="replicas", value=rows["canon"])[["table", "level", "key", "node",
                                                                             "value"]].head(MAX_SLICE))
        found.append(_finding("key", f"{key} ({level})", view.horizon, text if settled else f"{text}, but {why}",
                              events, "false" if settled else INCONCLUSIVE.value))
    return Findings(groups.ngroups, _violations(found))


CONVERGENCE = Invariant(
    "P15", "convergence", "P15, overview §3; part 1 §1.10–1.11; seed l.1826–2403 (replication, hybrid store)",
    """After writes stop and the network heals, all replicas of a key hold the same
    value, at every level.

    Per level and key, the ``replicas`` rows (what a local read returns at each
    replica when the run ends; siblings and set members compared in any order) are
    equal.  Judged only when the run ended quiescent (:func:`quiescent`: no crash,
    partition or link outage in force at the end, and no write in the last ``10 ×
    anti_entropy_interval`` seconds); a divergence on another run is
    ``inconclusive`` (the replicas may not have caught up yet).  Counts the keys per
    level.
    """,
    _convergence, unit="keys per level", applies=_has_replicas,
)


# --- P16: adaptive consistency ---------------------------------------------------------------------------------

_THRESHOLDS = ("healthy_ratio", "degraded_ratio", "critical_ratio", "healthy_p99", "degraded_p99", "critical_p99")


def health_rule(available: np.ndarray, total: np.ndarray, p99: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """The health state the thresholds give (the seed's monitor): Healthy when the
    available share is at least ``healthy_ratio`` and the p99 below ``healthy_p99``,
    else Degraded, Critical likewise with their thresholds, else Emergency."""
    available, total, p99 = (np.asarray(a, dtype=float) for a in (available, total, p99))
    ratio = np.divide(available, total, out=np.zeros(len(available)), where=total > 0)
    states = [h.value for h in SystemHealth]
    out = np.full(len(ratio), states[-1], dtype=object)
    for state in reversed(states[:-1]):
        name = state.lower()
        hit = (ratio >= float(settings[f"{name}_ratio"])) & (p99 < float(settings[f"{name}_p99"]))
        out[hit] = state
    return out


def _has_health(view: TraceView) -> bool:
    return bool(len(view.trace.health))


def _health_checks(view: TraceView) -> Findings:
    h = view.trace.health.sort_values("time", kind="stable")
    t = h["time"].to_numpy(dtype=float)
    available, total = h["available"].to_numpy(dtype=np.int64), h["total"].to_numpy(dtype=np.int64)
    observed, health = h["observed"].astype(str).to_numpy(dtype=object), h["health"].astype(str).to_numpy(dtype=object)
    given = settings(view)
    found = []
    bad_counts = (available < 0) | (available > total)
    rule = health_rule(available, total, h["p99"].to_numpy(dtype=float), given) if all(
        k in given for k in _THRESHOLDS) else observed
    hysteresis = int(given.get("hysteresis", 0))
    before = SystemHealth.HEALTHY.value
    streak = 0  # checks in a row whose observation differed from the state in force
    for k in range(len(h)):
        problem = None
        if bad_counts[k]:
            problem = f"{available[k]} of {total[k]} replicas available"
        elif rule[k] != observed[k]:
            problem = (f"observed {observed[k]}, but {available[k]}/{total[k]} available with p99 "
                       f"{h['p99'].iloc[k]:.6g} s gives {rule[k]}")
        else:
            streak = 0 if observed[k] == before else streak + 1
            expected = observed[k] if streak > hysteresis else before
            if health[k] != expected:
                held = observed[max(0, k - hysteresis):k + 1]
                problem = (f"{health[k]} in force after {before}, but the last {len(held)} checks observed "
                           f"{', '.join(held)} (hysteresis {hysteresis}): {expected} should be")
            streak = 0 if health[k] != before else streak
        if problem:
            rows = h.iloc[max(0, k - 5):k + 1].assign(table="health")
            found.append(_finding("health check", f"t={t[k]:.6g}", float(t[k]), problem,
                                  records(rows[["table", *h.columns]])))
        before = health[k]
    return Findings(len(h), _violations(found))


HEALTH_CHECKS = Invariant(
    "P16", "health-checks", "P16, overview §3; part 1 §1.12; seed l.2405–2677 (SystemHealth monitor)",
    """Each health check's observed state is the threshold rule on what it measured,
    and the state in force changes only as the hysteresis allows.

    Per ``health`` row: ``0 ≤ available ≤ total``; ``observed`` is
    :func:`health_rule` of ``available/total`` and ``p99`` with the thresholds of the
    manifest's ``consistency`` settings (not judged when it records none); the state
    in force (``health``, Healthy before the first check) becomes the observed state
    exactly when this check and the ``hysteresis`` checks before it all observed a
    state other than the one in force, and stays as it was otherwise (without
    hysteresis it is the observed state).  Counts the checks.
    """,
    _health_checks, unit="health checks", applies=_has_health,
)


def settings(view: TraceView) -> dict[str, Any]:
    """The run's ``consistency`` settings: the parameters the manifest records at its
    top level, over what the config it was built from says (floors, the strategy)."""
    manifest = view.trace.manifest
    built = (manifest.get("config") or {}).get("consistency")
    return {**(built if isinstance(built, dict) else {}), **config(view, "consistency")}


def _floors(view: TraceView) -> dict[str, str]:
    floors = settings(view).get("floors") or {}
    return {str(k): ConsistencyLevel.parse(v).value for k, v in floors.items()}


def _suspect_requests(ops: pd.DataFrame, floors: dict[str, str]) -> np.ndarray:
    """The requests some attempt of which may break the chain (a quick vectorised
    pass; :func:`_fallback_chain` explains each)."""
    o = ops.sort_values(["request", "attempt"], kind="stable")
    request = o["request"].to_numpy()
    rank = o["level"].map(_RANK).to_numpy()
    asked = o["requested"].map(_RANK).to_numpy()
    first = np.r_[True, request[1:] != request[:-1]]
    last = np.r_[request[1:] != request[:-1], True]
    position = np.arange(len(o)) - np.maximum.accumulate(np.where(first, np.arange(len(o)), 0))
    floor = o["key"].map(lambda k: _RANK.get(floors.get(key_type(k), ""), -1)).to_numpy()
    later = ~first
    bad = (o["attempt"].to_numpy() != position) | (position >= len(LEVELS))
    bad |= later & ((rank <= np.r_[0, rank[:-1]]) | (asked != np.r_[0, asked[:-1]])
                    | (o["call"].to_numpy() < np.r_[0.0, o["ret"].to_numpy()[:-1]]))
    bad |= first & ((rank > asked) | ((rank < asked) & (rank != floor)))
    bad |= ~last & (o["outcome"].to_numpy() != "unknown")
    return np.unique(request[bad])


def _fallback_chain(view: TraceView) -> Findings:
    ops = operations(view)
    floors = _floors(view)
    suspects = ops[ops["request"].isin(_suspect_requests(ops, floors))]
    found = []
    for request, rows in suspects.sort_values(["request", "attempt"], kind="stable").groupby("request", sort=False):
        attempts = rows["attempt"].to_numpy()
        ranks = rows["level"].map(_RANK).to_numpy()
        first: Any = rows.iloc[0]
        floor = floors.get(key_type(str(first["key"])))
        problem = None
        if not (attempts == np.arange(len(rows))).all():
            problem = f"attempts numbered {attempts.tolist()}"
        elif len(rows) > len(LEVELS):
            problem = f"{len(rows)} attempts (at most {len(LEVELS)}: one per level)"
        elif (np.diff(ranks) <= 0).any():
            problem = f"levels {' → '.join(rows['level'])} do not descend the chain {' → '.join(LEVELS)}"
        elif rows["requested"].nunique() > 1:
            problem = f"its attempts name different requested levels: {', '.join(rows['requested'])}"
        elif ranks[0] > _RANK[first["requested"]] or (ranks[0] < _RANK[first["requested"]] and first["level"] != floor):
            problem = (f"requested {first['requested']} but first served {first['level']}"
                       + (f" (the floor of {key_type(first['key'])} is {floor})" if floor else ""))
        elif (rows["outcome"].iloc[:-1] != "unknown").any():
            problem = "an attempt follows one that did not time out: " + ", ".join(rows["outcome"])
        elif (rows["call"].to_numpy()[1:] < rows["ret"].to_numpy()[:-1]).any():
            problem = "an attempt began before the previous one timed out"
        if problem:
            found.append(_finding("request", str(request), float(rows["call"].to_numpy()[-1]),
                                  f"request {request} ({first['client']}, {first['f']} {first['key']}): {problem}",
                                  _slice(rows)))
    return Findings(int(ops["request"].nunique()), _violations(found))


FALLBACK_CHAIN = Invariant(
    "P16", "fallback-chain", "P16, overview §3; part 1 §1.12; seed l.2405–2677 (get_with_timeout)",
    """Within one request, the level only descends the fallback chain, one attempt per
    level at most, each after the previous one timed out.

    Per ``request``: attempts numbered 0, 1, …; at most one per level; their levels
    strictly weaker each time (Linearizable → Sequential → Causal → Eventual);
    every attempt but the last ``unknown`` (timed out), and the next one invoked no
    earlier than its timeout; one ``requested`` level, which the first attempt is
    served at unless the key's floor (the manifest's ``consistency.floors``) is
    stronger.  Counts the requests.
    """,
    _fallback_chain, unit="requests", applies=_has_ops,
)


def _has_floors(view: TraceView) -> bool:
    return _has_ops(view) and bool(_floors(view))


def _key_floors(view: TraceView) -> Findings:
    ops = operations(view)
    floors = _floors(view)
    floor = ops["key"].map(lambda k: floors.get(key_type(k)))
    below = floor.notna() & (ops["level"].map(_RANK) > floor.map(_RANK))
    rows: list[Any] = list(ops[below].itertuples(index=False))
    found = [_finding("request", str(row.request), float(row.call),
                      f"{_describe(row)} was served below the floor {fl} of {key_type(row.key)}",
                      _slice(ops[ops["request"] == row.request]))
             for row, fl in zip(rows, floor[below])]
    return Findings(int(floor.notna().sum()), _violations(found))


KEY_FLOORS = Invariant(
    "P16", "key-floors", "P16, overview §3 (a floor per key, the workbench's addition); seed l.2405–2677",
    """No attempt is served below its key's floor.

    Each attempt on a key whose data type (the prefix before ``:``) has a floor in
    the manifest's ``consistency.floors`` is served at that level or a stronger one.
    ``not_applicable`` without floors.  Counts the attempts on keys with a floor.
    """,
    _key_floors, unit="attempts", applies=_has_floors,
)


# --- P21: conflicts settled by the resolver ---------------------------------------------------------------------


def _has_resolutions(view: TraceView) -> bool:
    return bool(len(view.trace.resolutions))


def _resolution_merge(view: TraceView) -> Findings:
    r = view.trace.resolutions
    inputs, lost = r["inputs"].to_numpy(dtype=np.int64), r["lost"].to_numpy(dtype=np.int64)
    resolver = r["resolver"].astype(str).to_numpy(dtype=object)
    few, negative, all_lost = inputs < 2, lost < 0, lost > inputs - 1
    dropped = (lost > 0) & (resolver != "lww")
    bad = few | negative | all_lost | dropped
    rows = r[bad]
    why = np.where(few[bad], "a conflict of fewer than two versions",
                   np.where(negative[bad] | all_lost[bad], "lost " + rows["lost"].astype(str) + " of "
                            + rows["inputs"].astype(str) + " versions (the result must keep one)",
                            "the " + rows["resolver"].astype(str) + " resolver lost " + rows["lost"].astype(str)
                            + " versions (only last-writer-wins discards)"))
    found = [_finding("key", f"{key} ({level})", float(t), f"{node} settled {key} at t={t:.6g}: {w}",
                      records(pd.DataFrame([row]).assign(table="resolutions")))
             for key, level, node, t, w, row in zip(rows["key"].astype(str), rows["level"].astype(str),
                                                     rows["node"].astype(str), rows["time"], why,
                                                     rows.astype(object).to_dict("records"))]
    return Findings(len(r), _violations(found))


RESOLUTION_MERGE = Invariant(
    "P21", "resolution-merge", "P21, overview §3; part 1 §1.10; seed l.1826–2059 (conflict resolution)",
    """After healing, conflicts are merged by the resolver, whose result is not
    dominated by any input: at most all versions but one are lost, and none unless
    the resolver is last-writer-wins.

    Each ``resolutions`` row: at least two concurrent versions met (``inputs ≥ 2``);
    ``0 ≤ lost ≤ inputs − 1`` (the result keeps the effect of one at least); and
    ``lost = 0`` for the ``multi_value`` (siblings) and ``crdt_set`` (union)
    resolvers.  Counts the resolutions.
    """,
    _resolution_merge, unit="resolutions", applies=_has_resolutions,
)


# --- P10: the apply log replayed ---------------------------------------------------------------------------------


def _has_replay(view: TraceView) -> bool:
    return _has_replicas(view) and _has_ops(view)


def _state_replay(view: TraceView) -> Findings:
    ops = operations(view)
    reps = _replica_values(view)
    found: list[dict[str, Any]] = []
    # Raft: each member's applied writes, in index order, are its state at the end.
    lin = ConsistencyLevel.LINEARIZABLE.value
    raft = view.trace.raft
    applied = raft[raft["event"].astype(str) == "apply"]
    writes = ops[ops["f"] == "write"].set_index("op")
    checked = 0
    if len(applied):
        a = pd.DataFrame({"node": applied["node"].astype(str).to_numpy(dtype=object),
                          "time": applied["time"].to_numpy(dtype=float),
                          "index": applied["index"].to_numpy(dtype=np.int64),
                          "op": applied["op"].to_numpy(dtype=np.int64)})
        # In the order they were applied (a member that lost its state applies again).
        a = a[a["op"].isin(writes.index)].sort_values(["node", "time", "index"], kind="stable")
        a["key"] = writes.loc[a["op"], "key"].to_numpy()
        replayed = a.groupby(["node", "key"], sort=True)["op"].last()
        held = reps[reps["level"] == lin].set_index(["node", "key"])["value"]
        members = set(a["node"])
        for (node, key) in sorted(set(replayed.index) | {i for i in held.index if i[0] in members}):
            checked += 1
            want = int(replayed[(node, key)]) if (node, key) in replayed.index else None
            has = held.get((node, key))
            if has != want:
                found.append(_finding("key", f"{key} ({lin})", view.horizon,
                                      f"{node}'s applied writes of {key} end with "
                                      f"{'op ' + str(want) if want is not None else 'none'}, but it holds "
                                      f"{json.dumps(has)}", _slice(ops[ops["op"] == want]) if want is not None else []))
    # Every other value a replica holds was written at its level or a stronger one
    # (copied down), by a write that was not refused.
    possible = ops[(ops["f"] == "write") & (ops["outcome"] != "fail")]
    strongest = possible["level"].map(_RANK).groupby(possible["value"].map(_hashable).to_numpy()).min()
    for level, key, node, value in reps.itertuples(index=False):
        for v in (value if isinstance(value, list) else [value]):
            if v is None:
                continue
            checked += 1
            if strongest.get(_hashable(v), len(LEVELS)) > _RANK[level]:
                found.append(_finding("key", f"{key} ({level})", view.horizon,
                                      f"{node} holds {json.dumps(v)} for {key} at {level}, which no write at that "
                                      "level or a stronger one wrote (or only a refused one)",
                                      _slice(ops[ops["op"] == v])))
    return Findings(checked, _violations(found))


STATE_REPLAY = Invariant(
    "P10", "state-replay", "P10, overview §3; part 1 §1.8; seed l.1289–1511 (EventSourcing replay)",
    """Replaying the apply log gives the final state: each Raft member's applied
    writes end, per key, with the value it holds; and every value any replica holds
    was written.

    The trace's apply log is Raft's (``raft`` rows ``apply``; their ``op`` joined to
    ``operations`` gives the key and value, a write's value being its op id): per
    member and key, the last write applied (in time order) is what its
    Linearizable replica holds when the run ends (``replicas``), and a key it holds
    a value for had a write applied.  The other levels record no log: each value
    (and sibling or set member) a replica holds is the op id of a write attempt
    served at that level that was not refused (``ok`` or ``unknown``).  Counts the
    member-keys replayed and the values checked.
    """,
    _state_replay, unit="replayed states and values", applies=_has_replay,
)


# --- per key: check_formula(per="key") -----------------------------------------------------------------------

#: Atoms of a key's projection: the operation, its outcome, the level it was served
#: at (lower case) and ``downgraded`` (an attempt after a timeout).
KEY_ATOMS: tuple[str, ...] = (*OPERATIONS, *OUTCOMES, *(level.lower() for level in LEVELS), "downgraded")
_BIT = {atom: 1 << k for k, atom in enumerate(KEY_ATOMS)}


def key_projection(view: TraceView) -> Projection:
    """One trace per key (sorted by name): one step per attempt on it, in call order,
    with atoms :data:`KEY_ATOMS`.  A key is never closed: on a truncated run,
    obligations still open at the horizon are ``inconclusive``."""

    def build() -> Projection:
        ops = operations(view).sort_values(["key", "call", "op"], kind="stable")
        bits: Callable[[pd.Series], np.ndarray] = lambda s: s.map(_BIT).to_numpy(dtype=np.int64)  # noqa: E731
        codes = (bits(ops["f"]) | bits(ops["outcome"]) | bits(ops["level"].str.lower())
                 | np.where(ops["attempt"].to_numpy() > 0, _BIT["downgraded"], 0))
        keys = ops["key"].to_numpy(dtype=object)
        ids = np.array(sorted(set(keys)), dtype=object)
        offsets = np.append(np.searchsorted(keys, ids, side="left"), len(keys)) if len(ids) else np.zeros(1, int)
        return Projection("key", ids, offsets.astype(np.int64), KEY_ATOMS, codes.astype(np.int64),
                          ops["call"].to_numpy(dtype=float), np.ones(len(ids), dtype=bool),
                          np.full(len(ids), -1, dtype=np.int64))

    return view.cached("key_projection", build)


def key_slice(view: TraceView, key: str, t: float, before: int = 12, after: int = 3) -> list[dict[str, Any]]:
    """The attempts on ``key`` around time ``t`` (``before`` up to it, ``after``
    following), as counterexample records."""
    ops = operations(view)
    mine = ops[ops["key"] == key]
    at = int(np.searchsorted(mine["call"].to_numpy(), t, side="right"))
    return _slice(mine.iloc[max(0, at - before):at + after])
