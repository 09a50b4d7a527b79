"""The large-trace Gantt: filters, the bars/bins rule, folded rows, marks and layers."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.figure import Figure

from wfsim.trace.trace import Trace
from wfsim.viz.data import figure_data
from wfsim.viz.layers import GANTT_LAYERS, GanttFrame, GanttLayer, register_layer
from wfsim.viz.timeline import GanttView, draw_gantt

from trace_views_support import empty_trace, maintenance_trace


@pytest.fixture(scope="module")
def maint():
    return maintenance_trace()


def _draw(trace, **view):
    ax = Figure().subplots()
    return ax, draw_gantt(ax, figure_data(trace), GanttView(**view))


def _bars(ax) -> int:
    return sum(len(c.get_paths()) for c in ax.collections if isinstance(c, PolyCollection) and c.get_zorder() == 2)


def test_every_execution_is_a_bar_in_few_artists(maint):
    ax, drawn = _draw(maint, layers=())
    assert drawn.mode == "bars" and drawn.segments == len(figure_data(maint).segments)
    assert _bars(ax) == drawn.segments
    assert len(ax.collections) <= 4                           # per workload and outline, not per task


def test_filters_change_what_is_drawn(maint):
    seg = figure_data(maint).segments
    ax, drawn = _draw(maint, tiers=("EdgeCloud",), layers=())
    assert drawn.rows == ["edge-0", "edge-1", "edge-2"] and _bars(ax) == int((seg["tier"] == "EdgeCloud").sum())
    ax, drawn = _draw(maint, nodes=("edge-1",), start=50.0, end=100.0, layers=())
    mine = seg[(seg["node"] == "edge-1") & (seg["start"] <= 100.0) & (seg["end"] >= 50.0)]
    assert drawn.rows == ["edge-1"] and _bars(ax) == len(mine) > 0
    assert ax.get_xlim() == (50.0, 100.0)
    _, drawn = _draw(maint, workloads=("nothing-like-it",))
    assert drawn.mode == "empty"


def test_many_executions_become_busy_fraction_bins(maint):
    ax, drawn = _draw(maint, max_bars=10, bins=50, layers=())
    assert drawn.mode == "bins" and _bars(ax) == 0
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    values = mesh.get_array()
    # Busy over available core-seconds: never above 1, autoscaling included.
    assert values.shape == (len(drawn.rows), 50) and values.min() >= 0.0 and values.max() <= 1.0 + 1e-9


def test_rows_beyond_the_cap_fold_into_a_band_per_tier(maint):
    _, drawn = _draw(maint, max_rows=4, layers=())
    assert "+12 LocalDevice" in drawn.rows                   # devices run nothing: folded
    assert len(drawn.rows) <= 4 + 4
    assert {"edge-0", "edge-1", "edge-2"} <= set(drawn.rows)  # the busiest keep their rows
    _, drawn = _draw(maint, max_rows=1, layers=())
    assert "edge-0" in drawn.rows                            # its health changed: never folded
    _, drawn = _draw(maint, max_rows=1, layers=(), marks=({"time": 5.0, "node": "device-3"},))
    assert "device-3" in drawn.rows and "+11 LocalDevice" in drawn.rows


def test_selected_workflow_and_its_critical_path(maint):
    data = figure_data(maint)
    workflow = int(data.summary.index[10])
    ax, drawn = _draw(maint, workflow=workflow, layers=())
    assert drawn.highlighted == int((data.segments["workflow"] == workflow).sum())
    assert drawn.critical_path == data.critical_path(workflow)
    red = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_zorder() == 5
           and np.allclose(c.get_edgecolor()[0][:3], (1, 0, 0))]
    assert sum(len(c.get_paths()) for c in red) >= len(drawn.critical_path)


def test_marks_at_event_rows(maint):
    ax, drawn = _draw(maint, marks=({"table": "states", "time": 60.0, "node": "edge-0"},
                                    {"table": "workflow_events", "time": 61.0, "workflow": 3}), layers=())
    assert drawn.marks == 2
    assert any(len(c.get_offsets()) == 1 for c in ax.collections if not isinstance(c, PolyCollection))
    assert any(line.get_xdata()[0] == 61.0 for line in ax.get_lines())


def test_builtin_layers_draw_the_tables(maint):
    _, drawn = _draw(maint, layers=tuple(GANTT_LAYERS))
    m = maint.migrations
    assert drawn.layers["migrations"] == m["migration"].nunique() > 0
    assert drawn.layers["allocations"] == len(maint.allocations)
    assert drawn.layers["health"] == 1                       # edge-0's maintenance window
    assert drawn.layers["transfers"] > 0


def test_a_new_layer_plugs_in_by_registering(maint, monkeypatch):
    monkeypatch.setattr("wfsim.viz.layers.GANTT_LAYERS", dict(GANTT_LAYERS))
    monkeypatch.setattr("wfsim.viz.timeline.GANTT_LAYERS", __import__("wfsim.viz.layers").viz.layers.GANTT_LAYERS)
    built = []

    @register_layer
    class Rebalances(GanttLayer):
        name = "rebalances"
        tables = ("rebalances",)

        def build(self, trace: Trace):
            built.append(trace)
            return trace.rebalances.assign(start=trace.rebalances["time"], end=trace.rebalances["time"])

        def draw(self, ax, data, frame: GanttFrame) -> int:
            shown = frame.shown(data)
            ax.scatter(shown["start"], frame.y(shown["node"]), marker="o")
            return len(shown)

    _, drawn = _draw(maint, layers=("rebalances",))
    _draw(maint, layers=("rebalances",))
    assert drawn.layers == {"rebalances": len(maint.rebalances)} and len(maint.rebalances) > 0
    assert built == [maint]                                  # built once per trace


def test_empty_trace_gives_a_message():
    ax, drawn = _draw(empty_trace())
    assert drawn.mode == "empty" and "No task executions" in ax.texts[0].get_text()
