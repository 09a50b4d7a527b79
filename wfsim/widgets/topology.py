"""The continuum at a chosen instant, with a time slider and a play button."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from wfsim.trace.trace import Trace
from wfsim.viz.continuum import ContinuumDrawn, draw_continuum
from wfsim.viz.data import TraceData, figure_data
from wfsim.widgets.base import FigureCanvas, View
from wfsim.widgets.explorer import as_trace

__all__ = ["TopologyView"]


class TopologyView(View):
    """The continuum as a graph laid out by tier, at the time the slider shows.

    Node fill is the load (busy cores / current cores), the marker's edge the health,
    a link's width and colour its estimated utilisation; on a run with faults, crashed
    nodes are crossed, nodes the failure detector suspects ringed, and links that are
    down (their own outage, a partition's boundary, a crashed end) dashed red
    (:func:`wfsim.viz.continuum.draw_continuum`).
    ``Play`` steps through ``frames`` instants; it is linked to the ``frame`` slider in
    the browser (``jslink``), and each frame sets the time slider, which redraws.

    Stays responsive with hundreds of devices: beyond ``max_devices`` devices, each
    parent's devices are drawn as one unit; the layout is computed once per trace and
    each instant costs one ``searchsorted`` and ``bincount`` per quantity
    (:class:`~wfsim.viz.data.StepSeries`; the fault intervals too, computed once per
    trace), independent of how many tasks ran.

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace` or a run directory.
        time: The first instant shown (default: the middle of the run).
        frames: Steps of the play button over the run.
        max_devices: Devices drawn one by one at most.

    Attributes:
        canvas: The :class:`~wfsim.widgets.base.FigureCanvas`.
        widget: What the notebook shows (CSS class ``wfsim-topology-view``).
        time: The time slider (``FloatSlider``, seconds).
        play: The ``Play`` widget; ``frame`` the ``IntSlider`` it is linked to.
        drawn: What the last draw showed (:class:`~wfsim.viz.continuum.ContinuumDrawn`).
    """

    def __init__(self, trace: Trace | str | Path, *, time: float | None = None, frames: int = 100,
                 max_devices: int = 60) -> None:
        self.trace = as_trace(trace)
        self.data: TraceData = figure_data(self.trace)
        self.max_devices = max_devices
        self.canvas = FigureCanvas(figsize=(10.0, 5.5))
        self.canvas.image.add_class("wfsim-figure")
        self.drawn: ContinuumDrawn | None = None
        horizon = max(self.trace.horizon, 0.0)
        self._step = horizon / frames if horizon > 0 else 1.0
        self.time = widgets.FloatSlider(description="time (s)", min=0.0, max=horizon or 1.0, step=self._step / 10,
                                        value=horizon / 2 if time is None else time, readout_format=".4g",
                                        continuous_update=False, layout=widgets.Layout(width="60%"))
        self.play = widgets.Play(min=0, max=frames, step=1, interval=300, description="play")
        self.frame = widgets.IntSlider(min=0, max=frames, description="frame", readout=False,
                                       layout=widgets.Layout(width="20%"))
        self.link = widgets.jslink((self.play, "value"), (self.frame, "value"))
        self.frame.observe(lambda change: self.show(change["new"] * self._step), names="value")
        self.time.observe(self._moved, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.play, self.frame, self.time]), self.canvas.image])
        self.widget.add_class("wfsim-topology-view")
        self.redraw()

    def show(self, time: float) -> None:
        """Show the continuum at ``time`` (clipped to the run)."""
        time = min(max(float(time), self.time.min), self.time.max)
        if time == self.time.value:
            self.redraw()  # the slider does not report an unchanged value
        self.time.value = time

    def redraw(self) -> None:
        """Draw the continuum at the slider's time."""

        def paint(figure: Figure) -> None:
            self.drawn = draw_continuum(figure.subplots(), self.data, self.time.value,
                                        max_devices=self.max_devices)

        self.canvas.draw(paint)

    def _moved(self, _change: Any) -> None:
        self.redraw()
