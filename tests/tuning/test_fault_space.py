"""A study's ``space.faults``: the experiment's fault processes, by position, tuned
like settings groups, their values reaching the runs as ``faults.<i>.<name>`` overrides."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from wfsim.experiments.building import build_simulation
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, load_config, read_yaml, validate_config
from wfsim.faults import Crashes, Partitions
from wfsim.tuning.space import build_space

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "compare-placement.yaml"
RAW = apply_overrides(read_yaml(EXPERIMENT), [
    'faults=[{"process": "crashes", "tiers": ["EdgeCloud"]}, {"process": "partitions", "site": "edge-0"}]'])
CONFIG = validate_config(RAW, "exp.yaml")


def test_fault_parameters_are_dimensions_and_their_values_overrides() -> None:
    sp = build_space({"faults": [{"mttr": {"low": 10, "high": 100}, "distribution": ["weibull", "fixed"]},
                                 "all"]}, CONFIG, "study.yaml")
    dists = sp.distributions
    assert dists["faults.0.mttr"] == FloatDistribution(10, 100, log=True)  # declared log
    assert dists["faults.0.distribution"] == CategoricalDistribution(["weibull", "fixed"])
    assert {name for name in dists if name.startswith("faults.1.")} == {
        f"faults.1.{p.name}" for p in Partitions.parameters}
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2)).ask()
    overrides = sp.suggest(trial)
    assert f"faults.0.mttr={trial.params['faults.0.mttr']!r}" in overrides
    config = validate_config(apply_overrides(RAW, overrides), "exp.yaml")
    sim = build_simulation(config, EXPERIMENT.parent, "exp.yaml")
    assert isinstance(sim.faults.processes[0], Crashes)
    assert sim.faults.processes[0].mttr == trial.params["faults.0.mttr"]
    assert sp.defaults() is None or sp.defaults()["faults.0.mttr"] == Crashes().mttr


@pytest.mark.parametrize("spec, needle", [
    ({"faults": [{}, {}, {}]}, "at most 2 entries"),
    ({"faults": {"mttr": 3}}, "must be a list"),
    ({"faults": [{"dwell": {}}]}, "space.faults.0.dwell: unknown parameter; allowed: mtbf, mttr"),
    ({"faults": [{"mttr": {"low": 0.0, "high": 5}}]}, "space.faults.0.mttr"),
    ({"faults": ["some"]}, "space.faults[0]: must be a mapping"),
])
def test_bad_fault_spaces_are_refused(spec, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_space(spec, CONFIG, "study.yaml")
    assert needle in str(info.value)
    assert load_config(EXPERIMENT).faults == []  # the shipped experiment has none
