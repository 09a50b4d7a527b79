"""`wfsim check-history FILE… [--jobs K]`: one JSON line per file, clean errors, fast start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wfsim
import wfsim.verify
from wfsim.cli import main

OK = """\
{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 1}
"""
STALE = OK.replace('"ok", "f": "read", "value": 1', '"ok", "f": "read", "value": null')
BAD_TIME = OK.replace('"value": 1}', '"value": 1, "time": NaN}', 1)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    rc = main(["check-history", *args])
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err.splitlines()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name, text in [("ok", OK), ("stale", STALE), ("bad", BAD_TIME)]:
        path = tmp_path / f"{name}.jsonl"
        path.write_text(text)
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_one_json_line_per_file_in_the_order_given(capsys, files: dict[str, str], jobs: str) -> None:
    order = [files["stale"], files["ok"], files["stale"], files["ok"]]
    rc, out, err = run(capsys, *order, "--jobs", jobs)
    assert rc == 0 and err == []
    lines = [json.loads(line) for line in out]
    assert [d["file"] for d in lines] == order
    assert [d["verdict"] for d in lines] == ["violation", "ok", "violation", "ok"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_file_is_reported_and_the_others_still_checked(capsys, files, tmp_path: Path, jobs: str) -> None:
    missing = str(tmp_path / "missing.jsonl")
    rc, out, err = run(capsys, files["ok"], files["bad"], str(tmp_path), missing, files["stale"], "--jobs", jobs)
    assert rc == 2
    assert [json.loads(line)["file"] for line in out] == [files["ok"], files["stale"]]
    assert err == [
        f"wfsim: error: {files['bad']}:1: invalid JSON: NaN is not a JSON number",
        f"wfsim: error: {tmp_path}: is a directory, expected a history file",
        f"wfsim: error: {missing}: no such file",
    ]


def test_the_budget_covers_parsing(capsys, tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text("".join(
        f'{{"process": {i % 3}, "type": "{t}", "f": "write", "value": {i}}}\n'
        for i in range(3000) for t in ("invoke", "ok")
    ))
    rc, out, _ = run(capsys, str(path), "--budget", "0.000001")
    assert rc == 0
    verdict = json.loads(out[0])
    assert verdict["verdict"] == "unknown" and "while parsing" in verdict["reason"]


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_positive_whole_number(capsys, files, jobs: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check-history", files["ok"], "--jobs", jobs])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("wfsim: error: argument --jobs: ")


def test_check_history_imports_no_simulator(files) -> None:
    """Start-up cost is imports: check-history must not load the simulator stack."""
    heavy = ["pandas", "simpy", "networkx", "numpy", "edn_format", "wfsim.engine", "wfsim.experiments",
             "wfsim.verify.catalog", "wfsim.verify.history.causal"]
    script = (
        "import json, sys\n"
        "from wfsim.cli import main\n"
        f"rc = main(['check-history', {files['ok']!r}])\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(wfsim.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    verdict, loaded = done.stdout.splitlines()
    assert json.loads(verdict)["verdict"] == "ok"
    assert json.loads(loaded) == []


@pytest.mark.parametrize("package", [wfsim, wfsim.verify])
def test_lazy_packages_still_export_every_name(package) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_epoch_nanosecond_times(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = 1733350000000000000
    stale = "".join(
        line.replace("}", f', "time": {t + i}}}') + "\n" for i, line in enumerate(STALE.splitlines())
    )
    good, bad = tmp_path / "stale.jsonl", tmp_path / "bad.jsonl"
    good.write_text(stale)
    bad.write_text(stale.replace(f'"time": {t + 2}', '"time": 0.5'))
    rc, out, err = run(capsys, str(good), str(bad))
    assert rc == 2 and [json.loads(line)["verdict"] for line in out] == ["violation"]
    assert err == [f"wfsim: error: {bad}:2: time: {t + 1} and {t} (line 1) are different times that a "
                   f"double-precision number cannot tell apart, even counted from the earliest time, 0.5 (line 3); "
                   "the span of the times must be at most 2**53 of their smallest step"]
