"""What the subject modules of the catalog share: the per-entity projections the
temporal properties are evaluated on (per workflow, task instance or node), and small
table helpers."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.enums import TERMINAL_STATES, WorkflowState
from wfsim.model.events import (
    AUTONOMY_LEVELS,
    CONNECTIVITY_STATES,
    DECIDERS,
    FALLBACK_ACTIONS,
    FAULT_KINDS,
    LEASE_EVENTS,
    NODE_STATES,
    RECOVERY_ACTIONS,
    TASK_EVENTS,
)
from wfsim.trace.outages import fault_nodes
from wfsim.verify.properties import MAX_COUNTEREXAMPLES, Projection, TraceView, project, records

__all__ = ["NODE_ATOMS", "WORKFLOW_ATOMS", "as_str", "config", "fmt", "migrations", "node_events", "node_findings",
           "node_projection", "node_slice", "snake", "task_projection", "workflow_projection"]

#: Atoms of a workflow's projection: its lifecycle states, lowercased.
WORKFLOW_ATOMS = tuple(state.value.lower() for state in WorkflowState)
_WORKFLOW_FINAL = tuple(state.value.lower() for state in WorkflowState if state in TERMINAL_STATES)


def workflow_projection(view: TraceView) -> Projection:
    """One trace per workflow: one step per lifecycle event, atoms
    ``created, running, completed, failed``; a workflow without events has an empty
    trace."""
    return view.cached("workflow_projection", lambda: project(
        view.workflow_events, ["workflow"], "state", WORKFLOW_ATOMS, "workflow",
        all_ids=view.workflow_ids, final=_WORKFLOW_FINAL))


def task_projection(view: TraceView) -> Projection:
    """One trace per task instance: one step per task event, atoms
    ``placed, ready, start, end, failed``."""
    return view.cached("task_projection", lambda: project(
        view.task_events, ["workflow", "task"], "event", TASK_EVENTS, "task", final=("end", "failed")))


def fmt(values: pd.Series, spec: str = ".6g") -> pd.Series:
    """Numbers as strings (a ``str`` series even when empty)."""
    return values.map(lambda x: format(x, spec)).astype(str)


def as_str(column: pd.Series) -> np.ndarray:
    """A (categorical) column as an object array of ``str``."""
    return column.astype(str).to_numpy(dtype=object)


def migrations(view: TraceView) -> pd.DataFrame:
    """The ``migrations`` table with plain-string ``state`` and ``task``, sorted by
    (migration, time); empty (with its columns) on traces without one."""
    m: pd.DataFrame | None = getattr(view.trace, "migrations", None)
    if m is None or not len(m):
        return pd.DataFrame(columns=["time", "migration", "workflow", "task", "source", "target", "state"])
    return m.assign(state=m["state"].astype(str), task=m["task"].astype(str)).sort_values(
        ["migration", "time"], kind="stable")


def config(view: TraceView, group: str) -> dict[str, Any]:
    """A settings group of the run (``detection``, ``autonomy``, …) as its manifest
    records it: at the top level (as a run built in Python records its settings), else
    in the config it was built from; empty when neither has it."""
    manifest = view.trace.manifest
    for section in (manifest.get(group), (manifest.get("config") or {}).get(group)):
        if isinstance(section, dict):
            return section
    return {}


def snake(name: str) -> str:
    """``UseCache`` → ``use_cache``: an enum value as an atom name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


#: The detector's states as atoms; ``Degraded`` (never produced) is renamed so that
#: ``degraded`` stays the connectivity status.
_DETECTOR_ATOMS = {state: ("detected_degraded" if state == "Degraded" else state.lower()) for state in NODE_STATES}
#: Task events on a node that are atoms of its projection.
_NODE_TASK_EVENTS = ("start", "end", "lost", "cancelled")

#: Atoms of a node's projection, table by table (see :func:`node_projection`).
NODE_ATOMS: tuple[str, ...] = (
    *FAULT_KINDS, *_DETECTOR_ATOMS.values(), *map(snake, RECOVERY_ACTIONS), "recovered", "recovery_failed",
    *map(snake, CONNECTIVITY_STATES), *map(snake, AUTONOMY_LEVELS), *DECIDERS, *map(snake, FALLBACK_ACTIONS),
    *_NODE_TASK_EVENTS, "write", "write_refused", *LEASE_EVENTS,
)
_BIT = {atom: 1 << k for k, atom in enumerate(NODE_ATOMS)}
#: The enum values that become atoms under their snake names.
_SNAKE = {value: snake(value) for value in (*RECOVERY_ACTIONS, *CONNECTIVITY_STATES, *AUTONOMY_LEVELS,
                                            *FALLBACK_ACTIONS)}
