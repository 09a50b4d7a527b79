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
# # A partitioned edge site: detection, fault tolerance and edge autonomy
#
# An edge site loses its uplink. Its devices keep sending work, the edge node that
# serves them is alive, but nothing reaches the cloud, and the cloud only sees that
# heartbeats stopped coming. Three mechanisms meet here:
#
# * the **failure detector** in the cloud (`detection:`) decides from missing heartbeats
#   that the site is `Partitioned`, then `Failed`, and placement stops using it;
# * **task fault tolerance** (`fault_tolerance:`) retries, from their last checkpoint,
#   the tasks that a crash took or that could not get their inputs;
# * **edge autonomy** (`autonomy:`): the cut-off edge node notices that the cloud has
#   gone quiet and, depending on how long it has been, either applies a fallback
#   action (wait, retry, serve a cached result, run locally, approximate, refuse) or
#   decides the placement itself.
#
# This notebook cuts one site off, follows what each mechanism did in the trace, and
# then asks the design question: which fallback action should the edge take?

# %% tags=["parameters"]
devices = 12               # devices, spread over the edge sites
edges = 3                  # edge sites (edge-0 is the one cut off)
duration = 240.0           # arrival window (simulated seconds)
partition_start = 60.0     # when edge-0's site is cut off
partition_length = 90.0    # for how long
fallback = "Defer"         # the edge's fallback action in the run looked at in detail
replications = 3           # seeds per scenario in the comparison
workers = 2                # worker processes of the comparison (1: in this kernel)
seed = 3

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml
from IPython.display import display

import wfsim
from wfsim.experiments import build_simulation, validate_config
from wfsim.model.events import CONNECTIVITY_STATES, FALLBACK_ACTIONS
from wfsim.verify import check_catalog, check_formula
from wfsim.widgets import ComparisonView, TopologyView, TraceExplorer

pd.set_option("display.float_format", "{:,.4g}".format)
partition = (partition_start, partition_start + partition_length)

# %% [markdown]
# ## 1. The scenario
#
# `devices` devices behind `edges` edge clouds, one regional cloud and the cloud. Each
# device submits a three-step pipeline (Poisson arrivals): `filter` runs on an edge
# cloud (on the device itself when no edge cloud will take it), `infer` (the heavy
# step) and `report` anywhere; the placement is earliest-finish-time, which sends
# `infer` to the fast cloud when it can.
#
# Two faults: at `partition_start` the site of `edge-0` (the edge node and its
# devices) is cut off for `partition_length` seconds; while it is, `edge-1` crashes
# for a third of that time (a bad day rarely brings only one fault).
#
# The scenario is written as an experiment config, the mapping a YAML file under
# `experiments/` would hold, so that the comparison in section 5 can vary it.

# %%
crash = (partition_start + partition_length / 4, partition_start + partition_length / 4 + partition_length / 3)
config = {
    "name": "partitioned-site",
    "seed": seed,
    "duration": duration,
    "placement": "earliest_finish_time",
    "topology": {"hierarchical": {"devices": devices, "edge": edges, "regional": 1}},
    "workloads": [{
        "name": "sensing",
        "workflow": {"tasks": [{"id": "filter", "work": 8e9, "location": "PreferredOrder", "tiers": ["EdgeCloud", "LocalDevice"]},
                               {"id": "infer", "work": 1.5e10},
                               {"id": "report", "work": 1e9}],
                     "edges": [["filter", "infer", 2e6], ["infer", "report", 1e5]]},
        "arrivals": {"process": "poisson", "rate": 0.06},
    }],
    "faults": [
        {"process": "partitions", "site": "edge-0", "start": partition_start, "duration": partition_length},
        {"process": "schedule", "faults": [{"kind": "crash", "targets": ["edge-1"],
                                            "start": crash[0], "end": crash[1]}]},
    ],
    # heartbeats every second, a miss after 3 s: Partitioned after one miss, Failed after three
    "detection": {"period": 1.0, "timeout": 3.0},
    # a lost or stranded task is retried 4 times (2, 4, 8, 16 s apart), from its last checkpoint
    "fault_tolerance": {"max_retries": 4, "backoff": 2.0, "checkpoint_interval": 2.0},
    # the edge waits T = 30 s of silence before it trusts its own decisions
    "autonomy": {"heartbeat_timeout": 30.0, "max_cache_age": 60.0,
                 "fallback": {"policy": "fixed", "params": {"action": fallback}}},
}
print(yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=110))

