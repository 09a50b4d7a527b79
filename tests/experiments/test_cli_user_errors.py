"""Every user error of ``wfsim run`` / ``wfsim validate`` / ``wfsim info``.

The issue: a user error (bad YAML, unknown field or strategy name, value out of
range, missing file) exits with status 2 and one message naming the file, the field
and what is allowed: no traceback, and nothing half-written in DIR.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfsim.policies.registry import PLACEMENT_STRATEGIES, SCHEDULING_POLICIES
from wfsim.workloads.generators import GENERATORS

from cli_support import assert_user_error, cli, tree

BASE: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "duration": 4,
    "placement": "earliest_finish_time",
    "topology": {"hierarchical": {"devices": 2, "edge": 1, "regional": 1}},
    "workloads": [
        {
            "name": "w",
            "workflow": {"generator": "chain", "length": 2, "work": 1e9},
            "arrivals": {"process": "poisson", "rate": 0.5},
        }
    ],
}
NODES = [{"id": "a", "tier": "Cloud"}, {"id": "b", "tier": "EdgeCloud"}]
TASKS = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
TIERS = ["LocalDevice", "EdgeDevice", "EdgeCloud", "RegionalCloud", "Cloud"]








def _wl(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["workloads"][0].update(fields)


def _top(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: c.update(fields)


def _nested(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(c: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = c
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return apply


# Each case: id -> (how to make the config, files to add next to it, needles in the message).
# A case's config is a mutation of BASE, or raw text (str), or None for "no file at all".
CASES: dict[str, tuple[Any, dict[str, str], list[str]]] = {
    "invalid-yaml": ("name: x\nseed: 1\n  bad: indent\n", {}, ["invalid YAML", "line 3"]),
    "unclosed-bracket": ("name: x\nworkloads: [\n  {a: 1}\n", {}, ["invalid YAML", "line 4"]),
    "top-level-list": ("- name: x\n- seed: 1\n", {}, ["mapping", "top level"]),
    "empty-file": ("", {}, ["mapping"]),
    "missing-file": (None, {}, ["cannot read file"]),
    "unknown-top-level-field": (_top(bogus=1), {}, ["bogus", "unknown field"]),
    "unknown-nested-field": (_nested("workloads.0.arrivals.bogus", 1), {},
                             ["workloads[0].arrivals.bogus", "unknown field"]),
    "unknown-topology-field": (_nested("topology.hierarchical.cpus", 4), {},
                               ["topology.hierarchical.cpus", "unknown field"]),
    "missing-required-field": (lambda c: c.pop("topology"), {}, ["topology", "required"]),
    "unknown-placement-strategy": (_top(placement="teleport"), {},
                                   ["placement.strategy", "'teleport'", "allowed:", *PLACEMENT_STRATEGIES]),
    "unknown-placement-strategy-mapping": (_top(placement={"strategy": "teleport"}), {},
                                           ["placement.strategy", "'teleport'", *PLACEMENT_STRATEGIES]),
    "unknown-placement-parameter": (_top(placement={"strategy": "nearest_edge", "params": {"alpha": 1}}), {},
                                    ["placement.params", "alpha", "allowed"]),
    "unknown-placement-key": (_top(placement={"strategy": "nearest_edge", "alpha": 1}), {},
                              ["placement.alpha", "unknown field"]),
    "unknown-scheduling": (_top(scheduling="lifo"), {},
                           ["scheduling.strategy", "'lifo'", *SCHEDULING_POLICIES]),
    "unknown-network-fidelity": (_top(network="slow"), {}, ["network", "'slow'", "'fast'", "'shared'"]),
    "negative-duration": (_top(duration=-1), {}, ["duration", "greater than or equal to 0", "-1"]),
    "negative-seed": (_top(seed=-5), {}, ["seed", "greater than or equal to 0"]),
    "zero-until": (_top(until=0), {}, ["until", "greater than 0"]),
    "rate-zero": (_nested("workloads.0.arrivals.rate", 0), {},
                  ["workloads[0].arrivals.rate", "greater than 0", "got 0"]),
    "negative-period": (_wl(arrivals={"process": "periodic", "period": -2}), {},
                        ["workloads[0].arrivals.period", "greater than 0"]),
    "unknown-arrival-process": (_wl(arrivals={"process": "bursty", "rate": 1}), {},
                                ["workloads[0].arrivals", "bursty", "'poisson'", "'periodic'", "'mmpp'", "'trace'"]),
    "mmpp-all-rates-zero": (_wl(arrivals={"process": "mmpp", "rates": [0, 0], "mean_sojourn": [1, 1]}), {},
                            ["workloads[0].arrivals", "one > 0"]),
    "no-workloads": (_top(workloads=[]), {}, ["workloads", "at least 1"]),
    "bad-tier-in-hierarchical-nodes": (_nested("topology.hierarchical.nodes", {"Edge": {"cores": 2}}), {},
                                       ["topology.hierarchical.nodes", "'Edge'", *TIERS]),
    "bad-link-level-in-hierarchical": (_nested("topology.hierarchical.links", {"edge-device": {"latency": 1}}),
                                       {}, ["topology.hierarchical.links", "'edge-device'", "'device-edge'"]),
    "zero-edge-nodes": (_nested("topology.hierarchical.edge", 0), {},
                        ["topology.hierarchical.edge", "greater than or equal to 1"]),
    "topology-two-forms": (_nested("topology.nodes", NODES), {}, ["topology", "exactly one of", "hierarchical"]),
    "topology-no-form": (_top(topology={}), {}, ["topology", "exactly one of"]),
    "link-unknown-node": (_top(topology={"nodes": NODES, "links": [{"a": "a", "b": "zz"}]}), {},
                          ["topology", "unknown node 'zz'"]),
    "duplicate-node-ids": (_top(topology={"nodes": [*NODES, {"id": "a", "tier": "Cloud"}],
                                          "links": [{"a": "a", "b": "b"}]}), {},
                           ["topology", "duplicate node id 'a'"]),
    "bad-node-tier": (_top(topology={"nodes": [{"id": "a", "tier": "Sky"}]}), {},
                      ["topology.nodes[0].tier", "'Sky'", *TIERS]),
    "zero-node-speed": (_top(topology={"nodes": [{"id": "a", "tier": "Cloud", "speed": 0}]}), {},
                        ["topology.nodes[0].speed", "greater than 0"]),
    "missing-topology-file": (_top(topology={"file": "nope.yaml"}), {},
                              ["topology.file", "nope.yaml", "cannot read"]),
    "unknown-generator": (_wl(workflow={"generator": "spiral"}), {},
                          ["workloads[0].workflow.generator", "'spiral'", *GENERATORS]),
    "unknown-generator-parameter": (_wl(workflow={"generator": "chain", "lenght": 3}), {},
                                    ["workloads[0].workflow", "lenght", "allowed:", "length", "work",
                                     "data_bytes"]),
    "non-numeric-generator-parameter": (_wl(workflow={"generator": "chain", "length": "three"}), {},
                                        ["workloads[0].workflow.length", "integer", "'three'"]),
    "non-numeric-generator-work": (_wl(workflow={"generator": "fork_join", "work": "lots"}), {},
                                   ["workloads[0].workflow.work", "number", "'lots'"]),
    "generator-value-out-of-range": (_wl(workflow={"generator": "chain", "length": 0}), {},
                                     ["workloads[0].workflow", "length must be >= 1"]),
    "workflow-two-forms": (_wl(workflow={"generator": "chain", "tasks": TASKS}), {},
                           ["workloads[0].workflow", "exactly one of"]),
    "cyclic-inline-workflow": (_wl(workflow={"tasks": TASKS, "edges": [["a", "b"], ["b", "c"], ["c", "a"]]}), {},
                               ["workloads[0].workflow", "cycle"]),
    "inline-edge-unknown-task": (_wl(workflow={"tasks": TASKS, "edges": [["a", "zz"]]}), {},
                                 ["workloads[0].workflow", "unknown task 'zz'"]),
    "negative-edge-bytes": (_wl(workflow={"tasks": TASKS, "edges": [["a", "b", -5]]}), {},
                            ["workloads[0].workflow", "negative", "-5"]),
    "inline-unknown-task-field": (_wl(workflow={"tasks": [{"id": "a", "flops": 3}]}), {},
                                  ["workloads[0].workflow.tasks[0].flops", "unknown field"]),
    "inline-bad-priority": (_wl(workflow={"tasks": [{"id": "a", "priority": "Urgent"}]}), {},
                            ["workloads[0].workflow.tasks[0].priority", "'Urgent'", "'Critical'", "'Background'"]),
    "inline-specific-without-tier": (_wl(workflow={"tasks": [{"id": "a", "location": "Specific"}]}), {},
                                     ["workloads[0].workflow", "exactly one tier"]),
    "origin-unknown-node": (_wl(origins=["device-0", "nowhere"]), {}, ["workloads[0].origins", "nowhere"]),
    "trace-csv-missing": (_wl(arrivals={"process": "trace", "path": "nope.csv"}), {},
                          ["workloads[0].arrivals.path", "nope.csv", "cannot read"]),
    "trace-csv-no-time-column": (_wl(arrivals={"process": "trace", "path": "arrivals.csv"}),
                                 {"arrivals.csv": "t,origin\n1,device-0\n"},
                                 ["workloads[0].arrivals.path", "arrivals.csv", "'time' column"]),
    "trace-csv-not-a-number": (_wl(arrivals={"process": "trace", "path": "arrivals.csv"}),
                               {"arrivals.csv": "time\n1.5\nsoon\n"},
                               ["workloads[0].arrivals.path", "arrivals.csv", "line 3", "'soon'", "number"]),
    "trace-csv-negative-time": (_wl(arrivals={"process": "trace", "path": "arrivals.csv"}),
                                {"arrivals.csv": "time\n-1\n"},
                                ["workloads[0].arrivals.path", "line 2", ">= 0"]),
}


def make_case(directory: Path, case: str) -> Path:
    spec, files, _ = CASES[case]
    for name, text in files.items():
        (directory / name).write_text(text)
    path = directory / "exp.yaml"
    if spec is None:
        return path
    if isinstance(spec, str):
        path.write_text(spec)
    else:
        data = copy.deepcopy(BASE)
        spec(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


XFAIL_CASES: dict[str, str] = {}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=XFAIL_CASES[c])) if c in XFAIL_CASES else c
    for c in CASES
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str) -> None:
    cfg = make_case(tmp_path, case)
    before = tree(tmp_path)
    out_dir = tmp_path / "out"
    extra = ["--out", out_dir] if command == "run" else []
    rc, out, err = cli(capsys, command, cfg, *extra)
    assert_user_error(rc, err, str(cfg), *CASES[case][2])
    assert out == ""
    assert not out_dir.exists()
    assert tree(tmp_path) == before  # nothing written, no staging leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)


def test_cycle_message_prints_the_cycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_case(tmp_path, "cyclic-inline-workflow")
    _, _, err = cli(capsys, "validate", cfg)
    match = re.search(r"cycle: (\w) -> (\w) -> (\w) -> (\w)", err)
    assert match, err
    first, *rest = match.groups()
    assert rest[-1] == first and set(match.groups()) == {"a", "b", "c"}


@pytest.mark.parametrize("case", ["rate-zero", "unknown-placement-strategy", "bad-tier-in-hierarchical-nodes",
                                  "trace-csv-not-a-number", "cyclic-inline-workflow"])
def test_user_error_leaves_existing_run_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  case: str) -> None:
    cfg = make_case(tmp_path, case)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(BASE))
    out_dir = tmp_path / "out"
    assert cli(capsys, "run", good, "--out", out_dir, "-q")[0] == 0
    before = tree(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    rc, _, err = cli(capsys, "run", cfg, "--out", out_dir)
    assert_user_error(rc, err, str(cfg), *CASES[case][2])
    assert tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == names


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_topology_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               command: str) -> None:
    """What works today: status 2, one line naming the missing file."""
    cfg = make_case(tmp_path, "missing-topology-file")
    extra = ["--out", tmp_path / "out"] if command == "run" else []
    rc, _, err = cli(capsys, command, cfg, *extra)
    assert_user_error(rc, err, str(tmp_path / "nope.yaml"), "cannot read file")
    assert not (tmp_path / "out").exists()


# --- --out and info ----------------------------------------------------------------
def test_out_existing_non_run_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    (precious / "thesis.tex").write_text("do not delete")
    (precious / "sub" / "data.csv").write_text("1,2\n")
    before = tree(precious)
    rc, _, err = cli(capsys, "run", cfg, "--out", precious)
    assert_user_error(rc, err, str(precious), "not a wfsim run directory", "refusing")
    assert tree(precious) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml", "precious"]


def test_out_partial_run_lookalike_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory with only a manifest.json is not a run and must not be replaced."""
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text("{}")
    (other / "notes.txt").write_text("mine")
    before = tree(other)
    rc, _, err = cli(capsys, "run", cfg, "--out", other)
    assert_user_error(rc, err, str(other), "not a wfsim run directory")
    assert tree(other) == before


