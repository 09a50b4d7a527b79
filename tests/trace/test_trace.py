"""Tests of wfsim.trace (Trace, summarize) on small scenarios computed by hand.

Scenario "queue" (docstring of :func:`queue_run`) exercises utilisation, cost, energy,
latency percentiles, makespan, throughput and deadline misses; scenario "io" a single
known transfer over a two-hop topology; plus persistence and an empty run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wfsim import (
    CloudOnly,
    Link,
    LocationRequirement,
    Node,
    Periodic,
    Simulation,
    Task,
    Tier,
    Topology,
    Trace,
    Workflow,
    Workload,
    summarize,
)
from wfsim.trace.trace import TABLES

PRICE, IDLE, BUSY = 0.5, 10.0, 30.0


def queue_run(until: float = 7.0) -> Trace:
    """Node ``n`` (Cloud, 2 cores, speed 1, price 0.5/core-s, 10 W idle, 30 W busy) runs
    everything; ``m`` (Cloud, same spec) and ``e`` (EdgeCloud, 4 cores, 5/7 W) stay idle.

    Workload ``w``: one task of work 2.5 (2.5 s on one core) arriving every second
    from t=0.5 (arrivals 0.5, 1.5, 2.5, 3.5, 4.5 in the window [0, 5)); workflow and
    task deadline 2.8 s. By hand (FIFO, two cores):

    ====  =======  =====  =====  =======
    inst  arrival  start  end    latency
    ====  =======  =====  =====  =======
    A0    0.5      0.5    3.0    2.5
    A1    1.5      1.5    4.0    2.5
    A2    2.5      3.0    5.5    3.0     (queued until A0 ends)
    A3    3.5      4.0    6.5    3.0     (queued until A1 ends)
    A4    4.5      5.5    8.0    —       (still running at the horizon 7)
    ====  =======  =====  =====  =======

    Workload ``b``: one instance at t=1.0 of a task restricted to EdgeCloud with
    deadline 1.0; CloudOnly cannot place it, so task and workflow fail at t=1.0.
    """
    n = Node("n", Tier.CLOUD, cores=2, speed=1.0, price=PRICE, idle_power=IDLE, busy_power=BUSY)
    m = Node("m", Tier.CLOUD, cores=2, speed=1.0, price=PRICE, idle_power=IDLE, busy_power=BUSY)
    e = Node("e", Tier.EDGE_CLOUD, cores=4, speed=1.0, price=0.1, idle_power=5.0, busy_power=7.0)
    topo = Topology([n, m, e], [Link("n", "m", 0.01, 1e9), Link("n", "e", 0.01, 1e9)])
    one = Workflow("one", [Task("t", work=2.5, deadline=2.8)], deadline=2.8)
    bad = Workflow("bad", [Task("x", location=LocationRequirement.specific(Tier.EDGE_CLOUD), deadline=1.0)],
                   deadline=1.0)
    workloads = [Workload("w", one, Periodic(1.0, phase=0.5), origins=["n"]),
                 Workload("b", bad, Periodic(10.0, phase=1.0), origins=["n"])]
    return Simulation(topo, workloads, placement=CloudOnly(), duration=5.0, until=until, seed=3).run().trace


def io_run() -> Trace:
    """Device ``d`` — cloud ``c`` (latency 0.1 s, 100 B/s) and an unused link ``c`` — ``x``.
    One instance at t=0 of one task (work 1, speed 1) with 50 input bytes and 20 result
    bytes, placed in the cloud: input 50/100 + 0.1 → arrives 0.6; runs 0.6–1.6; result
    20/100 + 0.1 → back at 1.9. Link d~c carries 70 bytes, c~x none."""
    d = Node("d", Tier.LOCAL_DEVICE, cores=1, speed=1.0)
    c = Node("c", Tier.CLOUD, cores=1, speed=1.0, price=2.0, idle_power=1.0, busy_power=3.0)
    x = Node("x", Tier.EDGE_CLOUD, cores=1, speed=1.0)
    topo = Topology([d, c, x], [Link("d", "c", 0.1, 100.0), Link("c", "x", 0.1, 100.0)])
    wf = Workflow("io", [Task("t", work=1.0)], input_bytes=50, result_bytes=20)
    return Simulation(topo, [Workload("w", wf, Periodic(100.0))], placement=CloudOnly(), duration=1.0).run().trace


@pytest.fixture(scope="module")
def queue() -> Trace:
    return queue_run()


@pytest.fixture(scope="module")
def io() -> Trace:
    return io_run()


# --- summarize on the queue scenario --------------------------------------------------
BUSY_N = 4 * 2.5 + (7.0 - 5.5)  # four finished executions + A4 up to the horizon = 11.5


def test_counts(queue: Trace) -> None:
    s = summarize(queue)
    assert s["horizon"] == 7.0
    assert s["workflows"] == {"submitted": 6, "completed": 4, "failed": 1, "running": 1}
    assert s["tasks"] == {"executed": 4, "failed": 1}
    assert queue.manifest["truncated"] is True


def test_utilisation(queue: Trace) -> None:
    s = summarize(queue)["utilisation"]
    assert s["per_node"] == pytest.approx({"n": BUSY_N / (2 * 7.0), "m": 0.0, "e": 0.0})
    # per tier: busy core-seconds over the tier's core-seconds (Cloud has n and m: 4 cores)
    assert s["per_tier"] == pytest.approx({"Cloud": BUSY_N / (4 * 7.0), "EdgeCloud": 0.0})
    # overall: all busy core-seconds over all nodes' core-seconds (2 + 2 + 4 cores)
    assert s["overall"] == pytest.approx(BUSY_N / (8 * 7.0))


def test_cost_and_energy(queue: Trace) -> None:
    s = summarize(queue)
    assert s["cost"] == pytest.approx(BUSY_N * PRICE)  # 5.75
    # idle × horizon + (busy − idle) × busy core-seconds / cores, per node
    energy_n = IDLE * 7.0 + (BUSY - IDLE) * BUSY_N / 2
    energy_m = IDLE * 7.0
    energy_e = 5.0 * 7.0
    assert s["energy_joules"] == pytest.approx(energy_n + energy_m + energy_e)  # 290


def test_latency_makespan_throughput(queue: Trace) -> None:
    s = summarize(queue)
    latencies = np.array([2.5, 2.5, 3.0, 3.0])
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    assert s["latency"] == pytest.approx({"mean": latencies.mean(), "p50": p50, "p95": p95, "p99": p99})
    assert s["makespan"] == pytest.approx(6.5 - 0.5)  # last completion − first arrival
    assert s["throughput"] == pytest.approx(4 / 6.0)
    assert s["bytes_per_link"] == {"n~m": 0.0, "n~e": 0.0} and s["bytes_transferred"] == 0.0
    json.dumps(s)  # JSON-ready


def test_deadline_misses_at_horizon_before_due(queue: Trace) -> None:
    # Misses: "bad" (failed; its task failed too), A2 and A3 (latency 3.0 > 2.8).
    # A4 (due 4.5 + 2.8 = 7.3) is still running at the horizon 7.0, before its
    # deadline: not a miss.
    assert summarize(queue)["deadline_misses"] == {"workflows": 3, "tasks": 3}


def test_deadline_misses_running_past_due() -> None:
    # Horizon 7.5: A4 is still running (ends 8.0) and its deadline 7.3 has passed.
    trace = queue_run(until=7.5)
    s = summarize(trace)
    assert s["deadline_misses"] == {"workflows": 4, "tasks": 4}
    assert s["utilisation"]["per_node"]["n"] == pytest.approx((4 * 2.5 + 2.0) / (2 * 7.5))


def test_deadline_miss_of_a_task_never_placed() -> None:
    n = Node("n", Tier.CLOUD, cores=1, speed=1.0)
    wf = Workflow("ch", [Task("a", work=10.0), Task("b", work=1.0, deadline=2.0)], [("a", "b")])
    trace = Simulation(Topology([n]), [Workload("w", wf, Periodic(100.0))], placement=CloudOnly(),
                       duration=1.0, until=5.0).run().trace
    # b is due at 0 + 2 = 2 < horizon 5 and has not ended (a runs until 10)
    assert summarize(trace)["deadline_misses"]["tasks"] == 1


# --- executions() and workflow_summary() -----------------------------------------------
def test_executions_columns_and_nans(queue: Trace) -> None:
    ex = queue.executions()
    assert list(ex.columns) == ["workflow", "task", "node", "tier", "cores", "deadline",
                                "placed", "ready", "start", "end", "failed"]
    assert len(ex) == 6
    ex = ex.set_index("workflow")
    w = queue.workflows.set_index("workflow")
    for wid, row in ex.iterrows():
        arrival = w.loc[wid, "arrival"]
        if row["task"] == "x":  # failed before placement: no node, only `failed`
            assert pd.isna(row["node"]) and pd.isna(row["tier"])
            assert all(pd.isna(row[c]) for c in ("placed", "ready", "start", "end"))
            assert row["failed"] == 1.0 and row["deadline"] == pytest.approx(2.0)
        else:
            assert row["node"] == "n" and row["tier"] == "Cloud" and row["cores"] == 1
            assert pd.isna(row["failed"])
            assert row["placed"] == row["ready"] == arrival
            assert row["deadline"] == pytest.approx(arrival + 2.8)  # absolute
    starts = ex[ex["task"] == "t"].sort_values("placed")
    assert starts["start"].tolist() == pytest.approx([0.5, 1.5, 3.0, 4.0, 5.5])
    ends = starts["end"].tolist()
    assert ends[:4] == pytest.approx([3.0, 4.0, 5.5, 6.5]) and math.isnan(ends[4])
    for col in ("deadline", "placed", "ready", "start", "end", "failed"):
        assert ex[col].dtype == "float64"


def test_workflow_summary_columns_and_nans(queue: Trace) -> None:
    wf = queue.workflow_summary()
    for col in ("workflow", "workload", "name", "origin", "arrival", "deadline", "state", "end", "latency", "reason"):
        assert col in wf.columns
    by_state = wf.groupby("state").size().to_dict()
    assert by_state == {"Completed": 4, "Failed": 1, "Running": 1}
    running = wf[wf["state"] == "Running"].iloc[0]
    assert running["arrival"] == 4.5 and pd.isna(running["end"]) and pd.isna(running["latency"])
    failed = wf[wf["state"] == "Failed"].iloc[0]
    assert failed["name"] == "bad" and failed["end"] == 1.0 and "no feasible node" in failed["reason"]
    done = wf[wf["state"] == "Completed"].sort_values("arrival")
    assert done["latency"].tolist() == pytest.approx([2.5, 2.5, 3.0, 3.0])
    assert done["reason"].isna().all()
    assert (wf["deadline"] == [2.8 if n == "one" else 1.0 for n in wf["name"]]).all()


# --- transfers ---------------------------------------------------------------------
def test_bytes_per_link(io: Trace) -> None:
    s = summarize(io)
    assert s["bytes_per_link"] == {"d~c": 70.0, "c~x": 0.0}
    assert s["bytes_transferred"] == 70.0
    assert s["latency"]["mean"] == pytest.approx(1.9)
    assert s["horizon"] == pytest.approx(1.9) and s["makespan"] == pytest.approx(1.9)
    assert s["utilisation"]["per_node"] == pytest.approx({"d": 0.0, "c": 1.0 / 1.9, "x": 0.0})
    assert s["cost"] == pytest.approx(2.0)
    assert s["energy_joules"] == pytest.approx(1.0 * 1.9 + 2.0 * 1.0)
    usage = io.link_usage.sort_values("start")
    assert usage["link"].astype(str).tolist() == ["d~c", "d~c"]
    assert usage["direction"].astype(str).tolist() == ["forward", "reverse"]
    np.testing.assert_allclose(usage[["start", "end", "bytes"]].to_numpy(), [[0.0, 0.6, 50.0], [1.6, 1.9, 20.0]])
    tr = io.transfers.sort_values("start")
    assert tr["source_task"].astype(str).tolist() == ["<origin>", "t"]
    assert tr["target_task"].astype(str).tolist() == ["t", "<origin>"]


# --- persistence -------------------------------------------------------------------
def test_save_load_round_trip_of_populated_tables(io: Trace, tmp_path: Path) -> None:
    io.save(tmp_path)
    loaded = Trace.load(tmp_path)
    populated = [name for name in TABLES if len(getattr(io, name))]
    assert {"workflows", "task_specs", "workflow_events", "task_events", "transfers", "link_usage",
            "nodes", "links"} <= set(populated)
    for name in populated:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(io, name), check_dtype=True, obj=name)
    assert loaded.manifest == json.loads(json.dumps(io.manifest, default=str))


@pytest.mark.parametrize("make", [io_run, queue_run], ids=["io", "queue"])
def test_save_load_same_summary_and_views(make, tmp_path: Path) -> None:
    trace = make()
    trace.save(tmp_path)
    assert (tmp_path / "manifest.json").is_file()
    assert sorted(p.name for p in (tmp_path / "trace").glob("*.parquet")) == sorted(f"{t}.parquet" for t in TABLES)
    loaded = Trace.load(tmp_path)
    assert loaded.horizon == trace.horizon
    assert summarize(loaded) == summarize(trace)
    pd.testing.assert_frame_equal(loaded.executions(), trace.executions())
    pd.testing.assert_frame_equal(loaded.workflow_summary(), trace.workflow_summary())


def test_save_load_round_trip_of_every_table(io: Trace, tmp_path: Path) -> None:
    io.save(tmp_path)
    loaded = Trace.load(tmp_path)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(io, name), check_dtype=True, obj=name)


# --- an empty run ----------------------------------------------------------------------
@pytest.mark.parametrize("until", [None, 10.0])
def test_empty_run_summarises(until: float | None, tmp_path: Path) -> None:
    nodes = [Node("n", Tier.CLOUD, cores=2, idle_power=3.0), Node("e", Tier.EDGE_CLOUD, idle_power=2.0)]
    topo = Topology(nodes, [Link("n", "e")])
    wf = Workflow("one", [Task("t")])
    never = Workload("w", wf, Periodic(1.0, phase=100.0), origins=["n"])  # first arrival after the window
    trace = Simulation(topo, [never], duration=5.0, until=until).run().trace
    horizon = 0.0 if until is None else until
    s = summarize(trace)
    assert s["horizon"] == horizon
    assert s["workflows"] == {"submitted": 0, "completed": 0, "failed": 0, "running": 0}
    assert s["tasks"] == {"executed": 0, "failed": 0}
    assert s["latency"] == {"mean": None, "p50": None, "p95": None, "p99": None}
    assert s["makespan"] is None and s["throughput"] is None
    assert s["utilisation"]["per_node"] == {"n": 0.0, "e": 0.0}
    assert s["utilisation"]["overall"] == 0.0  # no capacity at horizon 0: still a number
    assert s["bytes_per_link"] == {"n~e": 0.0} and s["cost"] == 0.0
    assert s["energy_joules"] == pytest.approx(5.0 * horizon)
    assert s["deadline_misses"] == {"workflows": 0, "tasks": 0}
    assert len(trace.executions()) == 0 and len(trace.workflow_summary()) == 0
    trace.save(tmp_path)
    assert summarize(Trace.load(tmp_path)) == s


def test_run_without_workloads() -> None:
    trace = Simulation(Topology([Node("n", Tier.CLOUD)]), [], duration=5.0).run().trace
    assert summarize(trace)["workflows"]["submitted"] == 0
