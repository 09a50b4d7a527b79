"""A workload: which workflow, submitted from where, when, with how much work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from wfsim.model.workflow import Workflow
from wfsim.workloads.arrivals import ArrivalProcess


@dataclass(frozen=True)
class WorkDistribution:
    """Per-instance variation of task work: each task's work is multiplied by an
    independent draw with mean 1.

    Attributes:
        kind: ``constant`` (no variation), ``exponential`` (the M in M/M/c),
            ``lognormal`` (coefficient of variation ``cv``) or ``uniform``
            (on ``[1 - spread, 1 + spread]``).
        cv: Coefficient of variation for ``lognormal``.
        spread: Half-width for ``uniform``, in [0, 1].
    """

    kind: str = "constant"
    cv: float = 1.0
    spread: float = 0.5

    KINDS = ("constant", "exponential", "lognormal", "uniform")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"work distribution must be one of {list(self.KINDS)}, got {self.kind!r}")
        if self.cv < 0:
            raise ValueError(f"work distribution cv must be >= 0, got {self.cv}")
        if not 0 <= self.spread <= 1:
            raise ValueError(f"work distribution spread must be in [0, 1], got {self.spread}")

    def multipliers(self, rng: np.random.Generator, n: int) -> np.ndarray | None:
        """``n`` multipliers, or None for constant work."""
        if self.kind == "exponential":
            return rng.exponential(1.0, n)
        if self.kind == "lognormal":
            sigma = np.sqrt(np.log1p(self.cv**2))
            return rng.lognormal(-sigma**2 / 2, sigma, n)
        if self.kind == "uniform":
            return rng.uniform(1 - self.spread, 1 + self.spread, n)
        return None


@dataclass
class Workload:
    """Instances of one workflow arriving from a set of origin nodes.

    Each origin runs its own copy of the arrival process on its own random stream.

    Attributes:
        name: Shown in the trace's ``workload`` column.
        workflow: The workflow, or a function ``rng -> Workflow`` for a fresh random
            DAG per instance.
        arrivals: When instances arrive (per origin).
        origins: Node ids that submit; None means every LocalDevice node, or every
            node if there is none.
        work: Per-instance work variation.
        start, end: Arrival window in seconds; ``end`` None means the simulation's
            ``duration``.
    """

    name: str
    workflow: Workflow | Callable[[np.random.Generator], Workflow]
    arrivals: ArrivalProcess
    origins: Sequence[str] | None = None
    work: WorkDistribution = field(default_factory=WorkDistribution)
    start: float = 0.0
    end: float | None = None
