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
# # A design-review report
#
# The notebooks are where a design is explored; a design review needs something else:
# one file that anybody can open, that shows the scenario, the results with their
# intervals, the strategy comparison, the trade-offs found by tuning and the
# verification verdicts, and that says exactly how to reproduce every number in it.
#
# `wfsim report DIR… -o FILE.html` writes that file from the directories that
# `wfsim run`, `wfsim batch` and `wfsim tune` (or their Python counterparts) leave on
# disk: one self-contained HTML page (figures embedded, no scripts fetched from
# anywhere), a section per directory, then the manifest of each: seeds, package
# versions, git revision, configuration and file checksums.
#
# This notebook produces a run, a batch and a study, small ones, builds the report
# from them and previews it.

# %% tags=["parameters"]
duration = 120.0      # arrival window of every run (simulated seconds)
replications = 3      # seeds per batch scenario and per tuning trial
n_trials = 12         # trials of the study

# %%
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from IPython.display import IFrame

import wfsim

EXPERIMENTS = Path("..", "experiments")
RESULTS = Path("results", "06-report")         # notebooks/results/ is git-ignored

# Each run of the notebook starts from an empty directory of its own: a batch or study
# directory holding a different batch or study is refused, never overwritten.
shutil.rmtree(RESULTS, ignore_errors=True)
RESULTS.mkdir(parents=True)


def wfsim_cli(*args: str) -> None:
    """Run the ``wfsim`` command, as a terminal would, with this kernel's Python."""
    done = subprocess.run([sys.executable, "-m", "wfsim.cli", *args], capture_output=True, text=True)
    print(done.stdout[-2000:], done.stderr[-2000:], sep="")
    done.check_returncode()


# %% [markdown]
# ## 1. A run
#
# The quickstart experiment, run from the command line into a run directory (the
# trace as Parquet files, the metrics and the manifest). `wfsim_cli` above runs the
# very command you would type, `wfsim run …`, with this kernel's interpreter.

# %%
run_dir = RESULTS / "quickstart"
wfsim_cli("run", str(EXPERIMENTS / "quickstart.yaml"), "--out", str(run_dir), "--set", f"duration={duration}", "-q")
sorted(p.name for p in run_dir.iterdir())

# %% [markdown]
# ## 2. A batch
#
# Four placement strategies on common seeds (`02-strategies-compared` explains it),
# this time from Python, with `out=` so that the batch, its runs and its summaries are
# kept on disk (and could be resumed or extended with more replications).

# %%
batch_dir = RESULTS / "placement"
batch = wfsim.batch(EXPERIMENTS / "placement-batch.yaml", out=batch_dir, replications=replications,
                    overrides=[f"duration={duration}"], workers=1)
print(batch.markdown())

# %% [markdown]
# ## 3. A study
#
# `experiments/studies/tune-placement.yaml` tunes the placement strategy, its weights,
# the scheduling policy and the rebalancing interval (`05-tuning` explains studies).
# Here with fewer trials and seeds, written to a study directory.

# %%
study = yaml.safe_load((EXPERIMENTS / "studies" / "tune-placement.yaml").read_text())
study.update(name="tune-placement", experiment=str(EXPERIMENTS / "compare-placement.yaml"),
             set=[f"duration={duration}"], n_trials=n_trials, replications=replications, held_out=2)
study_dir = RESULTS / "tune-placement"
tuned = wfsim.tune(study, out=study_dir)
print("\n".join(tuned.summary()[:6]))

# %% [markdown]
# ## 4. The report
#
# One command, the three directories in the order of their sections:

# %%
report = RESULTS / "design-review.html"
wfsim_cli("report", str(run_dir), str(batch_dir), str(study_dir), "-o", str(report),
          "--title", "Placement on the edge–cloud continuum: design review")
print(f"{report.resolve()}: {report.stat().st_size / 1e6:.1f} MB")

# %% [markdown]
# From Python, `build_report` does the same (`wfsim report` calls it):
#
#     from wfsim.report import build_report
#     build_report([run_dir, batch_dir, study_dir], "design-review.html", title="…")
#
# The file is self-contained: send it by mail, attach it to the review's ticket, open
# it from disk without a server. Its sections, as listed in its table of contents:

# %%
html = report.read_text(encoding="utf-8")
headings = re.findall(r"<h([23])[^>]*>(.*?)</h\1>", html, flags=re.S)
print("\n".join(("  " if level == "3" else "") + re.sub(r"<[^>]+>", "", text).strip()
                for level, text in headings))

# %% [markdown]
# And the report itself (the preview needs the notebook to be served by Jupyter, which
# serves files relative to the notebook's directory; outside Jupyter, open the file):

# %%
IFrame(src=report.as_posix(), width="100%", height=600)

# %% [markdown]
# ## 5. A notebook as a report
#
# Sometimes the analysis *is* the notebook. `wfsim report --notebook` runs a notebook
# with parameters (papermill's `parameters` cell convention, as every notebook here
# has) and exports the executed notebook as one HTML file:
#
#     wfsim report --notebook notebooks/02-strategies-compared.ipynb -p replications=20 -o placement-20.html
#
# The report then holds the prose, the tables and the figures of that run of the
# notebook, with the parameters it was run with.
#
# ## What to try next
#
# * Report your own batch: `wfsim batch experiments/placement-batch.yaml --out
#   results/placement` then `wfsim report results/placement -o placement.html`.
# * Put a saved run with a maintenance window in the report (`experiments/maintenance.yaml`)
#   and look at its verification section.
# * Rebuild the report after adding replications to the batch directory: the report
#   always reflects what is on disk.
