"""Hybrid execution modes (seed part 2 §3, l.3494–3995).

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
``data_aware``            (data_aware.py)    the bare data-aware score (= hybrid_dynamic)
========================  =================  ==============================================

Every mode honours the task's location requirement, unlike the seed's static modes
(:meth:`_ExecutionModes.place`). :class:`EdgeOnly` and :class:`AdaptiveFlow` describe
where their rules depart from the seed's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from wfsim.model.enums import Tier
from wfsim.model.parameters import Tunable, param
from wfsim.model.workflow import LocationKind
from wfsim.policies.data_aware import DataAwareParameters, DataAwarePlacementStrategy, TierStats, scorer_of
from wfsim.policies.placement import PlacementStrategy
from wfsim.policies.views import ClusterView, NodeView, RunView


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


#: Allowed tiers of EdgeOnly per ``edge_tiers`` choice.
EDGE_TIER_SETS: dict[str, frozenset[Tier]] = {
    "edge": frozenset(t for t in Tier if t.is_edge),
    "edge_nodes": frozenset({Tier.EDGE_DEVICE, Tier.EDGE_CLOUD}),
    "EdgeDevice": frozenset({Tier.EDGE_DEVICE}),
}


@dataclass(frozen=True)
class ClassMigration:
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


# --- parameters -------------------------------------------------------------------
# Parameter groups, each declared once; a mode lists the groups it accepts among its
# bases. Dataclasses collect fields from the last base first, so bases are listed in
# the reverse of the order the parameters are declared in.


@dataclass(eq=False)
class _Mode(Tunable):
    mode: str = param(ExecutionMode.HYBRID_DYNAMIC.value, choices=tuple(m.value for m in ExecutionMode),
                      doc="the seed's ExecutionMode")


@dataclass(eq=False)
class _EdgeTiers(Tunable):
    edge_tiers: str = param("edge", choices=tuple(EDGE_TIER_SETS),
                            doc="EdgeOnly's tiers: edge = Tier.is_edge (own device, EdgeDevice, EdgeCloud); "
                                "edge_nodes = EdgeDevice, EdgeCloud; EdgeDevice = the seed's literal rule")


@dataclass(eq=False, kw_only=True)
class _MigrationTriggers(Tunable):
    """AdaptiveFlow's migration triggers."""

    slowdown_factor: float = param(1.2, low=1.05, high=2.0,
                                   doc="migrate when recent mean > factor × older mean (seed 1.2)")
    failure_threshold: float = param(0.1, low=0.02, high=0.5,
                                     doc="migrate when the failure-rate EWMA exceeds this (seed 0.1)")
    recent_samples: int = param(3, low=1, high=5, doc="durations averaged as 'recent' (seed 3)")
    min_samples: int = param(5, low=2, high=49,
                             doc="the slowdown trigger needs more than this many durations (seed 5); "
                                 "recent_samples <= min_samples < stats_window")
    cooloff: float = param(60.0, low=1.0, high=3600.0,
                           doc="seconds a class avoids a tier it migrated from; then the tier's stats reset "
                               "(no seed value)")


