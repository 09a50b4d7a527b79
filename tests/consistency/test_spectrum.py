"""The four levels through the store, read back from the saved trace: each level's
history passes its own checker, a weaker level's history fails a stronger checker on
a seeded scenario (the levels really differ), and after a partition heals the
replicas of the weak levels converge (P15)."""

from __future__ import annotations

import functools

import pytest

from wfsim import Simulation, Trace, hierarchical
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults import Partitions
from wfsim.policies.consistency import FixedLevel
from wfsim.verify.catalog.consistency import CONVERGENCE
from wfsim.verify.history import check_history, from_trace

#: The checker of each level (Eventual has none but convergence).
CHECKER = {"Linearizable": "linearizable", "Sequential": "sequential", "Causal": "causal"}


@functools.cache
def spectrum_run(level: str, seed: int, until: float | None = None) -> Trace:
    """Six state clients on two keys at ``level`` for 10 s, edge-1's site cut off
    from 3 s to 6 s."""
    settings = ConsistencySettings(strategy=FixedLevel(level=level), fallback=False, clients=6, client_rate=4.0,
                                   client_keys=2, anti_entropy_interval=0.5)
    sim = Simulation(hierarchical(devices=4, edge=2, regional=2), [], duration=10.0, until=until, seed=seed,
                     consistency=settings, faults=[Partitions(site="edge-1", start=3.0, duration=3.0)])
    return sim.run().trace


def verdict(level: str, seed: int, checker: str) -> str:
    history = from_trace(spectrum_run(level, seed), level=level)
    return check_history(history, model="register", consistency=CHECKER[checker], budget=30).verdict


@pytest.mark.parametrize("level", list(CHECKER))
def test_each_level_passes_its_own_checker_and_every_weaker_one(level: str) -> None:
    weaker = [c for c in CHECKER if list(CHECKER).index(c) >= list(CHECKER).index(level)]
    for seed in (0, 2):
        assert [verdict(level, seed, c) for c in weaker] == ["ok"] * len(weaker)


@pytest.mark.parametrize(("level", "seed", "stronger"), [
    ("Sequential", 0, "Linearizable"),  # local reads lag the sequencer's order
    ("Causal", 2, "Sequential"),  # the two sides of the partition order writes differently
    ("Eventual", 2, "Sequential"),
])
def test_a_weaker_level_fails_a_stronger_checker(level: str, seed: int, stronger: str) -> None:
    assert verdict(level, seed, stronger) == "violation"


@pytest.mark.parametrize("level", ["Sequential", "Causal", "Eventual"])
def test_replicas_converge_after_the_partition_heals(level: str) -> None:
    trace = spectrum_run(level, 1, until=16.0)  # writes stop at 10 s; anti-entropy every 0.5 s
    result = CONVERGENCE.check(trace)
    assert result.verdict == "true", result.summary()
    held = trace.replicas[trace.replicas["level"].astype(str) == level]
    assert held.groupby("key", observed=True)["value"].nunique().eq(1).all()
    assert held["node"].nunique() == 5
