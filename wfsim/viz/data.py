"""Figure data of a trace, computed once per trace and shared by widgets and reports.

:func:`figure_data` returns the :class:`TraceData` of a trace, built on first use and
kept while the trace lives: the Gantt rows and execution segments, the critical path
of a workflow instance, the continuum's layout by tier, and node load, capacity,
health, link usage, crashes, suspicions and links down at any time
(:class:`StepSeries`: one ``searchsorted`` and one ``bincount`` per query, no loop over
events).
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from wfsim.model.enums import HealthStatus, NodeState, Tier
from wfsim.model.events import SEGMENT_ENDS
from wfsim.trace.outages import link_outages, node_outages, partition_spans, suspicions
from wfsim.trace.trace import Trace

__all__ = ["HEALTH_CODES", "SUSPICION_CODES", "ContinuumLayout", "StepSeries", "TraceData", "figure_data",
           "successors"]

#: Health states by severity: the code a :class:`StepSeries` of health carries.
HEALTH_CODES: dict[str, int] = {s.value: k for k, s in enumerate(
    [HealthStatus.HEALTHY, HealthStatus.DEGRADED, HealthStatus.MAINTENANCE, HealthStatus.UNHEALTHY])}

#: The failure detector's states by severity: the code :attr:`TraceData.suspected` carries.
SUSPICION_CODES: dict[str, int] = {s.value: k for k, s in enumerate(
    [NodeState.HEALTHY, NodeState.DEGRADED, NodeState.PARTITIONED, NodeState.FAILED])}

#: The figure data of every trace some view still uses, by the trace's id (a
#: TraceData holds its trace, so the id is not reused while the entry exists).
_CACHE: weakref.WeakValueDictionary[int, TraceData] = weakref.WeakValueDictionary()
#: The last few used, kept even when no view holds them (a report drawn after a widget).
_RECENT: deque[TraceData] = deque(maxlen=4)


def figure_data(trace: Trace) -> TraceData:
    """The figure data of ``trace``: built on first call, the same object afterwards
    while a view holds it or it is among the four traces used last."""
    data = _CACHE.get(id(trace))
    if data is None or data.trace is not trace:
        data = TraceData(trace)
        _CACHE[id(trace)] = data
    if not _RECENT or _RECENT[-1] is not data:
        _RECENT.append(data)
    return data


def successors(values: np.ndarray, fill: Any) -> np.ndarray:
    """Each element's successor in ``values`` (``fill`` for the last), same length."""
    return np.concatenate([values[1:], np.asarray([fill], dtype=values.dtype)])[:len(values)]


@dataclass(frozen=True)
class StepSeries:
    """Values of ``n`` entities (nodes, links) that change at recorded times.

    Stored as changes sorted by time; :meth:`at` sums the changes up to ``t`` per
    entity with one ``searchsorted`` and one ``bincount``.

    Attributes:
        times: Times of the changes, sorted.
        index: Entity of each change.
        delta: Change of the entity's value at that time.
        initial: Each entity's value before any change.
    """

    times: np.ndarray
    index: np.ndarray
    delta: np.ndarray
    initial: np.ndarray

    def at(self, t: float) -> np.ndarray:
        """Every entity's value at time ``t`` (changes at ``t`` included)."""
        k = int(np.searchsorted(self.times, t, side="right"))
        return self.initial + np.bincount(self.index[:k], weights=self.delta[:k], minlength=len(self.initial))

    @classmethod
    def of_intervals(cls, start: np.ndarray, end: np.ndarray, index: np.ndarray, amount: np.ndarray,
                     n: int) -> StepSeries:
        """The sum of ``amount`` over the intervals ``[start, end)`` open at each time."""
        times = np.concatenate([start, end]).astype(float)
        order = np.argsort(times, kind="stable")
        return cls(times[order], np.concatenate([index, index]).astype(np.int64)[order],
                   np.concatenate([amount, -amount]).astype(float)[order], np.zeros(n))

    @classmethod
    def of_changes(cls, times: np.ndarray, index: np.ndarray, values: np.ndarray,
                   initial: np.ndarray) -> StepSeries:
        """The latest of ``values`` set on each entity (``initial`` before any)."""
        order = np.lexsort((times, index))  # by entity, then time: a change's previous value
        times, index, values = times[order], index[order].astype(np.int64), values[order].astype(float)
        previous = np.where(np.r_[True, index[1:] != index[:-1]], initial[index], np.r_[0.0, values[:-1]])
        by_time = np.argsort(times, kind="stable")
        return cls(times[by_time], index[by_time], (values - previous)[by_time], initial.astype(float))


