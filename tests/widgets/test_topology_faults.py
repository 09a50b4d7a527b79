"""TopologyView on a run with faults: at an instant inside a partition its boundary
links are down (and a crashed node's links), outside it they are up; crashed and
suspected nodes are marked and the legend says so."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from wfsim.viz.continuum import draw_continuum
from wfsim.viz.data import figure_data
from wfsim.widgets import TopologyView

from fault_tables_support import base_trace, with_tables

SITE = {"edge-0", "device-0", "device-2"}


@pytest.fixture(scope="module")
def faulty():
    return with_tables(
        faults=[(5.0, "partition", "site-0", "partitions", ",".join(sorted(SITE))),
                (15.0, "heal", "site-0", "partitions", None),
                (8.0, "crash", "edge-1", "crashes", None), (12.0, "recover", "edge-1", "crashes", None)],
        detections=[(9.0, "edge-1", "Partitioned", 1), (11.0, "edge-1", "Failed", 3), (13.0, "edge-1", "Healthy", 0)])


def down_links(drawn, layout) -> set[frozenset]:
    return {frozenset((drawn.units[a], drawn.units[b])) for (a, b), down in zip(layout.links, drawn.links_down) if down}


def expected(trace, t: float) -> set[frozenset]:
    """Links cut at ``t``, computed from the tables' times directly: one end inside the
    partition while it stands, or an end crashed."""
    out = set()
    for a, b in zip(trace.links["a"].astype(str), trace.links["b"].astype(str)):
        if (5.0 <= t < 15.0 and (a in SITE) != (b in SITE)) or (8.0 <= t < 12.0 and "edge-1" in (a, b)):
            out.add(frozenset((a, b)))
    return out


def test_the_links_cut_at_an_instant(faulty):
    data = figure_data(faulty)
    for t in (3.0, 5.0, 6.0, 10.0, 11.5, 12.0, 14.0, 15.0, 16.0):
        drawn = draw_continuum(Figure().subplots(), data, t)   # not rendered: the data drawn
        assert down_links(drawn, data.layout()) == expected(faulty, t), t


def test_crashed_and_suspected_nodes_and_the_legend(faulty):
    view = TopologyView(faulty, time=10.0)
    units = view.drawn.units
    assert [units[k] for k in range(len(units)) if view.drawn.down[k]] == ["edge-1"]
    assert view.drawn.suspected[units.index("edge-1")] == "Partitioned"
    assert down_links(view.drawn, view.data.layout()) == expected(faulty, 10.0)
    image = bytes(view.canvas.image.value)
    view.show(11.5)
    assert view.drawn.suspected[units.index("edge-1")] == "Failed" and bytes(view.canvas.image.value) != image
    view.show(14.0)
    assert set(view.drawn.suspected) == {"Healthy"} and not view.drawn.down.any()
    labels = [t.get_text() for t in view.canvas.figure.axes[0].get_legend().get_texts()]
    assert {"crashed", "suspected Partitioned", "suspected Failed", "link down"} <= set(labels)


def test_a_run_without_faults_draws_as_before():
    view = TopologyView(base_trace(), time=5.0)
    assert not view.drawn.down.any() and not view.drawn.links_down.any()
    labels = [t.get_text() for t in view.canvas.figure.axes[0].get_legend().get_texts()]
    assert "link down" not in labels
