"""The table declarations (wfsim.trace.tables) against what runs build, save and load."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wfsim import Link, Node, Periodic, Simulation, Task, Tier, Topology, Trace, Workflow, Workload
from wfsim.experiments.building import build_simulation
from wfsim.experiments.loading import load_config
from wfsim.trace.rundir import RunDirectoryError, check_run
from wfsim.trace.tables import CATEGORY, DECLARATIONS, DECLARED, INT, STR, TABLES, Column, Table

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


@pytest.fixture(scope="module")
def full() -> Trace:
    """The maintenance experiment (migrations, allocations, rebalances, node states)
    with one violation added, so that every table has rows."""
    sim = build_simulation(load_config(EXPERIMENTS / "maintenance.yaml"), base_dir=EXPERIMENTS)
    trace = sim.run().trace
    # No shipped scenario breaks a contract: record one by hand and build again.
    sim.recorder.violations.append((1.0, "lifecycle", "0", "Completed -> Running"))
    # The fault tables get one row each, so their build is checked on every table kind.
    rec = sim.recorder
    rec.record_fault((2.0, 0, "edge-0", "crashes", None))
    rec.record_detection((3.0, 1, 2, 1))
    rec.record_recovery((4.0, 1, 2, 0))
    rec.record_task_fault((2.0, 0, 0, 1, 0, 0, 1e9))
    rec.record_connectivity((5.0, 1, 3, 3))
    rec.record_decision((5.0, 1, 0, 0, 2, 1, float("nan"), 3.5))
    rec.record_write((6.0, 1, "counter:1", 0, False, 2, 1))
    rec.record_lease((7.0, "leader", 1, 0, 17.0))
    # The replicated-state tables too: one finished and one unanswered operation.
    rec.record_operation([0, 0, 0, "0/0", 1, "order:0", 1, "0", None, 0, 0, 1.0, 1.2, 0, None])
    rec.record_operation([1, 1, 0, "0/1", 1, "order:0", 0, None, None, 0, 0, 1.5, float("nan"), -1, None])
    rec.record_health((10.0, 3, 3, 0.05, 0, 0))
    rec.record_raft((0.3, 1, 2, 1, -1, -1))
    rec.record_resolution((8.0, 1, "order:0", 3, "lww", 2, 1))
    rec.replicas.append((3, "order:0", 1, "0"))
    rec.messages.append((0, "append", 10, 9, 1, 640.0))
    return sim.recorder.build(sim.topology, trace.manifest, trace.horizon)


@pytest.fixture(scope="module")
def empty() -> Trace:
    """A run in which no workflow arrives."""
    nodes = [Node("n", Tier.CLOUD, cores=2), Node("e", Tier.EDGE_CLOUD)]
    never = Workload("w", Workflow("one", [Task("t")]), Periodic(1.0, phase=100.0), origins=["n"])
    return Simulation(Topology(nodes, [Link("n", "e")]), [never], duration=5.0).run().trace


def test_every_declared_table_is_built_with_its_columns_and_dtypes(full: Trace) -> None:
    assert [name for name in TABLES if not len(getattr(full, name))] == []
    assert {t.name: t.problems(getattr(full, t.name)) for t in DECLARATIONS} == {key: [] for key in TABLES}


def test_an_empty_run_builds_the_declared_tables(empty: Trace) -> None:
    assert {t.name: t.problems(getattr(empty, t.name)) for t in DECLARATIONS} == {key: [] for key in TABLES}
    assert [name for name in TABLES if len(getattr(empty, name))] == ["nodes", "links"]


def test_a_saved_run_loads_as_declared(full: Trace, empty: Trace, tmp_path: Path) -> None:
    for label, trace in (("full", full), ("empty", empty)):
        loaded = Trace.load(trace.save(tmp_path / label))
        assert {t.name: t.problems(getattr(loaded, t.name)) for t in DECLARATIONS} == {key: [] for key in TABLES}


def test_the_static_tables_are_the_model_fields() -> None:
    # The build picks the declared columns out of Topology.to_dict(): a field added to
    # Node or Link must be declared, or it would be left out of the trace unnoticed.
    assert DECLARED["nodes"].names == [f.name for f in dataclasses.fields(Node)]
    assert DECLARED["links"].names == ["link"] + [f.name for f in dataclasses.fields(Link)]


def test_trace_fields_and_docstring_come_from_the_declarations() -> None:
    names = [f.name for f in dataclasses.fields(Trace)]
    assert sorted(names) == sorted([*TABLES, "manifest"]) and names[-1] == "manifest"
    doc = inspect.cleandoc(Trace.__doc__ or "")
    assert "{tables}" not in doc
    for table in DECLARATIONS:
        entry = doc.split(f"\n    {table.name}: ", 1)[1].split("\n    manifest:")[0]
        for column in table.names:
            assert f"``{column}``" in entry, (table.name, column)


def test_optional_tables_default_to_their_empty_declaration(full: Trace) -> None:
    required = {t.name: getattr(full, t.name) for t in DECLARATIONS if not t.optional}
    trace = Trace(**required)
    optional = [t for t in DECLARATIONS if t.optional]
    # Runs saved by the first release hold exactly these; every later table is optional.
    assert set(required) == {"workflows", "task_specs", "task_edges", "workflow_events", "task_events",
                             "transfers", "link_usage", "states", "violations", "nodes", "links"}
    for table in optional:
        frame = getattr(trace, table.name)
        assert len(frame) == 0 and table.problems(frame) == []
    with pytest.raises(TypeError):
        Trace(**{name: frame for name, frame in required.items() if name != "nodes"})


def test_a_run_saved_before_an_optional_table_existed_loads(full: Trace, tmp_path: Path) -> None:
    run = full.save(tmp_path / "old")
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["files"]["trace/rebalances.parquet"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "trace" / "rebalances.parquet").unlink()
    loaded = Trace.load(run)
    assert len(loaded.rebalances) == 0 and DECLARED["rebalances"].problems(loaded.rebalances) == []
    pd.testing.assert_frame_equal(loaded.migrations, full.migrations)


def test_a_run_without_a_required_table_is_refused(full: Trace, tmp_path: Path) -> None:
    run = full.save(tmp_path / "damaged")
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["files"]["trace/task_events.parquet"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "trace" / "task_events.parquet").unlink()
    with pytest.raises(RunDirectoryError, match=r"does not list trace/task_events\.parquet"):
        check_run(run)


def test_frame_names_types_and_decodes() -> None:
    table = Table("t", "A test table.", (
        Column("id", INT), Column("who", STR),
        Column("state", CATEGORY, categories=("on", "off")), Column("node", CATEGORY),
    ))
    frame = table.frame(np.array([1.0, 2.0]), ["a", "b"], np.array([1, -1]), ["x", "x"])
    assert table.problems(frame) == []
    assert frame["state"].cat.codes.tolist() == [1, -1]  # code -1: missing
    assert frame["id"].tolist() == [1, 2] and list(frame["node"].cat.categories) == ["x"]
    assert table.problems(frame.astype({"id": "float64"})) == ["id: float64, declared int64"]
    assert table.problems(frame[["who", "id", "state", "node"]])[0].startswith("columns")
    assert table.problems(table.empty()) == [] and len(table.empty()) == 0
    with pytest.raises(TypeError, match="2 arrays"):
        table.frame([1], ["a"])


def test_a_column_kind_must_be_known() -> None:
    with pytest.raises(ValueError, match="kind 'float'"):
        Column("x", "float")
    with pytest.raises(ValueError, match="only a category column"):
        Column("x", INT, categories=("a",))
