"""Run directories: nothing lost, nothing half-written, damage reported (issue: hardened results).

Each test is written from a reproduction: what wfsim did before, what it must do now.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wfsim.model.enums import TraceLevel
from wfsim.trace import rundir
from wfsim.trace.metrics import summarize
from wfsim.trace.rundir import (
    METRICS_RUN_FILES,
    RUN_FORMAT,
    STAGING_MARKER,
    RunDirectoryError,
    check_run,
    read_metrics,
    write_metrics_run,
    write_run,
)
from wfsim.trace.trace import TABLES, Trace

from cli_support import assert_user_error, cli, tree
from test_cli import write_config


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    directory = tmp_path_factory.mktemp("source")
    cfg = write_config(directory)
    assert cli_plain("run", cfg, "--out", directory / "run", "-q") == 0
    return Trace.load(directory / "run")


def cli_plain(*argv: str | Path) -> int:
    from wfsim.cli import main

    return main([str(a) for a in argv])


def staging_dirs(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".wfsim-tmp-" in p.name)


# --- 1. no user file is ever deleted -------------------------------------------------------
def test_rerun_refuses_a_run_directory_holding_a_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: `wfsim run Q --out r; echo x > r/notes.md; wfsim run Q --out r` deleted notes.md.
    cfg = write_config(tmp_path)
    out = tmp_path / "r"
    assert cli(capsys, "run", cfg, "--out", out, "-q")[0] == 0
    (out / "notes.md").write_text("x")
    before = tree(out)
    rc, _, err = cli(capsys, "run", cfg, "--out", out, "-q", "--seed", "3")
    assert_user_error(rc, err, str(out), "notes.md", "did not write")
    assert tree(out) == before
    assert staging_dirs(tmp_path) == []


def test_a_user_file_inside_trace_is_kept_too(tmp_path: Path, trace: Trace) -> None:
    out = trace.save(tmp_path / "r")
    (out / "trace" / "mine.parquet").write_bytes(b"mine")
    (out / "plots").mkdir()
    with pytest.raises(RunDirectoryError, match=r"plots/.*trace/mine\.parquet"):
        write_run(out, trace)
    assert (out / "trace" / "mine.parquet").read_bytes() == b"mine" and (out / "plots").is_dir()


def test_lookalike_directory_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: any directory with manifest.json, metrics.json and trace/ counted as a run and was wiped.
    cfg = write_config(tmp_path)
    out = tmp_path / "mine"
    (out / "trace").mkdir(parents=True)
    (out / "manifest.json").write_text('{"seed": 1}')
    (out / "metrics.json").write_text("{}")
    (out / "trace" / "data.csv").write_text("a,b\n")
    before = tree(out)
    rc, _, err = cli(capsys, "run", cfg, "--out", out, "-q")
    assert_user_error(rc, err, str(out), "not a wfsim run directory")
    assert tree(out) == before


def test_rerun_over_own_run_replaces_only_listed_files(tmp_path: Path, trace: Trace) -> None:
    out = trace.save(tmp_path / "r")
    first = json.loads((out / "manifest.json").read_text())
    write_run(out, trace)
    assert json.loads((out / "manifest.json").read_text())["files"] == first["files"]
    assert staging_dirs(tmp_path) == []


def test_file_or_symlink_at_out_is_refused(tmp_path: Path, trace: Trace) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for target in ("afile", "dangling"):
        with pytest.raises(RunDirectoryError, match=target):
            write_run(tmp_path / target, trace)
    assert (tmp_path / "afile").read_text() == "x" and (tmp_path / "dangling").is_symlink()


# --- 2. fail before the work ------------------------------------------------------------------
def test_unwritable_out_is_found_before_simulating(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from wfsim.engine.simulation import Simulation

    def never(self: Simulation, progress: object = False) -> None:
        raise AssertionError("simulated although the results could not be saved")

    monkeypatch.setattr(Simulation, "run", never)
    cfg = write_config(tmp_path)
    # /proc refuses new directories even to root, so this holds whoever runs the tests.
    rc, _, err = cli(capsys, "run", cfg, "--out", "/proc/wfsim-cannot-write/run", "-q")
    assert_user_error(rc, err, "/proc/wfsim-cannot-write/run", "cannot write")


def test_compare_checks_its_out_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import wfsim.experiments.compare as compare_module

    monkeypatch.setattr(compare_module, "compare", lambda *a, **k: pytest.fail("ran before checking --out"))
    cfg = write_config(tmp_path)
    for out in ("/nonexistent/t.md", str(tmp_path)):
        rc, _, err = cli(capsys, "compare", cfg, "--vary", "placement=heft,nearest_edge", "--out", out, "-q")
        assert_user_error(rc, err, out)


def test_compare_prints_the_table_when_saving_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(out: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rundir, "write_atomically", full_disk)
    cfg = write_config(tmp_path)
    rc, out, err = cli(capsys, "compare", cfg, "--vary", "placement=heft", "--out", tmp_path / "t.md", "-q")
    assert_user_error(rc, err, "t.md", "No space left", "printed above")
    assert out.startswith("| placement |") and "| heft |" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


# --- 3. killed writes leave nothing behind ---------------------------------------------------
SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from wfsim.trace import rundir
    from wfsim.cli import main

    real = rundir.file_record
    def slow(path):
        print("staged", flush=True)
        time.sleep(60)
        return real(path)
    rundir.file_record = slow
    sys.exit(main(["run", sys.argv[1], "--out", sys.argv[2], "-q"]))
""")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_write_is_cleaned_up(tmp_path: Path, sig: signal.Signals, trace: Trace) -> None:
    cfg = write_config(tmp_path, name="exp.yaml")
    out = tmp_path / "results" / "r"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(cfg), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "staged"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert not out.exists()
    if sig == signal.SIGTERM:  # handled like SIGINT: cleaned up at once
        assert proc.returncode == 128 + signal.SIGTERM and "terminated" in err and "Traceback" not in err
        assert staging_dirs(out.parent) == []
    else:  # nothing can run on SIGKILL: the marked staging directory stays, and the next write sweeps it
        left = staging_dirs(out.parent)
        assert len(left) == 1 and (out.parent / left[0] / STAGING_MARKER).is_file()
        write_run(out.parent / "other", trace)
        assert staging_dirs(out.parent) == []


