"""A saved batch directory opens again as the same BatchResult, without running anything."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from wfsim.experiments.batch import BatchResult, batch, open_batch
from wfsim.experiments.errors import ConfigError
from wfsim.trace.trace import Trace

from batch_support import batch_file, comparable


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    directory = tmp_path_factory.mktemp("saved")
    return batch(batch_file(directory, replications=2, trace="full"), directory / "out", workers=1)


def test_open_batch_gives_the_runs_and_summaries_that_were_written(saved: BatchResult) -> None:
    assert saved.out is not None
    opened = open_batch(saved.out)
    pd.testing.assert_frame_equal(comparable(opened.runs), comparable(saved.runs))
    pd.testing.assert_frame_equal(opened.summary(), saved.summary())
    pd.testing.assert_frame_equal(opened.paired(), saved.paired())
    assert opened.plan.names == saved.plan.names and opened.plan.seeds == saved.plan.seeds
    assert opened.report() == saved.report()


def test_a_full_trace_run_is_found_by_scenario_and_replication(saved: BatchResult) -> None:
    opened = open_batch(saved.out)
    path = opened.run_directory("placement=heft", 1)
    assert path is not None
    trace = Trace.load(path)
    assert trace.manifest["seed"] == opened.plan.seeds[1]
    assert opened.run_directory(0, 0) == saved.out / "traces" / "0-r0"
    assert BatchResult(opened.plan, opened.runs).run_directory(0, 0) is None  # in memory only


def test_an_interrupted_batch_opens_with_the_runs_it_recorded(saved: BatchResult, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "batch.json").write_bytes((saved.out / "batch.json").read_bytes())
    (copy / "runs").mkdir()
    (copy / "runs" / "1-r0.json").write_bytes((saved.out / "runs" / "1-r0.json").read_bytes())
    opened = open_batch(copy)
    assert list(opened.runs["scenario"]) == ["placement=heft"] and list(opened.runs["replication"]) == [0]


def test_what_is_not_a_batch_directory_is_named(tmp_path: Path, saved: BatchResult) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        open_batch(tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"not a wfsim batch directory \(no batch.json\)"):
        open_batch(tmp_path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    manifest = json.loads((saved.out / "batch.json").read_text())
    del manifest["seeds"]
    (damaged / "batch.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="not a complete batch manifest"):
        open_batch(damaged)
