"""Interactive views for notebooks (ipywidgets + matplotlib).

The figure data come from :mod:`wfsim.viz`, computed once from the trace and shared
with the reports; each view is a small class around :class:`~wfsim.widgets.base.View`.
The views are imported on first use, so ``import wfsim.widgets`` stays cheap.

* :class:`TraceExplorer` — the Gantt of a run's task executions, filtered and annotated;
* :class:`TopologyView` — the continuum's load, health and links at a chosen time;
* :class:`VerificationPanel` — verdicts of the property catalog and the history
  checkers, with counterexample stepping (a new kind of verdict plugs in with
  :func:`register_renderer`);
* :class:`ComparisonView` — a batch's scenarios by metric: intervals, paired differences,
  replications;
* :class:`ConsistencyView` — a run's consistency spectrum: latency, staleness and outcomes
  per level, the store's health and downgrades over time, the latest operations;
* :class:`StudyExplorer` — a study's trials: history, Pareto front, importances, parallel
  coordinates, and any trial re-run with its trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfsim._lazy import lazy_exports

if TYPE_CHECKING:
    from wfsim.widgets.base import FigureCanvas, View
    from wfsim.widgets.comparison import ComparisonView
    from wfsim.widgets.consistency import ConsistencyView
    from wfsim.widgets.explorer import TraceExplorer
    from wfsim.widgets.renderers import VerdictRenderer, register_renderer
    from wfsim.widgets.study import StudyExplorer
    from wfsim.widgets.topology import TopologyView
    from wfsim.widgets.verification import VerificationPanel

_LAZY: dict[str, str] = {
    "FigureCanvas": "wfsim.widgets.base",
    "View": "wfsim.widgets.base",
    "TraceExplorer": "wfsim.widgets.explorer",
    "TopologyView": "wfsim.widgets.topology",
    "VerificationPanel": "wfsim.widgets.verification",
    **dict.fromkeys(["VerdictRenderer", "register_renderer"], "wfsim.widgets.renderers"),
    "ComparisonView": "wfsim.widgets.comparison",
    "ConsistencyView": "wfsim.widgets.consistency",
    "StudyExplorer": "wfsim.widgets.study",
}

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)

__all__ = ["ComparisonView", "ConsistencyView", "FigureCanvas", "StudyExplorer", "TopologyView", "TraceExplorer",
           "VerdictRenderer", "View", "VerificationPanel", "register_renderer"]
