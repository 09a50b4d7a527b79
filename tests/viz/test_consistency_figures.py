"""The consistency figures' data on small real runs (an edge site partitioned), each
checked against the ``operations`` and ``health`` tables read directly, and each
figure drawn; the Gantt layers of the store's health and the downgrades."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from consistency_views_support import adaptive_under_partition, eventual_under_partition, state_run
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.consistency.settings import ConsistencySettings
from wfsim.model.events import LEVELS, OUTCOMES
from wfsim.policies.consistency import FixedLevel
from wfsim.viz import consistency as cv
from wfsim.viz.data import figure_data
from wfsim.viz.timeline import GanttView, draw_gantt


@pytest.fixture(scope="module")
def spectrum():
    return adaptive_under_partition()


@pytest.fixture(scope="module")
def eventual():
    return eventual_under_partition()


@pytest.fixture(scope="module")
def plain():
    """A run without replicated state."""
    return Simulation(hierarchical(devices=2, edge=1, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                      duration=5.0, seed=1).run().trace


def test_the_partitioned_adaptive_run_exercises_every_figure(spectrum):
    ops = spectrum.operations
    assert set(ops["level"].astype(str)) == set(LEVELS)
    assert (ops["attempt"] > 0).any() and (ops["outcome"].astype(str) == "unknown").any()
    assert spectrum.health["health"].astype(str).nunique() > 1


def test_latencies_are_the_ok_attempts_ret_minus_call(spectrum):
    lat = cv.attempt_latencies(spectrum)
    ops = spectrum.operations
    ok = ops[ops["outcome"].astype(str) == "ok"].set_index("op")
    assert sorted(lat["op"]) == sorted(ok.index)
    assert np.allclose(lat.set_index("op")["latency"], (ok["ret"] - ok["call"]).reindex(lat["op"]))
    # A downgraded request was served below the level requested.
    below = lat[lat["attempt"] > 0]
    assert len(below) and (below["level"].map(LEVELS.index) > below["requested"].map(LEVELS.index)).all()


def test_a_selection_keeps_its_levels_keys_and_window(spectrum):
    chosen = cv.Selection(levels=("Eventual",), key="kv:*", start=4.0, end=9.0)
    ops = cv.operations_frame(spectrum, chosen)
    assert len(ops)
    assert set(ops["level"]) == {"Eventual"}
    assert ops["key"].str.startswith("kv:").all()
    assert ops["call"].between(4.0, 9.0).all()
    everything = cv.operations_frame(spectrum)
    expected = everything[(everything["level"] == "Eventual") & everything["key"].str.startswith("kv:")
                          & everything["call"].between(4.0, 9.0)]
    assert list(ops["op"]) == list(expected["op"])
    one_key = cv.operations_frame(spectrum, cv.Selection(key="kv:1"))
    assert len(one_key) and set(one_key["key"]) == {"kv:1"}


def _stale_by_brute_force(trace) -> dict[int, bool]:
    """Each ok read: stale iff some write to its key acknowledged before its call was
    invoked after the write it returned was acknowledged (any acknowledged one, for a
    read of null); a value not acknowledged before the call is fresh."""
    ops = trace.operations
    ok = ops[ops["outcome"].astype(str) == "ok"]
    writes = ok[ok["f"].astype(str) == "write"]
    ack = dict(zip(writes["op"], writes["ret"]))
    out = {}
    for _, r in ok[ok["f"].astype(str) == "read"].iterrows():
        before = writes[(writes["key"].astype(str) == str(r["key"])) & (writes["ret"] < r["call"])]
        returned = json.loads(r["output"])
        if returned is not None and (returned not in ack or ack[returned] >= r["call"]):
            out[int(r["op"])] = False
        else:
            since = -np.inf if returned is None else ack[returned]
            out[int(r["op"])] = bool((before["call"] > since).any())
    return out


def test_stale_reads_match_a_brute_force_judgement(eventual):
    reads = cv.read_staleness(eventual)
    assert dict(zip(reads["op"], reads["stale"])) == _stale_by_brute_force(eventual)
    assert reads["stale"].any() and not reads["stale"].all()
    stale = reads[reads["stale"]]
    assert (stale["staleness"] > 0).all() and (stale["versions"] >= 1).all()
    assert (reads.loc[~reads["stale"], "staleness"] == 0).all()


def test_staleness_by_level_counts_and_shares(eventual):
    table = cv.staleness_by_level(cv.read_staleness(eventual))
    assert list(table.index) == list(LEVELS)
    reads = cv.read_staleness(eventual)
    assert table.at["Eventual", "reads"] == len(reads)
    assert table.at["Eventual", "stale_share"] == pytest.approx(reads["stale"].mean())
    assert table.at["Eventual", "age_max"] == pytest.approx(reads["staleness"].max())
    assert table.loc[["Linearizable", "Sequential", "Causal"], "reads"].sum() == 0


def test_linearizable_reads_are_never_stale():
    raft = state_run(ConsistencySettings(strategy=FixedLevel("Linearizable"), clients=4, client_keys=2))
    table = cv.staleness_by_level(cv.read_staleness(raft))
    assert table.at["Linearizable", "reads"] > 50 and table.at["Linearizable", "stale"] == 0


def test_health_spans_are_the_checks_states_as_steps(spectrum):
    spans = cv.health_spans(spectrum)
    health = spectrum.health
    for row, column in (("observed", "observed"), ("in force", "health")):
        mine = spans[spans["row"] == row].reset_index(drop=True)
        # Contiguous, from the first check to the end, each span a change of state.
        assert mine["start"].iloc[0] == health["time"].iloc[0]
        assert (mine["start"].iloc[1:].to_numpy() == mine["end"].iloc[:-1].to_numpy()).all()
        assert (mine["state"].iloc[1:].to_numpy() != mine["state"].iloc[:-1].to_numpy()).all()
        at = np.searchsorted(mine["start"].to_numpy(), health["time"].to_numpy(), side="right") - 1
        assert list(mine["state"].to_numpy()[at]) == list(health[column].astype(str))
    window = cv.health_spans(spectrum, cv.Selection(start=4.0, end=9.0))
    assert window["start"].min() >= 4.0 and window["end"].max() <= 9.0


def test_downgrades_go_one_level_down_from_the_previous_attempt(spectrum):
    moves = cv.downgrades(spectrum)
    ops = spectrum.operations
    assert len(moves) == int((ops["attempt"] > 0).sum())
    level = {(int(r), int(a)): str(lv) for r, a, lv in zip(ops["request"], ops["attempt"], ops["level"])}
    for r, a, src, dst in zip(moves["request"], moves["attempt"], moves["from"], moves["to"]):
        assert src == level[(r, a - 1)] and dst == level[(r, a)]
        assert LEVELS.index(dst) == LEVELS.index(src) + 1
    last = str(moves["to"].iloc[-1])
    only = cv.downgrades(spectrum, cv.Selection(levels=(last,)))
    assert len(only) == int((moves["to"] == last).sum()) and set(only["to"]) == {last}


def test_outcomes_per_level_count_every_attempt(spectrum):
    counts = cv.outcomes_by_level(spectrum)
    assert list(counts.index) == list(LEVELS) and list(counts.columns) == list(OUTCOMES)
    ops = spectrum.operations
    expected = pd.crosstab(ops["level"].astype(str), ops["outcome"].astype(str))
    for level in LEVELS:
        for outcome in OUTCOMES:
            have = expected.at[level, outcome] if level in expected.index and outcome in expected.columns else 0
            assert counts.at[level, outcome] == have


def test_level_summary_puts_cost_and_freshness_side_by_side(spectrum):
    table = cv.level_summary(spectrum).set_index("level")
    lat = cv.attempt_latencies(spectrum)
    for level in LEVELS:
        mine = lat.loc[lat["level"] == level, "latency"]
        assert table.at[level, "ok"] == len(mine)
        assert table.at[level, "latency_mean"] == pytest.approx(mine.mean(), nan_ok=True)
    assert list(cv.level_summary(spectrum, cv.Selection(levels=("Causal",)))["level"]) == ["Causal"]


def test_each_figure_draws_its_data(spectrum):
    fig = Figure()
    ax = fig.subplots()
    lat = cv.attempt_latencies(spectrum)
    cv.draw_latency(ax, lat)
    assert len(ax.patches) == lat["level"].nunique() > 1  # one box per level served with ok attempts
    ax = fig.subplots()
    moves = cv.downgrades(spectrum)
    cv.draw_downgrades(ax, moves)
    assert sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)) == len(moves)
    ax = Figure().subplots()
    cv.draw_health(ax, cv.health_spans(spectrum))
    spans = cv.health_spans(spectrum)
    assert sum(len(c.get_paths()) for c in ax.collections) == len(spans)
    ax = Figure().subplots()
    counts = cv.outcomes_by_level(spectrum)
    cv.draw_outcomes(ax, counts)
    assert [round(p.get_width()) for p in ax.patches] == [int(v) for o in counts.columns for v in counts[o]]
    ax = Figure().subplots()
    cv.draw_staleness(ax, cv.read_staleness(spectrum))
    assert len(ax.patches) == len(LEVELS)
    fig = cv.consistency_overview(spectrum, fig=Figure(figsize=(12, 8)))
    assert len(fig.axes) == 6  # five panels, the staleness one with its twin
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_latency_by_level_requested_and_as_violins(spectrum):
    ax = Figure().subplots()
    cv.draw_latency(ax, cv.attempt_latencies(spectrum), by="requested", kind="violin")
    assert "requested" in ax.get_title()
    with pytest.raises(ValueError, match="by must be"):
        cv.draw_latency(ax, cv.attempt_latencies(spectrum), by="node")


def test_a_run_without_replicated_state_has_empty_frames_and_says_so(plain):
    assert cv.attempt_latencies(plain).empty and cv.downgrades(plain).empty
    assert cv.health_spans(plain).empty and cv.read_staleness(plain).empty
    assert int(cv.outcomes_by_level(plain).to_numpy().sum()) == 0
    fig = cv.consistency_overview(plain, fig=Figure(figsize=(12, 8)))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert {"no ok attempt", "no ok read", "no operation", "no health check", "no downgrade"} <= set(texts)


def test_the_gantt_layers_draw_health_on_replica_rows_and_downgrades_on_client_rows(spectrum, plain):
    ax = Figure().subplots()
    drawn = draw_gantt(ax, figure_data(spectrum), GanttView(start=0.0, layers=("store health", "downgrades")))
    spans = cv.health_spans(spectrum)
    bad = spans[(spans["row"] == "in force") & (spans["state"] != "Healthy")]
    replicas = spectrum.replicas["node"].astype(str).nunique()
    assert drawn.layers["store health"] == len(bad) * replicas > 0
    assert drawn.layers["downgrades"] == len(cv.downgrades(spectrum)) > 0
    health_boxes = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_zorder() == 2.5]
    assert sum(len(c.get_paths()) for c in health_boxes) == drawn.layers["store health"]
    drawn = draw_gantt(Figure().subplots(), figure_data(plain), GanttView(layers=("store health", "downgrades")))
    assert drawn.layers == {"store health": 0, "downgrades": 0}
