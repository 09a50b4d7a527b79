"""Hybrid execution modes and data-aware placement (seed part 2 §3, l.3494–3995).

The seed's ``HybridExecutionScheduler`` runs in one of five :class:`ExecutionMode` s
and, in the two dynamic ones, asks a ``DataAwarePlacementStrategy`` to score nodes.
Here each mode is a :class:`~wfsim.policies.placement.PlacementStrategy`:

========================  =================  ==============================================
name (YAML)               class              rule
========================  =================  ==============================================
``hybrid_execution``      HybridExecution    any mode, chosen by the ``mode`` parameter
``cloud_only``            (placement.py)     nearest Cloud node (also ``mode: CloudOnly``)
``edge_only``             EdgeOnly           nearest node on the user's side (``edge_tiers``)
``hybrid_static``         HybridStatic       the task's ``Specific`` tier, else Cloud
``hybrid_dynamic``        HybridDynamic      argmax of the data-aware score
``adaptive_flow``         AdaptiveFlow       hybrid_dynamic + migration of task classes
``data_aware``            DataAwarePlace…    the bare data-aware score (= hybrid_dynamic)
========================  =================  ==============================================

Location requirements. Every mode chooses among ``cluster.candidates(task, origin)``,
which already satisfy the task's ``LocationRequirement`` and fit its cores and memory,
ordered by ``PreferredOrder`` rank, then by route latency from the origin. A mode
first keeps the candidates its own rule allows (CloudOnly: Cloud; EdgeOnly: the edge
tiers; HybridStatic: one tier), then takes the best ``PreferredOrder`` rank left, and
only then applies its criterion (nearest node, or the highest score; ties go to the
nearer node, the seed's "first candidate"). When the mode's rule and the requirement
cannot both hold (``CloudOnly`` for a ``Specific(EdgeCloud)`` task, ``HybridStatic``
for an ``AnyOf`` that excludes the cloud) ``place`` returns None: the task fails with
"no feasible node for task …" and so does its workflow. The seed instead ignored the
requirement in the static modes (and ignored ``PreferredOrder`` order, defect §6.10).

EdgeOnly. The seed's ``EdgeOnly`` picks "the first EdgeDevice" and P17 checks
``EdgeOnly → EdgeDevice``. In wfsim's ``hierarchical`` topology the edge nodes are
``EdgeCloud`` by default and there may be no EdgeDevice at all, so the allowed set is
the parameter ``edge_tiers``: ``"edge"`` (default) is every tier with
:attr:`Tier.is_edge` -- the workflow's own LocalDevice, EdgeDevice and EdgeCloud, i.e.
the user's side of the regional cloud; ``"edge_nodes"`` is EdgeDevice and EdgeCloud
(shared edge infrastructure, not the user's own device); ``"EdgeDevice"`` is the seed's
literal rule. Within the set the nearest candidate wins, which is the workflow's own
device whenever the requirement allows it and it is large enough.

The data-aware score (seed ``DataAwarePlacementStrategy.decide_placement``), for a
candidate of tier ``L``::

    s = [Specific(L)]·w_dl·MB  +  w_cp·C[L]·complexity
      + w_lat·Lat[L]·latency_sensitivity_ms/100  +  [energy-constrained]·w_en·E[L]
    s *= 1 − fr[class, L]                      (if the class has a failure record at L)
    s += history_weight · 1000 / avg_ms[class, L]   (if it has run at L)

with the tier tables :data:`COMPUTE_SCORE`, :data:`LATENCY_SCORE` and
:data:`ENERGY_SCORE` (higher = better suited). wfsim's :class:`~wfsim.model.workflow.Task`
has no ``computation_complexity``, ``latency_sensitivity_ms``, ``energy_constraints``
or ``data_size_bytes``, so :meth:`DataAwarePlacementStrategy.features` derives them
(see :class:`PlacementFeatures`); Python users may pass their own ``features``
function instead.

Statistics are kept per *task class* -- a task id within its workflow's name -- and
per tier: a window of the last ``stats_window`` durations and a failure-rate EWMA
``fr ← (1−α)·fr + α·[failed]`` (seed: α = 0.1). They feed the score in both dynamic
modes, as in the seed. ``AdaptiveFlow`` additionally *migrates* a class away from a
tier when, after an update of that (class, tier):

* (a) the window holds more than ``min_samples`` (5) durations and the mean of the
  last ``recent_samples`` (3) exceeds ``slowdown_factor`` (1.2) × the mean of the
  older ones in the window, or
* (b) the failure rate exceeds ``failure_threshold`` (0.1). From a clean record one
  failure gives exactly α = 0.1, which is *not* above 0.1: with the defaults it takes
  two consecutive failures (0.19).

The seed mixed tiers in one window per task; here each tier has its own, so moving a
class to a slower tier is not mistaken for a slowdown. Migration (seed
``migrate_task``, no migration cost) means subsequent placements of that class leave
the tier out of its candidates; a task already placed stays where it is. The tier is
avoided for ``cooloff`` seconds; after that its window and failure rate for the class
are cleared (a clean probation) and it may be chosen again. While a tier is avoided
it is not re-triggered, so a class migrates at most once per tier per cool-off
(the part-2 anti-thrashing constraint C11). If every tier the requirement and mode
allow is avoided, the class stays where it can run rather than fail. Migrations are
listed in :attr:`AdaptiveFlow.migrations`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

from wfsim.model.enums import PRIORITY_SCORE, Tier
from wfsim.model.workflow import LocationKind
from wfsim.policies.parameters import Parameter, validate_params
from wfsim.policies.placement import PlacementStrategy

if TYPE_CHECKING:
    from wfsim.engine.cluster import Cluster
    from wfsim.engine.executor import WorkflowRun
    from wfsim.engine.node import NodeRuntime


class ExecutionMode(str, Enum):
    """The seed's ``ExecutionMode``."""

    CLOUD_ONLY = "CloudOnly"
    EDGE_ONLY = "EdgeOnly"
    HYBRID_STATIC = "HybridStatic"        # locations fixed in advance
    HYBRID_DYNAMIC = "HybridDynamic"      # chosen at run time
    ADAPTIVE_FLOW = "AdaptiveFlow"        # chosen at run time, task classes migrate

    @property
    def dynamic(self) -> bool:
        """True for the modes that score candidates (HybridDynamic, AdaptiveFlow)."""
        return self in (ExecutionMode.HYBRID_DYNAMIC, ExecutionMode.ADAPTIVE_FLOW)

    @classmethod
    def parse(cls, value: str | ExecutionMode) -> ExecutionMode:
        """Accept a mode by seed name (``HybridDynamic``), enum name or snake case
        (``hybrid_dynamic``)."""
        if isinstance(value, ExecutionMode):
            return value
        if isinstance(value, str):
            key = value.replace("_", "").replace("-", "").lower()
            for mode in cls:
                if key == mode.value.lower():
                    return mode
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown execution mode {value!r}; allowed: {allowed}")


