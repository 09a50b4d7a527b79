"""The verification panel's view of property verdicts (``check_catalog``, ``check_formula``)."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from wfsim.verify.ltl import INCONCLUSIVE, Truth
from wfsim.verify.properties import NOT_APPLICABLE, PropertyVerdict, TraceCounterexample
from wfsim.widgets.renderers import PanelContext, VerdictRenderer, html_table, verdict_badge

__all__ = ["VERDICT_ORDER", "CatalogVerdicts"]

#: The verdicts a property can have, in the order of the filter's buttons.
VERDICT_ORDER: tuple[str, ...] = (Truth.FALSE.value, INCONCLUSIVE.value, Truth.TRUE.value, NOT_APPLICABLE)


class CatalogVerdicts(VerdictRenderer):
    """A table of property verdicts, filters, and a stepper through counterexamples.

    The table shows at most :attr:`max_rows` properties (with a "showing N of M"
    line); each property keeps at most a handful of counterexamples, each with a
    bounded slice of the trace (``wfsim.verify.properties.MAX_COUNTEREXAMPLES`` and
    ``MAX_SLICE``), so nothing here grows with the size of the trace.

    Each counterexample shown is passed to ``explorer.highlight(events)`` (and
    ``highlight(None)`` when there is none), when there is an explorer: the one
    given, or else a ``TraceExplorer`` of the trace, shown below the stepper.

    Attributes:
        verdicts: Every verdict given, in order.
        shown: The verdicts passing the filters, in order (the table shows the first
            :attr:`max_rows`).
        selected: The property whose counterexamples are stepped through.
        index: Position of the counterexample shown in ``selected.counterexamples``.
        explorer: Where counterexamples are highlighted, if anywhere.
    """

    max_rows = 200

    def __init__(self, results: Sequence[Any], context: PanelContext) -> None:
        self.verdicts: list[PropertyVerdict] = list(results)
        self.shown: list[PropertyVerdict] = self.verdicts
        self.selected: PropertyVerdict | None = None
        self.index = 0
        self._listed: list[int] = []  # positions in the chooser
        self._quiet = False
        owned = context.explorer is None
        self.explorer = context.explorer if not owned else _explorer_of(context.trace)
        counts = Counter(v.verdict for v in self.verdicts)
        self.counts = widgets.HTML(" ".join(verdict_badge(v, f"{v}: {counts[v]}") for v in VERDICT_ORDER))
        self.verdict_filter = widgets.ToggleButtons(
            options=[(f"all ({len(self.verdicts)})", "all"), *((f"{v} ({counts[v]})", v) for v in VERDICT_ORDER)],
            value="all", description="verdict", style={"button_width": "auto"})
        self.text_filter = widgets.Text(description="search", placeholder="id, name, formula")
        self.table = widgets.HTML()
        self.chooser = widgets.Dropdown(description="property", layout=widgets.Layout(width="32em"))
        self.prev_button = widgets.Button(description="◀ prev", tooltip="previous counterexample")
        self.next_button = widgets.Button(description="next ▶", tooltip="next counterexample")
        self.position = widgets.Label()
        self.detail = widgets.HTML()
        self.verdict_filter.observe(lambda _: self.refilter(), names="value")
        self.text_filter.observe(lambda _: self.refilter(), names="value")
        self.chooser.observe(self._chosen, names="value")
        self.prev_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(+1))
        parts: list[widgets.Widget] = [
            self.counts, widgets.HBox([self.verdict_filter, self.text_filter]), self.table, self.chooser,
            widgets.HBox([self.prev_button, self.next_button, self.position]), self.detail,
        ]
        if owned and self.explorer is not None:
            parts.append(self.explorer.widget)
        self.widget = widgets.VBox(parts)
        self.refilter()

    def refilter(self) -> None:
        """Apply the verdict and text filters to the table and the property chooser."""
        wanted, text = self.verdict_filter.value, self.text_filter.value.strip().lower()
        # By position: verdicts are dataclasses, and == would compare their counterexamples.
        positions = [i for i, v in enumerate(self.verdicts)
                     if wanted in ("all", v.verdict) and (not text or text in _searchable(v))]
        self.shown = [self.verdicts[i] for i in positions]
        listed = self._listed = positions[: self.max_rows]
        rows = [(v.pid, v.name, verdict_badge(v.verdict), f"{v.checked} {v.unit}", str(v.violated),
                 str(v.inconclusive), str(len(v.counterexamples)), f"{v.seconds:.3f}")
                for v in (self.verdicts[i] for i in listed)]
        self.table.value = html_table(
            ["id", "property", "verdict", "checked", "violated", "open", "counterexamples", "seconds"],
            rows, len(positions), noun="properties", raw_columns=[2])
        current = next((i for i in listed if self.verdicts[i] is self.selected), None)
        if current is None:  # the first property with a counterexample, else the first one
            current = next((i for i in listed if self.verdicts[i].counterexamples), listed[0] if listed else None)
        self._quiet = True  # the chooser changes several times below: show once, at the end
        try:
            self.chooser.options = [(f"{v.pid} {v.name} — {v.verdict}", i)
                                    for i, v in ((i, self.verdicts[i]) for i in listed)]
            self.chooser.value = current
        finally:
            self._quiet = False
        chosen = None if current is None else self.verdicts[current]
        if chosen is not self.selected or chosen is None:  # a property still listed keeps its counterexample
            self.select(chosen)

    def _chosen(self, change: dict[str, Any]) -> None:
        if not self._quiet and change["new"] is not None and self.verdicts[change["new"]] is not self.selected:
            self.select(self.verdicts[change["new"]])

    def select(self, verdict: PropertyVerdict | str | None) -> None:
        """Step through the counterexamples of ``verdict`` (or of the property of that
        name or id), from the first."""
        if isinstance(verdict, str):
            named = [v for v in self.verdicts if verdict in (v.name, v.pid)]
            if not named:
                raise KeyError(f"no property named {verdict!r} here")
            verdict = named[0]
        self.selected = verdict
        position = next((i for i, v in enumerate(self.verdicts) if v is verdict), None)
        if position in self._listed:
            self.chooser.value = position  # (_chosen sees it selected already)
        self.show(0)

    def step(self, delta: int) -> None:
        """Show the next (``+1``) or previous (``-1``) counterexample; stops at the ends."""
        examples = self.selected.counterexamples if self.selected is not None else []
        target = min(max(self.index + delta, 0), max(len(examples) - 1, 0))
        if target != self.index:
            self.show(target)

    def show(self, index: int) -> None:
        """Show counterexample ``index`` of the selected property (clamped to the ends)."""
        examples = self.selected.counterexamples if self.selected is not None else []
        self.index = min(max(index, 0), max(len(examples) - 1, 0))
        self.prev_button.disabled = self.index == 0
        self.next_button.disabled = self.index >= len(examples) - 1
        example = examples[self.index] if examples else None
        if example is None or self.selected is None:
            self.position.value = "no counterexample" if self.selected is not None else "no property chosen"
            self.detail.value = ""
        else:
            self.position.value = f"counterexample {self.index + 1} of {len(examples)}"
            self.detail.value = _counterexample_html(self.selected, example)
        if self.explorer is not None:
            self.explorer.highlight(example.events if example is not None else None)

    @property
    def counterexample(self) -> TraceCounterexample | None:
        """The counterexample shown, if any."""
        examples = self.selected.counterexamples if self.selected is not None else []
        return examples[self.index] if examples else None


def _searchable(verdict: PropertyVerdict) -> str:
    return " ".join([verdict.pid, verdict.name, verdict.seed_ref, verdict.formula or ""]).lower()


def _counterexample_html(verdict: PropertyVerdict, example: TraceCounterexample) -> str:
    """The counterexample's one-line description and its slice of the trace."""
    formula = f"<div><code>{html.escape(verdict.formula)}</code></div>" if verdict.formula else ""
    trigger = "" if example.trigger_step is None else f" (obligation from step {example.trigger_step})"
    events = (example.frame().to_html(index=False, escape=True, na_rep="", border=0)
              if example.events else "<i>no trace records</i>")
    return (f"{formula}<div>{verdict_badge(example.verdict)} {html.escape(example.describe())}"
            f"{html.escape(trigger)}</div>{events}")


def _explorer_of(trace: Any) -> Any:
    """A ``TraceExplorer`` of ``trace``, if there is a trace."""
    if trace is None:
        return None
    from wfsim.widgets.explorer import TraceExplorer  # its figure data are computed only when needed

    return TraceExplorer(trace)
