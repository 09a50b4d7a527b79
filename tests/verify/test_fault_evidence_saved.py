"""The fault evidence as the recorder builds it and a saved run loads it: codes and node
indices in, typed tables out, Parquet round trip; the catalog, a node formula and the
views read the loaded trace as they read the hand-written one."""

from __future__ import annotations

from matplotlib.figure import Figure

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.model.events import CRASH, FAULT_KINDS, HEAL, NODE_STATES, PARTITION, RECOVER
from wfsim.trace.trace import Trace
from wfsim.verify.catalog import check_catalog, check_formula
from wfsim.viz.data import figure_data
from wfsim.viz.timeline import GanttView, draw_gantt


def test_a_saved_run_with_faults_is_judged_and_drawn(tmp_path):
    sim = Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                     duration=20, seed=1)
    trace = sim.run().trace
    node = {name: k for k, name in enumerate(sim.topology.index)}
    state = {name: k for k, name in enumerate(NODE_STATES)}
    rec = sim.recorder
    rec.record_fault((5.0, CRASH, "edge-1", "crashes", None))
    rec.record_fault((15.0, RECOVER, "edge-1", "crashes", None))
    rec.record_fault((4.0, PARTITION, "site-0", "partitions", "edge-0,device-0,device-2"))
    rec.record_fault((12.0, HEAL, "site-0", "partitions", None))
    for t, name, s, missed in [(7.0, "edge-1", "Partitioned", 1), (9.0, "edge-1", "Failed", 3),
                               (16.0, "edge-1", "Healthy", 0), (6.0, "edge-0", "Partitioned", 1),
                               (13.0, "edge-0", "Healthy", 0)]:
        rec.record_detection((t, node[name], state[s], missed))
    rec.record_write((8.0, node["edge-0"], "k", 0, True, state["Partitioned"], node["edge-0"]))
    manifest = {**trace.manifest, "config": {"detection": {"timeout": 2.0, "check_period": 1.0},
                                             "partition_handling": {"strategy": "ReadOnly"}}}
    sim.recorder.build(sim.topology, manifest, trace.horizon).save(tmp_path)
    loaded = Trace.load(tmp_path)
    assert list(loaded.faults["kind"].cat.categories) == list(FAULT_KINDS)

    got = {v.name: v for v in check_catalog(loaded, ["P20", "P21"])}
    assert got["detection-states"].verdict == "true" and got["detection-completeness"].verdict == "true"
    assert got["write-gate"].verdict == "false" and got["write-gate"].first.entity == "edge-0"
    assert check_formula(loaded, "G(crash -> F(failed & F recover))", per="node").verdict == "true"
    assert check_formula(loaded, "G(partition -> F healthy)", per="node").violated == 2  # the devices never heartbeat

    data = figure_data(loaded)
    edge1 = int(data.row_of["edge-1"])
    assert data.down.at(10.0)[edge1] == 1 and data.down.at(15.0)[edge1] == 0
    cut = set(loaded.links["link"].astype(str)[data.links_down.at(10.0) > 0])
    assert "edge-0~regional-0" in cut and "edge-1~regional-0" in cut and "device-0~edge-0" not in cut
    drawn = draw_gantt(Figure().subplots(), data, GanttView(layers=("down", "partitions", "suspicions")))
    assert drawn.layers == {"down": 1, "partitions": 3, "suspicions": 3}