# --- the seed's tier tables -------------------------------------------------------
#: Compute power per tier (``C``): compute-heavy tasks gain most in the cloud.
COMPUTE_SCORE: dict[Tier, float] = {
    Tier.CLOUD: 1.0, Tier.REGIONAL_CLOUD: 0.8, Tier.EDGE_CLOUD: 0.6, Tier.EDGE_DEVICE: 0.3, Tier.LOCAL_DEVICE: 0.1,
}
#: Latency suitability per tier (``Lat``): latency-sensitive tasks gain most near the user.
LATENCY_SCORE: dict[Tier, float] = {
    Tier.CLOUD: 0.2, Tier.REGIONAL_CLOUD: 0.4, Tier.EDGE_CLOUD: 0.6, Tier.EDGE_DEVICE: 0.8, Tier.LOCAL_DEVICE: 1.0,
}
#: Energy suitability per tier (``E``, higher = less energy for the constrained party).
ENERGY_SCORE: dict[Tier, float] = {
    Tier.CLOUD: 0.3, Tier.REGIONAL_CLOUD: 0.4, Tier.EDGE_CLOUD: 0.6, Tier.EDGE_DEVICE: 0.7, Tier.LOCAL_DEVICE: 1.0,
}
#: Allowed tiers of EdgeOnly per ``edge_tiers`` choice.
EDGE_TIER_SETS: dict[str, frozenset[Tier]] = {
    "edge": frozenset(t for t in Tier if t.is_edge),
    "edge_nodes": frozenset({Tier.EDGE_DEVICE, Tier.EDGE_CLOUD}),
    "EdgeDevice": frozenset({Tier.EDGE_DEVICE}),
}
_BATTERY_TIERS = frozenset({Tier.LOCAL_DEVICE, Tier.EDGE_DEVICE})
_MB = float(2**20)


