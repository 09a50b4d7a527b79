"""Data-aware placement (seed ``DataAwarePlacementStrategy``, part 2 §3): the score
the dynamic execution modes (:mod:`wfsim.policies.execution_modes`) maximise, and the
per-class statistics that feed it.

The score (seed ``decide_placement``), for a candidate of tier ``L``::

    s = [Specific(L)]·w_dl·MB  +  w_cp·C[L]·complexity
      + w_lat·Lat[L]·latency_sensitivity_ms/100  +  [energy-constrained]·w_en·E[L]
    s *= 1 − fr[class, L]                      (if the class has a failure record at L)
    s += history_weight · 1000 / avg_ms[class, L]   (if it has run at L)

with the tier tables :data:`COMPUTE_SCORE`, :data:`LATENCY_SCORE` and
:data:`ENERGY_SCORE` (higher = better suited). wfsim's :class:`~wfsim.model.workflow.Task`
has no ``computation_complexity``, ``latency_sensitivity_ms``, ``energy_constraints``
or ``data_size_bytes``, so :meth:`DataAwarePlacementStrategy.features_of` derives them
(see :class:`PlacementFeatures`); Python users may pass their own ``features``
function instead.

Statistics are kept per *task class* -- a task id within its workflow's name -- and
per tier: a window of the last ``stats_window`` durations and a failure-rate EWMA
``fr ← (1−α)·fr + α·[failed]`` (seed: α = 0.1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wfsim.model.enums import PRIORITY_SCORE, Tier
from wfsim.model.parameters import Tunable, param
from wfsim.model.workflow import LocationKind
from wfsim.policies.placement import PlacementStrategy
from wfsim.policies.views import ClusterView, NodeView, RunView

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
_BATTERY_TIERS = frozenset({Tier.LOCAL_DEVICE, Tier.EDGE_DEVICE})
_MB = float(2**20)


@dataclass(frozen=True)
class PlacementFeatures:
    """The seed's ``ExecutionPlacementParams`` for one task instance.

    Derived by :meth:`DataAwarePlacementStrategy.features_of`:

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


# --- parameters -------------------------------------------------------------------
#: ``features(run, task, cluster)``: a task's :class:`PlacementFeatures`.
FeatureFn = Callable[[RunView, int, ClusterView], PlacementFeatures]

_WEIGHT_DOC = ("no seed default; 0.5: mid-range, and equal weights favour no term "
               "(the unweighted sum of the seed's terms, halved)")


@dataclass(eq=False, kw_only=True)
class DataAwareParameters(Tunable):
    """The data-aware score's parameters, shared by :class:`DataAwarePlacementStrategy`
    and the dynamic execution modes, plus (Python only) ``features``: a function
    ``(run, task, cluster) -> PlacementFeatures`` replacing the derivation in
    :meth:`DataAwarePlacementStrategy.features_of`."""

    data_locality_weight: float = param(0.5, low=0.0, high=1.0,
                                        doc="w_dl: weight of input megabytes at the data's tier; " + _WEIGHT_DOC)
    compute_power_weight: float = param(0.5, low=0.0, high=1.0,
                                        doc="w_cp: weight of tier compute power × complexity; " + _WEIGHT_DOC)
    latency_weight: float = param(0.5, low=0.0, high=1.0,
                                  doc="w_lat: weight of tier latency suitability × sensitivity/100; " + _WEIGHT_DOC)
    energy_weight: float = param(0.5, low=0.0, high=1.0,
                                 doc="w_en: weight of tier energy suitability when energy-constrained; " + _WEIGHT_DOC)
    history_weight: float = param(
        0.2, low=0.0, high=1.0,
        doc="history bonus: history_weight × 1000 / mean duration in ms at the tier (seed 0.2)")
    stats_window: int = param(10, low=3, high=50, doc="durations kept per task class and tier (seed 10)")
    failure_alpha: float = param(0.1, low=0.01, high=0.5,
                                 doc="failure-rate EWMA weight α: fr ← (1−α)fr + α·failed (seed 0.1)")
    complexity_reference: float = param(1e9, low=1e6, high=1e13,
                                        doc="ops of complexity 1 (project default: 1 s of a 1e9 ops/s core)")
    deadline_reference: float = param(
        1.0, low=0.01, high=3600.0,
        doc="a deadline this short (s) or shorter makes a task fully latency-sensitive (project default)")
    energy_constrained: str = param(
        "battery_origin", choices=("battery_origin", "always", "never"),
        doc="when the energy term counts: workflows from a LocalDevice/EdgeDevice, always, or never")
    locality: str = param(
        "specific", choices=("specific", "inputs"),
        doc="data term: seed's (input MB at the task's Specific tier) or inputs (MB already on the node)")
    duration: str = param(
        "response", choices=("response", "execution"),
        doc="duration statistics: placement to end (transfers, queueing, execution) or execution only")
    features: FeatureFn | None = field(default=None, repr=False)