def test_sweep_leaves_live_and_unmarked_directories(tmp_path: Path, trace: Trace) -> None:
    live = tmp_path / ".r.wfsim-tmp-new-live"
    live.mkdir()
    (live / STAGING_MARKER).write_text(json.dumps({"pid": os.getpid(), "host": rundir.socket.gethostname()}))
    unmarked = tmp_path / ".r.wfsim-tmp-new-someone"
    unmarked.mkdir()
    other_host = tmp_path / ".r.wfsim-tmp-new-remote"
    other_host.mkdir()
    (other_host / STAGING_MARKER).write_text(json.dumps({"pid": 1, "host": "another-machine"}))
    write_run(tmp_path / "r", trace)
    assert live.is_dir() and unmarked.is_dir() and other_host.is_dir()


# --- 5. damaged runs are reported ------------------------------------------------------------
def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "trace-emptied": (lambda r: [p.unlink() for p in (r / "trace").iterdir()], "trace/workflows.parquet: missing"),
    "table-missing": (lambda r: (r / "trace" / "task_events.parquet").unlink(), "task_events.parquet: missing"),
    "truncated": (lambda r: (r / "trace" / "task_events.parquet").write_bytes(
        (r / "trace" / "task_events.parquet").read_bytes()[:100]), "task_events.parquet: truncated"),
    "altered": (lambda r: _flip_last_byte(r / "trace" / "workflows.parquet"), "workflows.parquet: altered"),
    "wrong-table": (lambda r: shutil.copy(r / "trace" / "nodes.parquet", r / "trace" / "workflows.parquet"),
                    "workflows.parquet"),
    "metrics-altered": (lambda r: (r / "metrics.json").write_text("{}"), "metrics.json"),
    "manifest-list": (lambda r: (r / "manifest.json").write_text("[1, 2]"), "a JSON list"),
    "manifest-not-json": (lambda r: (r / "manifest.json").write_text("{"), "not a readable JSON manifest"),
    "seed-banana": (lambda r: _edit_manifest(r, seed="banana"), "seed"),
    "horizon-negative": (lambda r: _edit_manifest(r, horizon=-5), "horizon"),
    "files-not-listed": (lambda r: _edit_manifest(r, files={}), "does not list"),
    "manifest-removed": (lambda r: (r / "manifest.json").unlink(), "no manifest.json"),
}