@dataclass(frozen=True)
class PlacementFeatures:
    """The seed's ``ExecutionPlacementParams`` for one task instance.

    Derived by :meth:`DataAwarePlacementStrategy.features`:

    * ``data_size_bytes``: bytes the task receives -- the sum over its incoming edges,
      or the workflow's request payload for a root.
    * ``computation_complexity``: the task's declared work over
      ``complexity_reference`` ops (default 1e9: one second of a LocalDevice-class
      core), so a 2e9-op task has complexity 2. Declared, not the instance's drawn
      work: a scheduler knows the estimate, not the outcome.
    * ``latency_sensitivity_ms``: larger means more edge preference (the seed's
      convention). ``100 × max(urgency(priority), min(1, deadline_reference / deadline))``,
      with urgency Critical 1.0 … Background 0.2 and the task's deadline (else the
      workflow's, else none): a Normal task without deadline is 60, any task with a
      deadline of ``deadline_reference`` seconds or less is 100.
    * ``energy_constraints``: per the ``energy_constrained`` parameter: by default
      when the workflow comes from a battery-class device (LocalDevice or EdgeDevice).

    ``bandwidth_available_mbps`` is unused in the seed and left out.
    """

    data_size_bytes: float = 0.0
    computation_complexity: float = 1.0
    latency_sensitivity_ms: float = 0.0
    energy_constraints: bool = False


class TierStats:
    """Statistics of one task class on one tier: a window of durations and a
    failure-rate EWMA."""

    __slots__ = ("durations", "failure_rate", "has_failure_record")

    def __init__(self, window: int) -> None:
        self.durations: deque[float] = deque(maxlen=window)
        self.failure_rate = 0.0
        self.has_failure_record = False

    def record(self, failed: bool, alpha: float, duration: float | None = None) -> None:
        """One outcome: ``fr ← (1−α)·fr + α·[failed]``, and the duration if it ran."""
        self.failure_rate = (1.0 - alpha) * self.failure_rate + (alpha if failed else 0.0)
        self.has_failure_record = True
        if duration is not None:
            self.durations.append(duration)

    def mean(self) -> float | None:
        """Mean duration over the window, or None without samples."""
        return sum(self.durations) / len(self.durations) if self.durations else None

    def slowdown(self, recent: int) -> float | None:
        """mean(last ``recent``) / mean(the older samples of the window), or None when
        there are no older samples (or they average zero)."""
        samples = list(self.durations)
        if len(samples) <= recent:
            return None
        older = samples[:-recent]
        older_mean = sum(older) / len(older)
        if older_mean <= 0:
            return None
        return (sum(samples[-recent:]) / recent) / older_mean

    def reset(self) -> None:
        """Forget everything (after a cool-off)."""
        self.durations.clear()
        self.failure_rate = 0.0
        self.has_failure_record = False


@dataclass(frozen=True)
class Migration:
    """AdaptiveFlow moved a task class away from a tier.

    Attributes:
        time: When the trigger held.
        workflow: Workflow name, and ``task`` the task id: the task class.
        tier: The tier it leaves.
        reason: ``"slowdown"`` or ``"failures"``.
        value: The slowdown ratio or failure rate that crossed its threshold.
        until: When the tier may be used again by the class.
    """

    time: float
    workflow: str
    task: str
    tier: Tier
    reason: str
    value: float
    until: float


# --- declared parameters ----------------------------------------------------------
_WEIGHT_DOC = ("no seed default; 0.5: mid-range, and equal weights favour no term "
               "(the unweighted sum of the seed's terms, halved)")