assert len(_BIT) == len(NODE_ATOMS) < 63, "node atoms are distinct and fit a bitmask"

#: The tables of a node's projection, in the order their steps take at equal times:
#: the ground truth first, then what was observed and done about it.
NODE_TABLES = ("faults", "detections", "recoveries", "connectivity", "decisions", "task_events", "writes", "leases")


def _bits(*columns: Any) -> np.ndarray:
    """The bitmask of each row: the OR of each column's atom (missing adds none)."""
    out = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        atoms = column if isinstance(column, pd.Series) else pd.Series(np.asarray(column, dtype=object))
        out |= np.asarray(atoms.map(_BIT).astype(float).fillna(0).to_numpy(), dtype=np.int64)
    return out


def _what(code: int) -> str:
    """The atoms of a step, ``+``-joined."""
    return "+".join(a for a in NODE_ATOMS if code & _BIT[a])


def _fault_steps(trace: Any, ids: list[str]) -> tuple[list[str], list[float], list[int], list[int]]:
    """The ``faults`` rows as steps of the nodes they touch: a crash or recovery of
    its node(s), a partition and its heal of every node cut off (a heal without a
    node list heals the nodes of its partition), a link's changes at both its ends,
    a handover at the device."""
    f = trace.faults
    ends = dict(zip(trace.links["link"].astype(str), zip(trace.links["a"].astype(str), trace.links["b"].astype(str))))
    cut: dict[str, tuple[str, ...]] = {}
    nodes, times, bits, rows = [], [], [], []
    for k, (t, kind, target, detail) in enumerate(zip(f["time"].to_numpy(dtype=float), f["kind"].astype(str),
                                                      f["target"].astype(str), f["detail"])):
        detail = None if pd.isna(detail) else str(detail)
        if kind in ("link_down", "link_up", "spike", "spike_end"):
            touched: tuple[str, ...] = ends.get(target) or tuple(target.split("~"))
        elif kind == "partition":
            touched = cut[target] = fault_nodes(target, detail, ids)
        elif kind == "heal":
            touched = fault_nodes(target, detail, ids) or cut.pop(target, ())
        else:
            touched = fault_nodes(target, detail, ids)
        for node in touched:
            nodes.append(node)
            times.append(float(t))
            bits.append(_BIT[kind])
            rows.append(k)
    return nodes, times, bits, rows


