"""The consistency spectrum of a run with replicated state: latency, staleness and
outcomes per level, the store's health and the downgrades over time, and the latest
operations."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from wfsim.model.events import LEVELS
from wfsim.trace.trace import Trace
from wfsim.viz.consistency import (
    Selection,
    consistency_overview,
    key_type_of,
    level_summary,
    operations_frame,
)
from wfsim.widgets.base import FigureCanvas, View
from wfsim.widgets.explorer import as_trace

__all__ = ["ConsistencyView"]

#: Keys offered one by one at most (beyond them, only their data types).
MAX_KEYS = 200
ALL_KEYS = "(every key)"


class ConsistencyView(View):
    """What each consistency level cost and gave in one run, for chosen levels, keys
    and time window.

    The figure (:func:`wfsim.viz.consistency.consistency_overview`) shows the latency
    of the ``ok`` attempts per level (served, or requested), the stale-read share and
    staleness age per level, the attempts by outcome, the store's health over time
    (observed and in force) and the downgrades over time. Below it: a table per level
    of attempts, latency and staleness, and the latest operations selected.

    The figure data are computed once per trace (:func:`~wfsim.viz.data.figure_data`);
    a change of control only filters them and redraws.

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace` with an ``operations`` table, or a
            run directory.
        latest: Operations in the table of the latest ones.

    Attributes:
        levels: The levels shown (``SelectMultiple``; by the level served).
        key: A key, a data type (``order:*``) or every key (``Dropdown``).
        window: The time window of the invocations shown (``FloatRangeSlider``).
        by: Latency by the level ``served`` or ``requested`` (``ToggleButtons``).
        canvas: The figure.
        summary: Per level: attempts, latency and staleness (HTML).
        table: The latest operations selected (HTML).
        widget: The view (CSS class ``wfsim-consistency-view``).

    Raises:
        ValueError: The trace has no replicated-state operations.
    """

    def __init__(self, trace: Trace | str | Path, *, latest: int = 20) -> None:
        self.trace = as_trace(trace)
        if self.trace.operations.empty:
            raise ValueError("the trace has no replicated-state operations (run with consistency=...)")
        self.latest = latest
        ops = operations_frame(self.trace)
        present = [level for level in LEVELS if (ops["level"] == level).any()]
        horizon = max(self.trace.horizon, float(ops["call"].max()), 1e-9)
        self.levels = widgets.SelectMultiple(options=list(LEVELS), value=tuple(present), description="levels",
                                             rows=len(LEVELS))
        self.key = widgets.Dropdown(options=_key_options(ops["key"]), value=ALL_KEYS, description="key")
        self.window = widgets.FloatRangeSlider(value=(0.0, horizon), min=0.0, max=horizon, step=horizon / 200,
                                               description="time (s)", readout_format=".4g",
                                               continuous_update=False, layout=widgets.Layout(width="60%"))
        self.by = widgets.ToggleButtons(options=[("served", "level"), ("requested", "requested")], value="level",
                                        description="latency by", tooltips=["level served", "level requested"])
        self.canvas = FigureCanvas(figsize=(11.0, 7.0), dpi=80)
        self.canvas.image.add_class("wfsim-figure")
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        for control in (self.levels, self.key, self.window, self.by):
            control.observe(lambda _: self.refresh(), names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.levels, widgets.VBox([self.key, self.by])]), self.window, self.canvas.image,
            self.summary, self.table])
        self.widget.add_class("wfsim-consistency-view")
        self.refresh()

    @property
    def selection(self) -> Selection:
        """What the controls select."""
        start, end = self.window.value
        key = None if self.key.value == ALL_KEYS else self.key.value
        return Selection(levels=tuple(self.levels.value), key=key, start=float(start), end=float(end))

    def operations(self) -> pd.DataFrame:
        """The attempts selected (``operations`` rows), in invocation order."""
        return operations_frame(self.trace, self.selection)

    def levels_table(self) -> pd.DataFrame:
        """Per level selected: attempts, latency and staleness
        (:func:`~wfsim.viz.consistency.level_summary`)."""
        return level_summary(self.trace, self.selection)

    def refresh(self) -> None:
        """Filter by the controls and redraw the figure and the tables."""
        self.canvas.draw(self._paint)
        self.summary.value = self.levels_table().to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                                         na_rep="–", border=0, classes="wfsim-table")
        self.table.value = self._latest_html()

    def _paint(self, figure: Figure) -> None:
        consistency_overview(self.trace, self.selection, by=self.by.value, fig=figure)

    def _latest_html(self) -> str:
        ops = self.operations()
        shown = ops.sort_values(["call", "op"], kind="stable").tail(self.latest).iloc[::-1]
        columns = ["op", "request", "attempt", "client", "key", "f", "value", "output", "requested", "level",
                   "call", "ret", "outcome", "reason"]
        body = shown[columns].to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0,
                                      classes="wfsim-table")
        return f"<b>Latest operations</b> ({len(shown)} of {len(ops)} selected, newest first){body}"


def _key_options(keys: pd.Series) -> list[str]:
    """Every key option: all, each data type (``order:*``), then the keys (at most
    :data:`MAX_KEYS`)."""
    distinct = sorted(pd.unique(keys.astype(str)))
    types = sorted(pd.unique(key_type_of(pd.Series(distinct))))
    return [ALL_KEYS, *(f"{t}:*" for t in types), *distinct[:MAX_KEYS]]

