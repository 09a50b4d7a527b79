"""The Gantt's replicated-state layers: the store's health over its replicas' rows, and
each downgrade on the row of the node whose client made it (from the ``health``,
``replicas`` and ``operations`` tables). They draw nothing on runs without them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection

from wfsim.trace.trace import Trace
from wfsim.viz.consistency import HEALTH_COLORS, LEVEL_COLORS, downgrades, health_spans
from wfsim.viz.layers import GanttFrame, GanttLayer, register_layer

__all__ = ["Downgrades", "StoreHealth"]

_HEALTHY = next(iter(HEALTH_COLORS))


@register_layer
class StoreHealth(GanttLayer):
    """The store's health in force while it is not Healthy: a thin band at the top of
    each replica's row, coloured by the state (:data:`~wfsim.viz.consistency.HEALTH_COLORS`)."""

    name = "store health"
    tables = ("health", "replicas")

    def build(self, trace: Trace) -> pd.DataFrame:
        spans = health_spans(trace)
        spans = spans[(spans["row"] == "in force") & (spans["state"] != _HEALTHY)]
        nodes = pd.unique(trace.replicas["node"].astype(str))
        return spans.merge(pd.DataFrame({"node": nodes}), how="cross")[["node", "state", "start", "end"]]

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        y = frame.y(shown["node"])
        ok = ~np.isnan(y)
        s, e, y = shown["start"].to_numpy(dtype=float)[ok], shown["end"].to_numpy(dtype=float)[ok], y[ok]
        boxes = np.stack([np.c_[s, y + 0.3], np.c_[e, y + 0.3], np.c_[e, y + 0.5], np.c_[s, y + 0.5]], axis=1)
        if len(boxes):
            colors = [HEALTH_COLORS.get(state, "0.5") for state in shown["state"].to_numpy()[ok]]
            ax.add_collection(PolyCollection(list(boxes), facecolors=colors, alpha=0.8, linewidths=0, zorder=2.5))
        return len(boxes)


@register_layer
class Downgrades(GanttLayer):
    """Downgrades (a timed-out attempt tried one level down): a downward triangle at
    the time it was tried, on the row of the client's node, coloured by the level it
    went to."""

    name = "downgrades"
    tables = ("operations",)

    def build(self, trace: Trace) -> pd.DataFrame:
        moves = downgrades(trace)
        return pd.DataFrame({"node": moves["node"].to_numpy(), "start": moves["call"].to_numpy(dtype=float),
                             "end": moves["call"].to_numpy(dtype=float), "to": moves["to"].to_numpy()})

    def draw(self, ax: Axes, data: pd.DataFrame, frame: GanttFrame) -> int:
        shown = frame.shown(data)
        y = frame.y(shown["node"])
        ok = ~np.isnan(y)
        if ok.any():
            ax.scatter(shown["start"].to_numpy()[ok], y[ok] - 0.3, marker="v", s=16, zorder=4,
                       color=[LEVEL_COLORS.get(level, "0.3") for level in shown["to"].to_numpy()[ok]])
        return int(ok.sum())
