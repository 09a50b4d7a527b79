"""A run opened from a batch or a study: its headline metrics, then its trace explorer."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import pandas as pd

from wfsim.experiments.scenarios import flat_metrics
from wfsim.experiments.summaries import METRICS
from wfsim.trace.trace import Trace


def run_widgets(title: str, trace: Trace, metrics: Mapping[str, Any]) -> tuple[widgets.Widget, ...]:
    """The run's headline metrics (:data:`~wfsim.experiments.summaries.METRICS`) and
    a :class:`~wfsim.widgets.TraceExplorer` of its trace, to show below a view.

    The metrics come first so that the run is described even where the explorer
    cannot be built (its error is shown instead).
    """
    flat = flat_metrics(dict(metrics))
    table = pd.DataFrame([{label: value * scale for key, (label, scale) in METRICS.items()
                           if (value := flat.get(key)) is not None}])
    head = widgets.HTML(f"<b>{html.escape(title)}</b>" + table.to_html(
        index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="wfsim-table"))
    try:
        from wfsim.widgets import TraceExplorer

        explorer: widgets.Widget = TraceExplorer(trace).widget
    except Exception as exc:  # shown where the explorer would be, never raised in a callback
        explorer = widgets.HTML(f"<i>no trace explorer: {html.escape(f'{type(exc).__name__}: {exc}')}</i>")
    return head, explorer
