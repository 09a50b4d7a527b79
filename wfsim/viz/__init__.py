"""Figures of a trace (matplotlib), shared by notebooks, widgets and reports.

Example::

    from wfsim import viz
    viz.gantt(result.trace, max_workflows=5)
    viz.latency_by_tier(result.trace)
    viz.latency_cdf({"nearest edge": a.trace, "EFT": b.trace})

The trace views draw from :func:`figure_data` (computed once per trace):
:func:`draw_gantt` (any number of executions, with the :data:`GANTT_LAYERS`
overlays, :mod:`wfsim.viz.fault_layers` among them: crashes, partitions, suspicions
and edge decisions) and :func:`draw_continuum` (the continuum at one instant, with
crashed and suspected nodes and links down).

:mod:`wfsim.viz.consistency` draws the consistency spectrum of a run with replicated
state (latency, staleness and outcomes per level; store health and downgrades over
time), and :mod:`wfsim.viz.consistency_layers` adds the store's health and the
downgrades to the Gantt.

The batch and study figures draw on a given ``Axes`` from plain frames, for the
widgets and the reports alike: :mod:`wfsim.viz.batches` (a metric's means, paired
differences and replications per scenario) and :mod:`wfsim.viz.studies` (history,
Pareto front, importances, parallel coordinates).
"""

from wfsim.viz.batches import draw_differences, draw_means, draw_replications
from wfsim.viz.consistency import LEVEL_COLORS, consistency_overview
from wfsim.viz.consistency_layers import Downgrades, StoreHealth  # noqa: F401  (registers the layers)
from wfsim.viz.continuum import draw_continuum
from wfsim.viz.data import figure_data
from wfsim.viz.fault_layers import DECISION_COLORS, SUSPICION_COLORS  # registers the fault layers
from wfsim.viz.figures import (
    TIER_COLORS,
    gantt,
    latency_by_tier,
    latency_cdf,
    overview,
    tier_order,
    utilisation_by_tier,
)
from wfsim.viz.history import history_timeline, op_label
from wfsim.viz.layers import GANTT_LAYERS, GanttLayer, register_layer
from wfsim.viz.studies import (
    ParallelCoordinates,
    draw_history,
    draw_importances,
    draw_parallel_coordinates,
    draw_pareto,
)
from wfsim.viz.timeline import GanttView, draw_gantt

__all__ = [
    "DECISION_COLORS", "GANTT_LAYERS", "LEVEL_COLORS", "SUSPICION_COLORS", "TIER_COLORS", "GanttLayer", "GanttView",
    "ParallelCoordinates", "consistency_overview", "draw_continuum",
    "draw_differences", "draw_gantt", "draw_history", "draw_importances", "draw_means", "draw_parallel_coordinates",
    "draw_pareto", "draw_replications", "figure_data", "gantt", "history_timeline", "latency_by_tier",
    "latency_cdf", "op_label", "overview", "register_layer", "tier_order", "utilisation_by_tier",
]
