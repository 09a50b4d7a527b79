"""The replicated-state tables of real runs read by the history export, the catalog
and the metrics: the project's protocols under a partition keep every property;
and, with a primary-copy protocol written here, one primary answering everything over
the simulated network (linearizable) keeps them while a lazy variant answering reads
from the client's nearest copy, which gets writes a second late, breaks them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.consistency.protocols import PROTOCOLS
from wfsim.consistency.protocols.base import ReplicationProtocol
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults import Partitions
from wfsim.model.enums import ConsistencyLevel
from wfsim.policies.consistency import AdaptiveConsistency, FixedLevel
from wfsim.trace.metrics import staleness, summarize
from wfsim.verify.catalog import check_catalog
from wfsim.verify.history import check_history, from_trace

from primary_copy_support import PrimaryCopy


class LazyReads(PrimaryCopy):
    lazy = True
    delay = 1.0


def run(protocol: type[ReplicationProtocol], monkeypatch: pytest.MonkeyPatch, **settings: Any):
    for level in ConsistencyLevel:
        monkeypatch.setitem(PROTOCOLS, level, protocol)
    consistency = ConsistencySettings(**{"strategy": FixedLevel("Linearizable"), "clients": 4, "client_rate": 4.0,
                                         "client_keys": 2, "anti_entropy_interval": 0.1, "monitor_period": 1.0,
                                         **settings})
    sim = Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", chain(2), Poisson(0.5))],
                     duration=20, seed=4, consistency=consistency)
    return sim.run().trace


def test_a_linearizable_run_keeps_every_property(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = run(PrimaryCopy, monkeypatch)
    assert len(trace.operations) > 100 and len(trace.health) >= 15
    history = from_trace(trace, "Linearizable")
    assert check_history(history, consistency="linearizable").verdict == "ok"
    verdicts = {v.name: v for v in check_catalog(trace, ["P10", "P11", "P14", "P15", "P16", "P21"])}
    for name in ("level-histories", "session-guarantees", "convergence", "health-checks", "fallback-chain",
                 "state-replay"):
        assert verdicts[name].holds, verdicts[name].summary()
    assert not staleness(trace)["stale"].any()


def test_stale_local_reads_break_the_linearizable_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = run(LazyReads, monkeypatch)
    v = {v.name: v for v in check_catalog(trace, ["P11", "P16"])}
    assert v["level-histories"].verdict == "false", v["level-histories"].summary()
    assert v["level-histories"].first.entity == "Linearizable"
    assert v["fallback-chain"].holds and v["health-checks"].holds
    stale = staleness(trace)
    assert stale["stale"].any() and (stale.loc[stale["stale"], "versions"] >= 1).all()


@pytest.mark.parametrize("strategy", [FixedLevel("Linearizable"), FixedLevel("Causal"), FixedLevel("Eventual"),
                                      AdaptiveConsistency()], ids=lambda s: getattr(s, "level", s.name))
def test_the_projects_protocols_under_a_partition_break_nothing(strategy: Any) -> None:
    settings = ConsistencySettings(strategy=strategy, clients=6, client_rate=5.0, client_keys=3, monitor_period=1.0)
    trace = Simulation(hierarchical(devices=4, edge=2, regional=2), [Workload("w", chain(2), Poisson(0.5))],
                       duration=30, seed=3, consistency=settings,
                       faults=[Partitions(site="edge-1", start=5.0, duration=4.0)]).run().trace
    verdicts = check_catalog(trace, ["P10", "P11", "P12", "P14", "P15", "P16", "P21"])
    assert not [v.summary() for v in verdicts if v.verdict == "false"]
    judged = {v.name for v in verdicts if v.verdict == "true"}
    assert {"state-replay", "convergence", "health-checks", "fallback-chain"} <= judged
    if getattr(strategy, "level", "") != "Eventual":
        assert {"level-histories", "session-guarantees"} <= judged
    # Against the Linearizable writes alone, Linearizable reads are never stale (other
    # levels' writes, downgraded ones, never reach the Linearizable replicas).
    ops = trace.operations
    lin = staleness(dataclasses.replace(trace, operations=ops[ops["level"].astype(str) == "Linearizable"]))
    assert not lin["stale"].any()
    block = summarize(trace)["consistency"]
    assert block["requests"]["total"] == trace.operations["request"].nunique()