def _edit_manifest(run: Path, **changes: object) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(changes)
    (run / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("command", ["info", "verify"])
def test_damaged_run_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str], trace: Trace,
                                 damage: str, command: str) -> None:
    # Before: `rm r/trace/*; wfsim info r` printed a healthy summary; a wrong table crashed
    # verify with KeyError: 'time'; a manifest list crashed it with AttributeError.
    run = trace.save(tmp_path / "r")
    harm, needle = DAMAGE[damage]
    harm(run)
    before = tree(run)
    rc, out, err = cli(capsys, command, run)
    assert_user_error(rc, err, str(run), needle)
    assert out == ""
    assert tree(run) == before  # reading never repairs or removes anything


def test_trace_load_refuses_damage_unless_told(tmp_path: Path, trace: Trace) -> None:
    run = trace.save(tmp_path / "r")
    _flip_last_byte(run / "trace" / "workflows.parquet")
    with pytest.raises(RunDirectoryError, match="altered"):
        Trace.load(run)
    run = trace.save(tmp_path / "again")
    shutil.copy(run / "trace" / "nodes.parquet", run / "trace" / "links.parquet")
    with pytest.raises(RunDirectoryError, match=r"links\.parquet holds columns"):
        Trace.load(run, check=False)


def test_every_damage_is_named_at_once(tmp_path: Path, trace: Trace) -> None:
    run = trace.save(tmp_path / "r")
    (run / "trace" / "nodes.parquet").unlink()
    _flip_last_byte(run / "trace" / "links.parquet")
    with pytest.raises(RunDirectoryError, match=r"nodes\.parquet: missing.*links\.parquet: altered"):
        check_run(run)


# --- 6. one run directory format -------------------------------------------------------------
def test_python_save_is_a_complete_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], trace: Trace) -> None:
    # Before: result.trace.save(DIR) wrote a directory that `wfsim info` and `verify` refused.
    cfg = write_config(tmp_path)
    assert cli(capsys, "run", cfg, "--out", tmp_path / "cli", "-q")[0] == 0
    saved = Trace.load(tmp_path / "cli").save(tmp_path / "python")
    assert set(tree(saved)) == set(tree(tmp_path / "cli"))
    assert {k: v for k, v in tree(saved).items() if k != "manifest.json"} == \
        {k: v for k, v in tree(tmp_path / "cli").items() if k != "manifest.json"}
    assert json.loads((saved / "manifest.json").read_text())["format"] == RUN_FORMAT
    rc, out, err = cli(capsys, "info", saved)
    assert rc == 0, err
    rc, out, err = cli(capsys, "verify", saved, "--property", "P1")
    assert rc == 0 and "true" in out, err
    assert check_run(saved).seed == trace.manifest["seed"]
    assert len(check_run(saved).files) == len(rundir.RUN_FILES) == len(TABLES) + 2


# --- found in review ---------------------------------------------------------------------------
def test_symlink_out_writes_through_the_link_and_keeps_it(tmp_path: Path, trace: Trace) -> None:
    target = tmp_path / "big-disk" / "run"
    target.parent.mkdir()
    trace.save(target)
    (tmp_path / "results").symlink_to(target)
    write_run(tmp_path / "results", trace)
    assert (tmp_path / "results").is_symlink() and check_run(target).seed == trace.manifest["seed"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "to-empty").symlink_to(empty)
    rundir.prepare_output(tmp_path / "to-empty")
    write_run(tmp_path / "to-empty", trace)
    assert (tmp_path / "to-empty").is_symlink() and check_run(empty)


def test_a_run_with_changed_files_is_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  trace: Trace) -> None:
    out = trace.save(tmp_path / "r")
    (out / "metrics.json").write_text('{"my notes": 1}')
    before = tree(out)
    with pytest.raises(RunDirectoryError, match=r"metrics\.json: .*changes may be yours"):
        write_run(out, trace)
    cfg = write_config(tmp_path)
    rc, _, err = cli(capsys, "run", cfg, "--out", out, "-q")
    assert_user_error(rc, err, str(out), "metrics.json")
    assert tree(out) == before


def test_a_manifest_listing_paths_outside_is_not_replaced(tmp_path: Path, trace: Trace) -> None:
    out = trace.save(tmp_path / "r")
    (tmp_path / "precious.txt").write_text("mine")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["../precious.txt"] = manifest["files"]["metrics.json"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDirectoryError, match="outside the run directory"):
        write_run(out, trace)
    assert (tmp_path / "precious.txt").read_text() == "mine"


