"""A study's space over the ``consistency:`` group: its parameters, its level strategy
(name and params) and ``data_type``'s level per key prefix; every sampled point is a
valid experiment whose strategy is the one sampled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from wfsim.experiments.building import consistency_strategy
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, load_config, read_yaml, validate_config
from wfsim.policies.consistency import LEVELS as LEVEL_NAMES
from wfsim.policies.consistency import DataTypeDriven
from wfsim.tuning.space import build_space

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
LEVELS = list(LEVEL_NAMES)
SPECTRUM = EXPERIMENTS / "consistency-spectrum.yaml"
CONFIG = load_config(SPECTRUM)  # adaptive, seed defaults

SPACE: dict[str, Any] = {"consistency": {
    "strategy": {"name": ["adaptive", "data_type"],
                 "params": {"default": ["Causal", "Eventual"], "types": {"order": LEVELS, "payment": "Linearizable"}}},
    "timeout_linearizable": {"low": 0.2, "high": 1.0},
    "hysteresis": {"low": 0, "high": 3},
    "read_mode": ["ReadIndex", "Lease"],
}}


def space(spec: dict[str, Any], config: Any = CONFIG) -> Any:
    return build_space(spec, config, "study.yaml")


def test_the_strategy_its_params_and_the_per_prefix_levels_are_dimensions() -> None:
    assert space(SPACE).distributions == {
        "consistency.strategy.name": CategoricalDistribution(["adaptive", "data_type"]),
        "consistency.strategy.data_type.default": CategoricalDistribution(["Causal", "Eventual"]),
        "consistency.strategy.data_type.types.order": CategoricalDistribution(list(LEVELS)),
        "consistency.timeout_linearizable": FloatDistribution(0.2, 1.0),
        "consistency.hysteresis": IntDistribution(0, 3),
        "consistency.read_mode": CategoricalDistribution(["ReadIndex", "Lease"]),
    }
    # One strategy: its parameters are named under params, like a top-level axis's.
    one = space({"consistency": {"strategy": "fixed"}}).distributions
    assert one == {"consistency.strategy.params.level": CategoricalDistribution(list(LEVELS))}


def test_every_sampled_point_is_a_valid_experiment_with_the_sampled_levels() -> None:
    sp = space(SPACE)
    data = read_yaml(SPECTRUM)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=4))
    chosen = set()
    for _ in range(30):
        trial = study.ask()
        overrides = sp.suggest(trial)
        config = validate_config(apply_overrides(data, overrides), str(SPECTRUM))
        group = config.consistency
        strategy = consistency_strategy(group.strategy.name, group.strategy.params)
        p = trial.params
        assert strategy.name == p["consistency.strategy.name"]
        assert group.timeout_linearizable == p["consistency.timeout_linearizable"]
        assert group.hysteresis == p["consistency.hysteresis"] and group.read_mode == p["consistency.read_mode"]
        if isinstance(strategy, DataTypeDriven):
            assert strategy.default == p["consistency.strategy.data_type.default"]
            assert strategy.types == {"order": p["consistency.strategy.data_type.types.order"],
                                      "payment": "Linearizable"}
            chosen.add(strategy.types["order"])
        else:
            assert "consistency.strategy.data_type.default" not in p  # sampled only when chosen
            assert strategy.params() == type(strategy)().params()
        study.tell(trial, 0.0)
    assert len(chosen) > 1


def test_the_experiments_own_point_and_a_group_switched_on() -> None:
    assert space(SPACE).defaults() == {"consistency.strategy.name": "adaptive", "consistency.timeout_linearizable": 0.5,
                                       "consistency.hysteresis": 0, "consistency.read_mode": "ReadIndex"}
    # An experiment without the group: naming it switches it on, with the schema's strategy.
    plain = load_config(EXPERIMENTS / "compare-placement.yaml")
    sp = space({"consistency": {"strategy": {"params": {"healthy": ["Linearizable", "Causal"]}}}}, plain)
    assert sp.defaults() == {"consistency.strategy.params.healthy": "Linearizable"}
    overrides = sp.overrides({"consistency.strategy.params.healthy": "Causal"})
    assert overrides == ["consistency={}", "consistency.strategy.params.healthy=Causal"]
    config = validate_config(apply_overrides(read_yaml(EXPERIMENTS / "compare-placement.yaml"), overrides), "x")
    assert config.consistency.strategy.name == "adaptive"


def test_per_prefix_levels_of_the_experiments_own_data_type_strategy() -> None:
    data = read_yaml(SPECTRUM)
    data["consistency"]["strategy"] = {"name": "data_type", "params": {"default": "Eventual",
                                                                      "types": {"order": "Sequential"}}}
    config = validate_config(data, str(SPECTRUM))
    sp = space({"consistency": {"strategy": {"params": {"types": {"order": LEVELS, "cart": LEVELS}}}}}, config)
    # Its own level for order:, its default for a prefix it does not list.
    assert sp.defaults() == {"consistency.strategy.params.types.order": "Sequential",
                             "consistency.strategy.params.types.cart": "Eventual"}


@pytest.mark.parametrize("spec, field, needles", [
    ({"strategy": {"name": ["adaptive", "strongest"]}}, "space.consistency.strategy.name",
     ["unknown strategy 'strongest'", "allowed: fixed, data_type, explicit, adaptive"]),
    ({"strategy": {"name": "adaptive", "params": {"level": LEVELS}}}, "space.consistency.strategy.params.level",
     ["unknown parameter of adaptive", "allowed: healthy, degraded, critical, emergency"]),
    ({"strategy": {"name": "data_type", "params": {"types": {"order": ["Strong"]}}}},
     "space.consistency.strategy.params.types.order[0]", ["must be one of Linearizable"]),
    ({"strategy": {"name": "fixed", "level": "Causal"}}, "space.consistency.strategy.level",
     ["unknown field; allowed: name, params"]),
    ({"strategy": 3}, "space.consistency.strategy", ["must be a mapping of name and params"]),
    ({"timeout_linearizable": {"low": 0.01}}, "space.consistency.timeout_linearizable.low",
     ["outside the declared range"]),
    ({"nodes": ["cloud"]}, "space.consistency.nodes", ["unknown parameter", "timeout_linearizable"]),
])
def test_refused(spec: dict[str, Any], field: str, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        space({"consistency": spec})
    assert info.value.field == field, info.value
    for needle in needles:
        assert needle in str(info.value), str(info.value)
