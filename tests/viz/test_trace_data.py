"""The figure data shared by the trace views, against brute-force recomputations."""

from __future__ import annotations

import gc

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.viz.data import HEALTH_CODES, StepSeries, busy_fraction, figure_data

from trace_views_support import diamond_trace, empty_trace, maintenance_trace


@pytest.fixture(scope="module")
def maint():
    return maintenance_trace()


def test_figure_data_is_computed_once_per_trace(maint):
    data = figure_data(maint)
    assert figure_data(maint) is data
    assert data.segments is data.segments                       # cached, not rebuilt
    assert figure_data(diamond_trace()) is not data
    assert figure_data(empty_trace()).segments.empty          # the data keep their trace


def test_figure_data_does_not_keep_old_traces_alive():
    import weakref

    first = diamond_trace()
    ref = weakref.ref(first)
    figure_data(first)
    del first
    for _ in range(4):  # four more traces push it out of the recently used
        figure_data(empty_trace())
    gc.collect()
    assert ref() is None


def test_segments_are_the_executions_with_their_checkpointed_pieces(maint):
    seg = figure_data(maint).segments
    te = maint.task_events
    assert len(seg) == int((te["event"] == "start").sum())
    assert int((seg["stop"] == "checkpointed").sum()) == int((te["event"] == "checkpointed").sum()) > 0
    ended = seg[seg["stop"] == "end"].set_index(["workflow", "task"])
    ex = maint.executions().assign(task=lambda f: f["task"].astype(str)).set_index(["workflow", "task"])
    assert np.allclose(ended["end"], ex.loc[ended.index, "end"])
    assert (seg["end"] >= seg["start"]).all()
    # Rows run from the devices up to the cloud.
    rows = figure_data(maint).rows
    assert list(rows["node"][:1]) == ["device-0"] and rows["node"].iloc[-1] == "cloud"


def _longest_by_recorded_durations(trace, workflow):
    """networkx's longest path with each task weighted by its recorded end − start."""
    ex = trace.executions()
    mine = ex[ex["workflow"] == workflow]
    duration = dict(zip(mine["task"].astype(str), mine["end"] - mine["start"]))
    definition = int(trace.workflows.set_index("workflow").loc[workflow, "definition"])
    edges = trace.task_edges[trace.task_edges["definition"] == definition]
    dag = nx.DiGraph()
    for s, t in zip(edges["source"].astype(str), edges["target"].astype(str)):
        dag.add_edge(s, t, weight=duration[s])
    for sink in [n for n in list(dag) if dag.out_degree(n) == 0]:
        dag.add_edge(sink, "<end>", weight=duration[sink])
    return [t for t in nx.dag_longest_path(dag) if t != "<end>"]


def test_critical_path_of_diamonds_is_the_long_branch():
    trace = diamond_trace()
    data = figure_data(trace)
    for workflow in trace.workflows["workflow"]:
        assert data.critical_path(int(workflow)) == ["a", "b", "d"] == _longest_by_recorded_durations(trace, workflow)


def test_critical_path_of_a_chain_is_the_chain(maint):
    data = figure_data(maint)
    done = data.summary[data.summary["state"] == "Completed"].index[:5]
    assert all(data.critical_path(int(w)) == ["t0", "t1"] for w in done)


def test_load_capacity_and_health_at_t_match_a_brute_force(maint):
    data = figure_data(maint)
    held = maint.holdings()
    caps = maint.states[maint.states["kind"].astype(str) == "capacity"]
    health = maint.states[maint.states["kind"].astype(str) == "health"]
    for t in (5.0, 30.0, 61.0, 100.0, 151.0):
        on = held[(held["start"] <= t) & (held["end"] > t)].groupby("node")["cores"].sum()
        for row, node, cores in zip(data.rows.index, data.rows["node"], data.rows["cores"]):
            before = caps[(caps["entity"].astype(str) == node) & (caps["time"] <= t)]
            cap = float(before["state"].astype(str).iloc[-1]) if len(before) else cores
            assert data.capacity.at(t)[row] == pytest.approx(cap)
            assert data.load_at(t)[row] == pytest.approx(on.get(node, 0.0) / cap, abs=1e-9)
            changes = health[(health["entity"].astype(str) == node) & (health["time"] <= t)]
            assert data.health_at(t)[row] == (changes["state"].astype(str).iloc[-1] if len(changes) else "Healthy")
    edge0 = int(data.row_of["edge-0"])
    assert data.health_at(100.0)[edge0] == "Maintenance" and data.health_at(151.0)[edge0] == "Healthy"


