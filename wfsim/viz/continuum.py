"""The continuum at one instant: nodes by tier, coloured by load, edged by health,
links by their estimated utilisation; on runs with faults, crashed nodes crossed,
suspected ones ringed and links that are down dashed red (from the ``faults`` and
``detections`` tables). The ``TopologyView`` widget and reports draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from wfsim.model.enums import Tier
from wfsim.viz.data import HEALTH_CODES, SUSPICION_CODES, TraceData
from wfsim.viz.fault_layers import SUSPICION_COLORS
from wfsim.viz.figures import TIER_COLORS
from wfsim.viz.layers import HEALTH_COLORS

__all__ = ["LINK_DOWN_COLOR", "ContinuumDrawn", "draw_continuum"]

#: Edge colour of each health state's marker.
_HEALTH_EDGE = {"Healthy": "#2e7d32", **HEALTH_COLORS}
#: Colour of a link that is down.
LINK_DOWN_COLOR = "#d62728"


@dataclass(frozen=True)
class ContinuumDrawn:
    """What :func:`draw_continuum` drew, unit by unit (a node, or a parent's devices).

    Attributes:
        time: The instant.
        units: Unit names, in layout order.
        load: Busy cores / cores of each unit.
        health: Worst health of each unit.
        link_load: Estimated utilisation of each drawn link (the busiest of merged ones).
        link_transfers: Transfers in flight on each drawn link (summed over merged ones).
        down: Whether each unit is crashed (any of its nodes).
        suspected: The failure detector's worst state of each unit's nodes.
        links_down: Whether each drawn link is down (any of the links merged into it):
            its own outage, a partition's boundary or a crashed end.
    """

    time: float
    units: list[str]
    load: np.ndarray
    health: list[str]
    link_load: np.ndarray
    link_transfers: np.ndarray
    down: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    suspected: list[str] = field(default_factory=list)
    links_down: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def draw_continuum(ax: Axes, data: TraceData, time: float, *, max_devices: int = 60,
                   labels: bool | None = None) -> ContinuumDrawn:
    """Draw the continuum at ``time`` on ``ax``.

    Nodes sit in tiers (cloud on top, networkx ``multipartite_layout``); fill colour is
    the load (busy cores / current cores), the marker's edge the health, a link's width
    and colour its estimated utilisation (:attr:`TraceData.link_load`). With more than
    ``max_devices`` devices, each parent's devices are one unit (their summed load, worst
    health), drawn larger. On a run with faults (:attr:`TraceData.has_faults`), a
    crashed unit is crossed, a suspected one ringed in its detector state's colour
    (dashed), a link that is down dashed red, and the legend says so.

    Args:
        ax: Axes to draw on.
        data: The trace's figure data.
        time: The instant (s).
        max_devices: Devices drawn one by one at most.
        labels: Write unit names; None: when there are at most 40 units.
    """
    layout = data.layout(max_devices)
    n = len(layout.units)
    if n == 0:
        ax.text(0.5, 0.5, "No nodes in this trace", transform=ax.transAxes, ha="center", va="center", color="0.45")
        ax.set_axis_off()
        return ContinuumDrawn(time, [], np.zeros(0), [], np.zeros(0), np.zeros(0))
    busy = np.bincount(layout.unit_of, weights=np.clip(data.busy_cores.at(time), 0.0, None), minlength=n)
    cores = np.bincount(layout.unit_of, weights=data.capacity.at(time), minlength=n)
    load = np.divide(busy, cores, out=np.zeros(n), where=cores > 0)
    worst = np.zeros(n)
    np.maximum.at(worst, layout.unit_of, data.health.at(time))
    names = list(HEALTH_CODES)
    health = [names[round(c)] for c in worst]
    m = len(layout.links)
    drawn = layout.link_of >= 0
    link_load = np.zeros(m)
    np.maximum.at(link_load, layout.link_of[drawn], data.link_load.at(time)[drawn])
    link_transfers = np.bincount(layout.link_of[drawn], weights=data.link_transfers.at(time)[drawn], minlength=m)
    down = np.bincount(layout.unit_of, weights=data.down.at(time) > 0, minlength=n) > 0
    suspicion = np.zeros(n)
    np.maximum.at(suspicion, layout.unit_of, data.suspected.at(time))
    states = list(SUSPICION_CODES)
    suspected = [states[round(c)] for c in suspicion]
    links_down = np.bincount(layout.link_of[drawn], weights=data.links_down.at(time)[drawn] > 0, minlength=m) > 0

    norm = Normalize(0.0, 1.0)
    cmap = colormaps["YlOrRd"]
    if m:
        segments = layout.pos[layout.links]
        busy = np.clip(link_load, 0.0, 1.0)
        ax.add_collection(LineCollection(list(segments), colors=colormaps["Blues"](0.3 + 0.7 * busy),
                                         linewidths=0.8 + 5.0 * busy, zorder=1))
        if links_down.any():
            ax.add_collection(LineCollection(list(segments[links_down]), colors=LINK_DOWN_COLOR, linewidths=1.8,
                                             linestyles="dashed", zorder=1.5))
    size = np.array([260.0 if " devices @ " in u else 140.0 for u in layout.units])
    points = ax.scatter(layout.pos[:, 0], layout.pos[:, 1], c=load, cmap=cmap, norm=norm, s=size,
                        edgecolors=[_HEALTH_EDGE.get(h, "0.5") for h in health], linewidths=2.2, zorder=2)
    ringed = np.array([state in SUSPICION_COLORS for state in suspected], dtype=bool)
    if ringed.any():
        ax.scatter(layout.pos[ringed, 0], layout.pos[ringed, 1], s=size[ringed] * 2.6, facecolors="none",
                   edgecolors=[SUSPICION_COLORS[state] for state in np.asarray(suspected, dtype=object)[ringed]],
                   linewidths=1.6, linestyles="dashed", zorder=2.5)
    if down.any():
        ax.scatter(layout.pos[down, 0], layout.pos[down, 1], marker="X", s=size[down] * 0.7, color="black",
                   zorder=3)
    ax.figure.colorbar(points, ax=ax, label="load: busy cores / cores", fraction=0.04, pad=0.02)
    if labels if labels is not None else n <= 40:
        for (x, y), unit in zip(layout.pos, layout.units):
            ax.annotate(unit, (x, y), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=7)
    for tier in dict.fromkeys(layout.tier):
        ys = layout.pos[[k for k, t in enumerate(layout.tier) if t == tier], 1]
        ax.text(0.0, float(ys.mean()), tier, transform=ax.get_yaxis_transform(), ha="right", va="center",
                fontsize=8, fontweight="bold", color=TIER_COLORS[Tier.parse(tier)])
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor=c,
                      markeredgewidth=2, label=h) for h, c in _HEALTH_EDGE.items()]
    if data.has_faults:
        handles += [Line2D([], [], marker="X", linestyle="", color="black", label="crashed"),
                    *(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor=c,
                             markersize=11, label=f"suspected {state}")
                      for state, c in SUSPICION_COLORS.items() if state != "Degraded"),  # never produced
                    Line2D([], [], color=LINK_DOWN_COLOR, linestyle="dashed", linewidth=1.8, label="link down")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4, fontsize=8,
              frameon=False, title="health and faults" if data.has_faults else "health", title_fontsize=8)
    ax.set_title(f"The continuum at t = {time:.4g} s" + (" (devices grouped per parent)" if layout.grouped else ""),
                 fontsize=10)
    ax.margins(0.08)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ContinuumDrawn(time, list(layout.units), load, health, link_load, link_transfers, down, suspected,
                          links_down)

