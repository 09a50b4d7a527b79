"""Runs the trace-view tests draw: the maintenance experiment (migrations, an evacuated
node, allocations, autoscaling), a diamond whose critical path is known, and an empty run."""

from __future__ import annotations

from pathlib import Path

from wfsim import Link, Node, Simulation, Task, Tier, Topology, Workflow
from wfsim.trace.trace import Trace

from sim_support import Fixed

ROOT = Path(__file__).resolve().parents[1]


def maintenance_trace() -> Trace:
    """``experiments/maintenance.yaml``: edge-0 in maintenance from 60 s to 150 s."""
    from wfsim.experiments.building import build_simulation
    from wfsim.experiments.loading import load_config

    config = ROOT / "experiments" / "maintenance.yaml"
    return build_simulation(load_config(str(config), []), config.parent, str(config)).run().trace


def diamond_trace() -> Trace:
    """Three diamonds a → (b, c) → d on one 2-core node, no data: b (work 5) is the long
    branch, c (work 1) the short one, so the critical path is a, b, d."""
    topo = Topology([Node("d0", Tier.LOCAL_DEVICE, cores=1, speed=1.0), Node("e", Tier.EDGE_CLOUD, cores=2, speed=1.0)],
                    [Link("d0", "e", 0.0, 1e12)])
    sim = Simulation(topo, [], placement=Fixed("e"))
    diamond = Workflow("diamond", [Task("a", work=1.0), Task("b", work=5.0), Task("c", work=1.0),
                                   Task("d", work=1.0)],
                       [("a", "b", 0.0), ("a", "c", 0.0), ("b", "d", 0.0), ("c", "d", 0.0)], input_bytes=0.0)
    for _ in range(3):
        sim.executor.submit(diamond, "w", 0)
    return sim.run().trace


def empty_trace() -> Trace:
    """A run in which nothing arrived."""
    topo = Topology([Node("d0", Tier.LOCAL_DEVICE), Node("e", Tier.EDGE_CLOUD)], [Link("d0", "e", 0.001, 1e9)])
    return Simulation(topo, [], duration=0.0).run().trace
