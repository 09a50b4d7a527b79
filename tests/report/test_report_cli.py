"""``wfsim report DIR… -o FILE.html`` and ``wfsim report --notebook NB -p KEY=VALUE -o FILE.html``:
what it writes, and the user errors (one line, status 2, nothing written)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from wfsim.report.build import written_by_wfsim

from cli_support import assert_user_error, cli
from report_support import run

NOTEBOOK = Path(__file__).resolve().parents[1] / "data" / "report-notebook.ipynb"


@pytest.fixture(scope="module")
def lean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run kept at trace level metrics: its report is quick."""
    return run(tmp_path_factory.mktemp("cli"), "lean", trace="metrics")


def test_report_writes_a_marked_file_and_replaces_its_own(lean_run: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "review.html"
    rc, stdout, err = cli(capsys, "report", lean_run, "-o", out, "--title", "First")
    assert rc == 0 and err == "" and stdout == f"wrote {out}\n"
    assert written_by_wfsim(out) and "<title>First</title>" in out.read_text()
    assert "wfsim report " + str(lean_run) in out.read_text()  # the command, in the manifest
    rc, stdout, _ = cli(capsys, "report", lean_run, "-o", out, "--title", "Second", "-q")
    assert rc == 0 and stdout == ""
    assert "<title>Second</title>" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.html"]  # nothing left beside it


def test_report_refuses_to_overwrite_a_file_it_did_not_write(lean_run: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notes.html"
    out.write_text("<html><head><title>my notes</title></head></html>")
    rc, _, err = cli(capsys, "report", lean_run, "-o", out)
    assert_user_error(rc, err, str(out), "not written by wfsim report")
    assert out.read_text() == "<html><head><title>my notes</title></head></html>"


@pytest.mark.parametrize("where, needle", [
    ("a directory", "is a directory"),
    ("missing/review.html", "does not exist"),
    ("/proc/review.html", "cannot write here"),
])
def test_report_checks_its_output_before_the_work(where: str, needle: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path if where == "a directory" else (Path(where) if where.startswith("/") else tmp_path / where)
    missing = tmp_path / "no-such-run"  # would be an error too, if the output were checked later
    rc, _, err = cli(capsys, "report", missing, "-o", out)
    assert_user_error(rc, err, str(out), needle)


def test_report_names_a_source_it_cannot_use(lean_run: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    rc, _, err = cli(capsys, "report", tmp_path / "nowhere", "-o", out)
    assert_user_error(rc, err, str(tmp_path / "nowhere"), "no such directory", "run, batch or study")
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.csv").write_text("a,b\n")
    rc, _, err = cli(capsys, "report", lean_run, other, "-o", out)
    assert_user_error(rc, err, str(other), "not a wfsim run, batch or study directory",
                      "manifest.json, batch.json, study.json")
    rc, _, err = cli(capsys, "report", other / "data.csv", "-o", out)
    assert_user_error(rc, err, "data.csv", "not a directory")
    assert not out.exists()


def test_report_refuses_a_damaged_run_with_its_problems(lean_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(lean_run, damaged)
    metrics = json.loads((damaged / "metrics.json").read_text())
    metrics["cost"] = 0.0
    (damaged / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "r.html"
    rc, _, err = cli(capsys, "report", damaged, "-o", out)
    assert_user_error(rc, err, str(damaged), "damaged run", "metrics.json")
    assert not out.exists()
    (damaged / "manifest.json").write_text(json.dumps({"format": "wfsim-run/9"}))
    rc, _, err = cli(capsys, "report", damaged, "-o", out)
    assert_user_error(rc, err, "format", "wfsim-run/1")


@pytest.mark.parametrize("argv, needle", [
    ([], "give run, batch or study directories"),
    (["RUN", "--notebook", str(NOTEBOOK)], "not both"),
    (["RUN", "-p", "greeting=hi"], "-p sets a parameter of --notebook"),
    (["--notebook", str(NOTEBOOK), "-p", "greeting"], "-p greeting: expected KEY=VALUE"),
    (["--notebook", str(NOTEBOOK), "-p", "colour=red"], "unknown parameter 'colour'; it takes: greeting, divisor"),
    (["--notebook", "missing.ipynb"], "missing.ipynb: no such notebook"),
])
def test_report_argument_errors(argv: list[str], needle: str, lean_run: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(lean_run) if a == "RUN" else a for a in argv]
    rc, _, err = cli(capsys, "report", *argv, "-o", tmp_path / "r.html")
    assert_user_error(rc, err, needle)
    assert not (tmp_path / "r.html").exists()


def test_report_notebook_runs_it_with_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notebook.html"
    rc, _, err = cli(capsys, "report", "--notebook", NOTEBOOK, "-p", "greeting=<b>from the test</b>",
                     "-p", "divisor=4", "-o", out)
    assert rc == 0, err
    page = out.read_text(encoding="utf-8")
    assert "greeting: &lt;b&gt;from the test&lt;/b&gt;" in page
    assert "ratio: 0.25" in page  # divisor read as a number
    assert "beside the notebook: True" in page  # run in the notebook's directory
    assert written_by_wfsim(out)
    assert re.findall(r'<script[^>]*\ssrc=', page) == []
    assert re.findall(r'\s(?:src|href)="https?://', page) == [] and not re.search(r"url\(['\"]?https?:", page)
    assert json.loads(NOTEBOOK.read_text())["cells"][2]["outputs"] == []  # the notebook itself is unchanged


def test_report_notebook_names_the_cell_that_failed(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """In one line on the process's stderr: the kernel's own warnings do not get there."""
    out = tmp_path / "notebook.html"
    rc, _, err = cli(capfd, "report", "--notebook", NOTEBOOK, "-p", "divisor=0", "-o", out)
    assert_user_error(rc, err, str(NOTEBOOK), "cell 4 (print(f\"ratio: {1 / divisor}\"))",
                      "ZeroDivisionError: division by zero")
    assert not out.exists()
