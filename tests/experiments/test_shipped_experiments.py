"""Every experiment and batch file shipped in experiments/ validates, and the small
experiments run."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfsim.experiments import build_simulation, load_config
from wfsim.experiments.batchfile import load_plan
from wfsim.experiments.loading import read_yaml

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))
#: Batch files name their experiment (wfsim.experiments.batchfile); the rest are configs.
BATCHES = [path for path in SHIPPED if "experiment" in read_yaml(path)]
EXPERIMENTS = [path for path in SHIPPED if path not in BATCHES]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_experiment_builds(path: Path) -> None:
    config = load_config(path)
    sim = build_simulation(config, path.parent, str(path))
    assert sim.topology.nodes


@pytest.mark.parametrize("path", BATCHES, ids=lambda p: p.name)
def test_batch_file_plans_every_run(path: Path) -> None:
    plan = load_plan(path)  # every scenario validated and built
    assert len(plan.specs) == len(plan.scenarios) * len(plan.seeds) > 1


@pytest.mark.parametrize("name", ["quickstart.yaml", "campus.yaml", "maintenance.yaml"])
def test_small_experiment_runs_to_completion(name: str) -> None:
    path = EXPERIMENTS[0].parent / name
    result = build_simulation(load_config(path), path.parent, str(path)).run()
    workflows = result.metrics["workflows"]
    assert workflows["submitted"] > 0
    assert workflows["completed"] == workflows["submitted"]


def test_maintenance_experiment_exercises_the_adaptive_runtime() -> None:
    from wfsim.verify.catalog import check_catalog

    path = EXPERIMENTS[0].parent / "maintenance.yaml"
    trace = build_simulation(load_config(path), path.parent, str(path)).run().trace
    verdicts = {v.name: v.verdict for v in check_catalog(trace)}
    assert "false" not in verdicts.values()
    assert verdicts["migration-single-active"] == verdicts["rebalance-direction"] == "true"
    m = trace.migrations
    evacuated = m[(m["trigger"].astype(str) == "AvailabilityRisk") & (m["state"].astype(str) == "Completed")]
    assert len(evacuated) and set(evacuated["source"].astype(str)) == {"edge-0"}
    assert (trace.task_events["event"] == "checkpointed").any() and len(trace.allocations)
