"""The ``wfsim`` command line: run / validate / info, ``--seed`` and ``--set``,
determinism and atomic replacement of run directories.

The bad-input paths of configs live in ``tests/experiments/test_cli_user_errors.py``.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim.cli import main
from wfsim.trace import rundir
from wfsim.trace.trace import TABLES, Trace

from cli_support import assert_user_error, cli, tree
from sim_support import assert_same_metrics

REPO = Path(__file__).resolve().parents[1]

#: A tiny experiment: 3 devices, 1 edge, 1 regional, 1 cloud; two-task chains,
#: Poisson 0.5/s per device for 10 s (~15 workflows, well under a second to run).
BASE: dict[str, Any] = {
    "name": "tiny",
    "seed": 7,
    "duration": 10,
    "network": "fast",
    "placement": "earliest_finish_time",
    "topology": {"hierarchical": {"devices": 3, "edge": 1, "regional": 1}},
    "workloads": [
        {
            "name": "w",
            "workflow": {"generator": "chain", "length": 2, "work": 1e9, "data_bytes": 2e6},
            "arrivals": {"process": "poisson", "rate": 0.5},
        }
    ],
}
N_DEVICES = 3


def config(**top: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(top)
    return data


def write_config(directory: Path, data: dict[str, Any] | None = None, name: str = "exp.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data if data is not None else config(), sort_keys=False))
    return path






def parquet_hashes(run_dir: Path) -> dict[str, str]:
    return {k: v for k, v in tree(run_dir).items() if k.startswith("trace/") and k.endswith(".parquet")}




@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One quiet run of the base config, shared by the read-only tests."""
    directory = tmp_path_factory.mktemp("saved")
    cfg = write_config(directory)
    assert main(["run", str(cfg), "--out", str(directory / "run"), "-q"]) == 0
    return directory / "run"


# --- happy path --------------------------------------------------------------------
def test_run_writes_manifest_metrics_and_parquet_trace_only(saved_run: Path) -> None:
    top = sorted(p.name for p in saved_run.iterdir())
    assert top == ["manifest.json", "metrics.json", "trace"]
    assert (saved_run / "trace").is_dir()
    expected = sorted([f"{t}.parquet" for t in TABLES] + ["schema.json"])
    assert sorted(p.name for p in (saved_run / "trace").iterdir()) == expected
    # nothing left next to the run (staging / retired directories are hidden siblings)
    assert sorted(p.name for p in saved_run.parent.iterdir()) == ["exp.yaml", "run"]


def test_manifest_records_config_seed_versions_and_git_revision(saved_run: Path) -> None:
    manifest = json.loads((saved_run / "manifest.json").read_text())
    assert manifest["seed"] == 7
    cfg = manifest["config"]
    assert cfg["name"] == "tiny"
    assert cfg["seed"] == 7
    assert cfg["duration"] == 10.0
    assert cfg["placement"] == {"strategy": "earliest_finish_time", "params": {}}
    assert cfg["topology"]["hierarchical"]["devices"] == N_DEVICES
    assert cfg["workloads"][0]["arrivals"] == {"process": "poisson", "rate": 0.5}
    assert cfg["workloads"][0]["workflow"]["work"] == 1e9
    assert {"python", "wfsim", "simpy", "numpy", "pandas", "pyarrow"} <= set(manifest["versions"])
    assert "git_revision" in manifest
    assert manifest["git_revision"] is None or isinstance(manifest["git_revision"], str)
    assert manifest["trace"] == "full"


def test_metrics_json_is_valid_and_consistent_with_trace(saved_run: Path) -> None:
    metrics = json.loads((saved_run / "metrics.json").read_text())
    trace = Trace.load(saved_run)
    assert metrics["workflows"]["submitted"] == len(trace.workflows) > 0
    assert metrics["horizon"] == pytest.approx(trace.horizon)


