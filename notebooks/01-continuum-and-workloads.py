# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The continuum and its workloads
#
# Every wfsim experiment has two halves: **where** work can run (a continuum of
# devices, edge clouds, regional clouds and the cloud, joined by links) and **what**
# arrives to run there (workflow DAGs submitted by the devices at the times an arrival
# process draws). This notebook builds both, one piece at a time, looks at each, then
# runs them together with a workflow read from a WfCommons (WfFormat) file, and opens
# the run in the interactive explorers.

# %% tags=["parameters"]
devices = 24          # devices of the continuum (each one a submitting user)
duration = 300.0      # arrival window of the run (simulated seconds)
mosaic_period = 60.0  # one mosaic workflow every this many seconds
workflow_file = "../data/wfcommons/montage-chameleon-dss-05d-001.json"  # any WfFormat file

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd

from wfsim import (
    MMPP,
    EarliestFinishTime,
    Periodic,
    Poisson,
    Simulation,
    WorkDistribution,
    Workload,
    chain,
    diamond,
    fork_join,
    hierarchical,
    layered_random,
    load_wfformat,
    order_processing,
    viz,
)
from wfsim.workloads import recorded_makespan

pd.set_option("display.float_format", "{:,.4g}".format)
REPOSITORY = Path("..")

# %% [markdown]
# ## 1. The continuum
#
# `hierarchical` builds a tree: devices → edge clouds → regional clouds → one cloud.
# Each tier has defaults for cores, speed (operations per second per core), memory,
# price and power, and each level of links its latency and bandwidth; `nodes=` and
# `links=` override them per tier and per level. Here the edge clouds get 8 cores
# (instead of 16) and the devices' uplinks 10 ms of latency (instead of 5).

# %%
topology = hierarchical(devices=devices, edge=4, regional=2,
                        nodes={"EdgeCloud": {"cores": 8}},
                        links={"device-edge": {"latency": 0.01}})
spec = topology.to_dict()
nodes, links = pd.DataFrame(spec["nodes"]), pd.DataFrame(spec["links"])
nodes.groupby("tier", sort=False).agg(
    nodes=("id", "count"),
    cores_each=("cores", "first"),
    GHz_per_core=("speed", lambda s: s.iloc[0] / 1e9),
    memory_GB=("memory", lambda m: m.iloc[0] / 1e9),
    price_per_core_hour=("price", lambda p: p.iloc[0] * 3600),
    busy_watts=("busy_power", "first"),
)

# %% [markdown]
# The links, one row per level of the tree: bandwidth grows as a request climbs from a
# device towards the cloud, and so does the latency of the long haul to the cloud.

# %%
tier_of = nodes.set_index("id")["tier"]
links.assign(level=tier_of[links["a"]].to_numpy() + " → " + tier_of[links["b"]].to_numpy(),
             latency_ms=links["latency"] * 1e3, Mbit_s=links["bandwidth"] * 8 / 1e6
             ).groupby("level", sort=False).agg(links=("a", "count"), latency_ms=("latency_ms", "first"),
                                                 Mbit_s=("Mbit_s", "first"))

# %% [markdown]
# The same topology as a graph (networkx), one row per tier, the cloud on top. Work
# that a device sends to the cloud crosses three links; to its edge cloud, one.

# %%
graph = nx.Graph([(link["a"], link["b"]) for link in spec["links"]])
graph = nx.Graph(nx.dfs_tree(graph, "cloud"))     # children next to their parent: no crossings
tiers = list(dict.fromkeys(nodes["tier"][::-1]))           # devices first, cloud last
for node in spec["nodes"]:
    graph.nodes[node["id"]]["layer"] = tiers.index(node["tier"])
position = nx.multipartite_layout(graph, subset_key="layer", align="horizontal")
fig, ax = plt.subplots(figsize=(12, 3.5))
colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, len(tiers)))
nx.draw_networkx(graph, position, ax=ax, node_size=140, font_size=6, with_labels=False,
                 node_color=[colours[graph.nodes[n]["layer"]] for n in graph])
for layer, tier in enumerate(tiers):
    ax.text(-1.1, position[next(n for n in graph if graph.nodes[n]["layer"] == layer)][1], tier,
            ha="right", va="center")
ax.set_axis_off()

# %% [markdown]
# ## 2. Arrival processes
#
# A workload submits instances of a workflow from each of its origin devices at the
# times of an **arrival process**, each origin on its own random stream. Three
# processes with the same long-run rate (0.1 per second) differ in how *regular*
# the arrivals are:
#
# * `Poisson(rate)`: exponential gaps, the memoryless textbook case;
# * `MMPP(rates, mean_sojourn)`: a Markov-modulated Poisson process, alternating
#   between a calm and a burst rate (bursty traffic: a sale, a storm, a morning);
# * `Periodic(period, jitter)`: a timer, one arrival per period, each shifted a little.
#
# The index of dispersion (variance / mean of the arrivals per 10-s window) tells
# them apart: about 1 for Poisson, well above 1 for bursty MMPP, below 1 for a timer.

