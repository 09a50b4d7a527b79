"""Config parsing niceties: YAML 1.2 style floats, the two spellings of
``placement``, and ``--set`` value parsing."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.cli import main
from wfsim.experiments import ConfigError, build_simulation, load_config, validate_config
from wfsim.experiments.loading import apply_overrides, parse_yaml

TEXT = """\
name: floats
seed: 1
duration: 1e1
placement: nearest_edge
topology:
  hierarchical: {devices: 2, edge: 1, regional: 1}
workloads:
  - name: w
    workflow: {generator: chain, length: 2, work: 1e9, data_bytes: 2.0e9, input_bytes: 5E+5}
    arrivals: {process: poisson, rate: 5e-1}
"""


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e9", 1e9), ("2.0e9", 2e9), ("1E9", 1e9), ("-3e-2", -0.03), ("+1.5e+3", 1500.0), ("2.0e+9", 2e9),
     (".5", 0.5), ("0.5", 0.5), ("1.", 1.0)],
)
def test_scientific_notation_is_float(text: str, value: float) -> None:
    parsed = parse_yaml(f"v: {text}")["v"]
    assert type(parsed) is float
    assert parsed == value


@pytest.mark.parametrize(("text", "value"), [("10", 10), ("0", 0), ("-4", -4), ("1_000", 1000)])
def test_integers_stay_integers(text: str, value: int) -> None:
    parsed = parse_yaml(f"v: {text}")["v"]
    assert type(parsed) is int and parsed == value


@pytest.mark.parametrize("text", ["1.2.3", "e9", "1e", "v1e9", "1e9x", "0.5.1"])
def test_non_numbers_stay_strings(text: str) -> None:
    assert parse_yaml(f"v: {text}")["v"] == text


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan"])
def test_special_floats_still_parse(text: str) -> None:
    parsed = parse_yaml(f"v: {text}")["v"]
    assert isinstance(parsed, float) and (math.isinf(parsed) or math.isnan(parsed))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_float_repr_round_trips(x: float) -> None:
    for text in (repr(x), f"{x:e}", f"{x:.17g}"):
        parsed = parse_yaml(f"v: {text}")["v"]
        assert isinstance(parsed, (int, float)), text
        assert parsed == float(text)


def test_scientific_notation_in_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(TEXT)
    config = load_config(path)
    assert config.duration == 10.0
    assert config.workloads[0].arrivals.rate == 0.5
    workflow = config.workloads[0].workflow.model_extra
    assert workflow == {"length": 2, "work": 1e9, "data_bytes": 2e9, "input_bytes": 5e5}
    assert all(type(workflow[k]) is float for k in ("work", "data_bytes", "input_bytes"))
    sim = build_simulation(config, tmp_path, str(path))
    assert sim.config["workloads"][0]["workflow"]["data_bytes"] == 2e9


def test_scientific_notation_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(TEXT)
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "-q", "--set", "duration=2e0"]) == 0
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["config"]["duration"] == 2.0
    assert manifest["config"]["workloads"][0]["workflow"]["work"] == 1e9


def _config(placement: Any) -> dict[str, Any]:
    data = parse_yaml(TEXT)
    data["placement"] = placement
    return data


@pytest.mark.parametrize("strategy", ["nearest_edge", "cloud_only", "earliest_finish_time"])
def test_placement_string_and_mapping_are_equivalent(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     strategy: str) -> None:
    configs = {}
    for form, placement in (("string", strategy), ("mapping", {"strategy": strategy}),
                            ("with-params", {"strategy": strategy, "params": {}})):
        path = tmp_path / f"{form}.yaml"
        path.write_text(yaml.safe_dump(_config(placement)))
        configs[form] = load_config(path)
        capsys.readouterr()
        assert main(["validate", str(path)]) == 0
        assert f"placement {strategy}" in capsys.readouterr().out
    assert configs["string"] == configs["mapping"] == configs["with-params"]
    assert configs["string"].placement.strategy == strategy
    assert configs["string"].placement.params == {}


def test_placement_forms_give_the_same_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hashes = []
    for form, placement in (("string", "nearest_edge"), ("mapping", {"strategy": "nearest_edge"})):
        path = tmp_path / f"{form}.yaml"
        path.write_text(yaml.safe_dump(_config(placement)))
        out = tmp_path / f"run-{form}"
        assert main(["run", str(path), "--out", str(out), "-q", "--set", "duration=3"]) == 0
        hashes.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "trace").iterdir()})
    assert hashes[0] == hashes[1]


def test_placement_can_be_set_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(TEXT)  # placement: nearest_edge (string form)
    assert load_config(path, ["placement=cloud_only"]).placement.strategy == "cloud_only"
    assert load_config(path, ["placement={strategy: cloud_only}"]).placement.strategy == "cloud_only"
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(_config({"strategy": "nearest_edge"})))
    assert load_config(mapping, ["placement.strategy=cloud_only"]).placement.strategy == "cloud_only"


def test_set_placement_strategy_on_string_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(TEXT)
    rc = main(["validate", str(path), "--set", "placement.strategy=cloud_only"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "placement cloud_only" in out


# --- apply_overrides -------------------------------------------------------------------
def test_overrides_do_not_mutate_input() -> None:
    data = parse_yaml(TEXT)
    before = copy.deepcopy(data)
    out = apply_overrides(data, ["duration=3", "workloads.0.arrivals.rate=2", "new.deep.key=x"])
    assert data == before
    assert out["duration"] == 3 and out["workloads"][0]["arrivals"]["rate"] == 2
    assert out["new"] == {"deep": {"key": "x"}}


def test_override_value_may_contain_equals_sign() -> None:
    out = apply_overrides({"description": ""}, ["description=a=b"])
    assert out["description"] == "a=b"


@pytest.mark.parametrize(("raw", "value"), [("2", 2), ("2.5", 2.5), ("1e3", 1000.0), ("true", True),
                                            ("abc", "abc"), ("[1, 2]", [1, 2]), ("", None)])
def test_override_values_are_yaml_scalars(raw: str, value: Any) -> None:
    assert apply_overrides({}, [f"k={raw}"])["k"] == value


@pytest.mark.parametrize("override", ["k", "=1", "l.3=1", "l.x.y=1", "s.t=1", "s.t.u=1"])
def test_bad_overrides_raise_config_error_naming_the_source(override: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides({"a": {}, "l": [1], "s": 5}, [override])
    assert str(info.value).startswith(f"--set {override}: ")


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False) | st.integers(min_value=0, max_value=10**12))
def test_set_duration_round_trips_through_validation(duration: float) -> None:
    config = validate_config(apply_overrides(parse_yaml(TEXT), [f"duration={duration!r}"]))
    assert config.duration == float(duration)


def test_enum_fields_take_the_enums_values_and_hold_plain_strings() -> None:
    from wfsim.experiments import schema
    from wfsim.model.enums import HealthStatus, NetworkFidelity, Tier

    assert get_args(schema.TierName) == tuple(t.value for t in Tier)
    assert get_args(schema.HealthName) == tuple(h.value for h in HealthStatus)
    assert get_args(schema.NetworkName) == tuple(n.value for n in NetworkFidelity)
    data = parse_yaml(TEXT)
    data.update(network="shared", health=[{"time": 1, "node": "edge-0", "status": "Degraded"}],
                autoscaling={"tiers": ["Cloud"], "provisioning": {"EdgeCloud": 2}})
    data["topology"]["hierarchical"]["nodes"] = {"RegionalCloud": {"cores": 8}}
    config = validate_config(data)
    # Strings, not enum members: run manifests and messages show them as written.
    assert type(config.network) is str and type(config.health[0].status) is str
    assert type(config.autoscaling.tiers[0]) is str and type(config.topology.hierarchical.device_tier) is str
    dumped = config.model_dump(mode="json")
    assert dumped["network"] == "shared" and dumped["health"][0]["status"] == "Degraded"
    assert dumped["autoscaling"]["tiers"] == ["Cloud"] and dumped["autoscaling"]["provisioning"] == {"EdgeCloud": 2}
    assert dumped["topology"]["hierarchical"]["nodes"]["RegionalCloud"]["cores"] == 8
    with pytest.raises(ConfigError, match="network: Input should be 'fast' or 'shared'"):
        validate_config({**data, "network": "slow"})
