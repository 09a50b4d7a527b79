"""The SimPy core: simulation, node runtime, network, workflow executor."""

from wfsim.engine.cluster import Cluster
from wfsim.engine.executor import WorkflowExecutor, WorkflowRun
from wfsim.engine.lifecycle import ALLOWED_TRANSITIONS, IllegalTransition
from wfsim.engine.migration import Migration, MigrationManager, Rebalancer
from wfsim.engine.network import FastNetwork, Network, SharedNetwork
from wfsim.engine.node import Execution, NodeRuntime, allocate, task_rate
from wfsim.engine.randomness import RandomStreams
from wfsim.engine.simulation import HealthChange, RunResult, Simulation

__all__ = [
    "ALLOWED_TRANSITIONS", "Cluster", "Execution", "FastNetwork", "HealthChange", "IllegalTransition", "Migration",
    "MigrationManager", "Network", "NodeRuntime", "RandomStreams",
    "Rebalancer", "RunResult", "SharedNetwork", "Simulation", "WorkflowExecutor", "WorkflowRun", "allocate",
    "task_rate",
]