def test_link_usage_at_t(maint):
    data = figure_data(maint)
    use = maint.link_usage
    row = use[(use["bytes"] > 0) & (use["end"] > use["start"])].iloc[0]
    t = (row["start"] + row["end"]) / 2
    links = list(maint.links["link"])
    k = links.index(str(row["link"]))
    on = use[(use["link"].astype(str) == row["link"]) & (use["start"] <= t) & (use["end"] > t)]
    expected = (on["bytes"] / (on["end"] - on["start"])).sum() / maint.links["bandwidth"].iloc[k]
    assert data.link_load.at(t)[k] == pytest.approx(expected)
    assert data.link_transfers.at(t)[k] == len(on) >= 1


def test_step_series_of_changes_keeps_the_latest_value():
    series = StepSeries.of_changes(np.array([2.0, 1.0, 3.0, 1.0]), np.array([0, 0, 0, 1]),
                                   np.array([5.0, 7.0, 1.0, 9.0]), np.array([0.0, 4.0]))
    assert list(series.at(0.5)) == [0.0, 4.0]
    assert list(series.at(1.0)) == [7.0, 9.0]
    assert list(series.at(2.5)) == [5.0, 9.0]
    assert list(series.at(3.0)) == [1.0, 9.0]
    assert HEALTH_CODES["Healthy"] == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 5), st.integers(0, 2), st.integers(1, 4)), max_size=30),
       st.integers(1, 12))
def test_busy_fraction_is_busy_over_available_core_seconds(spans, bins):
    held = pd.DataFrame({"start": [s for s, _, _, _ in spans], "end": [s + d for s, d, _, _ in spans],
                         "band": [b for _, _, b, _ in spans], "cores": [c for _, _, _, c in spans]}, dtype=float)
    # Row 0 has 4 cores, row 1 8 then 2 from t=5, row 2 none until t=3, then 2.
    capacity = pd.DataFrame({"band": [0, 1, 1, 2], "start": [0.0, 0.0, 5.0, 3.0], "end": [16.0, 5.0, 16.0, 16.0],
                             "cores": [4.0, 8.0, 2.0, 2.0]})
    edges = np.linspace(0.0, 16.0, bins + 1)
    got = busy_fraction(held, capacity, [0, 1, 2], edges)

    def core_seconds(frame, lo, hi):
        overlap = (np.minimum(frame["end"], hi) - np.maximum(frame["start"], lo)).clip(lower=0.0)
        return float((overlap * frame["cores"]).sum())

    for k in range(3):
        for b in range(bins):
            lo, hi = edges[b], edges[b + 1]
            had = core_seconds(capacity[capacity["band"] == k], lo, hi)
            busy = core_seconds(held[held["band"] == k], lo, hi)
            assert got[k, b] == pytest.approx(busy / had if had > 0 else 0.0, abs=1e-9)


def test_layout_by_tier_and_devices_grouped_per_parent(maint):
    data = figure_data(maint)
    flat = data.layout(max_devices=100)
    assert not flat.grouped and flat.units == list(flat.units) and len(flat.units) == len(data.rows)
    height = dict(zip(flat.units, flat.pos[:, 1]))
    assert height["cloud"] > height["regional-0"] > height["edge-0"] > height["device-0"]
    grouped = data.layout(max_devices=5)
    assert grouped.grouped
    devices = [u for u in grouped.units if "devices @" in u]
    assert devices == ["4 devices @ edge-0", "4 devices @ edge-1", "4 devices @ edge-2"]
    # device-i attaches to edge-(i mod 3): its unit is that parent's devices.
    assert grouped.units[grouped.unit_of[int(data.row_of["device-4"])]] == "4 devices @ edge-1"
    assert len(grouped.links) == len(maint.links) - 12 + 3 and (grouped.link_of >= 0).all()


def test_figure_data_of_an_empty_trace():
    data = figure_data(empty_trace())
    assert data.segments.empty
    assert list(data.load_at(1.0)) == [0.0, 0.0]
    assert data.layout().units == ["e", "d0"]
