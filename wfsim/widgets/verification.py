"""The verification panel: catalog verdicts with counterexample stepping, and history
verdicts with a Porcupine-style timeline.

Example::

    from wfsim.verify import check_catalog
    from wfsim.widgets import VerificationPanel

    VerificationPanel(check_catalog(trace), trace=trace)      # or VerificationPanel(trace)
    VerificationPanel(check_history("etcd_000.log"), history="etcd_000.log")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from wfsim.trace.trace import Trace
from wfsim.verify.history import HistoryVerdict
from wfsim.verify.properties import PropertyVerdict
from wfsim.widgets.base import View
from wfsim.widgets.catalog_verdicts import CatalogVerdicts
from wfsim.widgets.history_verdict import HistoryVerdictView
from wfsim.widgets.level_histories import LevelHistories
from wfsim.widgets.renderers import RENDERERS, PanelContext, VerdictRenderer, renderer_for

__all__ = ["VerificationPanel"]

# The defaults; one registered before this module was first imported stays.
RENDERERS.setdefault(PropertyVerdict, CatalogVerdicts)
RENDERERS.setdefault(HistoryVerdict, HistoryVerdictView)


class VerificationPanel(View):
    """Verdicts of wfsim's checkers, shown by the renderer registered for their type.

    * Property verdicts (:class:`~wfsim.widgets.catalog_verdicts.CatalogVerdicts`):
      a colour-coded table with counts, filters by verdict and text, and Prev/Next
      through the chosen property's counterexamples, each highlighted in the trace
      explorer.
    * A history verdict (:class:`~wfsim.widgets.history_verdict.HistoryVerdictView`):
      the verdict and reason, the partitions, and a per-key timeline stepped through
      in linearization order up to the blocked operation.
    * With a trace that has replicated-state operations, a section on its histories
      (:class:`~wfsim.widgets.level_histories.LevelHistories`): the operations served
      at each level, each checked by its level's checker (or another one chosen), the
      verdict with its counterexample.

    Another kind of verdict plugs in with
    :func:`~wfsim.widgets.renderers.register_renderer`. Each renderer caps what it
    draws (tables of at most a few hundred rows, timelines of at most a few hundred
    operations around the cursor), so the panel stays responsive on large inputs.

    Args:
        result: A list of :class:`~wfsim.verify.properties.PropertyVerdict`
            (``check_catalog``), one of them (``check_formula``), a
            :class:`~wfsim.verify.history.HistoryVerdict`, or a
            :class:`~wfsim.trace.trace.Trace` (its whole catalog is checked).
        trace: The checked trace: unless ``explorer`` is given, counterexamples are
            highlighted in a :class:`~wfsim.widgets.explorer.TraceExplorer` of it,
            shown in the panel.
        explorer: A view with ``highlight(events)`` (a ``TraceExplorer``) in which
            each counterexample shown is highlighted; the caller displays it.
        history: For a history verdict: the checked ``History``, its operations, or
            the path of its file (else only the counterexample's operations are drawn).

    Attributes:
        renderer: The renderer showing the verdicts (its widgets and stepping methods,
            e.g. ``panel.renderer.step(+1)``).
        histories: The section on the trace's histories per level (None without
            replicated-state operations).
        widget: The panel (CSS class ``wfsim-verification-panel``).

    Raises:
        TypeError: No renderer is registered for the verdicts' type.
        ValueError: ``result`` is an empty list.
    """

    def __init__(self, result: Any, *, trace: Trace | None = None, explorer: Any = None, history: Any = None) -> None:
        if isinstance(result, Trace):
            from wfsim.verify.catalog import check_catalog  # the catalog loads its properties: only when asked

            trace = result if trace is None else trace
            result = check_catalog(result)
        results: Sequence[Any] = list(result) if isinstance(result, (list, tuple)) else [result]
        self.renderer: VerdictRenderer = renderer_for(results)(results, PanelContext(trace, explorer, history))
        self.histories = LevelHistories(trace) if trace is not None and len(trace.operations) else None
        self.widget = widgets.VBox([self.renderer.widget, *([self.histories.widget] if self.histories else [])])
        self.widget.add_class("wfsim-verification-panel")