# %%
processes = {
    "Poisson": Poisson(rate=0.1),
    "MMPP": MMPP(rates=(0.025, 0.4), mean_sojourn=(80.0, 20.0)),
    "Periodic": Periodic(period=10.0, jitter=4.0),
}
window = 3600.0
arrivals = {name: np.fromiter(process.times(np.random.default_rng(1), 0.0, window), float)
            for name, process in processes.items()}
bins = np.arange(0.0, window + 10.0, 10.0)
counts = {name: np.histogram(times, bins)[0] for name, times in arrivals.items()}
pd.DataFrame({name: {"expected in 1 h": processes[name].expected(0.0, window), "drawn": len(times),
                     "index of dispersion": counts[name].var() / counts[name].mean()}
              for name, times in arrivals.items()})

# %%
fig, axes = plt.subplots(len(processes), 1, figsize=(12, 5), sharex=True, layout="constrained")
for ax, (name, count) in zip(axes, counts.items()):
    ax.step(bins[:-1] / 60, count, where="post")
    ax.set_ylabel(name)
axes[0].set_title("arrivals per 10 s from one origin, first hour")
axes[-1].set_xlabel("minutes");

# %% [markdown]
# `TraceArrivals("file.csv")` replays recorded times instead (see
# `data/arrivals/morning-burst.csv` and `experiments/campus.yaml`).
#
# ## 3. Workflow shapes
#
# The generators build the classic DAG shapes; every one returns a validated
# `Workflow` (no cycle, every edge between known tasks). `work` is operations per
# task, `data_bytes` what each edge carries; `task=` passes any other task field
# (cores, memory, location requirement, …) to every task. `layered_random` draws a
# random layered DAG, reproducible from its `seed`.

# %%
shapes = {
    "chain(4)": chain(4),
    "fork_join(3)": fork_join(3),
    "diamond()": diamond(),
    "layered_random(5, 3)": layered_random(5, 3, seed=7, work_cv=0.8),
    "order_processing()": order_processing(),
}
pd.DataFrame({name: {"tasks": len(wf.tasks), "edges": len(wf.edges), "G ops": wf.total_work() / 1e9,
                     "critical path at 1 GHz (s)": wf.critical_path_length(speed=1e9)}
              for name, wf in shapes.items()}).T


# %%
def draw_dag(workflow, ax) -> None:
    """A DAG left to right, one column per topological generation."""
    g = workflow.graph()
    for depth, generation in enumerate(nx.topological_generations(g)):
        for task in generation:
            g.nodes[task]["depth"] = depth
    nx.draw_networkx(g, nx.multipartite_layout(g, subset_key="depth"), ax=ax, node_size=250,
                     font_size=6, node_color="#9ecae1", arrowsize=8)
    ax.set_axis_off()


fig, axes = plt.subplots(1, len(shapes), figsize=(15, 3), layout="constrained")
for ax, (name, workflow) in zip(axes, shapes.items()):
    draw_dag(workflow, ax)
    ax.set_title(name, fontsize=9)

# %% [markdown]
# ## 4. A workflow from a WfCommons file
#
# [WfCommons](https://wfcommons.org) publishes execution traces of real scientific
# workflows (Montage, Epigenomics, 1000Genome, …) in its JSON format, WfFormat.
# `load_wfformat` validates a file against the WfFormat 1.5 schema (bundled, offline)
# and turns it into a `Workflow`: each task's work is its recorded runtime × the
# recording machine's speed × its cores, so a node of that speed reproduces the
# recorded runtime; each edge carries the files the parent writes and the child reads.
#
# The instance used by default is a real one: `data/wfcommons/montage-chameleon-dss-05d-001.json`,
# from WfCommons' WfInstances collection (LGPL-3.0, its licence beside it), a Montage
# run of 58 tasks on the Chameleon cloud that built a sky mosaic, recorded with each
# task's runtime, files and machine and the whole run's makespan. Any WfFormat file
# loads the same way: `workflow_file` in the parameters cell takes another (the
# project's own 10-task `tests/data/workflows/wfsim-mosaic-10.json`, whose critical
# path is computed by hand in `tests/data/README.md`, is a small one to start with).

# %%
mosaic_file = Path(workflow_file)
mosaic = load_wfformat(mosaic_file)
print(f"{mosaic.name}: {len(mosaic.tasks)} tasks, {len(mosaic.edges)} dependencies")
pd.DataFrame([{"task": t.id, "cores": t.cores, "G ops": t.work / 1e9,
               "inputs from": ", ".join(mosaic.tasks[p].id for p in mosaic.predecessors[i])}
              for i, t in enumerate(mosaic.tasks)]).head(12)

