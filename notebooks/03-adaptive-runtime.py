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
# # The adaptive runtime: maintenance, evacuation, rebalancing, autoscaling
#
# A continuum is not static. Nodes go into maintenance, load drifts from one edge cloud
# to another, and capacity can be bought by the minute. wfsim's runtime reacts with
# four mechanisms, each switched on separately:
#
# * **health changes** (`HealthChange`): a node in `Maintenance` (or `Unhealthy`) takes
#   no new work; what it holds drains, or, with `evacuate=True`, is moved away at once;
# * **migration** (`MigrationSettings`): how tasks move, queued ones with their inputs,
#   running ones by checkpoint and restart with their memory image, under a
#   concurrency cap and a cost–benefit rule;
# * **rebalancing** (`RebalanceSettings`): every `interval` seconds, queued work moves
#   from overloaded to underloaded nodes of a tier whose imbalance exceeds `threshold`;
# * **autoscaling** (`AutoscalingSettings`): an autoscaler resizes nodes' cores as their
#   utilisation crosses thresholds, with a provisioning delay for scale-ups.
#
# This notebook opens one edge cloud's maintenance window on a busy continuum and adds
# the mechanisms one by one: what each costs and buys in the metrics, then where each
# left its marks in one run's trace. It is `experiments/maintenance.yaml`, heavier,
# written in Python.

# %% tags=["parameters"]
duration = 180.0      # arrival window of every run (simulated seconds)
replications = 10     # seeds per configuration
seed = 5              # the seed of the run looked at in detail

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from wfsim import (
    AutoscalingSettings,
    HealthChange,
    LocationRequirement,
    MigrationSettings,
    Poisson,
    RebalanceSettings,
    Simulation,
    Workload,
    chain,
    hierarchical,
)
from wfsim.policies.autoscaling import ThresholdScaling
from wfsim.policies.load_balancing import LBLeastConnections
from wfsim.verify import check_catalog

pd.set_option("display.float_format", "{:,.4g}".format)

# %% [markdown]
# ## 1. The scenario
#
# Twelve devices behind three edge clouds of 4 cores each. Every device submits a
# two-step analytics chain (Poisson, 0.03 per second) whose tasks must run on an edge
# cloud. The tasks are **elastic**: each wants 4 cores but starts on 1 if that is all
# that is free and grows into cores nobody queued wants. A least-connections load
# balancer (with session affinity) places the tasks.
#
# At 60 s `edge-0` goes into maintenance for 90 s: a third of the edge capacity is gone
# while the load stays.

# %%
topology = hierarchical(devices=12, edge=3, regional=1, nodes={"EdgeCloud": {"cores": 4}})
edge_only = LocationRequirement.specific("EdgeCloud")
analytics = chain(2, work=3e10, data_bytes=2e6,
                  task=dict(cores=4, min_cores=1, elastic=True, memory=5e8, location=edge_only))
workloads = [Workload("analytics", analytics, Poisson(rate=0.03))]
placement = LBLeastConnections(session_affinity=True)
window = (60.0, 150.0)

# %% [markdown]
# ## 2. Five configurations
#
# Each one adds a mechanism to the previous:
#
# 1. **static**: no maintenance, nothing adaptive: the reference;
# 2. **drained**: the maintenance window; `edge-0` finishes what it holds, gets nothing new;
# 3. **evacuated**: the same window with `evacuate=True`: at 60 s `edge-0`'s queue and
#    its running tasks (checkpointed) migrate to the edge clouds where they start
#    soonest, at most `max_concurrent` at a time;
# 4. **+ rebalancing**: every 15 s, queued work moves between the edge clouds when their
#    load differs by more than 30 %;
# 5. **+ autoscaling**: threshold autoscaling of the edge clouds (up at 80 %
#    utilisation, down at 30 %, a 60-s cooldown, 30 s to provision new cores).

# %%
maintenance = [HealthChange(window[0], "edge-0", "Maintenance"), HealthChange(window[1], "edge-0", "Healthy")]
evacuation = [HealthChange(window[0], "edge-0", "Maintenance", evacuate=True),
              HealthChange(window[1], "edge-0", "Healthy")]
rebalancing = dict(rebalance=RebalanceSettings(interval=15.0, threshold=0.3),
                   migration=MigrationSettings(max_concurrent=4))
