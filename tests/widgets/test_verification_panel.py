"""The verification panel, headless: catalog verdicts of a real run, histories with
known verdicts (tests/data), stepping, filtering, escaping and the renderer registry."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import pytest
from matplotlib.colors import to_rgba

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.verify import CATALOG, PropertyVerdict, TraceCounterexample, check_catalog, check_formula
from wfsim.verify.history import check_history, load_history, parse_history
from wfsim.viz.history import HISTORY_COLORS
from wfsim.widgets import TraceExplorer, VerdictRenderer, VerificationPanel, register_renderer
from wfsim.widgets.renderers import RENDERERS

from history_timeline_support import Bar, drawn_bars

REGISTER = Path(__file__).resolve().parents[1] / "data" / "histories" / "register"

#: Two clients: p0 writes 1 over [0, 10]; p1 reads 1, then the initial value (nil).
#: Once a read saw 1, no later read may see nil: not linearizable, blocked at op 2.
NEW_OLD_INVERSION = "\n".join([
    '{"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 0}',
    '{"process": 1, "type": "invoke", "f": "read", "time": 1}',
    '{"process": 1, "type": "ok", "f": "read", "value": 1, "time": 2}',
    '{"process": 1, "type": "invoke", "f": "read", "time": 3}',
    '{"process": 1, "type": "ok", "f": "read", "value": null, "time": 4}',
    '{"process": 0, "type": "ok", "f": "write", "value": 1, "time": 10}',
    '{"process": 2, "type": "invoke", "f": "write", "value": 2, "time": 11}',
])


class RecordingExplorer:
    """Stands in for a TraceExplorer: records what it is asked to highlight."""

    def __init__(self) -> None:
        self.highlighted: list[list[dict] | None] = []
        self.widget = widgets.HTML()

    def highlight(self, events):
        self.highlighted.append(None if events is None else list(events))


@pytest.fixture(scope="module")
def trace():
    topology = hierarchical(devices=2, edge=1, regional=1)
    return Simulation(topology, [Workload("w", chain(3), Poisson(1.0))], duration=8, seed=1).run().trace


@pytest.fixture(scope="module")
def verdicts(trace) -> list[PropertyVerdict]:
    # No workflow fails in this run: "F failed" is false for every workflow.
    return [*check_catalog(trace), check_formula(trace, "F failed")]


def _rows(table: widgets.HTML) -> int:
    return table.value.count("<tr>") - 1  # minus the header




def _bars(panel) -> dict[int, Bar]:
    return drawn_bars(panel.renderer.canvas.figure.axes[0])


# --- catalog verdicts ------------------------------------------------------------------

def test_counts_and_filters_by_verdict_and_text(verdicts):
    panel = VerificationPanel(verdicts)
    view = panel.renderer
    counts = Counter(v.verdict for v in verdicts)
    assert counts["false"] == 1 and counts["true"] >= 1
    for verdict, n in counts.items():
        assert f"{verdict}: {n}" in view.counts.value
    assert _rows(view.table) == len(verdicts)
    for verdict, n in counts.items():
        view.verdict_filter.value = verdict
        assert _rows(view.table) == n == len(view.shown)
        assert all(v.verdict == verdict for v in view.shown)
    view.verdict_filter.value = "all"
    view.text_filter.value = "LIFECYCLE"
    assert [v.name for v in view.shown] == [n for n in CATALOG if "lifecycle" in n]
    view.text_filter.value = "f failed"  # the user formula, found by its text
    assert [v.name for v in view.shown] == ["formula"]


def test_the_false_property_is_chosen_and_its_counterexamples_stepped_in_order(verdicts):
    explorer = RecordingExplorer()
    view = VerificationPanel(verdicts, explorer=explorer).renderer
    formula = verdicts[-1]
    assert view.selected is formula and len(formula.counterexamples) >= 3
    seen = [view.counterexample]
    while not view.next_button.disabled:
        view.next_button.click()
        seen.append(view.counterexample)
    assert seen == formula.counterexamples
    view.step(+1)  # past the end: stays (and is not shown again)
    assert view.counterexample is formula.counterexamples[-1]
    assert view.position.value == f"counterexample {len(seen)} of {len(seen)}"
    while not view.prev_button.disabled:
        view.prev_button.click()
    assert view.index == 0 and view.prev_button.disabled
    # The explorer was shown each counterexample's slice of the trace, in that order.
    order = formula.counterexamples + formula.counterexamples[-2::-1]
    assert explorer.highlighted == [c.events for c in order]
    assert all(c.events for c in order)


def test_counterexamples_are_highlighted_in_a_trace_explorer_of_the_trace(trace, verdicts):
    panel = VerificationPanel(verdicts, trace=trace)
    view = panel.renderer
    explorer = view.explorer
    assert isinstance(explorer, TraceExplorer) and explorer.widget in panel.renderer.widget.children
    full = (explorer.window.min, explorer.window.max)  # the whole run
    for example in verdicts[-1].counterexamples[:2]:
        times = [e["time"] for e in example.events]
        lo, hi = explorer.drawn.window
        assert explorer.drawn.marks == len(example.events)
        # zoomed around them (within the run's window, which starts at its first execution)
        assert lo <= max(min(times), full[0]) and min(max(times), full[1]) <= hi and hi - lo < full[1] - full[0]
        view.next_button.click()
    view.select("lifecycle")  # true: nothing to highlight
    assert explorer.drawn.marks == 0 and explorer.drawn.window == full


def test_the_counterexample_shows_its_description_and_trace_slice(verdicts):
    view = VerificationPanel(verdicts).renderer
    example = verdicts[-1].counterexamples[0]
    assert re.sub(r"&#x27;|&quot;", "", view.detail.value).count(example.describe().replace("'", "")) == 1
    assert view.detail.value.count("<tr") == len(example.events) + 1  # one row per record, plus the header
    assert "F failed" in view.detail.value


def test_a_property_without_counterexample_clears_the_highlight(verdicts):
    explorer = RecordingExplorer()
    view = VerificationPanel(verdicts, explorer=explorer).renderer
    holding = next(v for v in verdicts if v.verdict == "true")
    view.chooser.value = verdicts.index(holding)
    assert view.selected is holding and view.counterexample is None
    assert explorer.highlighted[-1] is None
    assert view.position.value == "no counterexample" and view.next_button.disabled and view.prev_button.disabled
    view.select("formula")
    assert explorer.highlighted[-1] == verdicts[-1].counterexamples[0].events
    with pytest.raises(KeyError):
        view.select("no such property")


def test_filtering_out_the_chosen_property_chooses_another(verdicts):
    view = VerificationPanel(verdicts).renderer
    view.verdict_filter.value = "true"
    assert view.selected is not None and view.selected.verdict == "true"
    view.text_filter.value = "no property matches this"
    assert view.selected is None and view.shown == [] and view.position.value == "no property chosen"


def test_a_trace_is_checked_and_a_single_verdict_is_accepted(trace, verdicts):
    panel = VerificationPanel(trace)
    assert [v.name for v in panel.renderer.verdicts] == list(CATALOG)
    assert "wfsim-verification-panel" in panel.widget._dom_classes
    single = VerificationPanel(verdicts[-1]).renderer
    assert single.verdicts == [verdicts[-1]]
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()


def test_long_tables_are_capped(verdicts):
    view = VerificationPanel(verdicts).renderer
    view.max_rows = 3
    view.refilter()
    assert _rows(view.table) == 3 and f"showing 3 of {len(verdicts)} properties" in view.table.value
    assert len(view.chooser.options) == 3


def test_names_and_explanations_are_escaped():
    hostile = "<script>alert(1)</script>"
    example = TraceCounterexample("workflow", hostile, 1.0, 0, f"explained {hostile}",
                                  events=[{"table": "workflow_events", "kind": hostile}])
    verdict = PropertyVerdict(hostile, "P<b>", hostile, "ltl", "false", "workflows", 1, violated=1,
                              counterexamples=[example], formula=f"G({hostile})")
    view = VerificationPanel([verdict]).renderer
    assert "<script>" not in view.table.value + view.detail.value
    assert "&lt;script&gt;" in view.table.value and "&lt;script&gt;" in view.detail.value


# --- history verdicts ------------------------------------------------------------------

def test_a_new_old_inversion_is_blocked_at_the_second_read():
    history = parse_history(NEW_OLD_INVERSION, format="jsonl")
    verdict = check_history(history, "register")
    assert verdict.verdict == "violation"
    panel = VerificationPanel(verdict, history=history)
    view = panel.renderer
    assert view.blocked == 2 and view.current == 2  # the cursor starts on the blocked read
    bars = _bars(panel)
    red = to_rgba(HISTORY_COLORS["blocked"])
    assert [op_id for op_id, bar in bars.items() if bar.face == red] == [2]
    assert sorted(bars) == [0, 1, 2, 3]  # every operation of the history is drawn
    assert bars[3].hatch == "//"  # p2's write never returned
    assert {0, 1} <= {op_id for op_id, bar in bars.items() if bar.linewidth > 1}  # involved
    assert "blocked: op 2 p1 read() -&gt; None" in view.position.value
    assert "violation" in view.header.value and "linearizable" in view.header.value
    assert "wfsim-figure" in view.canvas.image._dom_classes
    assert bytes(view.canvas.image.value).startswith(b"\x89PNG")


def test_stepping_walks_the_longest_linearizable_prefix_to_the_blocked_operation():
    path = REGISTER / "r01-stale-bad.log"
    verdict = check_history(path, "register")
    example = verdict.counterexample
    assert verdict.verdict == "violation" and example.prefix and example.blocked is not None
    panel = VerificationPanel(verdict, history=path)
    view = panel.renderer
    assert view.steps == [*example.prefix, example.blocked]
    assert view.next_button.disabled and not view.prev_button.disabled
    walked = [view.current]
    for _ in range(4):  # back from the blocked operation, one redraw each
        view.prev_button.click()
        walked.append(view.current)
    assert walked[::-1] == view.steps[-5:]
    view.move(1)
    view.prev_button.click()
    assert view.prev_button.disabled and view.current == example.prefix[0]
    draws = view.canvas.draws
    view.step(-1)  # before the start: stays, not redrawn
    assert view.cursor == 0 and view.canvas.draws == draws
    green, pale = to_rgba(HISTORY_COLORS["linearized"]), to_rgba(HISTORY_COLORS["later"])
    bars = _bars(panel)
    assert bars[example.prefix[0]].face == green
    assert all(bars[i].face == pale for i in example.prefix[1:] if i in bars)
    view.next_button.click()
    assert view.current == example.prefix[1] and _bars(panel)[example.prefix[1]].face == green
    draws = view.canvas.draws
    view.blocked_button.click()
    assert view.current == example.blocked and view.canvas.draws == draws + 1
    assert len(_bars(panel)) == len(load_history(path))


def test_a_linearizable_history_has_no_red_and_steps_through_its_order():
    path = REGISTER / "r01-ok.log"
    verdict = check_history(path, "register")
    assert verdict.ok
    panel = VerificationPanel(verdict, history=load_history(path))
    view = panel.renderer
    assert view.blocked is None and view.blocked_button.disabled
    assert view.steps == verdict.partitions[0].order and view.cursor == 0
    red = to_rgba(HISTORY_COLORS["blocked"])
    assert not any(bar.face == red for bar in _bars(panel).values())
    view.next_button.click()
    assert view.current == view.steps[1]


def test_without_the_history_the_counterexample_operations_are_drawn():
    verdict = check_history(parse_history(NEW_OLD_INVERSION, format="jsonl"), "register")
    panel = VerificationPanel(verdict)
    assert sorted(_bars(panel)) == sorted(verdict.counterexample.operations)


def test_keys_are_chosen_violations_first():
    text = "\n".join([
        '{"process": 0, "type": "invoke", "f": "write", "key": "ok", "value": 1, "time": 0}',
        '{"process": 0, "type": "ok", "f": "write", "key": "ok", "value": 1, "time": 1}',
        '{"process": 1, "type": "invoke", "f": "read", "key": "<bad>", "time": 0}',
        '{"process": 1, "type": "ok", "f": "read", "key": "<bad>", "value": 5, "time": 1}',
    ])
    history = parse_history(text, format="jsonl")
    view = VerificationPanel(check_history(history, "register"), history=history).renderer
    assert [label for label, _ in view.key_chooser.options] == ["'<bad>'", "'ok'"]
    assert "&lt;bad&gt;" in view.table.value and "<bad>" not in view.table.value
    assert view.partition.key == "<bad>" and view.blocked is not None
    view.key_chooser.value = view.key_chooser.options[1][1]
    assert view.partition.key == "ok" and view.blocked is None and sorted(drawn_bars(view.canvas.figure.axes[0])) == [0]


def test_a_long_history_draws_a_window_around_the_cursor():
    lines = []
    for i in range(600):  # one writer, each write read back by a second client
        lines.append(f'{{"process": 0, "type": "invoke", "f": "write", "value": {i}, "time": {4 * i}}}')
        lines.append(f'{{"process": 0, "type": "ok", "f": "write", "value": {i}, "time": {4 * i + 1}}}')
        lines.append(f'{{"process": 1, "type": "invoke", "f": "read", "time": {4 * i + 2}}}')
        lines.append(f'{{"process": 1, "type": "ok", "f": "read", "value": {i}, "time": {4 * i + 3}}}')
    history = parse_history("\n".join(lines), format="jsonl")
    panel = VerificationPanel(check_history(history, "register"), history=history)
    view = panel.renderer
    assert len(view.steps) == 1200
    assert len(_bars(panel)) == view.max_ops
    assert view.current in _bars(panel)
    view.move(1000)
    assert view.current in _bars(panel) and len(_bars(panel)) == view.max_ops
    assert f"showing {view.max_ops} of 1200 operations" in view.canvas.figure.axes[0].get_title()


# --- the registry -----------------------------------------------------------------------

@dataclass
class KeyConsistency:
    key: str
    level: str


class KeyConsistencyList(VerdictRenderer):
    def __init__(self, results, context):
        self.results = list(results)
        self.widget = widgets.HTML(", ".join(f"{r.key}: {r.level}" for r in results))


def test_a_new_verdict_type_plugs_in_without_editing_the_panel(monkeypatch):
    monkeypatch.setattr("wfsim.widgets.renderers.RENDERERS", dict(RENDERERS))
    with pytest.raises(TypeError, match="no renderer for KeyConsistency"):
        VerificationPanel([KeyConsistency("x", "causal")])
    register_renderer(KeyConsistency, KeyConsistencyList)
    panel = VerificationPanel([KeyConsistency("x", "causal"), KeyConsistency("y", "linearizable")])
    assert isinstance(panel.renderer, KeyConsistencyList)
    assert panel.renderer.widget.value == "x: causal, y: linearizable"


def test_mixed_or_missing_verdicts_are_refused(verdicts):
    history_verdict = check_history(parse_history(NEW_OLD_INVERSION, format="jsonl"), "register")
    with pytest.raises(TypeError, match="one kind of verdict"):
        VerificationPanel([verdicts[0], history_verdict])
    with pytest.raises(ValueError, match="no verdict"):
        VerificationPanel([])


def test_filtering_keeps_the_counterexample_of_a_property_still_listed(verdicts):
    explorer = RecordingExplorer()
    view = VerificationPanel(verdicts, explorer=explorer).renderer
    view.step(+1)
    calls = len(explorer.highlighted)
    view.text_filter.value = "failed"  # the formula "F failed" is still listed
    view.verdict_filter.value = "false"
    assert view.selected is verdicts[-1] and view.index == 1 and len(explorer.highlighted) == calls


def test_a_causal_bad_pattern_draws_the_whole_history_it_was_found_in():
    # p1 reads y = 1, written after x = 1 by p0, then reads x's initial value.
    text = "\n".join(
        f'{{"process": {p}, "type": "{t}", "f": "{f}", "key": "{k}", "value": {v}, "time": {i}}}'
        for i, (p, t, f, k, v) in enumerate([
            (0, "invoke", "write", "x", 1), (0, "ok", "write", "x", 1), (0, "invoke", "write", "y", 1),
            (0, "ok", "write", "y", 1), (1, "invoke", "read", "y", "null"), (1, "ok", "read", "y", 1),
            (1, "invoke", "read", "x", "null"), (1, "ok", "read", "x", "null")]))
    history = parse_history(text, format="jsonl")
    verdict = check_history(history, "register", "causal")
    example = verdict.counterexample
    assert verdict.verdict == "violation" and verdict.partitions[0].key is None and example.blocked == 3
    panel = VerificationPanel(verdict, history=history)
    bars = _bars(panel)
    assert sorted(bars) == [0, 1, 2, 3]  # one check of the whole history: every key drawn
    assert bars[3].face == to_rgba(HISTORY_COLORS["blocked"])
    assert {i for i, bar in bars.items() if bar.linewidth > 1} >= set(example.ops)
    assert "WriteCOInitRead" in panel.renderer.header.value and "causal-cm" in panel.renderer.header.value
