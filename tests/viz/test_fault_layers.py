"""The Gantt's fault layers (down, partitions, suspicions, decisions) on hand-written
fault tables: each draws its rows in the window, on its node's row, and nothing
outside the window or for nodes not shown."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure

from wfsim.viz.data import figure_data
from wfsim.viz.fault_layers import DECISION_COLORS
from wfsim.viz.layers import GANTT_LAYERS
from wfsim.viz.timeline import GanttView, draw_gantt

from fault_tables_support import base_trace, with_tables

FAULT_LAYERS = ("down", "partitions", "suspicions", "decisions")
NAN = float("nan")


@pytest.fixture(scope="module")
def faulty():
    return with_tables(
        faults=[(5.0, "crash", "edge-0", "crashes", None), (15.0, "recover", "edge-0", "crashes", None),
                (6.0, "partition", "site-1", "partitions", "edge-1,device-1,device-3"),
                (12.0, "heal", "site-1", "partitions", None)],
        detections=[(6.0, "edge-0", "Partitioned", 1), (8.0, "edge-0", "Failed", 3), (16.0, "edge-0", "Healthy", 0)],
        decisions=[(7.0, "edge-1", 0, "t0", "fallback", "UseCache", NAN, 2.0),
                   (9.5, "edge-1", 1, "t0", "local", None, 1.0, NAN)])


def draw(trace, **view):
    ax = Figure().subplots()
    return ax, draw_gantt(ax, figure_data(trace), GanttView(layers=FAULT_LAYERS, **view))


def boxes(ax, zorder):
    return [p.vertices for c in ax.collections if isinstance(c, PolyCollection) and c.get_zorder() == zorder
            for p in c.get_paths()]


def test_the_fault_layers_are_on_by_default_and_empty_without_faults():
    assert set(FAULT_LAYERS) <= set(GanttView().layers)
    assert all(GANTT_LAYERS[name].default for name in FAULT_LAYERS)
    _, drawn = draw(base_trace())
    assert drawn.layers == dict.fromkeys(FAULT_LAYERS, 0)


@pytest.mark.parametrize("window, counts", [
    ((0.0, 20.0), {"down": 1, "partitions": 3, "suspicions": 2, "decisions": 2}),
    ((13.0, 14.0), {"down": 1, "partitions": 0, "suspicions": 1, "decisions": 0}),
    ((16.5, 20.0), {"down": 0, "partitions": 0, "suspicions": 0, "decisions": 0}),
])
def test_each_layer_draws_its_rows_in_the_window_and_nothing_outside(faulty, window, counts):
    _, drawn = draw(faulty, start=window[0], end=window[1])
    assert drawn.layers == counts


def test_the_bands_sit_on_their_nodes_rows(faulty):
    ax, drawn = draw(faulty, start=0.0, end=20.0)
    y = {node: float(k) for k, node in enumerate(drawn.rows)}
    (down,) = boxes(ax, 2.6)
    assert down[:, 1].min() == y["edge-0"] - 0.5 and down[:, 1].max() == y["edge-0"] + 0.5
    assert down[:, 0].min() == 5.0 and down[:, 0].max() == 15.0
    cut = boxes(ax, 1)
    centres = sorted((b[:, 1].min() + b[:, 1].max()) / 2 for b in cut)
    assert centres == sorted(y[n] for n in ("edge-1", "device-1", "device-3"))
    assert {(b[:, 0].min(), b[:, 0].max()) for b in cut} == {(6.0, 12.0)}
    suspicions = sorted((b[:, 0].min(), b[:, 0].max()) for b in boxes(ax, 3))
    assert suspicions == [(6.0, 8.0), (8.0, 16.0)]
    (marks,) = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_zorder() == 4]
    assert np.allclose(marks.get_offsets(), [[7.0, y["edge-1"] + 0.3], [9.5, y["edge-1"] + 0.3]])
    colors = marks.get_facecolors()[:, :3]
    assert not np.allclose(colors[0], colors[1]) and DECISION_COLORS["UseCache"] != DECISION_COLORS["local"]


def test_a_node_not_shown_gets_no_band(faulty):
    _, drawn = draw(faulty, start=0.0, end=20.0, nodes=("edge-1",))
    assert drawn.rows == ["edge-1"]
    assert drawn.layers == {"down": 0, "partitions": 1, "suspicions": 0, "decisions": 2}


def test_nodes_with_faults_never_fold(faulty):
    _, drawn = draw(faulty, max_rows=1)
    assert {"edge-0", "edge-1", "device-1", "device-3"} <= set(drawn.rows)
