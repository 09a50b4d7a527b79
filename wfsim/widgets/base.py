"""What every view shares: a matplotlib figure shown as a PNG, redrawn on demand.

A view draws on its own :class:`matplotlib.figure.Figure` (never pyplot, so nothing is
shown twice in a notebook) and shows it as PNG bytes in an :class:`ipywidgets.Image`.
That works in JupyterLab, Voilà and an exported notebook without a front-end
extension, and it makes a view testable headlessly: the figure's artists and the
image's bytes are what a person sees.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

__all__ = ["FigureCanvas", "View"]


class FigureCanvas:
    """A figure and the image widget that shows it.

    Attributes:
        figure: The figure drawn on; cleared before each draw.
        image: The widget showing the last draw.
        draws: How many times it was drawn.
        last_draw_seconds: Wall-clock seconds of the last draw, rendering included.
    """

    def __init__(self, figsize: tuple[float, float] = (10.0, 5.0), dpi: int = 100) -> None:
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", height="auto"))
        self.draws = 0
        self.last_draw_seconds = 0.0

    def draw(self, paint: Callable[[Figure], Any]) -> None:
        """Clear the figure, let ``paint`` draw on it, and show the result."""
        began = time.perf_counter()
        self.figure.clear()
        paint(self.figure)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        self.image.value = buffer.getvalue()
        self.draws += 1
        self.last_draw_seconds = time.perf_counter() - began


class View:
    """Base of the views: ``widget`` is what a notebook shows.

    A view displays itself when it is the last expression of a cell (it forwards
    ``_repr_mimebundle_`` to its widget), and ``display(view)`` works as well. The
    output also carries a still of the view's figure (``image/png``, its ``canvas`` as
    first drawn) for where widgets do not run: a notebook exported to HTML (``wfsim
    report --notebook``), a notebook viewed on a code forge. Jupyter shows the live
    widget instead.
    """

    widget: widgets.Widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        canvas = getattr(self, "canvas", None)
        if isinstance(canvas, FigureCanvas) and canvas.image.value:
            bundle["image/png"] = base64.b64encode(canvas.image.value).decode("ascii")
        return bundle