def scorer_of(params: DataAwareParameters) -> DataAwarePlacementStrategy:
    """A :class:`DataAwarePlacementStrategy` with the data-aware parameters (and
    ``features``) of ``params``."""
    return DataAwarePlacementStrategy(
        **{p.name: getattr(params, p.name) for p in DataAwareParameters.parameters}, features=params.features)


# --- the strategy -----------------------------------------------------------------
@dataclass(eq=False)
class DataAwarePlacementStrategy(PlacementStrategy, DataAwareParameters):
    """The seed's data-aware score; argmax over the candidates of the best
    ``PreferredOrder`` rank, ties to the nearer node.

    Args: see :class:`DataAwareParameters`.

    Attributes:
        stats: ``{(workflow name, task id): {Tier: TierStats}}``, fed by the hooks.
    """

    name = "data_aware"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stats: dict[tuple[str, str], dict[Tier, TierStats]] = {}
        self._placed_at: dict[int, dict[int, float]] = {}

    # --- features and score ---------------------------------------------------------
    def features_of(self, run: RunView, task: int, cluster: ClusterView) -> PlacementFeatures:
        """The seed's placement parameters of task ``task`` of ``run``: from ``features``
        if given, else derived (see :class:`PlacementFeatures`)."""
        if self.features is not None:
            return self.features(run, task, cluster)
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
        s = (self.data_locality_weight * locality_bytes / _MB
             + self.compute_power_weight * COMPUTE_SCORE[tier] * features.computation_complexity
             + self.latency_weight * LATENCY_SCORE[tier] * features.latency_sensitivity_ms / 100.0)
        if features.energy_constraints:
            s += self.energy_weight * ENERGY_SCORE[tier]
        if stats is not None:
            if stats.has_failure_record:
                s *= 1.0 - stats.failure_rate
            mean = stats.mean()
            if mean is not None:
                # avg in ms, floored at 1 ms so an instantaneous task does not divide by 0.
                s += self.history_weight * 1000.0 / max(mean * 1000.0, 1.0)
        return s

    def _locality_bytes(self, run: RunView, task: int, node: NodeView,
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

    def choose(self, run: RunView, task: int, cluster: ClusterView,
               candidates: Sequence[NodeView]) -> NodeView | None:
        """Argmax of the score over ``candidates`` of the best ``PreferredOrder`` rank
        (the first of equal scores, i.e. the nearest)."""
        if not candidates:
            return None
        t = run.spec.tasks[task]
        rank = t.location.rank
        best_rank = rank(candidates[0].spec.tier)
        features = self.features_of(run, task, cluster)
        by_tier = self.stats.get((run.spec.name, t.id), {})
        best: NodeView | None = None
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
                cached = cache.get(tier)
                if cached is None:
                    cached = cache[tier] = self.score(
                        tier, features, locality_bytes=self._locality_bytes(run, task, node, features),
                        stats=by_tier.get(tier))
                s = cached
            if s > best_score:
                best, best_score = node, s
        return best

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        node = self.choose(run, task, cluster, cluster.candidates(run.spec.tasks[task], run.origin))
        if node is not None:
            self._note_placed(run, task, cluster.now)
        return node

    # --- statistics -------------------------------------------------------------------
    def _note_placed(self, run: RunView, task: int, now: float) -> None:
        # Entries leave on the task's end or failure; a task of a failed workflow that
        # was placed but never started gets no hook and leaves a small entry behind.
        if self.duration == "response":
            self._placed_at.setdefault(run.id, {})[task] = now

    def _take_placed(self, run: RunView, task: int) -> float | None:
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

    def on_task_end(self, run: RunView, task: int, node: NodeView, duration: float) -> None:
        placed = self._take_placed(run, task)
        if self.duration == "response" and placed is not None:
            duration = node.env.now - placed
        self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=False,
                    duration=duration, now=node.env.now)

    def on_task_failed(self, run: RunView, task: int, node: NodeView | None, reason: str) -> None:
        self._take_placed(run, task)
        # A task never placed (no feasible node) has no tier to blame.
        if node is not None:
            self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=True, now=node.env.now)


#: Names for YAML and the tuner, to merge into ``PLACEMENT_STRATEGIES``.
STRATEGIES: dict[str, type[PlacementStrategy]] = {DataAwarePlacementStrategy.name: DataAwarePlacementStrategy}
