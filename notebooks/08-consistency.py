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
# # The consistency spectrum under a partition
#
# Workflows read and write shared state, and how strong that state must be is a
# choice made per key and per moment. wfsim replicates the state on the servers of the
# continuum and serves each operation at one of four levels, each by a real protocol
# over the simulated network:
#
# | level | protocol | what a read may return |
# |---|---|---|
# | Linearizable | Raft (elections, heartbeats, majority commit, ReadIndex reads) | the latest write, in real time |
# | Sequential | one sequencer orders every write; reads served locally in that order | a value of one total order, perhaps behind |
# | Causal | vector clocks, causal delivery, sessions | nothing older than what its session saw |
# | Eventual | asynchronous replication and anti-entropy | anything; replicas converge later |
#
# The stronger the level, the more a request waits for replicas far away, and the
# sooner a partition leaves it without an answer. This notebook runs **the same
# workload at each level and with the adaptive strategy** (the level follows the
# store's health), **with and without a partition** that cuts the cloud off, and
# measures what each level cost (latency, unanswered requests) and what it gave
# (fresh reads, histories that pass their level's checker).

# %% tags=["parameters"]
devices = 8                # devices (state clients live on them)
edges = 3                  # edge clouds, each holding a replica
duration = 120.0           # arrival window (simulated seconds)
partition_start = 40.0     # when edge-0's site is cut off
partition_length = 40.0    # for how long
clients = 4                # state clients issuing reads and writes beside the workflows
budget = 30.0              # seconds each history check may take
seed = 3

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from wfsim import Poisson, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults.processes import Partitions
from wfsim.model.events import LEVELS
from wfsim.policies.consistency import AdaptiveConsistency, FixedLevel
from wfsim.verify.history import check_history, from_trace
from wfsim.viz import consistency as cv
from wfsim.widgets import ConsistencyView, VerificationPanel
from wfsim.widgets.level_histories import level_checker

pd.set_option("display.float_format", "{:,.4g}".format)

# %% [markdown]
# ## 1. The scenario
#
# `devices` devices behind `edges` edge clouds, one regional cloud and the cloud. Each
# device submits an order workflow: `fetch` reads and writes the order's key, `pay`
# reads the order and writes its payment; a task reads its keys before it starts and
# writes them when it ends, so the levels' latencies are the workflows' too. Beside
# them, `clients` state clients read and write four shared keys `kv:0`…`kv:3`: the
# histories the checkers judge.
#
# Replicas live on every server (`FullReplication`: the cloud, the regional cloud and
# the edge clouds). At `partition_start` the site of `edge-0` (the edge cloud, its
# replica, and the devices behind it, some state clients among them) is cut off for
# `partition_length` seconds: its clients can still reach their nearest replica, but
# not Raft's majority nor the sequencer in the cloud, and what is written on one side
# is not seen on the other until the partition heals.

# %%
order = Workflow("order", [Task("fetch", work=2e8, state_keys=frozenset({"order:<id>"})),
                           Task("pay", work=2e8, state_keys=frozenset({"order:<id>", "payment:<id>"}))],
                 [("fetch", "pay")])
cut = Partitions(site="edge-0", start=partition_start, duration=partition_length)


def run(strategy, partition: bool):
    """One run of the workload with ``strategy`` choosing the levels."""
    settings = ConsistencySettings(strategy=strategy, clients=clients, monitor_period=2.0, hysteresis=1)
    sim = Simulation(hierarchical(devices=devices, edge=edges, regional=1),
                     [Workload("orders", order, Poisson(0.5))], duration=duration, seed=seed,
                     faults=(cut,) if partition else (), consistency=settings)
    return sim.run()


strategies = {**{level: FixedLevel(level) for level in LEVELS}, "adaptive": AdaptiveConsistency()}
runs = {(name, partition): run(strategy, partition)
        for name, strategy in strategies.items() for partition in (False, True)}

# %% [markdown]
# ## 2. Latency against staleness
#
# For each run, from its summary metrics (`result.metrics["consistency"]`): the share
# of requests answered `ok` (a request times out at its level after 500/300/200/100 ms
# and is tried again one level down: a downgrade), the latency of the `ok` attempts,
# the share of reads that were **stale** (a write to the key acknowledged before the
# read began was newer than the value it returned) and how old those reads were, the
# protocol messages sent and the changes of the store's health.

