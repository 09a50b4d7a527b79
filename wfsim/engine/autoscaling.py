"""The autoscaling control loop: an autoscaler (:mod:`wfsim.policies.autoscaling`)
applied to the scalable nodes every ``interval`` seconds, with provisioning delays,
cooldowns and capacity bounds (YAML: the ``autoscaling:`` group).

Every ``interval`` seconds (10 s) it
samples each scalable node's utilisation, ``allocated cores / capacity`` (in [0, 1]),
keeps the last 15 minutes of samples (from which the 1/5/15-minute averages come), and
asks the strategy for a target, clamped to ``[min_cores, max_cores]`` (``min_cores``
default 1; ``max_cores = ceil(max_factor × initial cores)``, ``max_factor`` default 4).

* **Which nodes**: those of the ``tiers`` given (default EdgeCloud, RegionalCloud,
  Cloud; devices have fixed hardware).
* **Provisioning delay** per tier (default EdgeCloud 30 s, RegionalCloud 60 s, Cloud
  90 s): a scale-up takes effect ``delay`` seconds after its decision; a scale-down
  takes effect at once (releasing capacity needs no provisioning; cores still in use
  drain as their tasks end, see :meth:`wfsim.engine.node.NodeRuntime.resize`).
* **Cooldown** (the strategy's ``cooldown``): a node is not considered while a
  scale-up is being provisioned, nor within ``cooldown`` seconds of its last change
  taking effect. So two changes of one node are always at least ``cooldown`` apart
  (the seed never set ``last_scaling``, so its cooldown was inert).
* **No deadlock**: a scale-down never goes below the cores of the task at the head of
  the node's queue; and if the head needs more cores than the node's target (a task
  placed after a scale-down), the loop scales up to it (reason ``"demand"``), cooldown
  and delay applying as usual.

Every capacity change is recorded in the trace's ``states`` as ``(time, "capacity",
node id, str(cores))``; every decision is in :attr:`AutoscalingLoop.decisions` with
its reason, and every applied change in :attr:`AutoscalingLoop.changes`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from wfsim.model.enums import Tier
from wfsim.model.parameters import Tunable, param
from wfsim.policies.autoscaling import Autoscaler, UtilisationHistory
from wfsim.policies.views import NodeView, ScalableNodeView

if TYPE_CHECKING:
    import simpy


#: Tiers that scale unless told otherwise (devices have fixed hardware).
DEFAULT_TIERS = (Tier.EDGE_CLOUD, Tier.REGIONAL_CLOUD, Tier.CLOUD)
#: Scale-up delay per tier, seconds.
DEFAULT_PROVISIONING = {Tier.EDGE_CLOUD: 30.0, Tier.REGIONAL_CLOUD: 60.0, Tier.CLOUD: 90.0}


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


class Decision(NamedTuple):
    """One decision of the loop: when, which node, from what capacity to what target,
    when it takes effect, and why."""

    time: float
    node: str
    capacity: int
    target: int
    effective: float
    reason: str


class AutoscalingLoop:
    """Samples utilisation and applies an :class:`Autoscaler` to each scalable node
    (see the module docstring). Driven by timeout callbacks; :attr:`pending` is the
    next tick and :attr:`provisioning` the scale-ups in flight.

    Args:
        env: The simulation's environment.
        nodes: Every node; those of ``settings.tiers`` scale.
        settings: The autoscaler, interval, tiers, provisioning delays and bounds.
        record: Receives ``(time, "capacity", node id, str(cores))`` per change.

    Attributes:
        histories: Per scalable node index, its :class:`UtilisationHistory`.
        decisions: Every decision taken.
        changes: ``(time, node id, old target, new target)`` of every change applied.
    """

    def __init__(self, env: simpy.Environment, nodes: Sequence[ScalableNodeView], settings: AutoscalingSettings,
                 record: Callable[[tuple], None] | None = None) -> None:
        self.env = env
        self.settings = settings
        # The loop's own copy: an autoscaler keeps state (its reason), and one settings
        # object may configure many runs.
        self.autoscaler = copy.deepcopy(settings.autoscaler)
        self.interval = settings.interval
        self.tiers = frozenset(settings.tiers)
        self.provisioning_delay = {**DEFAULT_PROVISIONING, **settings.provisioning}
        min_cores = self.min_cores = settings.min_cores
        max_factor = self.max_factor = settings.max_factor
        self._record = record
        self.nodes = [n for n in nodes if n.spec.tier in self.tiers]
        self.histories = {n.index: UtilisationHistory(n.capacity) for n in self.nodes}
        self.max_cores = {n.index: max(min_cores, math.ceil(n.spec.cores * max_factor - 1e-9))
                          for n in self.nodes}
        self.last_change: dict[int, float] = {}
        self.provisioning: dict[int, Any] = {}  # node index → pending timeout
        self.decisions: list[Decision] = []
        self.changes: list[tuple[float, str, int, int]] = []
        self.pending: Any = None
        for n in self.nodes:
            n.on_capacity = self._on_capacity

    def _on_capacity(self, node: NodeView) -> None:
        if self._record is not None:
            self._record((self.env.now, "capacity", node.spec.id, str(node.capacity)))

    def background(self) -> set[int]:
        """Ids of this loop's scheduled events (they alone never keep a run going)."""
        out = {id(e) for e in self.provisioning.values()}
        if self.pending is not None:
            out.add(id(self.pending))
        return out

    def start(self) -> None:
        """Schedule the next tick, ``interval`` from now."""
        self.pending = self.env.timeout(self.interval)
        self.pending.callbacks.append(self._tick)

    def _tick(self, _event: Any) -> None:
        self.step()
        self.start()

    @staticmethod
    def utilisation(node: NodeView) -> float:
        """Allocated cores / capacity."""
        return (node.capacity - node.free_cores) / node.capacity

    def step(self) -> None:
        """One control round now: sample every scalable node, then decide."""
        now = self.env.now
        cooldown = self.autoscaler.cooldown
        for node in self.nodes:
            history = self.histories[node.index]
            history.capacity = node.target
            history.add(now, self.utilisation(node))
            if node.index in self.provisioning:
                continue
            last = self.last_change.get(node.index)
            if last is not None and now - last < cooldown:
                continue
            target = self.autoscaler.decide(now, history)
            reason = self.autoscaler.reason() if target is not None else ""
            head = self._head_cores(node)
            if target is not None and target < node.target:
                target = max(target, head)
            if head > (node.target if target is None else target):
                target, reason = head, "demand"
            if target is None:
                continue
            target = min(max(target, self.min_cores, head), max(self.max_cores[node.index], head))
            if target == node.target:
                continue
            self.request(node, target, reason)

    @staticmethod
    def _head_cores(node: NodeView) -> int:
        queue = node.queue
        if not queue:
            return 0
        run, task = queue.peek()
        return run.spec.tasks[task].cores

    def request(self, node: ScalableNodeView, target: int, reason: str = "manual") -> Decision:
        """Scale ``node`` to ``target`` cores: at once if down, after the tier's
        provisioning delay if up."""
        now = self.env.now
        delay = self.provisioning_delay.get(node.spec.tier, 0.0) if target > node.target else 0.0
        decision = Decision(now, node.spec.id, node.target, target, now + delay, reason)
        self.decisions.append(decision)
        if self._record is not None:
            # The decision, as opposed to the capacity change it leads to (after the
            # provisioning delay, or gradually while a scale-down drains).
            self._record((now, "scaling", node.spec.id, f"{node.target}->{target} ({reason})"))
        if delay > 0:
            event = self.env.timeout(delay)
            event.callbacks.append(lambda _e: self._apply(node, target))
            self.provisioning[node.index] = event
        else:
            self._apply(node, target)
        return decision

    def _apply(self, node: ScalableNodeView, target: int) -> None:
        self.provisioning.pop(node.index, None)
        self.changes.append((self.env.now, node.spec.id, node.target, target))
        self.last_change[node.index] = self.env.now
        node.resize(target)
        self.histories[node.index].capacity = node.target
