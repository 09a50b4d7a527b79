"""The replicated-state part of a run's report: present with the tables, its numbers
those of the figure data, absent from a run without replicated state."""

from __future__ import annotations

from pathlib import Path

from consistency_views_support import adaptive_under_partition

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.report import build_report
from wfsim.report.consistency import consistency_part
from wfsim.trace.metrics import summarize
from wfsim.trace.rundir import write_run
from wfsim.viz.consistency import level_summary


def test_only_a_run_with_replicated_state_has_its_part(tmp_path: Path) -> None:
    trace = adaptive_under_partition()
    part = consistency_part(trace)
    captions = [t.caption for t in part.tables]
    assert captions[:2] == ["Per level served: cost (latency) and gain (freshness)",
                            "Attempts by outcome, per level served"]
    first = part.tables[0]
    assert [row[0] for row in first.rows] == list(level_summary(trace)["level"])
    assert first.rows[0][2] == str(int(level_summary(trace)["ok"].iloc[0]))
    assert len(part.images) == 1 and part.images[0].uri.startswith("data:image/png;base64,")
    downgrades = next(t for t in part.tables if t.caption == "Downgrades")
    assert sum(int(row[1]) for row in downgrades.rows) == int((trace.operations["attempt"] > 0).sum())
    # One report of a run with replicated state and one without: the part once.
    plain = Simulation(hierarchical(devices=2, edge=1, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                       duration=3.0, seed=1).run().trace
    runs = [write_run(tmp_path / name, t, summarize(t)) for name, t in (("state", trace), ("plain", plain))]
    page = build_report(runs, tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("Protocol messages by level and kind") == 1
    assert page.count("Per level served: cost (latency) and gain (freshness)") == 1