def test_trace_load_round_trips(saved_run: Path, tmp_path: Path) -> None:
    trace = Trace.load(saved_run)
    stored = json.loads((saved_run / "manifest.json").read_text())
    assert stored.pop("format") == rundir.RUN_FORMAT and set(stored.pop("files")) == set(
        ["metrics.json", "trace/schema.json"] + [f"trace/{t}.parquet" for t in TABLES])
    assert trace.manifest == stored
    assert len(trace.workflows) > 0 and len(trace.task_events) > 0
    assert set(trace.nodes["id"].astype(str)) >= {"cloud", "regional-0", "edge-0", "device-0"}
    trace.save(tmp_path / "again")
    again = Trace.load(tmp_path / "again")
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(trace, name), obj=name)
    assert again.manifest == trace.manifest
    # the derived views work on a loaded trace
    summary = trace.workflow_summary()
    assert len(summary) == len(trace.workflows)


def test_info_prints_summary(saved_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = json.loads((saved_run / "metrics.json").read_text())
    rc, out, err = cli(capsys, "info", saved_run)
    assert rc == 0, err
    assert "tiny" in out
    assert "seed      7" in out
    assert f"workflows {metrics['workflows']['submitted']} submitted" in out
    assert "latency" in out and "versions" in out


def test_info_json_is_valid_json(saved_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "info", saved_run, "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["manifest"] == json.loads((saved_run / "manifest.json").read_text())
    assert data["metrics"] == json.loads((saved_run / "metrics.json").read_text())


# --- --trace metrics ---------------------------------------------------------------
def test_run_trace_metrics_writes_manifest_and_metrics_only(saved_run: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lean"
    rc, _, err = cli(capsys, "run", write_config(tmp_path), "--out", out, "-q", "--trace", "metrics")
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "metrics.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["trace"] == "metrics" and list(manifest["files"]) == ["metrics.json"]
    # The same config and seed as saved_run: the same metrics as its full run.
    assert_same_metrics(json.loads((saved_run / "metrics.json").read_text()),
                        json.loads((out / "metrics.json").read_text()))
    rc, text, err = cli(capsys, "info", out)
    assert rc == 0, err
    _, full_text, _ = cli(capsys, "info", saved_run)
    assert text.splitlines()[1:] == full_text.splitlines()[1:]  # all but the line naming the directory
    rc, text, err = cli(capsys, "info", out, "--json")
    assert rc == 0 and json.loads(text)["manifest"]["trace"] == "metrics", err


def test_verify_of_a_metrics_run_says_what_it_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lean"
    assert cli(capsys, "run", write_config(tmp_path), "--out", out, "-q", "--trace", "metrics")[0] == 0
    rc, text, err = cli(capsys, "verify", out)
    assert_user_error(rc, err, f"{out}: kept only metrics (trace: metrics); re-run with --trace full")
    assert text == ""


@pytest.mark.parametrize("bad", ["events", "", "full,metrics"])
def test_an_unknown_trace_level_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 bad: str) -> None:
    rc, _, err = cli(capsys, "run", write_config(tmp_path), "--out", tmp_path / "r", "--trace", bad)
    assert_user_error(rc, err, "--trace", "allowed: full, metrics")
    assert not (tmp_path / "r").exists()


def test_failures_of_a_metrics_run_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(**FAILING))
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "--trace", "metrics")
    assert rc == 0 and "computing metrics" in err
    assert "workflows failed; the first: not recorded at --trace metrics" in err
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "-q", "--trace", "metrics", "--strict")
    assert rc == 1


def test_validate_prints_ok_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    before = tree(tmp_path)
    rc, out, err = cli(capsys, "validate", cfg)
    assert rc == 0, err
    assert out.startswith(f"{cfg}: ok")
    assert "6 nodes" in out and "placement earliest_finish_time" in out
    assert tree(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["exp.yaml"]


def test_run_prints_summary_unless_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(duration=2))
    rc, out, err = cli(capsys, "run", cfg, "--out", tmp_path / "loud")
    assert rc == 0, err
    assert "workflows" in out and "submitted" in out
    rc, out, err = cli(capsys, "run", cfg, "--out", tmp_path / "quiet", "-q")
    assert rc == 0, err
    assert out == ""


def test_quickstart_config_validates(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "validate", REPO / "experiments" / "quickstart.yaml")
    assert rc == 0, err
    assert "ok" in out and "quickstart" in out


# --- --seed and --set ----------------------------------------------------------------
def test_seed_override_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(duration=3))
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "--seed", "11", "-q")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["seed"] == 11
    assert manifest["config"]["seed"] == 11
    rc, out, _ = cli(capsys, "info", tmp_path / "r")
    assert "seed      11" in out


