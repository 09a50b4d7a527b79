"""StudyExplorer on real studies: its history, front and importances are the study's,
an objective change redraws, a chosen trial runs again with its trace, and what
cannot be drawn or run is said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from wfsim.tuning import TuneResult, figures, tune
from wfsim.widgets import StudyExplorer

EXPERIMENT = str(Path(__file__).resolve().parents[2] / "experiments" / "compare-placement.yaml")


def study(**fields: Any) -> dict[str, Any]:
    """A small study on compare-placement.yaml cut to 10 s."""
    return {"experiment": EXPERIMENT, "set": ["duration=10"], "seed": 2026, "n_trials": 4, "replications": 1,
            "space": {"placement": {"strategy": ["hybrid_dynamic", "heft", "earliest_finish_time"],
                                    "params": {"latency_weight": {"low": 0.0, "high": 1.0}}}},
            **fields}


@pytest.fixture(scope="module")
def pareto(tmp_path_factory: pytest.TempPathFactory) -> TuneResult:
    """Two objectives, four trials, saved to a study directory."""
    out = tmp_path_factory.mktemp("pareto") / "study"
    return tune(study(objectives=[{"latency.p95": "minimize"}, {"cost": "minimize"}], sampler="nsga2",
                      pruner="none"), out)


@pytest.fixture(scope="module")
def single() -> TuneResult:
    """Balanced (maximised), four trials, in memory."""
    return tune(study())


def axes(explorer: StudyExplorer) -> Any:
    return explorer.canvas.figure.axes[0]


def test_the_history_line_is_the_best_so_far(single: TuneResult) -> None:
    explorer = StudyExplorer(single)
    assert explorer.panel.options == ("history", "importances", "parallel coordinates")  # one objective: no front
    assert "wfsim-study-explorer" in explorer.widget._dom_classes
    assert "wfsim-figure" in explorer.canvas.image._dom_classes
    (best,) = [line for line in axes(explorer).lines if line.get_label() == "best so far"]
    done = single.trials[single.trials["state"] == "COMPLETE"]
    np.testing.assert_array_equal(best.get_xdata(), done["number"])
    np.testing.assert_allclose(best.get_ydata(), done["Balanced"].cummax())  # Balanced is maximised
    assert best.get_ydata()[-1] == pytest.approx(single.best[0].values["Balanced"])


def test_the_front_is_the_studys_best_trials_and_an_objective_change_redraws(pareto: TuneResult) -> None:
    explorer = StudyExplorer(pareto)
    explorer.panel.value = "pareto front"
    (front,) = [c for c in axes(explorer).collections if c.get_label() == "Pareto front"]
    expected = sorted((b.values["latency.p95"], b.values["cost"]) for b in pareto.best)
    drawn = sorted(map(tuple, front.get_offsets().tolist()))
    assert np.allclose(drawn, expected)
    labelled = sorted(int(n) for t in axes(explorer).texts for n in t.get_text().split(", "))
    assert labelled == sorted(b.number for b in pareto.best)
    assert {b.number for b in pareto.best} == {t.number for t in pareto.study.best_trials}
    explorer.panel.value = "history"
    draws, image = explorer.canvas.draws, explorer.canvas.image.value
    explorer.objective.value = "cost"
    assert explorer.canvas.draws == draws + 1 and explorer.canvas.image.value != image
    assert axes(explorer).get_ylabel() == "cost"


def test_importances_are_optunas(single: TuneResult) -> None:
    explorer = StudyExplorer(single)
    explorer.panel.value = "importances"
    found = figures.importances(single.study, ["Balanced"], "Balanced")
    bars = axes(explorer).patches
    assert [b.get_width() for b in bars] == pytest.approx(list(found))
    assert sum(found) == pytest.approx(1.0)


def test_importances_of_a_single_trial_are_a_message() -> None:
    one = tune(study(n_trials=1))
    explorer = StudyExplorer(one)
    explorer.panel.value = "importances"  # no exception
    (text,) = axes(explorer).texts
    assert "at least 2 completed trials" in text.get_text()


def test_parallel_coordinates_draw_every_completed_trial(single: TuneResult) -> None:
    explorer = StudyExplorer(single)
    explorer.panel.value = "parallel coordinates"
    ax = axes(explorer)
    (lines,) = ax.collections
    assert len(lines.get_segments()) == int((single.trials["state"] == "COMPLETE").sum())
    labels = {t.get_text().strip() for t in ax.texts}
    assert {"hybrid_dynamic", "heft", "earliest_finish_time"} <= labels  # the categories' codes, labelled
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "Balanced"


def test_a_chosen_trial_runs_again_with_its_trace(pareto: TuneResult) -> None:
    explorer = StudyExplorer(pareto)
    numbers = [n for _, n in explorer.trial.options]
    assert numbers[:len(pareto.best)] == sorted(b.number for b in pareto.best)  # the best first
    other = numbers[-1]
    explorer.trial.value = other
    explorer.rerun.click()
    assert explorer.status.value.startswith(f"trial {other} re-run in")
    head = explorer.run_output.children[0].value
    trial = pareto.study.trials[other]
    # One replication on the first tuning seed: the re-run measures what the trial did.
    assert f"seed {pareto.setup.seeds[0]}" in head
    assert f"{trial.values[0]:.4g}" in head and f"{trial.values[1]:.4g}" in head
    assert "wfsim-trace-explorer" in explorer.run_output.children[1]._dom_classes  # its trace, explorable


def test_a_study_directory_opens_and_without_its_file_refuses_to_rerun(pareto: TuneResult) -> None:
    assert pareto.out is not None
    explorer = StudyExplorer(pareto.out)
    assert explorer.result.setup is None  # the study was given as a mapping: no file to find again
    assert explorer.names == ["latency.p95", "cost"]  # as the study recorded them
    assert explorer.trial.options == StudyExplorer(pareto).trial.options
    explorer.rerun.click()
    assert "TuneError" in explorer.status.value and "study file" in explorer.status.value
    assert explorer.run_output.children == ()


def test_a_plain_optuna_study_is_shown_and_refuses_to_rerun() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    plain = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    plain.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2 + (t.suggest_categorical("k", ["a", "b"]) == "b"),
                   n_trials=12)
    explorer = StudyExplorer(plain)
    assert explorer.names == ["value"] and len(explorer.trial.options) == 12
    explorer.rerun.click()
    assert "TuneError" in explorer.status.value and "study file" in explorer.status.value
    explorer.panel.value = "importances"
    labels = [t.get_text() for t in axes(explorer).get_yticklabels()]
    assert labels == list(figures.importances(plain, ["value"], "value").index)  # the most important on top


def test_an_optuna_study_with_its_setup_is_the_tune_result(single: TuneResult) -> None:
    assert single.setup is not None
    explorer = StudyExplorer(single.study, single.setup)
    assert explorer.names == ["Balanced"] and explorer.result.best == single.best
    assert explorer.trial.options == StudyExplorer(single).trial.options
    assert explorer.canvas.image.value == StudyExplorer(single).canvas.image.value
