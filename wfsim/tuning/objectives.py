"""What a study optimises: the seed's seven scores (``OptimizationObjective``), or
run metrics by name with a direction each (a multi-objective study's Pareto front).

Every objective reads one run's *measures*: its flat metrics
(:func:`~wfsim.experiments.scenarios.flat_metrics`: ``latency.p95``, ``cost``, …) plus
the derived figures of :data:`DERIVED`. A trial's value is the mean over its
replications of the per-replication values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfsim.model.topology import Topology

#: One run's measures: flat metric key → value (None where the run has none).
Measures = Mapping[str, float | None]

#: Figures derived from the metrics, with their units.
DERIVED = {
    "utilisation.overall": "busy / capacity core-seconds over all nodes (0–1)",
    "error_rate": "failed workflows / submitted workflows (0 when none was submitted; workflows still "
                  "running at the horizon count as neither)",
    "cost_per_1000_workflows": "cost (the nodes' price unit) per 1000 completed workflows",
    "energy_wh_per_workflow": "energy in watt-hours per completed workflow",
    "stale_read_rate": "stale reads / reads answered, over the replicated state's reads (0 on a run without "
                       "replicated state or reads)",
    "anomaly_weighted_p95": "latency.p95 / ((1 − error_rate) · (1 − stale_read_rate)): workflow latency per "
                            "workflow completed and read fresh (None when nothing completed)",
}

#: Directions a metric objective may take.
DIRECTIONS = ("minimize", "maximize")


class OptimizationObjective(str, Enum):
    """The seed's objectives (part 4, §B1), each a score where higher is better.

    The formulas (seed §B4, in wfsim's units; ``thr`` workflows completed per second,
    ``p95`` the 95th percentile of workflow latency in seconds, ``err``
    :data:`DERIVED` ``error_rate``, ``U`` ``utilisation.overall``, ``cost``
    ``cost_per_1000_workflows``, ``energy`` ``energy_wh_per_workflow``):

    * ``Throughput``: ``thr``;
    * ``Latency``: ``1 / max(p95, 1e-9)``;
    * ``ResourceUtilization``: ``1 − |U − 0.8|`` (the seed's 80 % target);
    * ``CostEfficiency``: ``1 / max(cost, 0.01)``;
    * ``EnergyEfficiency``: ``1 / max(energy, 0.01)``;
    * ``Resilience``: ``1 / (err + 0.01)``;
    * ``Balanced``: the seed's four terms ``thr/100``, ``(1/p95)/10⁴``, ``1 − err``
      and ``(1/max(cost, 0.01))/100``, each divided by its value at a reference run,
      combined by their geometric mean (see :func:`score`).

    A run with no completed workflow scores 0 on the objectives that need one
    (throughput, latency, cost, energy), as the seed scores an experiment without
    measurements.
    """

    THROUGHPUT = "Throughput"
    LATENCY = "Latency"
    RESOURCE_UTILIZATION = "ResourceUtilization"
    COST_EFFICIENCY = "CostEfficiency"
    ENERGY_EFFICIENCY = "EnergyEfficiency"
    RESILIENCE = "Resilience"
    BALANCED = "Balanced"


def derive(flat: Measures) -> dict[str, float | None]:
    """``flat`` metrics with the :data:`DERIVED` figures added.

    >>> m = derive({"workflows.submitted": 10, "workflows.completed": 8, "workflows.failed": 2,
    ...             "cost": 0.004, "energy_joules": 7200.0, "utilisation.overall": 0.5})
    >>> m["error_rate"], m["cost_per_1000_workflows"], m["energy_wh_per_workflow"], m["utilisation.overall"]
    (0.2, 0.5, 0.25, 0.5)
    >>> m = derive({"workflows.submitted": 10, "workflows.failed": 2, "latency.p95": 0.6,
    ...             "consistency.stale_reads.reads": 50, "consistency.stale_reads.stale": 10})
    >>> m["stale_read_rate"], round(m["anomaly_weighted_p95"], 6)  # 0.6 / (0.8 · 0.8)
    (0.2, 0.9375)
    """
    out = dict(flat)
    submitted = flat.get("workflows.submitted") or 0.0
    completed = flat.get("workflows.completed") or 0.0
    errors = (flat.get("workflows.failed") or 0.0) / submitted if submitted else 0.0
    out["error_rate"] = errors
    cost, energy = flat.get("cost"), flat.get("energy_joules")
    out["cost_per_1000_workflows"] = cost * 1000 / completed if completed and cost is not None else None
    out["energy_wh_per_workflow"] = energy / 3600 / completed if completed and energy is not None else None
    reads = flat.get("consistency.stale_reads.reads") or 0.0
    stale = (flat.get("consistency.stale_reads.stale") or 0.0) / reads if reads else 0.0
    out["stale_read_rate"] = stale
    p95, good = flat.get("latency.p95"), (1 - errors) * (1 - stale)
    out["anomaly_weighted_p95"] = p95 / good if p95 is not None and good > 0 else None
    return out


def _balanced_terms(m: Measures) -> list[float | None]:
    """The seed's four Balanced terms (None where the run has no value)."""
    thr, p95, cost = m.get("throughput"), m.get("latency.p95"), m.get("cost_per_1000_workflows")
    return [None if thr is None else thr / 100,
            None if p95 is None else (1 / max(p95, 1e-9)) / 1e4,
            1 - (m.get("error_rate") or 0.0),
            None if cost is None else (1 / max(cost, 0.01)) / 100]


def score(objective: OptimizationObjective | str, m: Measures, reference: Measures | None = None) -> float:
    """The score (higher is better) of one run's measures ``m`` (see
    :class:`OptimizationObjective` for the formulas).

    Balanced is normalised: each of its terms is divided by the same term of
    ``reference``, the measures of the study's reference run (its experiment as
    written, on the same seed), so every term is 1 at the reference and a change of
    p95 weighs as much as a change of throughput. The seed's plain sum let the
    latency term (about 10⁻³ at p95 ≈ 0.1 s) vanish beside the others (about 1).
    The ratios are combined by their geometric mean, not the seed's arithmetic one:
    a term halved and another doubled cancel, whereas an arithmetic mean of ratios
    lets one large gain (a configuration 25 times cheaper) outweigh any loss (p95
    seven times longer, which costs at most 1/4). A term whose reference is 0 or
    missing is left out; a term the run lacks (nothing completed) is 0, and so is
    the score.

    Raises:
        ValueError: Balanced without a reference.

    >>> score("Latency", {"latency.p95": 0.25})
    4.0
    >>> score("Balanced", {"throughput": 2.0, "latency.p95": 0.5, "error_rate": 0.0,
    ...                    "cost_per_1000_workflows": 1.0},
    ...       reference={"throughput": 1.0, "latency.p95": 1.0, "error_rate": 0.0,
    ...                  "cost_per_1000_workflows": 1.0})  # (2 · 2 · 1 · 1) ** (1/4)
    1.414...
    """
    objective = OptimizationObjective(objective)
    thr, p95, err = m.get("throughput"), m.get("latency.p95"), m.get("error_rate") or 0.0
    if objective is OptimizationObjective.THROUGHPUT:
        return thr or 0.0
    if objective is OptimizationObjective.LATENCY:
        return 0.0 if p95 is None else 1 / max(p95, 1e-9)
    if objective is OptimizationObjective.RESOURCE_UTILIZATION:
        return 1 - abs((m.get("utilisation.overall") or 0.0) - 0.8)
    if objective is OptimizationObjective.COST_EFFICIENCY:
        cost = m.get("cost_per_1000_workflows")
        return 0.0 if cost is None else 1 / max(cost, 0.01)
    if objective is OptimizationObjective.ENERGY_EFFICIENCY:
        energy = m.get("energy_wh_per_workflow")
        return 0.0 if energy is None else 1 / max(energy, 0.01)
    if objective is OptimizationObjective.RESILIENCE:
        return 1 / (err + 0.01)
    if reference is None:
        raise ValueError("Balanced is normalised against a reference run; none was given")
    ratios = [(term or 0.0) / ref for term, ref in zip(_balanced_terms(m), _balanced_terms(reference))
              if ref is not None and ref > 0]
    if not ratios or min(ratios) <= 0:
        return 0.0
    return math.exp(math.fsum(map(math.log, ratios)) / len(ratios))


@dataclass(frozen=True)
class Objective:
    """One objective of a study: a score (always maximised) or a measure by key.

    Attributes:
        key: An :class:`OptimizationObjective` value (``Balanced``) or a measure
            (``latency.p95``, ``cost``, ``error_rate``, …).
        direction: ``"maximize"`` or ``"minimize"``.
    """

    key: str
    direction: str

    @property
    def is_score(self) -> bool:
        """Whether the objective is one of the seed's scores."""
        return self.key in _SCORES

    @property
    def needs_reference(self) -> bool:
        """Whether its values depend on the reference run (Balanced)."""
        return self.key == OptimizationObjective.BALANCED.value

    def value(self, m: Measures, reference: Measures | None = None) -> float:
        """This objective on one run; a missing measure is the worst value (±inf)."""
        if self.is_score:
            return score(self.key, m, reference)
        found = m.get(self.key)
        if found is None:
            return math.inf if self.direction == "minimize" else -math.inf
        return float(found)


_SCORES = frozenset(o.value for o in OptimizationObjective)


def parse_objectives(objective: str | None, objectives: Sequence[Mapping[str, str]] | None,
                     known: Sequence[str]) -> list[Objective]:
    """The objectives of a study file's ``objective:`` (one score name) or
    ``objectives:`` (a list of ``KEY: minimize|maximize``).

    Args:
        objective: A score name, or None.
        objectives: The list form, or None; exactly one of the two (neither: Balanced).
        known: The measures a run reports (:func:`measure_keys`).

    Raises:
        ValueError: Naming the field (``objective`` or ``objectives[i]``) and what is allowed.
    """
    if objective is not None and objectives is not None:
        raise ValueError("(top level): give 'objective' (one score) or 'objectives' (a list), not both")
    if objectives is None:
        name = objective or OptimizationObjective.BALANCED.value
        if name not in _SCORES:
            raise ValueError(f"objective: unknown objective {name!r}; allowed: {', '.join(sorted(_SCORES))}")
        return [Objective(name, "maximize")]
    if not objectives:
        raise ValueError("objectives: give at least one objective")
    found = []
    for i, entry in enumerate(objectives):
        if not isinstance(entry, Mapping) or len(entry) != 1:
            raise ValueError(f"objectives[{i}]: must be one 'KEY: minimize|maximize' mapping, got {entry!r}")
        ((key, direction),) = entry.items()
        if direction not in DIRECTIONS:
            raise ValueError(f"objectives[{i}].{key}: direction must be one of {', '.join(DIRECTIONS)}, "
                             f"got {direction!r}")
        if key in _SCORES and direction != "maximize":
            raise ValueError(f"objectives[{i}].{key}: a score is maximised (higher is better)")
        if key not in _SCORES and key not in known:
            raise ValueError(f"objectives[{i}]: unknown objective {key!r}; allowed: the scores "
                             f"{', '.join(sorted(_SCORES))}, or a measure: {', '.join(known)}")
        found.append(Objective(str(key), direction))
    if len({o.key for o in found}) != len(found):
        raise ValueError("objectives: each objective once")
    return found


def measure_keys(topology: Topology) -> list[str]:
    """Every measure a run on ``topology`` reports: the flat metric keys of an empty
    run summarised by :func:`wfsim.trace.metrics.summarize` (so the list follows the
    metrics wherever they change), plus :data:`DERIVED`."""
    from wfsim.experiments.scenarios import flat_metrics
    from wfsim.trace.metrics import summarize
    from wfsim.trace.recorder import TraceRecorder

    reported = list(flat_metrics(summarize(TraceRecorder().build(topology, {}, 0.0))))
    return reported + [k for k in DERIVED if k not in reported]


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean (a trial's value over its replications)."""
    return math.fsum(values) / len(values)

