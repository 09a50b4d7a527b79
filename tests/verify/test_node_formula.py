"""check_formula(..., per="node"): a user's LTLf formula over each node's events, on
hand-written fault tables and on a real run, against pandas computing the same fact."""

from __future__ import annotations

import dataclasses

import pytest

from wfsim.verify.catalog import check_formula
from wfsim.verify.catalog.common import NODE_ATOMS, node_projection
from wfsim.verify.properties import TraceView

from fault_tables_support import base_trace, with_tables

FAULTS = [(5.0, "crash", "edge-0", "crashes", None), (5.0, "crash", "edge-1", "crashes", None),
          (15.0, "recover", "edge-0", "crashes", None),
          (6.0, "partition", "site-1", "partitions", "edge-1,device-1,device-3"),
          (12.0, "heal", "site-1", "partitions", None), (7.0, "link_down", "edge-0~regional-0", "links", None)]
DETECTIONS = [(6.0, "edge-0", "Partitioned", 1), (8.0, "edge-0", "Failed", 3), (16.0, "edge-0", "Healthy", 0)]
RECOVERIES = [(16.0, "edge-0", "Restart", "start"), (16.5, "edge-0", "Restart", "done")]


@pytest.fixture(scope="module")
def faulty():
    return with_tables(faults=FAULTS, detections=DETECTIONS, recoveries=RECOVERIES,
                       connectivity=[(7.0, "edge-0", "Disconnected", "FullyAutonomous")],
                       decisions=[(7.5, "edge-0", 0, "t0", "fallback", "UseCache", float("nan"), 1.0)],
                       writes=[(9.0, "edge-1", "k", 0, False, "Healthy", "edge-1")],
                       leases=[(1.0, "leader", "regional-0", "acquire", 11.0)])


def test_a_crash_detected_holds_where_it_was_and_fails_where_it_was_not(faulty):
    got = check_formula(faulty, "G(crash -> F failed)", per="node")
    assert got.verdict == "false" and got.unit == "nodes" and got.checked == len(faulty.nodes)
    assert got.violated == 1 and got.first.entity_kind == "node" and got.first.entity == "edge-1"
    assert got.first.time == 5.0 and [e["what"] for e in got.first.events][:2] == ["crash", "partition"]
    assert check_formula(faulty, "G(failed -> F(healthy & F(restart & F recovered)))", per="node").verdict == "true"


def test_each_table_gives_its_atoms_to_the_right_node(faulty):
    steps = {node: node_projection(TraceView(faulty)).labels(k)
             for k, node in enumerate(faulty.nodes["id"].astype(str))}
    assert [s for s in steps["edge-0"] if not s.startswith(("start@", "end@"))] == [
        "crash@5", "partitioned@6", "link_down@7", "disconnected+fully_autonomous@7", "fallback+use_cache@7.5",
        "failed@8", "recover@15", "healthy@16", "restart@16", "restart+recovered@16.5"]
    assert [s for s in steps["device-3"] if "@" in s and s.split("@")[0] in ("partition", "heal")] == [
        "partition@6", "heal@12"]                          # a heal without a list heals its partition's nodes
    assert "link_down@7" in steps["regional-0"] and "acquire@1" in steps["regional-0"]
    assert "write_refused@9" in steps["edge-1"]


def test_a_node_formula_agrees_with_pandas_on_a_real_run():
    trace = base_trace()
    te = trace.task_events
    ran = set(te.loc[te["event"] == "start", "node"].astype(str))
    got = check_formula(trace, "G !start", per="node")
    assert got.violated == len(ran) > 0 and got.checked == len(trace.nodes)
    # Every execution that starts on a node ends there (the run ended idle).
    assert check_formula(trace, "G(start -> F end)", per="node").verdict == "true"
    per_node = te[te["event"].isin(["start", "end"])].groupby(te["node"].astype(str), observed=True)["event"]
    assert all((events == "start").sum() == (events == "end").sum() for _, events in per_node)


def test_pandas_counts_the_nodes_whose_crashes_are_never_followed_by_a_recovery(faulty):
    f = faulty.faults
    crash = f[f["kind"] == "crash"].groupby("target")["time"].max()
    recover = f[f["kind"] == "recover"].groupby("target")["time"].max().reindex(crash.index)
    unrecovered = int((recover.isna() | (recover < crash)).sum())
    assert check_formula(faulty, "G(crash -> F recover)", per="node").violated == unrecovered == 1


def test_an_unknown_atom_is_refused_with_the_atoms_listed(faulty):
    with pytest.raises(ValueError, match="no atom crashed; its atoms: crash, recover"):
        check_formula(faulty, "G(crashed -> F failed)", per="node")
    assert len(set(NODE_ATOMS)) == len(NODE_ATOMS)
    with pytest.raises(ValueError, match="per must be one of"):
        check_formula(faulty, "G crash", per="link")


def test_a_truncated_run_leaves_a_late_obligation_open(faulty):
    late = with_tables(faulty, faults=[(faulty.horizon - 0.1, "crash", "edge-1", "crashes", None)])
    late = dataclasses.replace(late, manifest={**late.manifest, "truncated": True})
    assert check_formula(late, "G(crash -> F failed)", per="node").verdict == "inconclusive"
    assert check_formula(late, "G(crash -> F failed)", per="node", liveness=False).verdict == "false"
