"""Autoscaling settings: which autoscaler resizes which nodes' cores, how often and
within which bounds (YAML: the ``autoscaling:`` group)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wfsim.model.enums import Tier
from wfsim.model.parameters import Tunable, param
from wfsim.policies.autoscaling import DEFAULT_TIERS, Autoscaler


@dataclass(frozen=True)
class AutoscalingSettings(Tunable):
    """Run-time autoscaling of node cores (see :mod:`wfsim.policies.autoscaling`).

    Attributes:
        autoscaler: The rule from a node's utilisation to a target core count.
        interval: Seconds between control rounds.
        min_cores, max_factor: Bounds of a scalable node's capacity: ``[min_cores,
            ceil(max_factor × initial cores)]``.
        tiers: Tiers whose nodes scale (default EdgeCloud, RegionalCloud, Cloud).
        provisioning: Scale-up delay per tier, seconds, overriding the defaults
            (EdgeCloud 30, RegionalCloud 60, Cloud 90).

    Example:
        >>> from wfsim.policies.autoscaling import ThresholdScaling
        >>> AutoscalingSettings(ThresholdScaling(), tiers=("EdgeCloud",)).tiers
        (<Tier.EDGE_CLOUD: 'EdgeCloud'>,)
    """

    name = "autoscaling"
    autoscaler: Autoscaler
    interval: float = param(10.0, low=1e-3, doc="seconds between control rounds")
    min_cores: int = param(1, low=1, doc="fewest cores a scalable node keeps")
    max_factor: float = param(4.0, low=1.0, high=100.0, doc="most cores a node reaches, × its initial cores")
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    provisioning: Mapping[Tier, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "tiers", tuple(Tier.parse(t) for t in self.tiers))
        delays = {}
        for tier, delay in self.provisioning.items():
            if not delay >= 0:
                raise ValueError(f"autoscaling: provisioning delay must be >= 0, got {delay}")
            delays[Tier.parse(tier)] = float(delay)
        object.__setattr__(self, "provisioning", delays)