def test_set_overrides_take_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "-q",
                     "--set", "workloads.0.arrivals.rate=2", "--set", "duration=5")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["config"]["workloads"][0]["arrivals"]["rate"] == 2.0
    assert manifest["config"]["duration"] == 5.0
    assert manifest["duration"] == 5.0
    workflows = Trace.load(tmp_path / "r").workflows
    assert (workflows["arrival"] < 5.0).all()
    # expected 2/s x 5 s x 3 devices = 30 (vs 15 for the file's own 0.5/s x 10 s)
    assert 18 <= len(workflows) <= 45
    # the config file itself is untouched
    assert yaml.safe_load(cfg.read_text()) == config()


def test_set_structured_value_gives_exact_workflow_count(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "-q",
                     "--set", "workloads.0.arrivals={process: periodic, period: 0.5}",
                     "--set", "duration=5")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["config"]["workloads"][0]["arrivals"]["process"] == "periodic"
    workflows = Trace.load(tmp_path / "r").workflows
    assert len(workflows) == N_DEVICES * 10  # arrivals at 0, 0.5, ..., 4.5 on each device


def test_set_works_with_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, out, err = cli(capsys, "validate", cfg, "--set", "placement=cloud_only", "--set", "network=shared")
    assert rc == 0, err
    assert "placement cloud_only" in out and "network shared" in out


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        pytest.param("duration", ["--set duration:", "key.path=value"], id="no-equals"),
        pytest.param("=3", ["key.path=value"], id="empty-key"),
        pytest.param("workloads.5.arrivals.rate=2", ["workloads.5", "no list item '5'", "have 1"],
                     id="index-out-of-range"),
        pytest.param("workloads.1=2", ["workloads.1", "no list item '1'"], id="last-index-out-of-range"),
        pytest.param("workloads.x.rate=2", ["workloads.x", "no list item 'x'"], id="non-numeric-index"),
        pytest.param("duration.x=2", ["duration", "is not a mapping or list"], id="through-scalar"),
        pytest.param("name.x.y=2", ["name", "is not a mapping or list"], id="deep-through-scalar"),
        pytest.param("duration=abc", ["duration", "valid number", "'abc'"], id="wrong-type"),
        pytest.param("bogus=1", ["bogus", "unknown field"], id="unknown-field"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_set_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                                 override: str, needles: list[str]) -> None:
    cfg = write_config(tmp_path)
    out_dir = tmp_path / "out"
    extra = ["--out", out_dir] if command == "run" else []
    rc, _, err = cli(capsys, command, cfg, *extra, "--set", override)
    assert_user_error(rc, err, f"--set {override}", *needles)
    assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(duration=st.one_of(st.integers(1, 3), st.floats(0.0, 3.0, exclude_min=True, allow_subnormal=False)))
def test_set_duration_round_trips_into_manifest(duration: float, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        cfg = write_config(directory, config(duration=1))
        rc, _, err = cli(capsys, "run", cfg, "--out", directory / "r", "-q", "--set", f"duration={duration!r}")
        assert rc == 0, err
        manifest = json.loads((directory / "r" / "manifest.json").read_text())
        assert manifest["config"]["duration"] == float(duration)
        assert manifest["duration"] == float(duration)
        arrivals = Trace.load(directory / "r").workflows["arrival"]
        assert (arrivals < float(duration)).all() or len(arrivals) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(duration=st.one_of(st.integers(max_value=-1), st.floats(max_value=-1e-9, allow_infinity=False)))
def test_set_negative_duration_is_rejected(duration: float, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp))
        rc, _, err = cli(capsys, "validate", cfg, "--set", f"duration={duration!r}")
        assert_user_error(rc, err, f"--set duration={duration!r}: duration:", "greater than or equal to 0")


def test_negative_seed_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "--seed", "-1")
    assert rc == 2
    assert "Traceback" not in err
    assert "wfsim: error: argument --seed: must be >= 0" in err
    assert not (tmp_path / "r").exists()


def test_negative_seed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "--seed", "-1")
    assert_user_error(rc, err, "--seed", ">= 0")


