"""Strategies: placement and node-local scheduling (each an ABC with implementations)."""

from wfsim.policies.parameters import Parameter
from wfsim.policies.placement import (
    PLACEMENT_STRATEGIES,
    CloudOnly,
    EarliestFinishTime,
    NearestEdge,
    PlacementStrategy,
)
from wfsim.policies.scheduling import FIFO, SCHEDULING_POLICIES, SchedulingPolicy

__all__ = [
    "FIFO", "PLACEMENT_STRATEGIES", "SCHEDULING_POLICIES", "CloudOnly", "EarliestFinishTime",
    "NearestEdge", "Parameter", "PlacementStrategy", "SchedulingPolicy",
]