# %% [markdown]
# Read with `reference_speed=1.0`, each task's work is its recorded runtime × cores,
# so the critical path at speed 1 is in recorded seconds: the shortest makespan the
# DAG allows on unlimited machines like the recording ones with free data transfer.
# The recorded makespan (machines shared, tasks waiting for cores) is longer.

# %%
fig, ax = plt.subplots(figsize=(7, 3))
draw_dag(mosaic, ax)
recorded = load_wfformat(mosaic_file, reference_speed=1.0)
{"critical path, recorded runtimes (s)": recorded.critical_path_length(speed=1.0),
 "recorded makespan (s)": recorded_makespan(mosaic_file)}

# %% [markdown]
# ## 5. Everything together
#
# Three workloads share the continuum:
#
# * **sensors**: every device submits a three-task chain, Poisson, exponentially
#   distributed work (the M of M/M/c queues);
# * **orders**: eight devices submit the seed's order workflow in MMPP bursts; its
#   tasks carry location requirements (payment only in the cloud);
# * **mosaic**: one device (a telescope's uplink) submits the mosaic periodically,
#   its tasks free to run anywhere they fit.
#
# `EarliestFinishTime` places each task where it is estimated to finish first.

# %%
workloads = [
    Workload("sensors", chain(3, work=2e9, data_bytes=5e6), Poisson(rate=0.05),
             work=WorkDistribution("exponential")),
    Workload("orders", order_processing(), MMPP(rates=(0.02, 0.3), mean_sojourn=(60.0, 15.0)),
             origins=[f"device-{i}" for i in range(8)]),
    Workload("mosaic", mosaic, Periodic(period=mosaic_period), origins=["device-0"]),
]
result = Simulation(topology, workloads, placement=EarliestFinishTime(), seed=7, duration=duration).run()
trace = result.trace
m = result.metrics
{"wall seconds": round(result.wall_seconds, 2), "task executions": len(trace.executions()),
 "workflows": m["workflows"], "makespan (s)": m["makespan"], "cost": m["cost"],
 "energy (kJ)": m["energy_joules"] / 1e3}

# %% [markdown]
# Per workload: how many instances completed and how long they took. The mosaic runs
# on nodes faster than its recording machine, several at once, so it can beat both its
# recorded makespan and its recorded critical path; its critical path at the cloud's
# 3 GHz is the bound it cannot beat.

# %%
latency = trace.workflow_summary().groupby("workload", observed=True)["latency"]
print(f"mosaic critical path at 3 GHz: {mosaic.critical_path_length(speed=3e9):.1f} s")
latency.describe(percentiles=[0.5, 0.95])

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4), layout="constrained")
viz.latency_by_tier(trace, log=True, ax=axes[0])
viz.utilisation_by_tier(trace, ax=axes[1]);

# %% [markdown]
# Where did the first mosaic go? One bar per task on the node that ran it, thin lines
# for the data moved between nodes.

# %%
summary = trace.workflow_summary()
first_mosaic = summary.loc[summary["workload"] == "mosaic", "workflow"].iloc[0]
ax = viz.gantt(trace, [first_mosaic])
ax.figure.set_size_inches(12, 5)
ax.set_title("the first mosaic instance");

# %% [markdown]
# ## 6. Exploring the run
#
# `TraceExplorer` shows the whole trace interactively: every task execution on its
# node, grouped by tier. Filter by workload, tier or node, choose a time window, pick
# a workflow instance (its tasks outlined, its critical path in red, its details
# below), and switch the overlays (transfers, migrations, allocations, node health)
# on and off. From code, `select_workflow(...)`, `set_window(...)` and
# `highlight(...)` do the same (the verification panel uses them to point at a
# counterexample). On a big run it draws each node's busy fraction over time instead
# of single bars, so it stays responsive on a hundred thousand task executions.
# Here it opens on the first mosaic instance.

# %%
from wfsim.widgets import TopologyView, TraceExplorer

explorer = TraceExplorer(trace)
explorer.select_workflow(int(first_mosaic))
explorer

# %% [markdown]
# `TopologyView` draws the continuum itself at one instant of the run: each node
# filled by its load (busy cores / cores), outlined by its health, each link as wide
# as its estimated utilisation. Move the time slider, or press play to watch the
# load travel through the continuum as the mosaics arrive.

# %%
TopologyView(trace)

# %% [markdown]
# ## What to try next
#
# * Change `placement=` to `NearestEdge()` or `CloudOnly()` and watch where the
#   mosaic's heavy projections go, and what that does to the orders' latency.
# * Raise the MMPP burst rate: the orders' p95 latency grows long before their mean.
# * Swap the Montage run for another WfFormat instance (`workflow_file`), or write
#   the whole experiment as YAML (`experiments/quickstart.yaml`) and run it with
#   `wfsim run`.
# * `02-strategies-compared` compares placements properly: many seeds, intervals,
#   paired differences.