DATA_AWARE_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("data_locality_weight", "float", 0.5, 0.0, 1.0,
              doc="w_dl: weight of input megabytes at the data's tier; " + _WEIGHT_DOC),
    Parameter("compute_power_weight", "float", 0.5, 0.0, 1.0,
              doc="w_cp: weight of tier compute power × complexity; " + _WEIGHT_DOC),
    Parameter("latency_weight", "float", 0.5, 0.0, 1.0,
              doc="w_lat: weight of tier latency suitability × sensitivity/100; " + _WEIGHT_DOC),
    Parameter("energy_weight", "float", 0.5, 0.0, 1.0,
              doc="w_en: weight of tier energy suitability when energy-constrained; " + _WEIGHT_DOC),
    Parameter("history_weight", "float", 0.2, 0.0, 1.0,
              doc="history bonus: history_weight × 1000 / mean duration in ms at the tier (seed 0.2)"),
    Parameter("stats_window", "int", 10, 3, 50,
              doc="durations kept per task class and tier (seed 10)"),
    Parameter("failure_alpha", "float", 0.1, 0.01, 0.5,
              doc="failure-rate EWMA weight α: fr ← (1−α)fr + α·failed (seed 0.1)"),
    Parameter("complexity_reference", "float", 1e9, 1e6, 1e13,
              doc="ops of complexity 1 (project default: 1 s of a 1e9 ops/s core)"),
    Parameter("deadline_reference", "float", 1.0, 0.01, 3600.0,
              doc="a deadline this short (s) or shorter makes a task fully latency-sensitive (project default)"),
    Parameter("energy_constrained", "categorical", "battery_origin",
              choices=("battery_origin", "always", "never"),
              doc="when the energy term counts: workflows from a LocalDevice/EdgeDevice, always, or never"),
    Parameter("locality", "categorical", "specific", choices=("specific", "inputs"),
              doc="data term: seed's (input MB at the task's Specific tier) or inputs (MB already on the node)"),
    Parameter("duration", "categorical", "response", choices=("response", "execution"),
              doc="duration statistics: placement to end (transfers, queueing, execution) or execution only"),
)

ADAPTIVE_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("slowdown_factor", "float", 1.2, 1.05, 2.0,
              doc="migrate when recent mean > factor × older mean (seed 1.2)"),
    Parameter("failure_threshold", "float", 0.1, 0.02, 0.5,
              doc="migrate when the failure-rate EWMA exceeds this (seed 0.1)"),
    Parameter("recent_samples", "int", 3, 1, 5,
              doc="durations averaged as 'recent' (seed 3)"),
    Parameter("min_samples", "int", 5, 2, 49,
              doc="the slowdown trigger needs more than this many durations (seed 5); "
                  "recent_samples <= min_samples < stats_window"),
    Parameter("cooloff", "float", 60.0, 1.0, 3600.0,
              doc="seconds a class avoids a tier it migrated from; then the tier's stats reset "
                  "(no seed value)"),
)

EDGE_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("edge_tiers", "categorical", "edge", choices=tuple(EDGE_TIER_SETS),
              doc="EdgeOnly's tiers: edge = Tier.is_edge (own device, EdgeDevice, EdgeCloud); "
                  "edge_nodes = EdgeDevice, EdgeCloud; EdgeDevice = the seed's literal rule"),
)

MODE_PARAMETER = Parameter("mode", "categorical", ExecutionMode.HYBRID_DYNAMIC.value,
                           choices=tuple(m.value for m in ExecutionMode),
                           doc="the seed's ExecutionMode")


# --- the data-aware strategy -------------------------------------------------------
FeatureFn = Callable[["WorkflowRun", int, "Cluster"], PlacementFeatures]


