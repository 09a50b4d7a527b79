"""The ``detection:``, ``leases:`` and ``partition_handling:`` groups of an
experiment config: passed to the simulation, listed as tunables, and one clear error
per mistake."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfsim.engine.detection import DetectionSettings
from wfsim.experiments import ConfigError, build_simulation, load_config, validate_config
from wfsim.experiments.tunables import tunables

from cli_support import assert_user_error, cli

BASE: dict[str, Any] = {
    "name": "detect",
    "seed": 3,
    "duration": 10,
    "topology": {"hierarchical": {"devices": 2, "edge": 2, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2, "work": 1e8,
                                             "task": {"state_keys": ["k"]}},
                   "arrivals": {"process": "poisson", "rate": 1.0}}],
    "detection": {"period": 0.5, "timeout": 2.0, "check_period": 0.5, "monitor": "regional-0",
                  "tiers": ["EdgeCloud"]},
    "leases": {"resources": ["leader", "index"], "candidates": ["edge-1", "edge-0"], "duration": 5.0},
    "partition_handling": {"strategy": "LeaderOnly", "members": ["edge-0", "edge-1", "regional-0"]},
}


def build(tmp_path: Path, config: dict[str, Any]):
    path = tmp_path / "detect.yaml"
    path.write_text(yaml.safe_dump(config))
    return build_simulation(load_config(path), tmp_path, str(path))


def test_the_groups_reach_the_simulation_and_the_manifest(tmp_path: Path) -> None:
    sim = build(tmp_path, BASE)
    assert sim.detector.settings == DetectionSettings(period=0.5, timeout=2.0, check_period=0.5,
                                                      monitor="regional-0", tiers=("EdgeCloud",))
    assert [sim.topology.nodes[i].id for i in sim.leases.candidates] == ["edge-1", "edge-0"]
    assert sim.leases.settings.resources == ("leader", "index")
    assert sim.write_gate.strategy.value == "LeaderOnly" and len(sim.write_gate.members) == 3
    result = sim.run()
    assert result.trace.manifest["config"]["partition_handling"]["strategy"] == "LeaderOnly"
    assert result.metrics["writes"]["rejected"] == 0 and result.metrics["writes"]["accepted"] > 0
    assert result.metrics["leases"]["violations"] == 0


def test_configs_without_the_groups_keep_their_manifest(tmp_path: Path) -> None:
    config = {k: v for k, v in BASE.items() if k not in ("detection", "leases", "partition_handling")}
    sim = build(tmp_path, config)
    assert sim.detector is None and sim.write_gate is None
    assert not {"detection", "leases", "partition_handling"} & set(sim.config)


def test_the_settings_are_tunables() -> None:
    keys = {e.name: e.key for e in tunables() if e.axis == "settings"}
    assert {keys["detection"], keys["leases"], keys["partition_handling"]} == {
        "detection", "leases", "partition_handling"}


def with_(**groups: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    for group, fields in groups.items():
        if fields is None:
            config.pop(group)
        else:
            config[group].update(fields)
    return config


@pytest.mark.parametrize("config, field, needles", [
    (with_(partition_handling={"strategy": "Majority"}), "partition_handling.strategy",
     ["'Majority'", "'ReadOnly'", "'WriteLocal'", "'RejectWrites'", "'LeaderOnly'"]),
    (with_(detection={"timeout": 0}), "detection.timeout", ["greater than or equal to 0.1"]),
    (with_(detection={"tiers": ["Edge"]}), "detection.tiers[0]", ["'Edge'", "'EdgeCloud'"]),
    (with_(leases={"resources": []}), "leases.resources", ["at least 1"]),
])
def test_schema_errors_name_the_field_and_the_allowed_values(config: dict[str, Any], field: str,
                                                             needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(config, "d.yaml")
    assert info.value.field == field and str(info.value).startswith(f"d.yaml: {field}: ")
    for needle in needles:
        assert needle in str(info.value)


@pytest.mark.parametrize("config, field, needle", [
    (with_(detection={"partitioned_after": 4}), "detection", "failed_after (3) must be >= partitioned_after (4)"),
    (with_(leases={"renew_every": 5.0}), "leases", "renew_every (5.0) must be < duration (5.0)"),
    (with_(detection=None), "leases", "needs a detection: group"),
    (with_(detection={"monitor": "hq"}), "detection.monitor", "unknown node 'hq'; allowed: cloud"),
    (with_(leases={"candidates": ["edge-7"]}), "leases.candidates", "unknown node 'edge-7'"),
    (with_(partition_handling={"members": ["x"]}), "partition_handling.members", "unknown node 'x'"),
])
def test_build_errors_name_the_field(tmp_path: Path, config: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(tmp_path, config)
    assert info.value.field == field and needle in str(info.value)


def test_the_cli_reports_one_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_(partition_handling={"strategy": "Majority"})))
    rc, out, err = cli(capsys, "validate", path)
    assert_user_error(rc, err, str(path), "partition_handling.strategy", "'Majority'", "'LeaderOnly'")
    assert out == ""
