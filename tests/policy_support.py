"""A shared end-to-end scenario for placement strategies: a mixed-requirement workflow
and a random layered DAG on a small hierarchical continuum."""

from __future__ import annotations

from wfsim import LocationRequirement, Poisson, Simulation, Task, Tier, Workflow, Workload, hierarchical
from wfsim.policies.placement import PlacementStrategy
from wfsim.workloads import WorkDistribution, layered_random

MIXED = Workflow("mixed", [
    Task("sense", work=1e8, location=LocationRequirement.specific("LocalDevice")),
    Task("filter", work=5e8, location=LocationRequirement.specific("EdgeCloud")),
    Task("model", work=4e9, cores=2, location=LocationRequirement.any_of(["RegionalCloud", "Cloud"])),
    Task("alert", work=2e8, location=LocationRequirement.preferred_order(["EdgeCloud", "Cloud"])),
    Task("store", work=1e9),
], [("sense", "filter", 1e6), ("filter", "model", 5e6), ("filter", "alert", 1e5),
    ("model", "store", 1e6), ("alert", "store", 1e4)], input_bytes=1e5, result_bytes=1e3)

#: The tiers each MIXED task may end up on (``alert`` prefers EdgeCloud, which exists).
ALLOWED = {"sense": {"LocalDevice"}, "filter": {"EdgeCloud"}, "model": {"RegionalCloud", "Cloud"},
           "alert": {"EdgeCloud"}, "store": {t.value for t in Tier}}


def continuum_run(placement: PlacementStrategy, seed: int = 3):
    """Run MIXED and a layered DAG for 30 s on 8 devices, 3 edge clouds, 2 regions."""
    topo = hierarchical(devices=8, edge=3, regional=2)
    workloads = [Workload("mixed", MIXED, Poisson(0.3)),
                 Workload("layers", layered_random(4, 4, seed=5), Poisson(0.2),
                          work=WorkDistribution("exponential"))]
    return Simulation(topo, workloads, placement=placement, duration=30, seed=seed).run()