# --- determinism and atomic replacement -----------------------------------------------
def test_same_seed_gives_byte_identical_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    for name in ("a", "b"):
        rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / name, "-q")
        assert rc == 0, err
    a, b = parquet_hashes(tmp_path / "a"), parquet_hashes(tmp_path / "b")
    assert len(a) == len(TABLES)
    assert a == b
    assert json.loads((tmp_path / "a" / "metrics.json").read_text()) == \
        json.loads((tmp_path / "b" / "metrics.json").read_text())


def test_progress_bar_does_not_change_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert cli(capsys, "run", cfg, "--out", tmp_path / "quiet", "-q")[0] == 0
    assert cli(capsys, "run", cfg, "--out", tmp_path / "progress")[0] == 0
    assert parquet_hashes(tmp_path / "quiet") == parquet_hashes(tmp_path / "progress")


def test_different_seed_gives_different_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert cli(capsys, "run", cfg, "--out", tmp_path / "a", "-q")[0] == 0
    assert cli(capsys, "run", cfg, "--out", tmp_path / "b", "-q", "--seed", "8")[0] == 0
    a, b = parquet_hashes(tmp_path / "a"), parquet_hashes(tmp_path / "b")
    assert a != b
    assert not Trace.load(tmp_path / "a").workflows.equals(Trace.load(tmp_path / "b").workflows)


def test_rerun_replaces_existing_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "r"
    assert cli(capsys, "run", cfg, "--out", out, "-q", "--seed", "1")[0] == 0
    assert cli(capsys, "run", cfg, "--out", out, "-q", "--seed", "2")[0] == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    expected = sorted([f"{t}.parquet" for t in TABLES] + ["schema.json"])
    assert sorted(p.name for p in (out / "trace").iterdir()) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml", "r"]  # no staging leftovers
    # a fresh run of seed 2 gives the same trace
    assert cli(capsys, "run", cfg, "--out", tmp_path / "fresh", "-q", "--seed", "2")[0] == 0
    assert parquet_hashes(out) == parquet_hashes(tmp_path / "fresh")


def test_run_into_existing_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(duration=2))
    (tmp_path / "empty").mkdir()
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "empty", "-q")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["manifest.json", "metrics.json", "trace"]


def test_failed_write_leaves_previous_run_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_config(tmp_path, config(duration=3))
    out = tmp_path / "r"
    assert cli(capsys, "run", cfg, "--out", out, "-q")[0] == 0
    before = tree(out)
    def full_disk(staging: Path, out: Path) -> None:  # everything staged, then the rename fails
        raise OSError("disk full")

    monkeypatch.setattr(rundir, "_replace", full_disk)
    rc, _, err = cli(capsys, "run", cfg, "--out", out, "-q", "--seed", "99")
    assert_user_error(rc, err, str(out), "disk full")
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml", "r"]  # staging removed


# --- a real process ---------------------------------------------------------------------
def test_subprocess_user_error_exits_2_without_traceback(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, config(placement="teleport"))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "wfsim.cli", "run", str(cfg), "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wfsim: error: "), proc.stderr
    assert str(cfg) in lines[0] and "placement.strategy" in lines[0] and "nearest_edge" in lines[0]
    assert proc.stdout == ""
    assert not out.exists()


# --- command-line rough edges ----------------------------------------------------------
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    rc, out, _ = cli(capsys, "--version")
    assert rc == 0 and out.strip() == f"wfsim {metadata.version('wfsim')}"


def test_set_error_in_a_built_field_names_the_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "validate", cfg, "--set", "workloads.0.origins=[nowhere]")
    assert_user_error(rc, err, "--set workloads.0.origins=[nowhere]: workloads[0].origins", "nowhere")


def test_error_in_the_file_still_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(duration=-1))
    rc, _, err = cli(capsys, "validate", cfg, "--set", "seed=3")
    assert_user_error(rc, err, f"{cfg}: duration:")


def test_set_scheduling_params_like_placement_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(scheduling="hybrid"))
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "-q", "--set", "scheduling.params.w_fit=0.9")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["config"]["scheduling"] == {"strategy": "hybrid", "params": {"w_fit": 0.9}}
    # The short form can be switched and given parameters in one command line.
    cfg = write_config(tmp_path, config())
    rc, _, err = cli(capsys, "validate", cfg, "--set", "scheduling=hybrid", "--set", "scheduling.params.w_wait=2")
    assert_user_error(rc, err, "--set scheduling.params.w_wait=2: scheduling.params", "w_wait")


