"""Multi-resource allocation (min/recommended rule), elastic tasks and their accounting."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import Link, Node, Simulation, Task, Tier, Topology, Workflow
from wfsim.engine.node import allocate, task_rate
from wfsim.model.workflow import WorkflowValidationError
from wfsim.trace.metrics import busy_core_seconds

from sim_support import Fixed

SPEED = 1.0


def one_node(cores: int = 4, memory: float = 100.0) -> Topology:
    # A free link, so tasks are ready the instant they are submitted.
    return Topology([Node("d", Tier.LOCAL_DEVICE, cores=1, speed=SPEED),
                     Node("n", Tier.EDGE_CLOUD, cores=cores, speed=SPEED, memory=memory)],
                    [Link("d", "n", 0.0, 1e12)])


def submit_all(sim: Simulation, tasks: list[Task], at: list[float] | None = None) -> dict[int, int]:
    """One single-task workflow per task, submitted at the given times (default 0).

    Returns:
        Filled during the run: workflow id → index into ``tasks``.
    """
    ids: dict[int, int] = {}
    for k, task in enumerate(tasks):
        when = 0.0 if at is None else at[k]
        wf = Workflow(f"w{k}", [task], input_bytes=0.0)
        ev = sim.env.timeout(when)
        ev.callbacks.append(lambda _e, wf=wf, k=k: ids.setdefault(sim.executor.submit(wf, "w", 0).id, k))
    return ids


def run(tasks: list[Task], cores: int = 4, at: list[float] | None = None, memory: float = 100.0):
    sim = Simulation(one_node(cores, memory), [], placement=Fixed("n"))
    submit_all(sim, tasks, at)
    return sim, sim.run().trace


def times(trace, event: str) -> dict[int, float]:
    te = trace.task_events
    rows = te[te["event"] == event]
    return dict(zip(rows["workflow"], rows["time"]))


@given(available=st.floats(0, 100), recommended=st.floats(0, 100), minimum=st.floats(0, 100))
def test_allocation_rule(available, recommended, minimum):
    got = allocate(available, recommended, minimum)
    assert got == max(min(available, recommended), minimum)
    assert minimum <= got <= max(minimum, recommended)
    if available >= max(recommended, minimum):
        assert got == max(recommended, minimum)


def test_task_validates_minimums_and_scalability():
    assert Task("t", cores=4).min_cores == 4 and Task("t", memory=8.0).min_memory == 8.0
    with pytest.raises(WorkflowValidationError, match="min_cores must be in"):
        Task("t", cores=2, min_cores=3)
    with pytest.raises(WorkflowValidationError, match="min_memory must be in"):
        Task("t", memory=1.0, min_memory=2.0)
    with pytest.raises(WorkflowValidationError, match="scalability must be in"):
        Task("t", scalability=1.5)


def test_task_starts_with_what_is_free_above_its_minimum():
    big = Task("a", work=30.0, cores=3)
    flexible = Task("b", work=8.0, cores=4, min_cores=1, memory=60.0, min_memory=10.0)
    sim, trace = run([big, Task("m", work=30.0, cores=1, memory=50.0), flexible], cores=4)
    # b needs 1 core but gets only what is left: none until a ends (a and m hold all 4).
    start = times(trace, "start")
    assert start[2] == pytest.approx(10.0)  # a: 30 ops on 3 cores
    alloc = trace.allocations
    assert len(alloc) == 1
    row = alloc.iloc[0]
    assert (row["workflow"], row["cores"], row["memory"]) == (2, 3, 50.0)  # 3 of 4 cores, 50 of 60 B free
    assert times(trace, "end")[2] == pytest.approx(10.0 + 8.0 / 3)
    assert sim.nodes[1].free_cores == 4 and sim.nodes[1].free_memory == 100.0


def test_rigid_tasks_record_no_allocations():
    _, trace = run([Task("a", work=4.0, cores=2), Task("b", work=4.0, cores=2)], cores=2)
    assert trace.allocations.empty
    assert times(trace, "start")[1] == pytest.approx(2.0)


@pytest.mark.parametrize("scalability, rate", [(1.0, 1.0), (0.5, 2.0), (0.0, 4.0)])
def test_scalability_sets_the_speed_of_a_short_allocation(scalability, rate):
    blocker = Task("a", work=300.0, cores=3)
    t = Task("b", work=12.0, cores=4, min_cores=1, scalability=scalability)
    _, trace = run([blocker, t], cores=4)
    assert times(trace, "end")[1] == pytest.approx(12.0 / rate)
    assert task_rate(SPEED, t, 1) == pytest.approx(rate)


def test_elastic_task_grows_into_idle_cores_and_finishes_its_work():
    blocker = Task("a", work=6.0, cores=3)  # ends at t=2
    grow = Task("b", work=10.0, cores=4, min_cores=1, elastic=True)
    sim, trace = run([blocker, grow], cores=4)
    # 1 core until 2 (2 ops), then 4 cores for the 8 ops left.
    assert times(trace, "end")[1] == pytest.approx(2.0 + 8.0 / 4)
    h = trace.holdings()
    b = h[h["workflow"] == 1].sort_values("start")
    assert b["cores"].tolist() == [1.0, 4.0]
    assert b["start"].tolist() == pytest.approx([0.0, 2.0]) and b["end"].tolist() == pytest.approx([2.0, 4.0])
    assert busy_core_seconds(trace)["n"] == pytest.approx(6.0 + 2.0 + 8.0)
    assert sim.nodes[1].busy_core_seconds == pytest.approx(16.0)


def test_rigid_short_task_does_not_grow():
    blocker = Task("a", work=6.0, cores=3)
    fixed = Task("b", work=10.0, cores=4, min_cores=1)
    _, trace = run([blocker, fixed], cores=4)
    assert times(trace, "end")[1] == pytest.approx(10.0)
    assert len(trace.allocations) == 1


def test_elastic_task_does_not_take_cores_a_queued_task_waits_for():
    blocker = Task("a", work=6.0, cores=3)  # ends at 2
    grow = Task("b", work=10.0, cores=4, min_cores=1, elastic=True)
    waiting = Task("c", work=3.0, cores=3)  # arrives at 1, waits for a's cores
    _, trace = run([blocker, grow, waiting], cores=4, at=[0.0, 0.0, 1.0])
    assert times(trace, "start")[2] == pytest.approx(2.0)
    # b grows only once c has ended, at 3: 3 ops done by then, 7 left on 4 cores.
    assert times(trace, "end")[1] == pytest.approx(3.0 + 7.0 / 4)


def test_adjust_resizes_elastic_tasks_all_or_nothing():
    sim = Simulation(one_node(4), [], placement=Fixed("n"))
    submit_all(sim, [Task("a", work=100.0, cores=2), Task("e", work=20.0, cores=2, min_cores=1, elastic=True),
                     Task("r", work=100.0, cores=1)])
    node = sim.nodes[1]
    out = {}

    def poke() -> None:
        runs = {ex.run.id: ex.run for ex in node.executions.values()}
        with pytest.raises(ValueError, match="not elastic"):
            node.adjust(runs[0], 0, 1)
        with pytest.raises(ValueError, match=r"cores must be in \[1, 2\]"):
            node.adjust(runs[1], 0, 3)
        with pytest.raises(KeyError):
            node.adjust(runs[1], 5, 1)
        out["shrink"] = node.adjust(runs[1], 0, 1)  # 2 -> 1 at t=5: 10 of 20 ops left
        out["free"] = node.free_cores  # the queued r took the freed core at once
        out["grow"] = node.adjust(runs[1], 0, 2)  # no free core: refused, nothing changes
        out["same"] = node.adjust(runs[1], 0, 1)

    ev = sim.env.timeout(5.0)
    ev.callbacks.append(lambda _e: poke())
    trace = sim.run().trace
    assert out == {"shrink": True, "free": 0, "grow": False, "same": False}
    assert times(trace, "start")[2] == pytest.approx(5.0)
    assert times(trace, "end")[1] == pytest.approx(15.0)  # the 10 ops left, on 1 core
    assert trace.allocations["cores"].tolist() == [1]


def test_adjust_growth_needs_free_cores_and_shrink_starts_the_queue():
    sim = Simulation(one_node(2), [], placement=Fixed("n"))
    submit_all(sim, [Task("e", work=20.0, cores=2, min_cores=1, elastic=True), Task("q", work=1.0, cores=1)])
    node = sim.nodes[1]

    def poke() -> None:
        run = next(iter(node.executions.values())).run
        assert node.adjust(run, 0, 1)  # frees a core: q starts at once

    ev = sim.env.timeout(4.0)
    ev.callbacks.append(lambda _e: poke())
    trace = sim.run().trace
    assert times(trace, "start")[1] == pytest.approx(4.0)
    # e: 8 ops by 4, then 1 core while q runs (4-5), then it grows back when q ends.
    assert times(trace, "end")[0] == pytest.approx(5.0 + 11.0 / 2)


TASKS = st.builds(
    lambda work, cores, lo, mem, mlo, elastic, scal: Task(
        "t", work=work, cores=cores, min_cores=max(1, min(lo, cores)), memory=mem,
        min_memory=min(mlo, mem), elastic=elastic, scalability=scal),
    work=st.floats(0.0, 50.0), cores=st.integers(1, 4), lo=st.integers(1, 4),
    mem=st.floats(0.0, 60.0), mlo=st.floats(0.0, 60.0), elastic=st.booleans(),
    scal=st.sampled_from([0.0, 0.5, 1.0]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=st.lists(TASKS, min_size=1, max_size=8),
       arrivals=st.lists(st.floats(0.0, 20.0), min_size=8, max_size=8),
       resizes=st.lists(st.tuples(st.floats(0.0, 40.0), st.integers(0, 7), st.integers(1, 4)), max_size=6))
def test_allocations_are_conserved_and_every_op_is_done_once(tasks, arrivals, resizes):
    sim = Simulation(one_node(4, memory=100.0), [], placement=Fixed("n"))
    ids = submit_all(sim, tasks, arrivals[:len(tasks)])
    node = sim.nodes[1]
    seen = []

    def resize(k: int, cores: int) -> None:
        for ex in list(node.executions.values()):
            if ids[ex.run.id] == k and ex.spec.elastic:
                cores = min(max(cores, ex.spec.min_cores), ex.spec.cores)
                seen.append(node.adjust(ex.run, 0, cores))

    for when, k, cores in resizes:
        ev = sim.env.timeout(when)
        ev.callbacks.append(lambda _e, k=k, c=cores: resize(k, c))
    trace = sim.run().trace
    assert node.free_cores == 4 and node.free_memory == pytest.approx(100.0) and not node.executions
    h = trace.holdings()
    spec = {run_id: tasks[k] for run_id, k in ids.items()}
    # Allocation bounds: min <= allocated <= recommended.
    for row in h.itertuples():
        t = spec[row.workflow]
        assert t.min_cores <= row.cores <= t.cores and t.min_memory <= row.memory <= t.memory + 1e-9
    # Conservation: at every change point the held cores and memory fit the node.
    points = sorted(set(h["start"]) | set(h["end"]))
    for p in points:
        live = h[(h["start"] <= p) & (h["end"] > p)]
        assert live["cores"].sum() <= 4 and live["memory"].sum() <= 100.0 + 1e-6
    # Every op done exactly once: the rate integrated over the holdings is the work.
    done = dict.fromkeys(spec, 0.0)
    for row in h.itertuples():
        done[row.workflow] += task_rate(SPEED, spec[row.workflow], int(row.cores)) * (row.end - row.start)
    for k, t in spec.items():
        assert done[k] == pytest.approx(t.work, rel=1e-9, abs=1e-9)


def test_candidates_are_filtered_and_cached_by_the_minimum():
    topo = Topology([Node("d", Tier.LOCAL_DEVICE, cores=1, speed=SPEED), Node("small", Tier.EDGE_CLOUD, cores=4),
                     Node("big", Tier.EDGE_CLOUD, cores=16)], [Link("d", "small", 0.0, 1e12),
                                                                Link("d", "big", 0.0, 1e12)])
    sim = Simulation(topo, [])
    wide = Task("b", cores=8, min_cores=1)
    narrow = Task("a", cores=2, min_cores=1)
    rigid = Task("r", cores=8)
    names = [[n.spec.id for n in sim.cluster.candidates(t, 0)] for t in (wide, narrow, rigid)]
    assert names == [["d", "small", "big"], ["d", "small", "big"], ["big"]]  # the own device has 1 core


def test_a_shrink_during_a_scale_down_feeds_the_scale_down_first():
    sim = Simulation(one_node(4), [], placement=Fixed("n"))
    node = sim.nodes[1]
    submit_all(sim, [Task("e", work=40.0, cores=4, min_cores=1, elastic=True), Task("late", work=10.0, cores=2)],
               at=[0.0, 2.0])

    def scale_down_then_shrink() -> None:
        node.resize(2)  # all 4 cores are held by e: the scale-down drains
        ex = next(iter(node.executions.values()))
        node.adjust(ex.run, 0, 2)  # the 2 cores e gives back go to the scale-down

    sim.env.timeout(1.0).callbacks.append(lambda _e: scale_down_then_shrink())
    trace = sim.run().trace
    assert node.capacity == 2
    # late (2 cores) waits for e (4 ops by t=1, 36 left on 2 cores: ends at 19).
    assert times(trace, "start")[1] == pytest.approx(19.0)


def test_zero_work_tasks_hold_nothing_and_conserve_resources():
    from wfsim.verify.catalog import check_catalog

    _, trace = run([Task("z", work=0.0, cores=4), Task("a", work=4.0, cores=4), Task("z2", work=0.0, cores=1)],
                   cores=4)
    held = trace.holdings()
    assert (held["end"] > held["start"]).all() and len(held) == 1
    (p18,) = check_catalog(trace, ["resource-conservation"])
    assert p18.verdict == "true", p18.summary()
