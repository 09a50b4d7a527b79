"""The history timeline of wfsim.viz: bars, colours and windows, checked through its artists."""

from __future__ import annotations

import math

import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from wfsim.viz.history import HISTORY_COLORS, history_timeline, op_label, timeline_window

from history_timeline_support import drawn_bars


def _op(op_id: int, process: int, f: str, call: float, ret: float | None, value=None, output=None,
        status: str = "ok") -> dict:
    return {"id": op_id, "process": process, "f": f, "call": call, "ret": ret, "value": value, "output": output,
            "status": status}


#: p0 writes 1 over [0, 10]; p1 reads 1, then the initial value: the new-old inversion.
OPS = [_op(0, 0, "write", 0, 10, value=1), _op(1, 1, "read", 1, 2, output=1), _op(2, 1, "read", 3, 4),
       _op(3, 2, "write", 5, None, value=2, status="info")]




@pytest.mark.parametrize(("op", "label"), [
    (_op(0, 0, "write", 0, 1, value=3), "w(3)"),
    (_op(0, 0, "read", 0, 1, output=3), "r→3"),
    (_op(0, 0, "read", 0, 1), "r→nil"),
    (_op(0, 0, "read", 0, None, status="info"), "r?"),
    (_op(0, 0, "cas", 0, 1, value=[1, 2], status="fail"), "cas(1→2)✗"),
    (_op(0, 0, "write", 0, None, value=4, status="info"), "w(4)?"),
    (_op(0, 0, "append", 0, 1, value="x 0 12 y"), "app(x 0 12 y)"),
    (_op(0, 0, "get", 0, 1, output="x 0 1 y x 1 1 y"), "get→x 0 1 y x…"),
])
def test_labels_are_short(op, label):
    assert op_label(op) == label


def test_one_row_per_process_and_bars_from_call_to_return():
    ax = history_timeline(Figure().subplots(), OPS)
    bars = drawn_bars(ax)
    assert sorted(bars) == [0, 1, 2, 3]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["p0", "p1", "p2"]
    assert (bars[1].start, bars[1].end) == (1, 2)
    rows = {c.get_gid(): c for c in ax.collections}["history-ops"].get_paths()
    assert rows[1].vertices[0, 1] == rows[2].vertices[0, 1] != rows[0].vertices[0, 1]  # p1's reads share a row


def test_an_operation_that_never_returned_runs_to_the_end_hatched():
    ax = history_timeline(Figure().subplots(), OPS)
    open_bar = drawn_bars(ax)[3]
    assert open_bar.hatch == "//" and not drawn_bars(ax)[0].hatch
    assert math.isclose(open_bar.end, ax.get_xlim()[1])
    assert ax.get_xlim()[1] > 10  # past every return


def test_linearized_blocked_and_involved_are_told_apart():
    ax = history_timeline(Figure().subplots(), OPS, linearized=[0, 1], blocked=2, involved={0, 1, 2})
    bars = drawn_bars(ax)
    faces = {op_id: bar.face for op_id, bar in bars.items()}
    assert faces[2] == to_rgba(HISTORY_COLORS["blocked"])
    assert faces[0] == faces[1] == to_rgba(HISTORY_COLORS["linearized"])
    assert faces[3] == to_rgba(HISTORY_COLORS["other"])
    assert bars[0].linewidth > bars[3].linewidth  # involved ones are outlined
    texts = {t.get_text().strip() for t in ax.texts}
    assert {"1: w(1)", "2: r→1", "r→nil", "w(2)?"} <= texts  # numbered in linearization order


def test_the_cursor_pales_the_later_steps():
    ax = history_timeline(Figure().subplots(), OPS, linearized=[0, 1], cursor=0)
    bars = drawn_bars(ax)
    assert bars[0].face == to_rgba(HISTORY_COLORS["linearized"])
    assert bars[1].face == to_rgba(HISTORY_COLORS["later"])
    assert not any(b.face == to_rgba(HISTORY_COLORS["blocked"]) for b in bars.values())


def test_a_long_history_is_windowed_around_the_focus():
    ops = [_op(i, i % 3, "write", 2 * i, 2 * i + 1, value=i) for i in range(1000)]
    kept = timeline_window(ops, focus=700, max_ops=100)
    assert len(kept) == 100 and [op["id"] for op in kept] == list(range(650, 750))
    assert [op["id"] for op in timeline_window(ops, focus=999, max_ops=100)][-1] == 999
    ax = history_timeline(Figure().subplots(), ops, blocked=700, max_ops=60)
    assert sorted(drawn_bars(ax)) == list(range(670, 730))
    assert "showing 60 of 1000 operations" in ax.get_title()
    assert len(ax.texts) == 60
    assert not history_timeline(Figure().subplots(), ops, max_ops=400).texts  # too many bars to label


def test_nothing_to_draw_is_a_message():
    ax = history_timeline(Figure().subplots(), [])
    assert [t.get_text() for t in ax.texts] == ["no operation to draw"]
