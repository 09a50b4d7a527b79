"""How fast the notebook views draw on a trace of more than 100 000 task executions.

Usage::

    .venv/bin/python benchmarks/bench_widgets.py            # a table
    .venv/bin/python benchmarks/bench_widgets.py --json
    .venv/bin/python benchmarks/bench_widgets.py --views trace_explorer

The trace: 1000 devices → 50 edge clouds → 10 regional clouds → 1 cloud, each device
sending 2-task chains (edge, then cloud) Poisson at 1/s for 60 s (about 120 000 task
executions), with edge-0 in maintenance (evacuated) from 20 s to 40 s. It is simulated
once and saved under ``--cache`` (default ``~/.cache/wfsim/bench_widgets``); later runs
load it.

Each view's function loads the trace afresh (so its first draw computes the figure data
from cold), then times each action: ``seconds`` is the wall-clock time of the call
(figure data, drawing and PNG encoding), ``cpu_s`` its process time (steadier on a busy
machine), ``draw_s`` the canvas's own draw time. The ``floor`` rows are a canvas drawing
next to nothing: what matplotlib's layout and PNG encoding cost any view. A view added
later adds its function to :data:`BENCHES`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEVICES, DURATION, RATE, SEED = 1000, 60.0, 1.0, 0


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/wfsim/bench_widgets`` (``~/.cache`` by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wfsim" / "bench_widgets"


def build_trace(directory: Path) -> Path:
    """Simulate the scenario and save its run under ``directory`` (if not there yet)."""
    from wfsim import (
        Edge,
        HealthChange,
        LocationRequirement,
        Poisson,
        Simulation,
        Task,
        Tier,
        Workflow,
        Workload,
        hierarchical,
    )

    run = directory / f"continuum-{DEVICES}-{DURATION:g}s-seed{SEED}"
    if (run / "manifest.json").exists():
        return run
    chain = Workflow("edge_cloud_chain",
                     [Task("edge", work=1e8, location=LocationRequirement.specific(Tier.EDGE_CLOUD)),
                      Task("cloud", work=1.5e8, location=LocationRequirement.specific(Tier.CLOUD))],
                     [Edge("edge", "cloud", 1e5)], input_bytes=1e4)
    sim = Simulation(hierarchical(DEVICES, DEVICES // 20, DEVICES // 100),
                     [Workload("continuum", chain, Poisson(RATE))], duration=DURATION, seed=SEED,
                     health=[HealthChange(20.0, "edge-0", "Maintenance", evacuate=True),
                             HealthChange(40.0, "edge-0", "Healthy")])
    began = time.perf_counter()
    trace = sim.run().trace
    print(f"simulated in {time.perf_counter() - began:.1f} s; saving to {run}")
    trace.save(run)
    return run


Row = dict[str, Any]


def _timed(view: str, action: str, call: Callable[[], Any], canvas: Callable[[], Any]) -> Row:
    began, cpu = time.perf_counter(), time.process_time()
    call()
    seconds, cpu_s = time.perf_counter() - began, time.process_time() - cpu
    return {"view": view, "action": action, "seconds": round(seconds, 3), "cpu_s": round(cpu_s, 3),
            "draw_s": round(canvas().last_draw_seconds, 3)}


def bench_floor(run: Path) -> list[Row]:
    """The floor: a canvas drawing a single line, and one with 43 labelled rows (what
    any view pays for matplotlib's layout and PNG encoding, whatever it draws)."""
    from wfsim.widgets.base import FigureCanvas

    canvas = FigureCanvas(figsize=(11.0, 6.0))
    canvas.draw(lambda figure: figure.subplots())  # fonts and caches loaded once
    rows = [_timed("floor", "a line", lambda: canvas.draw(lambda f: f.subplots().plot([0, 1], [0, 1])),
                   lambda: canvas)]
    labels = [f"edge-{k}" for k in range(43)]
    rows.append(_timed("floor", "43 labelled rows", lambda: canvas.draw(
        lambda f: f.subplots().set_yticks(range(len(labels)), labels)), lambda: canvas))
    return rows


def bench_trace_explorer(run: Path) -> list[Row]:
    """TraceExplorer: creation to first draw, then a filter change of each kind."""
    from wfsim.trace.trace import Trace
    from wfsim.widgets import TraceExplorer

    trace = Trace.load(run)
    holder: dict[str, TraceExplorer] = {}
    execs = int((trace.task_events["event"] == "start").sum())
    rows = [_timed("TraceExplorer", "create + first draw (cold data)",
                   lambda: holder.setdefault("x", TraceExplorer(trace)), lambda: holder["x"].canvas)]
    x = holder["x"]
    mode = x.drawn.mode if x.drawn else "?"
    rows[0]["action"] += f": {execs} executions, {len(x.drawn.rows) if x.drawn else 0} rows, {mode}"
    workflow = int(trace.workflows["workflow"].iloc[len(trace.workflows) // 2])
    arrival = float(trace.workflows["arrival"].iloc[len(trace.workflows) // 2])
    actions: list[tuple[str, Callable[[], Any]]] = [
        (f"tier filter EdgeCloud (was {mode})", lambda: x.set_filter(tier="EdgeCloud")),
        ("tier filter cleared", lambda: x.set_filter()),
        ("select a workflow", lambda: x.select_workflow(workflow)),
        ("time window 1 s (bars)", lambda: x.set_window(arrival - 0.5, arrival + 0.5)),
        ("highlight 2 events (zoom)", lambda: x.highlight([{"table": "task_events", "time": arrival,
                                                             "workflow": workflow, "task": "edge"},
                                                            {"table": "states", "time": 20.0, "node": "edge-0"}])),
        ("highlight cleared (whole run)", lambda: x.highlight(None)),
        ("layer transfers on", lambda: setattr(x.layers["transfers"], "value", True)),
        ("TraceExplorer again (warm data)", lambda: holder.__setitem__("x", TraceExplorer(trace))),
    ]
    for action, call in actions:
        rows.append(_timed("TraceExplorer", action, call, lambda: holder["x"].canvas))
    return rows


def bench_topology_view(run: Path) -> list[Row]:
    """TopologyView: creation to first draw, then slider moves and a play frame."""
    from wfsim.trace.trace import Trace
    from wfsim.widgets import TopologyView

    trace = Trace.load(run)
    holder: dict[str, TopologyView] = {}
    rows = [_timed("TopologyView", "create + first draw (cold data)",
                   lambda: holder.setdefault("v", TopologyView(trace)), lambda: holder["v"].canvas)]
    v = holder["v"]
    rows[0]["action"] += f": {len(trace.nodes)} nodes as {len(v.drawn.units) if v.drawn else 0} units"
    for t in (10.0, 25.0, 55.0):
        rows.append(_timed("TopologyView", f"slider to {t:g} s", lambda t=t: v.show(t), lambda: v.canvas))
    rows.append(_timed("TopologyView", "play frame 40", lambda: setattr(v.frame, "value", 40), lambda: v.canvas))
    return rows


def bench_verification_panel(run: Path) -> list[Row]:
    """VerificationPanel: the catalog's verdicts on the trace (the check timed apart),
    with and without a TraceExplorer; then a 10 000-operation register history with
    a stale read (``history_gen.py``), creation to first timeline draw and steps."""
    from wfsim.trace.trace import Trace
    from wfsim.verify import check_catalog, check_formula
    from wfsim.verify.history import History, check_history
    from wfsim.widgets import VerificationPanel
    from wfsim.widgets.base import FigureCanvas

    from history_gen import register_history

    trace = Trace.load(run)
    verdicts: list[Any] = []
    undrawn = FigureCanvas()  # the catalog view draws no figure of its own: draw_s 0
    rows = [_timed("VerificationPanel", "check_catalog + F failed (not the panel)",
                   lambda: verdicts.extend([*check_catalog(trace), check_formula(trace, "F failed")]),
                   lambda: undrawn)]
    holder: dict[str, Any] = {}
    rows.append(_timed("VerificationPanel", f"create, {len(verdicts)} verdicts",
                       lambda: holder.setdefault("p", VerificationPanel(verdicts)), lambda: undrawn))
    view = holder["p"].renderer
    rows.append(_timed("VerificationPanel", "next counterexample", lambda: view.step(+1), lambda: undrawn))
    rows.append(_timed("VerificationPanel", "filter: false", lambda: setattr(view.verdict_filter, "value", "false"),
                       lambda: undrawn))
    rows.append(_timed("VerificationPanel", "create with a TraceExplorer (+ its highlight)",
                       lambda: holder.__setitem__("p", VerificationPanel(verdicts, trace=trace)),
                       lambda: holder["p"].renderer.explorer.canvas))
    explorer_view = holder["p"].renderer
    rows.append(_timed("VerificationPanel", "next counterexample (explorer highlights)",
                       lambda: explorer_view.step(+1), lambda: explorer_view.explorer.canvas))
    ops = register_history(5, 10_000, "stale", seed=1)
    checked: dict[str, Any] = {}
    rows.append(_timed("VerificationPanel", "check_history 10 000 ops (not the panel)",
                       lambda: checked.setdefault("v", check_history(History(ops), "register")), lambda: undrawn))
    rows.append(_timed("VerificationPanel", "history: create + first timeline draw",
                       lambda: holder.__setitem__("h", VerificationPanel(checked["v"], history=ops)),
                       lambda: holder["h"].renderer.canvas))
    history_view = holder["h"].renderer
    rows[-1]["action"] += f" ({len(history_view.steps)} steps, {history_view.max_ops} ops drawn)"
    for action, call in [("history: prev step", lambda: history_view.step(-1)),
                         ("history: to step 1", lambda: history_view.move(0)),
                         ("history: jump to blocked", history_view.jump_to_blocked)]:
        rows.append(_timed("VerificationPanel", action, call, lambda: history_view.canvas))
    return rows


def synthetic_batch(scenarios: int, replications: int) -> Any:
    """A batch of ``scenarios`` × ``replications`` runs without running them all: the
    outcomes of two real 10 s runs of compare-placement.yaml (nearest_edge, heft),
    their metrics scaled per scenario and seed, in a real plan's runs table."""
    import copy
    import dataclasses

    import numpy as np

    from wfsim.experiments.batch import BatchResult, runs_table
    from wfsim.experiments.batchfile import load_plan
    from wfsim.experiments.scenarios import run_one

    def scaled(value: Any, factor: float) -> Any:
        if isinstance(value, dict):
            return {k: scaled(v, factor) for k, v in value.items()}
        return value * factor if isinstance(value, float) else value

    experiment = Path(__file__).resolve().parents[1] / "experiments" / "compare-placement.yaml"
    plan = load_plan({"experiment": str(experiment), "set": ["duration=10"], "replications": replications, "seed": 1,
                      "scenarios": [{"name": f"s{i:02d}", "set": [f"placement={('nearest_edge', 'heft')[i % 2]}"]}
                                    for i in range(scenarios)]})
    real = [run_one(plan.specs[0]), run_one(plan.specs[replications])]
    rng = np.random.default_rng(0)
    outcomes = {}
    for spec in plan.specs:
        i, k = plan.index(spec)
        base = real[i % 2]
        factor = (1 + 0.05 * i) * rng.lognormal(0, 0.1)
        outcomes[(i, k)] = dataclasses.replace(base, scenario=spec.scenario, replication=k, seed=spec.seed,
                                               metrics=scaled(copy.deepcopy(base.metrics), factor))
    return BatchResult(plan, runs_table(plan, outcomes))


def bench_comparison_view(run: Path) -> list[Row]:
    """ComparisonView (the trace is not used): 20 scenarios × 10 replications, then 45
    × 10, of which it draws the top 30 (:func:`synthetic_batch`)."""
    return [row for scenarios in (20, 45) for row in _comparison_rows(synthetic_batch(scenarios, 10))]


def _comparison_rows(batch: Any) -> list[Row]:
    from wfsim.widgets import ComparisonView

    holder: dict[str, ComparisonView] = {}
    rows = [_timed("ComparisonView", f"create + first draw: {len(batch.plan.scenarios)} scenarios × 10",
                   lambda: holder.setdefault("v", ComparisonView(batch)), lambda: holder["v"].canvas)]
    v = holder["v"]
    rows[0]["action"] += f", {len(v.shown())} drawn"
    for action, control, value in [("metric: throughput", v.metric, "throughput"),
                                   ("panel: differences", v.panel, "differences"),
                                   ("panel: replications", v.panel, "replications"),
                                   ("baseline: s01", v.baseline, "s01")]:
        rows.append(_timed("ComparisonView", action, lambda c=control, x=value: setattr(c, "value", x),
                           lambda: v.canvas))
    return rows


def bench_study_explorer(run: Path) -> list[Row]:
    """StudyExplorer (the trace is not used): Optuna studies of 200 trials of a cheap
    objective over four parameters (log float, float, int, category), one and two
    objectives."""
    import numpy as np
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def objective(t: optuna.Trial) -> tuple[float, float]:
        x, y = t.suggest_float("x", 1e-3, 10, log=True), t.suggest_float("y", -5, 5)
        k, n = t.suggest_categorical("k", ["a", "b", "c"]), t.suggest_int("n", 1, 20)
        return float((np.log(x) - 1) ** 2 + y * y * (k == "b") + n / 10), abs(y) + (k == "c") + 1 / n

    single = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    single.optimize(lambda t: objective(t)[0], n_trials=200)
    double = optuna.create_study(directions=["minimize"] * 2, sampler=optuna.samplers.RandomSampler(seed=0))
    double.optimize(objective, n_trials=200)
    return _study_rows(single) + _study_rows(double)


def _study_rows(study: Any) -> list[Row]:
    from wfsim.widgets import StudyExplorer

    holder: dict[str, StudyExplorer] = {}
    n = len(study.directions)
    rows = [_timed("StudyExplorer", f"create + first draw (history): 200 trials, {n} objective{'s' * (n > 1)}",
                   lambda: holder.setdefault("e", StudyExplorer(study)), lambda: holder["e"].canvas)]
    e = holder["e"]
    for panel in e.panel.options[1:]:
        rows.append(_timed("StudyExplorer", f"panel: {panel}", lambda p=panel: setattr(e.panel, "value", p),
                           lambda: e.canvas))
    if n > 1:
        e.panel.value = "history"
        rows.append(_timed("StudyExplorer", "history, objective: objective 1",
                           lambda: setattr(e.objective, "value", "objective 1"), lambda: e.canvas))
    return rows


#: Each view's benchmark, by name; a new view adds its function here.
BENCHES: dict[str, Callable[[Path], list[Row]]] = {
    "floor": bench_floor,
    "trace_explorer": bench_trace_explorer,
    "topology_view": bench_topology_view,
    "verification_panel": bench_verification_panel,
    "comparison_view": bench_comparison_view,
    "study_explorer": bench_study_explorer,
}


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| view | action | seconds | CPU s | draw s |", "|---|---|---|---|---|"]
    lines += [f"| {r['view']} | {r['action']} | {r['seconds']:.2f} | {r['cpu_s']:.2f} | {r['draw_s']:.2f} |"
              for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache(), help="where the trace is kept")
    parser.add_argument("--views", nargs="*", default=list(BENCHES), choices=list(BENCHES))
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args(argv)
    run = build_trace(args.cache)
    rows = [row for name in args.views for row in BENCHES[name](run)]
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
