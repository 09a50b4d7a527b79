"""TopologyView: the continuum at two instants, the play button, grouped devices."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from wfsim.viz.data import figure_data
from wfsim.widgets import TopologyView

from trace_views_support import empty_trace, maintenance_trace


@pytest.fixture(scope="module")
def maint():
    return maintenance_trace()


def test_two_instants_differ_where_load_and_health_changed(maint):
    view = TopologyView(maint)
    assert "wfsim-topology-view" in view.widget._dom_classes and "wfsim-figure" in view.canvas.image._dom_classes
    data = figure_data(maint)
    view.show(30.0)
    first, image = view.drawn, bytes(view.canvas.image.value)
    view.show(100.0)
    second = view.drawn
    assert bytes(view.canvas.image.value) != image and view.canvas.draws == 3
    edge0 = first.units.index("edge-0")
    assert first.health[edge0] == "Healthy" and second.health[edge0] == "Maintenance"
    assert np.allclose(first.load, data.load_at(30.0)[np.argsort(data.layout().unit_of)])
    changed = ~np.isclose(first.load, second.load)
    assert changed.any()
    assert {first.units[k] for k in np.flatnonzero(changed)} <= {"edge-0", "edge-1", "edge-2", "regional-0", "cloud"}


def test_play_is_linked_to_the_frame_slider_which_moves_the_time(maint):
    view = TopologyView(maint, frames=50)
    assert isinstance(view.link, widgets.widget_link.Link)
    assert view.link.source == (view.play, "value") and view.link.target == (view.frame, "value")
    draws = view.canvas.draws
    view.frame.value = 25
    assert view.time.value == pytest.approx(maint.horizon / 2) and view.canvas.draws == draws + 1
    view.show(view.time.value)                                  # the same instant redraws too
    assert view.canvas.draws == draws + 2


def test_many_devices_are_grouped_per_parent(maint):
    view = TopologyView(maint, max_devices=5)
    assert [u for u in view.drawn.units if "devices @" in u] == [f"4 devices @ edge-{k}" for k in range(3)]
    assert "grouped" in view.canvas.figure.axes[0].get_title()


def test_an_empty_trace_draws_its_idle_nodes():
    view = TopologyView(empty_trace())
    assert view.drawn.units == ["e", "d0"] and not view.drawn.load.any()


def test_links_show_the_transfers_in_flight(maint):
    use = maint.link_usage
    busy = use[(use["bytes"] > 0) & (use["end"] > use["start"])].iloc[0]
    t = float((busy["start"] + busy["end"]) / 2)
    view = TopologyView(maint, time=t)
    in_flight = int(((use["start"] <= t) & (use["end"] > t)).sum())
    assert view.drawn.link_transfers.sum() == in_flight >= 1
    assert view.drawn.link_load.max() > 0
    view.show(maint.horizon)
    assert view.drawn.link_transfers.sum() == 0
