"""Studies in this process: reproducible under a seed, refused configurations pruned
with their reason, constraints from the property catalog, several objectives, the
held-out comparison and the best configuration run again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.scenarios import replication_seeds
from wfsim.tuning import load_study, tune
from wfsim.verify import catalog
from wfsim.verify.properties import Findings, Invariant, TraceView

EXPERIMENT = str(Path(__file__).resolve().parents[2] / "experiments" / "compare-placement.yaml")


def study(**fields: Any) -> dict[str, Any]:
    """A small study on compare-placement.yaml cut to 15 s (about 30 workflows a run)."""
    return {"experiment": EXPERIMENT, "set": ["duration=15"], "seed": 2026, "n_trials": 4, "replications": 1,
            "space": {"placement": {"strategy": ["hybrid_dynamic", "heft", "earliest_finish_time"],
                                    "params": {"latency_weight": {"low": 0.0, "high": 1.0}}}},
            **fields}


def test_a_seeded_study_is_reproducible() -> None:
    first, second = (tune(study(replications=2, n_trials=3)) for _ in range(2))
    pd.testing.assert_frame_equal(first.trials.drop(columns="seconds"), second.trials.drop(columns="seconds"))
    assert first.trials["state"].eq("COMPLETE").sum() >= 1
    # The first trial is the experiment's own configuration, the reference: Balanced is 1 there.
    assert first.trials.loc[0, "placement.strategy"] == "earliest_finish_time"
    assert first.trials.loc[0, "Balanced"] == pytest.approx(1.0)
    attrs = first.study.user_attrs
    assert attrs["seeds"] == replication_seeds(2026, 2) and attrs["seed"] == 2026
    assert set(attrs["versions"]) >= {"wfsim", "optuna"}
    assert len(attrs["session.0"]["sampler_seeds"]) == 1


def test_a_refused_configuration_is_pruned_with_its_reason() -> None:
    # AdaptiveFlow requires recent_samples <= min_samples < stats_window: 5 > 3 is refused.
    result = tune(study(space={"placement": {"strategy": "adaptive_flow", "params": {
        "recent_samples": 5, "min_samples": 3, "latency_weight": {"low": 0.0, "high": 1.0}}}}, n_trials=2))
    assert list(result.trials["state"]) == ["PRUNED", "PRUNED"]
    assert result.trials["reason"].str.contains("refused: .*recent_samples", regex=True).all()
    assert result.best == []


def _on_devices(view: TraceView) -> Findings:
    ex = view.trace.executions()
    bad = ex[ex["tier"].astype(str) == "LocalDevice"]
    return Findings(len(ex), pd.DataFrame({"entity_kind": "task", "entity": bad["workflow"].astype(str) + ":" +
                                           bad["task"].astype(str), "time": bad["start"], "step": 0,
                                           "explanation": "ran on a LocalDevice", "workflow": bad["workflow"]}))


#: A test-only property, false exactly where a configuration keeps work on the devices:
#: no catalog property can be made false by a configuration (they state what the engine
#: guarantees for every one), so the test registers its own through the catalog's registry.
OFF_DEVICES = Invariant("T1", "test.off-devices", "test only", "No task runs on a LocalDevice.", _on_devices, "tasks")


def test_a_configuration_that_makes_a_property_false_is_infeasible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalog.CATALOG, OFF_DEVICES.name, OFF_DEVICES)
    result = tune(study(space={"placement": {"strategy": ["nearest_edge", "cloud_only"]}},
                        constraints=["test.off-devices", "lifecycle"], n_trials=4, sampler="random"))
    trials = result.trials.set_index("number")
    near = trials["placement.strategy"] == "nearest_edge"
    assert near.any() and (~near).any()
    assert (trials.loc[near, "false.test.off-devices"] == 1).all() and not trials.loc[near, "feasible"].any()
    assert (trials.loc[~near, "false.test.off-devices"] == 0).all() and trials.loc[~near, "feasible"].all()
    assert (trials["false.lifecycle"] == 0).all()
    for t in result.study.trials:
        assert t.constraints["test.off-devices"] == (t.params["placement.strategy"] == "nearest_edge")
    (best,) = result.best
    assert best.params["placement.strategy"] == "cloud_only"  # nearest_edge is cheaper, but infeasible


def test_several_objectives_give_a_pareto_front() -> None:
    result = tune(study(objectives=[{"latency.p95": "minimize"}, {"cost": "minimize"}], sampler="nsga2",
                        n_trials=5))
    assert result.study.directions[0].name == "MINIMIZE" and len(result.best) >= 1
    values = result.trials[["latency.p95", "cost"]].to_numpy()
    for b in result.best:  # nothing completed dominates a member of the front
        mine = [b.values["latency.p95"], b.values["cost"]]
        assert not any((v <= mine).all() and (v < mine).any() for v in values)


def test_held_out_seeds_compare_the_best_with_the_experiment_as_written() -> None:
    result = tune(study(held_out=2, n_trials=3, objective="Latency"))
    held = result.held_out
    assert held is not None and held.seeds == replication_seeds(2026, 2, start=1)
    (number,) = held.best
    assert number == result.best[0].number and len(held.best[number]["Latency"]) == 2
    assert len(held.default["Latency"]) == 2
    assert any(line.startswith("held-out (2 seeds): default Latency") for line in result.summary())
    run = result.rerun_best()
    assert run.metrics["workflows"]["submitted"] > 0 and len(run.trace.task_events) > 0


@pytest.mark.parametrize(("fields", "needles"), [
    ({"experiment": "missing.yaml"}, ["missing.yaml: cannot read file"]),
    ({"replications": 0}, ["<study>: replications: Input should be greater than or equal to 1"]),
    ({"spaces": {}}, ["<study>: spaces: unknown field; allowed: experiment, name, set"]),
    ({"set": ["duration=-1"]}, ["<study>: set duration=-1: duration:"]),
    ({"constraints": ["P99"]}, ["<study>: constraints: unknown property 'p99'"]),
    ({"sampler": "bayes"}, ["<study>: sampler: unknown sampler 'bayes'"]),
    ({"objectives": [{"cost": "minimize"}, {"latency.p95": "minimize"}], "pruner": "median"},
     ["<study>: pruner: median pruning needs a single objective"]),
    ({"pruner": "hyperband"}, ["<study>: pruner: unknown pruner 'hyperband'; allowed: median, successive_halving"]),
    ({"objective": "Speed"}, ["<study>: objective: unknown objective 'Speed'"]),
])
def test_bad_studies_are_refused_before_anything_runs(fields: dict[str, Any], needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_study(study(**fields))
    for needle in needles:
        assert needle in str(info.value), str(info.value)