@dataclass(frozen=True)
class ContinuumLayout:
    """Positions of the continuum's nodes, tiers as horizontal layers (cloud on top).

    With more than ``max_devices`` devices (leaf nodes below their one neighbour's
    tier), the devices of each parent are drawn as one unit ``"<k> devices @ parent"``.

    Attributes:
        units: The units drawn, in layout order.
        unit_of: Index into ``units`` of each node, in ``TraceData.rows`` order.
        tier: Each unit's tier.
        pos: ``(len(units), 2)`` positions.
        links: ``(m, 2)`` unit indices of the links drawn (merged links once).
        link_of: Index into ``links`` of each link of the trace's ``links`` table
            (-1: a link inside a unit, not drawn).
        grouped: Whether devices were aggregated.
    """

    units: list[str]
    unit_of: np.ndarray
    tier: list[str]
    pos: np.ndarray
    links: np.ndarray
    link_of: np.ndarray
    grouped: bool


class TraceData:
    """The data the trace views draw, each part computed on first use and kept.

    Its parts are ``cached_property``: a widget and a report drawing from the same
    trace share them (:func:`figure_data`).

    Attributes:
        trace: The trace.
    """

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._layers: dict[str, Any] = {}
        self._layouts: dict[int, ContinuumLayout] = {}

    def layer(self, name: str, build: Any) -> Any:
        """``build(trace)`` computed once per layer name (the Gantt layers' data)."""
        if name not in self._layers:
            self._layers[name] = build(self.trace)
        return self._layers[name]

    # --- rows and segments ------------------------------------------------------------
    @cached_property
    def rows(self) -> pd.DataFrame:
        """One row per node: ``node, tier, cores``, ordered by tier (LocalDevice
        first, the Gantt's bottom row) then topology order; the index is the row."""
        nodes = self.trace.nodes.reset_index(drop=True)
        tier = nodes["tier"].astype(str)
        rank = tier.map(lambda t: Tier.parse(t).order).to_numpy()
        order = np.lexsort((np.arange(len(nodes)), rank))
        return pd.DataFrame({"node": nodes["id"].astype(str).to_numpy()[order], "tier": tier.to_numpy()[order],
                             "cores": nodes["cores"].to_numpy(dtype=float)[order]})

    @cached_property
    def row_of(self) -> pd.Series:
        """Row of each node id."""
        return pd.Series(self.rows.index.to_numpy(), index=self.rows["node"])

    @cached_property
    def segments(self) -> pd.DataFrame:
        """One row per execution of a task on a node: ``workflow, workload, task, node,
        row, tier, start, end, stop, cores`` (the spec's cores) where ``stop`` says how it ended: ``end``,
        ``checkpointed`` (the task migrated and resumed elsewhere: a later segment),
        ``lost`` (its node crashed), ``cancelled`` (a spare replica), ``failed``, or
        ``open`` (still running at the horizon, drawn up to it). A start is closed by
        the next of these events of the same task on the same node (replicas run at
        once on several)."""
        trace = self.trace
        ev = trace.task_events
        ev = ev[ev["event"].isin(["start", *SEGMENT_ENDS, "failed"])]
        ev = ev.sort_values(["workflow", "task", "time"], kind="stable")
        ev = ev.assign(_pos=np.arange(len(ev))).sort_values(["workflow", "task", "node"], kind="stable")
        event = ev["event"].astype(str).to_numpy()
        workflow, task = ev["workflow"].to_numpy(), ev["task"].cat.codes.to_numpy()
        node = ev["node"].cat.codes.to_numpy()
        same = ((successors(workflow, -1) == workflow) & (successors(task, -1) == task)
                & (successors(node, -2) == node))
        nxt_event = successors(event, "start")
        closed = same & (nxt_event != "start")
        starts = event == "start"
        times = ev["time"].to_numpy(dtype=float)
        seg = pd.DataFrame({
            "workflow": workflow[starts], "task": ev["task"].astype(str).to_numpy()[starts],
            "node": ev["node"].astype(str).to_numpy()[starts], "start": times[starts],
            "end": np.where(closed, successors(times, np.nan), trace.horizon)[starts],
            "stop": np.where(closed, nxt_event, "open")[starts],
            "_pos": ev["_pos"].to_numpy()[starts],
        }).sort_values("_pos", kind="stable").drop(columns="_pos").reset_index(drop=True)
        workload = trace.workflows.set_index("workflow")["workload"].astype(str)
        seg["workload"] = workload.reindex(seg["workflow"]).to_numpy()
        seg["row"] = self.row_of.reindex(seg["node"]).to_numpy()
        seg["tier"] = self.rows["tier"].to_numpy()[seg["row"].to_numpy()]
        specs = trace.task_specs.set_index(["definition", "task"])["cores"]
        definition = trace.workflows.set_index("workflow")["definition"].reindex(seg["workflow"]).to_numpy()
        seg["cores"] = specs.reindex(pd.MultiIndex.from_arrays([definition, seg["task"]])).to_numpy(dtype=float)
        return seg[["workflow", "workload", "task", "node", "row", "tier", "start", "end", "stop", "cores"]]

    @cached_property
    def held(self) -> pd.DataFrame:
        """:meth:`Trace.holdings` (the cores each execution held, piece by piece) with
        ``workload`` and ``row`` columns: what busy fractions are computed from."""
        held = self.trace.holdings()
        workload = self.trace.workflows.set_index("workflow")["workload"].astype(str)
        return held.assign(workload=workload.reindex(held["workflow"]).to_numpy(),
                           row=self.row_of.reindex(held["node"].astype(str)).to_numpy())

    # --- workflows ----------------------------------------------------------------------
    @cached_property
    def summary(self) -> pd.DataFrame:
        """:meth:`Trace.workflow_summary` indexed by workflow id."""
        return self.trace.workflow_summary().set_index("workflow")

    @cached_property
    def executions(self) -> pd.DataFrame:
        """:meth:`Trace.executions` (one row per task instance)."""
        return self.trace.executions()

    def critical_path(self, workflow: int) -> list[str]:
        """The chain of tasks that determined the workflow instance's completion.

        From the task that ended last, walk back through the definition's
        dependencies (a networkx DAG of ``task_edges``), each time to the predecessor
        that ended last: the input the task waited for longest. Tasks that did not end
        are left out.

        Raises:
            KeyError: ``workflow`` is not in the trace.
        """
        trace = self.trace
        definition = self.summary.at[workflow, "definition"]
        ex = self.executions
        ended = ex[(ex["workflow"] == workflow) & ex["end"].notna()]
        if ended.empty:
            return []
        end = dict(zip(ended["task"].astype(str), ended["end"].astype(float)))
        edges = trace.task_edges[trace.task_edges["definition"] == definition]
        dag = nx.DiGraph(list(zip(edges["source"].astype(str), edges["target"].astype(str))))
        task = max(end, key=lambda k: end[k])
        path = [task]
        while dag.has_node(task):
            before = [p for p in dag.predecessors(task) if p in end]
            if not before:
                break
            task = max(before, key=lambda k: end[k])
            path.append(task)
        return path[::-1]

    # --- the continuum at time t --------------------------------------------------------
    @cached_property
    def busy_cores(self) -> StepSeries:
        """Cores held on each node (row order) over time, from :meth:`Trace.holdings`."""
        held = self.held
        return StepSeries.of_intervals(held["start"].to_numpy(), held["end"].to_numpy(), held["row"].to_numpy(),
                                       held["cores"].to_numpy(dtype=float), len(self.rows))

    @cached_property
    def capacity(self) -> StepSeries:
        """Each node's cores over time: its spec, then the ``capacity`` states."""
        st = self.trace.states
        st = st[st["kind"].astype(str) == "capacity"]
        return StepSeries.of_changes(st["time"].to_numpy(dtype=float),
                                     self.row_of.reindex(st["entity"].astype(str)).to_numpy(),
                                     pd.to_numeric(st["state"].astype(str)).to_numpy(dtype=float),
                                     self.rows["cores"].to_numpy(dtype=float))

    @cached_property
    def capacity_spans(self) -> pd.DataFrame:
        """Each node's cores as intervals ``row, start, end, cores``: its spec from 0,
        then each ``capacity`` state until the next (the last until the horizon)."""
        st = self.trace.states
        st = st[st["kind"].astype(str) == "capacity"]
        spans = pd.concat([
            pd.DataFrame({"row": self.rows.index.to_numpy(), "start": 0.0, "cores": self.rows["cores"].to_numpy()}),
            pd.DataFrame({"row": self.row_of.reindex(st["entity"].astype(str)).to_numpy(),
                          "start": st["time"].to_numpy(dtype=float),
                          "cores": pd.to_numeric(st["state"].astype(str)).to_numpy(dtype=float)}),
        ], ignore_index=True).sort_values(["row", "start"], kind="stable")
        row = spans["row"].to_numpy()
        same = successors(row, -1) == row
        end = np.where(same, successors(spans["start"].to_numpy(), 0.0), max(self.trace.horizon, 0.0))
        return spans.assign(end=end).reset_index(drop=True)

    def load_at(self, t: float) -> np.ndarray:
        """Busy cores / current cores of every node (row order) at time ``t``."""
        cores = self.capacity.at(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(cores > 0, np.clip(self.busy_cores.at(t), 0.0, None) / cores, 0.0)

    @cached_property
    def health(self) -> StepSeries:
        """Each node's health code (:data:`HEALTH_CODES`) over time; all start Healthy."""
        st = self.health_changes
        return StepSeries.of_changes(st["time"].to_numpy(dtype=float), st["row"].to_numpy(),
                                     st["state"].map(HEALTH_CODES).to_numpy(dtype=float), np.zeros(len(self.rows)))

    @cached_property
    def health_changes(self) -> pd.DataFrame:
        """The ``health`` states: ``time, node, row, state``."""
        st = self.trace.states
        st = st[st["kind"].astype(str) == "health"]
        node = st["entity"].astype(str)
        return pd.DataFrame({"time": st["time"].to_numpy(dtype=float), "node": node.to_numpy(),
                             "row": self.row_of.reindex(node).to_numpy(),
                             "state": st["state"].astype(str).to_numpy()})

    def health_at(self, t: float) -> list[str]:
        """Every node's health (row order) at time ``t``."""
        names = list(HEALTH_CODES)
        return [names[round(c)] for c in self.health.at(t)]

    @cached_property
    def link_load(self) -> StepSeries:
        """Estimated utilisation of each link (``links`` order) over time: every
        ``link_usage`` row adds ``bytes / (end − start) / bandwidth`` while it is on
        the link (its time on the link includes the propagation delay, so this
        underestimates the rate of short transfers)."""
        use, links = self.trace.link_usage, self.trace.links
        index = pd.Series(np.arange(len(links)), index=links["link"].astype(str))
        link = index.reindex(use["link"].astype(str)).to_numpy()
        bandwidth = links["bandwidth"].to_numpy(dtype=float)[link]
        span = (use["end"] - use["start"]).to_numpy(dtype=float)
        rate = np.where(span > 0, use["bytes"].to_numpy(dtype=float) / np.where(span > 0, span, 1.0), 0.0)
        return StepSeries.of_intervals(use["start"].to_numpy(), use["end"].to_numpy(), link,
                                       rate / bandwidth, len(links))

    @cached_property
    def link_transfers(self) -> StepSeries:
        """Transfers in flight on each link (``links`` order) over time."""
        use, links = self.trace.link_usage, self.trace.links
        index = pd.Series(np.arange(len(links)), index=links["link"].astype(str))
        link = index.reindex(use["link"].astype(str)).to_numpy()
        return StepSeries.of_intervals(use["start"].to_numpy(), use["end"].to_numpy(), link,
                                       np.ones(len(use)), len(links))

    # --- faults at time t -----------------------------------------------------------------
    @cached_property
    def has_faults(self) -> bool:
        """Whether the trace records faults or failure-detector changes."""
        return bool(len(self.trace.faults) or len(self.trace.detections))

    @cached_property
    def down(self) -> StepSeries:
        """Crashes in progress on each node (row order) over time
        (:func:`~wfsim.trace.outages.node_outages`; one still open stays to the end)."""
        spans = node_outages(self.trace)
        end = np.where(spans["open"].to_numpy(dtype=bool), np.inf, spans["end"].to_numpy(dtype=float))
        return StepSeries.of_intervals(spans["start"].to_numpy(dtype=float), end,
                                       self.row_of.reindex(spans["node"]).to_numpy(dtype=np.int64),
                                       np.ones(len(spans)), len(self.rows))

    @cached_property
    def suspected(self) -> StepSeries:
        """Each node's failure-detector state (:data:`SUSPICION_CODES`, row order) over
        time; every node Healthy until its first ``detections`` row."""
        d = self.trace.detections
        return StepSeries.of_changes(d["time"].to_numpy(dtype=float),
                                     self.row_of.reindex(d["node"].astype(str)).to_numpy(dtype=np.int64),
                                     d["state"].astype(str).map(SUSPICION_CODES).to_numpy(dtype=float),
                                     np.zeros(len(self.rows)))

    @cached_property
    def link_down_spans(self) -> pd.DataFrame:
        """Every interval a link (``links`` order: ``link``) was cut: its own outages,
        a partition's boundary (one end inside, one outside) and a crashed end; ``link,
        start, end`` (``inf`` for an interval open at the end of the run)."""
        trace, links = self.trace, self.trace.links
        a, b = links["a"].astype(str).to_numpy(), links["b"].astype(str).to_numpy()
        index = pd.Series(np.arange(len(links)), index=links["link"].astype(str))

        def ends(spans: pd.DataFrame) -> np.ndarray:
            return np.where(spans["open"].to_numpy(dtype=bool), np.inf, spans["end"].to_numpy(dtype=float))

        own = link_outages(trace)
        parts = [pd.DataFrame({"link": index.reindex(own["link"]).to_numpy(), "start": own["start"], "end": ends(own)})]
        for (_, start), span in partition_spans(trace).groupby(["partition", "start"], sort=False):
            inside = set(span["node"])
            cut = np.flatnonzero(np.isin(a, list(inside)) != np.isin(b, list(inside)))
            parts.append(pd.DataFrame({"link": cut, "start": start, "end": ends(span.iloc[:1])[0]}))
        crashed = node_outages(trace)
        for node, start, end in zip(crashed["node"], crashed["start"], ends(crashed)):
            touching = np.flatnonzero((a == node) | (b == node))
            parts.append(pd.DataFrame({"link": touching, "start": start, "end": end}))
        out = pd.concat(parts, ignore_index=True).dropna(subset=["link"])
        return out.astype({"link": np.int64, "start": float, "end": float})

    @cached_property
    def links_down(self) -> StepSeries:
        """How many causes hold each link (``links`` order) down over time (from
        :attr:`link_down_spans`): a link is down where this is positive."""
        spans = self.link_down_spans
        return StepSeries.of_intervals(spans["start"].to_numpy(), spans["end"].to_numpy(), spans["link"].to_numpy(),
                                       np.ones(len(spans)), len(self.trace.links))

    @cached_property
    def fault_rows(self) -> np.ndarray:
        """Rows of the nodes that crashed, were partitioned or were suspected."""
        nodes = pd.concat([node_outages(self.trace)["node"], partition_spans(self.trace)["node"],
                           suspicions(self.trace)["node"]])
        return self.row_of.reindex(pd.unique(nodes.astype(str))).dropna().to_numpy(dtype=np.int64)

    def layout(self, max_devices: int = 60) -> ContinuumLayout:
        """The continuum's layout by tier (networkx ``multipartite_layout``), devices
        aggregated per parent beyond ``max_devices``; cached per ``max_devices``."""
        if max_devices not in self._layouts:
            self._layouts[max_devices] = _layout(self.rows, self.trace.links, max_devices)
        return self._layouts[max_devices]


def _layout(rows: pd.DataFrame, links: pd.DataFrame, max_devices: int) -> ContinuumLayout:
    rank = {n: Tier.parse(t).order for n, t in zip(rows["node"], rows["tier"])}
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(rows["node"])
    graph.add_edges_from(zip(links["a"].astype(str), links["b"].astype(str)))
    # A device: a leaf below its one neighbour's tier.
    parent = {n: next(iter(graph[n])) for n in graph if graph.degree(n) == 1
              and rank[next(iter(graph[n]))] > rank[n]}
    grouped = len(parent) > max_devices
    counts = pd.Series(list(parent.values())).value_counts() if grouped else pd.Series(dtype=int)
    unit_name = {n: (f"{counts[parent[n]]} devices @ {parent[n]}" if grouped and n in parent else n)
                 for n in rows["node"]}
    tiers = dict(zip(rows["node"], rows["tier"]))
    # Units top tier first, breadth-first from the top, so each tier's units sit under
    # their parents.
    highest = max(rank.values(), default=0)
    tops = [n for n in rows["node"][::-1] if rank[n] == highest]
    reached = [n for layer in nx.bfs_layers(graph, tops) for n in layer] if tops else []
    seen = set(reached)
    order = list(dict.fromkeys(unit_name[n] for n in [*reached, *(n for n in rows["node"] if n not in seen)]))
    unit_tier = {unit_name[n]: tiers[n] for n in rows["node"]}
    layers: dict[int, list[str]] = {}
    for unit in order:
        layers.setdefault(Tier.parse(unit_tier[unit]).order, []).append(unit)
    index = {u: k for k, u in enumerate(order)}
    pairs: dict[tuple[str, str], int] = {}
    link_of = []
    for a, b in zip(links["a"].astype(str), links["b"].astype(str)):
        ua, ub = unit_name[a], unit_name[b]
        if ua == ub:
            link_of.append(-1)
            continue
        key = (ua, ub) if index[ua] < index[ub] else (ub, ua)
        link_of.append(pairs.setdefault(key, len(pairs)))
    # Layers given as ordered lists: multipartite_layout keeps their order.
    units: nx.Graph = nx.Graph()
    units.add_nodes_from(order)
    pos = nx.multipartite_layout(units, subset_key=layers, align="horizontal")
    return ContinuumLayout(
        units=order, unit_of=np.array([index[unit_name[n]] for n in rows["node"]], dtype=np.int64),
        tier=[unit_tier[u] for u in order], pos=np.array([pos[u] for u in order]).reshape(-1, 2),
        links=np.array([[index[a], index[b]] for a, b in pairs], dtype=np.int64).reshape(-1, 2),
        link_of=np.array(link_of, dtype=np.int64), grouped=grouped)


def _integrals(start: np.ndarray, end: np.ndarray, weight: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The integral of ``sum(weight · 1[start <= x < end])`` over each bin of ``edges``."""
    s_order, e_order = np.argsort(start, kind="stable"), np.argsort(end, kind="stable")
    s, e = start[s_order], end[e_order]
    cs_w, cs_ws = np.r_[0.0, np.cumsum(weight[s_order])], np.r_[0.0, np.cumsum(weight[s_order] * s)]
    ce_w, ce_we = np.r_[0.0, np.cumsum(weight[e_order])], np.r_[0.0, np.cumsum(weight[e_order] * e)]
    i, j = np.searchsorted(s, edges, side="right"), np.searchsorted(e, edges, side="right")
    # Up to t: the started intervals count w·(t − start), minus w·(t − end) for the ended.
    return np.diff(edges * cs_w[i] - cs_ws[i] - (edges * ce_w[j] - ce_we[j]))


def _by_band(frame: pd.DataFrame) -> Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A function giving the ``start, end, cores`` arrays of one band of ``frame``
    (sorted by band once, then sliced)."""
    band = frame["band"].to_numpy()
    order = np.argsort(band, kind="stable")
    band = band[order]
    start, end, cores = (frame[c].to_numpy(dtype=float)[order] for c in ("start", "end", "cores"))

    def of(row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(band, row, side="left"), np.searchsorted(band, row, side="right")
        return start[lo:hi], end[lo:hi], cores[lo:hi]

    return of


def busy_fraction(held: pd.DataFrame, capacity: pd.DataFrame, rows: Sequence[int], edges: np.ndarray) -> np.ndarray:
    """Fraction of each drawn row's cores busy in each time bin: busy core-seconds over
    the core-seconds the row's nodes had (autoscaling changes them).

    Args:
        held: Rows of :attr:`TraceData.held` with a ``band`` column (the drawn row
            each belongs to).
        capacity: Rows of :attr:`TraceData.capacity_spans`, with ``band`` likewise.
        rows: The drawn rows (values of ``band``), in order.
        edges: Bin edges (sorted).

    Returns:
        ``(len(rows), len(edges) - 1)`` fractions (0 where a row had no cores).
    """
    out = np.zeros((len(rows), len(edges) - 1))
    busy, had = _by_band(held), _by_band(capacity)
    for k, row in enumerate(rows):
        done = _integrals(*busy(row), edges)
        available = _integrals(*had(row), edges)
        out[k] = np.divide(done, available, out=np.zeros_like(done), where=available > 0)
    # The differences of cumulative sums leave rounding noise around 0.
    return np.where(np.abs(out) < 1e-9, 0.0, out)
