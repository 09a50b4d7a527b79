"""``wfsim history DIR``: a run's operations as a history, and ``wfsim check-history``
on a run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wfsim.trace.rundir import write_run
from wfsim.verify.history import check_history
from wfsim.verify.history.formats import load_history

from cli_support import assert_user_error, cli
from state_tables_support import base_trace, op, with_state

ROWS = [
    op(1, "a", "write", "x", 0.0, 0.5, outcome="unknown"),
    op(2, "a", "write", "x", 0.5, 0.6, level="Sequential", requested="Linearizable", request=1, attempt=1),
    op(3, "b", "read", "x", 0.7, 0.8, 2, level="Sequential"),
    op(6, "d", "write", "y", 0.0, 0.1),
    op(4, "b", "read", "y", 0.9, 1.0, None),  # Linearizable: a stale read
    op(5, "c", "read", "s", 0.1, 0.2, [7, 8], level="Eventual"),
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("history") / "run", with_state(operations=ROWS))


def test_history_to_stdout_reads_back(run_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = cli(capsys, "history", run_dir)
    assert rc == 0
    assert "left out 1 operations on keys whose reads returned lists (no registers): s" in err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in events] == ["invoke", "invoke", "ok", "info", "invoke", "ok", "invoke", "ok",
                                           "invoke", "ok"]
    (tmp_path / "h.jsonl").write_text(out)
    assert len(load_history(tmp_path / "h.jsonl")) == 5
    rc, out, _ = cli(capsys, "history", run_dir, "--level", "sequential", "--format", "edn")
    assert rc == 0 and out.startswith("; written by wfsim history\n[{:index 0, :type :invoke, :f :write")
    (tmp_path / "h.edn").write_text(out)
    assert check_history(tmp_path / "h.edn", consistency="sequential").verdict == "ok"


def test_history_out_is_written_atomically_and_replaced_only_if_ours(run_dir: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "h.jsonl"
    assert cli(capsys, "history", run_dir, "--out", out)[0] == 0
    first = out.read_text()
    assert '"written_by": "wfsim history"' in first.splitlines()[0]
    assert len(load_history(out)) == 5 and sorted(p.name for p in tmp_path.iterdir()) == ["h.jsonl"]
    assert cli(capsys, "history", run_dir, "--out", out, "--level", "Linearizable")[0] == 0  # ours: replaced
    assert out.read_text() != first
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    rc, _, err = cli(capsys, "history", run_dir, "--out", notes)
    assert_user_error(rc, err, "notes.txt", "not written by wfsim history", "--force")
    assert notes.read_text() == "mine"
    assert cli(capsys, "history", run_dir, "--out", notes, "--force", "--format", "edn")[0] == 0
    assert notes.read_text().startswith("; written by wfsim history")
    rc, _, err = cli(capsys, "history", run_dir, "--out", tmp_path)
    assert_user_error(rc, err, "is a directory")
    rc, _, err = cli(capsys, "history", run_dir, "--out", tmp_path / "missing" / "h.edn")
    assert_user_error(rc, err, "does not exist")


def test_history_user_errors(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = cli(capsys, "history", run_dir, "--level", "Strong")
    assert_user_error(rc, err, "--level", "unknown consistency level 'Strong'", "Linearizable")
    rc, _, err = cli(capsys, "history", run_dir, "--format", "xml")
    assert rc == 2 and "invalid choice: 'xml'" in err and "Traceback" not in err
    rc, _, err = cli(capsys, "history", tmp_path / "nowhere")
    assert_user_error(rc, err, "nowhere")
    rc, _, err = cli(capsys, "history", run_dir, "--level", "Causal")
    assert_user_error(rc, err, "no replicated-state operations served at Causal")
    plain = write_run(tmp_path / "plain", base_trace())
    rc, _, err = cli(capsys, "history", plain)
    assert_user_error(rc, err, "no replicated-state operations")
    damaged = write_run(tmp_path / "damaged", with_state(operations=ROWS))
    (damaged / "trace" / "operations.parquet").write_bytes(b"not parquet")
    rc, _, err = cli(capsys, "history", damaged)
    assert_user_error(rc, err, "damaged run")


def test_check_history_takes_a_run_directory(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "check-history", run_dir, "--consistency", "sequential")
    assert rc == 0, err
    assert json.loads(out)["verdict"] == "ok"
    rc, out, err = cli(capsys, "check-history", run_dir)  # the Linearizable attempts: a stale read
    assert rc == 0 and json.loads(out)["verdict"] == "violation"
    rc, out, err = cli(capsys, "check-history", run_dir, "--consistency", "causal")
    assert rc == 2 and out == "" and "no replicated-state operations served at Causal" in err
