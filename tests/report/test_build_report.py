"""``build_report``: the sections of a run, a batch and a study; figures embedded;
verdicts with counterexamples; the manifest; escaping; nothing loaded from elsewhere."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape

from wfsim.experiments.batch import open_batch
from wfsim.report import GENERATOR, build_report
from wfsim.report.build import render
from wfsim.report.document import MAX_ROWS, Part, number, table
from wfsim.report.study import objectives
from wfsim.trace.rundir import check_run
from wfsim.trace.trace import Trace
from wfsim.tuning import open_study
from wfsim.verify.catalog import check_catalog

from report_support import MARKUP, SCRIPT, batch_dir, corrupted, run, study_dir

PNG = "data:image/png;base64,"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sources")
    full = run(base)
    return {"run": full, "bad": corrupted(full, base / "bad"), "lean": run(base, "lean", trace="metrics"),
            "batch": batch_dir(base), "study": study_dir(base)}


@pytest.fixture(scope="module")
def runs_report(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("out") / "runs.html"
    assert build_report([sources["run"], sources["bad"], sources["lean"]], out) == out
    return out.read_text(encoding="utf-8")


def sections(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<h[2-5]>(.*?)</h[2-5]>", page)]


def test_a_run_report_has_its_sections_and_one_figure_per_traced_run(runs_report: str) -> None:
    found = sections(runs_report)
    for heading in ("Scenario", "Metrics", "Figures", "Verification", "Manifest", "This report"):
        assert heading in found
    assert found.count("Figures") == 2 and runs_report.count(PNG) == 2  # the metrics-only run has none
    assert "kept only its metrics" in runs_report
    assert "Topology: 3 nodes" in runs_report and "Links: 2" in runs_report


def test_the_verdicts_and_the_counterexamples_of_a_false_property(runs_report: str, sources: dict[str, Path]) -> None:
    verdicts = check_catalog(Trace.load(sources["bad"]))
    false = [v for v in verdicts if v.verdict == "false"]
    assert {v.name for v in false} >= {"run-once"}
    rows = re.findall(r'<tr class="verdict-false"><td>(P\d+)</td><td>([^<]+)</td>', runs_report)
    assert sorted(name for _, name in rows) == sorted(v.name for v in false)
    for v in false:
        assert f"{v.pid} {v.name}: false" in sections(runs_report)
        # the first counterexample, and its slice of the trace as a table
        assert f"<caption>Counterexample 1: {escape(v.first.describe())}</caption>" in runs_report
    clean = check_catalog(Trace.load(sources["run"]))
    assert all(v.verdict != "false" for v in clean)


def test_the_manifest_reproduces_each_source(runs_report: str, sources: dict[str, Path]) -> None:
    manifest = check_run(sources["run"])
    extra = manifest.model_extra or {}
    manifest_html = runs_report[runs_report.index(">Manifest</h2>"):]
    assert f"<dd>{manifest.seed}</dd>" in manifest_html
    assert extra["git_revision"] in manifest_html
    for package, version in extra["versions"].items():
        assert f"<td>{package}</td><td>{version}</td>" in manifest_html
    for name, record in manifest.files.items():
        assert f"<td>{name}</td><td>{record.bytes}</td><td>{record.sha256}</td>" in manifest_html
    assert f"<dt>wfsim</dt><dd>{extra['versions']['wfsim']}</dd>" in manifest_html  # this report's own


def test_text_from_configs_and_traces_is_escaped(runs_report: str) -> None:
    for markup in MARKUP:
        assert markup not in runs_report
        assert escape(markup) in runs_report
    assert "<script" not in runs_report.lower()
    assert f"<h2>Run {escape(SCRIPT)} review</h2>" in runs_report


def test_nothing_is_loaded_from_elsewhere(runs_report: str) -> None:
    assert re.findall(r'\b(?:src|href)="(?!data:image/png;base64,|#)', runs_report) == []
    assert "<script src" not in runs_report and "@import" not in runs_report
    assert f'<meta name="generator" content="{GENERATOR}">' in runs_report


def test_a_batch_report(sources: dict[str, Path], tmp_path: Path) -> None:
    out = build_report([sources["batch"]], tmp_path / "batch.html", title="Placement <review>")
    page = out.read_text(encoding="utf-8")
    assert "<title>Placement &lt;review&gt;</title>" in page
    found = sections(page)
    assert "Metrics" in found and "Differences from placement=earliest_finish_time" in found
    assert page.count(PNG) == 2  # the means and the paired differences, a panel per metric
    result = open_batch(sources["batch"])
    for scenario in result.plan.names:
        assert f"<td>{scenario}</td>" in page
    latency = result.summary().set_index(["scenario", "metric"]).loc[("placement=nearest_edge", "latency.mean")]
    assert f"{latency['mean']:.4g} [{latency['ci_low']:.4g}, {latency['ci_high']:.4g}]" in page
    manifest = json.loads((sources["batch"] / "batch.json").read_text())
    provenance = page[page.index(">Manifest</h2>"):]
    assert f"<dd>{' '.join(map(str, result.plan.seeds))}</dd>" in provenance
    assert manifest["git_revision"] in provenance and f"<td>simpy</td><td>{manifest['versions']['simpy']}" in provenance
    for name, digests in manifest["outputs"].items():
        assert f"<td>{name}</td><td>{digests[-1]}</td>" in provenance
    assert "<script" not in page.lower()


def test_a_batch_report_lists_its_failed_runs(sources: dict[str, Path], tmp_path: Path) -> None:
    failing = tmp_path / "failing"
    shutil.copytree(sources["batch"], failing)
    record = failing / "runs" / "1-r1.json"  # scenario 1, replication 1 failed
    outcome = json.loads(record.read_text())
    outcome.update(status="failed", metrics=None, error="RuntimeError: <b>no node</b>\nTraceback …")
    record.write_text(json.dumps(outcome))
    page = build_report([failing], tmp_path / "failing.html").read_text(encoding="utf-8")
    failed = page[page.index(">Failed runs</h3>"):]
    assert "Failed runs: 1" in failed
    assert f"<td>placement=nearest_edge</td><td>1</td><td>{outcome['seed']}</td>" in failed
    assert "<td>RuntimeError: &lt;b&gt;no node&lt;/b&gt;</td>" in failed
    assert "runs</dt><dd>4 of 4 recorded, 3 ok, 1 failed</dd>" in page


def test_a_study_report_includes_its_best_run(sources: dict[str, Path], tmp_path: Path) -> None:
    page = build_report([sources["study"]], tmp_path / "study.html").read_text(encoding="utf-8")
    found = sections(page)
    for heading in ("Pareto front", "Held-out comparison", "Figures", "Trials", "Best run (best-run)",
                    "Verification"):
        assert heading in found
    result = open_study(sources["study"])
    for best in result.best:
        assert escape(" ".join(best.overrides)) in page
    # history, Pareto front and parallel coordinates of the study; overview of its best run;
    # importances if computable
    assert page.count(PNG) >= 4
    for markup in MARKUP:
        assert markup not in page


def test_the_objectives_of_a_study_whose_file_is_gone(sources: dict[str, Path]) -> None:
    with_file = open_study(sources["study"])
    assert with_file.setup is not None
    study_file = sources["study"].parent / "study.yaml"
    moved = study_file.rename(study_file.with_suffix(".moved"))
    try:
        without = open_study(sources["study"])
    finally:
        moved.rename(study_file)
    assert without.setup is None
    assert objectives(without) == objectives(with_file) == {"latency.p95": "minimize", "cost": "minimize"}


def test_sources_in_one_report_keep_their_order_and_anchors_are_unique(sources: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    page = build_report([sources["lean"], sources["batch"]], tmp_path / "both.html").read_text(encoding="utf-8")
    assert page.index("<h2>Run ") < page.index("<h2>Batch ")
    anchors = re.findall(r'<section id="([^"]+)">', page)
    assert len(anchors) == len(set(anchors))
    assert sorted(re.findall(r'<a href="#([^"]+)">', page)) == sorted(
        a for a in anchors if a.count("-") <= 1)  # the table of contents: two levels


def test_large_tables_show_their_first_rows_and_say_so() -> None:
    part = Part("Big", tables=[table(["i"], ([i] for i in range(3 * MAX_ROWS)), "Numbers")])
    number([part])
    page = render(title="t", parts=[part], created="now")
    assert f"(first {MAX_ROWS} of {3 * MAX_ROWS} rows)" in page
    assert page.count("<tr><td>") == MAX_ROWS
