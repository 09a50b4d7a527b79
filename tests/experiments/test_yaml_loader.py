"""The experiment YAML loader: duplicate keys and runaway nesting are user errors
(PyYAML keeps the last of duplicate keys silently, and composes nesting recursively
into a RecursionError)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wfsim.experiments.loading import MAX_YAML_DEPTH, read_yaml

from cli_support import assert_user_error, cli

BASE = """name: tiny
duration: 4
topology: {hierarchical: {devices: 2, edge: 1}}
workloads:
  - name: w
    workflow: {generator: chain, length: 2}
    arrivals: {process: poisson, rate: 0.5}
"""


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("text, needles", [
    pytest.param(BASE + "    arrivals: {process: poisson, rate: 5}\n",
                 ["invalid YAML at line 8, column 5", "duplicate key 'arrivals' (first at line 7)",
                  "allowed: each key once per mapping"], id="block"),
    pytest.param(BASE.replace("rate: 0.5", "rate: 0.5, rate: 9"),
                 ["invalid YAML at line 7", "duplicate key 'rate' (first at line 7)"], id="flow"),
    pytest.param(BASE + "name: other\n", ["line 8", "duplicate key 'name' (first at line 1)"], id="top-level"),
    pytest.param(BASE + "description: " + "[" * 5000 + "]" * 5000 + "\n",
                 ["invalid YAML at line 8", f"nested deeper than {MAX_YAML_DEPTH} levels; allowed: at most 64"],
                 id="deep-list"),
    pytest.param(BASE + "description: " + "{a: " * 500 + "1" + "}" * 500 + "\n",
                 [f"nested deeper than {MAX_YAML_DEPTH} levels"], id="deep-mapping"),
])
def test_bad_yaml_is_one_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                                    text: str, needles: list[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(text)
    extra = ["--out", tmp_path / "out"] if command == "run" else []
    rc, out, err = cli(capsys, command, cfg, *extra)
    assert_user_error(rc, err, f"wfsim: error: {cfg}: ", *needles)
    assert out == "" and not (tmp_path / "out").exists()


def test_duplicate_key_in_a_topology_file_names_that_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "topo.yaml").write_text("nodes: [{id: a, tier: Cloud}]\nnodes: [{id: b, tier: Cloud}]\n")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(BASE.replace("{hierarchical: {devices: 2, edge: 1}}", "{file: topo.yaml}"))
    rc, _, err = cli(capsys, "validate", cfg)
    assert_user_error(rc, err, "topology.file", "topo.yaml", "duplicate key 'nodes'")


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * (MAX_YAML_DEPTH - 1) + "]" * (MAX_YAML_DEPTH - 1) + "\n")
    value = read_yaml(path)["a"]
    for _ in range(MAX_YAML_DEPTH - 2):
        (value,) = value
    assert value == []


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    """``<<: *base`` beside a key it also sets is YAML's override, not a duplicate."""
    path = tmp_path / "merge.yaml"
    path.write_text("base: &base {process: poisson, rate: 0.5}\nfast: {<<: *base, rate: 2}\n")
    assert read_yaml(path)["fast"] == {"process": "poisson", "rate": 2}


def test_valid_yaml_reads_as_pyyaml_reads_it() -> None:
    from wfsim.experiments.loading import parse_yaml

    assert parse_yaml(BASE) == yaml.safe_load(BASE)


def test_alias_bombs_and_self_reference_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = ["a: &a [" + ", ".join(['"x"'] * 10) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    for text in ("\n".join(levels), "name: x\ndescription: &r [1, *r]\n"):
        cfg = tmp_path / "exp.yaml"
        cfg.write_text(text)
        rc, _, err = cli(capsys, "validate", cfg)
        assert_user_error(rc, err, str(cfg), "expands to more than 1000000 values")


def test_error_lines_stay_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("name: [" + ", ".join(["1"] * 5000) + "]\n")
    rc, _, err = cli(capsys, "validate", cfg)
    assert len(assert_user_error(rc, err, str(cfg), "name")) < 400
