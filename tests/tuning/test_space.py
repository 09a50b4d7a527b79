"""The search space from the parameter declarations: kinds, ranges, steps, log scales,
choices, conditional strategies, restriction and refused widening."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, load_config, read_yaml, validate_config
from wfsim.policies.registry import PLACEMENT_STRATEGIES
from wfsim.tuning.space import build_space

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "compare-placement.yaml"
CONFIG = load_config(EXPERIMENT)  # placement earliest_finish_time, scheduling fifo, no rebalance


def space(spec: dict[str, Any], config: Any = CONFIG) -> Any:
    return build_space(spec, config, "study.yaml")


def refused(spec: dict[str, Any], *needles: str) -> str:
    with pytest.raises(ConfigError) as info:
        space(spec)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return str(info.value)


def samples(sp: Any, n: int = 25, seed: int = 1) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(n):
        trial = study.ask()
        trial.set_user_attr("overrides", sp.suggest(trial))
        study.tell(trial, 0.0)
    return study.trials


def test_a_strategy_without_params_tunes_every_declared_parameter() -> None:
    dists = space({"placement": {"strategy": "hybrid_dynamic"}}).distributions
    declared = PLACEMENT_STRATEGIES["hybrid_dynamic"].parameters
    assert list(dists) == [f"placement.params.{p.name}" for p in declared]
    by_name = {p.name: p for p in declared}
    lw = dists["placement.params.latency_weight"]
    assert lw == FloatDistribution(by_name["latency_weight"].low, by_name["latency_weight"].high)
    sw = dists["placement.params.stats_window"]
    assert sw == IntDistribution(by_name["stats_window"].low, by_name["stats_window"].high)
    assert dists["placement.params.locality"] == CategoricalDistribution(list(by_name["locality"].choices))
    assert space({"placement": {"strategy": "heft"}}).distributions == {
        "placement.params.insertion": CategoricalDistribution([False, True])}   # a bool


def test_unbounded_parameters_are_tuned_only_when_given_a_range() -> None:
    # rebalance's interval and threshold are declared >= 0.001 only; migration's three are bounded.
    assert set(space({"rebalance": "all"}).distributions) == {
        "rebalance.max_concurrent", "rebalance.overhead", "rebalance.benefit_weight"}
    refused({"rebalance": {"interval": {}}}, "study.yaml: space.rebalance.interval:", "unbounded",
            "a number >= 0.001", "give low and high")
    assert space({"rebalance": {"interval": {"low": 10, "high": 120}}}).distributions == {
        "rebalance.interval": FloatDistribution(10.0, 120.0)}


def test_steps_log_scales_and_choices() -> None:
    dists = space({"placement": {"strategy": "hybrid_dynamic", "params": {
        "stats_window": {"low": 4, "high": 40, "step": 4},
        "complexity_reference": {"log": True},
        "deadline_reference": {"low": 0.1, "high": 10.0, "step": 0.1},
        "locality": ["inputs"],
        "energy_constrained": ["always", "never"],
    }}}).distributions
    assert dists["placement.params.stats_window"] == IntDistribution(4, 40, step=4)
    assert dists["placement.params.complexity_reference"] == FloatDistribution(1e6, 1e13, log=True)
    assert dists["placement.params.deadline_reference"] == FloatDistribution(0.1, 10.0, step=0.1)
    assert dists["placement.params.locality"] == CategoricalDistribution(["inputs"])
    assert dists["placement.params.energy_constrained"] == CategoricalDistribution(["always", "never"])
    numbers = space({"rebalance": {"max_concurrent": [1, 2, 4]}}).distributions
    assert numbers == {"rebalance.max_concurrent": CategoricalDistribution([1, 2, 4])}


def test_restriction_and_fixed_values() -> None:
    sp = space({"placement": {"strategy": "hybrid_dynamic", "params": {
        "latency_weight": {"low": 0.2, "high": 0.4}, "history_weight": 0.0, "locality": "inputs"}}})
    assert sp.distributions == {"placement.params.latency_weight": FloatDistribution(0.2, 0.4)}
    for t in samples(sp, 5):
        assert 0.2 <= t.params["placement.params.latency_weight"] <= 0.4
        assert "placement.params.history_weight=0.0" in t.user_attrs["overrides"]
        assert "placement.params.locality=inputs" in t.user_attrs["overrides"]
    assert space({"placement": {"params": {}}}).distributions == {}  # the experiment's strategy, untouched


def test_conditional_strategies() -> None:
    sp = space({"placement": {"strategy": ["hybrid_dynamic", "heft", "earliest_finish_time"],
                              "params": {"latency_weight": {"low": 0.0, "high": 1.0}, "insertion": [True, False]}}})
    assert set(sp.distributions) == {"placement.strategy", "placement.hybrid_dynamic.latency_weight",
                                     "placement.heft.insertion"}
    seen = set()
    for t in samples(sp, 30):
        chosen = t.params["placement.strategy"]
        seen.add(chosen)
        own = {k for k in t.params if k != "placement.strategy"}
        assert own == {"hybrid_dynamic": {"placement.hybrid_dynamic.latency_weight"},
                       "heft": {"placement.heft.insertion"}, "earliest_finish_time": set()}[chosen]
    assert seen == {"hybrid_dynamic", "heft", "earliest_finish_time"}


def test_every_sampled_configuration_is_a_valid_experiment() -> None:
    data = read_yaml(EXPERIMENT)
    data["placement"] = {"strategy": "hybrid_dynamic", "params": {"latency_weight": 0.9}}  # another strategy's
    config = validate_config(data)
    sp = space({"placement": {"strategy": ["heft", "hybrid_dynamic", "lb_adaptive"]},
                "scheduling": {"strategy": ["hybrid", "load_aware"]},
                "rebalance": {"interval": {"low": 5, "high": 60}, "max_concurrent": {"low": 1, "high": 8}},
                "autoscaling": {"strategy": "right_sizing", "interval": {"low": 5, "high": 30}}}, config)
    for t in samples(sp, 20):
        overrides = t.user_attrs["overrides"]
        applied = validate_config(apply_overrides(data, overrides, "trial"))
        assert applied.placement.strategy == t.params["placement.strategy"]
        if t.params["placement.strategy"] == "hybrid_dynamic":   # the experiment's own params are kept
            assert applied.placement.params["latency_weight"] == t.params["placement.hybrid_dynamic.latency_weight"]
        else:
            assert "latency_weight" not in applied.placement.params
        assert applied.rebalance.interval == t.params["rebalance.interval"]
        assert applied.autoscaling.strategy == "right_sizing"
        assert applied.autoscaling.interval == t.params["autoscaling.interval"]
        assert sp.overrides(t.params) == overrides


def test_the_experiments_own_configuration_as_the_first_point() -> None:
    sp = space({"placement": {"strategy": ["heft", "earliest_finish_time"]},
                "rebalance": {"max_concurrent": {"low": 1, "high": 8}}})
    # The experiment's strategy (not heft's parameters), the declared default where it sets nothing.
    assert sp.defaults() == {"placement.strategy": "earliest_finish_time", "rebalance.max_concurrent": 4}
    assert space({"placement": {"strategy": ["heft"]}}).defaults() is None       # not searched
    assert space({"rebalance": {"max_concurrent": {"low": 5, "high": 8}}}).defaults() is None  # outside


@pytest.mark.parametrize(("spec", "needles"), [
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"latency_weight": {"low": -0.5, "high": 1.0}}}},
     ["space.placement.params.latency_weight.low:", "-0.5 is outside the declared range: a number in [0.0, 1.0]"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"stats_window": {"high": 100}}}},
     ["space.placement.params.stats_window.high:", "outside the declared range: an integer in [3, 50]"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"latency_weight": 1.5}}},
     ["space.placement.params.latency_weight:", "must be in [0.0, 1.0]"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"locality": ["specific", "nearby"]}}},
     ["space.placement.params.locality[1]:", "one of specific, inputs"]),
    ({"placement": {"strategy": "nearest"}}, ["space.placement.strategy:", "unknown strategy 'nearest'; allowed:"]),
    ({"placement": {"strategy": ["heft", "min_min"], "params": {"horizon": 3}}},
     ["space.placement.params.horizon:", "unknown parameter of heft, min_min; allowed: insertion"]),
    ({"placements": {}}, ["space.placements:", "allowed: placement, scheduling, autoscaling, rebalance"]),
    ({"rebalance": {"intervals": {}}}, ["space.rebalance.intervals:", "unknown parameter; allowed: interval"]),
    ({"placement": {"strategy": "heft", "params": {"insertion": {"low": 0}}}}, ["a bool parameter takes a value"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"latency_weight": {"low": 0.0, "log": True}}}},
     ["log scale needs low > 0"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"stats_window": {"step": 0}}}},
     ["stats_window.step:", "a whole number > 0"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"latency_weight": {"low": 0.8, "high": 0.2}}}},
     ["low 0.8 is above high 0.2"]),
    ({"placement": {"strategy": "hybrid_dynamic", "params": {"latency_weight": {"lo": 0.8}}}},
     ["latency_weight.lo:", "allowed: low, high, step, log"]),
    ({"autoscaling": {"params": {}}}, ["space.autoscaling.strategy:", "the experiment has no autoscaling"]),
])
def test_refused(spec: dict[str, Any], needles: list[str]) -> None:
    refused(spec, *needles)
