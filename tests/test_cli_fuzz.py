"""Property-based fuzzing of the command line: generated configs, overrides, batch
files, damaged run directories and `params` arguments, against the rules every command
keeps:

* exit 0 or 2 (1 only for ``run --strict`` with failed workflows and a batch with failed
  runs), never a traceback;
  a user error is one ``wfsim: error:`` line;
* no user file is lost;
* nothing is half-written: no staging directory is left, and an output directory is
  either untouched or a complete run that :func:`check_run` accepts;
* a damaged run is never summarised as healthy.

CI runs a few dozen examples of each; ``WFSIM_FUZZ_EXAMPLES=2000 pytest tests/test_cli_fuzz.py``
runs more by hand.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wfsim.experiments.tunables import tunables
from wfsim.trace.rundir import RunDirectoryError, check_run

from cli_support import cli, tree
from test_cli import BASE

EXAMPLES = int(os.environ.get("WFSIM_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

#: Values a field may be set to: valid ones, edge cases and nonsense.
VALUES = st.one_of(
    st.sampled_from([0, 1, 2, -1, 0.5, 1e9, 1e12, float("inf"), float("nan"), "", "x", None, True,
                     [], {}, [1], {"a": 1}, "fifo", "heft", "poisson", "Cloud", "device-0"]),
    st.integers(-3, 50), st.floats(-1.0, 20.0), st.text(max_size=4),
)

#: Valid values for some paths, so that many generated configs run as well as fail.
VALID: dict[str, list[Any]] = {
    "duration": [1, 4.5, 8], "until": [None, 3, 12], "network": ["fast", "shared"],
    "placement": ["heft", "nearest_edge", "random", "cloud_only", "round_robin", "data_aware"],
    "scheduling": ["fifo", "priority", "deadline", "hybrid", "load_aware"],
    "topology.hierarchical.devices": [1, 2, 6], "topology.hierarchical.edge": [0, 1, 2],
    "topology.hierarchical.regional": [0, 1], "workloads.0.arrivals.rate": [0.1, 1.5],
    "workloads.0.workflow.generator": ["diamond", "order_processing"], "workloads.0.workflow.length": [1, 4],
    "workloads.0.start": [0, 1], "workloads.0.end": [None, 3], "workloads.0.work.kind": ["exponential", "constant"],
    "workloads.0.origins": [["device-0"], ["device-1", "device-2"]], "seed": [0, 1, 123456789],
}

#: Paths into :data:`BASE` worth changing (and some that do not exist).
PATHS = [
    "name", "seed", "duration", "until", "network", "placement", "scheduling", "topology",
    "topology.hierarchical", "topology.hierarchical.devices", "topology.hierarchical.edge",
    "topology.hierarchical.regional", "topology.file", "workloads", "workloads.0", "workloads.0.name",
    "workloads.0.workflow", "workloads.0.workflow.generator", "workloads.0.workflow.length",
    "workloads.0.workflow.work", "workloads.0.workflow.data_bytes", "workloads.0.arrivals",
    "workloads.0.arrivals.process", "workloads.0.arrivals.rate", "workloads.0.origins",
    "workloads.0.start", "workloads.0.end", "workloads.0.work.kind", "placement.params.x",
    "scheduling.params.w_fit", "health", "rebalance", "autoscaling", "bogus", "workloads.3.name",
]


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), (dict, list)) else {}
        else:
            return
    if isinstance(node, dict):
        node[parts[-1]] = value
    elif isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
        node[int(parts[-1])] = value


def _yaml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, float) or (value == value and abs(value) != float("inf")) \
        else {float("inf"): ".inf", float("-inf"): "-.inf"}.get(value, ".nan")


def check_rules(rc: int, err: str, work: Path, user_files: dict[str, str], out: Path | None) -> None:
    assert rc in (0, 2), (rc, err)
    assert "Traceback" not in err
    if rc == 2:
        errors = [line for line in err.splitlines() if line.startswith("wfsim: error: ")]
        assert len(errors) == 1, err
    now = tree(work)
    for name, digest in user_files.items():
        assert now.get(name) == digest, f"user file {name} lost or changed"
    assert not [p for p in work.rglob("*") if ".wfsim-tmp-" in p.name], "staging directory left behind"
    if out is not None and out.exists() and rc == 0:
        check_run(out)


CHANGE = st.one_of(
    st.sampled_from(sorted(VALID)).flatmap(lambda path: st.tuples(st.just(path), st.sampled_from(VALID[path]))),
    st.tuples(st.sampled_from(PATHS), VALUES),
)


@FUZZ
@given(changes=st.lists(CHANGE, max_size=3),
       overrides=st.lists(CHANGE, max_size=2),
       command=st.sampled_from(["validate", "run"]),
       existing=st.sampled_from(["none", "empty", "user-file", "file"]),
       level=st.sampled_from(["full", "metrics"]))
def test_generated_configs_keep_the_rules(changes: list[tuple[str, Any]], overrides: list[tuple[str, Any]],
                                          command: str, existing: str, level: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(BASE)
    data["limits"] = {"max_events": 20_000, "max_nodes": 200}  # a generated run stays small, or is refused
    for path, value in changes:
        _set(data, path, value)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg = work / "exp.yaml"
        cfg.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        out = work / "out"
        if existing == "empty":
            out.mkdir()
        elif existing == "user-file":
            out.mkdir()
            (out / "notes.md").write_text("mine")
        elif existing == "file":
            out.write_text("mine")
        user_files = {k: v for k, v in tree(work).items() if k != "exp.yaml"}
        argv: list[Any] = [command, cfg]
        if command == "run":
            argv += ["--out", out, "-q", "--trace", level]
        for path, value in overrides:
            argv += ["--set", f"{path}={_yaml(value)}"]
        rc, _, err = cli(capsys, *argv)
        event(f"{command} {existing}: exit {rc}")
        check_rules(rc, err, work, user_files, out if command == "run" else None)


#: Batch-file fields and what they may be set to: valid values, wrong ones and nonsense
#: (small: a generated batch has at most a few scenarios and replications).
NONSENSE = st.sampled_from([0, -1, 0.5, "", "x", None, True, [], {}, [1], {"a": 1}])
BATCH_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "experiment": st.one_of(st.sampled_from(["exp.yaml", "missing.yaml", "batch.yaml", "."]), NONSENSE),
    "set": st.one_of(st.sampled_from([["duration=1"], {"duration": 1}, ["duration"], ["duration=-1"],
                                      {"placement": "teleport"}, ["bogus=1"]]), NONSENSE),
    "grid": st.one_of(st.sampled_from([{"placement": ["heft", "random"]}, {"network": ["fast", "shared"]},
                                       {"placement": []}, {"placement": "heft"}, {"placement": ["heft", "heft"]},
                                       {"placement": ["teleport"]}]), NONSENSE),
    "scenarios": st.one_of(st.sampled_from([[{"name": "a", "set": {"placement": "random"}}],
                                            [{"name": "a"}, {"name": "a"}], [{"name": "b", "colour": 1}],
                                            [{"set": ["placement=heft"]}], [{"name": "c", "set": 3}]]), NONSENSE),
    "replications": st.one_of(st.integers(-1, 3), NONSENSE),
    "seed": st.one_of(st.integers(-1, 2**33), NONSENSE),
    "seeds": st.one_of(st.lists(st.integers(-1, 5), max_size=3), NONSENSE),
    "trace": st.one_of(st.sampled_from(["full", "metrics", "all"]), NONSENSE),
    "baseline": st.one_of(st.sampled_from(["baseline", "a", "placement=random", "placement=heft"]), NONSENSE),
    "bogus": NONSENSE,
}


@settings(FUZZ, max_examples=max(5, EXAMPLES // 3))  # each example may run a few small simulations
@given(changes=st.lists(st.sampled_from(sorted(BATCH_FIELDS)).flatmap(
           lambda key: st.tuples(st.just(key), BATCH_FIELDS[key] | st.just(...))), max_size=3),
       existing=st.sampled_from(["none", "empty", "user-file", "file", "other-batch"]))
def test_generated_batch_files_keep_the_rules(changes: list[tuple[str, Any]], existing: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data: dict[str, Any] = {"experiment": "exp.yaml", "set": ["duration=1"], "replications": 2, "seed": 1}
    for key, value in changes:
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "exp.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
        (work / "batch.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        out = work / "out"
        if existing in ("empty", "user-file", "other-batch"):
            out.mkdir()
        if existing == "user-file":
            (out / "notes.md").write_text("mine")
        elif existing == "file":
            out.write_text("mine")
        elif existing == "other-batch":
            (out / "batch.json").write_text(json.dumps({"format": "wfsim-batch/1", "experiment": {"sha256": "0"},
                                                        "set": [], "scenarios": [], "seeds": [], "trace": "x"}))
        user_files = {k: v for k, v in tree(work).items() if k not in ("exp.yaml", "batch.yaml")}
        rc, _, err = cli(capsys, "batch", work / "batch.yaml", "--out", out, "--workers", "1", "-q")
        event(f"batch {existing}: exit {rc}")
        assert rc in (0, 1, 2), (rc, err)
        assert "Traceback" not in err
        if rc == 2:
            assert len([line for line in err.splitlines() if line.startswith("wfsim: error: ")]) == 1, err
        else:
            assert (out / "batch.json").is_file() and (out / "results.csv").is_file()
        now = tree(work)
        for name, digest in user_files.items():
            assert now.get(name) == digest, f"user file {name} lost or changed"
        assert not [p for p in work.rglob("*") if ".wfsim-tmp" in p.name], "temporary file left behind"


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run of the base config at each trace level."""
    from wfsim.cli import main

    from test_cli import write_config

    directory = tmp_path_factory.mktemp("fuzz-run")
    cfg = str(write_config(directory))
    for level in ("full", "metrics"):
        assert main(["run", cfg, "--out", str(directory / level), "-q", "--trace", level]) == 0
    return {level: directory / level for level in ("full", "metrics")}


