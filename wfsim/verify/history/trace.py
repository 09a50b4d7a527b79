"""A run's replicated-state operations as a checkable :class:`History`.

The trace's ``operations`` table holds one row per *attempt* (a request timed out at
one level is tried again one level down under the same ``request``);
:func:`from_trace` makes each attempt one :class:`Operation`, so that the attempts
served at one level form that level's history, checked with that level's checker
(with the copies of stronger levels' acknowledged writes the store makes there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from wfsim.trace.tables import json_cell

from .model import History, Operation

#: A trace outcome → the history's status (``unknown`` is Jepsen's ``:info``).
STATUS = {"ok": "ok", "fail": "fail", "unknown": "info"}


def from_trace(trace: Any, level: str | None = None, keys: Iterable[str] | None = None) -> History:
    """The register history of a run's ``operations`` table.

    Each attempt becomes an :class:`Operation`: ``id`` its op id, ``process`` its
    client (the session), ``f`` ``read`` or ``write``, ``key``, ``value`` (a write
    writes its own op id), ``output`` (what a read returned, ``None`` for ``null``),
    ``call``, ``ret`` and ``status`` (``unknown`` → ``info``, returning at infinity:
    it may have taken effect at any time after its call).

    The store copies every write acknowledged at a level to each weaker level's
    replicas in the background, so a level's history (``level`` given) also holds,
    for each write acknowledged at a stronger level, an indeterminate write of the
    same id and value by a process of its own (``cascade/<op id>``), invoked at the
    acknowledgement: it may take effect at that level any time after.

    Two adjustments keep the history faithful to the run:

    * a client's call at the very instant its previous operation returned (a local
      read answers at once) is moved to the next double after it, so that its program
      order survives (the checkers order operations by ``ret < call`` alone); a call
      before that return is left as it is, and the checkers refuse it;
    * a key any read returned a list for (multi-value siblings, a CRDT set) is not a
      register: its operations are left out, and the key is listed in
      ``metadata["excluded_keys"]`` (with the operations left out counted in
      ``metadata["excluded"]``); check such keys with the convergence property instead.

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace` (a run with replicated state).
        level: Only the attempts served at this level (``"Linearizable"``, …; any
            case), as each level is checked with its own checker; ``None``: all.
        keys: Only these keys; ``None``: all.

    Returns:
        The history, in call order (then op id), with ``metadata`` ``source``
        ``"trace"``, ``level``, ``served`` (the attempts, copies not counted),
        ``excluded_keys`` and ``excluded``.

    Raises:
        ValueError: ``level`` is no consistency level.
    """
    ops = trace.operations
    copies = ops.iloc[:0]
    if level is not None:
        from wfsim.model.enums import ConsistencyLevel

        chosen = ConsistencyLevel.parse(level)
        level = chosen.value
        served = ops["level"].astype(str)
        stronger = [lv.value for lv in ConsistencyLevel if lv.rank < chosen.rank]
        copies = ops[served.isin(stronger) & (ops["f"].astype(str) == "write") & (ops["outcome"].astype(str) == "ok")]
        ops = ops[served == level]
    if keys is not None:
        copies = copies[copies["key"].astype(str).isin(list(keys))]
        ops = ops[ops["key"].astype(str).isin(list(keys))]
    ops = ops.sort_values(["call", "op"], kind="stable")
    key = ops["key"].astype(str).to_numpy(dtype=object)
    outputs = [json_cell(x) for x in ops["output"].astype(object)]
    listed = sorted({k for k, out in zip(key, outputs) if isinstance(out, list)})
    keep = ~np.isin(key, listed) if listed else np.ones(len(ops), dtype=bool)
    values = [json_cell(x) for x in ops["value"].astype(object)]
    last_ret: dict[str, float] = {}
    out: list[Operation] = []
    for kept, k, op, client, f, value, output, call, ret, outcome in zip(
            keep, key, ops["op"].tolist(), ops["client"].astype(str).tolist(), ops["f"].astype(str).tolist(),
            values, outputs, ops["call"].tolist(), ops["ret"].tolist(), ops["outcome"].astype(str).tolist()):
        if not kept:
            continue
        status = STATUS[outcome]
        if call == last_ret.get(client):
            call = float(np.nextafter(call, math.inf))
        if status == "info" or math.isnan(ret):
            ret = math.inf  # and it orders nothing after it
        else:
            ret = last_ret[client] = max(ret, call)
        out.append(Operation(int(op), client, f, k, value, output if f == "read" else None, call, ret,
                             status))  # type: ignore[arg-type]  # a status of STATUS
    served = len(out)
    for op, k, value, acked in zip(copies["op"].tolist(), copies["key"].astype(str).tolist(),
                                   copies["value"].astype(object), copies["ret"].tolist()):
        if k not in listed:
            out.append(Operation(int(op), f"cascade/{op}", "write", k, json_cell(value), None, acked, math.inf,
                                 "info"))
    out.sort(key=lambda o: (o.call, o.id))
    return History(out, {"source": "trace", "level": level, "served": served, "excluded_keys": listed,
                         "excluded": int((~keep).sum())})


