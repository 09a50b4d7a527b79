"""Studies on PostgreSQL (``--storage postgresql://…``): two worker processes share a
study, start exactly ``n_trials`` between them, and a killed study resumes.

Needs a server: CI starts a throwaway one (``.ci/run``); locally,
``eval "$(bash .ci/postgres.sh start)"`` does the same and exports
``WFSIM_TEST_POSTGRES``; ``bash .ci/postgres.sh stop`` removes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from wfsim.tuning import tune

URL = os.environ.get("WFSIM_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(not URL, reason="no PostgreSQL server: set WFSIM_TEST_POSTGRES "
                                "(eval \"$(bash .ci/postgres.sh start)\" starts one)")

REPO = Path(__file__).resolve().parents[2]


def study_file(directory: Path, **fields: object) -> Path:
    data = {"experiment": str(REPO / "experiments" / "compare-placement.yaml"), "set": ["duration=15"],
            "name": f"pg-{uuid.uuid4().hex[:12]}", "seed": 11, "replications": 2, "n_trials": 6, "pruner": "none",
            "objective": "Latency",
            "space": {"placement": {"strategy": ["hybrid_dynamic", "heft"],
                                    "params": {"latency_weight": {"low": 0.0, "high": 1.0}}}}, **fields}
    path = directory / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def load(path: Path) -> optuna.Study:
    from wfsim.tuning.storage import open_storage

    return optuna.load_study(study_name=yaml.safe_load(path.read_text())["name"], storage=open_storage(URL, None))


def test_two_workers_on_postgresql_reach_exactly_n_trials(tmp_path: Path) -> None:
    path = study_file(tmp_path, n_trials=7)
    result = tune(path, tmp_path / "out", workers=2, storage=URL)
    trials = load(path).trials
    assert len(trials) == 7 and all(t.state == TrialState.COMPLETE for t in trials)
    assert {t.user_attrs["worker"]["index"] for t in trials} == {0, 1}
    assert len(load(path).user_attrs["session.0"]["sampler_seeds"]) == 2
    assert not (tmp_path / "out" / "study.journal").exists() and result.best


def test_a_killed_study_on_postgresql_resumes(tmp_path: Path) -> None:
    path = study_file(tmp_path, n_trials=4, replications=3)
    command = [sys.executable, "-m", "wfsim.cli", "tune", str(path), "--out", str(tmp_path / "out"),
               "--storage", str(URL), "--workers", "2", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    killed = None
    try:
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                running = [t for t in load(path).trials if t.state == TrialState.RUNNING and "r0" in t.user_attrs]
            except KeyError:  # the study is not created yet
                running = []
            if running:
                os.killpg(process.pid, signal.SIGKILL)   # the command and its workers, mid-trial
                killed = running[0].number
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert killed is not None, "no trial was seen running"
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    trials = load(path).trials
    assert trials[killed].state == TrialState.FAIL
    assert [t.params for t in trials if t.user_attrs.get("retry_of") == killed] == [trials[killed].params]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4
    assert not [t for t in trials if t.state == TrialState.RUNNING]
