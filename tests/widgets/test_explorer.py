"""TraceExplorer: filters redraw what they say, selection, highlighting, run directories."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from wfsim.verify.properties import TraceView
from wfsim.viz.data import figure_data
from wfsim.viz.layers import GANTT_LAYERS
from wfsim.widgets import TraceExplorer

from trace_views_support import diamond_trace, empty_trace, maintenance_trace


@pytest.fixture(scope="module")
def maint():
    return maintenance_trace()


def test_first_draw_and_css_classes(maint):
    explorer = TraceExplorer(maint)
    assert explorer.canvas.draws == 1 and bytes(explorer.canvas.image.value).startswith(b"\x89PNG")
    assert "wfsim-trace-explorer" in explorer.widget._dom_classes
    assert "wfsim-figure" in explorer.canvas.image._dom_classes
    assert explorer.drawn.segments == len(figure_data(maint).segments)
    assert set(explorer.layers) == set(GANTT_LAYERS)          # one toggle per registered layer
    assert "text/plain" in explorer._repr_mimebundle_()


def test_each_control_redraws_what_it_says(maint):
    explorer = TraceExplorer(maint)
    seg = figure_data(maint).segments
    before = bytes(explorer.canvas.image.value)
    explorer.tier.value = ("EdgeCloud",)
    assert explorer.canvas.draws == 2 and bytes(explorer.canvas.image.value) != before
    assert explorer.drawn.rows == ["edge-0", "edge-1", "edge-2"]
    explorer.node.value = ("edge-2",)
    assert explorer.drawn.rows == ["edge-2"] and explorer.drawn.segments == int((seg["node"] == "edge-2").sum())
    explorer.window.value = (40.0, 80.0)
    assert explorer.drawn.window == (40.0, 80.0)
    assert explorer.drawn.segments == int(((seg["node"] == "edge-2") & (seg["start"] <= 80) & (seg["end"] >= 40)).sum())
    explorer.layers["health"].value = False
    assert "health" not in explorer.drawn.layers and explorer.canvas.draws == 5


def test_set_filter_redraws_once(maint):
    explorer = TraceExplorer(maint)
    explorer.set_filter(workload="analytics", tier=["EdgeCloud", "Cloud"], node=None)
    assert explorer.canvas.draws == 2
    assert explorer.view.workloads == ("analytics",) and explorer.view.tiers == ("EdgeCloud", "Cloud")
    assert explorer.drawn.rows == ["edge-0", "edge-1", "edge-2", "cloud"]
    explorer.set_filter()
    assert explorer.view.tiers == () and len(explorer.drawn.rows) == len(maint.nodes)


def test_select_workflow_highlights_it_and_shows_its_details():
    trace = diamond_trace()
    explorer = TraceExplorer(trace)
    explorer.select_workflow(1)
    assert explorer.drawn.highlighted == 4                      # exactly its four tasks
    assert explorer.drawn.critical_path == ["a", "b", "d"]     # the long branch
    html = explorer.details.value
    assert "Workflow #1" in html and "a → b → d" in html and "latency</b>: 11 s" in html
    assert explorer.workflow.value == 1
    explorer.select_workflow(None)
    assert explorer.drawn.highlighted == 0 and explorer.details.value == ""
    with pytest.raises(ValueError, match="unknown workflow"):
        explorer.select_workflow(99)


def test_highlight_marks_events_and_zooms_around_them(maint):
    # The slice a counterexample of a migrated task's workflow would carry.
    explorer = TraceExplorer(maint)
    full = explorer.drawn.window
    te = maint.task_events
    workflow = int(te.loc[te["event"] == "checkpointed", "workflow"].iloc[0])
    events = TraceView(maint).workflow_slice([workflow])[workflow]
    assert {e["table"] for e in events} == {"workflow_events", "task_events"}
    explorer.highlight(events)
    lo, hi = explorer.drawn.window
    times = [e["time"] for e in events]
    assert full[0] <= lo <= min(times) and max(times) <= hi <= full[1] and hi - lo < full[1] - full[0]
    assert explorer.drawn.marks == len(events) and explorer.view.workflow == workflow
    lines = [line for line in explorer.canvas.figure.axes[0].get_lines() if line.get_linestyle() == ":"]
    assert len(lines) == sum(e["table"] == "workflow_events" for e in events)  # no node: a line
    explorer.highlight(None)
    assert explorer.drawn.window == full and explorer.drawn.marks == 0


def test_set_window_clips_and_rejects_an_empty_one(maint):
    explorer = TraceExplorer(maint)
    explorer.set_window(-5.0, 20.0)
    assert explorer.drawn.window[0] == explorer.window.min and explorer.drawn.window[1] == 20.0
    with pytest.raises(ValueError, match="empty time window"):
        explorer.set_window(30.0, 30.0)


def test_a_run_directory_is_explored_like_its_trace(maint, tmp_path):
    maint.save(tmp_path / "run")
    explorer = TraceExplorer(tmp_path / "run")
    assert explorer.drawn.segments == len(figure_data(maint).segments)


def test_an_empty_trace_shows_a_message():
    explorer = TraceExplorer(empty_trace())
    assert explorer.drawn.mode == "empty" and explorer.canvas.draws == 1
    explorer.set_filter(tier="EdgeCloud")
    assert isinstance(explorer.widget, widgets.VBox)
