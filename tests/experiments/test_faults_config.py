"""The ``faults:`` section of an experiment config: fault processes by name with their
declared parameters and targets, one clear error per mistake, and reachable by
``--set faults.<i>.<parameter>=…`` overrides like every other parameter."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from wfsim import Simulation
from wfsim.experiments import ConfigError, build_simulation, load_config, validate_config
from wfsim.experiments.loading import apply_overrides
from wfsim.faults import Crashes, Fault, Partitions, Schedule

from cli_support import assert_user_error, cli

BASE: dict[str, Any] = {
    "name": "faults",
    "seed": 5,
    "duration": 40,
    "until": 60,
    "topology": {"hierarchical": {"devices": 4, "edge": 2, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 3, "work": 1e9},
                   "arrivals": {"process": "poisson", "rate": 0.5}}],
    "faults": [
        {"process": "crashes", "mtbf": 20.0, "mttr": 4.0, "tiers": ["EdgeCloud"]},
        {"process": "partitions", "site": "edge-1", "start": 10.0, "duration": 5.0},
        {"process": "schedule", "faults": [{"kind": "spike", "targets": ["edge-0~regional-0"], "start": 3,
                                            "end": 9, "factor": 4}]},
    ],
}


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def with_fault(i: int, **change: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    config["faults"][i].update(change)
    return config


def test_yaml_faults_are_the_python_processes_and_draw_the_same_faults(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    sim = build_simulation(load_config(path), tmp_path, str(path))
    python = [Crashes(mtbf=20.0, mttr=4.0, tiers=("EdgeCloud",)),
              Partitions(site="edge-1", start=10.0, duration=5.0),
              Schedule(faults=(Fault("spike", ("edge-0~regional-0",), 3.0, 9.0, factor=4.0),))]
    assert [(type(p), p.params()) for p in sim.faults.processes] == [(type(p), p.params()) for p in python]
    twin = Simulation(build_simulation(load_config(path), tmp_path, str(path)).topology, sim.workloads,
                      duration=40, until=60, seed=5, faults=python)
    trace = sim.run().trace
    assert {"crash", "partition", "spike"} <= set(trace.faults["kind"].astype(str))
    pd.testing.assert_frame_equal(trace.faults, twin.run().trace.faults)
    assert trace.manifest["config"]["faults"][1]["site"] == "edge-1"


def test_configs_without_faults_keep_their_manifest(tmp_path: Path) -> None:
    path = write(tmp_path, {k: v for k, v in BASE.items() if k != "faults"})
    sim = build_simulation(load_config(path), tmp_path, str(path))
    assert "faults" not in sim.config and not sim.faults.processes


@pytest.mark.parametrize("config, field, needles", [
    (with_fault(0, process="meteors"), "faults[0]", ["'meteors'", "'crashes'", "'mobility'"]),
    (with_fault(0, mttr=-1.0), "faults[0].mttr", ["greater than or equal to 0.1"]),
    (with_fault(0, mttr="long"), "faults[0].mttr", ["valid number"]),
    (with_fault(0, distribution="pareto"), "faults[0].distribution", ["'exponential'", "'weibull'"]),
    (with_fault(0, bogus=1), "faults[0].bogus", ["unknown field; allowed: process, tiers, nodes, mtbf"]),
    (with_fault(2, faults=[{"kind": "meteor", "targets": ["edge-0"], "start": 1}]), "faults[2].faults[0].kind",
     ["'crash'", "'handover'"]),
    (with_fault(2, faults=[{"kind": "crash", "targets": ["edge-0"], "start": 5, "end": 1}]), "faults[2].faults[0]",
     ["end (1.0) must be >= start (5.0)"]),
])
def test_a_bad_entry_is_one_error_naming_the_field_and_the_allowed_values(config, field: str, needles) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(config, "f.yaml")
    assert info.value.field == field
    for needle in needles:
        assert needle in str(info.value)


@pytest.mark.parametrize("config, field, needle", [
    (with_fault(0, nodes=["edge-9"]), "faults[0].nodes", "unknown node 'edge-9'; allowed: cloud, regional-0"),
    (with_fault(0, tiers=["Fog"]), "faults[0].tiers", "'Fog'"),
    (with_fault(1, site="mars"), "faults[1].site", "unknown node 'mars'; allowed: cloud"),
    (with_fault(2, faults=[{"kind": "link_down", "targets": ["edge-0~cloud"], "start": 1}]),
     "faults[2].faults[0].targets", "unknown link 'edge-0~cloud'; allowed: regional-0~cloud"),
])
def test_unknown_targets_are_refused_with_the_allowed_ones(tmp_path: Path, config, field: str, needle: str) -> None:
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as info:
        build_simulation(load_config(path), tmp_path, str(path))
    assert info.value.field == field and needle in str(info.value)


def test_overrides_reach_a_fault_process_by_its_index(tmp_path: Path) -> None:
    config = validate_config(apply_overrides(BASE, ["faults.0.mttr=30", "faults.1.site=edge-0"]), "f.yaml")
    sim = build_simulation(config, tmp_path, "f.yaml")
    assert sim.faults.processes[0].mttr == 30.0 and sim.faults.processes[1].site == "edge-0"
    with pytest.raises(ConfigError, match="no list item '7'"):
        apply_overrides(BASE, ["faults.7.mttr=30"])


def test_cli_reports_fault_errors_as_one_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, with_fault(1, site="mars"))
    rc, out, err = cli(capsys, "validate", path)
    assert_user_error(rc, err, str(path), "faults[1].site", "unknown node 'mars'")
    assert out == ""
    rc, out, err = cli(capsys, "validate", write(tmp_path, BASE), "--set", "faults.0.mttr=0")
    assert_user_error(rc, err, "faults.0.mttr=0", "faults[0].mttr")
    assert out == ""
