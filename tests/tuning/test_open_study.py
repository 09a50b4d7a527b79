"""A saved study directory opens again as a TuneResult, without running anything, and
its trials can be re-run with their full trace while the study file is known."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.scenarios import flat_metrics
from wfsim.tuning import TuneError, TuneResult, open_study, tune

EXPERIMENT = str(Path(__file__).resolve().parents[2] / "experiments" / "compare-placement.yaml")
STUDY = {"experiment": EXPERIMENT, "set": ["duration=10"], "seed": 7, "n_trials": 3, "replications": 1,
         "held_out": 1, "objective": "Latency",
         "space": {"placement": {"strategy": ["heft", "earliest_finish_time"]}}}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TuneResult]:
    directory = tmp_path_factory.mktemp("study")
    file = directory / "study.yaml"
    file.write_text(yaml.safe_dump(STUDY))
    return file, tune(file, directory / "out")


def test_open_study_gives_what_the_study_wrote(saved: tuple[Path, TuneResult]) -> None:
    _, result = saved
    opened = open_study(result.out)
    assert opened.setup is not None and opened.setup.fingerprint() == result.setup.fingerprint()
    pd.testing.assert_frame_equal(opened.trials.drop(columns="seconds"), result.trials.drop(columns="seconds"))
    assert opened.best == result.best and opened.held_out == result.held_out
    assert opened.summary() == result.summary()


def test_a_trial_is_re_run_with_its_configuration_and_full_trace(saved: tuple[Path, TuneResult]) -> None:
    _, result = saved
    opened = open_study(result.out)
    last = opened.trials.iloc[-1]
    run = opened.rerun_trial(int(last["number"]))
    assert run.trace is not None and len(run.trace.task_events) > 0
    assert opened.setup is not None
    (objective,) = opened.setup.objectives
    # One replication on the first tuning seed: the trial's value is this run's.
    assert objective.value(flat_metrics(run.metrics)) == pytest.approx(last["Latency"])
    with pytest.raises(KeyError, match="no trial 99"):
        opened.rerun_trial(99)


def test_without_its_study_file_a_study_is_shown_but_not_re_run(saved: tuple[Path, TuneResult],
                                                                tmp_path: Path) -> None:
    file, result = saved
    moved = tmp_path / "moved.yaml"
    file.rename(moved)
    try:
        opened = open_study(result.out)
        assert opened.setup is None and len(opened.trials) == len(result.trials) and opened.best == result.best
        with pytest.raises(TuneError, match="study file was not found"):
            opened.rerun_best()
        again = open_study(result.out, study=moved)
        assert again.setup is not None
        other = tmp_path / "other.yaml"
        other.write_text(yaml.safe_dump({**STUDY, "seed": 8}))
        with pytest.raises(ConfigError, match="describes another study"):
            open_study(result.out, study=other)
    finally:
        moved.rename(file)


def test_what_is_not_a_study_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a wfsim study directory"):
        open_study(tmp_path)
