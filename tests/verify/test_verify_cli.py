"""``wfsim verify DIR [--property NAME …] [--json]`` on saved runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wfsim.cli import main
from wfsim.trace.trace import Trace
from wfsim.verify.catalog import CATALOG

from cli_support import cli

TINY = {
    "name": "tiny", "seed": 3, "duration": 10, "network": "fast", "placement": "earliest_finish_time",
    "topology": {"hierarchical": {"devices": 3, "edge": 1, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 3, "work": 1e9, "data_bytes": 1e6},
                   "arrivals": {"process": "poisson", "rate": 0.5}}],
}




@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("verify")
    config = base / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    out = base / "run"
    assert main(["run", str(config), "--out", str(out), "-q"]) == 0
    return out


def test_verify_prints_one_line_per_property(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "verify", run_dir)
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(CATALOG)
    n_workflows = len(Trace.load(run_dir).workflows)
    assert lines[0].split() == ["P1", "lifecycle", "true", f"({n_workflows}", "workflows)"]
    # no replicated state, autonomy, detection, writes, leases nor migrations
    absent = ("P10", "P11", "P12", "P14", "P15", "P16", "P19", "P20", "P21", "P22", "P24")
    assert all(line.split()[2] == ("not_applicable" if line.startswith(absent) or "rebalance-" in line else "true")
               for line in lines)


def test_verify_selected_properties(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "verify", run_dir, "--property", "P2", "--property", "acyclicity,P23")
    assert rc == 0
    assert [line.split()[1] for line in out.splitlines()] == [
        "eventual-termination", "acyclicity", "run-once", "single-node"]


def test_verify_json(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "verify", run_dir, "--json", "--property", "lifecycle", "--property", "P18")
    assert rc == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in rows] == ["lifecycle", "resource-conservation"]
    assert rows[0]["verdict"] == "true" and rows[0]["kind"] == "ltl" and rows[0]["counterexamples"] == []
    assert rows[1]["kind"] == "invariant" and rows[1]["seed_ref"].startswith("P18")


def test_verify_reports_counterexample_and_still_exits_0(run_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    trace = Trace.load(run_dir)
    we = trace.workflow_events.assign(state=trace.workflow_events["state"].astype(str))
    trace.workflow_events = we
    w = int(we["workflow"].iloc[0])
    we.loc[(we["workflow"] == w) & (we["state"] == "Running"), "state"] = "Failed"   # Created -> Failed
    bad = tmp_path / "bad"
    trace.save(bad)
    (bad / "metrics.json").write_text((run_dir / "metrics.json").read_text())
    rc, out, _ = cli(capsys, "verify", bad, "--property", "lifecycle")
    assert rc == 0
    first, second = out.splitlines()
    assert first.split()[:3] == ["P1", "lifecycle", "false"]
    assert second.strip().startswith(f"workflow {w} at t=")
    rc, out, _ = cli(capsys, "verify", bad, "--property", "lifecycle", "--json")
    cex = json.loads(out)["counterexamples"][0]
    assert cex["entity"] == str(w) and cex["step"] == 1
    assert pd.DataFrame(cex["events"])["table"].isin(["workflow_events", "task_events"]).all()


def test_verify_unknown_property_is_a_user_error(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "verify", run_dir, "--property", "liveness")
    assert rc == 2 and out == ""
    assert err.startswith("wfsim: error: unknown property 'liveness'; allowed: lifecycle (P1),")
    assert len(err.splitlines()) == 1


def test_verify_non_run_directory_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "verify", tmp_path)
    assert rc == 2 and out == ""
    assert "not a wfsim run directory" in err and len(err.splitlines()) == 1
    rc, _, err = cli(capsys, "verify", tmp_path / "missing")
    assert rc == 2 and "not a wfsim run directory" in err