# %% [markdown]
# ## 2. The run, and the numbers that matter
#
# `validate_config` checks the mapping as `wfsim run` would check the file (an error
# names the field and what is allowed), and `build_simulation` makes the run.

# %%
result = build_simulation(validate_config(config)).run()
trace, metrics = result.trace, result.metrics
workflows = metrics["workflows"]
autonomy = metrics["autonomy"]
detection = metrics["detection"]
headline = {
    "workflows submitted": workflows["submitted"],
    "workflow success rate": workflows["completed"] / max(1, workflows["completed"] + workflows["failed"]),
    "latency mean (s)": metrics["latency"]["mean"],
    "crash detection time, mean (s)": detection["detection_time"]["mean"],
    "false suspicions": detection["false_suspicions"],
    "edge decisions: cloud / local / fallback": " / ".join(str(autonomy["decisions"]["by_decider"][d])
                                                          for d in ("cloud", "local", "fallback")),
    "cache staleness, mean (s)": autonomy["staleness"]["mean"],
    "deferred tasks' wait, mean (s)": autonomy["deferred"]["wait"]["mean"],
    "work lost (core-seconds)": metrics.get("faults", {}).get("work_lost_core_seconds", 0.0),
    "task retries": metrics.get("faults", {}).get("retries", 0),
}
display(pd.Series(headline, dtype=object).to_frame("value"))
pd.DataFrame({"availability": metrics["availability"]["per_tier"],
              "utilisation": metrics["utilisation"]["per_tier"]})

# %% [markdown]
# The fallback actions the edge took, by action (the other five are zero in a run
# with a fixed action, except `ExecuteLocal`, which stands in for a `UseCache` that
# finds no fresh result):

# %%
pd.Series(autonomy["decisions"]["by_action"]).rename("decisions").to_frame().T

# %% [markdown]
# How to read these:
#
# * **availability** is node-time up *and* connected: edge-0's site is out for
#   `partition_length` seconds and edge-1 for its crash, so the EdgeCloud tier loses
#   both, the devices only the partition, the clouds nothing;
# * the detector **detects the crash** of edge-1 a few seconds after it happens (the
#   3 s timeout, then three missed checks), but it also declares edge-0 `Failed` although it never stopped:
#   that is the **false suspicion**. From heartbeats alone, a partition and a crash
#   look the same;
# * the **edge decisions**: while its site is connected the cloud decides (`cloud`),
#   and edge-0 measures how often it would have chosen the same node; once silent for
#   T/4 it falls back on its fixed action, and after T it decides itself (`local`);
# * **work lost** is what edge-1's crash destroyed since the tasks' last checkpoints,
#   small because they checkpoint every 2 s.
#
# ## 3. The partition in the trace
#
# The trace explorer, opened on the partition. The fault layers mark the crash of
# edge-1, the partition of edge-0's site, the detector's suspicions and the edge's
# decisions by action; toggle them above the chart.

# %%
explorer = TraceExplorer(trace)
for layer in ("down", "partitions", "suspicions", "decisions"):
    explorer.layers[layer].value = True
explorer.set_window(partition[0] - 15.0, partition[1] + 30.0)
explorer

# %% [markdown]
# The continuum in the middle of the partition: edge-1 is down (crossed), edge-0 is
# suspected by the detector (ringed) and the links across the partition's boundary are
# cut (dashed red). Drag the slider, or press play, to watch it start and heal.

# %%
TopologyView(trace, time=partition_start + partition_length / 2)

# %% [markdown]
# The ground truth and what the detector believed, side by side: the `faults` table
# (what happened) and the `detections` table (what the cloud concluded, and when).

# %%
display(trace.faults)
trace.detections

# %% [markdown]
# ## 4. What the edge did
#
# `connectivity` records every change of edge-0's view of the cloud (the age of the
# last heartbeat against T) and the autonomy level that follows from it; `decisions`
# records every placement decision for its site's workflows: who decided, and which
# fallback action was taken.

