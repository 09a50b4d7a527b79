"""The replicated store on its own: level choice, key floors, the timeout fallback
chain, the write gate, the health monitor and the operation history, with a
primary-copy protocol standing in for the real ones at every level, so what is
checked here is the store's and nothing else."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from wfsim import Poisson, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.consistency.settings import ConsistencySettings
from wfsim.consistency.store import ReplicatedStore, StateError, replica_nodes
from wfsim.engine.detection import DetectionSettings
from wfsim.engine.partitions import PartitionHandlingSettings
from wfsim.faults.fault import Fault
from wfsim.faults.processes import Schedule
from wfsim.model.enums import ConsistencyLevel, SystemHealth
from wfsim.policies.consistency import DataTypeDriven, FixedLevel

from primary_copy_support import ONE_COPY

STATEFUL = Workflow("order", [Task("fetch", work=1e8, state_keys=frozenset({"order:<id>"})),
                              Task("pay", work=1e8, state_keys=frozenset({"payment:<id>", "order:<id>"}))],
                    [("fetch", "pay")])


def simulate(settings: ConsistencySettings, faults: tuple = (), duration: float = 20.0, **kw: Any) -> Simulation:
    sim = Simulation(hierarchical(devices=4, edge=2, regional=1),
                     [Workload("w", STATEFUL, Poisson(1.0))], duration=duration, seed=3, faults=faults,
                     consistency=None, **kw)
    sim.store = sim.executor.state = ReplicatedStore(
        sim.env, sim.topology, sim.nodes, sim.network, sim.recorder, settings, ONE_COPY, sim.random.stream,
        sim.add_background, sim.detector, sim.write_gate)
    sim.faults.on_crash.append(sim.store.on_crash)
    sim.executor.end_check = None  # the store asks the write gate itself
    return sim


def test_tasks_read_before_they_start_and_write_before_their_successors() -> None:
    sim = simulate(ConsistencySettings(strategy=FixedLevel("Linearizable")))
    trace = sim.run().trace
    ops = trace.operations
    assert len(ops) and set(ops["outcome"].astype(str)) == {"ok"}
    assert set(ops["level"].astype(str)) == {"Linearizable"}
    completed = trace.workflow_events.loc[trace.workflow_events["state"] == "Completed", "workflow"]
    assert len(completed) > 5
    run = ops["client"].astype(str).str.split("/").str[0].astype(int)
    for w in completed:
        mine = ops[run == w]
        # fetch reads and writes its key; pay reads and writes both of its keys.
        assert sorted(mine["f"].astype(str)) == ["read"] * 3 + ["write"] * 3
        fetch_write = mine[(mine["client"].astype(str) == f"{w}/fetch") & (mine["f"] == "write")]
        pay_first = mine[mine["client"].astype(str) == f"{w}/pay"]["call"].min()
        assert float(fetch_write["ret"].iloc[0]) <= pay_first  # successors wait for the write
    # Written values are the writes' own ids; reads return a value written before.
    writes = ops[ops["f"] == "write"]
    assert (writes["value"].astype(str).map(json.loads) == writes["op"]).all()


def test_the_chosen_level_is_raised_to_the_key_floor() -> None:
    settings = ConsistencySettings(strategy=DataTypeDriven(default="Eventual"), floors={"payment": "Sequential"})
    ops = simulate(settings).run().trace.operations
    by_key = ops.assign(kind=ops["key"].astype(str).str.split(":").str[0]).groupby("kind")["level"]
    levels = {k: set(v.astype(str)) for k, v in by_key}
    assert levels == {"order": {"Eventual"}, "payment": {"Sequential"}}


def test_a_timed_out_request_goes_down_the_chain_but_not_below_its_floor() -> None:
    # The primary (the cloud) cut off from 5 s on: every request times out at every level.
    cut = Schedule(faults=(Fault("partition", ("cloud",), 5.0, 100.0),))
    settings = ConsistencySettings(strategy=FixedLevel("Linearizable"), floors={"payment": "Causal"})
    ops = simulate(settings, faults=(cut,), duration=10.0).run().trace.operations
    started = ops.groupby("request")["call"].transform("min")
    chains = ops[started > 5.0].groupby("request")
    for _, attempts in chains:
        levels = list(attempts.sort_values("attempt")["level"].astype(str))
        assert (attempts["outcome"].astype(str) == "unknown").all()
        key = str(attempts["key"].iloc[0])
        expected = ["Linearizable", "Sequential", "Causal"] + ([] if key.startswith("payment") else ["Eventual"])
        assert levels == expected[:len(levels)]
        # Each attempt waited exactly its level's timeout.
        waited = (attempts["ret"] - attempts["call"]).round(9).tolist()
        assert waited == [settings.timeout(ConsistencyLevel(lv)) for lv in levels]
    assert len(chains) > 0


def test_refused_writes_fail_and_are_recorded() -> None:
    cut = Schedule(faults=(Fault("partition", ("edge-0",), 2.0, 100.0),))
    sim = simulate(ConsistencySettings(strategy=FixedLevel("Eventual")), faults=(cut,), duration=15.0,
                   detection=DetectionSettings(failed_after=10),
                   partition_handling=PartitionHandlingSettings("RejectWrites"))
    ops = sim.run().trace.operations
    refused = ops[ops["outcome"].astype(str) == "fail"]
    assert len(refused) and (refused["f"].astype(str) == "write").all()
    assert refused["reason"].astype(str).str.startswith("write refused").all()
    assert (refused["ret"] == refused["call"]).all()


def test_health_follows_the_replicas_and_hysteresis_delays_it() -> None:
    crash = Schedule(faults=(Fault("crash", ("regional-0",), 3.0, 9.0),))
    for hysteresis, first_change in ((0, 3.0), (2, 5.0)):  # a crash at t is in force at a check at t
        settings = ConsistencySettings(strategy=FixedLevel("Eventual"), monitor_period=1.0, hysteresis=hysteresis,
                                       healthy_p99=5.0, degraded_p99=5.0, critical_p99=5.0)
        trace = simulate(settings, faults=(crash,), duration=15.0).run().trace
        health = trace.health
        total = int(health["total"].iloc[0])
        down = health[health["available"] < total]
        assert down["time"].min() == 3.0
        changed = health[health["health"].astype(str) != "Healthy"]
        assert changed["time"].min() == first_change
        assert set(health["observed"].astype(str)) <= {h.value for h in SystemHealth}


def test_replica_placement_by_policy() -> None:
    topo = hierarchical(devices=4, edge=4, regional=2)
    ids = lambda s: [topo.nodes[i].id for i in replica_nodes(topo, s)]  # noqa: E731
    assert ids(ConsistencySettings(replication="None")) == ["cloud"]
    assert ids(ConsistencySettings(replication="FullReplication"))[0] == "cloud"
    assert len(ids(ConsistencySettings(replication="FullReplication"))) == 1 + 2 + 4
    regional = ids(ConsistencySettings(replication="RegionalReplication", replication_factor=2))
    assert regional[0] == "cloud" and len(regional) == 5
    assert ids(ConsistencySettings(replication="Custom", nodes=("edge-1", "cloud"))) == ["edge-1", "cloud"]
    with pytest.raises(StateError, match="edge-99"):
        ids(ConsistencySettings(replication="Custom", nodes=("edge-99",)))


def test_unanswered_operations_are_unknown_with_no_return_time() -> None:
    sim = simulate(ConsistencySettings(strategy=FixedLevel("Linearizable")), duration=5.0, until=3.0)
    ops = sim.run().trace.operations
    open_ = ops[ops["ret"].isna()]
    assert (open_["outcome"].astype(str) == "unknown").all()
    assert not math.isnan(float(ops["call"].max()))


def test_an_acknowledged_write_reaches_every_weaker_level_and_no_stronger_one() -> None:
    settings = ConsistencySettings(strategy=DataTypeDriven(default="Sequential", types={"payment": "Causal"}))
    trace = simulate(settings).run().trace
    held = trace.replicas.assign(level=trace.replicas["level"].astype(str), key=trace.replicas["key"].astype(str))
    keys = {lv: set(g["key"]) for lv, g in held.groupby("level")}
    order = {k for k in keys["Sequential"] if k.startswith("order")}
    payment = {k for k in keys["Causal"] if k.startswith("payment")}
    assert order and payment
    assert order <= keys["Causal"] and order <= keys["Eventual"]  # Sequential writes cascade down
    assert payment <= keys["Eventual"] and not payment & keys["Sequential"]  # Causal ones do not go up
    assert "Linearizable" not in keys  # no strategy, floor or fallback reaches it: not started
