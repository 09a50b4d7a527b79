"""Simulation scenarios shared by several test modules: a placement that pins every
task to one node, random layered DAGs for hypothesis, and an end-to-end placement
scenario (a mixed-requirement workflow and a random layered DAG on a small
hierarchical continuum), and the comparison of a run's metrics at the two trace levels."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from wfsim import LocationRequirement, Poisson, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.policies.placement import PlacementStrategy
from wfsim.workloads import WorkDistribution, layered_random


class Fixed(PlacementStrategy):
    """Every task on the node called ``node``."""

    name = "fixed"

    def __init__(self, node: str) -> None:
        self.node = node

    def place(self, run, task, cluster):
        return cluster.nodes[cluster.topology.index[self.node]]

#: Random layered DAGs with varied shape, work and data sizes.
DAGS = st.builds(
    layered_random,
    layers=st.integers(1, 6), width=st.integers(1, 5),
    edge_probability=st.floats(0, 1), seed=st.integers(0, 10_000),
    work=st.floats(1e8, 1e10), work_cv=st.sampled_from([0.0, 0.5, 1.5]),
    data_bytes=st.floats(0, 1e9),
)

MIXED = Workflow("mixed", [
    Task("sense", work=1e8, location=LocationRequirement.specific("LocalDevice")),
    Task("filter", work=5e8, location=LocationRequirement.specific("EdgeCloud")),
    Task("model", work=4e9, cores=2, location=LocationRequirement.any_of(["RegionalCloud", "Cloud"])),
    Task("alert", work=2e8, location=LocationRequirement.preferred_order(["EdgeCloud", "Cloud"])),
    Task("store", work=1e9),
], [("sense", "filter", 1e6), ("filter", "model", 5e6), ("filter", "alert", 1e5),
    ("model", "store", 1e6), ("alert", "store", 1e4)], input_bytes=1e5, result_bytes=1e3)

def continuum_run(placement: PlacementStrategy | None, seed: int = 3, duration: float = 30.0, **kwargs):
    """Run MIXED and a layered DAG for ``duration`` s on 8 devices, 3 edge clouds, 2
    regions (``kwargs``: more :class:`Simulation` arguments)."""
    topo = hierarchical(devices=8, edge=3, regional=2)
    workloads = [Workload("mixed", MIXED, Poisson(0.3)),
                 Workload("layers", layered_random(4, 4, seed=5), Poisson(0.2),
                          work=WorkDistribution("exponential"))]
    return Simulation(topo, workloads, placement=placement, duration=duration, seed=seed, **kwargs).run()



def assert_same_metrics(full: object, lean: object, where: str = "metrics") -> None:
    """``lean`` (the metrics of a run at trace level ``metrics``) are those of ``full``
    (the same run at level ``full``): the same keys, integers, strings and None
    exactly, floats equal or within a relative 1e-12, for the byte totals: the
    metrics level sums them in event order, ``summarize`` with pandas."""
    if isinstance(full, dict):
        assert isinstance(lean, dict) and list(lean) == list(full), (where, lean, full)
        for key in full:
            assert_same_metrics(full[key], lean[key], f"{where}.{key}")
    elif isinstance(full, float):
        assert isinstance(lean, float), (where, lean, full)
        assert lean == full or math.isclose(lean, full, rel_tol=1e-12), (where, lean, full)
    else:
        assert type(lean) is type(full) and lean == full, (where, lean, full)