def node_events(view: TraceView) -> pd.DataFrame:
    """Every step of every node's projection: ``node`` (its index in topology
    order), ``time``, ``table``, ``row`` (in that table) and ``code`` (the atoms'
    bitmask), sorted by node, time, table (:data:`NODE_TABLES` order) and row."""

    def build() -> pd.DataFrame:
        trace = view.trace
        ids = trace.nodes["id"].astype(str).tolist()
        parts: list[tuple[str, list | np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        n, t, b, r = _fault_steps(trace, ids)
        parts.append(("faults", n, np.asarray(t, dtype=float), np.asarray(b, dtype=np.int64), np.asarray(r)))

        def table(name: str, node: pd.Series, *atoms: Any) -> None:
            frame = getattr(trace, name)
            if len(frame):
                parts.append((name, node.astype(str).to_numpy(dtype=object), frame["time"].to_numpy(dtype=float),
                              _bits(*atoms), np.arange(len(frame))))

        d, v, c, k = trace.detections, trace.recoveries, trace.connectivity, trace.decisions
        # Categorical columns: a dict maps their few categories, not every row.
        table("detections", d["node"], d["state"].map(_DETECTOR_ATOMS))
        table("recoveries", v["node"], v["action"].map(_SNAKE),
              v["phase"].map({"done": "recovered", "failed": "recovery_failed"}))
        table("connectivity", c["node"], c["status"].map(_SNAKE), c["level"].map(_SNAKE))
        table("decisions", k["node"], k["decider"], k["action"].map(_SNAKE))
        te = trace.task_events
        te = te[te["event"].isin(_NODE_TASK_EVENTS) & te["node"].notna()]
        if len(te):
            parts.append(("task_events", te["node"].astype(str).to_numpy(dtype=object),
                          te["time"].to_numpy(dtype=float), _bits(te["event"]),
                          np.flatnonzero(trace.task_events["event"].isin(_NODE_TASK_EVENTS)
                                         & trace.task_events["node"].notna())))
        w, le = trace.writes, trace.leases
        table("writes", w["node"], np.where(w["accepted"].to_numpy(dtype=bool), "write", "write_refused"))
        table("leases", le["holder"], le["event"])
        index = {node: i for i, node in enumerate(ids)}
        frame = pd.DataFrame({
            "node": np.concatenate([pd.Series(np.asarray(p[1], dtype=object), dtype=object).map(index).fillna(-1)
                                    .to_numpy(dtype=np.int64) for p in parts]),
            "time": np.concatenate([p[2] for p in parts]),
            "table": np.concatenate([np.full(len(p[2]), p[0], dtype=object) for p in parts]),
            "rank": np.concatenate([np.full(len(p[2]), NODE_TABLES.index(p[0]), dtype=np.int64) for p in parts]),
            "row": np.concatenate([p[4] for p in parts]).astype(np.int64),
            "code": np.concatenate([p[3] for p in parts]).astype(np.int64),
        })
        frame = frame[frame["node"] >= 0]  # a holder or target that is no node of the topology
        order = np.lexsort((frame["row"].to_numpy(), frame["rank"].to_numpy(), frame["time"].to_numpy(),
                            frame["node"].to_numpy()))
        return frame.take(order).reset_index(drop=True).drop(columns="rank")

    return view.cached("node_events", build)


def node_projection(view: TraceView) -> Projection:
    """One trace per node of the topology (in topology order; a node without events
    has an empty trace): one step per record of the fault, detection, recovery,
    connectivity, decision, write and lease tables about it and per ``start``,
    ``end``, ``lost`` and ``cancelled`` of a task on it; atoms :data:`NODE_ATOMS`.
    A node is never closed: on a truncated run liveness obligations still open at the
    horizon are ``inconclusive``."""

    def build() -> Projection:
        ev = node_events(view)
        ids = view.trace.nodes["id"].astype(str).to_numpy(dtype=object)
        offsets = np.append(np.searchsorted(ev["node"].to_numpy(), np.arange(len(ids)), side="left"), len(ev))
        return Projection("node", ids, offsets, NODE_ATOMS, ev["code"].to_numpy(dtype=np.int64),
                          ev["time"].to_numpy(dtype=float), np.ones(len(ids), dtype=bool),
                          np.full(len(ids), -1, dtype=np.int64))

    return view.cached("node_projection", build)


def node_slice(view: TraceView, node: str, time: float, before: int = 12, after: int = 3) -> list[dict[str, Any]]:
    """A node's steps around ``time`` (``before`` up to it, ``after`` following), as
    counterexample records: ``table, time, node, row, what``."""
    ev = node_events(view)
    ids = view.trace.nodes["id"].astype(str).tolist()
    if node not in ids:
        return []
    mine = ev[ev["node"] == ids.index(node)]
    at = int(np.searchsorted(mine["time"].to_numpy(), time, side="right"))
    window = mine.iloc[max(0, at - before):at + after]
    window = window.assign(node=node, what=[_what(code) for code in window["code"].tolist()])
    return records(window[["table", "time", "node", "row", "what"]])


def node_findings(view: TraceView, rows: pd.DataFrame, explanation: pd.Series | np.ndarray) -> pd.DataFrame:
    """Violations of nodes, one per row of ``rows`` (``time``, ``node``, maybe
    ``workflow``), explained by ``explanation``; the earliest of each of the first
    nodes shown carries the node's records around it (:func:`node_slice`)."""
    times = rows["time"].to_numpy(dtype=float)
    nodes = rows["node"].to_numpy(dtype=object)
    order = np.argsort(times, kind="stable")
    first = pd.Series(nodes[order]).drop_duplicates().index[:MAX_COUNTEREXAMPLES]
    events: list[Any] = [None] * len(rows)
    for k in order[first]:
        events[k] = node_slice(view, str(nodes[k]), float(times[k]))
    return pd.DataFrame({
        "entity_kind": "node", "entity": nodes, "time": times, "step": None,
        "explanation": np.asarray(explanation, dtype=object),
        "workflow": rows["workflow"].to_numpy() if "workflow" in rows else np.nan, "events": events,
    })
