"""Samplers a study can name, and the seed's own optimiser as one of them.

``sampler:`` in a study file (or ``wfsim tune --sampler``) is a key of
:data:`SAMPLERS`: Optuna's TPE, random, CMA-ES, GP, NSGA-II and QMC samplers, and
:class:`EpsilonGreedySampler`, the seed's ε-greedy search kept as the baseline they
are compared against. Every sampler is seeded from the study's root seed
(:func:`sampler_seeds`), one seed per worker process.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import (
    BaseSampler,
    CmaEsSampler,
    GPSampler,
    NSGAIISampler,
    QMCSampler,
    RandomSampler,
    TPESampler,
)
from optuna.trial import TrialState

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

#: Spawn-key tag of the samplers' seeds, apart from the replications' (``(k,)``).
_SAMPLER_STREAM = 0x53414D50


class EpsilonGreedySampler(BaseSampler):
    """The seed's ``BayesianOptimizationAlgorithm`` (part 4, §B3), which is ε-greedy.

    Each trial either explores or exploits, decided once when it starts: with no
    completed (feasible) trial yet, or with probability ``epsilon``, every parameter
    is drawn uniformly from its distribution (log-uniformly on a log scale; on the
    grid of a stepped one); otherwise the best trial's values are perturbed:

    * an integer by a uniform whole number of steps in ``±max(10 % of the range, 1 step)``;
    * a float by a uniform amount in ``±10 %`` of the range (of the log range on a
      log scale), snapped to its step if it has one;
    * a categorical (a bool included) changes with probability ``flip`` to another
      choice drawn uniformly: a bool flips, as in the seed; the seed keeps strings
      unchanged, which here would freeze a strategy choice forever;

    and clamped to the range. A parameter the best trial lacks (a strategy's
    parameter that it did not choose) is drawn uniformly. Single-objective only:
    "the best" of several objectives is not one trial.

    Args:
        epsilon: Probability of exploring (the seed's example: 0.3).
        flip: Probability that a categorical changes when perturbed (the seed: 0.2).
        seed: Seed of the sampler's generator: the same seed, the same study.
    """

    def __init__(self, epsilon: float = 0.3, flip: float = 0.2, seed: int | None = None) -> None:
        if not 0 <= epsilon <= 1 or not 0 <= flip <= 1:
            raise ValueError(f"epsilon and flip must be in [0, 1], got {epsilon} and {flip}")
        self.epsilon = epsilon
        self.flip = flip
        self._rng = np.random.default_rng(seed)
        self._bases: dict[int, dict[str, Any] | None] = {}  # per running trial: the values perturbed

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._raise_error_if_multi_objective(study)
        best = _best(study)
        explore = best is None or self._rng.random() < self.epsilon  # drawn always: one draw per trial
        self._bases[trial.number] = None if explore or best is None else dict(best.params)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        base = self._bases.get(trial.number)
        if base is None or param_name not in base:
            return uniform(param_distribution, self._rng)
        return perturb(base[param_name], param_distribution, self._rng, self.flip)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._bases.pop(trial.number, None)


def _best(study: Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no completed (or no feasible) trial yet
        return None


def uniform(dist: BaseDistribution, rng: np.random.Generator) -> Any:
    """A value drawn uniformly from ``dist`` (log-uniformly on a log scale)."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    assert isinstance(dist, IntDistribution | FloatDistribution)
    if dist.log:
        return _clamp(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))), dist)
    if dist.step is not None:
        return _clamp(dist.low + dist.step * int(rng.integers(_steps(dist) + 1)), dist)
    return _clamp(rng.uniform(dist.low, dist.high), dist)


def perturb(value: Any, dist: BaseDistribution, rng: np.random.Generator, flip: float = 0.2) -> Any:
    """``value`` moved as :class:`EpsilonGreedySampler` says, within ``dist``."""
    if isinstance(dist, CategoricalDistribution):
        others = [c for c in dist.choices if not (c == value and type(c) is type(value))]
        if len(others) == len(dist.choices):  # no longer a choice: start afresh
            return uniform(dist, rng)
        return others[int(rng.integers(len(others)))] if others and rng.random() < flip else value
    assert isinstance(dist, IntDistribution | FloatDistribution)
    if isinstance(dist, IntDistribution) and not dist.log:
        reach = max(int(0.1 * _steps(dist)), 1)
        return _clamp(value + dist.step * int(rng.integers(-reach, reach + 1)), dist)
    if dist.log:
        span = math.log(dist.high) - math.log(dist.low)
        return _clamp(math.exp(math.log(max(value, dist.low)) + rng.uniform(-0.1, 0.1) * span), dist)
    return _clamp(value + rng.uniform(-0.1, 0.1) * (dist.high - dist.low), dist)


def _steps(dist: IntDistribution | FloatDistribution) -> int:
    """Grid steps from ``low`` to ``high``."""
    return round((dist.high - dist.low) / (dist.step or 1))


def _clamp(value: float, dist: IntDistribution | FloatDistribution) -> Any:
    """``value`` within ``[low, high]``, on the grid of a stepped distribution, and an
    ``int`` for an integer one."""
    value = min(max(value, dist.low), dist.high)
    if dist.step is not None:
        value = min(dist.low + dist.step * round((value - dist.low) / dist.step), dist.high)
    return round(value) if isinstance(dist, IntDistribution) else float(value)


# --- the map ---------------------------------------------------------------------------
def _gp(seed: int) -> BaseSampler:
    if importlib.util.find_spec("torch") is None:
        raise ValueError("the gp sampler needs PyTorch, which is not installed: install wfsim[gp] "
                         "(pip install 'wfsim[gp]')")
    return GPSampler(seed=seed)


def _qmc(seed: int) -> BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # stable enough to compare against
        return QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)


#: Sampler name → factory taking the sampler's seed.
SAMPLERS: dict[str, Callable[[int], BaseSampler]] = {
    "tpe": lambda seed: TPESampler(seed=seed),
    "random": lambda seed: RandomSampler(seed=seed),
    "cmaes": lambda seed: CmaEsSampler(seed=seed, warn_independent_sampling=False),
    "gp": _gp,
    "nsga2": lambda seed: NSGAIISampler(seed=seed),
    "qmc": _qmc,
    "epsilon_greedy": lambda seed: EpsilonGreedySampler(seed=seed),
}

#: Samplers that optimise one objective only.
SINGLE_OBJECTIVE = frozenset({"cmaes", "epsilon_greedy"})


def check_sampler(name: str, objectives: int) -> None:
    """Refuse a sampler that is unknown, not installed or unfit for ``objectives``.

    Raises:
        ValueError: Saying what is allowed (or what to install).
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(SAMPLERS)}")
    if objectives > 1 and name in SINGLE_OBJECTIVE:
        raise ValueError(f"the {name} sampler optimises one objective; for {objectives} objectives use one of "
                         + ", ".join(n for n in SAMPLERS if n not in SINGLE_OBJECTIVE))
    if name == "gp":
        _gp(0)


def make_sampler(name: str, seed: int) -> BaseSampler:
    """The sampler ``name`` seeded with ``seed``."""
    return SAMPLERS[name](seed)


def sampler_seeds(root: int, session: int, workers: int) -> list[int]:
    """The sampler seeds of a study session's worker processes, derived from the
    study's root seed apart from its replication seeds.

    >>> sampler_seeds(2026, 0, 2) == sampler_seeds(2026, 0, 3)[:2]
    True
    """
    return [int(np.random.SeedSequence(root, spawn_key=(_SAMPLER_STREAM, session, k))
                .generate_state(1, dtype=np.uint32)[0]) for k in range(workers)]
