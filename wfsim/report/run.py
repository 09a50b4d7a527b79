"""The part of a report about one run directory: scenario, topology, workloads,
metrics, figures, replicated state (when the run has it) and the property catalog's
verdicts (with counterexamples).

The run is read with :func:`~wfsim.trace.rundir.check_run` first, so a damaged run is
refused with its message. A run kept at trace level ``metrics`` has no trace: its part
holds the scenario and metrics, and says so.

Whatever the size of the trace, what is drawn stays small: the Gantt chart shows the
first :data:`GANTT_WORKFLOWS` workflow instances, the response times a sample per tier
(:func:`wfsim.viz.latency_by_tier`), and the other figures aggregates; tables show their
first :data:`~wfsim.report.document.MAX_ROWS` rows and say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from wfsim import viz
from wfsim.model.enums import TraceLevel
from wfsim.report.consistency import consistency_part
from wfsim.report.document import Image, Part, Table, frame_table, png, pretty_json, table, text
from wfsim.trace.rundir import RunManifest, check_run, read_metrics
from wfsim.trace.trace import Trace
from wfsim.verify.catalog import check_catalog
from wfsim.verify.properties import PropertyVerdict

#: Counterexamples shown per false property (each with its slice of the trace).
SHOWN_COUNTEREXAMPLES = 3
#: Workflow instances in the overview's Gantt chart.
GANTT_WORKFLOWS = 6


def run_part(path: Path, title: str | None = None) -> tuple[Part, list[Part]]:
    """The report's part about the run directory ``path``, and its manifest part.

    Raises:
        RunDirectoryError: ``path`` is not a run or is damaged (naming the problems).
    """
    manifest = check_run(path)
    metrics = read_metrics(path)
    config: dict[str, Any] = manifest.config or {}
    name = str(config.get("name") or path.name)
    part = Part(title or f"Run {name}", notes=[f"Run directory {path}."])
    trace = Trace.load(path, check=False) if manifest.trace is TraceLevel.FULL else None  # checked above
    part.parts.append(scenario_part(manifest, trace))
    part.parts.append(metrics_part(metrics))
    if trace is None:
        part.notes.append("This run kept only its metrics (trace level 'metrics'): there is no trace to draw "
                          "or verify. Run it again with --trace full for figures and verdicts.")
    else:
        fig = viz.overview(trace, max_workflows=GANTT_WORKFLOWS, fig=Figure(figsize=(13, 8), layout="constrained"))
        part.parts.append(Part("Figures", notes=[
            f"Gantt chart of the first {GANTT_WORKFLOWS} workflow instances; task response times by tier (a sample "
            "of at most 300 points per tier), workflow latency CDF and utilisation by tier over every task."],
            images=[Image("Overview", png(fig))]))
        if len(trace.operations):
            part.parts.append(consistency_part(trace))
        part.parts.append(verification_part(trace))
    return part, [manifest_part(part.title, path, manifest)]


# --- scenario -------------------------------------------------------------------------
def scenario_part(manifest: RunManifest, trace: Trace | None) -> Part:
    """Name, seed, horizon and strategies; the topology and workloads."""
    config: dict[str, Any] = manifest.config or {}
    extra = manifest.model_extra or {}
    facts = [("name", text(config.get("name"))), ("description", text(config.get("description") or "–")),
             ("seed", str(manifest.seed)), ("horizon", f"{manifest.horizon:.6g} s"),
             ("network", text(extra.get("network", config.get("network")))),
             ("trace level", manifest.trace.value)]
    facts += [(key, strategy) for key, strategy in strategies(config).items()]
    part = Part("Scenario", facts=facts)
    if trace is not None:
        part.tables.append(topology_table(trace))
        part.tables.append(links_table(trace))
    part.tables.append(workloads_table(config, trace))
    return part


def strategies(config: Mapping[str, Any]) -> dict[str, str]:
    """Every strategy the config chose (a group with a ``strategy``), with its parameters."""
    found = {}
    for key, value in config.items():
        if isinstance(value, Mapping) and "strategy" in value:
            params = value.get("params") or {}
            found[key] = str(value["strategy"]) + (f" {text(params)}" if params else "")
        elif isinstance(value, Mapping) and value and key not in ("topology",):
            found[key] = text(value)  # a settings group (rebalance, migration …)
    return found


def topology_table(trace: Trace) -> Table:
    """Per tier, in continuum order: nodes, cores, speed and price ranges."""
    nodes = trace.nodes.assign(tier=trace.nodes["tier"].astype(str))
    rows = []
    for tier in viz.tier_order(trace):
        mine = nodes[nodes["tier"] == tier.value]
        rows.append([tier.value, len(mine), mine["cores"].sum(), _span(mine["speed"]), _span(mine["memory"] / 1e9),
                     _span(mine["price"])])
    return table(["tier", "nodes", "cores", "speed (ops/s per core)", "memory (GB)", "price (per core-s)"], rows,
                 f"Topology: {len(nodes)} nodes")


def links_table(trace: Trace) -> Table:
    """Links grouped by the tiers they join: count, latency and bandwidth ranges."""
    tiers = trace.nodes.set_index("id")["tier"].astype(str)
    links = trace.links.assign(
        joins=[" – ".join(sorted((tiers.get(a, "?"), tiers.get(b, "?")))) for a, b in zip(trace.links["a"],
                                                                                        trace.links["b"])])
    rows = [[joins, len(group), _span(group["latency"] * 1e3), _span(group["bandwidth"] / 1e6)]
            for joins, group in links.groupby("joins", sort=True)]
    return table(["joins", "links", "latency (ms)", "bandwidth (MB/s)"], rows, f"Links: {len(links)}")


def workloads_table(config: Mapping[str, Any], trace: Trace | None) -> Table:
    """Each configured workload: its workflow, arrivals and (with a trace) instances and tasks."""
    submitted: dict[str, int] = {}
    tasks: dict[str, str] = {}
    if trace is not None:
        wf = trace.workflows.assign(workload=trace.workflows["workload"].astype(str))
        submitted = {str(k): int(n) for k, n in wf.groupby("workload").size().items()}
        per_definition = trace.task_specs.groupby("definition").size()
        for workload, group in wf.groupby("workload"):
            names = group.drop_duplicates("definition")
            tasks[str(workload)] = ", ".join(f"{n} ({per_definition.get(d, 0)} tasks)"
                                             for n, d in zip(names["name"].astype(str), names["definition"]))
    rows = []
    for w in config.get("workloads") or []:
        name = str(w.get("name"))
        rows.append([name, _brief(w.get("workflow")), _brief(w.get("arrivals")), submitted.get(name, "–"),
                     tasks.get(name, "–")])
    return table(["workload", "workflow", "arrivals", "instances", "workflows (tasks)"], rows, "Workloads")


def _brief(spec: Any) -> str:
    """A config group without its unset fields."""
    if isinstance(spec, Mapping):
        return text({k: v for k, v in spec.items() if v not in (None, [], {})})
    return text(spec)


def _span(values: pd.Series) -> str:
    low, high = float(values.min()), float(values.max())
    return text(low) if low == high else f"{low:.4g} – {high:.4g}"


# --- metrics ------------------------------------------------------------------------
def metrics_part(metrics: Mapping[str, Any]) -> Part:
    """The summary metrics (:func:`wfsim.trace.metrics.summarize`) as tables."""
    wf, lat, misses = metrics["workflows"], metrics["latency"], metrics["deadline_misses"]
    rows = [
        ("workflows", f"{wf['submitted']} submitted, {wf['completed']} completed, {wf['failed']} failed, "
                      f"{wf['running']} still running"),
        ("tasks", f"{metrics['tasks']['executed']} executed, {metrics['tasks']['failed']} failed"),
        ("latency (s)", "  ".join(f"{k} {text(lat[k])}" for k in ("mean", "p50", "p95", "p99"))),
        ("makespan (s)", text(metrics["makespan"])),
        ("throughput (/s)", text(metrics["throughput"])),
        ("utilisation", f"{metrics['utilisation']['overall']:.2%} overall"),
        ("bytes transferred", text(metrics["bytes_transferred"])),
        ("cost", text(metrics["cost"])),
        ("energy (kWh)", text(metrics["energy_joules"] / 3.6e6)),
        ("deadline misses", f"{misses['workflows']} workflows, {misses['tasks']} tasks"),
    ]
    per_tier, per_node = metrics["utilisation"]["per_tier"], metrics["utilisation"]["per_node"]
    return Part("Metrics", tables=[
        table(["metric", "value"], rows, "Summary metrics"),
        table(["tier", "utilisation"], [(t, f"{u:.2%}") for t, u in per_tier.items()], "Utilisation per tier"),
        table(["node", "utilisation"], [(n, f"{u:.2%}") for n, u in per_node.items()], "Utilisation per node"),
    ])


# --- verification ---------------------------------------------------------------------
def verification_part(trace: Trace) -> Part:
    """The catalog's verdicts on the trace; each false property with its first
    counterexamples and their slices of the trace; the run-time violations."""
    verdicts = check_catalog(trace)
    counts = pd.Series([v.verdict for v in verdicts]).value_counts()
    part = Part("Verification", notes=[
        "The property catalog checked on the saved trace: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + "."])
    part.tables.append(table(
        ["id", "property", "kind", "verdict", "checked", "violated", "open"],
        ([v.pid, v.name, v.kind, v.verdict, f"{v.checked} {v.unit}", v.violated, v.inconclusive] for v in verdicts),
        "Verdicts", limit=len(verdicts), row_classes=[f"verdict-{v.verdict}" for v in verdicts]))
    part.parts += [counterexample_part(v) for v in verdicts if v.verdict == "false"]
    if len(trace.violations):
        part.tables.append(frame_table(trace.violations, "Run-time violations (contract breaches recorded by the "
                                                          "engine)"))
    return part


def counterexample_part(verdict: PropertyVerdict) -> Part:
    """A false property: its first counterexamples, each with its slice of the trace."""
    part = Part(f"{verdict.pid} {verdict.name}: false", notes=[
        f"{verdict.violated} of {verdict.checked} {verdict.unit} violate it."
        + (f" Formula: {verdict.formula}" if verdict.formula else "")])
    for i, c in enumerate(verdict.counterexamples[:SHOWN_COUNTEREXAMPLES], start=1):
        if c.events:  # each with its slice of the trace, under it
            part.tables.append(frame_table(c.frame(), f"Counterexample {i}: {c.describe()}"))
        else:
            part.notes.append(f"Counterexample {i}: {c.describe()}")
    return part


# --- manifest --------------------------------------------------------------------------
def manifest_part(label: str, path: Path, manifest: RunManifest) -> Part:
    """What reproduces the run: seed, versions, git revision, config, file checksums."""
    extra = manifest.model_extra or {}
    part = Part(label, facts=[
        ("directory", str(path)), ("seed", str(manifest.seed)), ("git revision", text(extra.get("git_revision"))),
        ("created", text(extra.get("created"))), ("command", text(extra.get("command")))])
    versions = extra.get("versions") or {}
    part.tables.append(table(["package", "version"], versions.items(), "Versions", limit=len(versions)))
    part.tables.append(table(["file", "bytes", "sha256"],
                             ((n, f.bytes, f.sha256) for n, f in manifest.files.items()), "Files",
                             limit=len(manifest.files)))
    part.code = pretty_json(manifest.config)
    return part
