"""The Gantt's fault layers: when nodes were down, which rows a partition cut off, when
the failure detector suspected a node, and what edge nodes decided on their own
(from the ``faults``, ``detections`` and ``decisions`` tables, through
:mod:`wfsim.trace.outages`). They draw nothing on runs without those tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection

from wfsim.model.events import FALLBACK_ACTIONS
from wfsim.trace.outages import node_outages, partition_spans, suspicions
from wfsim.trace.trace import Trace
from wfsim.viz.layers import GanttFrame, GanttLayer, register_layer

__all__ = ["DECISION_COLORS", "SUSPICION_COLORS", "Decisions", "Down", "Partitions", "Suspicions"]

#: Colour of each failure-detector suspicion (also the continuum's rings).
SUSPICION_COLORS = {"Partitioned": "#e67e22", "Failed": "#8e0000", "Degraded": "#f1c40f"}
#: Colour of each edge decision: by its own rules (``local``), the cloud's, or a
#: fallback action's.
DECISION_COLORS = {"local": "#27ae60", "cloud": "#95a5a6", **dict(zip(FALLBACK_ACTIONS, (
    "#2980b9", "#8e44ad", "#d35400", "#7f8c8d", "#c0392b", "#16a085")))}


def _row_boxes(frame: GanttFrame, shown: pd.DataFrame, height: float) -> tuple[np.ndarray, np.ndarray]:
    """One box per row of ``shown`` (``node, start, end``) on its node's row, and
    which rows were drawn (their node is shown)."""
    y = frame.y(shown["node"])
    ok = ~np.isnan(y)
    s, e, y = shown["start"].to_numpy(dtype=float)[ok], shown["end"].to_numpy(dtype=float)[ok], y[ok]
    half = height / 2
    boxes = np.stack([np.c_[s, y - half], np.c_[e, y - half], np.c_[e, y + half], np.c_[s, y + half]], axis=1)
    return boxes, ok


@register_layer
class Down(GanttLayer):
    """Node crashes: a dark hatched band over the node's row from its crash to its
    recovery (to the horizon if it never came back)."""

    name = "down"
    tables = ("faults",)

    def build(self, trace: Trace) -> pd.DataFrame:
        return node_outages(trace)

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        boxes, _ = _row_boxes(frame, frame.shown(data), 1.0)
        if len(boxes):
            ax.add_collection(PolyCollection(list(boxes), facecolors="0.1", edgecolors="0.1", hatch="xx",
                                             alpha=0.35, linewidths=0.5, zorder=2.6))
        return len(boxes)


@register_layer
class Partitions(GanttLayer):
    """Network partitions: the rows of the nodes cut off shaded blue for the
    partition's interval."""

    name = "partitions"
    tables = ("faults",)

    def build(self, trace: Trace) -> pd.DataFrame:
        return partition_spans(trace)

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        boxes, _ = _row_boxes(frame, frame.shown(data), 1.0)
        if len(boxes):
            ax.add_collection(PolyCollection(list(boxes), facecolors="#3498db", alpha=0.2, linewidths=0, zorder=1))
        return len(boxes)


@register_layer
class Suspicions(GanttLayer):
    """The failure detector's suspicions: a dashed outline over the node's row while
    it held the node Partitioned (orange) or Failed (dark red)."""

    name = "suspicions"
    tables = ("detections",)

    def build(self, trace: Trace) -> pd.DataFrame:
        return suspicions(trace)

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        boxes, ok = _row_boxes(frame, shown, 0.9)
        if len(boxes):
            colors = [SUSPICION_COLORS.get(state, "0.3") for state in shown["state"].to_numpy()[ok]]
            ax.add_collection(PolyCollection(list(boxes), facecolors="none", edgecolors=colors, linestyles="dashed",
                                             linewidths=1.4, zorder=3))
        return len(boxes)


@register_layer
class Decisions(GanttLayer):
    """Edge decisions: a diamond at the decision's time on the deciding edge node's
    row, coloured by what decided (:data:`DECISION_COLORS`: its own rules, the cloud,
    or the fallback action); follows the workload filter."""

    name = "decisions"
    tables = ("decisions",)

    def build(self, trace: Trace) -> pd.DataFrame:
        k = trace.decisions
        action = k["action"].astype(object).where(k["action"].notna(), k["decider"].astype(str))
        return pd.DataFrame({"workflow": k["workflow"].to_numpy(), "node": k["node"].astype(str).to_numpy(),
                             "start": k["time"].to_numpy(dtype=float), "end": k["time"].to_numpy(dtype=float),
                             "what": action.astype(str).to_numpy()})

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        y = frame.y(shown["node"])
        ok = ~np.isnan(y)
        if ok.any():
            ax.scatter(shown["start"].to_numpy()[ok], y[ok] + 0.3, marker="D", s=16, zorder=4,
                       color=[DECISION_COLORS.get(w, "0.3") for w in shown["what"].to_numpy()[ok]])
        return int(ok.sum())
