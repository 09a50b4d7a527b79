"""A Porcupine-style timeline of an operation history, on plain data.

One row per client process; each operation is a bar from its invocation to its
return, labelled with a short text (``w(3)``, ``r→3``, ``cas(1→2)``). Operations a
checker linearized are green and numbered in linearization order, the operation
where linearization fails is red, those a counterexample involves are outlined, and
an operation that never returned runs open-ended (hatched) to the end of the view.

The operations are plain mappings (the shape of
``wfsim.verify.history.Operation.to_json()``), so this module needs nothing from the
checkers, and a report can draw the same figure from a verdict's JSON.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

__all__ = ["HISTORY_COLORS", "MAX_TIMELINE_OPS", "history_timeline", "op_label", "timeline_window"]

#: Face colours of the timeline's bars, by role.
HISTORY_COLORS: dict[str, str] = {
    "linearized": "#76b041",  # in the linearization, up to the cursor
    "later": "#c9e4b4",  # in the linearization, after the cursor
    "blocked": "#d62728",  # cannot be linearized after the prefix
    "other": "#d9d9d9",  # not placed by the checker
}
_OUTLINE = "black"
_BARS_GID, _OPEN_GID = "history-ops", "history-ops-open"
_CURSOR = "#1f4e9e"

#: Operations drawn at most; the rest are left out around the focus.
MAX_TIMELINE_OPS = 300

#: Labels are written into bars only when at most this many are drawn.
_MAX_LABELS = 80
_MAX_TEXT = 10


def op_label(op: Mapping[str, Any]) -> str:
    """A short label for an operation: ``w(3)``, ``r→3``, ``cas(1→2)✗``, ``put(a)?``.

    ``?`` marks an indeterminate operation (it may or may not have taken effect),
    ``✗`` a definite failure.

    Args:
        op: A mapping with ``f`` and optionally ``value``, ``output`` and ``status``.
    """
    f, status = str(op["f"]), op.get("status", "ok")
    mark = {"ok": "", "fail": "✗", "info": "?"}.get(status, "")
    if f in ("read", "get"):
        short = "r" if f == "read" else "get"
        return f"{short}→{_short(op.get('output'))}" if status == "ok" else f"{short}{mark}"
    value = op.get("value")
    if f == "cas" and isinstance(value, (list, tuple)) and len(value) == 2:
        return f"cas({_short(value[0])}→{_short(value[1])}){mark}"
    short = {"write": "w", "append": "app"}.get(f, f)
    return f"{short}({_short(value)}){mark}"


def _short(value: Any) -> str:
    text = "nil" if value is None else str(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _ret(op: Mapping[str, Any]) -> float:
    """Return time, ``inf`` for an operation that never returned."""
    ret = op.get("ret")
    return math.inf if ret is None else float(ret)


def timeline_window(ops: Sequence[Mapping[str, Any]], focus: int | None = None,
                    max_ops: int = MAX_TIMELINE_OPS) -> list[Mapping[str, Any]]:
    """At most ``max_ops`` operations, consecutive by invocation time, around ``focus``.

    Args:
        ops: Operations with ``id`` and ``call``.
        focus: Id of the operation to keep in the middle (the first ones if ``None``
            or absent).
        max_ops: How many to keep.

    Returns:
        The kept operations, sorted by invocation time (then id).
    """
    ordered = sorted(ops, key=lambda op: (float(op["call"]), op["id"]))
    if len(ordered) <= max_ops:
        return ordered
    at = next((i for i, op in enumerate(ordered) if op["id"] == focus), 0)
    start = min(max(at - max_ops // 2, 0), len(ordered) - max_ops)
    return ordered[start : start + max_ops]


def history_timeline(
    ax: Axes,
    ops: Sequence[Mapping[str, Any]],
    *,
    linearized: Sequence[int] = (),
    blocked: int | None = None,
    involved: Collection[int] = (),
    cursor: int | None = None,
    max_ops: int = MAX_TIMELINE_OPS,
    title: str | None = None,
) -> Axes:
    """Draw operations as bars from invocation to return, one row per process.

    The bars are two ``PolyCollection`` s, gid ``history-ops`` and (hatched, never
    returned) ``history-ops-open``, whose urls are ``#op-<id>``, one per bar: an SVG
    report links them, a test finds them.

    Args:
        ax: Axes to draw on.
        ops: Operations as mappings with ``id``, ``process``, ``f``, ``call``,
            ``ret`` (``None`` or ``inf`` if it never returned) and optionally
            ``value``, ``output``, ``status`` (as ``Operation.to_json()``).
        linearized: Ids in linearization order (a checker's order or the longest
            legal prefix of a counterexample); numbered and green.
        blocked: Id of the operation that cannot be linearized; red.
        involved: Ids a counterexample involves; outlined in black.
        cursor: Id of the current step: linearized operations after it are pale,
            and it is outlined in blue. ``None`` shows the whole linearization.
        max_ops: At most this many operations are drawn, consecutive by invocation
            time around the cursor (else the blocked operation); the title says so.
            Bars are labelled only when at most 80 are drawn (text is what costs most
            to draw, and more labels would not be legible).
        title: Title of the axes (the count drawn is appended when some are left out).

    Returns:
        ``ax``.
    """
    shown = timeline_window(ops, cursor if cursor is not None else blocked, max_ops)
    if not shown:
        ax.text(0.5, 0.5, "no operation to draw", transform=ax.transAxes, ha="center", va="center", color="0.45")
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    rank = {op_id: i for i, op_id in enumerate(linearized)}
    reached = rank.get(cursor, len(linearized)) if cursor is not None else len(linearized)
    processes: list[Hashable] = list(dict.fromkeys(op["process"] for op in shown))
    row = {p: i for i, p in enumerate(processes)}
    finite = [t for op in shown for t in (float(op["call"]), _ret(op)) if math.isfinite(t)]
    begin, end = min(finite), max(finite)
    end = end + 0.05 * (end - begin or 1.0)  # room for the open-ended bars' hatching
    # One collection per kind (open-ended or not): a Rectangle per bar (barh) costs
    # several times the drawing. Each kind: boxes, face colours, edge colours, edge widths, urls.
    kinds: dict[bool, tuple[list[Any], ...]] = {False: ([], [], [], [], []), True: ([], [], [], [], [])}
    for op in shown:
        op_id, y = op["id"], row[op["process"]]
        call, ret = float(op["call"]), _ret(op)
        if op_id == blocked:
            face = HISTORY_COLORS["blocked"]
        elif op_id in rank:
            face = HISTORY_COLORS["linearized" if rank[op_id] <= reached else "later"]
        else:
            face = HISTORY_COLORS["other"]
        edge, width = (_CURSOR, 3.0) if op_id == cursor else (_OUTLINE, 1.8) if op_id in involved else ("0.4", 0.6)
        open_ended = not math.isfinite(ret)
        right = end if open_ended else ret
        boxes, faces, edges, widths, urls = kinds[open_ended]
        boxes.append([(call, y - 0.3), (call, y + 0.3), (right, y + 0.3), (right, y - 0.3)])
        faces.append(face)
        edges.append(edge)
        widths.append(width)
        urls.append(f"#op-{op_id}")
    for open_ended, (boxes, faces, edges, widths, urls) in kinds.items():
        if boxes:
            drawn = PolyCollection(boxes, facecolors=faces, edgecolors=edges, linewidths=widths,
                                   hatch="//" if open_ended else None)
            drawn.set_gid(_OPEN_GID if open_ended else _BARS_GID)
            drawn.set_urls(urls)  # which bar is which (links in an SVG report, tests)
            ax.add_collection(drawn)
    if len(shown) <= _MAX_LABELS:
        for op in shown:
            text = op_label(op) if op["id"] not in rank else f"{rank[op['id']] + 1}: {op_label(op)}"
            ax.text(float(op["call"]), row[op["process"]], " " + text, va="center", ha="left", fontsize=8,
                    clip_on=True)
    ax.set_yticks(range(len(processes)), [f"p{p}" for p in processes])
    ax.set_ylim(len(processes) - 0.5, -0.5)  # first process on top
    ax.set_xlim(begin - 0.02 * (end - begin or 1.0), end)
    ax.set_xlabel("time")
    heading = title or ""
    if len(shown) < len(ops):
        heading += f"{' — ' if heading else ''}showing {len(shown)} of {len(ops)} operations"
    if heading:
        ax.set_title(heading, fontsize=10)
    ax.legend(handles=[Patch(facecolor=HISTORY_COLORS["linearized"], label="linearized"),
                       Patch(facecolor=HISTORY_COLORS["later"], label="linearized later"),
                       Patch(facecolor="white", edgecolor=_CURSOR, linewidth=2, label="cursor"),
                       Patch(facecolor="white", edgecolor=_OUTLINE, linewidth=1.5, label="in the counterexample"),
                       Patch(facecolor=HISTORY_COLORS["blocked"], label="blocked"),
                       Patch(facecolor=HISTORY_COLORS["other"], label="not placed"),
                       Patch(facecolor="white", edgecolor="0.4", hatch="//", label="never returned")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return ax