class DataAwarePlacementStrategy(PlacementStrategy):
    """The seed's data-aware score; argmax over the candidates of the best
    ``PreferredOrder`` rank, ties to the nearer node.

    Args: the parameters in :data:`DATA_AWARE_PARAMETERS`, plus (Python only)
    ``features``: a function ``(run, task, cluster) -> PlacementFeatures`` replacing the
    derivation in :meth:`features`.

    Attributes:
        stats: ``{(workflow name, task id): {Tier: TierStats}}``, fed by the hooks.
    """

    name = "data_aware"
    parameters: ClassVar[tuple[Parameter, ...]] = DATA_AWARE_PARAMETERS

    def __init__(
        self,
        data_locality_weight: float = 0.5,
        compute_power_weight: float = 0.5,
        latency_weight: float = 0.5,
        energy_weight: float = 0.5,
        history_weight: float = 0.2,
        stats_window: int = 10,
        failure_alpha: float = 0.1,
        complexity_reference: float = 1e9,
        deadline_reference: float = 1.0,
        energy_constrained: str = "battery_origin",
        locality: str = "specific",
        duration: str = "response",
        *,
        features: FeatureFn | None = None,
    ) -> None:
        v = validate_params(type(self).__name__, DATA_AWARE_PARAMETERS, dict(
            data_locality_weight=data_locality_weight, compute_power_weight=compute_power_weight,
            latency_weight=latency_weight, energy_weight=energy_weight, history_weight=history_weight,
            stats_window=stats_window, failure_alpha=failure_alpha,
            complexity_reference=complexity_reference, deadline_reference=deadline_reference,
            energy_constrained=energy_constrained, locality=locality, duration=duration))
        self.w_data = v["data_locality_weight"]
        self.w_compute = v["compute_power_weight"]
        self.w_latency = v["latency_weight"]
        self.w_energy = v["energy_weight"]
        self.history_weight = v["history_weight"]
        self.stats_window = v["stats_window"]
        self.failure_alpha = v["failure_alpha"]
        self.complexity_reference = v["complexity_reference"]
        self.deadline_reference = v["deadline_reference"]
        self.energy_constrained = v["energy_constrained"]
        self.locality = v["locality"]
        self.duration = v["duration"]
        self._features = features
        self.stats: dict[tuple[str, str], dict[Tier, TierStats]] = {}
        self._placed_at: dict[int, dict[int, float]] = {}

    # --- features and score ---------------------------------------------------------
    def features(self, run: WorkflowRun, task: int, cluster: Cluster) -> PlacementFeatures:
        """The seed's placement parameters of task ``task`` of ``run`` (see
        :class:`PlacementFeatures` for the derivation)."""
        if self._features is not None:
            return self._features(run, task, cluster)
        spec = run.spec
        t = spec.tasks[task]
        preds = spec.predecessors[task]
        data = sum(spec.edge_bytes[(p, task)] for p in preds) if preds else spec.input_bytes
        urgency = PRIORITY_SCORE[t.priority]
        deadline = t.deadline if t.deadline is not None else spec.deadline
        if deadline is not None:
            urgency = max(urgency, min(1.0, self.deadline_reference / deadline))
        if self.energy_constrained == "always":
            energy = True
        elif self.energy_constrained == "never":
            energy = False
        else:
            energy = cluster.nodes[run.origin].spec.tier in _BATTERY_TIERS
        return PlacementFeatures(
            data_size_bytes=data,
            computation_complexity=t.work / self.complexity_reference,
            latency_sensitivity_ms=100.0 * urgency,
            energy_constraints=energy,
        )

    def score(self, tier: Tier, features: PlacementFeatures, *, locality_bytes: float = 0.0,
              stats: TierStats | None = None) -> float:
        """The seed's score of a node of ``tier``.

        ``locality_bytes`` is the data the locality term counts at this node (the
        caller decides: all input bytes when the task is ``Specific`` to this tier, or
        the bytes already on the node); ``stats`` the task class's record at the tier.
        """
        s = (self.w_data * locality_bytes / _MB
             + self.w_compute * COMPUTE_SCORE[tier] * features.computation_complexity
             + self.w_latency * LATENCY_SCORE[tier] * features.latency_sensitivity_ms / 100.0)
        if features.energy_constraints:
            s += self.w_energy * ENERGY_SCORE[tier]
        if stats is not None:
            if stats.has_failure_record:
                s *= 1.0 - stats.failure_rate
            mean = stats.mean()
            if mean is not None:
                # avg in ms, floored at 1 ms so an instantaneous task does not divide by 0.
                s += self.history_weight * 1000.0 / max(mean * 1000.0, 1.0)
        return s

    def _locality_bytes(self, run: WorkflowRun, task: int, node: NodeRuntime,
                        features: PlacementFeatures) -> float:
        t = run.spec.tasks[task]
        if self.locality == "specific":
            loc = t.location
            if loc.kind is LocationKind.SPECIFIC and loc.tiers[0] is node.spec.tier:
                return features.data_size_bytes
            return 0.0
        spec = run.spec
        preds = spec.predecessors[task]
        if not preds:
            return spec.input_bytes if node.index == run.origin else 0.0
        return sum(spec.edge_bytes[(p, task)] for p in preds if run.node_of[p] == node.index)

    def choose(self, run: WorkflowRun, task: int, cluster: Cluster,
               candidates: Sequence[NodeRuntime]) -> NodeRuntime | None:
        """Argmax of the score over ``candidates`` of the best ``PreferredOrder`` rank
        (the first of equal scores, i.e. the nearest)."""
        if not candidates:
            return None
        t = run.spec.tasks[task]
        rank = t.location.rank
        best_rank = rank(candidates[0].spec.tier)
        features = self.features(run, task, cluster)
        by_tier = self.stats.get((run.spec.name, t.id), {})
        best: NodeRuntime | None = None
        best_score = float("-inf")
        cache: dict[Tier, float] = {}
        per_node = self.locality == "inputs"
        for node in candidates:
            tier = node.spec.tier
            if rank(tier) != best_rank:
                break
            if per_node:
                s = self.score(tier, features, locality_bytes=self._locality_bytes(run, task, node, features),
                               stats=by_tier.get(tier))
            else:
                s = cache.get(tier)
                if s is None:
                    s = cache[tier] = self.score(
                        tier, features, locality_bytes=self._locality_bytes(run, task, node, features),
                        stats=by_tier.get(tier))
            if s > best_score:
                best, best_score = node, s
        return best

    def place(self, run: WorkflowRun, task: int, cluster: Cluster) -> NodeRuntime | None:
        node = self.choose(run, task, cluster, cluster.candidates(run.spec.tasks[task], run.origin))
        if node is not None:
            self._note_placed(run, task, cluster.now)
        return node

    # --- statistics -------------------------------------------------------------------
    def _note_placed(self, run: WorkflowRun, task: int, now: float) -> None:
        # Entries leave on the task's end or failure; a task of a failed workflow that
        # was placed but never started gets no hook and leaves a small entry behind.
        if self.duration == "response":
            self._placed_at.setdefault(run.id, {})[task] = now

    def _take_placed(self, run: WorkflowRun, task: int) -> float | None:
        per_run = self._placed_at.get(run.id)
        if per_run is None:
            return None
        at = per_run.pop(task, None)
        if not per_run:
            del self._placed_at[run.id]
        return at

    def tier_stats(self, workflow: str, task: str, tier: Tier) -> TierStats:
        """The (created on demand) record of task class ``(workflow, task)`` at ``tier``."""
        by_tier = self.stats.setdefault((workflow, task), {})
        entry = by_tier.get(tier)
        if entry is None:
            entry = by_tier[tier] = TierStats(self.stats_window)
        return entry

    def record(self, workflow: str, task: str, tier: Tier, *, failed: bool,
               duration: float | None = None, now: float = 0.0) -> TierStats:
        """Add one outcome of task class ``(workflow, task)`` at ``tier`` (what the hooks
        call; tests may call it directly)."""
        entry = self.tier_stats(workflow, task, tier)
        entry.record(failed, self.failure_alpha, duration)
        return entry

    def on_task_end(self, run: WorkflowRun, task: int, node: NodeRuntime, duration: float) -> None:
        placed = self._take_placed(run, task)
        if self.duration == "response" and placed is not None:
            duration = node.env.now - placed
        self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=False,
                    duration=duration, now=node.env.now)

    def on_task_failed(self, run: WorkflowRun, task: int, node: NodeRuntime | None, reason: str) -> None:
        self._take_placed(run, task)
        # A task never placed (no feasible node) has no tier to blame.
        if node is not None:
            self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=True, now=node.env.now)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(w_dl={self.w_data}, w_cp={self.w_compute}, "
                f"w_lat={self.w_latency}, w_en={self.w_energy})")


