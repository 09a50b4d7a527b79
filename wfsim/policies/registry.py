"""Strategy names for YAML files and the tuner: the one place that lists them all.

Strategies are passed to the engine as objects; these maps exist only so that a
configuration file or an Optuna study can name a strategy and its parameters.
"""

from __future__ import annotations

from wfsim.policies import data_aware, execution_modes, load_balancing, placement, planning, scheduling
from wfsim.policies.autonomy import DECISION_RULES, FALLBACK_POLICIES
from wfsim.policies.autoscaling import AUTOSCALERS
from wfsim.policies.consistency import CONSISTENCY_STRATEGIES
from wfsim.policies.load_aware import LoadAware
from wfsim.policies.placement import PlacementStrategy
from wfsim.policies.scheduling import SchedulingPolicy

PLACEMENT_STRATEGIES: dict[str, type[PlacementStrategy]] = {
    **placement.STRATEGIES,
    **execution_modes.STRATEGIES,
    **data_aware.STRATEGIES,
    **planning.STRATEGIES,
    **load_balancing.STRATEGIES,
}

SCHEDULING_POLICIES: dict[str, type[SchedulingPolicy]] = {
    **scheduling.SCHEDULING_POLICIES,
    LoadAware.name: LoadAware,
}

__all__ = ["AUTOSCALERS", "CONSISTENCY_STRATEGIES", "DECISION_RULES", "FALLBACK_POLICIES", "PLACEMENT_STRATEGIES",
           "SCHEDULING_POLICIES"]
