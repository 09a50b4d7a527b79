"""Tests of the WfFormat (WfCommons) importer, wfsim.workloads.wfcommons."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from wfsim import Link, Node, Periodic, PlacementStrategy, Simulation, Tier, Topology, Workflow, Workload
from wfsim.model.workflow import WorkflowValidationError
from wfsim.workloads.wfcommons import DEFAULT_SPEED, load_wfformat, recorded_makespan, wfformat_schema

from reference_data import SHARED_WORKFLOWS, WORKFLOW_SETS, WorkflowSet, params

# Real instances (../shared/data, absent on a fresh clone) and the project's own
# (tests/data/workflows, with answers worked out independently): see reference_data.
INSTANCES = params((data, (name,)) for data in WORKFLOW_SETS for name in sorted(data.tasks))


def instance(data: WorkflowSet, name: str) -> Path:
    path = data.root / name
    if not path.is_file():
        pytest.skip(f"WfCommons instance {name} not available under {data.root.resolve()}")
    return path


# --- tiny inline WfFormat 1.5 documents ------------------------------------------------
def wfformat(
    tasks: list[dict[str, Any]],
    files: dict[str, int] | None = None,
    machines: list[dict[str, Any]] | None = None,
    makespan: float = 100.0,
) -> dict[str, Any]:
    """A WfFormat 1.5 document. Each task dict has ``id``, optional ``parents``,
    ``children``, ``inputFiles``, ``outputFiles`` and execution fields ``runtime``,
    ``cores``, ``memory``, ``machine``."""
    spec_tasks, exec_tasks = [], []
    for t in tasks:
        spec_tasks.append({
            "name": t["id"], "id": t["id"], "parents": t.get("parents", []), "children": t.get("children", []),
            "inputFiles": t.get("inputFiles", []), "outputFiles": t.get("outputFiles", []),
        })
        rec: dict[str, Any] = {"id": t["id"], "runtimeInSeconds": t.get("runtime", 10.0)}
        if "cores" in t:
            rec["coreCount"] = t["cores"]
        if "memory" in t:
            rec["memoryInBytes"] = t["memory"]
        if "machine" in t:
            rec["machines"] = [t["machine"]]
        exec_tasks.append(rec)
    execution: dict[str, Any] = {"makespanInSeconds": makespan, "executedAt": "2024-01-01T00:00:00",
                                 "tasks": exec_tasks}
    if machines:
        execution["machines"] = machines
    return {
        "name": "tiny",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {"tasks": spec_tasks,
                              "files": [{"id": k, "sizeInBytes": v} for k, v in (files or {}).items()]},
            "execution": execution,
        },
    }


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


MACHINE = {"nodeName": "m1", "cpu": {"coreCount": 8, "speedInMHz": 2000}}


# --- bundled schema ------------------------------------------------------------------
def test_bundled_schema_is_the_official_wfformat_1_5_schema():
    schema = wfformat_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schemaVersion"]["enum"] == ["1.5"]
    assert "http" not in json.dumps(schema).replace("http://json-schema.org/schema#", "")  # no remote $ref
    official = SHARED_WORKFLOWS.root / "wfcommons-schema.json"
    if official.is_file():
        assert schema == json.loads(official.read_text())


# --- real instances ------------------------------------------------------------------
@pytest.mark.parametrize(("data", "name"), INSTANCES)
def test_instance_validates_and_imports(data, name):
    path = instance(data, name)
    wf = load_wfformat(path)  # validates against the bundled schema
    doc = json.loads(path.read_text())
    assert len(wf) == data.tasks[name] == len(doc["workflow"]["specification"]["tasks"])
    assert wf.name == path.stem
    assert recorded_makespan(path) == doc["workflow"]["execution"]["makespanInSeconds"]
    expected_edges = {(p, t["id"]) for t in doc["workflow"]["specification"]["tasks"] for p in t["parents"]}
    assert {(e.source, e.target) for e in wf.edges} == expected_edges
    assert all(t.work > 0 for t in wf.tasks)
    answer = data.answers.get(name)
    if answer is not None:
        assert len(wf.edges) == answer["edges"]
        assert recorded_makespan(path) == answer["recorded_makespan_s"]
        # at the recorded machine speed the work reproduces the recorded runtimes
        speed = answer["speed_mhz"] * 1e6
        assert wf.critical_path_length(speed=speed) == pytest.approx(answer["critical_path_s"], rel=1e-12)


def critical_path_from_json(doc: dict[str, Any]) -> float:
    """Longest path of recorded runtimes over the JSON's parent/child lists,
    independently of the importer."""
    runtime = {r["id"]: r["runtimeInSeconds"] for r in doc["workflow"]["execution"]["tasks"]}
    g = nx.DiGraph()
    for t in doc["workflow"]["specification"]["tasks"]:
        g.add_edge("__start__", t["id"], weight=runtime[t["id"]])
        for p in t["parents"]:
            g.add_edge(p, t["id"], weight=runtime[t["id"]])
        for c in t["children"]:
            g.add_edge(t["id"], c, weight=runtime[c])
    return nx.dag_longest_path_length(g, weight="weight")


def machine_speed(doc: dict[str, Any]) -> float:
    (machine,) = doc["workflow"]["execution"]["machines"]
    return machine["cpu"]["speedInMHz"] * 1e6


class Spread(PlacementStrategy):
    """Task ``i`` on candidate ``i mod n``: neighbours in the DAG land on different
    nodes, so data crosses the network."""

    name = "spread"

    def place(self, run, task, cluster):
        candidates = cluster.candidates(run.spec.tasks[task], run.origin)
        return candidates[task % len(candidates)]


def single_node(speed: float, wf: Workflow) -> tuple[Topology, PlacementStrategy | None]:
    """One node with a core for every task."""
    cores = sum(t.cores for t in wf.tasks)
    return Topology([Node("big", Tier.CLOUD, cores=cores, speed=speed, memory=1e15)]), None


def free_network(speed: float, wf: Workflow) -> tuple[Topology, PlacementStrategy | None]:
    """Four such nodes in a star of links with zero latency and infinite bandwidth."""
    cores = sum(t.cores for t in wf.tasks)
    nodes = [Node(f"n{i}", Tier.CLOUD, cores=cores, speed=speed, memory=1e15) for i in range(4)]
    return Topology(nodes, [Link("n0", n.id, 0.0, float("inf")) for n in nodes[1:]]), Spread()


@pytest.mark.parametrize("topology", [single_node, free_network])
@pytest.mark.parametrize("reference_speed", [None, 1e9])
@pytest.mark.parametrize(("data", "name"), INSTANCES)
def test_simulated_makespan_is_the_recorded_critical_path(data, name, reference_speed, topology):
    path = instance(data, name)
    doc = json.loads(path.read_text())
    wf = load_wfformat(path, reference_speed=reference_speed)
    speed = reference_speed or machine_speed(doc)
    topo, placement = topology(speed, wf)
    workload = Workload("w", wf, Periodic(period=1e9), origins=[topo.nodes[0].id])
    sim = Simulation(topo, [workload], placement=placement, duration=1.0, seed=0)
    result = sim.run()
    assert result.metrics["workflows"] == {"submitted": 1, "completed": 1, "failed": 0, "running": 0}

    if topology is free_network:
        assert result.metrics["bytes_transferred"] > 0  # data really crossed the network

    expected = critical_path_from_json(doc)
    if name in data.answers:  # worked out by hand for the own instance
        assert expected == data.answers[name]["critical_path_s"]
    assert result.metrics["makespan"] == pytest.approx(expected, rel=1e-6)
    assert expected <= recorded_makespan(path)


# --- mapping, on inline fixtures ---------------------------------------------------------
def test_mapping_of_work_cores_memory_edges_and_input(tmp_path):
    doc = wfformat(
        [
            {"id": "a", "children": ["c"], "inputFiles": ["in1", "in2"], "outputFiles": ["x", "y"],
             "runtime": 3.0, "cores": 2, "memory": 1024, "machine": "m1"},
            {"id": "b", "children": ["c"], "inputFiles": ["in1"], "outputFiles": ["z"], "runtime": 5.0},
            # c declares only one parent; b -> c comes from b's children list
            {"id": "c", "parents": ["a"], "inputFiles": ["x", "y", "x", "z"], "outputFiles": ["out"],
             "runtime": 1.5, "cores": 1.5, "machine": "unknown-machine"},
            {"id": "d", "parents": ["a"], "runtime": 0.0},  # control dependency only
        ],
        files={"in1": 100, "in2": 50, "x": 7, "y": 11, "z": 13, "out": 1},
        machines=[MACHINE],
    )
    wf = load_wfformat(write(tmp_path / "tiny.json", doc))
    tasks = {t.id: t for t in wf.tasks}
    assert tasks["a"].work == 3.0 * 2000e6 * 2 and tasks["a"].cores == 2 and tasks["a"].memory == 1024
    assert tasks["b"].work == 5.0 * DEFAULT_SPEED and tasks["b"].cores == 1 and tasks["b"].memory == 0
    assert tasks["c"].cores == 2 and tasks["c"].work == 1.5 * DEFAULT_SPEED * 2  # rounded-up cores
    assert tasks["d"].work == 0
    assert {(e.source, e.target): e.nbytes for e in wf.edges} == {
        ("a", "c"): 18.0, ("b", "c"): 13.0, ("a", "d"): 0.0,
    }
    assert wf.input_bytes == 150.0  # root a reads in1 + in2; root b only in1
    assert wf.result_bytes is None
    assert wf.name == "tiny"
    # at DEFAULT_SPEED, a (recorded at 2000 MHz) takes 3 * 2 = 6 s, then c 1.5 s
    assert wf.critical_path_length(speed=DEFAULT_SPEED) == pytest.approx(6.0 + 1.5)


def test_reference_speed_and_name_override(tmp_path):
    doc = wfformat([{"id": "a", "runtime": 4.0, "cores": 3, "machine": "m1"}], machines=[MACHINE])
    wf = load_wfformat(write(tmp_path / "x.json", doc), reference_speed=5.0, name="renamed")
    assert wf.tasks[0].work == 4.0 * 5.0 * 3
    assert wf.name == "renamed"
    with pytest.raises(ValueError, match="reference_speed"):
        load_wfformat(tmp_path / "x.json", reference_speed=0)


def test_recorded_makespan_absent_is_none(tmp_path):
    doc = wfformat([{"id": "a"}])
    del doc["workflow"]["execution"]["makespanInSeconds"]
    assert recorded_makespan(write(tmp_path / "x.json", doc)) is None


def test_legacy_1_4_layout_is_converted(tmp_path):
    legacy = {
        "name": "old", "schemaVersion": "1.4",
        "workflow": {
            "makespanInSeconds": 42.0, "executedAt": "2020-01-01T00:00:00",
            "machines": [{"nodeName": "m1", "cpu": {"count": 4, "speed": 1000}}],
            "tasks": [
                {"name": "t1", "type": "compute", "runtime": 2.0, "cores": 1, "machine": "m1", "parents": [],
                 "files": [{"name": "in", "size": 10, "link": "input"}, {"name": "mid", "size": 5, "link": "output"}]},
                {"name": "t2", "type": "compute", "runtimeInSeconds": 3.0, "parents": ["t1"],
                 "files": [{"name": "mid", "sizeInBytes": 5, "link": "input"}]},
            ],
        },
    }
    path = write(tmp_path / "old.json", legacy)
    wf = load_wfformat(path)
    assert [t.id for t in wf.tasks] == ["t1", "t2"]
    assert wf.tasks[0].work == 2.0 * 1000e6 and wf.tasks[1].work == 3.0 * DEFAULT_SPEED
    assert [(e.source, e.target, e.nbytes) for e in wf.edges] == [("t1", "t2", 5.0)]
    assert wf.input_bytes == 10.0
    assert recorded_makespan(path) == 42.0


# --- bad inputs: one clear error naming the file and the field ------------------------------
def test_schema_violation_missing_task_id(tmp_path):
    doc = wfformat([{"id": "a"}])
    del doc["workflow"]["specification"]["tasks"][0]["id"]
    path = write(tmp_path / "no-id.json", doc)
    with pytest.raises(WorkflowValidationError) as err:
        load_wfformat(path)
    msg = str(err.value)
    assert str(path) in msg and "$.workflow.specification.tasks[0]" in msg and "'id' is a required property" in msg


def test_schema_violation_wrong_runtime_type(tmp_path):
    doc = wfformat([{"id": "a"}, {"id": "b", "runtime": "10"}])
    path = write(tmp_path / "bad-runtime.json", doc)
    with pytest.raises(WorkflowValidationError) as err:
        load_wfformat(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "$.workflow.execution.tasks[1].runtimeInSeconds" in msg and "is not of type 'number'" in msg


def test_several_schema_violations_give_one_error(tmp_path):
    doc = wfformat([{"id": "a", "runtime": "x"}, {"id": "b", "runtime": "y"}])
    with pytest.raises(WorkflowValidationError, match=r"and 1 more schema error"):
        load_wfformat(write(tmp_path / "two.json", doc))


def test_validate_false_skips_the_schema(tmp_path):
    doc = wfformat([{"id": "a"}])
    doc["schemaVersion"] = "1.5"
    doc["workflow"]["specification"]["tasks"][0]["name"] = ""  # minLength 1 in the schema
    path = write(tmp_path / "lax.json", doc)
    with pytest.raises(WorkflowValidationError, match=r"minLength|non-empty|should be non-empty"):
        load_wfformat(path)
    assert len(load_wfformat(path, validate=False)) == 1


def test_unknown_parent(tmp_path):
    path = write(tmp_path / "orphan.json", wfformat([{"id": "a"}, {"id": "b", "parents": ["ghost"]}]))
    with pytest.raises(WorkflowValidationError) as err:
        load_wfformat(path)
    msg = str(err.value)
    assert str(path) in msg and "$.workflow.specification.tasks[1].parents[0]" in msg and "'ghost'" in msg


def test_unknown_file(tmp_path):
    path = write(tmp_path / "nofile.json", wfformat([{"id": "a", "inputFiles": ["missing.txt"]}]))
    with pytest.raises(WorkflowValidationError, match=r"tasks\[0\]\.inputFiles\[0\]: unknown file 'missing.txt'"):
        load_wfformat(path)


def test_missing_execution_record(tmp_path):
    doc = wfformat([{"id": "a"}, {"id": "b"}])
    del doc["workflow"]["execution"]["tasks"][1]
    with pytest.raises(WorkflowValidationError,
                       match=r"norecord\.json: .*tasks\[1\]: task 'b' has no execution record"):
        load_wfformat(write(tmp_path / "norecord.json", doc))


def test_cycle(tmp_path):
    doc = wfformat([{"id": "a", "parents": ["c"]}, {"id": "b", "parents": ["a"]}, {"id": "c", "parents": ["b"]}])
    path = write(tmp_path / "cycle.json", doc)
    with pytest.raises(WorkflowValidationError) as err:
        load_wfformat(path)
    assert str(path) in str(err.value) and "cycle" in str(err.value)


def test_invalid_json(tmp_path):
    path = write(tmp_path / "broken.json", '{"name": "x", "workflow": {')
    with pytest.raises(WorkflowValidationError, match=r"broken\.json: invalid JSON at line 1 column"):
        load_wfformat(path)


def test_not_an_object(tmp_path):
    with pytest.raises(WorkflowValidationError, match=r"list\.json: \$: a WfFormat document is a JSON object"):
        load_wfformat(write(tmp_path / "list.json", "[]"))


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.json"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json"):
        load_wfformat(path)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json"):
        recorded_makespan(path)


@pytest.mark.parametrize("version", ["1.0", "1.6", "2.0"])
def test_unsupported_version_is_named(tmp_path, version):
    doc = wfformat([{"id": "a"}])
    doc["schemaVersion"] = version
    with pytest.raises(WorkflowValidationError, match=rf"\$\.schemaVersion: unsupported WfFormat version '{version}'"):
        load_wfformat(write(tmp_path / "v.json", doc))


# --- property: random DAGs round-trip ------------------------------------------------------
@st.composite
def dags(draw):
    n = draw(st.integers(1, 8))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if draw(st.booleans())]
    runtimes = draw(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=n, max_size=n))
    cores = draw(st.lists(st.integers(1, 16), min_size=n, max_size=n))
    edge_sizes = draw(st.lists(st.integers(0, 10**9), min_size=len(pairs), max_size=len(pairs)))
    shared_sizes = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    declared_by_child = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    return n, pairs, runtimes, cores, edge_sizes, shared_sizes, declared_by_child


@settings(max_examples=60, deadline=None)
@given(dags())
def test_random_dags_round_trip(dag):
    n, pairs, runtimes, cores, edge_sizes, shared_sizes, declared_by_child = dag
    tasks = [{"id": f"t{i}", "runtime": runtimes[i], "cores": cores[i], "machine": "m1",
              "parents": [], "children": [], "inputFiles": [], "outputFiles": [f"shared{i}"]} for i in range(n)]
    files = {f"shared{i}": shared_sizes[i] for i in range(n)}
    expected = {}
    for (i, j), size, by_child in zip(pairs, edge_sizes, declared_by_child):
        # each dependency is declared by one end only, or by both
        if by_child:
            tasks[j]["parents"].append(f"t{i}")
        else:
            tasks[i]["children"].append(f"t{j}")
        files[f"f{i}_{j}"] = size
        tasks[i]["outputFiles"].append(f"f{i}_{j}")
        tasks[j]["inputFiles"] += [f"f{i}_{j}", f"shared{i}"]  # shared{i} read by every child of i
        expected[(f"t{i}", f"t{j}")] = float(size + shared_sizes[i])
    doc = wfformat(tasks, files, machines=[MACHINE])

    with tempfile.TemporaryDirectory() as tmp:
        wf = load_wfformat(write(Path(tmp) / "random.json", doc))

    assert {(e.source, e.target): e.nbytes for e in wf.edges} == expected
    assert [t.id for t in wf.tasks] == [f"t{i}" for i in range(n)]
    for i, task in enumerate(wf.tasks):
        assert task.cores == cores[i]
        assert task.work == pytest.approx(runtimes[i] * 2000e6 * cores[i], rel=1e-12, abs=0)
    assert wf.input_bytes == 0.0


def test_validation_needs_no_network(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the WfFormat loader tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from wfsim.workloads import wfcommons

    wfformat_schema.cache_clear()  # re-read the bundled schema and rebuild the validator offline
    wfcommons._validator.cache_clear()
    doc = wfformat([{"id": "a", "children": ["b"]}, {"id": "b", "parents": ["a"]}], machines=[MACHINE])
    assert len(load_wfformat(write(tmp_path / "offline.json", doc))) == 2
