"""What a report is made of, as plain data the template renders: parts holding notes,
facts, tables, figures and further parts.

Nothing here is HTML: the template escapes every string it is given, so text from a
trace or a config (a workload named ``<b>``) appears as text, never as markup.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Rows a table shows at most; the caption then says "first N of M".
MAX_ROWS = 50
#: Resolution of the embedded figures (pixels per inch; figures are 6–12 in wide).
DPI = 90


@dataclass
class Table:
    """A table of text cells, possibly the first rows of a longer one.

    Attributes:
        columns: Column headings.
        rows: The rows shown, each as many cells as ``columns``.
        total: Rows the whole table has (more than ``len(rows)`` when capped).
        caption: What the table shows.
        row_classes: A CSS class per row (e.g. ``verdict-false``), or empty.
    """

    columns: list[str]
    rows: list[list[str]]
    total: int
    caption: str = ""
    row_classes: list[str] = field(default_factory=list)

    @property
    def capped(self) -> bool:
        """Whether rows were left out."""
        return self.total > len(self.rows)


@dataclass
class Image:
    """A figure embedded in the page as a PNG ``data:`` URI (no file, no network).

    Attributes:
        title: Its caption.
        uri: ``data:image/png;base64,…``.
    """

    title: str
    uri: str


@dataclass
class Part:
    """A titled part of the report, rendered in the order of its fields.

    Attributes:
        title: Heading (also its entry in the table of contents).
        notes: Paragraphs of text.
        facts: Label → value pairs (a definition list).
        tables: Tables.
        images: Figures.
        code: Preformatted text (a config as JSON), shown folded.
        parts: Sub-parts.
        anchor: Its id in the page; :func:`number` sets it.
    """

    title: str
    notes: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    code: str | None = None
    parts: list[Part] = field(default_factory=list)
    anchor: str = ""


def number(parts: Sequence[Part], prefix: str = "s") -> None:
    """Give every part (and sub-part) a unique anchor: ``s1``, ``s1-2``, …"""
    for i, part in enumerate(parts, start=1):
        part.anchor = f"{prefix}{i}"
        number(part.parts, f"{part.anchor}-")


def text(value: Any) -> str:
    """A cell's text: numbers to four significant digits, None and NaN as ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return "–"
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "",
          limit: int = MAX_ROWS, row_classes: Sequence[str] = ()) -> Table:
    """A :class:`Table` of the first ``limit`` of ``rows`` (cells through :func:`text`)."""
    rows = list(rows)
    shown = [[text(v) for v in row] for row in rows[:limit]]
    return Table(list(columns), shown, len(rows), caption, list(row_classes)[:limit])


def frame_table(frame: pd.DataFrame, caption: str = "", limit: int = MAX_ROWS) -> Table:
    """A :class:`Table` of a DataFrame's first ``limit`` rows (the index left out)."""
    head = frame.head(limit)
    rows = [[text(v) for v in row] for row in head.itertuples(index=False, name=None)]
    return Table([str(c) for c in frame.columns], rows, len(frame), caption)


def panels(count: int, *, columns: int = 1, width: float = 6.5, height: float = 2.6) -> tuple[Figure, list[Axes]]:
    """A new figure (never pyplot) of ``count`` panels, ``columns`` a row, each row
    ``height`` inches tall, and its panels' axes (cells left over are hidden)."""
    rows = max(-(-count // columns), 1)
    fig = Figure(figsize=(width, rows * height), layout="constrained")
    axes = list(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def png(fig: Figure) -> str:
    """``fig`` rendered as a PNG ``data:`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pretty_json(data: Any) -> str:
    """``data`` as indented JSON (what a config or manifest is shown as)."""
    return json.dumps(data, indent=2, default=str)