autoscaling = AutoscalingSettings(ThresholdScaling(cooldown=60.0), tiers=("EdgeCloud",))
configurations = {
    "static": {},
    "drained": dict(health=maintenance),
    "evacuated": dict(health=evacuation),
    "+ rebalancing": dict(health=evacuation, **rebalancing),
    "+ autoscaling": dict(health=evacuation, **rebalancing, autoscaling=autoscaling),
}


def run(name: str, run_seed: int):
    """One run of a configuration on a seed (the same seeds for every configuration)."""
    return Simulation(topology, workloads, placement=placement, seed=run_seed, duration=duration,
                      **configurations[name]).run()


def outcome(result) -> dict:
    """The metrics compared below, and what the adaptive runtime did."""
    m, trace = result.metrics, result.trace
    ended = trace.migrations[trace.migrations["state"] == "Completed"]
    return {"latency mean (s)": m["latency"]["mean"], "latency p95 (s)": m["latency"]["p95"],
            "makespan (s)": m["makespan"], "energy (kJ)": m["energy_joules"] / 1e3,
            "edge utilisation": m["utilisation"]["per_tier"]["EdgeCloud"],
            "evacuations": (ended["trigger"] == "AvailabilityRisk").sum(),
            "rebalancing moves": (ended["trigger"] == "LoadImbalance").sum(),
            "checkpoints": (trace.task_events["event"] == "checkpointed").sum()}


# %% [markdown]
# ## 3. What each mechanism buys
#
# One seed is an anecdote: with a few hundred tasks, where the bursts fall decides a
# lot. Every configuration runs on the same `replications` seeds (the same arrivals
# and work draws for all: common random numbers), and the table shows the means.

# %%
seeds = range(1, replications + 1)
outcomes = pd.DataFrame([{"configuration": name, "seed": s, **outcome(run(name, s))}
                         for name in configurations for s in seeds])
means = outcomes.groupby("configuration", sort=False).mean(numeric_only=True).drop(columns="seed")
means

# %%
fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
per_seed = outcomes.pivot(index="seed", columns="configuration", values="latency mean (s)")[list(configurations)]
ax.plot(per_seed.T.to_numpy(), color="0.8", lw=0.8)          # one grey line per seed
ax.plot(per_seed.mean().to_numpy(), "o-", color="C3", lw=2, label="mean over seeds")
ax.set_xticks(range(len(configurations)), list(configurations))
ax.set_ylabel("mean workflow latency (s)")
ax.legend();

# %% [markdown]
# Read the table from the top (the numbers below are from the full-size run: ten
# seeds of 180 s):
#
# * the window hurts: a third of the capacity is gone for half the run, the queues of
#   the two remaining edge clouds build up, and mean latency about doubles;
# * **evacuation alone** does not help: `edge-0`'s queued tasks join queues that are
#   just as long elsewhere, and a checkpointed running task pays for sending its
#   memory image over two links (edge → regional → edge) before it resumes;
# * **rebalancing** recovers a good part of the loss: it keeps moving queued work to
#   whichever edge cloud is least loaded, so no task waits behind a long queue while
#   another edge cloud could serve it sooner;
# * **autoscaling** on top barely moves the mean but cuts the tail (p95), the makespan
#   and even the energy: it adds cores where utilisation stays high, 30 s after deciding
#   to, and takes them from idle nodes. It also scales down at the very first sample,
#   before the load arrives (see the run below), which costs latency early on.
#
# The grey lines show how much the seed matters: look for the seeds where a mechanism
# made things worse. `02-strategies-compared` shows how to put confidence intervals and
# paired differences on comparisons like this one.
#
# ## 4. One run in detail
#
# The fully adaptive configuration on one seed, and where each mechanism shows in its
# trace.

# %%
result = run("+ autoscaling", seed)
trace = result.trace
pd.Series(outcome(result))

# %% [markdown]
# **Health and scaling** are in `trace.states`: the window (`health`), every
# autoscaler decision (`scaling`, with the utilisation that triggered it) and every
# capacity change (`capacity`), which comes a provisioning delay after a scale-up
# decision, or as soon as running tasks release the cores after a scale-down.

# %%
states = trace.states
states[states["kind"] != "capacity"]

# %%
edge_nodes = sorted(trace.nodes.loc[trace.nodes["tier"] == "EdgeCloud", "id"])
initial = trace.nodes.set_index("id")["cores"]
capacity = states[states["kind"] == "capacity"]
fig, ax = plt.subplots(figsize=(11, 3.5), layout="constrained")
for node in edge_nodes:
    changes = capacity[capacity["entity"] == node]
    times = np.r_[0.0, changes["time"].to_numpy(), trace.horizon]
    cores = np.r_[initial[node], changes["state"].astype(str).astype(int).to_numpy()]
    ax.step(times, np.r_[cores, cores[-1]], where="post", label=node)
