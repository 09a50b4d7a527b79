"""The verification panel's view of a history check (``check_history``): the verdict,
its partitions, and a per-key timeline stepped through in linearization order."""

from __future__ import annotations

import html
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from wfsim.verify.history import History, HistoryVerdict, Operation, PartitionResult, get_model, load_history
from wfsim.verify.history.values import show
from wfsim.viz.history import MAX_TIMELINE_OPS, history_timeline
from wfsim.widgets.base import FigureCanvas
from wfsim.widgets.renderers import PanelContext, VerdictRenderer, html_table, verdict_badge

__all__ = ["HistoryVerdictView", "key_operations", "steps_of"]


def key_operations(operations: Sequence[Operation], key: Hashable | None, model: str) -> list[dict[str, Any]]:
    """The operations of a partition as the timeline's plain data (``Operation.to_json()``
    plus ``text``, the model's rendering, as in a counterexample's ``operations``).

    Args:
        operations: The checked history.
        key: The partition's key; ``None`` for every operation (a single register,
            or a check of the whole history at once, as the causal one).
        model: The model's name, for the texts.
    """
    describe = get_model(model).describe
    return [{**op.to_json(), "text": describe(op)} for op in operations if key is None or op.key == key]


def steps_of(partition: PartitionResult) -> tuple[list[int], int | None]:
    """The linearization order of a partition and the operation it stops at.

    Returns:
        ``(order, blocked)``: the checker's order of an ``ok`` partition, or the
        longest legal prefix of a counterexample and its blocked operation; for a
        counterexample with neither (a causal bad pattern), its involved operations.
    """
    example = partition.counterexample
    if example is None:
        return list(partition.order or []), None
    if example.prefix or example.blocked is not None:
        return list(example.prefix), example.blocked
    return list(example.ops), None