# --- the execution modes --------------------------------------------------------------
class _ExecutionModes(PlacementStrategy):
    """The seed's ``HybridExecutionScheduler``: placement by :class:`ExecutionMode`.

    Not a dataclass: each mode below is one, declaring the parameters it accepts, and
    calls :meth:`_configure` once they are validated.

    Attributes:
        mode: The :class:`ExecutionMode`.
        scorer: The data-aware strategy the dynamic modes consult.
        migrations: AdaptiveFlow's :class:`ClassMigration` s, in time order.
        avoided: ``{(workflow, task): {Tier: until}}``, tiers a class currently avoids.
    """

    mode: str
    # AdaptiveFlow's triggers (:class:`_MigrationTriggers`): only the modes that
    # migrate have them.
    slowdown_factor: float
    failure_threshold: float
    recent_samples: int
    min_samples: int
    cooloff: float

    def _configure(self, *, edge_tiers: str = "edge", scorer: DataAwarePlacementStrategy | None = None,
                   migrates: bool = False) -> None:
        """Set up the mode's state from its (validated) parameters.

        Args:
            edge_tiers: EdgeOnly's allowed tiers.
            scorer: The data-aware strategy (default: one with default parameters).
            migrates: Whether the class has the migration triggers, whose sample counts
                are then checked against the scorer's window.
        """
        mode = ExecutionMode(self.mode)
        self._dynamic = mode.dynamic
        self._adaptive = mode is ExecutionMode.ADAPTIVE_FLOW
        self._edge_set = EDGE_TIER_SETS[edge_tiers]
        self.scorer = scorer if scorer is not None else DataAwarePlacementStrategy()
        if migrates and not self.recent_samples <= self.min_samples < self.scorer.stats_window:
            raise ValueError(
                f"{self.name}: need recent_samples <= min_samples < stats_window, got "
                f"{self.recent_samples}, {self.min_samples}, {self.scorer.stats_window}")
        self.migrations: list[ClassMigration] = []
        self.avoided: dict[tuple[str, str], dict[Tier, float]] = {}

    # --- mode rules --------------------------------------------------------------------
    def allowed_tiers(self, run: RunView, task: int) -> frozenset[Tier] | None:
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

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        """The mode's node for the task, among ``cluster.candidates(task, origin)``.

        The candidates already satisfy the task's ``LocationRequirement`` and fit its
        cores and memory, ordered by ``PreferredOrder`` rank, then by route latency from
        the origin. A mode first keeps the candidates its own rule allows
        (:meth:`allowed_tiers`; CloudOnly: Cloud; EdgeOnly: the edge tiers; HybridStatic:
        one tier), then takes the best ``PreferredOrder`` rank left, and only then
        applies its criterion (nearest node, or the highest score; ties go to the nearer
        node, the seed's "first candidate"). When the mode's rule and the requirement
        cannot both hold (``CloudOnly`` for a ``Specific(EdgeCloud)`` task,
        ``HybridStatic`` for an ``AnyOf`` that excludes the cloud) it returns None: the
        task fails with "no feasible node for task …" and so does its workflow. The seed
        instead ignored the requirement in the static modes (and ignored
        ``PreferredOrder`` order, defect §6.10).
        """
        t = run.spec.tasks[task]
        candidates: Sequence[NodeView] = cluster.candidates(t, run.origin)
        if not self._dynamic:
            allowed = self.allowed_tiers(run, task)
            for node in candidates:  # best PreferredOrder rank first, then nearest
                if node.spec.tier in allowed:  # type: ignore[operator]
                    return node
            return None
        if self._adaptive and self.avoided:
            avoid = self._avoided_now((run.spec.name, t.id), cluster.now)
            if avoid:
                kept = [n for n in candidates if n.spec.tier not in avoid]
                if kept:  # all avoided: stay where the task can run
                    candidates = kept
        chosen = self.scorer.choose(run, task, cluster, candidates)
        if chosen is not None:
            self.scorer._note_placed(run, task, cluster.now)
        return chosen

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
        """Which migration trigger ``entry`` meets, with its value, or None (the
        triggers are described on :class:`AdaptiveFlow`)."""
        if len(entry.durations) > self.min_samples:
            ratio = entry.slowdown(self.recent_samples)
            if ratio is not None and ratio > self.slowdown_factor:
                return "slowdown", ratio
        if entry.failure_rate > self.failure_threshold:
            return "failures", entry.failure_rate
        return None

    def record(self, workflow: str, task: str, tier: Tier, *, failed: bool,
               duration: float | None = None, now: float = 0.0) -> ClassMigration | None:
        """Add one outcome of class ``(workflow, task)`` at ``tier``; under
        AdaptiveFlow, return the migration it triggers (if any)."""
        entry = self.scorer.record(workflow, task, tier, failed=failed, duration=duration, now=now)
        if not self._adaptive:
            return None
        key = (workflow, task)
        if tier in self._avoided_now(key, now):
            return None
        fired = self.trigger(entry)
        if fired is None:
            return None
        until = now + self.cooloff
        self.avoided.setdefault(key, {})[tier] = until
        migration = ClassMigration(now, workflow, task, tier, fired[0], fired[1], until)
        self.migrations.append(migration)
        return migration

    def on_task_end(self, run: RunView, task: int, node: NodeView, duration: float) -> None:
        if not self._dynamic:
            return
        placed = self.scorer._take_placed(run, task)
        if self.scorer.duration == "response" and placed is not None:
            duration = node.env.now - placed
        self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=False,
                    duration=duration, now=node.env.now)

    def on_task_failed(self, run: RunView, task: int, node: NodeView | None, reason: str) -> None:
        if not self._dynamic:
            return
        self.scorer._take_placed(run, task)
        if node is not None:
            self.record(run.spec.name, run.spec.tasks[task].id, node.spec.tier, failed=True,
                        now=node.env.now)


@dataclass(eq=False)
class HybridExecution(_ExecutionModes, _MigrationTriggers, DataAwareParameters, _EdgeTiers, _Mode):
    """Any :class:`ExecutionMode`, chosen by ``mode`` (a mode's value, e.g.
    ``"CloudOnly"``, or the enum member), with every mode's parameters: EdgeOnly's
    ``edge_tiers``, the data-aware score's (:class:`DataAwareParameters`, for the
    dynamic modes) and AdaptiveFlow's migration triggers."""

    name = "hybrid_execution"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.mode = ExecutionMode(self.mode)
        self._configure(edge_tiers=self.edge_tiers, scorer=scorer_of(self), migrates=True)