# %%
edge = "edge-0"
conn = trace.connectivity[trace.connectivity["node"] == edge]
decisions = trace.decisions[trace.decisions["node"] == edge]
conn

# %%
fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, layout="constrained",
                                  gridspec_kw={"height_ratios": [1, 1.3]})
status = conn["status"].astype(str).map(CONNECTIVITY_STATES.index).to_numpy()
times = np.r_[conn["time"].to_numpy(dtype=float), trace.horizon]
top.step(times, np.r_[status, status[-1]], where="post", color="C0")
top.set_yticks(range(len(CONNECTIVITY_STATES)), CONNECTIVITY_STATES)
top.set_title(f"{edge}: connectivity to the cloud")
rows = ["cloud", "local", *FALLBACK_ACTIONS]
who = np.where(decisions["decider"].astype(str) == "fallback", decisions["action"].astype(str),
               decisions["decider"].astype(str))
for k, name in enumerate(rows):
    at = decisions["time"].to_numpy(dtype=float)[who == name]
    bottom.plot(at, np.full(len(at), k), "|", markersize=12, color=f"C{k}")
bottom.set_yticks(range(len(rows)), rows)
bottom.set(title=f"decisions for {edge}'s site", xlabel="simulated time (s)")
for ax in (top, bottom):
    ax.axvspan(*partition, color="0.9", zorder=0)

# %% [markdown]
# Silence becomes `Degraded` at T/4 (7.5 s), `Intermittent` at T/2 and
# `Disconnected` at T. While `Degraded` or `Intermittent` the node is semi- or
# highly autonomous, has no rule that lets it decide, and so applies its fallback
# action; once `Disconnected` it is fully autonomous and places tasks itself, on its
# own site. The first heartbeat after the partition heals makes it `Connected`
# again, and the cloud takes over (deferred tasks are released then).
#
# The share of local decisions the cloud would have made identically is the edge's
# **accuracy**; it gates its autonomy while connected (a node below 90 % stays
# `FullyDependent` then). Here the cloud prefers itself for the heavy step and the
# edge, seeing only its site, cannot: they rarely agree. Fallback decisions are not
# compared (NaN).

# %%
decisions.groupby("decider", observed=True).agg(decisions=("time", "size"), agree_with_the_cloud=("agrees", "mean"))

# %% [markdown]
# ## 5. Which fallback action?
#
# The fixed action matters only in the window between T/4 and T of silence, but what
# it does there differs a lot: `Defer` keeps the work for the cloud and waits,
# `Retry` asks again after a backoff, `UseCache` answers with a result seen before the
# partition (if one is fresh enough), `ExecuteLocal` and `UseApproximation` run on the
# site (the latter a fraction of the work), `Reject` gives up.
#
# A batch runs the same config for the six actions and two partition lengths (a third
# of `partition_length`, and all of it), each on the same `replications` seeds, so
# every scenario meets the same arrivals and the same faults.

# %%
spec = {
    "experiment": config,
    "grid": {"autonomy.fallback.params.action": list(FALLBACK_ACTIONS),
             "faults.0.duration": [round(partition_length / 3, 1), partition_length]},
    "replications": replications,
    "seed": 2026,
    "baseline": f"autonomy.fallback.params.action=Defer,faults.0.duration={partition_length}",
}
batch = wfsim.batch(spec, workers=workers)
print(f"{len(batch.runs)} runs, {len(batch.failed)} failed")

# %%
runs = batch.runs.rename(columns={"autonomy.fallback.params.action": "action", "faults.0.duration": "partition (s)"})
runs["success rate"] = runs["workflows.completed"] / (runs["workflows.completed"] + runs["workflows.failed"])
shown = {"success rate": "success rate", "workflows.failed": "failed", "latency.mean": "latency mean (s)",
         "latency.p95": "latency p95 (s)", "autonomy.decisions.by_decider.fallback": "fallback decisions",
         "autonomy.cache_hits": "cache hits", "autonomy.deferred.wait.mean": "deferral wait (s)",
         "faults.retries": "task retries"}
