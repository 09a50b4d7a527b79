"""Intervals of the fault tables: when each node was down, each partition held, each
link was out, and each node was suspected by the failure detector.

Every function reads a :class:`~wfsim.trace.trace.Trace` and returns one row per
interval with ``start`` and ``end``; an interval still open when the run stopped ends
at the horizon and is marked ``open``. The property catalog (P20) and the trace views
(the Gantt's fault layers, the continuum at one instant) read them, so a fault's
extent is computed in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from wfsim.trace.trace import Trace

__all__ = ["fault_nodes", "link_outages", "node_outages", "partition_spans", "suspicions"]


def fault_nodes(target: str, detail: object, nodes: Iterable[str]) -> tuple[str, ...]:
    """The nodes a ``faults`` row names: its target if that is a node, else the nodes
    listed (comma-separated) in its detail, else in its target (a site or a named set).

    Args:
        target: The row's ``target``.
        detail: The row's ``detail`` (``<NA>`` or None when it has none).
        nodes: Every node id of the topology.
    """
    known = set(nodes)
    if target in known:
        return (target,)
    for text in (detail, target):
        if isinstance(text, str):
            named = tuple(n.strip() for n in text.split(",") if n.strip() in known)
            if named:
                return named
    return ()


def _faults(trace: Trace, kinds: tuple[str, str]) -> list[tuple[float, str, str, str | None, str]]:
    """The ``faults`` rows of the two kinds (an opening and a closing one), in time
    order, as ``(time, kind, target, detail or None, process)``."""
    f = trace.faults
    f = f[f["kind"].astype(str).isin(kinds)]
    rows = [(float(t), str(kind), str(target), None if pd.isna(detail) else str(detail), str(process))
            for t, kind, target, detail, process in zip(f["time"], f["kind"], f["target"], f["detail"], f["process"])]
    return sorted(rows, key=lambda row: row[0])  # stable: rows at one time keep their order


def _pair(events: list[tuple[float, str, bool, dict[str, Any]]], horizon: float) -> list[dict[str, Any]]:
    """Intervals from ``(time, key, opens, fields)`` events in time order: an opening
    starts the key's interval (if none is open), the next closing ends it; still open
    at the end: ended at the horizon and marked ``open``."""
    started: dict[str, tuple[float, dict[str, Any]]] = {}
    out = []
    for time, key, opens, fields in events:
        if opens:
            started.setdefault(key, (time, fields))
        elif key in started:
            begin, info = started.pop(key)
            out.append({**info, "start": begin, "end": time, "open": False})
    out += [{**info, "start": begin, "end": max(horizon, begin), "open": True}
            for begin, info in started.values()]
    return out


def node_outages(trace: Trace) -> pd.DataFrame:
    """Each node's crashes: ``node, start, end, open, process``, from a ``crash``
    row naming it to the next ``recover`` naming it (a site's crash names all its
    nodes)."""
    ids = trace.nodes["id"].astype(str).tolist()
    events = [(t, node, kind == "crash", {"node": node, "process": process})
              for t, kind, target, detail, process in _faults(trace, ("crash", "recover"))
              for node in fault_nodes(target, detail, ids)]
    return pd.DataFrame(_pair(events, trace.horizon), columns=["node", "process", "start", "end", "open"])


def partition_spans(trace: Trace) -> pd.DataFrame:
    """Each partition, one row per node cut off: ``partition, node, start, end,
    open``, from a ``partition`` row (its detail lists the nodes) to the next ``heal``
    of the same target."""
    ids = trace.nodes["id"].astype(str).tolist()
    # A partition's row names it by its site (an edge node's id) and lists every node
    # cut off in its detail: the detail comes first.
    events = [(t, target, kind == "partition", {"partition": target, "nodes": fault_nodes(detail or target, None, ids)})
              for t, kind, target, detail, _ in _faults(trace, ("partition", "heal"))]
    spans = pd.DataFrame(_pair(events, trace.horizon), columns=["partition", "nodes", "start", "end", "open"])
    out = spans.explode("nodes").rename(columns={"nodes": "node"}).dropna(subset=["node"])
    return out[["partition", "node", "start", "end", "open"]].reset_index(drop=True)


def link_outages(trace: Trace) -> pd.DataFrame:
    """Each link's outages: ``link, a, b, start, end, open``, from ``link_down`` to
    the next ``link_up`` of that link (``a~b``, as in the ``links`` table). Links cut
    by a partition or a crashed end are not listed here: see :func:`partition_spans`
    and :func:`node_outages`."""
    links = trace.links
    ends = dict(zip(links["link"].astype(str), zip(links["a"].astype(str), links["b"].astype(str))))
    events = []
    for t, kind, target, _, _ in _faults(trace, ("link_down", "link_up")):
        a, b = ends.get(target) or (*target.split("~", 1), "")[:2]
        events.append((t, target, kind == "link_down", {"link": target, "a": a, "b": b}))
    return pd.DataFrame(_pair(events, trace.horizon), columns=["link", "a", "b", "start", "end", "open"])


def suspicions(trace: Trace) -> pd.DataFrame:
    """The failure detector's suspicions: ``node, state, start, end, open``, each
    ``Partitioned`` or ``Failed`` (or ``Degraded``) row of ``detections`` until the
    node's next row."""
    d = trace.detections
    frame = pd.DataFrame({"time": d["time"].to_numpy(dtype=float), "node": d["node"].astype(str).to_numpy(),
                          "state": d["state"].astype(str).to_numpy()}).sort_values(["node", "time"], kind="stable")
    node, times = frame["node"].to_numpy(), frame["time"].to_numpy()
    same = np.r_[node[1:] == node[:-1], False] if len(frame) else np.zeros(0, dtype=bool)
    nxt = np.r_[times[1:], np.nan] if len(frame) else np.zeros(0)
    out = frame.assign(start=times, end=np.where(same, nxt, np.maximum(trace.horizon, times)), open=~same)
    out = out[out["state"] != "Healthy"]
    return out[["node", "state", "start", "end", "open"]].sort_values("start", kind="stable").reset_index(drop=True)