# --- the execution modes --------------------------------------------------------------
class HybridExecution(PlacementStrategy):
    """The seed's ``HybridExecutionScheduler``: placement by :class:`ExecutionMode`.

    Args:
        mode: An :class:`ExecutionMode` (or its name).
        edge_tiers: EdgeOnly's allowed tiers (see the module docstring).
        slowdown_factor, failure_threshold, recent_samples, min_samples, cooloff:
            AdaptiveFlow's migration triggers (:data:`ADAPTIVE_PARAMETERS`).
        **data_aware: :class:`DataAwarePlacementStrategy` parameters for the dynamic
            modes (and its Python-only ``features``).

    Attributes:
        scorer: The data-aware strategy the dynamic modes consult.
        migrations: AdaptiveFlow's :class:`Migration` s, in time order.
        avoided: ``{(workflow, task): {Tier: until}}``, tiers a class currently avoids.
    """

    name = "hybrid_execution"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        MODE_PARAMETER, *EDGE_PARAMETERS, *DATA_AWARE_PARAMETERS, *ADAPTIVE_PARAMETERS)

    def __init__(
        self,
        mode: ExecutionMode | str = ExecutionMode.HYBRID_DYNAMIC,
        *,
        edge_tiers: str = "edge",
        slowdown_factor: float = 1.2,
        failure_threshold: float = 0.1,
        recent_samples: int = 3,
        min_samples: int = 5,
        cooloff: float = 60.0,
        **data_aware: Any,
    ) -> None:
        self.mode = ExecutionMode.parse(mode)
        owner = type(self).__name__
        v = validate_params(owner, (*EDGE_PARAMETERS, *ADAPTIVE_PARAMETERS), dict(
            edge_tiers=edge_tiers, slowdown_factor=slowdown_factor, failure_threshold=failure_threshold,
            recent_samples=recent_samples, min_samples=min_samples, cooloff=cooloff))
        self.edge_tiers = v["edge_tiers"]
        self._edge_set = EDGE_TIER_SETS[self.edge_tiers]
        self.slowdown_factor = v["slowdown_factor"]
        self.failure_threshold = v["failure_threshold"]
        self.recent_samples = v["recent_samples"]
        self.min_samples = v["min_samples"]
        self.cooloff = v["cooloff"]
        self.scorer = DataAwarePlacementStrategy(**data_aware)
        if not self.recent_samples <= self.min_samples < self.scorer.stats_window:
            raise ValueError(
                f"{owner}: need recent_samples <= min_samples < stats_window, got "
                f"{self.recent_samples}, {self.min_samples}, {self.scorer.stats_window}")
        self.migrations: list[Migration] = []
        self.avoided: dict[tuple[str, str], dict[Tier, float]] = {}

    # --- mode rules --------------------------------------------------------------------
    def allowed_tiers(self, run: WorkflowRun, task: int) -> frozenset[Tier] | None:
        """Tiers the mode allows for the task (None: any); intersected with the task's
        requirement by the candidates."""
        mode = self.mode
        if mode is ExecutionMode.CLOUD_ONLY:
            return frozenset({Tier.CLOUD})
        if mode is ExecutionMode.EDGE_ONLY:
            return self._edge_set
        if mode is ExecutionMode.HYBRID_STATIC:
            loc = run.spec.tasks[task].location
            return frozenset(loc.tiers) if loc.kind is LocationKind.SPECIFIC else frozenset({Tier.CLOUD})
        return None

    def place(self, run: WorkflowRun, task: int, cluster: Cluster) -> NodeRuntime | None:
        t = run.spec.tasks[task]
        candidates = cluster.candidates(t, run.origin)
        if not self.mode.dynamic:
            allowed = self.allowed_tiers(run, task)
            for node in candidates:  # best PreferredOrder rank first, then nearest
                if node.spec.tier in allowed:  # type: ignore[operator]
                    return node
            return None
        if self.mode is ExecutionMode.ADAPTIVE_FLOW and self.avoided:
            avoid = self._avoided_now((run.spec.name, t.id), cluster.now)
            if avoid:
                kept = [n for n in candidates if n.spec.tier not in avoid]
                if kept:  # all avoided: stay where the task can run
                    candidates = kept
        node = self.scorer.choose(run, task, cluster, candidates)
        if node is not None:
            self.scorer._note_placed(run, task, cluster.now)
        return node

    # --- AdaptiveFlow -------------------------------------------------------------------
    def _avoided_now(self, key: tuple[str, str], now: float) -> frozenset[Tier]:
        """Tiers class ``key`` avoids at ``now``; expired ones are dropped and their
        statistics reset."""
        tiers = self.avoided.get(key)
        if not tiers:
            return frozenset()
        for tier, until in list(tiers.items()):
            if now >= until:
                del tiers[tier]
                self.scorer.tier_stats(*key, tier).reset()
        if not tiers:
            del self.avoided[key]
            return frozenset()
        return frozenset(tiers)

    def trigger(self, entry: TierStats) -> tuple[str, float] | None:
        """Which migration trigger ``entry`` meets, with its value, or None."""
        if len(entry.durations) > self.min_samples:
            ratio = entry.slowdown(self.recent_samples)
            if ratio is not None and ratio > self.slowdown_factor:
                return "slowdown", ratio
        if entry.failure_rate > self.failure_threshold:
            return "failures", entry.failure_rate
        return None

    def record(self, workflow: str, task: str, tier: Tier, *, failed: bool,
               duration: float | None = None, now: float = 0.0) -> Migration | None:
        """Add one outcome of class ``(workflow, task)`` at ``tier``; under
        AdaptiveFlow, return the migration it triggers (if any)."""
        entry = self.scorer.record(workflow, task, tier, failed=failed, duration=duration, now=now)
        if self.mode is not ExecutionMode.ADAPTIVE_FLOW:
            return None
        key = (workflow, task)
        if tier in self._avoided_now(key, now):
            return None
        fired = self.trigger(entry)
        if fired is None:
            return None
        until = now + self.cooloff
        self.avoided.setdefault(key, {})[tier] = until
        migration = Migration(now, workflow, task, tier, fired[0], fired[1], until)
        self.migrations.append(migration)
        return migration

    def on_task_end(self, run: WorkflowRun, task: int, node: NodeRuntime, duration: float) -> None:
        if not self.mode.dynamic:
            return
        placed = self.scorer._take_placed(run, task)
        if self.scorer.duration == "response" and placed is not None:
            duration = node.env.now - placed
        self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=False,
                    duration=duration, now=node.env.now)

    def on_task_failed(self, run: WorkflowRun, task: int, node: NodeRuntime | None, reason: str) -> None:
        if not self.mode.dynamic:
            return
        self.scorer._take_placed(run, task)
        if node is not None:
            self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=True,
                        now=node.env.now)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode.value})"


