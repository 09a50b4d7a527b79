"""The ``health:`` section of an experiment config: scheduled node health changes,
validated with one clear error per mistake and passed to the simulation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfsim.experiments import ConfigError, build_simulation, load_config, validate_config
from wfsim.model.enums import HealthStatus
from wfsim.verify.catalog import check_catalog

from cli_support import assert_user_error, cli

BASE: dict[str, Any] = {
    "name": "health",
    "seed": 3,
    "duration": 20,
    "placement": "lb_round_robin",
    "topology": {"hierarchical": {"devices": 3, "edge": 2, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 3, "work": 1e9},
                   "arrivals": {"process": "poisson", "rate": 1.0}}],
    "health": [{"time": 5, "node": "edge-0", "status": "Maintenance"},
               {"time": 12.5, "node": "edge-0", "status": "Healthy"},
               {"time": 8, "node": "edge-1", "status": "Degraded"}],
}


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "health.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def with_change(**change: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    config["health"][1].update(change)
    return config


def test_health_changes_reach_the_simulation_and_the_trace(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    sim = build_simulation(load_config(path), tmp_path, str(path))
    trace = sim.run().trace
    st = trace.states[trace.states["kind"].astype(str) == "health"]
    assert list(zip(st["time"], st["entity"].astype(str), st["state"].astype(str))) == [
        (5.0, "edge-0", "Maintenance"), (8.0, "edge-1", "Degraded"), (12.5, "edge-0", "Healthy")]
    assert trace.manifest["config"]["health"][0] == {"time": 5.0, "node": "edge-0", "status": "Maintenance",
                                                     "evacuate": False}
    assert {v.name: v.verdict for v in check_catalog(trace, ["P25"])}["lb-healthy"] == "true"


def test_configs_without_health_keep_their_manifest(tmp_path: Path) -> None:
    config = {k: v for k, v in BASE.items() if k != "health"}
    path = write(tmp_path, config)
    sim = build_simulation(load_config(path), tmp_path, str(path))
    assert "health" not in sim.config and sim.recorder.states == []


def test_a_bad_status_is_one_error_naming_the_field_and_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(with_change(status="Broken"), "h.yaml")
    assert info.value.field == "health[1].status"
    message = str(info.value)
    assert message.startswith("h.yaml: health[1].status: ") and "'Broken'" in message
    for status in HealthStatus:
        assert f"'{status.value}'" in message


@pytest.mark.parametrize("change, field, needle", [
    ({"time": -1}, "health[1].time", "greater than or equal to 0"),
    ({"time": float("inf")}, "health[1].time", "finite"),
    ({"nodes": "edge-0"}, "health[1].nodes", "unknown field; allowed: time, node, status"),
])
def test_other_field_errors(change: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(with_change(**change), "h.yaml")
    assert info.value.field == field and needle in str(info.value)


def test_an_unknown_node_is_one_error_naming_the_nodes(tmp_path: Path) -> None:
    path = write(tmp_path, with_change(node="edge-9"))
    with pytest.raises(ConfigError) as info:
        build_simulation(load_config(path), tmp_path, str(path))
    assert info.value.field == "health[1].node"
    assert "unknown node 'edge-9'; allowed: cloud, regional-0, edge-0, edge-1" in str(info.value)


@pytest.mark.parametrize("change, needles", [
    ({"status": "Broken"}, ["health[1].status", "'Broken'", "'Maintenance'"]),
    ({"node": "edge-9"}, ["health[1].node", "unknown node 'edge-9'", "allowed:"]),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_reports_health_errors_as_one_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     command: str, change: dict[str, Any],
                                                     needles: list[str]) -> None:
    path = write(tmp_path, with_change(**change))
    extra = ["--out", tmp_path / "out", "-q"] if command == "run" else []
    rc, out, err = cli(capsys, command, path, *extra)
    assert_user_error(rc, err, str(path), *needles)
    assert out == "" and not (tmp_path / "out").exists()


def test_evacuate_from_yaml_moves_work_off_the_drained_node(tmp_path: Path) -> None:
    config = copy.deepcopy(BASE)
    config["workloads"][0]["arrivals"]["rate"] = 4.0
    config["health"] = [{"time": 5, "node": "edge-0", "status": "Maintenance", "evacuate": True}]
    path = write(tmp_path, config)
    sim = build_simulation(load_config(path), tmp_path, str(path))
    trace = sim.run().trace
    m = trace.migrations
    assert len(m) and set(m["trigger"].astype(str)) == {"AvailabilityRisk"}
    assert set(m["source"].astype(str)) == {"edge-0"}
    assert all(v.verdict != "false" for v in check_catalog(trace))
