"""What each consistency level cost and gave: the ``consistency`` block of
:func:`~wfsim.trace.metrics.summarize`, from the replicated-state tables.

Definitions:
    attempt: one row of ``operations`` (a request timed out at one level is tried
        again one level down: a downgrade); request: all attempts of one ``request``.
    latency: ``ret − call`` of the ``ok`` attempts, per level served; a request's
        from its first call to its last attempt's return, for requests answered
        ``ok``, per level requested.
    stale read: an ``ok`` read that did not return the latest write to its key
        acknowledged (returned ``ok``) before the read was invoked, over every level's
        writes (what a client of the key sees): some such write was invoked after
        the one returned was acknowledged; see :func:`staleness`.
    conflicts, lost updates: ``resolutions`` rows and their ``lost`` versions, in
        all and per level of the replicas that settled them (an acknowledged write
        is copied down to the weaker levels' replicas, whose resolvers may settle it
        again: a Linearizable run's conflicts are its copies').
    health: the state in force at each ``health`` check; its changes and the time
        in each state from the first check to the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.events import LEVELS, OUTCOMES, SYSTEM_HEALTH
from wfsim.trace.tables import json_cell
from wfsim.trace.trace import Trace


def staleness(trace: Trace) -> pd.DataFrame:
    """One row per ``ok`` read: what it returned against the writes acknowledged
    before it was invoked.

    A write is *acknowledged* at its ``ok`` return; writes that timed out, failed or
    were still in flight are not. A read is **stale** when some write to its key
    acknowledged before the read's call (strictly) is certainly newer than the write
    it returned: invoked after that one was acknowledged (a write concurrent with it
    may have taken effect before it, whatever their acknowledgements' order).
    Returning ``null`` is stale once any write was acknowledged, while returning a
    write not acknowledged before the call (in flight, or timed out) is fresh (no
    write is certainly newer). A list (siblings, a CRDT set) counts as its freshest
    member. Every level's writes count (what a client of the key sees): a write
    served at a weaker level (a downgrade) never reaches a stronger level's replicas,
    so a stronger read may be stale against it.

    Returns:
        Columns ``op, request, client, key, level, requested, call, returned`` (the
        op id of the write returned, the freshest member of a list; -1 for ``null``
        or a value no write wrote), ``latest`` (the write acknowledged last before
        the call, -1: none), ``stale``, ``versions`` (acknowledged writes certainly
        newer than the one returned) and ``staleness`` (seconds from the first
        acknowledgement of one of them to the read's call; 0 when fresh), in call
        order.
    """
    o = trace.operations
    ok = o[o["outcome"].astype(str) == "ok"]
    f = ok["f"].astype(str)
    writes = ok[f == "write"]
    reads = ok[f == "read"].sort_values(["call", "op"], kind="stable")
    # key -> (ack times, call times, op ids, op id -> its place), in ack order
    acked: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]]] = {}
    for key, rows in writes.groupby(writes["key"].astype(str), sort=False):
        rows = rows.sort_values(["ret", "op"], kind="stable")
        ids = rows["op"].to_numpy(dtype=np.int64)
        acked[str(key)] = (rows["ret"].to_numpy(dtype=float), rows["call"].to_numpy(dtype=float), ids,
                           {int(w): k for k, w in enumerate(ids)})
    nothing = np.empty(0)
    empty: tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]] = (nothing, nothing, nothing.astype(np.int64),
                                                                        {})
    out: dict[str, list[Any]] = {c: [] for c in ("returned", "latest", "stale", "versions", "staleness")}
    for key, call, text in zip(reads["key"].astype(str), reads["call"].to_numpy(dtype=float),
                               reads["output"].astype(object)):
        acks, calls, ids, place = acked.get(key, empty)
        known = int(np.searchsorted(acks, call, side="left"))  # acknowledged strictly before the call
        value = json_cell(text)
        members = value if isinstance(value, list) else [value]
        written = [m for m in members if isinstance(m, int) and not isinstance(m, bool)]
        # Per member, the acknowledged writes invoked after it was acknowledged (none
        # for a member not acknowledged before the call); null: every one.
        newer = {m: (calls[:known] > acks[place[m]]) if place.get(m, known) < known else np.zeros(known, bool)
                 for m in written}
        freshest = min(written, key=lambda m: int(newer[m].sum())) if written else None
        beyond = newer[freshest] if freshest is not None else np.ones(known, dtype=bool)
        versions = int(beyond.sum())
        out["returned"].append(-1 if freshest is None else freshest)
        out["latest"].append(int(ids[known - 1]) if known else -1)
        out["stale"].append(versions > 0)
        out["versions"].append(versions)
        out["staleness"].append(float(call - acks[:known][beyond].min()) if versions else 0.0)
    return pd.DataFrame({
        "op": reads["op"].to_numpy(dtype=np.int64), "request": reads["request"].to_numpy(dtype=np.int64),
        "client": reads["client"].astype(str).to_numpy(dtype=object),
        "key": reads["key"].astype(str).to_numpy(dtype=object),
        "level": reads["level"].astype(str).to_numpy(dtype=object),
        "requested": reads["requested"].astype(str).to_numpy(dtype=object),
        "call": reads["call"].to_numpy(dtype=float),
        "returned": np.asarray(out["returned"], dtype=np.int64), "latest": np.asarray(out["latest"], dtype=np.int64),
        "stale": np.asarray(out["stale"], dtype=bool), "versions": np.asarray(out["versions"], dtype=np.int64),
        "staleness": np.asarray(out["staleness"], dtype=float),
    })


def _spread(values: np.ndarray) -> dict[str, float | None]:
    if not len(values):
        return {"mean": None, "p50": None, "p99": None}
    p50, p99 = np.percentile(values, [50, 99])
    return {"mean": float(values.mean()), "p50": float(p50), "p99": float(p99)}


def consistency_summary(trace: Trace) -> dict[str, Any]:
    """The ``consistency`` block of the summary metrics (see the module docstring):
    ``operations`` (attempts per level and outcome), ``requests``, ``latency`` and
    ``request_latency`` per level, ``stale_reads``, ``conflicts``, ``downgrades``,
    ``health`` and ``messages`` per level."""
    o = trace.operations
    level, outcome = o["level"].astype(str), o["outcome"].astype(str)
    done = o[outcome == "ok"]
    latency = (done["ret"] - done["call"]).to_numpy(dtype=float)
    requests = o.sort_values(["request", "attempt"], kind="stable").groupby("request", sort=False)
    first, last = requests.first(), requests.last()
    answered = last["outcome"].astype(str) == "ok"
    spans = (last["ret"] - first["call"])[answered]
    asked = first["requested"].astype(str)[answered]
    stale = staleness(trace)
    late = stale[stale["stale"]]
    return {
        "operations": {lv: {k: int(((level == lv) & (outcome == k)).sum()) for k in OUTCOMES} for lv in LEVELS},
        "requests": {"total": len(first), **{k: int((last["outcome"].astype(str) == k).sum()) for k in OUTCOMES}},
        "rejected": int((outcome == "fail").sum()),
        "timed_out": int((outcome == "unknown").sum()),
        "latency": {lv: _spread(latency[(done["level"].astype(str) == lv).to_numpy()]) for lv in LEVELS},
        "request_latency": {lv: _spread(spans[asked == lv].to_numpy(dtype=float)) for lv in LEVELS},
        "stale_reads": {
            "reads": len(stale), "stale": len(late),
            "rate": len(late) / len(stale) if len(stale) else None,
            "per_level": {lv: {"reads": int((stale["level"] == lv).sum()),
                               "stale": int((late["level"] == lv).sum())} for lv in LEVELS},
            "versions": _spread(late["versions"].to_numpy(dtype=float)),
            "seconds": _spread(late["staleness"].to_numpy(dtype=float)),
        },
        "conflicts": _conflicts(trace),
        "downgrades": {"attempts": int((o["attempt"] > 0).sum()),
                       "requests": int((requests["attempt"].max() > 0).sum())},
        "health": _health(trace),
        "messages": _messages(trace),
    }


def _conflicts(trace: Trace) -> dict[str, Any]:
    """Resolutions and lost versions, in all and per level."""
    r = trace.resolutions
    level = r["level"].astype(str)
    return {"resolved": len(r), "lost_updates": int(r["lost"].sum()) if len(r) else 0,
            "per_level": {lv: {"resolved": int((level == lv).sum()), "lost_updates": int(r["lost"][level == lv].sum())}
                          for lv in LEVELS}}


def _health(trace: Trace) -> dict[str, Any]:
    """Changes of the state in force and seconds in each, from the first check."""
    h = trace.health.sort_values("time", kind="stable")
    if not len(h):
        return {"checks": 0, "changes": 0, "seconds": dict.fromkeys(SYSTEM_HEALTH, 0.0)}
    state = h["health"].astype(str).to_numpy(dtype=object)
    times = h["time"].to_numpy(dtype=float)
    until = np.append(times[1:], max(trace.horizon, times[-1]))
    spent = pd.Series(until - times).groupby(state).sum()
    return {"checks": len(h), "changes": int((state[1:] != state[:-1]).sum()),
            "seconds": {s: float(spent.get(s, 0.0)) for s in SYSTEM_HEALTH}}


def _messages(trace: Trace) -> dict[str, dict[str, float]]:
    """Protocol messages sent, delivered, dropped and their bytes, per level."""
    m = trace.messages
    level = m["level"].astype(str).to_numpy(dtype=object)
    return {lv: {"sent": int(m["sent"][level == lv].sum()), "delivered": int(m["delivered"][level == lv].sum()),
                 "dropped": int(m["dropped"][level == lv].sum()), "bytes": float(m["bytes"][level == lv].sum())}
            for lv in LEVELS}
