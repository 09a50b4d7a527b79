"""Interactive views for notebooks (ipywidgets + matplotlib).

The figure data come from :mod:`wfsim.viz`, computed once from the trace and shared
with the reports; each view is a small class around :class:`~wfsim.widgets.base.View`.
"""

from __future__ import annotations

from wfsim.widgets.base import FigureCanvas, View

__all__ = ["FigureCanvas", "View"]
