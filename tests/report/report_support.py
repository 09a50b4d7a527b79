"""Small sources for the report tests, each a few seconds of work: an experiment whose
names hold markup, its run (full and metrics-only), the run with a corrupted trace (a
property false), a batch and a two-objective study of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from wfsim.cli import main
from wfsim.experiments.batch import batch
from wfsim.trace.rundir import read_metrics, write_run
from wfsim.trace.trace import Trace
from wfsim.tuning import tune

#: Markup in a scenario name, a workload name, a node id and a task id.
SCRIPT, WORKLOAD, NODE, TASK = "<script>alert(1)</script>", "<b>sensing</b>", "<b>dev</b>", "<i>read</i>"
MARKUP = (SCRIPT, WORKLOAD, NODE, TASK)

#: Ten simulated seconds on three nodes: about six workflows.
EXPERIMENT: dict[str, Any] = {
    "name": f"{SCRIPT} review", "seed": 3, "duration": 10, "network": "fast", "placement": "earliest_finish_time",
    "topology": {
        "nodes": [{"id": NODE, "tier": "LocalDevice", "cores": 2},
                  {"id": "edge", "tier": "EdgeCloud", "cores": 8, "speed": 2e9},
                  {"id": "cloud", "tier": "Cloud", "cores": 32, "speed": 3e9, "price": 1e-5}],
        "links": [{"a": NODE, "b": "edge", "latency": 0.005, "bandwidth": 1.25e7},
                  {"a": "edge", "b": "cloud", "latency": 0.02, "bandwidth": 1.25e8}]},
    "workloads": [{"name": WORKLOAD,
                   "workflow": {"tasks": [{"id": TASK, "work": 1e8}, {"id": "infer", "work": 2e9}],
                                "edges": [[TASK, "infer", 1e6]]},
                   "arrivals": {"process": "poisson", "rate": 0.5}}],
}


def experiment(directory: Path) -> Path:
    """:data:`EXPERIMENT` written to ``directory/experiment.yaml``."""
    path = directory / "experiment.yaml"
    path.write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
    return path


def run(directory: Path, name: str = "run", trace: str = "full") -> Path:
    """The experiment run by ``wfsim run`` into ``directory/name``."""
    out = directory / name
    assert main(["run", str(experiment(directory)), "--out", str(out), "--trace", trace, "-q"]) == 0
    return out


def corrupted(source: Path, out: Path) -> Path:
    """``source`` with its first task end recorded twice: ``run-once`` and
    ``resource-conservation`` are then false for that task."""
    trace = Trace.load(source)
    events = trace.task_events
    first_end = events[events["event"] == "end"].head(1)
    trace.task_events = pd.concat([events, first_end]).sort_values("time", kind="stable").reset_index(drop=True)
    return write_run(out, trace, read_metrics(source))


def batch_dir(directory: Path) -> Path:
    """Two placements × two replications of the experiment, kept as metrics."""
    spec = {"experiment": str(experiment(directory)), "grid": {"placement": ["earliest_finish_time", "nearest_edge"]},
            "replications": 2, "seed": 7}
    return batch(spec, directory / "batch", workers=1).out or directory / "batch"


def study_dir(directory: Path) -> Path:
    """Three trials of a two-objective study of the placement, one held-out seed; the
    study file is ``directory/study.yaml``."""
    spec = {"experiment": str(experiment(directory)), "seed": 5, "n_trials": 3, "replications": 1, "held_out": 1,
            "objectives": [{"latency.p95": "minimize"}, {"cost": "minimize"}], "sampler": "random",
            "space": {"placement": {"strategy": ["earliest_finish_time", "nearest_edge", "cloud_only"]}}}
    path = directory / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = directory / "study"
    tune(path, out)
    return out
