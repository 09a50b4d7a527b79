"""The part of a report about one batch directory: scenarios, means with 95% intervals,
paired differences from the baseline, each with a figure of a panel per main metric,
failed runs.

The statistics come from :mod:`wfsim.experiments.summaries` and the panels are drawn
by :mod:`wfsim.viz.batches`, both shared with the comparison view.

The batch is read by :func:`~wfsim.experiments.batch.open_batch`, with its provenance
(versions, git revision, sessions), which ``batch.json`` records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from wfsim.experiments.batch import BatchResult, open_batch
from wfsim.experiments.summaries import METRICS, mean_ci
from wfsim.report.document import Image, Part, Table, panels, png, pretty_json, table, text
from wfsim.viz.batches import draw_differences, draw_means

#: A panel of one metric: (axes, table, metric, scenarios, baseline, label).
Panel = Callable[[Axes, pd.DataFrame, str, Sequence[str], str, str], None]


def batch_part(path: Path, title: str | None = None) -> tuple[Part, list[Part]]:
    """The report's part about the batch directory ``path``, and its manifest part.

    Raises:
        ConfigError: ``path`` is not a readable batch directory.
    """
    result = open_batch(path)
    plan = result.plan
    runs = result.runs
    ok = int((runs["status"] == "ok").sum()) if len(runs) else 0
    expected = len(plan.scenarios) * len(plan.seeds)
    part = Part(title or f"Batch {path.name}", notes=[f"Batch directory {path}."], facts=[
        ("batch file", plan.source), ("experiment", text(plan.experiment)),
        ("overrides for every scenario", " ".join(plan.overrides) or "–"),
        ("replications", f"{len(plan.seeds)} (the same seeds for every scenario)"),
        ("baseline", plan.baseline), ("trace level", plan.trace),
        ("runs", f"{len(runs)} of {expected} recorded, {ok} ok, {len(result.failed)} failed")])
    part.tables.append(scenarios_table(result))
    if ok:
        summary = result.summary()
        part.parts.append(Part("Metrics", notes=[
            "Mean [95% Student t interval of the mean] over the replications; failed runs are left out."],
            tables=[wide_table(summary, "Mean [95% interval] per scenario")],
            images=[Image("Mean and 95% interval of each main metric, per scenario (the baseline in red)",
                          png(metrics_figure(summary, plan.names, plan.baseline, draw_means)))]))
        if len(plan.scenarios) > 1:
            paired = result.paired()
            part.parts.append(Part(f"Differences from {plan.baseline}", notes=[
                "Each scenario minus the baseline, paired on the replication seed (common random numbers): "
                "mean difference [95% interval]."],
                tables=[wide_table(paired, "Paired differences", sign="+")],
                images=[Image(f"Each scenario minus {plan.baseline} (in red), paired on the seed, per main metric",
                              png(metrics_figure(paired, plan.names, plan.baseline, draw_differences)))]))
    if len(result.failed):
        failed = result.failed
        part.parts.append(Part("Failed runs", tables=[table(
            ["scenario", "replication", "seed", "error"],
            zip(failed["scenario"], failed["replication"], failed["seed"], failed["error"]),
            f"Failed runs: {len(failed)}")]))
    return part, [manifest_part(part.title, path, result)]


def scenarios_table(result: BatchResult) -> Table:
    """Each scenario: its overrides and how many of its runs succeeded."""
    runs = result.runs
    rows = []
    for s in result.plan.scenarios:
        mine = runs[runs["scenario"] == s.name] if len(runs) else runs
        rows.append([s.name, " ".join(s.overrides) or "(as written)", int((mine["status"] == "ok").sum()),
                     int((mine["status"] != "ok").sum())])
    return table(["scenario", "overrides", "ok runs", "failed runs"], rows, "Scenarios")


def metrics_figure(table: pd.DataFrame, scenarios: Sequence[str], baseline: str, draw: Panel) -> Figure:
    """A panel per main metric of ``table`` (a summary or paired differences), two a
    row, each drawn by ``draw`` in the metric's unit, one row per scenario."""
    metrics = [m for m in METRICS if m in set(table["metric"])]
    scale = table["metric"].map(lambda m: METRICS[m][1] if m in METRICS else 1.0)
    shown = table.assign(**{c: table[c] * scale for c in ("mean", "sd", "ci_low", "ci_high")})
    fig, axes = panels(len(metrics), columns=2, width=11.0, height=0.9 + 0.3 * len(scenarios))
    for ax, metric in zip(axes, metrics):
        draw(ax, shown, metric, scenarios, baseline, METRICS[metric][0])
    return fig


def wide_table(summary: pd.DataFrame, caption: str, sign: str = "") -> Table:
    """A summary (or paired differences) as one row per scenario, one column per metric."""
    metrics = [m for m in METRICS if m in set(summary["metric"])]
    rows = []
    for scenario, group in summary.groupby("scenario", sort=False):
        by_metric = dict(iter(group.set_index("metric").iterrows()))
        rows.append([scenario, int(group["n"].max()), *(mean_ci(by_metric[m], METRICS[m][1], sign) for m in metrics)])
    return table(["scenario", "n", *(METRICS[m][0] for m in metrics)], rows, caption)


def manifest_part(label: str, path: Path, result: BatchResult) -> Part:
    """What reproduces the batch: its file, seeds, versions, git revision, the tables' checksums."""
    manifest = result.manifest or {}
    seeds = result.plan.seeds
    part = Part(label, facts=[
        ("directory", str(path)), ("batch file", text(manifest.get("source"))),
        ("experiment", f"{text(manifest.get('experiment', {}).get('path'))} (sha256 "
                       f"{text(manifest.get('experiment', {}).get('sha256'))})"),
        ("root seed", text(manifest.get("root_seed"))), ("seeds", " ".join(map(str, seeds))),
        ("git revision", text(manifest.get("git_revision"))), ("created", text(manifest.get("created")))])
    versions = manifest.get("versions") or {}
    part.tables.append(table(["package", "version"], versions.items(), "Versions", limit=len(versions)))
    sessions = manifest.get("sessions") or []
    if sessions:
        part.tables.append(table(["session", "what"], enumerate(sessions), "Sessions"))
    outputs = manifest.get("outputs") or {}  # file → its SHA-256 (the last is the file's)
    part.tables.append(table(["file", "sha256"], ((name, digests[-1]) for name, digests in outputs.items() if digests),
                             "Tables"))
    part.code = pretty_json(manifest.get("spec"))
    return part
