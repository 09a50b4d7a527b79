"""Figures of a trace (matplotlib), shared by notebooks, widgets and reports.

Example::

    from wfsim import viz
    viz.gantt(result.trace, max_workflows=5)
    viz.latency_by_tier(result.trace)
    viz.latency_cdf({"nearest edge": a.trace, "EFT": b.trace})
"""

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

__all__ = [
    "TIER_COLORS", "gantt", "history_timeline", "latency_by_tier", "latency_cdf", "op_label", "overview",
    "tier_order", "utilisation_by_tier",
]
