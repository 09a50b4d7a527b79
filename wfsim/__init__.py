"""wfsim: a research workbench for distributed workflow systems on the edge–cloud continuum.

The public API re-exported here covers a whole run::

    from wfsim import Simulation, Workload, Poisson, hierarchical, chain, NearestEdge

    topology = hierarchical(devices=20, edge=4, regional=2)
    workload = Workload("sensors", chain(3), Poisson(rate=0.2))
    result = Simulation(topology, [workload], placement=NearestEdge(), seed=1).run()
    result.metrics["latency"]      # mean / p50 / p95 / p99
    result.trace.task_events       # pandas DataFrame

and a batch of scenarios × replications (``wfsim.batch``, :mod:`wfsim.experiments.batch`)::

    runs = wfsim.batch("experiments/placement-batch.yaml", replications=3)
    runs.summary(), runs.paired()  # means with 95% intervals; differences on common seeds
    wfsim.open_batch("results/placement"), wfsim.open_study("results/tune")  # saved ones, read back
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfsim._lazy import lazy_exports

if TYPE_CHECKING:
    from wfsim.consistency import ConsistencySettings
    from wfsim.engine import (
        AutonomySettings,
        AutoscalingSettings,
        FaultToleranceSettings,
        HealthChange,
        MigrationSettings,
        RebalanceSettings,
        RunResult,
        Simulation,
    )
    from wfsim.experiments.batch import batch, open_batch
    from wfsim.model import (
        ConsistencyLevel,
        Edge,
        HealthStatus,
        Link,
        LocationRequirement,
        NetworkFidelity,
        Node,
        Task,
        TaskPriority,
        Tier,
        Topology,
        TraceLevel,
        Workflow,
        WorkflowState,
        hierarchical,
    )
    from wfsim.policies import (
        FIFO,
        AdaptiveConsistency,
        CloudOnly,
        DataTypeDriven,
        EarliestFinishTime,
        FixedLevel,
        NearestEdge,
        PlacementStrategy,
    )
    from wfsim.trace import Trace, summarize
    from wfsim.tuning import open_study, tune
    from wfsim.workloads import (
        MMPP,
        Periodic,
        Poisson,
        TraceArrivals,
        WorkDistribution,
        Workload,
        chain,
        diamond,
        fork_join,
        layered_random,
        load_wfformat,
        order_processing,
    )

# The simulator (simpy, pandas, networkx) is imported on first use of one of these
# names, not by ``import wfsim``: commands that need none of it, like
# ``wfsim check-history``, then start in a fraction of the time.
_LAZY: dict[str, str] = {
    "ConsistencySettings": "wfsim.consistency",
    **dict.fromkeys(["AutonomySettings", "AutoscalingSettings", "FaultToleranceSettings", "HealthChange",
                     "MigrationSettings",
                     "RebalanceSettings", "RunResult", "Simulation"], "wfsim.engine"),
    **dict.fromkeys(["ConsistencyLevel", "Edge", "HealthStatus", "Link", "LocationRequirement", "NetworkFidelity",
                     "Node", "Task",
                     "TaskPriority", "Tier", "Topology", "TraceLevel", "Workflow", "WorkflowState", "hierarchical"],
                    "wfsim.model"),
    **dict.fromkeys(["FIFO", "AdaptiveConsistency", "CloudOnly", "DataTypeDriven", "EarliestFinishTime", "FixedLevel",
                     "NearestEdge", "PlacementStrategy"], "wfsim.policies"),
    **dict.fromkeys(["Trace", "summarize"], "wfsim.trace"),
    **dict.fromkeys(["open_study", "tune"], "wfsim.tuning"),
    **dict.fromkeys(["batch", "open_batch"], "wfsim.experiments.batch"),
    **dict.fromkeys(["MMPP", "Periodic", "Poisson", "TraceArrivals", "WorkDistribution", "Workload", "chain",
                     "diamond", "fork_join", "layered_random", "load_wfformat", "order_processing"],
                    "wfsim.workloads"),
}


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)


__version__ = "0.1.0"

__all__ = [
    "AdaptiveConsistency", "ConsistencyLevel", "ConsistencySettings", "DataTypeDriven", "FixedLevel",
    "AutonomySettings",
    "AutoscalingSettings", "FaultToleranceSettings", "FIFO", "MMPP", "MigrationSettings", "RebalanceSettings",
    "CloudOnly", "EarliestFinishTime",
    "Edge", "HealthChange", "HealthStatus", "Link",
    "LocationRequirement", "NearestEdge", "NetworkFidelity", "Node", "Periodic", "PlacementStrategy", "Poisson",
    "RunResult", "Simulation", "Task", "TaskPriority", "Tier", "Topology", "Trace", "TraceArrivals", "TraceLevel",
    "WorkDistribution", "Workflow", "WorkflowState", "Workload", "batch", "chain", "diamond", "fork_join",
    "hierarchical", "layered_random", "load_wfformat", "open_batch", "open_study", "order_processing", "summarize",
    "tune",
]