class HistoryVerdictView(VerdictRenderer):
    """A history verdict: its reason, its partitions, and a timeline of one key.

    The timeline (:func:`wfsim.viz.history.history_timeline`) has one row per
    process; Prev/Next move a cursor through the key's linearization order (the
    checker's order, or a counterexample's longest legal prefix then its blocked
    operation), and "blocked" jumps to the operation where linearization fails.
    On a large history it draws at most :attr:`max_ops` operations, consecutive in
    invocation time around the cursor; the partitions table shows at most
    :attr:`max_rows` keys (violations first).

    Without the checked operations (``history=``), only those the counterexample
    mentions are drawn.

    Attributes:
        verdict: The verdict shown.
        partition: The partition (key) drawn.
        linearized: Op ids in linearization order.
        blocked: Id of the operation where linearization fails, if any.
        steps: ``linearized``, then ``blocked`` if any: what the cursor walks.
        cursor: Position in :attr:`steps` (``None`` when there are no steps).
        ops: The key's operations as the timeline draws them (plain dicts).
        canvas: The timeline.
    """

    max_ops = MAX_TIMELINE_OPS
    max_rows = 200

    def __init__(self, results: Sequence[Any], context: PanelContext) -> None:
        if len(results) != 1:
            raise ValueError(f"one history verdict at a time, got {len(results)}")
        self.verdict: HistoryVerdict = results[0]
        self.operations = _operations(context.history)
        self._by_key: dict[int, list[dict[str, Any]]] = {}  # partition index → its operations, built once
        self.partition: PartitionResult | None = None
        self.linearized: list[int] = []
        self.steps: list[int] = []
        self.blocked: int | None = None
        self.cursor: int | None = None
        self.ops: list[dict[str, Any]] = []
        # Violations first: they are what one opens the panel for.
        ranked = sorted(range(len(self.verdict.partitions)),
                        key=lambda i: self.verdict.partitions[i].verdict != "violation")
        self.header = widgets.HTML(self._header_html())
        self.table = widgets.HTML(self._partitions_html(ranked))
        self.key_chooser = widgets.Dropdown(
            options=[(_key_text(self.verdict.partitions[i].key), i) for i in ranked[: self.max_rows]],
            description="key", value=ranked[0] if ranked else None)
        self.canvas = FigureCanvas(figsize=(10.0, 4.0))
        self.canvas.image.add_class("wfsim-figure")
        self.prev_button = widgets.Button(description="◀ prev", tooltip="previous operation in linearization order")
        self.next_button = widgets.Button(description="next ▶", tooltip="next operation in linearization order")
        self.blocked_button = widgets.Button(description="blocked", tooltip="the operation that cannot be linearized")
        self.position = widgets.HTML()
        self.key_chooser.observe(lambda change: self.choose(change["new"]), names="value")
        self.prev_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(+1))
        self.blocked_button.on_click(lambda _: self.jump_to_blocked())
        self.widget = widgets.VBox([
            self.header, self.table, self.key_chooser,
            widgets.HBox([self.prev_button, self.next_button, self.blocked_button, self.position]),
            self.canvas.image,
        ])
        self.choose(self.key_chooser.value)

    def choose(self, index: int | None) -> None:
        """Draw partition ``index`` of the verdict, the cursor on its blocked
        operation if it has one, else on its first step."""
        self.partition = None if index is None else self.verdict.partitions[index]
        self.linearized, self.blocked = ([], None) if self.partition is None else steps_of(self.partition)
        self.steps = self.linearized + ([] if self.blocked is None else [self.blocked])
        self.ops = [] if index is None else self._key_ops(index)
        self.move(len(self.steps) - 1 if self.blocked is not None else 0)

    def step(self, delta: int) -> None:
        """Move the cursor ``delta`` steps along the linearization; stops at the ends."""
        if self.cursor is not None and 0 <= self.cursor + delta < len(self.steps):
            self.move(self.cursor + delta)

    def jump_to_blocked(self) -> None:
        """Move the cursor to the blocked operation (the last step), if there is one."""
        if self.blocked is not None:
            self.move(len(self.steps) - 1)

    def move(self, position: int) -> None:
        """Put the cursor on step ``position`` (clamped) and redraw."""
        self.cursor = min(max(position, 0), len(self.steps) - 1) if self.steps else None
        at_end = self.cursor is None or self.cursor >= len(self.steps) - 1
        self.prev_button.disabled = not self.cursor
        self.next_button.disabled = at_end
        self.blocked_button.disabled = self.blocked is None
        self.position.value = self._position_html()
        self.canvas.draw(self._paint)

    @property
    def current(self) -> int | None:
        """Id of the operation under the cursor."""
        return None if self.cursor is None else self.steps[self.cursor]

    def _paint(self, figure: Any) -> None:
        partition = self.partition
        example = partition.counterexample if partition is not None else None
        title = "" if partition is None else f"key {_key_text(partition.key)}: {partition.verdict}"
        history_timeline(figure.subplots(), self.ops, linearized=self.linearized, blocked=self.blocked,
                         involved=set(example.ops) if example else set(), cursor=self.current,
                         max_ops=self.max_ops, title=title)

    def _key_ops(self, index: int) -> list[dict[str, Any]]:
        if index not in self._by_key:
            partition = self.verdict.partitions[index]
            example = partition.counterexample
            if self.operations is not None:
                self._by_key[index] = key_operations(self.operations, partition.key, self.verdict.model)
            else:  # only what the counterexample mentions
                self._by_key[index] = list(example.operations.values()) if example is not None else []
        return self._by_key[index]

    def _header_html(self) -> str:
        v = self.verdict
        variant = v.details.get("variant")
        level = f"{v.consistency}-{variant}" if variant else v.consistency
        parts = [f"<b>{html.escape(level)}</b> ({html.escape(v.model)}): {verdict_badge(v.verdict)}",
                 f"{v.elapsed:.3f} s, {v.explored} states explored"]
        if v.reason:
            parts.append(f"reason: {html.escape(v.reason)}")
        if v.counterexample is not None:
            parts.append(f"<b>{html.escape(v.counterexample.kind)}</b>: {html.escape(v.counterexample.description)}")
        return "<br>".join(parts)

    def _partitions_html(self, ranked: list[int]) -> str:
        rows = []
        for i in ranked[: self.max_rows]:
            p = self.verdict.partitions[i]
            rows.append((_key_text(p.key), verdict_badge(p.verdict), str(p.n_ops), p.method or "", str(p.explored),
                         f"{p.elapsed:.3f}", p.reason or ""))
        return html_table(["key", "verdict", "operations", "method", "explored", "seconds", "reason"], rows,
                          len(ranked), noun="keys", raw_columns=[1])

    def _position_html(self) -> str:
        if self.cursor is None:
            return "<i>no linearization to step through</i>"
        op_id = self.steps[self.cursor]
        text = next((op.get("text", "") for op in self.ops if op["id"] == op_id), "")
        what = "blocked: " if op_id == self.blocked else ""
        return html.escape(f"step {self.cursor + 1} of {len(self.steps)}: {what}op {op_id} {text}")


def _key_text(key: Hashable | None) -> str:
    return "(single register)" if key is None else show(key)


def _operations(history: Any) -> list[Operation] | None:
    """The checked operations from a ``History``, a sequence of them, or a file."""
    if history is None:
        return None
    if isinstance(history, (str, Path)):
        history = load_history(history)
    return list(history.operations if isinstance(history, History) else history)
