"""Time and memory of a run at trace level ``full`` against ``metrics``.

Usage::

    .venv/bin/python benchmarks/bench_trace_level.py --json
    .venv/bin/python benchmarks/bench_trace_level.py experiments/maintenance.yaml --set duration=2000

Runs one experiment config (default: ``experiments/compare-placement.yaml`` with
``--set duration=2000``, about 160 000 task events) at each level and reports, per
level:

* ``run_s``: ``sim.run()`` plus reading ``result.metrics``: the simulation, then the
  trace and metrics built from it (``full``), or the metrics alone (``metrics``);
  ``wall_s`` is the simulation proper (:attr:`RunResult.wall_seconds`) and
  ``after_s`` the rest; ``cpu_s``, ``sim_cpu_s`` (``env.run()``) and ``after_cpu_s``
  are the same in process time, which is steadier on a busy machine. Each the best of
  ``--repeat`` fresh subprocesses.
* ``peak_rss_mb`` and ``rss_growth_mb``: ``ru_maxrss`` at the end, and its growth
  during the run (the peak minus the resident size once the simulation was built), max
  over the repeats.
* ``tracemalloc_peak_mb``: the peak of memory allocated through Python (numpy and
  pandas included) during ``sim.run()`` and the metrics, in one more fresh subprocess
  (tracing slows the run, so it is not timed).

Every subprocess runs one level only, so neither level's memory is the other's. The
two levels' metrics must agree (integers exactly, floats within a relative 1e-12);
``same_metrics`` says whether they did.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LEVELS = ("full", "metrics")
TIMES = ("run_s", "cpu_s", "wall_s", "after_s", "sim_cpu_s", "after_cpu_s")
DEFAULT_CONFIG = str(Path(__file__).resolve().parent.parent / "experiments" / "compare-placement.yaml")


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_level(config: str, overrides: list[str], level: str, traced: bool) -> dict[str, Any]:
    """Build and run ``config`` at ``level`` in this process; return raw figures."""
    import tracemalloc

    from wfsim.experiments.building import build_simulation
    from wfsim.experiments.loading import load_config

    sim = build_simulation(load_config(config, overrides), Path(config).resolve().parent, config, trace=level)
    sim_cpu = cpu_of_runs(sim)
    before = rss_mb()
    if traced:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = sim.run()
    metrics = result.metrics
    run_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    out = {"level": level, "run_s": run_s, "cpu_s": cpu_s, "wall_s": result.wall_seconds,
           "after_s": run_s - result.wall_seconds, "sim_cpu_s": sim_cpu[0], "after_cpu_s": cpu_s - sim_cpu[0],
           "peak_rss_mb": rss_mb(), "rss_growth_mb": rss_mb() - before,
           "task_events": len(sim.recorder.task_events) // 5, "metrics": metrics}
    if traced:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return out


def cpu_of_runs(sim: Any) -> list[float]:
    """Wrap ``sim.env.run`` (this instance only) to add its process time to the
    returned one-element list: the simulation proper, without the trace or metrics."""
    spent = [0.0]
    run = sim.env.run

    def timed_run(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return run(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start

    sim.env.run = timed_run
    return spent


def in_subprocess(args: argparse.Namespace, level: str, traced: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, __file__, args.config, "--level", level, *(f"--set={s}" for s in args.set)]
    if traced:
        cmd.append("--tracemalloc")
    result: dict[str, Any] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return result


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every level: best of ``--repeat`` timed runs (the levels take turns, so a
    machine that gets busier slows both alike), then one traced run."""
    out: dict[str, Any] = {"config": args.config, "set": args.set, "repeat": args.repeat}
    timed: dict[str, list[dict[str, Any]]] = {level: [] for level in LEVELS}
    for _ in range(args.repeat):
        for level in LEVELS:
            timed[level].append(in_subprocess(args, level))
    metrics = {}
    for level, runs in timed.items():
        traced = in_subprocess(args, level, traced=True)
        metrics[level] = runs[0]["metrics"]
        out[level] = {"task_events": runs[0]["task_events"],
                      **{key: min(r[key] for r in runs) for key in TIMES},
                      **{key: max(r[key] for r in runs) for key in ("peak_rss_mb", "rss_growth_mb")},
                      "tracemalloc_peak_mb": traced["tracemalloc_peak_mb"]}
    full, lean = out["full"], out["metrics"]
    out["metrics_over_full"] = {key: lean[key] / full[key] if full[key] else None
                                for key in (*TIMES, "rss_growth_mb", "tracemalloc_peak_mb")}
    out["same_metrics"] = agree(metrics["full"], metrics["metrics"])
    return out


def agree(a: Any, b: Any) -> bool:
    """Whether two metrics records agree: the same keys, integers and None exactly,
    floats within a relative 1e-12 (the byte sums may be added in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(agree(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['config']} {' '.join(result['set'])} (best of {result['repeat']})")
    rows = [("task events kept", "task_events", "{:,}"), ("sim.run() + metrics s", "run_s", "{:.2f}"),
            ("  simulation s", "wall_s", "{:.2f}"), ("  trace and metrics s", "after_s", "{:.2f}"),
            ("the same in CPU s", "cpu_s", "{:.2f}"), ("  simulation CPU s", "sim_cpu_s", "{:.2f}"),
            ("  trace and metrics CPU s", "after_cpu_s", "{:.2f}"),
            ("peak RSS MB", "peak_rss_mb", "{:.0f}"), ("RSS growth MB", "rss_growth_mb", "{:.0f}"),
            ("tracemalloc peak MB", "tracemalloc_peak_mb", "{:.1f}")]
    print(f"  {'':24}{'full':>10}{'metrics':>10}")
    for name, key, fmt in rows:
        print(f"  {name:24}{fmt.format(result['full'][key]):>10}{fmt.format(result['metrics'][key]):>10}")
    print(f"  same metrics: {result['same_metrics']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=DEFAULT_CONFIG, help="experiment YAML file")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="config override (repeatable; default: duration=2000)")
    parser.add_argument("--repeat", type=int, default=1, help="best of K timed runs per level")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--level", choices=LEVELS, help="internal: run one level here and print its figures")
    parser.add_argument("--tracemalloc", action="store_true", help="internal: trace allocations (with --level)")
    args = parser.parse_args()
    args.set = ["duration=2000"] if args.set is None else args.set
    if args.level:
        print(json.dumps(run_level(args.config, args.set, args.level, args.tracemalloc)))
        return
    result = measure(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