DAMAGE = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("truncate"), st.integers(0, 99), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.integers(0, 99), st.floats(0, 1)),
    st.tuples(st.just("manifest"), st.sampled_from(["seed", "horizon", "format", "files", "config", "command",
                                                    "trace"]), st.one_of(st.sampled_from(["full", "metrics"]), VALUES)),
    st.tuples(st.just("user-file"), st.sampled_from(["notes.md", "trace/extra.parquet", "plots/a.png"])),
    st.tuples(st.just("to-directory"), st.integers(0, 99)),
)


def _damage(run: Path, how: tuple[Any, ...]) -> None:
    files = sorted(p for p in run.rglob("*") if p.is_file())
    kind = how[0]
    if kind == "manifest":
        try:
            manifest = json.loads((run / "manifest.json").read_text())
        except (OSError, ValueError):
            return  # already deleted or garbled by an earlier damage
        if isinstance(manifest, dict):
            manifest[how[1]] = how[2]
            (run / "manifest.json").write_text(json.dumps(manifest))
    elif kind == "user-file":
        if (not (run / how[1]).parent.is_dir() and (run / how[1]).parent.exists()) or (run / how[1]).is_dir():
            return  # a directory (or file) of an earlier damage stands in the way
        (run / how[1]).parent.mkdir(parents=True, exist_ok=True)
        (run / how[1]).write_text("mine")
    elif files:  # (a run kept at level metrics has two files: earlier damage may have deleted both)
        target = files[how[1] % len(files)]
        data = target.read_bytes()
        if kind == "delete":
            target.unlink()
        elif kind == "truncate":
            target.write_bytes(data[: int(len(data) * how[2])])
        elif kind == "flip" and data:
            i = min(int(len(data) * how[2]), len(data) - 1)
            target.write_bytes(data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:])
        elif kind == "to-directory":
            target.unlink()
            target.mkdir()


