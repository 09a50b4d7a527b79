"""Interactive views for notebooks (ipywidgets + matplotlib).

The figure data come from :mod:`wfsim.viz`, computed once from the trace and shared
with the reports; each view is a small class around :class:`~wfsim.widgets.base.View`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfsim._lazy import lazy_exports
from wfsim.widgets.base import FigureCanvas, View

if TYPE_CHECKING:
    from wfsim.widgets.comparison import ComparisonView
    from wfsim.widgets.study import StudyExplorer

# Imported on first use: a view pulls in the room it shows (batches, Optuna).
_LAZY: dict[str, str] = {
    "ComparisonView": "wfsim.widgets.comparison",
    "StudyExplorer": "wfsim.widgets.study",
}

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)

__all__ = ["ComparisonView", "FigureCanvas", "StudyExplorer", "View"]
