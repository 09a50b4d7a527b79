"""Batches: replication seeds and common random numbers, parallel = sequential, runs
that fail, whole traces, a Dask cluster."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wfsim.experiments.batch import BatchResult, batch, run_batch
from wfsim.experiments.batchfile import load_plan
from wfsim.experiments.scenarios import replication_seeds
from wfsim.trace.rundir import check_run
from wfsim.trace.trace import Trace

from batch_support import EXPERIMENT, batch_file, comparable
from cli_support import cli


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    """The small batch, run in this process into a batch directory."""
    directory = tmp_path_factory.mktemp("sequential")
    return batch(batch_file(directory), directory / "out", workers=1)


def test_seeds_derive_from_the_root_and_are_recorded(sequential: BatchResult) -> None:
    assert sequential.out is not None
    manifest = json.loads((sequential.out / "batch.json").read_text())
    assert manifest["format"] == "wfsim-batch/1"
    assert manifest["root_seed"] == 2026 and manifest["seeds"] == replication_seeds(2026, 3)
    assert [s["name"] for s in manifest["scenarios"]] == ["placement=nearest_edge", "placement=heft"]
    assert manifest["experiment"]["sha256"] and manifest["versions"]["wfsim"] and "git_revision" in manifest
    runs = sequential.runs
    assert (runs["status"] == "ok").all()
    by_scenario = runs.groupby("scenario", sort=False)["seed"].apply(list)
    assert by_scenario.tolist() == [replication_seeds(2026, 3)] * 2
    # Common random numbers: on one seed both placements see the same arrivals.
    submitted = runs.pivot(index="replication", columns="placement", values="workflows.submitted")
    assert (submitted["heft"] == submitted["nearest_edge"]).all() and submitted["heft"].nunique() > 1


def test_the_batch_directory_holds_every_record_and_table(sequential: BatchResult) -> None:
    out = sequential.out
    assert out is not None
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"{i}-r{k}.json" for i in (0, 1) for k in (0, 1, 2)]
    record = json.loads((out / "runs" / "1-r2.json").read_text())
    assert (record["scenario"], record["replication"], record["status"]) == ("placement=heft", 2, "ok")
    assert pd.read_parquet(out / "results.parquet").drop(columns="wall_seconds").equals(comparable(sequential.runs))
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.columns) == {"scenario", "metric", "n", "mean", "sd", "ci_low", "ci_high"}
    assert "utilisation.per_tier.Cloud" in set(summary["metric"])  # every metric, not only the printed ones
    assert (out / "summary.md").read_text().strip() == sequential.report()


def test_parallel_results_equal_sequential_ones(sequential: BatchResult, tmp_path: Path) -> None:
    parallel = batch(batch_file(tmp_path), tmp_path / "out", workers=2)
    pd.testing.assert_frame_equal(comparable(parallel.runs), comparable(sequential.runs))
    assert sequential.out is not None
    for name in ("summary.csv", "summary.md"):
        assert (tmp_path / "out" / name).read_bytes() == (sequential.out / name).read_bytes()


def test_a_run_that_raises_is_recorded_failed_and_the_others_complete(sequential: BatchResult,
                                                                      tmp_path: Path) -> None:
    plan = load_plan(batch_file(tmp_path))
    # A run whose config passed the plan's checks but fails when the worker builds it.
    specs = list(plan.specs)
    specs[4] = dataclasses.replace(specs[4], config={**specs[4].config, "duration": -1})
    result = run_batch(dataclasses.replace(plan, specs=tuple(specs)), tmp_path / "out", workers=2)
    runs = result.runs.set_index(["scenario", "replication"])
    failed = runs.loc[("placement=heft", 1)]
    assert failed["status"] == "failed" and failed["error"].startswith("wfsim.experiments.errors.ConfigError: ")
    assert "duration" in failed["error"] and pd.isna(failed["latency.mean"])
    record = json.loads((tmp_path / "out" / "runs" / "1-r1.json").read_text())
    assert record["status"] == "failed" and "Traceback" in record["error"]
    others = comparable(result.runs[result.runs["status"] == "ok"]).drop(columns="error")
    expected = comparable(sequential.runs.drop(index=4)).drop(columns="error")
    pd.testing.assert_frame_equal(others, expected)
    assert result.summary().set_index(["scenario", "metric"]).loc[("placement=heft", "latency.mean"), "n"] == 2


def test_the_cli_exits_1_when_a_run_failed_and_retries_it_when_asked(tmp_path: Path, capsys,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import wfsim.experiments.batch as batch_module

    real = batch_module.run_one

    def failing(spec, trace_dir=None):
        if spec.key == "placement=heft/r0":
            spec = dataclasses.replace(spec, config={**spec.config, "workloads": []})
        return real(spec, trace_dir)

    monkeypatch.setattr(batch_module, "run_one", failing)
    path = batch_file(tmp_path, replications=2)
    args = ("batch", path, "--out", tmp_path / "out", "--workers", "1", "-q")
    rc, out, err = cli(capsys, *args)
    assert rc == 1 and "| nearest_edge |" in out
    assert "1 of 4 runs failed; the first: placement=heft replication 0" in err and "--retry-failed" in err
    rc, _, _ = cli(capsys, *args)  # a failed run is kept as failed...
    manifest = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert rc == 1 and manifest["sessions"][-1]["to_run"] == 0
    monkeypatch.setattr(batch_module, "run_one", real)
    rc, _, err = cli(capsys, *args, "--retry-failed")  # ...until asked
    manifest = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert rc == 0, err
    assert manifest["sessions"][-1]["to_run"] == 1


def test_trace_full_keeps_each_runs_trace_with_the_same_arrivals(tmp_path: Path) -> None:
    path = batch_file(tmp_path, set=["duration=10"], replications=1, trace="full")
    result = batch(path, tmp_path / "out", workers=1)
    arrivals = []
    for i in (0, 1):
        run = tmp_path / "out" / "traces" / f"{i}-r0"
        check_run(run)
        events = Trace.load(run).workflow_events
        arrivals.append(events[events["state"].astype(str) == "Created"]["time"].tolist())
    assert arrivals[0] == arrivals[1] and len(arrivals[0]) == result.runs["workflows.submitted"].iloc[0]
    assert result.runs["seed"].nunique() == 1


def test_trace_full_needs_a_directory(tmp_path: Path) -> None:
    from wfsim.experiments.errors import ConfigError

    with pytest.raises(ConfigError, match="trace: full keeps every run's trace"):
        batch(batch_file(tmp_path, trace="full"))


def test_a_dask_cluster_gives_the_local_results(sequential: BatchResult, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) \
            as cluster:
        result = batch(batch_file(tmp_path), tmp_path / "out", dask=cluster.scheduler_address)
    pd.testing.assert_frame_equal(comparable(result.runs), comparable(sequential.runs))


def test_an_inline_experiment_resolves_its_files_beside_the_batch_file(tmp_path: Path) -> None:
    config = yaml.safe_load(EXPERIMENT.read_text())
    (tmp_path / "topologies").mkdir()
    (tmp_path / "topologies" / "t.yaml").write_text(yaml.safe_dump({"hierarchical": {"devices": 8, "edge": 2}}))
    config["topology"] = {"file": "topologies/t.yaml"}
    path = tmp_path / "inline.yaml"
    path.write_text(yaml.safe_dump({"experiment": config, "scenarios": [{"name": "only"}], "seeds": [3, 4]}))
    plan = load_plan(path)
    assert plan.experiment is None and plan.root_seed is None and plan.seeds == (3, 4)
    assert [s.base_dir for s in plan.specs] == [str(tmp_path)] * 2
    assert load_plan(path).experiment_sha256 == plan.experiment_sha256  # the content's, stable
