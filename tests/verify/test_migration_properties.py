"""P24 over saved runs: migration phases, exclusivity and a single active node."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from wfsim.verify import check_catalog

from test_migration import rebalanced_sim


def verdicts(trace) -> dict[str, str]:
    return {v.name: v.verdict for v in check_catalog(trace, ["P24"])}


def rebalanced_trace():
    return rebalanced_sim(1, 6.0, 0.8, [2, 2, 2], 4, 2.0).run().trace


def test_p24_holds_on_a_rebalanced_run_and_is_not_applicable_without_migrations(tmp_path: Path) -> None:
    trace = rebalanced_trace()
    assert len(trace.migrations)
    assert set(verdicts(trace).values()) == {"true"}
    trace.save(tmp_path)
    from wfsim.trace.trace import Trace
    assert set(verdicts(Trace.load(tmp_path)).values()) == {"true"}
    quiet = rebalanced_sim(1, 6.0, 0.8, [2, 2, 2], 4, 2.0)
    quiet.rebalancer = None
    assert set(verdicts(quiet.run().trace).values()) == {"not_applicable"}


def test_p24_catches_corrupted_migrations() -> None:
    trace = rebalanced_trace()
    m = trace.migrations
    first = m["migration"].iloc[0]
    # A phase skipped: drop the Transferring row of the first migration.
    skipped = m[~((m["migration"] == first) & (m["state"].astype(str) == "Transferring"))]
    broken = trace.__class__(**{**trace.__dict__, "migrations": skipped.reset_index(drop=True)})
    result = {v.name: v for v in check_catalog(broken, ["P24"])}
    assert result["migration-phases"].verdict == "false"
    assert "Preparing -> Activating" in result["migration-phases"].first.explanation
    # A task started on its migration's source instead of the target.
    done = m[m["state"].astype(str) == "Completed"].iloc[0]
    ev = trace.task_events.copy()
    hit = ((ev["workflow"] == done["workflow"]) & (ev["task"].astype(str) == str(done["task"]))
           & (ev["event"] == "start"))
    ev.loc[hit, "node"] = done["source"]
    moved = trace.__class__(**{**trace.__dict__, "task_events": ev})
    single = {v.name: v for v in check_catalog(moved, ["P24"])}["migration-single-active"]
    assert single.verdict == "false"
    assert single.first.entity == f"{done['workflow']}/{done['task']}"
    # Two overlapping migrations of one task.
    extra = m[m["migration"] == first].copy()
    extra["migration"] = m["migration"].max() + 1
    extra["time"] = extra["time"] + 1e-9
    twice = trace.__class__(**{**trace.__dict__, "migrations": pd.concat([m, extra], ignore_index=True)})
    assert {v.name: v.verdict for v in check_catalog(twice, ["P24"])}["migration-exclusive"] == "false"
