"""wfsim: a research workbench for distributed workflow systems on the edge–cloud continuum.

The public API re-exported here covers a whole run::

    from wfsim import Simulation, Workload, Poisson, hierarchical, chain, NearestEdge

    topology = hierarchical(devices=20, edge=4, regional=2)
    workload = Workload("sensors", chain(3), Poisson(rate=0.2))
    result = Simulation(topology, [workload], placement=NearestEdge(), seed=1).run()
    result.metrics["latency"]      # mean / p50 / p95 / p99
    result.trace.task_events       # pandas DataFrame
"""

from wfsim.engine import HealthChange, RunResult, Simulation
from wfsim.model import (
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
    Workflow,
    WorkflowState,
    hierarchical,
)
from wfsim.policies import FIFO, CloudOnly, EarliestFinishTime, NearestEdge, PlacementStrategy
from wfsim.trace import Trace, summarize
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

__version__ = "0.1.0"

__all__ = [
    "FIFO", "MMPP", "CloudOnly", "EarliestFinishTime", "Edge", "HealthChange", "HealthStatus", "Link",
    "LocationRequirement", "NearestEdge", "NetworkFidelity", "Node", "Periodic", "PlacementStrategy", "Poisson",
    "RunResult", "Simulation", "Task", "TaskPriority", "Tier", "Topology", "Trace", "TraceArrivals",
    "WorkDistribution", "Workflow", "WorkflowState", "Workload", "chain", "diamond", "fork_join", "hierarchical",
    "layered_random", "load_wfformat", "order_processing", "summarize",
]