ax.axvspan(*window, color="0.9", label="edge-0 in maintenance")
ax.set(xlabel="simulated time (s)", ylabel="cores", title="edge clouds' capacity under autoscaling")
ax.legend(loc="upper left");

# %% [markdown]
# **Migrations** are in `trace.migrations`, one row per phase. Pivoted to one row per
# migration: when it began and ended, what moved where and why (`AvailabilityRisk`:
# the evacuation at 60 s; `LoadImbalance`: rebalancing rounds).

# %%
migrations = trace.migrations.pivot_table(index=["migration", "workflow", "task", "source", "target", "trigger"],
                                          columns="state", values="time", observed=True).reset_index()
migrations["seconds"] = migrations["Completed"] - migrations["Preparing"]
migrations[["migration", "workflow", "task", "source", "target", "trigger", "Preparing", "seconds"]]

# %% [markdown]
# A running task migrates by **checkpoint and restart**: a `checkpointed` event on the
# source ends its first piece (keeping its progress, freeing its cores), and after the
# transfer it is ready again on the target, where it resumes with the work it had left.
# The events of one such task:

# %%
events = trace.task_events
checkpointed = events.loc[events["event"] == "checkpointed", ["workflow", "task"]].drop_duplicates()
if len(checkpointed):
    first = checkpointed.iloc[0]
    display(events[(events["workflow"] == first["workflow"]) & (events["task"] == first["task"])])
else:
    print("no running task was checkpointed on this seed: try another seed")

# %% [markdown]
# **Allocations**: an elastic task that started on fewer cores than it asked for, or
# grew later, has rows in `trace.allocations`; `trace.holdings()` combines them with
# the starts and ends into every interval a task held a constant allocation. How many
# cores did the analytics tasks really get, weighted by time?

# %%
holdings = trace.holdings()
held_seconds = (holdings["end"] - holdings["start"]).groupby(holdings["cores"]).sum()
(held_seconds / held_seconds.sum()).rename("share of task time").to_frame()

# %% [markdown]
# **Rebalancing rounds** record the load each edge cloud had when the round looked:
# `(queued + running + incoming tasks) / capacity`. The gap between the lines is the
# imbalance the rebalancer acts on.

# %%
loads = trace.rebalances.pivot(index="time", columns="node", values="load")
ax = loads.plot(drawstyle="steps-post", figsize=(11, 3.5), title="load seen by each rebalancing round")
ax.axvspan(*window, color="0.9")
ax.set_xlabel("simulated time (s)");

# %% [markdown]
# Did all this moving around stay correct? The catalog's migration and resource
# properties check, on the trace alone, that every migration went through its phases,
# that a task ran in one place at a time and never twice, and that no node gave out
# more cores than it had while autoscaling changed them (`04-verification` goes further).

# %%
pd.DataFrame([{"id": v.pid, "property": v.name, "verdict": v.verdict, "checked": v.checked, "unit": v.unit}
              for v in check_catalog(trace, ["P18", "P23", "P24", "P25"])])

# %% [markdown]
# ## 5. Exploring the run
#
# The trace explorer draws the checkpointed pieces (a dashed bar on the source, then
# the rest of the task on its target) and the health intervals of the nodes. Here it
# opens on the maintenance window, with the first checkpointed task's workflow
# highlighted.

# %%
from wfsim.widgets import TraceExplorer

explorer = TraceExplorer(trace)
explorer.set_window(window[0] - 15.0, window[1] + 15.0)
if len(checkpointed):
    explorer.select_workflow(int(checkpointed.iloc[0]["workflow"]))
explorer

# %% [markdown]
# ## What to try next
#
# * Give the tasks a bigger memory image (`memory=4e9`): evacuating running tasks gets
#   dearer, and the cost–benefit rule (`MigrationSettings(benefit_weight=...)`)
#   starts refusing some moves.
# * Swap `ThresholdScaling` for `PredictiveScaling()` or `RightSizing()`
#   (`wfsim.policies.autoscaling`), or shorten the provisioning delay with
#   `AutoscalingSettings(..., provisioning={"EdgeCloud": 5.0})`.
# * Mark the node `Degraded` instead of in maintenance: load balancers avoid it, but
#   it keeps its work unless evacuated.
# * Tune the rebalancing interval and threshold with Optuna: `05-tuning`.
