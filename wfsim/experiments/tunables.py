"""Everything a config (and the tuner) can set, with its declared parameters.

One list, derived from the registries: each registered strategy and each group of
simulation settings, with the YAML key its parameters go under. ``wfsim params``
prints it; the tuner builds its search spaces from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wfsim.consistency.settings import ConsistencySettings
from wfsim.engine.autonomy import AutonomySettings
from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.engine.detection import DetectionSettings
from wfsim.engine.fault_tolerance import FaultToleranceSettings
from wfsim.engine.leases import LeaseSettings
from wfsim.engine.migration import MigrationSettings, RebalanceSettings
from wfsim.engine.partitions import PartitionHandlingSettings
from wfsim.faults.processes import FAULT_PROCESSES
from wfsim.model.parameters import Parameter
from wfsim.policies.registry import (
    AUTOSCALERS,
    CONSISTENCY_STRATEGIES,
    DECISION_RULES,
    FALLBACK_POLICIES,
    PLACEMENT_STRATEGIES,
    SCHEDULING_POLICIES,
)


@dataclass(frozen=True)
class TunableEntry:
    """One strategy or settings group as a config names it.

    Attributes:
        axis: ``placement``, ``scheduling``, ``autoscaling`` (strategies),
            ``fallback``, ``rule`` (an edge node's, under ``autonomy``), ``consistency``
            (a level strategy, under ``consistency.strategy``), ``settings``
            or ``faults`` (fault processes: each entry of a config's ``faults:`` list
            names one, ``faults.<i>.<parameter>=…`` sets it).
        name: The strategy's registry name, or the settings group's name.
        cls: The class (its docstring's first line describes it).
        key: Where its parameters go in a config, e.g. ``placement.params``.
    """

    axis: str
    name: str
    cls: type
    key: str

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """The declared parameters."""
        return tuple(self.cls.parameters)  # type: ignore[attr-defined]

    @property
    def summary(self) -> str:
        """The first sentence of the class docstring, without reST markup."""
        paragraph = " ".join((self.cls.__doc__ or "").strip().split("\n\n")[0].split())
        plain = re.sub(r":\w+:`~?([^`]+)`", r"\1", paragraph).replace("``", "")
        return re.split(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z])", plain)[0].rstrip(".") + "."


def tunables() -> list[TunableEntry]:
    """Every registered strategy, then every settings group, then every fault process,
    in registry order."""
    found = [TunableEntry("placement", name, cls, "placement.params") for name, cls in PLACEMENT_STRATEGIES.items()]
    found += [TunableEntry("scheduling", name, cls, "scheduling.params") for name, cls in SCHEDULING_POLICIES.items()]
    found += [TunableEntry("autoscaling", name, cls, "autoscaling.params") for name, cls in AUTOSCALERS.items()]
    found += [TunableEntry("fallback", name, cls, "autonomy.fallback.params")
              for name, cls in FALLBACK_POLICIES.items()]
    found += [TunableEntry("rule", name, cls, "autonomy.rules[].params") for name, cls in DECISION_RULES.items()]
    found += [TunableEntry("consistency", name, cls, "consistency.strategy.params")
              for name, cls in CONSISTENCY_STRATEGIES.items()]
    found += [TunableEntry("settings", cls.name, cls, key) for cls, key in (
        (RebalanceSettings, "rebalance"), (MigrationSettings, "rebalance"), (AutoscalingSettings, "autoscaling"),
        (DetectionSettings, "detection"), (LeaseSettings, "leases"), (PartitionHandlingSettings, "partition_handling"),
        (AutonomySettings, "autonomy"), (FaultToleranceSettings, "fault_tolerance"),
        (ConsistencySettings, "consistency"))]
    found += [TunableEntry("faults", name, cls, "faults") for name, cls in FAULT_PROCESSES.items()]
    return found
