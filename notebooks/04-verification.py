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
# # Verification: properties of runs, and consistency of histories
#
# A simulation that produces good numbers can still be wrong: a task that started
# before its input arrived, a node that lent out more cores than it had, a workflow
# that never finished. wfsim checks such properties **on the trace alone**, after
# the run, so the same checks work on a run loaded from disk, on a run of a strategy
# you just wrote, and in CI.
#
# This notebook checks the property catalog on a run, writes its own temporal-logic
# property and finds it violated (with a counterexample to step through), and then
# checks recorded histories of a replicated register for linearizability: one that
# passes and one that does not.

# %% tags=["parameters"]
duration = 120.0    # arrival window of the run (simulated seconds)
seed = 3

# %%
import json
from pathlib import Path

import pandas as pd

from wfsim import (
    EarliestFinishTime,
    HealthChange,
    Periodic,
    Poisson,
    Simulation,
    Workload,
    chain,
    hierarchical,
    order_processing,
)
from wfsim.verify import check_catalog, check_formula, evaluate, parse
from wfsim.verify.history import check_history, load_history
from wfsim.widgets import TraceExplorer, VerificationPanel

pd.set_option("display.max_colwidth", 120)
HISTORIES = Path("..", "tests", "data", "histories")


def verdicts(results) -> pd.DataFrame:
    """One row per property verdict."""
    return pd.DataFrame([{"id": v.pid, "property": v.name, "verdict": v.verdict, "checked": v.checked,
                          "violated": v.violated, "inconclusive": v.inconclusive, "unit": v.unit}
                         for v in results])


# %% [markdown]
# ## 1. A run with an outage
#
# Sensors send three-task chains; two devices send the seed's order workflow, whose
# `process_payment` task may run **only in the cloud** (the payment provider). From
# 40 s to 70 s the cloud is `Unhealthy`: it finishes what it holds but takes no new
# work, so an order that reaches its payment step in that window has nowhere to go.

# %%
topology = hierarchical(devices=8, edge=2, regional=1)
workloads = [
    Workload("sensors", chain(3, work=2e9, data_bytes=5e6), Poisson(rate=0.1)),
    Workload("orders", order_processing(), Periodic(period=5.0, jitter=1.0), origins=["device-0", "device-1"]),
]
outage = [HealthChange(40.0, "cloud", "Unhealthy"), HealthChange(70.0, "cloud", "Healthy")]
result = Simulation(topology, workloads, placement=EarliestFinishTime(), seed=seed, duration=duration,
                    health=outage).run()
trace = result.trace
result.metrics["workflows"]

# %% [markdown]
# ## 2. The property catalog
#
# `check_catalog(trace)` checks every property of the catalog: the seed's P1–P6
# (lifecycle, termination, dependency safety, …), P17 and P18 (placement feasibility,
# resource conservation), P23–P25 (run once, one node at a time, migration phases,
# load balancing only onto healthy nodes) and the engine's own run-time lifecycle
# enforcement. Each verdict is `true`, `false`, `inconclusive` (an obligation still
# open when a truncated run stopped) or `not_applicable` (nothing to check, e.g. no
# migration happened).

# %%
catalog = check_catalog(trace)
verdicts(catalog)

# %% [markdown]
# Everything holds, the failed orders included: a workflow that **fails** still
# terminates (P2 asks for `completed | failed`), and no work was put on the cloud while
# it was unhealthy (P25 `lb-healthy`). The panel shows the same verdicts, colour-coded,
# with a filter; pick a property to see what it says and how many entities it checked.

# %%
VerificationPanel(catalog, trace=trace)

# %% [markdown]
# Stop the same run at 60 s (`until=60`) and eventual termination can no longer be
# decided for the workflows still running: their verdict is `inconclusive`, not
# `false`. The counterexample says which obligation is still open.

# %%
cut = Simulation(topology, workloads, placement=EarliestFinishTime(), seed=seed, duration=duration,
                 health=outage, until=60.0).run().trace
termination = check_catalog(cut, ["P2"])[0]
print(termination.verdict, f"({termination.inconclusive} of {termination.checked} workflows open)")
print(termination.counterexamples[0].explanation)

# %% [markdown]
# ## 3. A property of our own, and its counterexample
#
# The catalog checks what must hold for *any* run. A designer also has expectations
# about *this* system, e.g. "every order that starts running completes". In finite-trace
# LTL over each workflow's events (`created`, `running`, `completed`, `failed`):
#
#     G(running -> F completed)
#
# "always (G), once running, eventually (F) completed". `parse` reads the text into a
# formula object; `evaluate` checks it on a list of steps (sets of atoms), which is
# handy to convince yourself of what a formula means before running it on a trace:

# %%
formula = parse("G(running -> F completed)")
print(formula)
for steps in ([{"created"}, {"running"}, {"completed"}], [{"created"}, {"running"}, {"failed"}]):
    print(" → ".join("|".join(sorted(s)) for s in steps), ":", evaluate(formula, steps).value)

# %% [markdown]
# On the run, `check_formula` evaluates it on every workflow instance:

# %%
expectation = check_formula(trace, "G(running -> F completed)")
print(f"{expectation.verdict}: violated by {expectation.violated} of {expectation.checked} workflows")
counterexample = expectation.counterexamples[0]
print(counterexample.explanation)

# %% [markdown]
# The expectation is false, and the counterexample says why: an order arrived during
# the outage, its first task ran at the edge, and its payment task found no feasible
# node. `counterexample.frame()` is the slice of the trace around it (workflow and
# task events):

# %%
counterexample.frame()

# %% [markdown]
# All the violations fall in the outage, and all are orders: the
# sensors' chains may run anywhere and kept completing.

# %%
failed = [int(c.entity) for c in expectation.counterexamples]
summary = trace.workflow_summary().set_index("workflow")
summary.loc[failed, ["workload", "arrival", "state", "reason"]]

# %% [markdown]
# In the panel, with the trace explorer beside it: Prev/Next steps through the
# counterexamples, and each one is highlighted in the explorer (its workflow's tasks
# and transfers, around the time it failed).

# %%
explorer = TraceExplorer(trace)
panel = VerificationPanel(expectation, trace=trace, explorer=explorer)
panel

# %%
explorer

# %% [markdown]
# Per task instance the atoms are `placed`, `ready`, `start`, `end`, `failed`. On the
# same run, "a ready task eventually starts" holds, and "no task ever fails" does not:
# its counterexamples are the payment tasks, which failed without ever being placed.

# %%
task_formulas = ["G(ready -> F start)", "G !failed"]
task_verdicts = [check_formula(trace, f, per="task") for f in task_formulas]
print(task_verdicts[1].counterexamples[0].explanation)
verdicts(task_verdicts).assign(formula=task_formulas)

# %% [markdown]
# ## 4. Consistency of recorded histories
#
# Workflows that share state need it replicated consistently. The history checkers
# decide whether a recorded history of operations (who invoked what, when, and what
# came back) could have come from one atomic object: **linearizability** (a
# Wing–Gong/Lowe search, per key), or the weaker sequential and causal consistency.
# They read Jepsen's logs and Porcupine's files directly.
#
# The repository ships generated histories with **known verdicts**: the project's
# own, in Jepsen's etcd log format, with the argument for each verdict written down
# (`tests/data/README.md`). Here is one that is linearizable and one that is not:

# %%
register = HISTORIES / "register"
known = json.loads((register / "verdicts.json").read_text())
good, bad = register / "r05-info-ok.log", register / "r05-stale-bad.log"
print(good.name, "is known to be", known["verdicts"][good.name])
print(bad.name, "is known to be", known["verdicts"][bad.name], "because:")
print(" ", known["why"][bad.name])

# %%
print(*(good.read_text().splitlines()[:8]), sep="\n")

# %%
checked = {path.name: check_history(path, model="register", consistency="linearizable")
           for path in (good, bad)}
pd.DataFrame([{"history": name, "operations": len(load_history(register / name).operations),
               "verdict": v.verdict, "seconds": v.elapsed, "states explored": v.explored}
              for name, v in checked.items()])

# %% [markdown]
# The checker agrees with both known verdicts. For the bad history it names the
# operation that no linearization can place: the longest prefix of operations that
# can be put in one order is followed by a read that returns a value the register
# cannot hold by then.

# %%
rejected = checked[bad.name]
print(rejected.counterexample.description)
pd.DataFrame([rejected.counterexample.operations[i] for i in [*rejected.counterexample.prefix[-6:],
                                                              rejected.counterexample.blocked]])[
    ["id", "process", "f", "value", "output", "call", "ret", "status", "text"]]

# %% [markdown]
# The panel draws the history as a Porcupine-style timeline, one bar per operation
# from its call to its return, per process, and steps through the linearization up to
# the operation that blocks it. The good history has no counterexample: the panel
# says how `ok` was established.

# %%
VerificationPanel(rejected, history=bad)

# %%
VerificationPanel(checked[good.name], history=good)

# %% [markdown]
# ## What to try next
#
# * `wfsim verify DIR` and `wfsim check-history FILE…` do the same from the command
#   line (`--json` for machines).
# * Check the key-value histories under `tests/data/histories/kv/` (`model="kv"`), or
#   real Jepsen/Porcupine histories, at `consistency="sequential"` or `"causal"`.
# * Write the expectation you really hold about your strategy as a formula, and check
#   it on every run of a batch (`02-strategies-compared`).
# * A property worth keeping belongs in the catalog: `CONTRIBUTING.md` says how (one
#   module and its tests).
