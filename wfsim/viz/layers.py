"""Overlays of the trace Gantt: one :class:`GanttLayer` per trace table shown.

A layer names the tables it reads, builds its data once per trace
(:meth:`TraceData.layer <wfsim.viz.data.TraceData.layer>` keeps it) and draws the part
in the visible window on the rows shown. :data:`GANTT_LAYERS` lists them, in drawing
order; :func:`register_layer` adds one, and every view that draws the Gantt (the
``TraceExplorer``, reports) offers it without being edited.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection

from wfsim.trace.trace import Trace
from wfsim.viz.data import successors

__all__ = ["GANTT_LAYERS", "GanttFrame", "GanttLayer", "register_layer"]

#: Most items a layer draws in one window; beyond it, an even sample (every k-th).
MAX_ITEMS = 2000


@dataclass(frozen=True)
class GanttFrame:
    """What the Gantt shows, as a layer needs it.

    Attributes:
        start: Left edge of the visible window (s).
        end: Right edge.
        y_of: Centre y of each node drawn (nodes folded into a tier band map to the
            band's centre); a node missing here is not shown.
        workflows: The workflow ids shown, or None for all.
        highlighted: The selected workflow instance, if any.
    """

    start: float
    end: float
    y_of: Mapping[str, float]
    workflows: frozenset[int] | None = None
    highlighted: int | None = None

    def shown(self, frame: pd.DataFrame, start: str = "start", end: str = "end") -> pd.DataFrame:
        """The rows of ``frame`` overlapping the window (and of the shown workflows,
        when it has a ``workflow`` column), evenly thinned to :data:`MAX_ITEMS`."""
        keep = (frame[start].to_numpy() <= self.end) & (frame[end].to_numpy() >= self.start)
        if self.workflows is not None and "workflow" in frame:
            keep &= frame["workflow"].isin(self.workflows).to_numpy()
        out = frame[keep]
        return out.iloc[::-(-len(out) // MAX_ITEMS)] if len(out) > MAX_ITEMS else out

    def y(self, nodes: pd.Series) -> np.ndarray:
        """The y of each node (NaN where it is not drawn)."""
        return nodes.astype(str).map(self.y_of).to_numpy(dtype=float)


class GanttLayer(ABC):
    """One overlay of the Gantt, built from trace tables.

    Attributes:
        name: Shown on the view's toggle and in the legend.
        tables: The trace tables it reads.
        default: Shown until switched off.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    default: ClassVar[bool] = True

    @abstractmethod
    def build(self, trace: Trace) -> Any:
        """The layer's data, computed once per trace."""

    @abstractmethod
    def draw(self, ax: Axes, data: Any, frame: GanttFrame) -> int:
        """Draw the part of ``data`` in ``frame`` on ``ax``; return how many items."""


#: The registered layers by name, in drawing order.
GANTT_LAYERS: dict[str, GanttLayer] = {}

L = TypeVar("L", bound=type[GanttLayer])


def register_layer(cls: L) -> L:
    """Class decorator: register an instance of ``cls`` in :data:`GANTT_LAYERS`."""
    GANTT_LAYERS[cls.name] = cls()
    return cls


def _arrows(ax: Axes, rows: pd.DataFrame, frame: GanttFrame, color: str, width: float) -> int:
    y0, y1 = frame.y(rows["source"]), frame.y(rows["target"])
    ok = ~(np.isnan(y0) | np.isnan(y1))
    segments = np.stack([np.c_[rows["start"].to_numpy()[ok], y0[ok]], np.c_[rows["end"].to_numpy()[ok], y1[ok]]],
                        axis=1)
    if len(segments):
        ax.add_collection(LineCollection(list(segments), colors=color, linewidths=width, alpha=0.8, zorder=3))
    return len(segments)


@register_layer
class Transfers(GanttLayer):
    """Data transfers between two different nodes: a line from (start, source) to
    (end, target)."""

    name = "transfers"
    tables = ("transfers",)
    default = False  # many thin lines: asked for, not shown by default

    def build(self, trace: Trace) -> pd.DataFrame:
        tr = trace.transfers
        tr = tr[(tr["source"].astype(str) != tr["target"].astype(str)) & tr["end"].notna()]
        return tr[["workflow", "start", "end", "source", "target"]].reset_index(drop=True)

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        return _arrows(ax, frame.shown(data), frame, "0.35", 0.7)


@register_layer
class Migrations(GanttLayer):
    """Task migrations: an arrow-like line from (first phase, source node) to (last
    phase, target node); the checkpointed piece of a running task that migrated is the
    dashed bar before it."""

    name = "migrations"
    tables = ("migrations",)

    def build(self, trace: Trace) -> pd.DataFrame:
        m = trace.migrations
        if m.empty:
            return pd.DataFrame(columns=["migration", "workflow", "task", "source", "target", "start", "end",
                                         "state"])
        first = m.groupby("migration", sort=True)
        return pd.DataFrame({
            "workflow": first["workflow"].first(), "task": first["task"].first().astype(str),
            "source": first["source"].first().astype(str), "target": first["target"].first().astype(str),
            "start": first["time"].min(), "end": first["time"].max(),
            "state": first["state"].last().astype(str),
        }).reset_index()

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        n = _arrows(ax, shown, frame, "#8e44ad", 1.6)
        y = frame.y(shown["source"])
        ax.scatter(shown["start"], y, marker="x", color="#8e44ad", s=18, zorder=4)
        return n


@register_layer
class Allocations(GanttLayer):
    """Allocation changes (a start below the recommended cores, an elastic resize): a
    tick on the node's row at the time of the change."""

    name = "allocations"
    tables = ("allocations",)

    def build(self, trace: Trace) -> pd.DataFrame:
        a = trace.allocations
        return pd.DataFrame({"workflow": a["workflow"].to_numpy(), "node": a["node"].astype(str).to_numpy(),
                             "start": a["time"].to_numpy(), "end": a["time"].to_numpy(),
                             "cores": a["cores"].to_numpy()})

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        ax.scatter(shown["start"], frame.y(shown["node"]) + 0.3, marker="v", s=10, color="black", zorder=4)
        return len(shown)


#: Colours of the health states that are not ``Healthy``.
HEALTH_COLORS = {"Degraded": "#f39c12", "Maintenance": "#7f8c8d", "Unhealthy": "#c0392b"}


@register_layer
class Health(GanttLayer):
    """Node health: a translucent band over the node's row while it is not
    ``Healthy`` (states of kind ``health``)."""

    name = "health"
    tables = ("states",)

    def build(self, trace: Trace) -> pd.DataFrame:
        st = trace.states
        st = st[st["kind"].astype(str) == "health"].sort_values(["entity", "time"], kind="stable")
        node = st["entity"].astype(str).to_numpy()
        times = st["time"].to_numpy(dtype=float)
        same = successors(node, "") == node
        out = pd.DataFrame({"node": node, "state": st["state"].astype(str).to_numpy(), "start": times,
                            "end": np.where(same, successors(times, 0.0), trace.horizon)})
        return out[out["state"] != "Healthy"].reset_index(drop=True)

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        y = frame.y(shown["node"])
        ok = ~np.isnan(y)
        s, e, y = shown["start"].to_numpy()[ok], shown["end"].to_numpy()[ok], y[ok]
        boxes = np.stack([np.c_[s, y - 0.5], np.c_[e, y - 0.5], np.c_[e, y + 0.5], np.c_[s, y + 0.5]], axis=1)
        colors = [HEALTH_COLORS.get(state, "0.5") for state in shown["state"].to_numpy()[ok]]
        if len(boxes):
            ax.add_collection(PolyCollection(list(boxes), facecolors=colors, alpha=0.3, linewidths=0, zorder=1))
        return len(boxes)
