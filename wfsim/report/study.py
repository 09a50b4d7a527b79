"""The part of a report about one study directory: objectives, trials, the best
trial(s) and their overrides, the held-out comparison, the optimisation history,
the Pareto front, parameter importances, parallel coordinates and the best
configuration's run.

The study is read by :func:`~wfsim.tuning.open_study`; its ``best-run`` is a run
directory and gets the run part of :mod:`wfsim.report.run`.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from wfsim.report.document import Image, Part, panels, png, pretty_json, table, text
from wfsim.report.run import run_part
from wfsim.trace.rundir import file_record
from wfsim.tuning import TuneResult, figures, open_study
from wfsim.tuning.outputs import BEST_RUN, MARKER
from wfsim.viz.studies import draw_history, draw_importances, draw_parallel_coordinates, draw_pareto

#: Files of a study directory whose checksums the manifest part lists (when present).
_FILES = (MARKER, "best.json", "trials.csv", "study.journal")


def study_part(path: Path, title: str | None = None) -> tuple[Part, list[Part]]:
    """The report's part about the study directory ``path`` (its best run inside),
    and the manifest parts of the study and of its best run.

    Raises:
        ConfigError: ``path`` is not a readable study directory.
        RunDirectoryError: Its best run is damaged.
    """
    result = open_study(path)
    described: dict[str, Any] = result.study.user_attrs.get("study") or {}
    keys = objectives(result)
    part = Part(title or f"Study {result.study.study_name}", notes=[f"Study directory {path}."], facts=[
        ("experiment", text(described.get("experiment"))), ("overrides", " ".join(described.get("set") or []) or "–"),
        ("objectives", ", ".join(f"{k} ({d})" for k, d in keys.items())),
        ("sampler", f"{text(described.get('sampler'))}, pruner {text(described.get('pruner'))}"),
        ("replications", f"{text(described.get('replications'))} per trial, seeds "
                         f"{text(described.get('seeds'))}"),
        ("constraints", text(described.get("constraints") or "none"))])
    trials = result.trials
    states = trials["state"].value_counts().items() if len(trials) else []
    part.tables.append(table(["state", "trials"], states, f"Trials: {len(trials)}"))
    part.parts.append(best_part(result, keys))
    if result.held_out is not None:
        part.parts.append(held_out_part(result))
    part.parts.append(figures_part(result, keys))
    if len(trials):
        shown = [c for c in ("number", "state", *keys, "reason", "overrides") if c in trials]
        part.parts.append(Part("Trials", tables=[table(shown, trials[shown].itertuples(index=False), "Every trial")]))
    manifests = [manifest_part(part.title, path, result)]
    if (path / BEST_RUN / "manifest.json").is_file():
        best, best_manifests = run_part(path / BEST_RUN, title=f"Best run ({BEST_RUN})")
        part.parts.append(best)
        manifests += best_manifests
    return part, manifests


def objectives(result: TuneResult) -> dict[str, str]:
    """Objective key → ``minimize`` or ``maximize``, in the study's order."""
    if result.setup is not None:
        return {o.key: o.direction for o in result.setup.objectives}
    described = result.study.user_attrs.get("study") or {}
    listed = described.get("objectives") or [{described.get("objective") or "Balanced": None}]
    return figures.directions(result.study, [next(iter(entry)) for entry in listed])


def best_part(result: TuneResult, keys: dict[str, str]) -> Part:
    """The best trial, or the Pareto front, with the overrides that reproduce it."""
    front = len(keys) > 1
    if not result.best:
        return Part("Best trial", notes=["No trial completed (feasibly): there is no best configuration."])
    rows = [[b.number, *(b.values.get(k) for k in keys), text(b.params), " ".join(b.overrides)] for b in result.best]
    return Part("Pareto front" if front else "Best trial", notes=[
        "Objective values are means over the tuning seeds; the overrides reproduce the configuration "
        "(wfsim run EXPERIMENT --set …)."],
        tables=[table(["trial", *keys, "parameters", "overrides"], rows, "Pareto-optimal trials" if front
                      else "The best trial")])


