"""The health layer of the Gantt chart on a run whose nodes never changed health."""

from __future__ import annotations

from matplotlib.figure import Figure

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.viz.data import figure_data
from wfsim.viz.layers import GANTT_LAYERS
from wfsim.viz.timeline import GanttView, draw_gantt


def test_a_run_without_health_changes_draws_no_health_band():
    trace = Simulation(hierarchical(devices=2, edge=1, regional=1), [Workload("w", chain(2), Poisson(0.5))],
                       duration=10, seed=1).run().trace
    assert not (trace.states["kind"].astype(str) == "health").any()
    assert GANTT_LAYERS["health"].build(trace).empty
    drawn = draw_gantt(Figure().subplots(), figure_data(trace), GanttView(layers=("health",)))
    assert not drawn.layers["health"]
