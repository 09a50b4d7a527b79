"""Executions stopped by faults in the trace views: a replicated task's copies run at
once on several nodes, and each is one segment closed on its own node (``end``,
``lost`` or ``cancelled``), drawn dashed when stopped early."""

from __future__ import annotations

from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from wfsim import FaultToleranceSettings, Simulation, Workload, chain, hierarchical
from wfsim.viz.data import figure_data
from wfsim.viz.figures import gantt
from wfsim.viz.timeline import GanttView, draw_gantt
from wfsim.workloads.arrivals import Periodic


def replicated_trace():
    """ActiveActive with three replicas of each of two tasks; edge-0 crashes at 5 s."""
    topo = hierarchical(devices=1, edge=2, regional=0)
    sim = Simulation(topo, [Workload("w", chain(2, work=2e10, data_bytes=0), Periodic(1000.0))], duration=1,
                     seed=1, fault_tolerance=FaultToleranceSettings(mode="ActiveActive", replicas=3))
    edge = sim.nodes[topo.index["edge-0"]]

    def crash(_event):
        edge.up = False
        sim.set_health("edge-0", "Unhealthy")
        sim.executor.on_node_crash(edge)

    sim.env.timeout(5.0).callbacks.append(crash)
    return sim.run().trace


def test_each_copy_is_a_segment_closed_on_its_own_node():
    trace = replicated_trace()
    seg = figure_data(trace).segments
    ev = trace.task_events.astype({"task": str, "event": str, "node": str})
    starts = ev[ev["event"] == "start"]
    assert len(seg) == len(starts) == 6  # three copies of each task
    assert set(seg["stop"]) == {"end", "lost", "cancelled"}
    closing = ev[ev["event"].isin(["end", "lost", "cancelled"])]
    expected = sorted(zip(closing["task"], closing["node"], closing["time"], closing["event"]))
    assert sorted(zip(seg["task"], seg["node"], seg["end"], seg["stop"])) == expected
    held = trace.holdings()
    assert sorted(zip(held["task"], held["node"], held["end"])) == sorted(zip(seg["task"], seg["node"], seg["end"]))


def test_stopped_copies_are_drawn_dashed():
    trace = replicated_trace()
    ax = Figure().subplots()
    seg = figure_data(trace).segments
    drawn = draw_gantt(ax, figure_data(trace), GanttView())
    assert drawn.mode == "bars" and drawn.segments == len(seg)
    dashed = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_zorder() == 2
              and c.get_linestyle()[0][1] is not None]
    stopped = int(seg["stop"].isin(["lost", "cancelled"]).sum())
    assert stopped == 4 and sum(len(c.get_paths()) for c in dashed) == stopped
    assert gantt(trace) is not None
