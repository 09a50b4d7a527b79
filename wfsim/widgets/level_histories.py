"""The verification panel's section on a run's replicated-state histories: the
operations served at each level, each level's history checked by a checker (its own
level's by default), and the chosen verdict with its counterexample timeline."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from wfsim.model.events import LEVELS
from wfsim.trace.trace import Trace
from wfsim.verify.history import CONSISTENCY_LEVELS, History, HistoryVerdict, check_history, from_trace
from wfsim.widgets.history_verdict import HistoryVerdictView
from wfsim.widgets.renderers import PanelContext, html_table, verdict_badge

__all__ = ["NONE", "LevelHistories", "level_checker"]

#: The checker choice that checks nothing.
NONE = "(none)"


def level_checker(level: str) -> str | None:
    """The history checker of a level (``linearizable`` for Linearizable, …); None
    for a level no history checker covers (Eventual promises only convergence)."""
    name = level.lower()
    return name if name in CONSISTENCY_LEVELS else None


class LevelHistories:
    """Each level's history of a run, checked; one verdict shown in detail.

    A table lists, per level served, the operations, clients and keys of its history
    (:func:`~wfsim.verify.history.from_trace`: the attempts served at the level, and
    the writes the store copied down to it from stronger levels) and the verdict of
    its own level's checker (Eventual has none: it promises convergence, a property
    of the catalog). Choosing a level and a checker (a weaker
    level's history against a stronger checker shows what the weaker level gives up)
    checks it once and shows the verdict as the panel shows any history verdict: its
    partitions and a per-key timeline, stepped up to the blocked operation of a
    counterexample.

    Args:
        trace: A trace with an ``operations`` table.
        budget: Seconds each check may take (then its verdict is ``unknown``).

    Attributes:
        histories: Level → its history (levels with operations, strongest first).
        verdicts: ``(level, checker)`` → the verdict, for the checks made.
        level: The level chosen (``Dropdown``).
        checker: The checker chosen (``Dropdown``).
        detail: The chosen verdict's view (a ``HistoryVerdictView``), or None.
        widget: The section.
    """

    def __init__(self, trace: Trace, *, budget: float = 20.0) -> None:
        self.trace = trace
        self.budget = budget
        present = set(trace.operations["level"].astype(str))
        self.histories: dict[str, History] = {level: from_trace(trace, level) for level in LEVELS
                                              if level in present}
        self.verdicts: dict[tuple[str, str], HistoryVerdict] = {}
        for level, history in self.histories.items():
            own = level_checker(level)
            if own is not None and len(history):
                self.check(level, own)
        self.table = widgets.HTML(self._table_html())
        levels = list(self.histories)
        self.level = widgets.Dropdown(options=levels, value=_first_violation(self.verdicts, levels),
                                      description="history")
        self.checker = widgets.Dropdown(options=[NONE, *CONSISTENCY_LEVELS], description="checker")
        self.checker.value = level_checker(self.level.value) or NONE if self.level.value else NONE
        self.detail: HistoryVerdictView | None = None
        self.body = widgets.VBox()
        self.level.observe(self._level_chosen, names="value")
        self.checker.observe(lambda _: self.show(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML("<b>Histories per level</b>: the operations served at each level, checked"),
            self.table, widgets.HBox([self.level, self.checker]), self.body])
        self.show()

    def check(self, level: str, checker: str) -> HistoryVerdict:
        """The verdict of ``level``'s history under ``checker`` (checked once)."""
        if (level, checker) not in self.verdicts:
            self.verdicts[level, checker] = check_history(self.histories[level], "register", checker, self.budget)
        return self.verdicts[level, checker]

    def show(self) -> None:
        """Show the chosen level's history under the chosen checker."""
        level, checker = self.level.value, self.checker.value
        self.detail = None
        if level is None:
            self.body.children = (widgets.HTML("<i>no operation in the trace</i>"),)
        elif not len(self.histories[level]):
            self.body.children = (widgets.HTML(f"<i>no register operation at {html.escape(level)}</i>"),)
        elif checker == NONE:
            self.body.children = (widgets.HTML(
                f"<i>{html.escape(level)} has no history checker (it promises convergence: see the catalog); "
                "choose a checker to see what it gives up</i>"),)
        else:
            verdict = self.check(level, checker)
            self.table.value = self._table_html()
            self.detail = HistoryVerdictView([verdict], PanelContext(self.trace, None, self.histories[level]))
            self.body.children = (self.detail.widget,)

    def _level_chosen(self, change: Mapping[str, Any]) -> None:
        own = level_checker(change["new"]) if change["new"] else None
        if self.checker.value == (own or NONE):
            self.show()
        else:
            self.checker.value = own or NONE  # shows it

    def _table_html(self) -> str:
        rows = []
        for level, history in self.histories.items():
            ops = history.operations
            checks = [f"{checker}: {verdict_badge(v.verdict)}" for (lv, checker), v in self.verdicts.items()
                      if lv == level]
            excluded = history.metadata.get("excluded_keys") or []
            rows.append((level, str(len(ops)), str(len({op.process for op in ops})), str(len({op.key for op in ops})),
                         " ".join(checks) or "–", ", ".join(excluded)))
        return html_table(["level", "operations", "clients", "keys", "verdicts", "keys left out (not registers)"],
                          rows, len(rows), noun="levels", raw_columns=[4])


def _first_violation(verdicts: Mapping[tuple[str, str], HistoryVerdict], levels: list[str]) -> str | None:
    """The first level whose own check failed, else the first level."""
    failed = [level for (level, _), v in verdicts.items() if v.verdict == "violation"]
    return failed[0] if failed else (levels[0] if levels else None)
