"""`wfsim check-history`: one JSON line per file, user errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wfsim.cli import main

from reference_data import HISTORY_SETS, HistorySet, params

LINEARIZABLE = """\
{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "ok", "f": "read", "value": 1}
"""

STALE_READ = """\
{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": null}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["check-history", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(("text", "level", "verdict"), [
    (LINEARIZABLE, "linearizable", "ok"),
    (STALE_READ, "linearizable", "violation"),
    (STALE_READ, "sequential", "ok"),  # the read may be ordered before the write
])
def test_jsonl_history_verdicts(tmp_path: Path, capsys, text: str, level: str, verdict: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(text)
    rc, out, err = run(capsys, str(path), "--consistency", level)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["verdict"] == verdict


def test_unreadable_history_is_a_user_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"process": 0, "type": "invoke"\n')
    rc, out, err = run(capsys, str(path), "--format", "jsonl")
    assert rc == 2 and out == ""
    assert err.startswith("wfsim: error: ") and str(path) in err and "Traceback" not in err
    rc, _, err = run(capsys, str(tmp_path / "missing.log"))
    assert rc == 2 and "no such file" in err


@pytest.mark.parametrize(("data", "folder", "name", "model"),
                         params((d, case) for d in HISTORY_SETS for case in d.cli_cases))
def test_reference_histories_from_the_command_line(capsys, data: HistorySet, folder: str, name: str,
                                                   model: str) -> None:
    expected = data.verdicts(folder)[name]
    rc, out, _ = run(capsys, str(data.root / folder / name), "--model", model)
    assert rc == 0
    verdict = json.loads(out)["verdict"]
    assert verdict == {"linearizable": "ok", "not-linearizable": "violation"}[expected]
