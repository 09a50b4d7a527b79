"""The SimPy core: simulation, node runtime, network, workflow executor."""

from wfsim.engine.cluster import Cluster
from wfsim.engine.executor import WorkflowExecutor, WorkflowRun
from wfsim.engine.lifecycle import ALLOWED_TRANSITIONS, IllegalTransition
from wfsim.engine.migration import Migration, MigrationManager, MigrationState, MigrationTrigger, Rebalancer
from wfsim.engine.network import FastNetwork, Network, SharedNetwork
from wfsim.engine.node import NodeRuntime
from wfsim.engine.randomness import RandomStreams
from wfsim.engine.simulation import RunResult, Simulation

__all__ = [
    "ALLOWED_TRANSITIONS", "Cluster", "FastNetwork", "IllegalTransition", "Migration", "MigrationManager",
    "MigrationState", "MigrationTrigger", "Network", "NodeRuntime", "RandomStreams", "Rebalancer", "RunResult", "SharedNetwork", "Simulation", "WorkflowExecutor", "WorkflowRun",
]