class EdgeOnly(HybridExecution):
    """``ExecutionMode::EdgeOnly``: the nearest candidate of the ``edge_tiers`` set
    (default: the user's side, :attr:`Tier.is_edge`)."""

    name = "edge_only"
    parameters: ClassVar[tuple[Parameter, ...]] = EDGE_PARAMETERS

    def __init__(self, edge_tiers: str = "edge") -> None:
        super().__init__(ExecutionMode.EDGE_ONLY, edge_tiers=edge_tiers)


class HybridStatic(HybridExecution):
    """``ExecutionMode::HybridStatic``: the nearest node of the task's ``Specific``
    tier, else the nearest Cloud node (None if the requirement excludes the cloud)."""

    name = "hybrid_static"
    parameters: ClassVar[tuple[Parameter, ...]] = ()

    def __init__(self) -> None:
        super().__init__(ExecutionMode.HYBRID_STATIC)


class HybridDynamic(HybridExecution):
    """``ExecutionMode::HybridDynamic``: the data-aware score, with per-class history."""

    name = "hybrid_dynamic"
    parameters: ClassVar[tuple[Parameter, ...]] = DATA_AWARE_PARAMETERS

    def __init__(self, *, features: FeatureFn | None = None, **params: Any) -> None:
        validate_params(type(self).__name__, self.parameters, params)
        super().__init__(ExecutionMode.HYBRID_DYNAMIC, features=features, **params)


