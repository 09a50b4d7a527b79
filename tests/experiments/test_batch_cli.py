"""`wfsim batch` from the command line: a plain config as FILE, and every user error
in one line with exit status 2, before anything runs and with nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from batch_support import EXPERIMENT, batch_file
from cli_support import assert_user_error, cli, tree


@pytest.fixture
def never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a run starts: user errors are found before any work."""
    import wfsim.experiments.batch as batch_module

    monkeypatch.setattr(batch_module, "run_one", lambda *a: pytest.fail("a run started"))


@pytest.fixture
def instant_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every run as done at once: what the runs give does not matter here."""
    import wfsim.experiments.batch as batch_module
    from wfsim.experiments.scenarios import RunOutcome

    monkeypatch.setattr(batch_module, "run_one", lambda spec, trace_dir=None: RunOutcome(
        spec.scenario, spec.replication, spec.seed, "ok", metrics={"cost": 1.0}))


def test_a_plain_config_is_a_batch_of_one_scenario(tmp_path: Path, capsys) -> None:
    config = yaml.safe_load(EXPERIMENT.read_text())
    config["duration"] = 10
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    rc, out, err = cli(capsys, "batch", path, "--out", tmp_path / "out", "--replications", "2", "--seed", "5",
                       "--workers", "1", "-q")
    assert rc == 0, err
    assert out.startswith("Mean [95% interval] over 2 replications") and "| baseline | 2 |" in out
    assert "Difference from" not in out  # one scenario: nothing to pair
    manifest = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert manifest["spec"] is None and manifest["experiment"]["path"] == str(path)
    assert manifest["root_seed"] == 5 and len(manifest["seeds"]) == 2


@pytest.mark.parametrize(("flags", "needles"), [
    (["--workers", "0"], ["--workers", "must be >= 1"]),
    (["--replications", "zero"], ["--replications", "whole number"]),
    (["--seed", "-1"], ["--seed", "must be >= 0"]),
    (["--trace", "some"], ["--trace", "invalid choice", "full"]),
    (["--workers", "2", "--dask", "tcp://127.0.0.1:1"], ["--dask", "not allowed with argument --workers"]),
    (["--dask", "tcp://127.0.0.1:1"], ["--dask tcp://127.0.0.1:1", "cannot connect", "tcp://host:8786"]),
    (["--dask", "nonsense"], ["--dask nonsense", "cannot connect", "port"]),
    (["--set", "placement=teleport"], ["--set placement=teleport", "placement.strategy", "allowed:"]),
])
def test_wrong_flags(flags: list[str], needles: list[str], tmp_path: Path, capsys, never_runs: None) -> None:
    rc, _, err = cli(capsys, "batch", batch_file(tmp_path), "--out", tmp_path / "out", *flags)
    assert_user_error(rc, err, *needles)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("fields", "needles"), [
    ({"colour": "blue"}, ["batch.yaml: colour: unknown field; allowed: experiment, set, grid, scenarios"]),
    ({"scenarios": [{"name": "x", "colour": "blue"}]}, ["scenarios[0].colour: unknown field; allowed: name, set"]),
    ({"scenarios": [{"name": "x"}, {"name": "x"}]}, ["scenarios[1].name", "'x' names two scenarios"]),
    ({"scenarios": [{"name": "placement=heft"}]}, ["scenarios[0].name", "'placement=heft' names two"]),
    ({"scenarios": [{"name": "bad", "set": {"placement": "teleport"}}]},
     ["batch.yaml: scenarios[0] (bad): set placement=teleport: placement.strategy", "allowed:"]),
    ({"grid": {"placement": ["heft", "teleport"]}}, ["batch.yaml: grid: placement=teleport", "allowed:"]),
    ({"grid": {"placement": "heft"}}, ["grid.placement: Input should be a valid list"]),
    ({"set": ["duration"]}, ["batch.yaml: set:", "must look like key.path=value"]),
    ({"set": {"duration": -1}}, ["batch.yaml: set duration=-1: duration:"]),
    ({"set": 3}, ["batch.yaml: set:", "mapping of key.path: value or a list"]),
    ({"seeds": [1, 2]}, ["batch.yaml: seeds: give either seeds or replications and seed"]),
    ({"seeds": [1, 1], "replications": None, "seed": None}, ["seeds: each seed once; repeated: 1"]),
    ({"replications": 0}, ["replications: Input should be greater than or equal to 1"]),
    ({"trace": "all"}, ["trace: Input should be 'full' or 'metrics'"]),
    ({"baseline": "placement=random"}, ["baseline: no scenario 'placement=random'; allowed: placement=nearest_edge"]),
    ({"experiment": "missing.yaml"}, ["batch.yaml: experiment:", "missing.yaml: no such file"]),
    ({"experiment": "batch.yaml"}, ["experiment:", "is a batch file"]),
])
def test_bad_batch_files(fields: dict, needles: list[str], tmp_path: Path, capsys, never_runs: None) -> None:
    path = batch_file(tmp_path, **fields)
    rc, _, err = cli(capsys, "batch", path, "--out", tmp_path / "out")
    assert_user_error(rc, err, *needles)
    assert not (tmp_path / "out").exists()


def test_missing_and_damaged_batch_files(tmp_path: Path, capsys, never_runs: None) -> None:
    rc, _, err = cli(capsys, "batch", tmp_path / "nope.yaml", "--out", tmp_path / "out")
    assert_user_error(rc, err, "nope.yaml", "cannot read file")
    damaged = tmp_path / "damaged.yaml"
    damaged.write_text("experiment: [unclosed\n")
    rc, _, err = cli(capsys, "batch", damaged, "--out", tmp_path / "out")
    assert_user_error(rc, err, "damaged.yaml", "invalid YAML at line")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.yaml"]


def test_output_directories_that_are_not_this_batchs(tmp_path: Path, capsys, never_runs: None) -> None:
    path = batch_file(tmp_path)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    (tmp_path / "file").write_text("mine too")
    before = tree(tmp_path)
    rc, _, err = cli(capsys, "batch", path, "--out", notes)
    assert_user_error(rc, err, str(notes), "is not a wfsim batch directory", "choose another --out")
    rc, _, err = cli(capsys, "batch", path, "--out", tmp_path / "file")
    assert_user_error(rc, err, "exists and is not a directory")
    # /proc refuses new directories even to root.
    rc, _, err = cli(capsys, "batch", path, "--out", "/proc/wfsim-cannot-write/out")
    assert_user_error(rc, err, "/proc/wfsim-cannot-write/out", "cannot write the batch here")
    assert tree(tmp_path) == before


def test_a_different_batch_in_the_directory_is_refused(tmp_path: Path, capsys, instant_runs: None) -> None:
    path = batch_file(tmp_path)
    out = tmp_path / "out"
    assert cli(capsys, "batch", path, "--out", out, "--workers", "1", "-q")[0] == 0
    before = tree(out)
    changes = [
        (["--set", "duration=30"], "overrides for every scenario"),
        (["--trace", "full"], "trace level"),
        (["--seed", "7"], "seeds ("),
        (["--replications", "2"], "seeds ("),
    ]
    for flags, what in changes:
        rc, _, err = cli(capsys, "batch", path, "--out", out, *flags)
        assert_user_error(rc, err, str(out), "holds a different batch; what differs: " + what)
    batch_file(tmp_path, grid={"placement": ["heft", "nearest_edge"]})
    rc, _, err = cli(capsys, "batch", path, "--out", out)
    assert_user_error(rc, err, "what differs: scenarios")
    copy = tmp_path / "exp.yaml"
    copy.write_text(EXPERIMENT.read_text() + "\n# changed\n")
    batch_file(tmp_path, experiment=str(copy))
    rc, _, err = cli(capsys, "batch", path, "--out", out)
    assert_user_error(rc, err, "what differs: experiment content")
    assert tree(out) == before
    # More replications are the same batch, grown.
    batch_file(tmp_path)
    rc, _, err = cli(capsys, "batch", path, "--out", out, "--replications", "4", "-q")
    assert rc == 0, err
    assert json.loads((out / "batch.json").read_text())["sessions"][-1]["to_run"] == 2


def test_a_changed_table_or_record_is_never_replaced(tmp_path: Path, capsys, instant_runs: None) -> None:
    path, out = batch_file(tmp_path), tmp_path / "out"
    assert cli(capsys, "batch", path, "--out", out, "--workers", "1", "-q")[0] == 0
    (out / "summary.md").write_text("my notes")
    rc, _, err = cli(capsys, "batch", path, "--out", out, "-q")
    assert_user_error(rc, err, "summary.md: changed since wfsim wrote it")
    assert (out / "summary.md").read_text() == "my notes"
    (out / "summary.md").unlink()
    (out / "runs" / "0-r1.json").write_text("{")
    rc, _, err = cli(capsys, "batch", path, "--out", out, "-q")
    assert_user_error(rc, err, "0-r1.json: not a readable run record", "move it away")
    (out / "runs" / "0-r1.json").write_text(json.dumps({**json.loads((out / "runs" / "0-r0.json").read_text())}))
    rc, _, err = cli(capsys, "batch", path, "--out", out, "-q")
    assert_user_error(rc, err, "0-r1.json: records scenario 'placement=nearest_edge', replication 0")


def test_a_full_disk_is_one_line_and_keeps_the_records(tmp_path: Path, capsys, instant_runs: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import wfsim.experiments.batchdir as batchdir_module

    real = batchdir_module.write_atomically

    def fills_up(out: Path, content: object) -> None:
        if Path(out).name == "1-r0.json":
            raise OSError(28, "No space left on device")
        real(out, content)

    monkeypatch.setattr(batchdir_module, "write_atomically", fills_up)
    path, out = batch_file(tmp_path), tmp_path / "out"
    rc, _, err = cli(capsys, "batch", path, "--out", out, "--workers", "1", "-q")
    assert_user_error(rc, err, "cannot write a run's record (No space left on device)", "run the batch again")
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["0-r0.json"]  # replication by replication
    monkeypatch.setattr(batchdir_module, "write_atomically", real)
    assert cli(capsys, "batch", path, "--out", out, "--workers", "1", "-q")[0] == 0
    assert json.loads((out / "batch.json").read_text())["sessions"][-1]["to_run"] == 5
