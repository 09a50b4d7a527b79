"""How the verification panel shows a kind of verdict: a registry, type → renderer.

:class:`~wfsim.widgets.verification.VerificationPanel` looks the type of its verdicts
up here, so a new kind of verdict plugs in without editing the panel::

    class ConsistencyVerdicts(VerdictRenderer):
        def __init__(self, results, context):
            self.widget = widgets.HTML(...)

    register_renderer(KeyConsistencyVerdict, ConsistencyVerdicts)

Also the small HTML pieces the renderers share (verdict colours, escaped tables).
"""

from __future__ import annotations

import html
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

__all__ = ["RENDERERS", "PanelContext", "VerdictRenderer", "html_table", "register_renderer", "renderer_for",
           "verdict_badge"]


@dataclass
class PanelContext:
    """What the panel was given besides the verdicts; renderers use what they need.

    Attributes:
        trace: The checked trace, if known (a catalog renderer may build a trace
            explorer from it).
        explorer: A view with ``highlight(events)`` to show counterexamples in.
        history: The checked operations (a ``History``, a sequence of
            ``Operation`` or a path to a history file).
    """

    trace: Any = None
    explorer: Any = None
    history: Any = None


class VerdictRenderer(ABC):
    """Shows verdicts of one type; its ``widget`` goes into the panel.

    Args:
        results: The verdicts, all of the registered type (at least one).
        context: What else the panel was given.
    """

    widget: widgets.Widget

    @abstractmethod
    def __init__(self, results: Sequence[Any], context: PanelContext) -> None:
        """Build the widgets for ``results``."""


#: Verdict type → the renderer of a sequence of them.
RENDERERS: dict[type, type[VerdictRenderer]] = {}


def register_renderer(verdict_type: type, renderer: type[VerdictRenderer]) -> None:
    """Show verdicts of ``verdict_type`` (and its subclasses) with ``renderer``.

    A later registration of the same type replaces the earlier one.
    """
    RENDERERS[verdict_type] = renderer


def renderer_for(results: Sequence[Any]) -> type[VerdictRenderer]:
    """The renderer registered for the type of ``results`` (the nearest base class).

    Raises:
        ValueError: ``results`` is empty.
        TypeError: No renderer fits, or the results are of different types.
    """
    if not results:
        raise ValueError("no verdict to show")
    first = type(results[0])
    registered = next((t for t in first.__mro__ if t in RENDERERS), None)
    if registered is None:
        known = ", ".join(sorted(t.__name__ for t in RENDERERS))
        raise TypeError(f"no renderer for {first.__name__}; registered: {known} (see register_renderer)")
    stray = next((r for r in results if not isinstance(r, registered)), None)
    if stray is not None:
        raise TypeError(f"one kind of verdict at a time: {registered.__name__} and {type(stray).__name__}")
    return RENDERERS[registered]


#: Background colours of verdicts, the catalog's and the history checkers' words.
VERDICT_COLORS: dict[str, str] = {
    "true": "#d4edda", "ok": "#d4edda",
    "false": "#f8d7da", "violation": "#f8d7da",
    "inconclusive": "#fff3cd", "unknown": "#fff3cd",
    "not_applicable": "#e2e3e5",
}


def verdict_badge(verdict: str, text: str | None = None) -> str:
    """``verdict`` (or ``text``) as an escaped, coloured HTML span."""
    color = VERDICT_COLORS.get(verdict, "#ffffff")
    body = html.escape(verdict if text is None else text)
    return f'<span style="background:{color};padding:1px 6px;border-radius:3px">{body}</span>'


def html_table(header: Sequence[str], rows: Iterable[Sequence[str]], total: int, *, noun: str = "rows",
               raw_columns: Iterable[int] = ()) -> str:
    """An HTML table, cells escaped except the columns in ``raw_columns`` (already HTML).

    Args:
        header: Column titles.
        rows: The rows shown (already capped by the caller).
        total: How many there are in all: a "showing N of M" line follows when fewer
            are shown.
        noun: What a row is, for that line.
        raw_columns: Indexes of columns whose cells are trusted HTML (badges).
    """
    raw = set(raw_columns)
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(h)}</th>" for h in header)
    body, shown = [], 0
    for row in rows:
        shown += 1
        cells = "".join(f"<td style='padding:2px 8px'>{c if i in raw else html.escape(c)}</td>"
                        for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    note = f"<div><i>showing {shown} of {total} {html.escape(noun)}</i></div>" if shown < total else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"
