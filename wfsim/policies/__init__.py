"""Strategies, one module per axis of change, each an ABC with implementations:

* :mod:`~wfsim.policies.placement` — which node runs a task (:class:`PlacementStrategy`);
  :mod:`~wfsim.policies.execution_modes` — the seed's execution modes;
  :mod:`~wfsim.policies.data_aware` — data-aware placement, the score the dynamic
  modes use; :mod:`~wfsim.policies.planning` — HEFT, Min-Min/Max-Min, random and
  round-robin baselines; :mod:`~wfsim.policies.load_balancing` — the seed's seven
  load-balancing rules and executor scoring;
* :mod:`~wfsim.policies.scheduling` — the order in which a node starts ready tasks;
  :mod:`~wfsim.policies.load_aware` — switching that order by cluster load;
* :mod:`~wfsim.policies.autoscaling` — changing nodes' cores at run time;
* :mod:`~wfsim.policies.consistency` — the consistency level of each replicated-state
  operation (fixed, per data type, explicit, adaptive to the store's health);
* :mod:`~wfsim.policies.views` — what strategies may read of the running system;
* :mod:`~wfsim.policies.registry` — the names YAML files and the tuner use.

Every strategy declares its tunable parameters once, as a dataclass deriving from
:class:`~wfsim.model.parameters.Tunable` (see :mod:`wfsim.model.parameters`).
"""

from wfsim.policies.autoscaling import Autoscaler, PredictiveScaling, RightSizing, ThresholdScaling
from wfsim.policies.consistency import (
    AdaptiveConsistency,
    ConsistencyStrategy,
    DataTypeDriven,
    ExplicitContext,
    FixedLevel,
)
from wfsim.policies.data_aware import DataAwarePlacementStrategy
from wfsim.policies.execution_modes import (
    AdaptiveFlow,
    EdgeOnly,
    ExecutionMode,
    HybridDynamic,
    HybridExecution,
    HybridStatic,
)
from wfsim.policies.load_aware import LoadAware, LoadAwarePolicyEvaluator
from wfsim.policies.load_balancing import ConsistentHashRing, ExecutorScore, LoadBalancer
from wfsim.policies.placement import CloudOnly, EarliestFinishTime, NearestEdge, PlacementStrategy
from wfsim.policies.planning import HEFT, MaxMin, MinMin, RandomPlacement, RoundRobin
from wfsim.policies.scheduling import (
    FIFO,
    Deadline,
    FairShare,
    Hybrid,
    Priority,
    ResourceAware,
    SchedulingPolicy,
    WeightedFair,
)

__all__ = [
    "AdaptiveConsistency", "ConsistencyStrategy", "DataTypeDriven", "ExplicitContext", "FixedLevel",
    "FIFO", "HEFT", "AdaptiveFlow", "Autoscaler", "PredictiveScaling", "RightSizing", "ThresholdScaling",
    "CloudOnly", "ConsistentHashRing", "ExecutorScore", "LoadBalancer", "DataAwarePlacementStrategy", "Deadline",
    "EarliestFinishTime", "EdgeOnly", "ExecutionMode", "FairShare", "Hybrid", "HybridDynamic",
    "HybridExecution", "HybridStatic", "LoadAware", "LoadAwarePolicyEvaluator", "MaxMin", "MinMin",
    "NearestEdge", "PlacementStrategy", "Priority", "RandomPlacement", "ResourceAware",
    "RoundRobin", "SchedulingPolicy", "WeightedFair",
]
