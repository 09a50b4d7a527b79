"""Interactive views for notebooks (ipywidgets + matplotlib).

The figure data come from :mod:`wfsim.viz`, computed once from the trace and shared
with the reports; each view is a small class around :class:`~wfsim.widgets.base.View`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfsim._lazy import lazy_exports
from wfsim.widgets.base import FigureCanvas, View

if TYPE_CHECKING:
    from wfsim.widgets.renderers import VerdictRenderer, register_renderer
    from wfsim.widgets.verification import VerificationPanel

# Imported on first use: each view pulls in the parts of wfsim it shows.
_LAZY: dict[str, str] = {
    "VerificationPanel": "wfsim.widgets.verification",
    **dict.fromkeys(["VerdictRenderer", "register_renderer"], "wfsim.widgets.renderers"),
}

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)

__all__ = ["FigureCanvas", "VerdictRenderer", "View", "VerificationPanel", "register_renderer"]
