"""The SimPy core: simulation, node runtime, network, workflow executor."""

from wfsim.engine.autonomy import AutonomySettings
from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.engine.cluster import Cluster
from wfsim.engine.detection import DetectionSettings, FailureDetector
from wfsim.engine.executor import WorkflowExecutor, WorkflowRun
from wfsim.engine.fault_tolerance import FaultToleranceSettings, FaultTolerantExecutor
from wfsim.engine.leases import LeaseKeeper, LeaseManager, LeaseSettings
from wfsim.engine.lifecycle import IllegalTransition
from wfsim.engine.migration import MigrationManager, MigrationSettings, Rebalancer, RebalanceSettings, TaskMigration
from wfsim.engine.network import FastNetwork, Network, SharedNetwork
from wfsim.engine.node import NodeRuntime, TaskExecution, allocate, task_rate
from wfsim.engine.partitions import PartitionHandlingSettings, WriteGate
from wfsim.engine.randomness import RandomStreams
from wfsim.engine.simulation import HealthChange, RunResult, Simulation

__all__ = [
    "AutonomySettings", "AutoscalingSettings", "Cluster", "FastNetwork", "FaultToleranceSettings",
    "FaultTolerantExecutor", "HealthChange",
    "IllegalTransition", "MigrationManager", "MigrationSettings", "Network", "NodeRuntime",
    "RandomStreams", "RebalanceSettings", "Rebalancer", "RunResult", "SharedNetwork", "Simulation",
    "TaskExecution", "TaskMigration", "WorkflowExecutor", "WorkflowRun", "allocate", "task_rate",
    "DetectionSettings", "FailureDetector", "LeaseKeeper", "LeaseManager", "LeaseSettings",
    "PartitionHandlingSettings", "WriteGate",
]