class AdaptiveFlow(HybridExecution):
    """``ExecutionMode::AdaptiveFlow``: HybridDynamic plus migration of task classes
    away from tiers where they slow down or fail (see the module docstring)."""

    name = "adaptive_flow"
    parameters: ClassVar[tuple[Parameter, ...]] = (*DATA_AWARE_PARAMETERS, *ADAPTIVE_PARAMETERS)

    def __init__(self, *, features: FeatureFn | None = None, **params: Any) -> None:
        validate_params(type(self).__name__, self.parameters, params)
        super().__init__(ExecutionMode.ADAPTIVE_FLOW, features=features, **params)


#: Names for YAML and the tuner, to merge into ``PLACEMENT_STRATEGIES``
#: (``cloud_only`` is :class:`~wfsim.policies.placement.CloudOnly`).
STRATEGIES: dict[str, type[PlacementStrategy]] = {
    cls.name: cls
    for cls in (HybridExecution, EdgeOnly, HybridStatic, HybridDynamic, AdaptiveFlow, DataAwarePlacementStrategy)
}

#: The strategy class of each mode, for sweeping the five as baselines.
MODE_STRATEGIES: dict[ExecutionMode, Callable[[], PlacementStrategy]] = {
    ExecutionMode.CLOUD_ONLY: lambda: HybridExecution(ExecutionMode.CLOUD_ONLY),
    ExecutionMode.EDGE_ONLY: EdgeOnly,
    ExecutionMode.HYBRID_STATIC: HybridStatic,
    ExecutionMode.HYBRID_DYNAMIC: HybridDynamic,
    ExecutionMode.ADAPTIVE_FLOW: AdaptiveFlow,
}