def test_out_existing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    rc, _, err = cli(capsys, "run", cfg, "--out", target)
    assert_user_error(rc, err, str(target), "refusing")
    assert target.read_text() == "keep me"


def test_bad_config_with_non_run_out_dir_is_one_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Either message is acceptable, but it must be one line and status 2."""
    cfg = make_case(tmp_path, "rate-zero")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "a.txt").write_text("a")
    rc, _, err = cli(capsys, "run", cfg, "--out", precious)
    assert_user_error(rc, err)
    assert (precious / "a.txt").read_text() == "a"


def test_out_under_a_regular_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({**BASE, "duration": 1}))
    (tmp_path / "afile").write_text("x")
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "afile" / "run", "-q")
    assert_user_error(rc, err, "afile")
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("layout", ["missing", "empty", "files", "manifest-only", "file"])
def test_info_on_non_run_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str) -> None:
    target = tmp_path / "d"
    if layout == "file":
        target.write_text("x")
    elif layout != "missing":
        target.mkdir()
        if layout == "files":
            (target / "x.txt").write_text("x")
        if layout == "manifest-only":
            (target / "manifest.json").write_text("{}")
            (target / "trace").mkdir()
    rc, out, err = cli(capsys, "info", target)
    reason = {"missing": "no such directory", "file": "not a directory",
              "manifest-only": "manifest.json has no 'format'"}.get(layout, "no manifest.json")
    assert_user_error(rc, err, str(target), "not a wfsim run directory", reason)
    assert out == ""
    assert (layout == "missing") == (not target.exists())


@pytest.mark.parametrize("metrics", ["{", "{}"])
def test_info_on_corrupt_run_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             metrics: str) -> None:
    run = tmp_path / "run"
    (run / "trace").mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    (run / "metrics.json").write_text(metrics)
    rc, _, err = cli(capsys, "info", run)
    assert_user_error(rc, err, str(run), "not a wfsim run directory")


# --- bugs found --------------------------------------------------------------------------
def _write(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    data = copy.deepcopy(BASE)
    mutate(data)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    return cfg


def test_non_utf8_config_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_bytes(b"\xff\xfename: x\n")
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "out")
    assert_user_error(rc, err, str(cfg))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_wfcommons_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                command: str) -> None:
    cfg = _write(tmp_path, _wl(workflow={"wfcommons": "nope.json"}))
    extra = ["--out", tmp_path / "out"] if command == "run" else []
    rc, _, err = cli(capsys, command, cfg, *extra)
    assert_user_error(rc, err, str(cfg), "workloads[0].workflow", "nope.json")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("field", ["duration", "workloads.0.arrivals.rate", "until"])
def test_infinite_values_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str) -> None:
    # validate only: with the bug, `run` of an infinite duration or rate never returns
    cfg = _write(tmp_path, lambda c: None)
    rc, _, err = cli(capsys, "validate", cfg, "--set", f"{field}=.inf")
    assert_user_error(rc, err, f"--set {field}=.inf: " + field.replace(".0.", "[0]."))


TASK_PARAM_BUG = ("wfsim/experiments/building.py build_workflow(): a generator's 'task' parameter is passed to "
                  "Task() as raw YAML (strings), so task: {priority: ...} is never converted or checked: validate "
                  "says ok and `run` dies with AttributeError ('str' object has no attribute 'name') in the recorder")


def test_generator_task_priority_name_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, _wl(workflow={"generator": "chain", "length": 2, "task": {"priority": "High"}}))
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "out", "-q")
    assert rc == 0, err
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_generator_task_bad_priority_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, _wl(workflow={"generator": "chain", "length": 2, "task": {"priority": "Urgent"}}))
    rc, _, err = cli(capsys, "validate", cfg)
    assert_user_error(rc, err, str(cfg), "workloads[0].workflow", "priority", "Urgent")


def test_generator_task_unknown_key_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, _wl(workflow={"generator": "chain", "task": {"bogus": 1}}))
    rc, _, err = cli(capsys, "validate", cfg)
    assert_user_error(rc, err, str(cfg), "workloads[0].workflow", "bogus")


def test_bad_tier_field_path_has_no_pydantic_key_marker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_case(tmp_path, "bad-tier-in-hierarchical-nodes")
    _, _, err = cli(capsys, "validate", cfg)
    assert "[key]" not in err
    assert ": topology.hierarchical.nodes.Edge: " in err


def test_unknown_hierarchical_node_field_names_field_and_allowed(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, _nested("topology.hierarchical.nodes", {"Cloud": {"corez": 2}}))
    rc, _, err = cli(capsys, "validate", cfg)
    assert_user_error(rc, err, str(cfg), "topology.hierarchical.nodes.Cloud", "corez", "allowed", "cores", "speed")
