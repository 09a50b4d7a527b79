"""The trace explorer: a Gantt of every task execution, filtered, zoomed and annotated."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from wfsim.trace.trace import Trace
from wfsim.viz.data import TraceData, figure_data
from wfsim.viz.layers import GANTT_LAYERS
from wfsim.viz.timeline import GanttDrawn, GanttView, draw_gantt, window_of
from wfsim.widgets.base import FigureCanvas, View

__all__ = ["TraceExplorer", "as_trace"]

_ALL = "(all)"


def as_trace(trace: Trace | str | Path) -> Trace:
    """``trace`` itself, or the trace of the run directory it names."""
    return trace if isinstance(trace, Trace) else Trace.load(trace)


class TraceExplorer(View):
    """A Gantt of a run's task executions on their nodes, grouped by tier.

    Controls filter by workload, tier and node and set the time window; one
    checkbox per registered Gantt layer (:data:`wfsim.viz.layers.GANTT_LAYERS`:
    transfers, migrations, allocations, node health, and any layer registered later)
    shows or hides it. Selecting a workflow instance outlines its tasks, draws its
    critical path in red and shows its details below the figure.

    Stays responsive at 100 000 executions (the rules of
    :class:`~wfsim.viz.timeline.GanttView`): the figure data are computed once per
    trace; at most ``max_rows`` node rows (the busiest in the window, the other nodes
    of a tier folded into one band); individual bars (one ``PolyCollection`` per
    workload) up to ``max_bars`` executions in the window, beyond that each row's busy
    fraction in ``bins`` time bins; layers draw at most 2 000 items (an even sample).

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace` or a run directory.
        max_rows: Most node rows.
        max_bars: Most individual bars.
        bins: Time bins when there are more executions than ``max_bars``.

    Attributes:
        canvas: The :class:`~wfsim.widgets.base.FigureCanvas`.
        widget: What the notebook shows (CSS class ``wfsim-trace-explorer``).
        view: The :class:`~wfsim.viz.timeline.GanttView` drawn last.
        drawn: What the last draw showed (:class:`~wfsim.viz.timeline.GanttDrawn`).
    """

    def __init__(self, trace: Trace | str | Path, *, max_rows: int = 40, max_bars: int = 5000,
                 bins: int = 300) -> None:
        self.trace = as_trace(trace)
        self.data: TraceData = figure_data(self.trace)
        self.canvas = FigureCanvas(figsize=(11.0, 6.0))
        self.canvas.image.add_class("wfsim-figure")
        self.view = GanttView(max_rows=max_rows, max_bars=max_bars, bins=bins)
        self.drawn: GanttDrawn | None = None
        self._full = window_of(self.data, self.view)
        self._quiet = False

        wf = self.trace.workflows
        self.workload = widgets.Dropdown(description="workload",
                                         options=[_ALL, *[str(w) for w in wf["workload"].cat.categories]])
        self.tier = widgets.SelectMultiple(description="tier", options=list(dict.fromkeys(self.data.rows["tier"])),
                                           rows=5)
        self.node = widgets.SelectMultiple(description="node", options=list(self.data.rows["node"]), rows=5)
        self.workflow = widgets.IntText(description="workflow", value=-1,
                                        tooltip="workflow instance id to select; -1: none")
        self.window = widgets.FloatRangeSlider(description="time (s)", min=self._full[0], max=self._full[1],
                                               value=self._full, step=(self._full[1] - self._full[0]) / 1000,
                                               continuous_update=False, readout_format=".4g",
                                               layout=widgets.Layout(width="60%"))
        self.layers = {name: widgets.Checkbox(description=name, value=name in self.view.layers, indent=False,
                                              layout=widgets.Layout(width="auto"))
                       for name in GANTT_LAYERS}
        self.details = widgets.HTML()
        for control in (self.workload, self.tier, self.node, self.workflow, self.window, *self.layers.values()):
            control.observe(self._changed, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.workload, self.tier, self.node]),
            widgets.HBox([self.workflow, self.window]),
            widgets.HBox([widgets.Label("layers:"), *self.layers.values()]),
            self.canvas.image, self.details,
        ])
        self.widget.add_class("wfsim-trace-explorer")
        self.redraw()

    # --- public API -------------------------------------------------------------------
    def select_workflow(self, workflow: int | None) -> None:
        """Highlight a workflow instance and its critical path and show its details;
        None clears the selection."""
        if workflow is not None and workflow not in self.data.summary.index:
            raise ValueError(f"unknown workflow id {workflow}")
        self.workflow.value = -1 if workflow is None else int(workflow)

    def set_window(self, start: float, end: float) -> None:
        """Show the time window ``[start, end]`` (clipped to the run)."""
        lo, hi = self._full
        start, end = max(lo, float(start)), min(hi, float(end))
        if not start < end:
            raise ValueError(f"empty time window [{start}, {end}] within the run's [{lo}, {hi}]")
        self.window.value = (start, end)

    def set_filter(self, *, workload: str | None = None, tier: str | Iterable[str] | None = None,
                   node: str | Iterable[str] | None = None) -> None:
        """Show one workload (None: all) and some tiers and nodes (None: all); one redraw."""
        with self._one_redraw():
            self.workload.value = _ALL if workload is None else workload
            self.tier.value = _names(tier)
            self.node.value = _names(node)

    def highlight(self, events: Sequence[Mapping[str, Any]] | None) -> None:
        """Mark trace events (dicts with ``table``, ``time`` and e.g. ``workflow``,
        ``task``, ``node``, as in ``TraceCounterexample.events``) and zoom the window
        around them; None clears the marks and shows the whole run."""
        marks = tuple(e for e in events or () if e.get("time") is not None and not pd.isna(e.get("time")))
        with self._one_redraw():
            self.view = replace(self.view, marks=marks)
            if not marks:
                self.window.value = self._full
                return
            times = np.array([float(e["time"]) for e in marks])
            span = float(times.max() - times.min())
            pad = max(0.25 * span, 0.01 * (self._full[1] - self._full[0]), 1e-3)
            self.window.value = (max(self._full[0], times.min() - pad), min(self._full[1], times.max() + pad))
            workflows = {int(e["workflow"]) for e in marks if pd.notna(e.get("workflow"))}
            if len(workflows) == 1 and workflows <= set(self.data.summary.index):
                self.workflow.value = workflows.pop()

    def redraw(self) -> None:
        """Draw the Gantt of the current controls."""
        self.view = replace(
            self.view, start=self.window.value[0], end=self.window.value[1],
            workloads=() if self.workload.value == _ALL else (self.workload.value,),
            tiers=tuple(self.tier.value), nodes=tuple(self.node.value),
            workflow=None if self.workflow.value < 0 else self.workflow.value,
            layers=tuple(name for name, box in self.layers.items() if box.value))

        def paint(figure: Figure) -> None:
            self.drawn = draw_gantt(figure.subplots(), self.data, self.view)

        self.canvas.draw(paint)
        self.details.value = self._details()

    # --- internals --------------------------------------------------------------------
    def _changed(self, _change: Any) -> None:
        if self.workflow.value >= 0 and self.workflow.value not in self.data.summary.index:
            return  # a number being typed; wait for a workflow id
        if not self._quiet:
            self.redraw()

    @contextmanager
    def _one_redraw(self) -> Iterator[None]:
        """Control changes within do not redraw; leaving redraws once."""
        outer, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = outer
        if not outer:
            self.redraw()

    def _details(self) -> str:
        workflow = self.view.workflow
        if workflow is None or workflow not in self.data.summary.index:
            return ""
        s = self.data.summary.loc[workflow]
        ex = self.data.executions
        tasks = ex[ex["workflow"] == workflow][["task", "node", "ready", "start", "end", "failed"]]
        tasks = tasks.assign(critical=tasks["task"].astype(str).isin(self.drawn.critical_path if self.drawn else []))
        deadline = s["arrival"] + s["deadline"] if pd.notna(s["deadline"]) else None
        facts = [("workload", s["workload"]), ("name", s["name"]), ("state", s["state"]),
                 ("arrival", f"{s['arrival']:.6g} s"),
                 ("completion", "—" if pd.isna(s["end"]) else f"{s['end']:.6g} s"),
                 ("latency", "—" if pd.isna(s["latency"]) else f"{s['latency']:.6g} s"),
                 ("deadline", "none" if deadline is None else f"{deadline:.6g} s"
                  + ("" if pd.isna(s["end"]) else " (met)" if s["end"] <= deadline else " (missed)")),
                 ("critical path", " → ".join(self.drawn.critical_path) if self.drawn else "")]
        head = "".join(f"<b>{html.escape(k)}</b>: {html.escape(str(v))} &nbsp; " for k, v in facts)
        table = tasks.to_html(index=False, float_format=lambda v: f"{v:.6g}")
        return f"<div><h4>Workflow #{workflow}</h4><p>{head}</p>{table}</div>"


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
