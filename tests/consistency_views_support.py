"""Small runs with replicated state for the views' tests: a two-step workflow reading
and writing its keys and a few state clients on a small continuum, optionally with
edge-0's site cut off from 5 s to 12 s (its clients then lose Raft's majority and the
sequencer, and each side writes alone at the weak levels)."""

from __future__ import annotations

import functools

from wfsim import Poisson, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults.processes import Partitions
from wfsim.policies.consistency import AdaptiveConsistency, FixedLevel
from wfsim.trace.trace import Trace

STATEFUL = Workflow("order", [Task("fetch", work=1e8, state_keys=frozenset({"order:<id>"})),
                              Task("pay", work=1e8, state_keys=frozenset({"payment:<id>", "order:<id>"}))],
                    [("fetch", "pay")])


def state_run(settings: ConsistencySettings, *, partition: bool = False, duration: float = 20.0,
              seed: int = 3) -> Trace:
    """A short run of :data:`STATEFUL` with ``settings``; with ``partition``, edge-0's
    site is cut off from 5 s to 12 s."""
    faults = (Partitions(site="edge-0", start=5.0, duration=7.0),) if partition else ()
    sim = Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", STATEFUL, Poisson(1.0))],
                     duration=duration, seed=seed, faults=faults, consistency=settings)
    return sim.run().trace


@functools.cache
def adaptive_under_partition() -> Trace:
    """The adaptive strategy with four state clients under the partition: every level
    served, downgrades, health changes (a change takes effect on its second check),
    stale reads."""
    settings = ConsistencySettings(strategy=AdaptiveConsistency(), clients=4, monitor_period=1.0, hysteresis=1)
    return state_run(settings, partition=True)  # one run for every module that reads it (none changes it)


@functools.cache
def eventual_under_partition() -> Trace:
    """Eventual only, four state clients on two keys, under the partition: each side
    writes alone, and some reads are stale."""
    return state_run(ConsistencySettings(strategy=FixedLevel("Eventual"), clients=4, client_keys=2), partition=True)