def test_compare_defaults_to_the_config_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)  # seed 7
    args = ("compare", cfg, "--vary", "placement=heft,random", "-q")
    default = cli(capsys, *args)
    assert default[0] == 0, default[2]
    assert default[1] == cli(capsys, *args, "--seeds", "7")[1]
    assert default[1] != cli(capsys, *args, "--seeds", "0")[1]


def test_progress_covers_drain_build_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r")
    assert rc == 0, err
    for phase in ("simulating", "draining", "building trace", "writing results"):
        assert phase in err


#: Every workflow needs the cloud, which is in maintenance from the start: all fail at run time.
FAILING = {"health": [{"time": 0.0, "node": "cloud", "status": "Maintenance"}],
           "placement": "cloud_only"}


def test_failed_workflows_are_reported_and_strict_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, config(**FAILING))
    rc, _out, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "-q")
    assert rc == 0
    line = [x for x in err.splitlines() if x.startswith("wfsim: ")]
    assert len(line) == 1 and "workflows failed; the first: workflow" in line[0], err
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "r", "-q", "--strict")
    assert rc == 1 and "workflows failed" in err
    rc, _, err = cli(capsys, "run", write_config(tmp_path, config()), "--out", tmp_path / "ok", "-q", "--strict")
    assert rc == 0 and "failed" not in err


def test_errors_are_blamed_on_what_caused_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The file's own error, with an unrelated override of a field inside the failing one.
    big = write_config(tmp_path, config(workloads=[{**BASE["workloads"][0], "arrivals": {"process": "poisson",
                                                                                        "rate": 1e6}}]))
    rc, _, err = cli(capsys, "validate", big, "--set", "workloads.0.name=renamed")
    assert_user_error(rc, err, f"{big}: workloads[0]:", "limits.max_events")
    # An override that breaks another field is named though the fields differ.
    cfg = write_config(tmp_path, config(workloads=[{**BASE["workloads"][0], "origins": ["device-2"]}]))
    rc, _, err = cli(capsys, "validate", cfg, "--set", "topology.hierarchical.devices=2", "--set", "seed=1")
    assert_user_error(rc, err, "--set topology.hierarchical.devices=2 --set seed=1: workloads[0].origins",
                      "device-2")


# --- wfsim params ---------------------------------------------------------------------
def test_params_lists_every_registered_strategy_and_settings_group(capsys) -> None:
    from wfsim.experiments.tunables import tunables

    assert main(["params", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["axis"], e["name"]) for e in listed] == [(t.axis, t.name) for t in tunables()]
    by_name = {e["name"]: e for e in listed}
    assert by_name["rebalance"]["key"] == "rebalance"
    assert {p["name"] for p in by_name["migration"]["parameters"]} == {"max_concurrent", "overhead", "benefit_weight"}
    assert all(p["doc"] for e in listed for p in e["parameters"])


