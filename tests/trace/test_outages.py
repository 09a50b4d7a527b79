"""The intervals of the fault tables (wfsim.trace.outages): crashes paired with their
recoveries, partitions with their heals, link outages and suspicions; intervals still
open at the end of the run end at the horizon, marked open."""

from __future__ import annotations

import pandas as pd

from wfsim.trace.outages import fault_nodes, link_outages, node_outages, partition_spans, suspicions

from fault_tables_support import base_trace, with_tables

NODES = base_trace().nodes["id"].astype(str).tolist()


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return list(frame[list(columns)].itertuples(index=False, name=None))


def test_the_nodes_a_fault_names():
    assert fault_nodes("edge-0", None, NODES) == ("edge-0",)
    assert fault_nodes("site-0", "edge-0, device-0,nowhere", NODES) == ("edge-0", "device-0")
    assert fault_nodes("edge-1,device-1", pd.NA, NODES) == ("edge-1", "device-1")
    assert fault_nodes("site-9", None, NODES) == ()


def test_crashes_pair_with_the_next_recovery_of_the_same_node():
    trace = with_tables(faults=[
        (1.0, "recover", "edge-1", "crashes", None),                 # nothing to end: ignored
        (2.0, "crash", "edge-0", "crashes", None), (3.0, "crash", "edge-0", "crashes", None),  # already down
        (4.0, "recover", "edge-0", "crashes", None), (5.0, "crash", "site", "sites", "edge-1,device-1"),
        (6.0, "recover", "site", "sites", "edge-1,device-1"), (7.0, "crash", "regional-0", "crashes", None)])
    got = node_outages(trace).sort_values(["start", "node"])
    assert rows(got, "node", "start", "end", "open") == [
        ("edge-0", 2.0, 4.0, False), ("device-1", 5.0, 6.0, False), ("edge-1", 5.0, 6.0, False),
        ("regional-0", 7.0, trace.horizon, True)]


def test_partitions_list_their_nodes_until_their_heal():
    trace = with_tables(faults=[(2.0, "partition", "p", "partitions", "edge-0,device-0"),
                                (5.0, "heal", "p", "partitions", None),
                                (6.0, "partition", "q", "partitions", "edge-1")])
    got = partition_spans(trace)
    assert rows(got, "partition", "node", "start", "end", "open") == [
        ("p", "edge-0", 2.0, 5.0, False), ("p", "device-0", 2.0, 5.0, False), ("q", "edge-1", 6.0, trace.horizon, True)]


def test_link_outages_and_suspicions():
    trace = with_tables(
        faults=[(1.0, "link_down", "edge-0~regional-0", "links", None),
                (3.0, "link_up", "edge-0~regional-0", "links", None)],
        detections=[(2.0, "edge-0", "Partitioned", 1), (4.0, "edge-0", "Failed", 3), (6.0, "edge-0", "Healthy", 0),
                    (7.0, "edge-1", "Partitioned", 1)])
    assert rows(link_outages(trace), "link", "a", "b", "start", "end", "open") == [
        ("edge-0~regional-0", "edge-0", "regional-0", 1.0, 3.0, False)]
    assert rows(suspicions(trace), "node", "state", "start", "end", "open") == [
        ("edge-0", "Partitioned", 2.0, 4.0, False), ("edge-0", "Failed", 4.0, 6.0, False),
        ("edge-1", "Partitioned", 7.0, trace.horizon, True)]


def test_a_run_without_faults_has_no_intervals():
    trace = base_trace()
    assert all(f(trace).empty for f in (node_outages, partition_spans, link_outages, suspicions))
