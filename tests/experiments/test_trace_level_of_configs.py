"""build_simulation(..., trace="metrics") on the shipped experiments: the metrics of
every run equal those of the full run of the same config and seed (integers exactly,
floats within a relative 1e-12: see sim_support.assert_same_metrics)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfsim.experiments import build_simulation, load_config
from wfsim.trace.metrics import capacity_changes

from sim_support import assert_same_metrics

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def both_levels(name: str, overrides: list[str]):
    path = EXPERIMENTS / name
    config = load_config(path, overrides)
    full = build_simulation(config, path.parent, str(path)).run()
    lean = build_simulation(config, path.parent, str(path), trace="metrics").run()
    assert lean.trace is None
    return full, lean


@pytest.mark.parametrize(("name", "overrides"), [
    ("compare-placement.yaml", ["duration=60"]),
    ("compare-placement.yaml", ["duration=60", "placement=heft", "network=shared", "until=40"]),
    ("campus.yaml", []),
    ("quickstart.yaml", ["duration=60"]),
])
def test_metrics_level_gives_the_full_runs_metrics(name: str, overrides: list[str]) -> None:
    full, lean = both_levels(name, overrides)
    assert_same_metrics(full.metrics, lean.metrics)


def test_metrics_level_with_autoscaling_migration_and_allocations() -> None:
    # maintenance.yaml: evacuation and rebalancing (checkpointed tasks resumed
    # elsewhere), elastic tasks started small (allocations) and autoscaled edge clouds.
    full, lean = both_levels("maintenance.yaml", [])
    trace = full.trace
    assert len(trace.migrations) and len(trace.rebalances) and len(trace.allocations)
    assert len(capacity_changes(trace)) and (trace.task_events["event"] == "checkpointed").any()
    assert_same_metrics(full.metrics, lean.metrics)