def test_params_of_one_strategy_in_text(capsys) -> None:
    assert main(["params", "heft"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("placement heft (HEFT; under placement.params):")
    assert "insertion" in out and "true or false" in out


def test_params_refuses_an_unknown_name(capsys) -> None:
    assert main(["params", "heft", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wfsim: error: unknown strategy or settings group 'nope'; allowed:") and "heft" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_unwritable_output_is_one_user_error() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "wfsim.cli", "params"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "wfsim: error: cannot write the output (No space left on device)\n"


# --- tune ---------------------------------------------------------------------------
def write_study(directory: Path, **fields: Any) -> Path:
    """A study of the tiny config: its placement among two strategies, one replication."""
    write_config(directory)
    data = {"experiment": "exp.yaml", "seed": 3, "n_trials": 2, "replications": 1,
            "space": {"placement": {"strategy": ["heft", "earliest_finish_time"]}}, **fields}
    path = directory / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_tune_prints_the_best_trial_and_writes_its_results(tmp_path: Path, capsys) -> None:
    study = write_study(tmp_path, held_out=1)
    rc, out, err = cli(capsys, "tune", study, "--out", tmp_path / "out", "-q")
    assert rc == 0 and out == "" and "Traceback" not in err
    rc, out, err = cli(capsys, "tune", study, "--out", tmp_path / "out")  # resumed: nothing left to run
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"study study: 2 trials (2 complete) → {tmp_path / 'out'}"
    assert lines[1].startswith("best trial ") and "Balanced" in lines[1] and "placement.strategy=" in lines[1]
    assert lines[2].startswith("held-out (1 seed): default Balanced 1")
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert best["format"] == "wfsim-tune/1" and best["best"][0]["overrides"]
    assert pd.read_csv(tmp_path / "out" / "trials.csv")["state"].tolist() == ["COMPLETE", "COMPLETE"]
    assert rundir.check_run(tmp_path / "out" / "best-run").seed == best["study"]["seeds"][0]


@pytest.mark.parametrize(("fields", "args", "needles"), [
    ({"space": {"placement": {"strategy": ["heft", "nearest"]}}}, [],
     ["study.yaml: space.placement.strategy: unknown strategy 'nearest'; allowed: cloud_only"]),
    ({"space": {"placement": {"strategy": "heft", "params": {"depth": 3}}}}, [],
     ["study.yaml: space.placement.params.depth: unknown parameter of heft; allowed: insertion"]),
    ({"space": {"scheduling": {"strategy": "hybrid", "params": {"w_fit": {"low": 0.5, "high": 2.0}}}}}, [],
     ["study.yaml: space.scheduling.params.w_fit.high: 2.0 is outside the declared range: a number in [0.0, 1.0]"]),
    ({}, ["--workers", "2", "--storage", "sqlite:///x.db"],
     ["--storage sqlite:///x.db: SQLite cannot serve 2 worker processes", "database is locked"]),
    ({}, ["--storage", "redis://localhost"], ["--storage redis://localhost: unsupported storage; allowed: postgresql"]),
    ({}, ["--storage", "postgresql://nobody:secret@127.0.0.1:9/none"],
     ["--storage postgresql://nobody:***@127.0.0.1:9/none: cannot open the storage"]),
    ({}, ["--sampler", "bayes"], ["--sampler bayes: unknown sampler 'bayes'; allowed: tpe, random"]),
    ({"experiment": "gone.yaml"}, [], ["gone.yaml: cannot read file (No such file or directory)"]),
    ({"replications": 0}, [], ["study.yaml: replications: Input should be greater than or equal to 1"]),
    ({}, ["--workers", "0"], ["argument --workers: must be >= 1, got 0"]),
])
def test_tune_user_errors(tmp_path: Path, capsys, fields: dict[str, Any], args: list[str],
                          needles: list[str]) -> None:
    rc, _, err = cli(capsys, "tune", write_study(tmp_path, **fields), "--out", tmp_path / "out", *args)
    line = assert_user_error(rc, err, *needles)
    assert "secret" not in line
    assert not (tmp_path / "out").exists()


def test_tune_refuses_a_missing_or_damaged_study_file(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "tune", tmp_path / "none.yaml", "--out", tmp_path / "out")
    assert_user_error(rc, err, "none.yaml: cannot read file")
    damaged = tmp_path / "damaged.yaml"
    damaged.write_text("experiment: exp.yaml\nspace: {placement: [\n")
    rc, _, err = cli(capsys, "tune", damaged, "--out", tmp_path / "out")
    assert_user_error(rc, err, "damaged.yaml: invalid YAML at line")
    assert not (tmp_path / "out").exists()


def test_tune_never_writes_into_a_directory_it_did_not_write(tmp_path: Path, capsys) -> None:
    study = write_study(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    rc, _, err = cli(capsys, "tune", study, "--out", tmp_path / "out")
    assert_user_error(rc, err, "out: exists, is not empty and is not a wfsim study directory")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]
    # Nor into another study's: its settings differ.
    assert cli(capsys, "tune", study, "--out", tmp_path / "other", "-q")[0] == 0
    other = write_study(tmp_path, seed=4)
    rc, _, err = cli(capsys, "tune", other, "--out", tmp_path / "other")
    assert_user_error(rc, err, "other: holds the study 'study' with other settings")
