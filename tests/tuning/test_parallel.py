"""Studies shared by worker processes through the journal file, and resumed after a
``wfsim tune`` was killed in the middle of a trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from wfsim.tuning import tune

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = str(REPO / "experiments" / "compare-placement.yaml")


def study_file(directory: Path, **fields: Any) -> Path:
    data = {"experiment": EXPERIMENT, "set": ["duration=15"], "seed": 7, "n_trials": 6, "replications": 2,
            "name": "parallel", "objective": "Latency",
            "space": {"placement": {"strategy": ["hybrid_dynamic", "heft"],
                                    "params": {"latency_weight": {"low": 0.0, "high": 1.0}}}}, **fields}
    path = directory / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def load(out: Path, name: str = "parallel") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(out / "study.journal"))))


def test_two_workers_share_a_journal_and_reach_exactly_n_trials(tmp_path: Path) -> None:
    result = tune(study_file(tmp_path, n_trials=7), tmp_path / "out", workers=2)
    study = load(tmp_path / "out")
    assert len(study.trials) == 7 and all(t.state.is_finished() for t in study.trials)
    assert {t.user_attrs["worker"]["index"] for t in study.trials if "worker" in t.user_attrs} == {0, 1}
    session = study.user_attrs["session.0"]
    assert session["workers"] == 2 and len(set(session["sampler_seeds"])) == 2
    assert len(result.trials) == 7
    assert {"trials.csv", "best.json", "best-run", "study.json", "study.journal"} <= {
        p.name for p in (tmp_path / "out").iterdir()}
    # Run again: nothing left to do, the results are written again.
    again = tune(study_file(tmp_path, n_trials=7), tmp_path / "out")
    assert len(load(tmp_path / "out").trials) == 7 and again.best[0].number == result.best[0].number


def test_a_killed_study_resumes_when_the_command_is_rerun(tmp_path: Path) -> None:
    path = study_file(tmp_path, n_trials=5, replications=3, pruner="none")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "wfsim.cli", "tune", str(path), "--out", str(out), "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        killed = _kill_mid_trial(process, out)
    finally:
        process.kill()
        process.wait()
    interrupted = load(out).trials[killed]
    assert interrupted.state == TrialState.RUNNING       # as the killed process left it

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    trials = load(out).trials
    assert trials[killed].state == TrialState.FAIL
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == killed]
    assert retry.params == interrupted.params and retry.state == TrialState.COMPLETE
    counted = [t for t in trials if t.state != TrialState.FAIL]
    assert len(counted) == 5 and all(t.state == TrialState.COMPLETE for t in counted)
    assert "session.1" in load(out).user_attrs
    csv = (out / "trials.csv").read_text()
    assert "interrupted (retried)" in csv


def _kill_mid_trial(process: subprocess.Popen, out: Path) -> int:
    """SIGKILL ``process`` once a trial after the first has run a replication but not
    finished; the trial's number."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        if (out / "study.journal").exists():
            try:
                trials = load(out).trials
            except (KeyError, ValueError):  # not created yet, or a line being written
                trials = []
            running = [t for t in trials if t.state == TrialState.RUNNING and "r0" in t.user_attrs and t.number >= 1]
            if running:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return running[0].number
        time.sleep(0.05)
    pytest.fail("no trial was seen running")
