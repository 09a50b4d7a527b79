"""Everything at once: elastic and short-allocated tasks, load balancing, rebalancing,
autoscaling, health changes with evacuation, and random forced or cost-checked
migrations of queued and running tasks (some canceled). The whole catalog must hold
and no work may be lost or done twice."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim import HealthChange, HealthStatus, Poisson, Simulation, Tier, Workload, chain, fork_join, hierarchical
from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.engine.migration import MigrationSettings, RebalanceSettings
from wfsim.engine.node import task_rate
from wfsim.policies.autoscaling import PredictiveScaling, RightSizing
from wfsim.policies.load_balancing import STRATEGIES
from wfsim.verify.catalog import check_catalog


def build(seed: int) -> tuple[Simulation, float | None]:
    rng = random.Random(seed)
    topo = hierarchical(devices=4, edge=3, regional=1,
                        nodes={"EdgeCloud": {"cores": 4, "speed": 1e9, "memory": 8e9},
                               "RegionalCloud": {"cores": 8, "speed": 1e9, "memory": 16e9}, "Cloud": {"cores": 8}})
    workloads = []
    for k in range(rng.randint(1, 2)):
        cores = rng.randint(1, 4)
        memory = rng.choice([1e8, 2e9])
        task = dict(cores=cores, min_cores=rng.randint(1, cores), memory=memory,
                    min_memory=memory * rng.choice([0.25, 1.0]), elastic=rng.random() < 0.5,
                    scalability=rng.choice([0.5, 1.0]))
        make = chain if rng.random() < 0.5 else fork_join
        wf = make(rng.randint(1, 3), work=rng.uniform(1e9, 1e10), data_bytes=1e6, name=f"w{k}", task=task)
        workloads.append(Workload(f"w{k}", wf, Poisson(rng.uniform(0.05, 0.4))))
    ids = [n.id for n in topo.nodes if n.tier is not Tier.LOCAL_DEVICE]
    health = [HealthChange(rng.uniform(0, 60), rng.choice(ids), rng.choice(list(HealthStatus)),
                           evacuate=rng.random() < 0.5) for _ in range(rng.randint(0, 4))]
    until = rng.choice([None, None, rng.uniform(30, 90)])
    sim = Simulation(
        topo, workloads, seed=seed, duration=rng.uniform(20, 60), until=until,
        placement=rng.choice([None, *(cls() for cls in STRATEGIES.values())]),
        rebalance=rng.choice([None, RebalanceSettings(5.0, rng.choice([0.3, 0.1]))]),
        autoscaling=rng.choice([None, *(AutoscalingSettings(
            scaler, interval=5.0, provisioning={"EdgeCloud": 3.0, "RegionalCloud": 5.0, "Cloud": 5.0})
            for scaler in (RightSizing(window=10.0, cooldown=30.0),
                           PredictiveScaling(history_window=60.0, cooldown=30.0)))]),
        health=health, migration=MigrationSettings(max_concurrent=rng.choice([1, 4])))

    def poke() -> None:
        nodes = [n for n in sim.nodes if n.spec.tier is not Tier.LOCAL_DEVICE]
        node = rng.choice(nodes)
        elastic = [e for e in node.executions.values() if e.spec.elastic]
        if elastic and rng.random() < 0.3:
            ex = rng.choice(elastic)
            node.adjust(ex.run, ex.task, rng.randint(ex.spec.min_cores, ex.spec.cores))
            return
        work = [(e.run, e.task) for e in node.executions.values()] + list(node.queue.items())
        if work:
            run, task = rng.choice(work)
            mig = sim.migration.request(run, task, rng.choice([m for m in nodes if m is not node]),
                                        force=rng.random() < 0.5)
            if mig is not None and rng.random() < 0.2:
                sim.env.timeout(rng.uniform(0, 0.01)).callbacks.append(lambda _e: sim.migration.cancel(mig))

    for _ in range(rng.randint(0, 20)):
        sim.env.timeout(rng.uniform(0, 60)).callbacks.append(lambda _e: poke())
    return sim, until


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_catalog_holds_and_work_is_conserved_with_everything_on(seed):
    sim, until = build(seed)
    trace = sim.run().trace
    bad = [v.summary() for v in check_catalog(trace) if v.verdict == "false"]
    assert not bad, bad
    for node in sim.nodes:
        assert node.free_cores >= 0 and node.free_memory >= -1e-6
        assert node.free_cores + sum(e.cores for e in node.executions.values()) == node.capacity
        if until is None:
            assert not node.executions and not node.queue
    if until is None:
        # Every task did its work exactly once: the rate over its holdings integrates
        # to its work (tasks keep their spec's work: no work distribution here).
        speed = {n.id: n.speed for n in sim.topology.nodes}
        specs = trace.task_specs.set_index(["definition", "task"])
        definition = trace.workflows.set_index("workflow")["definition"]
        done: dict[tuple[int, str], float] = {}
        for row in trace.holdings().itertuples():
            spec = specs.loc[(definition[row.workflow], row.task)]
            shape = SimpleNamespace(cores=int(spec["cores"]), scalability=float(spec["scalability"]))
            key = (row.workflow, row.task)
            done[key] = done.get(key, 0.0) + task_rate(speed[row.node], shape, int(row.cores)) * (row.end - row.start)
        ends = trace.task_events[trace.task_events["event"] == "end"]
        assert len(ends) == len(done)
        for w, t in zip(ends["workflow"], ends["task"].astype(str)):
            assert done[(w, t)] == pytest.approx(float(specs.loc[(definition[w], t), "work"]), rel=1e-6)
