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
# # wfsim quickstart
#
# A two-minute tour: build a small edge–cloud continuum, submit two kinds of
# workflows, run the same workload under two placement strategies with the same
# seed, and compare what happened — summary metrics, per-tier response times, and a
# Gantt chart of a few workflow instances on the nodes that ran them.
#
# Everything below reads the run's **trace** (pandas DataFrames), so the same figures
# work on a run saved to disk with `wfsim run experiments/quickstart.yaml --out DIR`
# and reloaded with `wfsim.Trace.load(DIR)`.

# %%
import pandas as pd
import matplotlib.pyplot as plt

from wfsim import (
    EarliestFinishTime,
    NearestEdge,
    Periodic,
    Poisson,
    Simulation,
    WorkDistribution,
    Workload,
    chain,
    hierarchical,
    order_processing,
    viz,
)

pd.set_option("display.float_format", "{:,.4g}".format)

# %% tags=["parameters"]
# The sizes of this tour (papermill's parameters: `wfsim report --notebook` can change them).
devices = 8          # devices at the bottom of the continuum
duration = 120.0     # simulated seconds per run
seed = 42            # the same seed for both placements

# %% [markdown]
# ## 1. The continuum
#
# `hierarchical` builds a tree: devices → edge clouds → regional clouds → one cloud,
# with per-tier defaults for cores, speed, price and power, and per-level link
# latency and bandwidth.

# %%
topology = hierarchical(devices=devices, edge=2, regional=1)
topology

# %%
nodes = pd.DataFrame(topology.to_dict()["nodes"])
nodes.groupby("tier", sort=False).agg(
    nodes=("id", "count"),
    cores_each=("cores", "first"),
    GHz_per_core=("speed", lambda s: s.iloc[0] / 1e9),
    price_per_core_hour=("price", lambda p: p.iloc[0] * 3600),
)

# %%
links = pd.DataFrame(topology.to_dict()["links"])
links.assign(latency_ms=links["latency"] * 1e3, Mbit_s=links["bandwidth"] * 8 / 1e6)[
    ["a", "b", "latency_ms", "Mbit_s"]
].drop_duplicates(["latency_ms", "Mbit_s"])

# %% [markdown]
# ## 2. The workload
#
# * **sensors** — every device submits a three-task chain (2 G operations per task,
#   5 MB between tasks) as a Poisson process, one every 10 s on average, with
#   exponentially distributed work;
# * **orders** — four devices submit the seed's `order_processing` workflow every 5 s
#   (±1 s jitter). Its tasks carry location requirements: fetch and reply near the
#   user, payment in the cloud, order update in a regional cloud or the cloud.

# %%
workloads = [
    Workload("sensors", chain(3, work=2e9, data_bytes=5e6), Poisson(rate=0.1),
             work=WorkDistribution("exponential")),
    Workload("orders", order_processing(), Periodic(period=5.0, jitter=1.0),
             origins=["device-0", "device-1", "device-2", "device-3"]),
]
pd.DataFrame(
    [{"task": t.id, "G ops": t.work / 1e9, "location": f"{t.location.kind.value} "
      + ", ".join(tier.value for tier in t.location.tiers), "priority": t.priority.name}
     for t in order_processing().tasks]
)

# %% [markdown]
# ## 3. Two placements, same seed
#
# *NearestEdge* keeps a task on the user's side (its own device first), while
# *EarliestFinishTime* sends it wherever it is estimated to finish first. Same
# topology, workload and seed, so the arrivals and work draws are identical.

# %%
placements = {"NearestEdge": NearestEdge(), "EarliestFinishTime": EarliestFinishTime()}
results = {
    name: Simulation(topology, workloads, placement=placement, seed=seed, duration=duration).run()
    for name, placement in placements.items()
}
traces = {name: result.trace for name, result in results.items()}
{name: f"{result.wall_seconds:.2f} s wall" for name, result in results.items()}


# %%
def headline(result) -> dict:
    """The summary metrics worth a glance, flattened into one column."""
    m = result.metrics
    utilisation = m["utilisation"]["per_tier"]
    return {
        "workflows completed": m["workflows"]["completed"],
        "workflows failed": m["workflows"]["failed"],
        "latency mean (s)": m["latency"]["mean"],
        "latency p50 (s)": m["latency"]["p50"],
        "latency p95 (s)": m["latency"]["p95"],
        "latency p99 (s)": m["latency"]["p99"],
        "makespan (s)": m["makespan"],
        "throughput (workflows/s)": m["throughput"],
        "data moved (MB)": m["bytes_transferred"] / 1e6,
        "cost (currency)": m["cost"],
        "energy (kJ)": m["energy_joules"] / 1e3,
        **{f"utilisation {tier.value} (%)": 100 * utilisation[tier.value]
           for tier in viz.tier_order(result.trace)},
    }


pd.DataFrame({name: headline(result) for name, result in results.items()})

# %% [markdown]
# ## 4. Where the time goes
#
# Task *response time* is `end − ready`: from the moment all of a task's inputs are
# on its node to its completion (queueing + service), grouped by the tier of the node
# that ran it.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True, layout="constrained")
for ax, (name, trace) in zip(axes, traces.items()):
    viz.latency_by_tier(trace, log=True, ax=ax)
    ax.set_title(name, pad=16)
axes[1].set_ylabel("");

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
viz.latency_cdf(traces, ax=axes[0])
viz.utilisation_by_tier(traces, ax=axes[1]);

# %% [markdown]
# ## 5. A few workflows on their nodes
#
# One bar per task, one colour per workflow instance; thin lines are data transfers
# (including each workflow's input from its origin device). The same seed gives the
# same arrivals, so the instance ids match across the two runs: take the first three
# instances of each workload.

# %%
summary = traces["NearestEdge"].workflow_summary()
chosen = summary.sort_values("arrival").groupby("workload", observed=True).head(3)["workflow"].tolist()
summary.set_index("workflow").loc[chosen, ["workload", "origin", "arrival", "latency"]]

# %%
for name, trace in traces.items():
    ax = viz.gantt(trace, chosen)
    ax.set_title(f"{name}: three instances of each workload")

# %% [markdown]
# ## 6. The raw trace
#
# Every figure above is computed from these tables; `trace.executions()` pivots the
# task events into one row per task instance, `trace.workflow_summary()` gives one row
# per workflow instance.

# %%
trace = results["EarliestFinishTime"].trace
trace.task_events.head()

# %%
trace.executions().head()

# %% [markdown]
# ## 7. Exploring a run
#
# `TraceExplorer` shows the whole trace interactively: choose a workload, a tier or a
# node, a workflow instance (its critical path is outlined) or a time window, and
# switch overlays (transfers, migrations, health) on and off. On big runs it draws
# busy fractions instead of single bars, so it stays responsive. From code,
# `select_workflow`, `set_window` and `highlight` do the same.

# %%
from wfsim.widgets import TraceExplorer

explorer = TraceExplorer(trace)
explorer.select_workflow(chosen[0])
explorer
