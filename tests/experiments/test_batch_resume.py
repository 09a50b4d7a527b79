"""Interrupted batches lose nothing: a killed batch resumes with only the missing runs,
and a killed worker process costs only the run it held."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import wfsim.experiments.workers as workers_module
from wfsim.experiments.batch import BatchResult, batch

from batch_support import REPO, batch_file, comparable
from cli_support import cli


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    """The small batch, uninterrupted, in memory."""
    return batch(batch_file(tmp_path_factory.mktemp("reference")), workers=1)


def records(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}


def test_a_killed_batch_resumes_with_only_the_missing_runs(reference: BatchResult, tmp_path: Path, capsys) -> None:
    path, out = batch_file(tmp_path), tmp_path / "out"
    command = [sys.executable, "-m", "wfsim.cli", "batch", str(path), "--out", str(out), "--workers", "2", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Its own session: the kill takes the batch, its worker server and its workers at once.
    batch_process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "runs").is_dir() or not records(out):
        assert batch_process.poll() is None, batch_process.stderr.read() if batch_process.stderr else ""
        assert time.monotonic() < deadline, "no run finished in time"
        time.sleep(0.01)
    os.killpg(batch_process.pid, signal.SIGKILL)
    batch_process.wait()
    before = records(out)
    assert 0 < len(before) < 6, "the kill came too late to interrupt anything"
    assert not (out / "results.csv").exists()

    rc, _, err = cli(capsys, "batch", path, "--out", out, "--workers", "1", "-q")
    assert rc == 0, err
    manifest = json.loads((out / "batch.json").read_text())
    assert [s["to_run"] for s in manifest["sessions"]] == [6, 6 - len(before)]
    after = records(out)
    assert {name: after[name] for name in before} == before  # nothing finished was run again
    assert len(after) == 6 and not [p for p in out.rglob("*") if p.name.endswith(".wfsim-tmp")]
    resumed = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(comparable(resumed), comparable(reference.runs))


class Killer:
    """Kills the worker process that runs ``key``, up to ``times`` times."""

    def __init__(self, key: str, times: int) -> None:
        self.key, self.times, self.kills = key, times, 0
        self.pools: list[workers_module.WorkerPool] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        killed: set[int] = set()
        while not self._stop.is_set() and self.kills < self.times:
            for pool in self.pools:
                for pid, key in list(pool.running.items()):
                    if key == self.key and pid not in killed:
                        time.sleep(0.05)  # mid-run, not before it starts
                        os.kill(pid, signal.SIGKILL)
                        killed.add(pid)
                        self.kills += 1
            time.sleep(0.005)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def killer(monkeypatch: pytest.MonkeyPatch) -> type[Killer]:
    """Killer, seeing every WorkerPool the batch starts."""
    made: list[Killer] = []

    class Watched(workers_module.WorkerPool):
        def __init__(self, processes: int) -> None:
            super().__init__(processes)
            for k in made:
                k.pools.append(self)

    monkeypatch.setattr(workers_module, "WorkerPool", Watched)

    class Registered(Killer):
        def __init__(self, key: str, times: int) -> None:
            super().__init__(key, times)
            made.append(self)

    return Registered


def test_a_killed_worker_costs_only_its_run(reference: BatchResult, tmp_path: Path, killer: type[Killer]) -> None:
    with killer("placement=heft/r1", times=1) as k:
        result = batch(batch_file(tmp_path), tmp_path / "out", workers=2)
    assert k.kills == 1
    pd.testing.assert_frame_equal(comparable(result.runs), comparable(reference.runs))


def test_a_run_whose_worker_keeps_dying_is_recorded_failed(reference: BatchResult, tmp_path: Path,
                                                         killer: type[Killer]) -> None:
    with killer("placement=nearest_edge/r2", times=workers_module.MAX_DEATHS) as k:
        result = batch(batch_file(tmp_path), tmp_path / "out", workers=2)
    assert k.kills == workers_module.MAX_DEATHS
    failed = result.failed
    assert list(failed["scenario"]) == ["placement=nearest_edge"] and list(failed["replication"]) == [2]
    assert failed["error"].iloc[0].startswith("WorkerDied: its worker process died 2 times")
    assert "SIGKILL" in failed["error"].iloc[0]
    ok = result.runs["status"] == "ok"
    expected = comparable(reference.runs[ok.to_numpy()]).drop(columns="error")
    pd.testing.assert_frame_equal(comparable(result.runs[ok]).drop(columns="error"), expected)