def test_a_run_killed_after_its_rename_keeps_its_marker_and_is_replaceable(tmp_path: Path, trace: Trace,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = rundir._replace

    def killed_after_rename(staging: Path, out: Path) -> None:
        real_replace(staging, out)
        raise KeyboardInterrupt  # the marker is not yet removed from the renamed run

    monkeypatch.setattr(rundir, "_replace", killed_after_rename)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path / "r", trace)
    assert (tmp_path / "r" / STAGING_MARKER).is_file() and check_run(tmp_path / "r")
    monkeypatch.undo()
    write_run(tmp_path / "r", trace)
    assert not (tmp_path / "r" / STAGING_MARKER).exists() and staging_dirs(tmp_path) == []


def test_compare_never_overwrites_a_file_it_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    config_text = cfg.read_text()
    args = ("compare", cfg, "--vary", "placement=heft", "-q", "--out")
    rc, _, err = cli(capsys, *args, cfg)
    assert_user_error(rc, err, str(cfg), "not written by wfsim compare")
    assert cfg.read_text() == config_text
    table = tmp_path / "t.md"
    assert cli(capsys, *args, table)[0] == 0
    assert cli(capsys, *args, table)[0] == 0  # its own table is replaced
    assert table.read_text().splitlines()[1].startswith("| placement |")


# --- 7. runs kept at trace level metrics ---------------------------------------------------------
METRICS_ONLY = "kept only metrics (trace: metrics); re-run with --trace full"


def metrics_run(out: Path, trace: Trace) -> Path:
    return write_metrics_run(out, trace.manifest, summarize(trace))


def test_a_metrics_run_holds_its_manifest_and_metrics_only(tmp_path: Path, trace: Trace) -> None:
    run = metrics_run(tmp_path / "m", trace)
    assert set(tree(run)) == {"manifest.json", "metrics.json"}
    manifest = check_run(run)
    assert manifest.trace is TraceLevel.METRICS and list(manifest.files) == list(METRICS_RUN_FILES)
    assert read_metrics(run) == json.loads(json.dumps(summarize(trace)))
    for check in (True, False):
        with pytest.raises(RunDirectoryError, match=re.escape(f"{run}: {METRICS_ONLY}")):
            Trace.load(run, check=check)


def test_runs_replace_each_other_across_levels(tmp_path: Path, trace: Trace) -> None:
    out = trace.save(tmp_path / "r")
    metrics_run(out, trace)
    assert set(tree(out)) == {"manifest.json", "metrics.json"}  # the trace/ of the full run went with it
    write_run(out, trace)
    assert check_run(out).trace is TraceLevel.FULL and Trace.load(out).manifest["trace"] == "full"


def test_a_manifest_without_a_trace_level_is_a_full_run(tmp_path: Path, trace: Trace) -> None:
    # Runs written before trace levels existed.
    run = trace.save(tmp_path / "old")
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["trace"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert check_run(run).trace is TraceLevel.FULL
    assert len(Trace.load(run).task_events) == len(trace.task_events)


METRICS_DAMAGE = {
    "metrics-removed": (lambda r: (r / "metrics.json").unlink(), "metrics.json: missing"),
    "metrics-truncated": (lambda r: (r / "metrics.json").write_text("{}"), "metrics.json: truncated"),
    "metrics-altered": (lambda r: _flip_last_byte(r / "metrics.json"), "metrics.json: altered"),
    "files-not-listed": (lambda r: _edit_manifest(r, files={}), "does not list metrics.json"),
    "level-unknown": (lambda r: _edit_manifest(r, trace="some"), "trace"),
    # A metrics run claiming a full trace lacks every table.
    "level-full": (lambda r: _edit_manifest(r, trace="full"), "does not list trace/workflows.parquet"),
}


@pytest.mark.parametrize("damage", list(METRICS_DAMAGE))
@pytest.mark.parametrize("command", ["info", "verify"])
def test_a_damaged_metrics_run_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str], trace: Trace,
                                           damage: str, command: str) -> None:
    run = metrics_run(tmp_path / "m", trace)
    harm, needle = METRICS_DAMAGE[damage]
    harm(run)
    before = tree(run)
    rc, out, err = cli(capsys, command, run)
    assert_user_error(rc, err, str(run), needle)
    assert out == "" and tree(run) == before
