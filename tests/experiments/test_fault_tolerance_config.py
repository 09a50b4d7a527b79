"""The ``fault_tolerance:`` group of an experiment config: its declared parameters
reach the simulation, and a mistake is one error naming the field and allowed values."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfsim.engine.fault_tolerance import FaultToleranceSettings, FaultTolerantExecutor
from wfsim.experiments import ConfigError, build_simulation, load_config, validate_config
from wfsim.experiments.tunables import tunables

from cli_support import assert_user_error, cli

BASE: dict[str, Any] = {
    "name": "ft",
    "seed": 3,
    "duration": 10,
    "topology": {"hierarchical": {"devices": 3, "edge": 2, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 3, "work": 1e9},
                   "arrivals": {"process": "poisson", "rate": 1.0}}],
    "fault_tolerance": {"max_retries": 2, "checkpoint_interval": 0.5, "mode": "ActiveActive", "replicas": 3},
}


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_group_reaches_the_simulation_and_the_trace(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    sim = build_simulation(load_config(path), tmp_path, str(path))
    assert isinstance(sim.executor, FaultTolerantExecutor)
    assert sim.executor.settings == FaultToleranceSettings(max_retries=2, checkpoint_interval=0.5,
                                                           mode="ActiveActive", replicas=3)
    trace = sim.run().trace
    assert trace.manifest["config"]["fault_tolerance"]["replicas"] == 3
    replicas = trace.task_faults[trace.task_faults["kind"].astype(str) == "replica"]
    assert len(replicas) == 3 * len(trace.task_specs.merge(trace.workflows, on="definition"))


def test_configs_without_it_keep_the_plain_executor_and_their_manifest(tmp_path: Path) -> None:
    config = {k: v for k, v in BASE.items() if k != "fault_tolerance"}
    path = write(tmp_path, config)
    sim = build_simulation(load_config(path), tmp_path, str(path))
    assert type(sim.executor).__name__ == "WorkflowExecutor" and "fault_tolerance" not in sim.config


def test_it_is_listed_for_wfsim_params_and_the_tuner() -> None:
    entry = next(e for e in tunables() if e.name == "fault_tolerance")
    assert entry.cls is FaultToleranceSettings
    assert {p.name for p in FaultToleranceSettings.parameters} >= {"max_retries", "mode", "notice", "corruption"}


@pytest.mark.parametrize("change, field, needles", [
    ({"mode": "Paxos"}, "fault_tolerance.mode", ["'Paxos'", "'ActivePassive'", "'MultiMaster'", "'none'"]),
    ({"notice": "later"}, "fault_tolerance.notice", ["'later'", "'immediate'", "'detector'"]),
    ({"max_retries": -1}, "fault_tolerance.max_retries", ["greater than or equal to 0"]),
    ({"corruption": 2.0}, "fault_tolerance.corruption", ["less than or equal to 1"]),
    ({"retries": 2}, "fault_tolerance.retries", ["unknown field", "max_retries"]),
])
def test_a_mistake_is_one_error_naming_the_field(change: dict[str, Any], field: str, needles: list[str]) -> None:
    config = copy.deepcopy(BASE)
    config["fault_tolerance"].update(change)
    with pytest.raises(ConfigError) as info:
        validate_config(config, "ft.yaml")
    assert info.value.field == field
    for needle in needles:
        assert needle in str(info.value)


def test_cli_reports_it_as_one_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = copy.deepcopy(BASE)
    config["fault_tolerance"]["mode"] = "Paxos"
    path = write(tmp_path, config)
    rc, out, err = cli(capsys, "validate", path)
    assert_user_error(rc, err, str(path), "fault_tolerance.mode", "'Paxos'")
    assert out == ""
