"""Figures of wfsim.viz: checked through their artists, on live and reloaded traces."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from wfsim import (
    EarliestFinishTime,
    NearestEdge,
    Periodic,
    Poisson,
    Simulation,
    Tier,
    Trace,
    Workload,
    chain,
    hierarchical,
    order_processing,
    viz,
)
from wfsim.trace.metrics import utilisation


def _workloads() -> list[Workload]:
    return [
        Workload("sensors", chain(3, work=1e9, data_bytes=1e6), Poisson(0.2)),
        Workload("orders", order_processing(), Periodic(4.0, jitter=1.0), origins=["device-0", "device-1"]),
    ]


def _run(placement=None, *, duration: float = 30.0, until: float | None = None, edge_tier: str = "EdgeCloud",
         seed: int = 3) -> Trace:
    topology = hierarchical(devices=6, edge=2, regional=1, edge_tier=edge_tier)
    sim = Simulation(topology, _workloads(), placement=placement or NearestEdge(), seed=seed,
                     duration=duration, until=until)
    return sim.run().trace


@pytest.fixture(scope="module")
def trace() -> Trace:
    return _run(NearestEdge())


@pytest.fixture(scope="module")
def eft_trace() -> Trace:
    return _run(EarliestFinishTime())


@pytest.fixture(scope="module")
def empty_trace() -> Trace:
    return _run(duration=0.0)


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("wfsim.viz must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def _bars(ax) -> list:
    return [bar for container in ax.containers for bar in container]


def _yticklabels(ax) -> list[str]:
    return [label.get_text() for label in ax.get_yticklabels()]


def _xticklabels(ax) -> list[str]:
    return [label.get_text() for label in ax.get_xticklabels()]


def _texts(ax) -> str:
    return " ".join(t.get_text() for t in ax.texts)


def _tier_of(trace: Trace) -> dict[str, Tier]:
    return {str(n): Tier.parse(str(t)) for n, t in zip(trace.nodes["id"], trace.nodes["tier"])}


# --- gantt ---------------------------------------------------------------------------
def test_gantt_one_bar_per_executed_task_of_the_chosen_workflows(trace):
    ex = trace.executions()
    chosen = sorted(ex["workflow"].unique())[:4]
    ax = viz.gantt(trace, chosen, transfers=False)
    mine = ex[ex["workflow"].isin(chosen) & ex["start"].notna()]
    assert len(mine) > 0 and mine["end"].notna().all()
    assert len(ax.containers) == len(chosen)                   # one colour per workflow
    assert len(_bars(ax)) == len(mine)
    # Bars go from start to end.
    spans = sorted((round(b.get_x(), 9), round(b.get_x() + b.get_width(), 9)) for b in _bars(ax))
    assert spans == sorted(zip(mine["start"].round(9), mine["end"].round(9)))
    # y tick labels are exactly the nodes those tasks ran on, in continuum order upwards.
    labels = _yticklabels(ax)
    assert set(labels) == set(mine["node"].astype(str))
    tiers = _tier_of(trace)
    orders = [tiers[n].order for n in labels]
    assert orders == sorted(orders)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert all(any(label.startswith(f"#{w} ") for label in legend) for w in chosen)


def test_gantt_transfers_add_origin_rows_and_lines(trace):
    chosen = sorted(trace.workflows["workflow"])[:3]
    ax = viz.gantt(trace, chosen, transfers=True)
    ids = set(trace.nodes["id"].astype(str))
    assert set(_yticklabels(ax)) <= ids
    tr = trace.transfers
    moves = tr[tr["workflow"].isin(chosen) & (tr["source"].astype(str) != tr["target"].astype(str))]
    assert len(moves) > 0
    assert set(moves["source"].astype(str)) | set(moves["target"].astype(str)) <= set(_yticklabels(ax))
    (lines,) = ax.collections
    assert len(lines.get_segments()) == len(moves)
    # Transfers don't add bars.
    ex = trace.executions()
    assert len(_bars(ax)) == int((ex["workflow"].isin(chosen) & ex["start"].notna()).sum())


def test_gantt_default_picks_first_arrivals(trace):
    ax = viz.gantt(trace, max_workflows=3)
    assert len(ax.containers) == 3
    first = trace.workflows.sort_values("arrival")["workflow"].iloc[:3]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [label.split()[0] for label in legend[:3]] == [f"#{w}" for w in first]


def test_gantt_draws_unfinished_tasks_up_to_the_horizon():
    cut = _run(NearestEdge(), duration=30.0, until=12.0)
    ex = cut.executions()
    open_tasks = ex[ex["start"].notna() & ex["end"].isna()]
    assert len(open_tasks) > 0
    chosen = sorted(open_tasks["workflow"].unique())
    ax = viz.gantt(cut, chosen)
    assert len(_bars(ax)) == int((ex["workflow"].isin(chosen) & ex["start"].notna()).sum())
    hatched = [b for b in _bars(ax) if b.get_hatch()]
    assert len(hatched) == len(open_tasks)
    assert max(b.get_x() + b.get_width() for b in hatched) == pytest.approx(cut.horizon)


def test_gantt_rejects_unknown_workflows(trace):
    with pytest.raises(ValueError, match="unknown workflow"):
        viz.gantt(trace, [10**9])


def test_gantt_draws_on_the_given_axes(trace):
    _fig, (left, right) = plt.subplots(1, 2)
    assert viz.gantt(trace, ax=right) is right
    assert not left.has_data()


# --- latency by tier -------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["box", "violin"])
def test_latency_by_tier_in_continuum_order(kind):
    tr = _run(EarliestFinishTime(), edge_tier="EdgeDevice")
    ax = viz.latency_by_tier(tr, kind=kind)
    labels = _xticklabels(ax)
    assert labels == [t.value for t in Tier if t.value in set(tr.nodes["tier"].astype(str))]
    assert labels == ["LocalDevice", "EdgeDevice", "RegionalCloud", "Cloud"]
    # The n= annotations add up to the completed tasks, tier by tier.
    ex = tr.executions()
    done = ex[ex["end"].notna()]
    counts = [int(t.get_text().removeprefix("n=")) for t in ax.texts if t.get_text().startswith("n=")]
    assert counts == [int((done["tier"].astype(str) == label).sum()) for label in labels]


def test_latency_by_tier_points_are_the_response_times(trace):
    ax = viz.latency_by_tier(trace, max_points=10**6, log=False)
    points = np.sort(np.concatenate([c.get_offsets()[:, 1] for c in ax.collections]))
    ex = trace.executions()
    done = ex[ex["end"].notna()]
    assert np.allclose(points, np.sort((done["end"] - done["ready"]).to_numpy()))
    assert "end − ready" in ax.get_ylabel()


def test_latency_by_tier_rejects_unknown_quantity(trace):
    with pytest.raises(ValueError, match="quantity"):
        viz.latency_by_tier(trace, quantity="bogus")


# --- latency CDF ---------------------------------------------------------------------------
def test_latency_cdf_per_workload_and_overall(trace):
    ax = viz.latency_cdf(trace)
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [label.split()[0] for label in labels] == ["orders", "sensors", "all"]
    summary = trace.workflow_summary()
    everything = ax.get_lines()[2]
    x, y = everything.get_data()
    completed = summary[summary["state"] == "Completed"]
    assert y[-1] == pytest.approx(len(completed) / len(summary))
    assert x[-1] == pytest.approx(completed["latency"].max())
    assert np.all(np.diff(y) >= 0)


def test_latency_cdf_compares_runs(trace, eft_trace):
    ax = viz.latency_cdf({"NearestEdge": trace, "EFT": eft_trace})
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [label.split()[0] for label in labels] == ["NearestEdge", "EFT"]


# --- utilisation ---------------------------------------------------------------------------
def test_utilisation_by_tier_matches_metrics(trace):
    ax = viz.utilisation_by_tier(trace)
    _, per_tier = utilisation(trace)
    labels = _xticklabels(ax)
    assert labels == [t.value for t in Tier if t.value in per_tier.index]
    heights = [b.get_height() for b in _bars(ax)]
    assert heights == pytest.approx([per_tier[label] for label in labels])


def test_utilisation_by_tier_grouped(trace, eft_trace):
    ax = viz.utilisation_by_tier({"a": trace, "b": eft_trace})
    assert len(ax.containers) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


@pytest.mark.parametrize("draw", [viz.latency_by_tier, viz.utilisation_by_tier])
def test_tier_figures_draw_in_a_subfigure(trace, draw):
    # Tier names slant when the axes is narrow, measured in the subfigure it is drawn in
    # (a SubFigure has no get_figwidth).
    fig = plt.figure(figsize=(12, 3))
    wide, narrow = fig.subfigures(1, 2, width_ratios=[5, 1])
    rotations = [{label.get_rotation() for label in draw(trace, ax=sub.subplots()).get_xticklabels()}
                 for sub in (wide, narrow)]
    assert rotations == [{0.0}, {25.0}]


# --- from disk, empty traces, overview -----------------------------------------------------
def test_figures_work_on_a_loaded_trace(trace, tmp_path):
    trace.save(tmp_path / "run")
    loaded = Trace.load(tmp_path / "run")
    live, disk = viz.gantt(trace, max_workflows=5), viz.gantt(loaded, max_workflows=5)
    assert len(_bars(disk)) == len(_bars(live))
    assert _yticklabels(disk) == _yticklabels(live)
    assert _xticklabels(viz.latency_by_tier(loaded)) == _xticklabels(viz.latency_by_tier(trace))
    assert len(viz.latency_cdf(loaded).get_lines()) == len(viz.latency_cdf(trace).get_lines())
    assert [b.get_height() for b in _bars(viz.utilisation_by_tier(loaded))] == pytest.approx(
        [b.get_height() for b in _bars(viz.utilisation_by_tier(trace))])
    viz.overview(loaded).savefig(tmp_path / "overview.png")
    assert (tmp_path / "overview.png").stat().st_size > 0


@pytest.mark.parametrize(
    "draw, message",
    [
        (viz.gantt, "No executed tasks"),
        (viz.latency_by_tier, "No completed tasks"),
        (viz.latency_cdf, "No completed workflows"),
        (viz.utilisation_by_tier, "No task ran"),
    ],
)
def test_empty_trace_gives_a_message(empty_trace, draw, message, tmp_path):
    assert len(empty_trace.workflows) == 0
    ax = draw(empty_trace)
    assert message in _texts(ax)
    assert not ax.containers or all(b.get_height() == 0 for b in _bars(ax))
    ax.figure.savefig(tmp_path / "empty.png")


def test_gantt_of_workflows_without_executed_tasks(trace):
    # A run cut before any task started: the workflows exist but nothing ran.
    cut = _run(NearestEdge(), until=0.01)
    ax = viz.gantt(cut, list(cut.workflows["workflow"]) or None)
    assert "No executed tasks" in _texts(ax)


def test_overview_of_an_empty_trace(empty_trace):
    fig = viz.overview(empty_trace)
    assert len(fig.axes) == 4
    fig.canvas.draw()


def test_gantt_shows_a_checkpointed_execution_and_its_resumption():
    from wfsim import Link, Node, PlacementStrategy, Task, Topology, Workflow

    class OnE0(PlacementStrategy):
        name = "on_e0"

        def place(self, run, task, cluster):
            return cluster.nodes[1]

    topo = Topology([Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0), Node("e0", Tier.EDGE_CLOUD, cores=1, speed=1.0),
                     Node("e1", Tier.EDGE_CLOUD, cores=1, speed=2.0)],
                    [Link("d", "e0", 0.0, 1e12), Link("e0", "e1", 0.01, 1e6)])
    sim = Simulation(topo, [], placement=OnE0())
    run = sim.executor.submit(Workflow("job", [Task("t", work=10.0)], input_bytes=0.0), "w", 0)
    sim.env.timeout(4.0).callbacks.append(lambda _e: sim.migration.request(run, 0, sim.nodes[2], force=True))
    trace = sim.run().trace
    ax = viz.gantt(trace, [0], transfers=False)
    bars = sorted(_bars(ax), key=lambda b: b.get_x())
    held = trace.holdings()
    assert [(b.get_x(), b.get_x() + b.get_width()) for b in bars] == [
        pytest.approx((s, e)) for s, e in zip(held["start"], held["end"])]
    assert held["start"].iloc[0] == 0.0 and held["end"].iloc[0] == 4.0
    assert bars[0].get_linestyle() == "--" and bars[1].get_linestyle() == "solid"
    assert set(_yticklabels(ax)) == {"e0", "e1"}
