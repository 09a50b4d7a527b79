"""The ``consistency:`` group of an experiment config: every parameter, the level
strategy built by name, floors, replica nodes and tiers reach the store; ``--set``
reaches them too; and each mistake is one error naming the file, the field and what
is allowed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfsim.consistency.protocols import PROTOCOLS
from wfsim.consistency.settings import ConsistencySettings
from wfsim.experiments import ConfigError, build_simulation, load_config, validate_config
from wfsim.experiments.tunables import tunables
from wfsim.model.enums import ConsistencyLevel, Tier
from wfsim.policies.consistency import CONSISTENCY_STRATEGIES, AdaptiveConsistency, DataTypeDriven, FixedLevel

from cli_support import assert_user_error, cli

BASE: dict[str, Any] = {
    "name": "state",
    "seed": 3,
    "duration": 8,
    "topology": {"hierarchical": {"devices": 3, "edge": 2, "regional": 1}},
    "workloads": [{"name": "orders", "workflow": {"generator": "order_processing", "work": 1e8},
                   "arrivals": {"process": "poisson", "rate": 1.0}}],
    "consistency": {
        "strategy": {"name": "data_type", "params": {"default": "Causal", "types": {"payment": "Linearizable"}}},
        "floors": {"order": "Sequential"},
        "timeout_linearizable": 0.8,
        "hysteresis": 2,
        "healthy_ratio": 0.95,
        "tiers": ["RegionalCloud", "Cloud"],
    },
}


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "state.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def build(tmp_path: Path, config: dict[str, Any], overrides: list[str] | None = None) -> Any:
    path = write(tmp_path, config)
    return build_simulation(load_config(path, overrides or []), tmp_path, str(path))


def test_the_group_reaches_the_store_and_the_manifest(tmp_path: Path) -> None:
    sim = build(tmp_path, BASE)
    settings = sim.store.settings
    assert settings == ConsistencySettings(
        strategy=settings.strategy, floors={"order": "Sequential"}, timeout_linearizable=0.8, hysteresis=2,
        healthy_ratio=0.95, tiers=(Tier.REGIONAL_CLOUD, Tier.CLOUD))
    assert isinstance(settings.strategy, DataTypeDriven)
    assert settings.strategy.params() == {"default": "Causal"}
    assert settings.strategy.types == {"payment": "Linearizable"}
    # Replicas on the two tiers named only (FullReplication): the regional cloud and the cloud.
    assert {sim.topology.nodes[i].tier for i in sim.store.replicas} == {Tier.REGIONAL_CLOUD, Tier.CLOUD}
    trace = sim.run().trace
    assert trace.manifest["config"]["consistency"]["strategy"]["params"]["types"] == {"payment": "Linearizable"}
    levels = trace.operations.assign(kind=trace.operations["key"].astype(str).str.split(":").str[0])
    seen = {k: set(v.astype(str)) for k, v in levels.groupby("kind")["requested"]}
    assert seen == {"order": {"Sequential"}, "payment": {"Linearizable"}}  # floor raises Causal; type's own level


def test_configs_without_it_keep_no_store_and_their_manifest(tmp_path: Path) -> None:
    sim = build(tmp_path, {k: v for k, v in BASE.items() if k != "consistency"})
    assert sim.store is None and "consistency" not in sim.config


def test_defaults_are_the_settings_defaults_and_a_bare_strategy_name_works(tmp_path: Path) -> None:
    default = build(tmp_path, {**BASE, "consistency": {}}).store.settings
    assert default == ConsistencySettings(strategy=default.strategy)
    assert isinstance(default.strategy, AdaptiveConsistency)
    assert default.strategy.params() == AdaptiveConsistency().params()
    sim = build(tmp_path, {**BASE, "consistency": {"strategy": "fixed"}},
                ["consistency.strategy.params.level=Causal"])
    assert isinstance(sim.store.settings.strategy, FixedLevel) and sim.store.settings.strategy.level == "Causal"


def test_set_reaches_parameters_and_strategy_params(tmp_path: Path) -> None:
    config = copy.deepcopy(BASE)
    config["consistency"]["strategy"] = {"name": "fixed"}
    sim = build(tmp_path, config, ["consistency.timeout_linearizable=0.3", "consistency.strategy.params.level=Causal",
                                   "consistency.strategy.params.level=Eventual"])
    assert sim.store.settings.timeout_linearizable == 0.3
    assert isinstance(sim.store.settings.strategy, FixedLevel) and sim.store.settings.strategy.level == "Eventual"
    sim = build(tmp_path, BASE, ["consistency.strategy.params.types.order=Eventual"])
    assert sim.store.settings.strategy.types == {"payment": "Linearizable", "order": "Eventual"}


def test_cli_validate_takes_the_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {**BASE, "consistency": {"strategy": {"name": "fixed"}}})
    rc, out, err = cli(capsys, "validate", path, "--set", "consistency.timeout_linearizable=0.8",
                       "--set", "consistency.strategy.params.level=Causal")
    assert rc == 0 and "ok" in out, err


def _error(config: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_simulation(validate_config(config, "state.yaml"), ".", "state.yaml")
    return info.value


def _with(**group: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    config["consistency"].update(group)
    return config


@pytest.mark.parametrize("config, field, needles", [
    (_with(floors={"order": "Strong"}), "consistency.floors.order",
     ["'Strong'", "'Linearizable'", "'Sequential'", "'Causal'", "'Eventual'"]),
    (_with(strategy={"name": "strongest"}), "consistency.strategy.name",
     ["'strongest'", *(f"'{name}'" for name in CONSISTENCY_STRATEGIES)]),
    (_with(strategy={"name": "fixed", "params": {"level": "Strong"}}), "consistency.strategy.params",
     ["level must be one of Linearizable, Sequential, Causal, Eventual", "'Strong'"]),
    (_with(strategy={"name": "data_type", "params": {"types": {"cart": "Strong"}}}), "consistency.strategy.params",
     ["types.cart", "'Strong'", "Linearizable"]),
    (_with(strategy={"name": "data_type", "params": {"level": "Causal"}}), "consistency.strategy.params",
     ["unknown parameter(s) level", "allowed: default, types"]),
    (_with(strategy={"name": "adaptive", "params": {"types": {"cart": "Causal"}}}), "consistency.strategy.params",
     ["unknown parameter(s) types", "allowed: healthy, degraded, critical, emergency"]),
    (_with(replication="Custom"), "consistency.replication", ["Custom needs nodes"]),
    (_with(replication="Custom", nodes=["cloud", "edge-9"]), "consistency.nodes[1]", ["edge-9"]),
    (_with(replication="Quorum"), "consistency.replication", ["'Quorum'", "'FullReplication'", "'Custom'"]),
    (_with(election_timeout_min=0.3, election_timeout_max=0.2), "consistency.election_timeout_min",
     ["must be below election_timeout_max"]),
    (_with(healthy_ratio=0.6, degraded_ratio=0.7), "consistency.healthy_ratio",
     ["healthy_ratio >= degraded_ratio >= critical_ratio"]),
    (_with(timeout_causal=5.0), "consistency.timeout_causal", ["less than or equal to 2"]),
    (_with(tiers=["EdgeDevice"]), "consistency.tiers", ["no node of the state tiers (EdgeDevice)"]),
    (_with(timeout=1.0), "consistency.timeout", ["unknown field", "timeout_linearizable"]),
    ({**_with(), "fault_tolerance": {"max_retries": 1}}, "consistency", ["fault_tolerance"]),
])
def test_a_mistake_is_one_error_naming_the_field(config: dict[str, Any], field: str, needles: list[str]) -> None:
    error = _error(config)
    assert error.field == field, error
    assert error.source == "state.yaml"
    for needle in needles:
        assert needle in str(error), (needle, str(error))


def test_a_level_no_protocol_serves_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(PROTOCOLS, ConsistencyLevel.LINEARIZABLE)
    error = _error(_with(strategy={"name": "fixed", "params": {"level": "Linearizable"}}, fallback=False))
    assert error.field == "consistency" and "no protocol serves level Linearizable" in str(error)


def test_cli_reports_each_as_one_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, _with(election_timeout_min=0.3, election_timeout_max=0.2))
    rc, _, err = cli(capsys, "validate", path)
    assert_user_error(rc, err, str(path), "consistency.election_timeout_min", "election_timeout_max")
    path = write(tmp_path, BASE)
    rc, _, err = cli(capsys, "validate", path, "--set", "consistency.strategy.params.types.cart=Strong")
    assert_user_error(rc, err, "--set consistency.strategy.params.types.cart=Strong", "types.cart", "Linearizable")


def test_the_group_and_strategies_are_listed_for_wfsim_params_and_the_tuner(
        capsys: pytest.CaptureFixture[str]) -> None:
    entries = {(e.axis, e.name): e for e in tunables()}
    assert entries["settings", "consistency"].cls is ConsistencySettings
    assert entries["settings", "consistency"].key == "consistency"
    for name, cls in CONSISTENCY_STRATEGIES.items():
        assert entries["consistency", name].cls is cls
        assert entries["consistency", name].key == "consistency.strategy.params"
    rc, out, _ = cli(capsys, "params", "consistency", "adaptive")
    assert rc == 0
    assert "settings consistency (ConsistencySettings; under consistency)" in out
    assert "consistency adaptive (AdaptiveConsistency; under consistency.strategy.params)" in out
    assert all(f"    {p.name} " in out for p in (*ConsistencySettings.parameters, *AdaptiveConsistency.parameters))


SHIPPED = Path(__file__).resolve().parents[2] / "experiments"


def test_the_shipped_spectrum_builds_and_the_sweep_plans_each_level_with_and_without_a_partition() -> None:
    from wfsim.experiments.batchfile import load_plan

    path = SHIPPED / "consistency-spectrum.yaml"
    sim = build_simulation(load_config(path), path.parent, str(path))
    assert isinstance(sim.store.settings.strategy, AdaptiveConsistency) and sim.store.settings.clients > 0
    assert len(sim.store.replicas) == len(sim.topology.nodes_of(Tier.EDGE_CLOUD, Tier.REGIONAL_CLOUD, Tier.CLOUD))
    plan = load_plan(SHIPPED / "consistency-sweep.yaml")  # every scenario validated and built
    assert len(plan.specs) == len(plan.scenarios) * len(plan.seeds) and len(plan.seeds) >= 3
    strategies = {}
    for spec in plan.specs:
        group = spec.config["consistency"]["strategy"]
        level = group.get("params", {}).get("level", group["name"])
        strategies[spec.scenario] = (level, len(spec.config.get("faults", [])))
    expected = {"linearizable": "Linearizable", "sequential": "Sequential", "causal": "Causal",
                "eventual": "Eventual", "adaptive": "adaptive"}
    assert strategies == {**{name: (level, 1) for name, level in expected.items()},
                          **{f"{name}-nopart": (level, 0) for name, level in expected.items()}}