@FUZZ
@given(damages=st.lists(DAMAGE, min_size=1, max_size=3),
       command=st.sampled_from([["info"], ["info", "--json"], ["verify", "--property", "P1"], ["run"],
                                ["report", "-o", "report.html"], ["history"]]),
       level=st.sampled_from(["full", "metrics"]))
def test_damaged_run_directories_keep_the_rules(saved_runs: dict[str, Path], damages: list[tuple[Any, ...]],
                                                command: list[str], level: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    saved_run = saved_runs[level]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = work / "run"
        shutil.copytree(saved_run, run)
        original = tree(run)
        for how in damages:
            _damage(run, how)
        damaged = tree(run)
        user_files = {f"run/{k}": v for k, v in damaged.items() if k not in original}
        listed = json.loads((saved_run / "manifest.json").read_text())["files"]
        harmed = any(damaged.get(name) != original[name] for name in listed)  # missing, cut, flipped
        if command == ["run"]:
            from test_cli import write_config

            argv: list[Any] = ["run", write_config(work), "--out", run, "-q"]
        else:
            argv = [command[0], run, *(work / a if a.endswith(".html") else a for a in command[1:])]
        rc, out, err = cli(capsys, *argv)
        event(f"{command[0]}{' (damaged)' if harmed else ''}: exit {rc}")
        check_rules(rc, err, work, user_files, run if command == ["run"] else None)
        if command != ["run"] and harmed:
            assert rc == 2, f"damaged run summarised as healthy: {damages}\n{out[:500]}"
        if command != ["run"] and rc == 0:
            try:
                check_run(run)
            except RunDirectoryError as exc:
                pytest.fail(f"{command[0]} accepted a run that check_run refuses: {exc}")


@FUZZ
@given(argv=st.lists(st.one_of(st.sampled_from(["heft", "rebalance", "autoscaling", "threshold", "lb_adaptive",
                                                "--json", "--", "-x", "--help"]), st.text(max_size=12)),
                     max_size=5))
def test_params_arguments_keep_the_rules(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """``wfsim params`` with any arguments: a listing (JSON lines with --json) or one
    user error, never a traceback."""
    rc, out, err = cli(capsys, "params", *argv)
    assert "Traceback" not in err
    if rc == 0:
        if out.startswith("usage:"):  # -h, --help or an abbreviation of it
            return
        if out.startswith("{"):
            assert all(json.loads(line)["parameters"] is not None for line in out.splitlines())
        else:
            heads = tuple(f"{axis} " for axis in {entry.axis for entry in tunables()}) + ("    ",)
            assert all(line.startswith(heads) for line in out.splitlines())
    else:
        assert rc == 2 and err.startswith("wfsim: error: ") and len(err.strip().splitlines()) == 1, err


#: Study fields and space entries worth changing, with valid values and nonsense.
STUDY_CHANGES = st.one_of(
    st.tuples(st.sampled_from(["replications", "seed", "n_trials", "held_out", "sampler", "pruner", "objective",
                               "objectives", "constraints", "set", "experiment", "bogus"]), VALUES),
    st.tuples(st.just("space"), st.sampled_from([
        {}, {"placement": "heft"}, {"placement": {"strategy": ["heft", "min_min"]}}, {"placement": {"strategy": []}},
        {"placement": {"strategy": "hybrid_dynamic", "params": {"latency_weight": {"low": 0.2, "high": 2}}}},
        {"placement": {"strategy": "adaptive_flow", "params": {"recent_samples": 5, "min_samples": 2}}},
        {"rebalance": {"interval": {"low": 5, "high": 30}}}, {"rebalance": {"interval": {}}}, {"scheduling": 3},
        {"autoscaling": {"strategy": "threshold", "params": {"cooldown": [30, 60]}}}, {"bogus": {}}])),
    st.tuples(st.sampled_from(["objectives", "constraints", "sampler"]), st.sampled_from([
        [{"latency.p95": "minimize"}, {"cost": "minimize"}], [{"cost": "up"}], ["P2"], ["nope"], "all", "nsga2",
        "epsilon_greedy", "cmaes", "gp"])),
)


@settings(max_examples=max(EXAMPLES // 3, 1), deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=st.lists(STUDY_CHANGES, max_size=2), existing=st.sampled_from(["none", "user-file"]))
def test_generated_studies_keep_the_rules(changes: list[tuple[str, Any]], existing: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``wfsim tune`` on generated study files (one trial of the tiny config): a study
    directory, or one user error; user files untouched."""
    study: dict[str, Any] = {"experiment": "exp.yaml", "n_trials": 1, "replications": 1,
                             "space": {"placement": {"strategy": ["heft", "earliest_finish_time"]}}}
    for key, value in changes:
        study[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "exp.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
        (work / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True))
        out = work / "out"
        if existing == "user-file":
            out.mkdir()
            (out / "notes.md").write_text("mine")
        user_files = {k: v for k, v in tree(work).items() if k not in ("exp.yaml", "study.yaml")}
        rc, _, err = cli(capsys, "tune", work / "study.yaml", "--out", out, "-q")
        event(f"tune {existing}: exit {rc}")
        check_rules(rc, err, work, user_files, None)
        if rc == 0:
            assert (out / "study.json").is_file() and (out / "trials.csv").is_file()