# %%
def row(result) -> dict:
    state = result.metrics["consistency"]  # summarize's block on runs with replicated state
    requests, stale = state["requests"], state["stale_reads"]
    ok = cv.attempt_latencies(result.trace)["latency"]
    return {"requests": requests["total"], "answered ok": requests["ok"] / requests["total"],
            "latency mean (ms)": 1e3 * ok.mean(), "latency p99 (ms)": 1e3 * ok.quantile(0.99),
            "downgrades": state["downgrades"]["attempts"], "stale reads": stale["rate"],
            "staleness mean (s)": stale["seconds"]["mean"] or 0.0,
            "messages": sum(m["sent"] for m in state["messages"].values()),
            "health changes": state["health"]["changes"],
            "workflows completed": result.metrics["workflows"]["completed"]}


table = pd.DataFrame({(name, "partition" if partition else "none"): row(result)
                      for (name, partition), result in runs.items()}).T
table.index.names = ["levels", "partition"]
table

# %% [markdown]
# Reading it down the levels: Linearizable pays the round trips to the Raft leader's
# majority on every operation, Sequential those to the sequencer for writes, while
# Causal and Eventual answer from the nearest replica at once. Without the partition
# the replicas keep up and few reads, if any, are stale. Under the partition the
# cut-off clients cannot reach a majority or the sequencer: their strong requests time
# out and go down the chain (the downgrades), and a request answered one level down
# may return a stale value; at the weak levels each side goes on with its own writes,
# and the other side's reads are stale until the heal. The adaptive strategy follows
# the store's health, judged by the seed's thresholds on the replicas available and
# the p99 latency; it moves the whole store down (and back up) as they change.
#
# A read is judged against every acknowledged write to its key, whatever the level:
# a write served at a weak level is copied to the weaker stores only (the seed's
# hybrid store), so a strong read after it can be "stale" in the adaptive run too.
#
# ## 3. Per level, in one run
#
# The adaptive run under the partition serves every level. Per level served: attempts,
# latency and freshness side by side.

# %%
adaptive = runs["adaptive", True].trace
cv.level_summary(adaptive)

# %% [markdown]
# The whole picture of that run: latency per level, stale reads and their age, the
# outcomes per level, the store's health over time (what the thresholds said at each
# check, and the state in force after hysteresis) and every downgrade over time, by
# the levels it went from and to.

# %%
cv.consistency_overview(adaptive);

# %% [markdown]
# ## 4. The histories, checked per level
#
# Every attempt is a row of the trace's `operations` table: an invocation and a
# return, as a client saw them. The attempts served at one level, with the writes the
# store copied down to that level from stronger ones, form that level's history
# (`wfsim.verify.history.from_trace`), which the history checkers judge: the
# Linearizable history with the linearizability checker, the Sequential one with the
# sequential checker, the Causal one with the causal checker. Eventual promises only
# convergence (a catalog property), so it has no checker of its own.
#
# Each level's history from its own run under the partition, checked by its own
# level's checker and by the linearizability checker. The histories hold the state
# clients' keys `kv:*`: many clients on few keys is where the levels differ (a task's
# keys are used by its own workflow's tasks only, one after another), and checking
# sequential consistency is NP-complete in general, so a smaller history keeps each
# check within its `budget` (beyond it the verdict is `unknown`, never a guess).

# %%
verdicts = {}
for level in LEVELS:
    trace = runs[level, True].trace
    shared = sorted({key for key in trace.operations["key"].astype(str) if key.startswith("kv:")})
    history = from_trace(trace, level, shared)
    own = level_checker(level)
    verdicts[level] = {
        "operations": len(history),
        "own checker": own or "–",
        "own verdict": check_history(history, "register", own, budget).verdict if own else "–",
        "linearizable?": check_history(history, "register", "linearizable", budget).verdict,
    }
pd.DataFrame(verdicts).T

# %% [markdown]
# Each level's history passes its own checker; a weaker level's history fails the
# stronger checker: a stale read across the partition is a value no linearization
# can explain. The verification panel shows the catalog's verdicts on the Eventual
# run under the partition, then its histories per level: a checker chosen for the
# Eventual history shows its counterexample, stepped up to the read that cannot be
# linearized.

# %%
panel = VerificationPanel(runs["Eventual", True].trace)
panel.histories.checker.value = "linearizable"
panel

# %% [markdown]
# ## 5. Explore
#
# The `ConsistencyView` of the adaptive run under the partition: choose the levels,
# a key or a data type (`kv:*`, `order:*`) and a time window; below the figure, the
# levels' numbers and the latest operations selected.

# %%
view = ConsistencyView(adaptive)
view.window.value = (max(partition_start - 10.0, 0.0), min(partition_start + partition_length + 10.0, duration))
view

# %%
plt.close("all")