table = runs.reindex(columns=["action", "partition (s)", *shown]).rename(columns=shown)
table.groupby(["partition (s)", "action"], sort=False).mean().sort_index(level=0, sort_remaining=False)

# %% [markdown]
# The comparison view: choose a metric and the scenarios; the baseline is `Defer`
# with the long partition, and each replication's points are linked across scenarios.

# %%
ComparisonView(batch)

# %% [markdown]
# What the table says (the numbers are from the full-size run: three seeds of 240 s,
# partitions of 30 and 90 s):
#
# * the **number of fallback decisions** does not depend on the partition's length:
#   the fallback only acts between T/4 and T of silence, and both partitions last at
#   least T. What follows differs: after T the edge decides itself;
# * **`Reject`** fails by far the most workflows (about nine per run, against fewer
#   than one for `Defer`) and buys little for it: its latency, though it dropped
#   exactly the work that would have been slow, is no better than `UseCache`'s;
# * **`UseCache`** fails as few workflows as `Defer`, at a lower latency: the
#   pipelines seen completing in the minute before are answered at once, each answer
#   as stale as the cache's age (`autonomy.staleness`; never above `max_cache_age`,
#   which P19's `cache-staleness` checks on a run that serves from its cache).
#   Whether stale answers are acceptable is the application's call;
# * **`Defer`** keeps the work for the cloud: its deferred tasks wait until the site
#   reconnects (about 16 s for the short partition, 74 s for the long one), which
#   doubles its p95 latency when the partition is long;
# * **`Retry`** asks again every 5 s (`retry_backoff`), each time a new decision, and
#   pays for the waiting in its p95 either way; **`ExecuteLocal`** and
#   **`UseApproximation`** keep latency low by running on the site, but on the long
#   partition lose a few more workflows than `Defer` and `UseCache`.
#
# Which one to choose is not a property of the mechanism but of the application:
# how much a late answer, a stale one, an approximate one or none at all is worth.
#
# ## 6. Evidence
#
# The property catalog's fault properties, checked on the detailed run's trace alone:
# P19 (an edge node's autonomy level is the one its connectivity calls for, it decides
# locally only when its level allows, and serves no cached result older than
# `max_cache_age`), P20 (the detector moves nodes only Healthy → Partitioned → Failed
# → Healthy, marks every long enough crash Failed within its bound, and never marks
# Failed a node no fault reached), P21 (writes during partitions) and P22 (leases).
# P21 and P22 are `not_applicable` here: the pipeline writes no shared state and
# holds no lease. Note what P20's accuracy clause allows: edge-0 was marked Failed
# while it was up, but a fault (the partition) did reach it.

# %%
pd.DataFrame([{"id": v.pid, "property": v.name, "verdict": v.verdict, "checked": v.checked, "unit": v.unit}
              for v in check_catalog(trace, ["P19", "P20", "P21", "P22"])])

# %% [markdown]
# Formulas of one's own can be checked per node, over the node's faults, detector
# states, connectivity, decisions and task events (`per="node"`). "Every crash is
# eventually followed by the detector's `Failed`" and "an edge node that lost the
# cloud gets it back":

# %%
for formula in ("G(crash -> F failed)", "G(disconnected -> F connected)"):
    verdict = check_formula(trace, formula, per="node")
    print(f"{formula}: {verdict.verdict} ({verdict.checked} nodes, {verdict.violated} violated)")

# %% [markdown]
# ## What to try next
#
# * Give the edge a rule (`autonomy.rules`, e.g. `{rule: threshold, params: {metric:
#   heartbeat_age, threshold: 5, comparison: GreaterThan}}`) so that it decides itself
#   sooner, or the seed's `cache` fallback policy, which serves a fresh cached result
#   and defers otherwise.
# * Let partitions recur (`every:` on the partitions process) and tune `heartbeat_timeout`
#   against the detector's `timeout` with a study (`05-tuning`).
# * Replace the crash by a `crashes` process over the EdgeCloud tier and compare
#   fault-tolerance modes (`fault_tolerance.mode`: `ActivePassive`, `ActiveActive`,
#   `Quorum`).
