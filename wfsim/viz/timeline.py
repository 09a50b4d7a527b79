"""The trace Gantt at any scale: task executions on their nodes, with overlays.

:func:`draw_gantt` draws what a :class:`GanttView` asks for from the trace's
:class:`~wfsim.viz.data.TraceData`; the ``TraceExplorer`` widget and reports call it.
Unlike :func:`wfsim.viz.gantt` (a few workflow instances, one bar per task with
labels), it stays fast on 100 000 executions; see :class:`GanttView` for how.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from wfsim.model.enums import Tier
from wfsim.model.events import STOPPED_EARLY
from wfsim.viz.data import TraceData, busy_fraction
from wfsim.viz.figures import TIER_COLORS
from wfsim.viz.layers import GANTT_LAYERS, GanttFrame

__all__ = ["GanttDrawn", "GanttView", "draw_gantt"]


@dataclass(frozen=True)
class GanttView:
    """What the Gantt shows, and the rules that keep it fast.

    Rows: one per node, grouped by tier (devices at the bottom, the cloud on top).
    With more than ``max_rows`` nodes to show, the ``max_rows`` busiest in the window
    keep their own row, as do the selected workflow's nodes, marked nodes and nodes
    whose health changed; the others of each tier fold into one band row per tier
    (``+k Tier``), drawn like one node with their summed cores (a tier with one such node keeps its row).

    Bars: with at most ``max_bars`` executions in the window, each is a bar (one
    ``PolyCollection`` per workload colour, not an artist per task; executions
    overlapping on a node overlap in its row). Beyond that, each row shows the
    fraction of its cores busy in each of ``bins`` time bins (one ``pcolormesh``): the
    core-seconds the executions held (:meth:`Trace.holdings`) over those the nodes had.

    Attributes:
        start: Left edge of the window (s); None: the first execution's start.
        end: Right edge; None: the horizon.
        workloads: Workloads shown (empty: all).
        tiers: Tiers shown (empty: all).
        nodes: Nodes shown (empty: all).
        workflow: The selected workflow instance: its tasks are outlined and its
            critical path drawn in red; the others fade.
        layers: Names of the :data:`~wfsim.viz.layers.GANTT_LAYERS` drawn.
        marks: Events to mark (dicts with ``time`` and optionally ``node``,
            ``workflow``, ``task``, as in ``TraceCounterexample.events``).
        max_rows: Most node rows (see above).
        max_bars: Most individual bars (see above).
        bins: Time bins of the busy-fraction view.
    """

    start: float | None = None
    end: float | None = None
    workloads: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    workflow: int | None = None
    layers: tuple[str, ...] = field(default_factory=lambda: tuple(n for n, la in GANTT_LAYERS.items() if la.default))
    marks: tuple[Mapping[str, Any], ...] = ()
    max_rows: int = 40
    max_bars: int = 5000
    bins: int = 300


@dataclass(frozen=True)
class GanttDrawn:
    """What :func:`draw_gantt` drew.

    Attributes:
        mode: ``bars``, ``bins`` or ``empty``.
        rows: The row labels, bottom up (node ids or ``+k Tier`` bands).
        segments: Executions in the window and filters.
        highlighted: Executions of the selected workflow drawn.
        critical_path: The selected workflow's critical path (task ids).
        layers: Items each layer drew.
        marks: Marks drawn.
        window: The window drawn.
    """

    mode: str
    rows: list[str]
    segments: int
    highlighted: int = 0
    critical_path: list[str] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)
    marks: int = 0
    window: tuple[float, float] = (0.0, 0.0)


def _workload_colors(data: TraceData) -> dict[str, Any]:
    names = [str(w) for w in data.trace.workflows["workload"].cat.categories]
    cmap = colormaps["tab10"]
    return {name: cmap(k % 10) for k, name in enumerate(names)}


def _boxes(start: np.ndarray, end: np.ndarray, y: np.ndarray, height: float) -> np.ndarray:
    return np.stack([np.c_[start, y - height / 2], np.c_[end, y - height / 2],
                     np.c_[end, y + height / 2], np.c_[start, y + height / 2]], axis=1)


def window_of(data: TraceData, view: GanttView) -> tuple[float, float]:
    """The window ``view`` shows (its bounds, or the run's extent)."""
    seg = data.segments
    t0 = view.start if view.start is not None else (float(seg["start"].min()) if len(seg) else 0.0)
    t1 = view.end if view.end is not None else max(data.trace.horizon, t0)
    return (t0, t1) if t1 > t0 else (t0, t0 + 1.0)


def draw_gantt(ax: Axes, data: TraceData, view: GanttView) -> GanttDrawn:
    """Draw the Gantt of ``view`` on ``ax`` (see :class:`GanttView` for the rules).

    Returns:
        What was drawn; an empty selection draws a grey message instead.
    """
    t0, t1 = window_of(data, view)
    keep_rows = np.ones(len(data.rows), dtype=bool)
    if view.tiers:
        keep_rows &= data.rows["tier"].isin(view.tiers).to_numpy()
    if view.nodes:
        keep_rows &= data.rows["node"].isin(view.nodes).to_numpy()

    def in_view(frame: pd.DataFrame) -> pd.DataFrame:
        keep = keep_rows[frame["row"].to_numpy()] & (frame["start"].to_numpy() <= t1) \
            & (frame["end"].to_numpy() >= t0)
        if view.workloads:
            keep &= frame["workload"].isin(view.workloads).to_numpy()
        out: pd.DataFrame = frame[keep]
        return out

    seg = in_view(data.segments)
    if seg.empty and not view.nodes and not view.tiers:
        ax.text(0.5, 0.5, "No task executions in this selection", transform=ax.transAxes, ha="center",
                va="center", color="0.45", fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
        return GanttDrawn("empty", [], 0, window=(t0, t1))

    rows = _fold_rows(data, view, keep_rows, seg, (t0, t1))
    seg = seg.assign(y=seg["row"].map(rows.y_of_row).to_numpy(dtype=float))
    selected = seg["workflow"].to_numpy() == view.workflow if view.workflow is not None else None
    critical = data.critical_path(view.workflow) if view.workflow is not None \
        and view.workflow in data.summary.index else []
    colors = _workload_colors(data)
    if len(seg) > view.max_bars:
        mode, handles = "bins", []
        held = in_view(data.held)
        capacity = data.capacity_spans[keep_rows[data.capacity_spans["row"].to_numpy()]]
        _draw_bins(ax, held, capacity, rows, np.linspace(t0, t1, view.bins + 1))
    else:
        mode, handles = "bars", _draw_bars(ax, seg, selected, colors)
    if selected is not None and selected.any():
        handles.append(_draw_selected(ax, seg[selected], critical, colors, view.workflow))

    workflows = None
    if view.workloads:
        wl = data.trace.workflows
        workflows = frozenset(int(w) for w in wl.loc[wl["workload"].astype(str).isin(view.workloads), "workflow"])
    frame = GanttFrame(t0, t1, rows.y_of, workflows, view.workflow)
    drawn_layers = {}
    for name in view.layers:
        layer = GANTT_LAYERS[name]
        drawn_layers[name] = layer.draw(ax, data.layer(name, layer.build), frame)
        if drawn_layers[name]:
            handles.append(Line2D([], [], color="0.3", label=name))
    marks = _draw_marks(ax, data, view.marks, rows.y_of)
    _decorate(ax, data.rows, rows.drawn, rows.labels, (t0, t1))
    what = "busy fraction of each row's cores" if mode == "bins" else "task executions"
    ax.set_title(f"{len(seg)} task executions in [{t0:g}, {t1:g}] s ({what})", fontsize=10)
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(6, len(handles)),
                  fontsize=8, frameon=False)
    return GanttDrawn(mode, [rows.labels[r] for r in rows.drawn], len(seg),
                      int(selected.sum()) if selected is not None else 0, critical, drawn_layers, marks, (t0, t1))


@dataclass(frozen=True)
class _Rows:
    """The drawn rows: ``drawn`` (row ids bottom up, a band standing for its folded
    nodes), the drawn row of each shown row (``band_of``), its y (``y_of_row``, and by
    node id ``y_of``), and the labels of the drawn rows."""

    drawn: list[int]
    band_of: dict[int, int]
    y_of_row: dict[int, float]
    y_of: dict[str, float]
    labels: dict[int, str]


def _fold_rows(data: TraceData, view: GanttView, keep_rows: np.ndarray, seg: pd.DataFrame,
               window: tuple[float, float]) -> _Rows:
    """The busiest ``max_rows`` nodes (and the pinned ones) keep their rows; the rest
    of each tier fold into a band."""
    shown = np.flatnonzero(keep_rows)
    node_of, tier_of = data.rows["node"].to_numpy(), data.rows["tier"].to_numpy()
    band = pd.Series(shown, index=shown)
    labels = dict(zip(shown.tolist(), node_of[shown].tolist()))
    if len(shown) > view.max_rows:
        busy = (seg["end"].clip(upper=window[1]) - seg["start"].clip(lower=window[0])).groupby(seg["row"]).sum()
        busy = busy[busy > 0]  # idle nodes fold, whatever the cap
        top = busy.sort_values(ascending=False, kind="stable").index[:view.max_rows].to_numpy()
        folding = ~np.isin(shown, np.concatenate([top, _pinned(data, view, seg)]))
        for tier in pd.unique(tier_of[shown[folding]]):
            folded = shown[folding & (tier_of[shown] == tier)]
            if len(folded) > 1:
                band[folded] = folded[-1]  # the band takes the place of the tier's last folded node
                labels[int(folded[-1])] = f"+{len(folded)} {tier}"
    drawn = sorted(set(band.to_numpy().tolist()))
    y_of_band = {r: float(k) for k, r in enumerate(drawn)}
    y_of_row = dict(zip(shown.tolist(), band.map(y_of_band).tolist()))
    return _Rows(drawn, dict(zip(shown.tolist(), band.tolist())), y_of_row,
                 dict(zip(node_of[shown].tolist(), y_of_row.values())), labels)


def _draw_bins(ax: Axes, held: pd.DataFrame, capacity: pd.DataFrame, rows: _Rows, edges: np.ndarray) -> None:
    """Each drawn row's busy fraction per time bin, as one ``pcolormesh``."""
    frac = busy_fraction(held.assign(band=held["row"].map(rows.band_of).to_numpy()),
                         capacity.assign(band=capacity["row"].map(rows.band_of).to_numpy()), rows.drawn, edges)
    mesh = ax.pcolormesh(edges, np.arange(len(rows.drawn) + 1) - 0.5, np.ma.masked_equal(frac, 0.0),
                         cmap="Blues", vmin=0.0, vmax=1.0, zorder=2)
    ax.figure.colorbar(mesh, ax=ax, label="busy fraction of cores", pad=0.12, fraction=0.04)


def _draw_bars(ax: Axes, seg: pd.DataFrame, selected: np.ndarray | None, colors: Mapping[str, Any]) -> list[Any]:
    """One bar per execution, a ``PolyCollection`` per workload (pieces stopped early:
    checkpointed, lost or cancelled, dashed); faded when a workflow is selected. Returns the legend handles."""
    handles: list[Any] = []
    fade = 0.25 if selected is not None else 0.85
    workload = seg["workload"].to_numpy()
    for name, part in seg.groupby("workload", sort=True):
        if selected is not None:
            part = part[~selected[workload == name]]
        solid = ~np.isin(part["stop"].to_numpy(), STOPPED_EARLY)
        for is_solid, piece in ((True, part[solid]), (False, part[~solid])):
            if len(piece):
                ax.add_collection(PolyCollection(
                    list(_boxes(piece["start"].to_numpy(), piece["end"].to_numpy(), piece["y"].to_numpy(), 0.7)),
                    facecolors=colors.get(str(name), "0.5"), alpha=fade, edgecolors="none" if is_solid else "black",
                    linestyles="solid" if is_solid else "dashed", linewidths=0.8, zorder=2))
        handles.append(Patch(color=colors.get(str(name), "0.5"), label=str(name)))
    return handles


def _draw_selected(ax: Axes, mine: pd.DataFrame, critical: Sequence[str], colors: Mapping[str, Any],
                   workflow: int | None) -> Any:
    """The selected workflow's executions outlined, its critical path in red."""
    on_path = mine["task"].isin(critical).to_numpy()
    for part, edge, width in ((mine[~on_path], "black", 1.0), (mine[on_path], "red", 2.2)):
        if len(part):
            ax.add_collection(PolyCollection(
                list(_boxes(part["start"].to_numpy(), part["end"].to_numpy(), part["y"].to_numpy(), 0.8)),
                facecolors=[colors.get(str(w), "0.5") for w in part["workload"]], edgecolors=edge,
                linestyles=["dashed" if s in STOPPED_EARLY else "solid" for s in part["stop"]],
                linewidths=width, zorder=5))
    return Patch(facecolor="white", edgecolor="red", linewidth=2, label=f"#{workflow} critical path")


def _pinned(data: TraceData, view: GanttView, seg: pd.DataFrame) -> np.ndarray:
    """Rows that never fold: the selected workflow's nodes, marked nodes, nodes whose
    health changed, nodes that crashed, were partitioned or were suspected."""
    nodes = [str(e["node"]) for e in view.marks if pd.notna(e.get("node"))]
    rows = data.row_of.reindex(nodes).dropna().to_numpy(dtype=np.int64)
    mine = seg.loc[seg["workflow"] == view.workflow, "row"].to_numpy(dtype=np.int64) \
        if view.workflow is not None else np.empty(0, dtype=np.int64)
    return np.concatenate([rows, mine, data.health_changes["row"].dropna().to_numpy(dtype=np.int64),
                           data.fault_rows])


def _draw_marks(ax: Axes, data: TraceData, events: Sequence[Mapping[str, Any]], y_of: Mapping[str, float]) -> int:
    """A red star at each event's (time, node row); a red dotted line when its row is
    unknown (a workflow's lifecycle event, a node not shown)."""
    if not events:
        return 0
    seg = data.segments
    points, lines = [], []
    for event in events:
        time = event.get("time")
        if time is None or pd.isna(time):
            continue
        node = event.get("node", event.get("source"))  # a migration's row: where it left
        if pd.isna(node) and pd.notna(event.get("workflow")) and pd.notna(event.get("task")):
            # A task event without its node: the node the task ran on at that time.
            mine = seg[(seg["workflow"] == event["workflow"]) & (seg["task"] == str(event["task"]))]
            node = mine["node"].iloc[0] if len(mine) else None
        y = None if pd.isna(node) else y_of.get(str(node))
        (points.append((float(time), y)) if y is not None else lines.append(float(time)))
    if points:
        xs, ys = zip(*points)
        ax.scatter(xs, ys, marker="*", s=120, color="red", edgecolors="black", linewidths=0.6, zorder=6)
    for time in lines:
        ax.axvline(time, color="red", linewidth=1.2, linestyle=":", zorder=6)
    return len(points) + len(lines)


def _decorate(ax: Axes, rows: pd.DataFrame, drawn: list[int], labels: Mapping[int, str],
              window: tuple[float, float]) -> None:
    """Row labels, tier shading and names, axes limits."""
    groups: list[list[Any]] = []  # [tier, first row, last row]: rows are grouped by tier
    for k, tier in enumerate(rows["tier"].to_numpy()[drawn]):
        if groups and groups[-1][0] == tier:
            groups[-1][2] = k
        else:
            groups.append([tier, k, k])
    for g, (tier, lo, hi) in enumerate(groups):
        if g % 2 == 0:
            ax.axhspan(lo - 0.5, hi + 0.5, color="0.95", zorder=0, linewidth=0)
        ax.text(1.005, (lo + hi) / 2, str(tier), transform=ax.get_yaxis_transform(), fontsize=8, va="center",
                ha="left", fontweight="bold", color=TIER_COLORS[Tier.parse(str(tier))])
    fontsize = 8 if len(drawn) <= 30 else 6
    ax.set_yticks(range(len(drawn)), [labels[r] for r in drawn], fontsize=fontsize)
    ax.set_ylim(-0.5, max(len(drawn), 1) - 0.5)
    ax.set_xlim(*window)
    ax.set_xlabel("simulated time (s)")
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
