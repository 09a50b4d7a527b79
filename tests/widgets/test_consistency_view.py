"""The ConsistencyView, headless, on a small partitioned run: it builds, and each
control changes what the figure and the tables show."""

from __future__ import annotations

import pytest
from consistency_views_support import adaptive_under_partition

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.model.events import LEVELS
from wfsim.widgets import ConsistencyView


@pytest.fixture(scope="module")
def trace():
    return adaptive_under_partition()


@pytest.fixture(scope="module")
def view(trace):
    """One view for the module (each draw costs a second): the tests change its
    controls in turn, each setting those it reads."""
    return ConsistencyView(trace, latest=5)


def _titles(view: ConsistencyView) -> list[str]:
    return [ax.get_title() for ax in view.canvas.figure.axes]


def test_it_builds_with_every_level_served_and_draws_once(view, trace):
    assert view.canvas.draws == 1 and bytes(view.canvas.image.value).startswith(b"\x89PNG")
    assert set(view.levels.value) == set(LEVELS)
    assert len(view.operations()) == len(trace.operations)
    assert list(view.levels_table()["level"]) == list(LEVELS)
    assert "Latest operations" in view.table.value and "5 of" in view.table.value
    assert "wfsim-consistency-view" in view.widget._dom_classes


def test_the_level_control_narrows_the_figure_and_tables(view):
    before = view.canvas.draws
    view.levels.value = ("Eventual",)
    assert view.canvas.draws == before + 1
    assert set(view.operations()["level"]) == {"Eventual"}
    assert list(view.levels_table()["level"]) == ["Eventual"]
    outcomes = next(ax for ax in view.canvas.figure.axes if ax.get_title().startswith("Attempts by outcome"))
    widths = [p.get_width() for p in outcomes.patches]
    assert sum(widths) == len(view.operations())


def test_the_key_control_offers_types_and_keys(view):
    options = list(view.key.options)
    assert "kv:*" in options and "order:*" in options and "kv:0" in options
    view.key.value = "order:*"
    assert view.operations()["key"].str.startswith("order:").all()
    view.key.value = "kv:0"
    assert set(view.operations()["key"]) == {"kv:0"}
    assert "kv:1" not in view.table.value


def test_the_window_and_the_latency_toggle_redraw(view):
    view.levels.value = tuple(LEVELS)
    view.window.value = (6.0, 9.0)
    ops = view.operations()
    assert len(ops) and ops["call"].between(6.0, 9.0).all()
    health = next(ax for ax in view.canvas.figure.axes if ax.get_title() == "Store health over time")
    assert health.get_xlim() == pytest.approx((6.0, 9.0))
    before = view.canvas.draws
    view.by.value = "requested"
    assert view.canvas.draws == before + 1
    assert any("by level requested" in t for t in _titles(view))


def test_a_trace_without_operations_is_refused():
    plain = Simulation(hierarchical(devices=2, edge=1, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                       duration=3.0, seed=1).run().trace
    with pytest.raises(ValueError, match="no replicated-state operations"):
        ConsistencyView(plain)