@dataclass(eq=False)
class EdgeOnly(_ExecutionModes, _EdgeTiers):
    """``ExecutionMode::EdgeOnly``: the nearest candidate of the ``edge_tiers`` set
    (default: the user's side, :attr:`Tier.is_edge`).

    The seed's ``EdgeOnly`` picks "the first EdgeDevice" and P17 checks ``EdgeOnly →
    EdgeDevice``. In wfsim's ``hierarchical`` topology the edge nodes are ``EdgeCloud``
    by default and there may be no EdgeDevice at all, so the allowed set is the
    parameter ``edge_tiers`` (:data:`EDGE_TIER_SETS`): ``"edge"`` (default) is every
    tier with :attr:`Tier.is_edge` -- the workflow's own LocalDevice, EdgeDevice and
    EdgeCloud, i.e. the user's side of the regional cloud; ``"edge_nodes"`` is
    EdgeDevice and EdgeCloud (shared edge infrastructure, not the user's own device);
    ``"EdgeDevice"`` is the seed's literal rule. Within the set the nearest candidate
    wins, which is the workflow's own device whenever the requirement allows it and it
    is large enough.
    """

    name = "edge_only"
    mode = ExecutionMode.EDGE_ONLY

    def scope(self) -> frozenset[Tier] | None:
        return self._edge_set

    def __post_init__(self) -> None:
        super().__post_init__()
        self._configure(edge_tiers=self.edge_tiers)


@dataclass(eq=False)
class HybridStatic(_ExecutionModes):
    """``ExecutionMode::HybridStatic``: the nearest node of the task's ``Specific``
    tier, else the nearest Cloud node (None if the requirement excludes the cloud)."""

    name = "hybrid_static"
    mode = ExecutionMode.HYBRID_STATIC

    def __post_init__(self) -> None:
        super().__post_init__()
        self._configure()


@dataclass(eq=False)
class HybridDynamic(_ExecutionModes, DataAwareParameters):
    """``ExecutionMode::HybridDynamic``: the data-aware score, with per-class history.

    The dynamic modes maximise the data-aware score of :mod:`wfsim.policies.data_aware`
    and feed its per-class, per-tier statistics (a window of durations and a
    failure-rate EWMA), as in the seed.
    """

    name = "hybrid_dynamic"
    mode = ExecutionMode.HYBRID_DYNAMIC

    def __post_init__(self) -> None:
        super().__post_init__()
        self._configure(scorer=scorer_of(self))


@dataclass(eq=False)
class AdaptiveFlow(_ExecutionModes, _MigrationTriggers, DataAwareParameters):
    """``ExecutionMode::AdaptiveFlow``: HybridDynamic plus migration of task classes
    away from tiers where they slow down or fail.

    A class (workflow, task id) *migrates* away from a tier when, after an update of
    that (class, tier) (:meth:`~_ExecutionModes.trigger`):

    * (a) the window holds more than ``min_samples`` (5) durations and the mean of the
      last ``recent_samples`` (3) exceeds ``slowdown_factor`` (1.2) × the mean of the
      older ones in the window, or
    * (b) the failure rate exceeds ``failure_threshold`` (0.1). From a clean record one
      failure gives exactly α = 0.1, which is *not* above 0.1: with the defaults it
      takes two consecutive failures (0.19).

    The seed mixed tiers in one window per task; here each tier has its own, so moving
    a class to a slower tier is not mistaken for a slowdown. Migration (seed
    ``migrate_task``, no migration cost) means subsequent placements of that class
    leave the tier out of its candidates; a task already placed stays where it is. The
    tier is avoided for ``cooloff`` seconds; after that its window and failure rate for
    the class are cleared (a clean probation) and it may be chosen again. While a tier
    is avoided it is not re-triggered, so a class migrates at most once per tier per
    cool-off (the part-2 anti-thrashing constraint C11). If every tier the requirement
    and mode allow is avoided, the class stays where it can run rather than fail.
    Migrations are listed in :attr:`~_ExecutionModes.migrations`.
    """

    name = "adaptive_flow"
    mode = ExecutionMode.ADAPTIVE_FLOW

    def __post_init__(self) -> None:
        super().__post_init__()
        self._configure(scorer=scorer_of(self), migrates=True)


#: Names for YAML and the tuner, to merge into ``PLACEMENT_STRATEGIES``
#: (``cloud_only`` is :class:`~wfsim.policies.placement.CloudOnly`, ``data_aware`` in
#: :mod:`wfsim.policies.data_aware`).
STRATEGIES: dict[str, type[PlacementStrategy]] = {
    cls.name: cls for cls in (HybridExecution, EdgeOnly, HybridStatic, HybridDynamic, AdaptiveFlow)
}

#: The strategy class of each mode, for sweeping the five as baselines.
MODE_STRATEGIES: dict[ExecutionMode, Callable[[], PlacementStrategy]] = {
    ExecutionMode.CLOUD_ONLY: lambda: HybridExecution(ExecutionMode.CLOUD_ONLY),
    ExecutionMode.EDGE_ONLY: EdgeOnly,
    ExecutionMode.HYBRID_STATIC: HybridStatic,
    ExecutionMode.HYBRID_DYNAMIC: HybridDynamic,
    ExecutionMode.ADAPTIVE_FLOW: AdaptiveFlow,
}
