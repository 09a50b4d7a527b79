"""The data of a study's figures against Optuna's own answers and hand-made studies."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial

from wfsim.tuning import figures


def made(directions: list[str], trials: list[tuple[dict, list[float]]]) -> optuna.Study:
    """A study holding ``trials`` (params, values) over x in [1, 100] (log) and k in a, b, c."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(directions=directions)
    space = {"x": FloatDistribution(1.0, 100.0, log=True), "k": CategoricalDistribution(["a", "b", "c"])}
    for params, values in trials:
        study.add_trial(create_trial(params=params, distributions={p: space[p] for p in params}, values=values))
    return study


def test_history_is_the_best_so_far_in_the_objectives_direction() -> None:
    trials = [({"x": 2.0}, [3.0]), ({"x": 4.0}, [5.0]), ({"x": 8.0}, [1.0])]
    low = figures.history(made(["minimize"], trials), ["v"], "v")
    high = figures.history(made(["maximize"], trials), ["v"], "v")
    assert list(low["best"]) == [3.0, 3.0, 1.0] and list(high["best"]) == [3.0, 5.0, 5.0]
    assert list(low["number"]) == [0, 1, 2]


def test_the_front_is_the_studys_best_trials() -> None:
    study = made(["minimize", "minimize"], [({"x": 1.0}, [1.0, 4.0]), ({"x": 2.0}, [2.0, 2.0]),
                                           ({"x": 3.0}, [3.0, 3.0]), ({"x": 4.0}, [4.0, 1.0])])
    values = figures.trial_values(study, ["a", "b"])
    assert list(values.loc[values["front"], "number"]) == [0, 1, 3]  # 2 is dominated by 1
    assert sorted(t.number for t in study.best_trials) == [0, 1, 3]
    with pytest.raises(ValueError, match="1 objective names for 2 objectives"):
        figures.trial_values(study, ["a"])


def test_parallel_coordinates_spread_numbers_logs_and_categories() -> None:
    study = made(["minimize"], [({"x": 1.0, "k": "a"}, [1.0]), ({"x": 10.0, "k": "c"}, [2.0]),
                                ({"x": 100.0}, [3.0])])
    data = figures.parallel_coordinates(study, ["v"], "v")
    assert list(data.positions["x"]) == pytest.approx([0.0, 0.5, 1.0])  # on a log scale
    assert list(data.positions["k"][:2]) == [0.0, 1.0] and math.isnan(data.positions["k"][2])
    assert data.ticks["k"] == [(0.0, "a"), (0.5, "b"), (1.0, "c")]
    assert data.ticks["x"] == [(0.0, "1"), (1.0, "100")]
    assert list(data.values) == [1.0, 2.0, 3.0]


def test_importances_need_two_trials_and_follow_the_direction() -> None:
    with pytest.raises(ValueError, match="at least 2 completed trials; the study has 1"):
        figures.importances(made(["minimize"], [({"x": 2.0}, [1.0])]), ["v"], "v")
    # k decides the value, x is noise: k matters whichever way the objective goes.
    trials = [({"x": float(1 + (7 * i) % 97), "k": "abc"[i % 3]}, [float(i % 3)]) for i in range(30)]
    for direction in ("minimize", "maximize"):
        found = figures.importances(made([direction], trials), ["v"], "v")
        assert found.index[0] == "k" and sum(found) == pytest.approx(1.0)


def test_objective_names_of_a_plain_study() -> None:
    assert figures.objective_names(optuna.create_study()) == ["value"]
    assert figures.objective_names(optuna.create_study(directions=["minimize"] * 2)) == ["objective 0",
                                                                                         "objective 1"]
    named = optuna.create_study()
    with pytest.warns(optuna.exceptions.ExperimentalWarning):
        named.set_metric_names(["latency"])
    assert figures.objective_names(named) == ["latency"]
    recorded = optuna.create_study(directions=["minimize"] * 2)  # as tune records its study
    recorded.set_user_attr("study", {"objectives": [{"latency.p95": "minimize"}, {"cost": "minimize"}]})
    assert figures.objective_names(recorded) == ["latency.p95", "cost"]