def held_out_part(result: TuneResult) -> Part:
    """The experiment as written and the best configuration(s) on the held-out seeds."""
    held = result.held_out
    assert held is not None

    def spread(values: list[float]) -> str:
        return f"{statistics.fmean(values):.4g}" + (f" ± {statistics.stdev(values):.2g}" if len(values) > 1 else "")

    keys = list(held.default)
    rows = [["as written", *(spread(held.default[k]) for k in keys)]]
    rows += [[f"trial {n}", *(spread(v[k]) for k in keys)] for n, v in held.best.items()]
    return Part("Held-out comparison", notes=[
        f"Mean ± sd over {len(held.seeds)} seeds the tuner never saw: {' '.join(map(str, held.seeds))}."],
        tables=[table(["configuration", *keys], rows, "On held-out seeds")])


def figures_part(result: TuneResult, keys: dict[str, str]) -> Part:
    """Optimisation history, Pareto front (several objectives), importances and
    parallel coordinates, from :mod:`wfsim.tuning.figures` drawn by :mod:`wfsim.viz.studies`."""
    part = Part("Figures")
    study, names = result.study, list(keys)
    values = figures.trial_values(study, names)
    if values.empty:
        part.notes.append("No trial completed: nothing to draw.")
        return part
    fig, axes = panels(len(names))
    for ax, name in zip(axes, names):
        draw_history(ax, figures.history(study, names, name), f"{name} ({keys[name]})")
    part.images.append(Image("Optimisation history: each completed trial and the best feasible value so far",
                             png(fig)))
    if len(names) > 1:
        fig, (ax,) = panels(1, width=6.0, height=4.5)
        draw_pareto(ax, values, names[0], names[1], keys)
        part.images.append(Image(f"Pareto front on {names[0]} and {names[1]} (Optuna's best trials)", png(fig)))
    try:
        found = figures.importances(study, names, names[0])
    except ValueError as exc:  # too few trials, or no parameter varies
        part.notes.append(f"Parameter importances are not computable for this study ({exc}).")
    else:
        fig, (ax,) = panels(1, width=6.0, height=0.8 + 0.35 * len(found))
        draw_importances(ax, found)
        part.images.append(Image(f"Parameter importances for {names[0]} (Optuna's PED-ANOVA)", png(fig)))
    lines = figures.parallel_coordinates(study, names, names[0])
    if len(lines.positions.columns):
        fig, (ax,) = panels(1, width=8.0, height=4.0)
        draw_parallel_coordinates(ax, lines, keep=set(values.loc[values["front"], "number"]))
        part.images.append(Image(f"Parallel coordinates: each completed trial's parameters and {names[0]}",
                                 png(fig)))
    return part


def manifest_part(label: str, path: Path, result: TuneResult) -> Part:
    """What reproduces the study: its file, seeds, versions, sessions, file checksums."""
    attrs = result.study.user_attrs
    described = attrs.get("study") or {}
    part = Part(label, facts=[
        ("directory", str(path)), ("study file", text(described.get("source"))),
        ("fingerprint", text(attrs.get("fingerprint"))), ("root seed", text(attrs.get("seed"))),
        ("tuning seeds", text(attrs.get("seeds"))), ("held-out seeds", text(attrs.get("held_out_seeds")))])
    versions = attrs.get("versions") or {}
    part.tables.append(table(["package", "version"], versions.items(), "Versions", limit=len(versions)))
    sessions = {k: v for k, v in attrs.items() if k.startswith("session.")}
    part.tables.append(table(["session", "what"], sessions.items(), "Sessions"))
    part.tables.append(table(["file", "bytes", "sha256"],
                             ([name, *file_record(path / name).values()] for name in _FILES
                              if (path / name).is_file()), "Files, as this report read them"))
    part.code = pretty_json(described)
    return part

