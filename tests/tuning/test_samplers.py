"""The samplers by name, and the seed's ε-greedy sampler: exploration with
probability ε, perturbation bounds, clamping and seeded reproducibility."""

from __future__ import annotations

import importlib.util

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from wfsim.experiments.scenarios import replication_seeds
from wfsim.tuning.samplers import SAMPLERS, EpsilonGreedySampler, check_sampler, make_sampler, perturb, sampler_seeds

X = FloatDistribution(0.0, 1.0)


def run(sampler: optuna.samplers.BaseSampler, n: int, best: float | None = 0.5) -> list[float]:
    """``n`` values of ``x`` from a study whose best trial stays at ``best`` (if given)."""
    study = optuna.create_study(direction="maximize", sampler=sampler)
    if best is not None:
        study.enqueue_trial({"x": best})
        study.optimize(lambda t: 100.0 + t.suggest_float("x", 0.0, 1.0) * 0, n_trials=1)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0) * 0, n_trials=n)
    return [t.params["x"] for t in study.trials[1 if best is not None else 0:]]


def test_explores_with_probability_epsilon_else_perturbs_the_best() -> None:
    xs = np.array(run(EpsilonGreedySampler(epsilon=0.3, seed=5), 400))
    far = np.abs(xs - 0.5) > 0.1                   # a perturbation of the best moves at most 10 % of the range
    # Exploring draws uniformly on [0, 1], far from the best with probability 0.8: 0.3 × 0.8 = 0.24.
    assert far.mean() == pytest.approx(0.24, abs=0.06)
    greedy = np.array(run(EpsilonGreedySampler(epsilon=0.0, seed=5), 100))
    assert np.abs(greedy - 0.5).max() <= 0.1 + 1e-12             # ε = 0: always a perturbation of the best


def test_without_history_it_explores() -> None:
    xs = run(EpsilonGreedySampler(epsilon=0.0, seed=2), 1, best=None)   # no best yet: uniform even at ε = 0
    assert 0.0 <= xs[0] <= 1.0
    eps_one = np.array(run(EpsilonGreedySampler(epsilon=1.0, seed=3), 200))
    assert (np.abs(eps_one - 0.5) > 0.1).mean() == pytest.approx(0.8, abs=0.08)


def test_seeded_reproducibility() -> None:
    assert run(EpsilonGreedySampler(seed=11), 30) == run(EpsilonGreedySampler(seed=11), 30)
    assert run(EpsilonGreedySampler(seed=11), 30) != run(EpsilonGreedySampler(seed=12), 30)


def test_perturbation_bounds_and_clamping() -> None:
    rng = np.random.default_rng(0)
    ints = IntDistribution(0, 100)
    moves = [perturb(50, ints, rng) - 50 for _ in range(2000)]
    assert min(moves) == -10 and max(moves) == 10                  # ±max(10 % of the range, 1)
    assert {perturb(2, IntDistribution(0, 5), rng) for _ in range(200)} == {1, 2, 3}  # ±1 at least
    stepped = IntDistribution(0, 100, step=5)
    assert all((v := perturb(50, stepped, rng)) % 5 == 0 and 40 <= v <= 60 for _ in range(500))
    floats = [perturb(0.5, FloatDistribution(0.0, 10.0), rng) for _ in range(2000)]
    assert min(floats) >= -0.5 + 0.5 and max(floats) <= 1.5 and max(floats) > 1.4
    assert all(0.0 <= perturb(0.0, X, rng) <= 0.1 for _ in range(200))        # clamped at the low end
    assert all(0.9 <= perturb(1.0, X, rng) <= 1.0 for _ in range(200))        # and the high end
    logged = FloatDistribution(1e-3, 1e3, log=True)                           # 10 % of the log range: ×/÷ 10^0.6
    assert all(10 ** -0.6 - 1e-9 <= perturb(1.0, logged, rng) <= 10 ** 0.6 + 1e-9 for _ in range(500))
    assert all(isinstance(perturb(3, ints, rng), int) for _ in range(10))


def test_categoricals_change_with_probability_flip() -> None:
    rng = np.random.default_rng(1)
    flips = np.mean([perturb(True, CategoricalDistribution([False, True]), rng) is False for _ in range(4000)])
    assert flips == pytest.approx(0.2, abs=0.03)                  # the seed's bool flip
    choices = CategoricalDistribution(["a", "b", "c"])
    moved = [perturb("a", choices, rng) for _ in range(4000)]
    assert np.mean([m != "a" for m in moved]) == pytest.approx(0.2, abs=0.03)
    assert {m for m in moved if m != "a"} == {"b", "c"}


def test_single_objective_only() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=EpsilonGreedySampler(seed=0))
    with pytest.raises(ValueError, match="multi-objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 0.0), n_trials=1)
    with pytest.raises(ValueError, match="epsilon_greedy sampler optimises one objective"):
        check_sampler("epsilon_greedy", 2)


def test_the_map() -> None:
    assert set(SAMPLERS) == {"tpe", "random", "cmaes", "gp", "nsga2", "qmc", "epsilon_greedy"}
    with pytest.raises(ValueError, match="unknown sampler 'bayes'; allowed: tpe, random"):
        check_sampler("bayes", 1)
    for name in SAMPLERS:
        if name != "gp":
            assert isinstance(make_sampler(name, 1), optuna.samplers.BaseSampler)


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
def test_gp_without_torch_says_what_to_install() -> None:
    with pytest.raises(ValueError, match=r"install wfsim\[gp\]"):
        check_sampler("gp", 1)


def test_sampler_seeds_are_their_own_stream() -> None:
    first = sampler_seeds(2026, 0, 3)
    assert len(set(first)) == 3 and first == sampler_seeds(2026, 0, 3)
    assert not set(first) & set(sampler_seeds(2026, 1, 3))        # another session, other seeds
    assert not set(first) & set(replication_seeds(2026, 50))       # never a run seed
