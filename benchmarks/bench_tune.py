"""Tuning throughput and the samplers compared on one study.

Usage::

    .venv/bin/python benchmarks/bench_tune.py --json
    .venv/bin/python benchmarks/bench_tune.py --trials 30 --samplers tpe random --seeds 1 2 3

The study: ``experiments/compare-placement.yaml`` cut to ``--duration`` seconds
(40 devices, four 8-core edge clouds, two regional clouds, one cloud; layered DAGs
with 6 s deadlines and bursty order workflows with 2 s deadlines); placement among
earliest_finish_time, heft, hybrid_dynamic and adaptive_flow with the weights of
the last two, and the rebalancing interval; objective Balanced (normalised against
the experiment as written); ``--replications`` runs per trial; no pruner, so that
every sampler gets the same number of full trials.

For each sampler and study seed it runs the study in memory, one worker, and
reports trials per minute (the trial phase only), the best Balanced on the tuning
seeds and the trial that found it, and the best configuration against the
experiment as written on ``--held-out`` held-out seeds. Then it runs TPE with two
worker processes on a journal file, for the parallel throughput. GP runs only when
PyTorch is importable.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLERS = ["tpe", "cmaes", "random", "epsilon_greedy"] + (["gp"] if importlib.util.find_spec("torch") else [])


def study(args: argparse.Namespace, sampler: str, seed: int) -> dict[str, Any]:
    return {
        "experiment": str(REPO / "experiments" / "compare-placement.yaml"),
        "set": [f"duration={args.duration}"],
        "name": f"bench-{sampler}-{seed}",
        "space": {"placement": {"strategy": ["earliest_finish_time", "heft", "hybrid_dynamic", "adaptive_flow"],
                                "params": {"latency_weight": {"low": 0.0, "high": 1.0},
                                           "compute_power_weight": {"low": 0.0, "high": 1.0},
                                           "data_locality_weight": {"low": 0.0, "high": 1.0}}},
                  "rebalance": {"interval": {"low": 10, "high": 120}}},
        "objective": "Balanced", "replications": args.replications, "seed": seed, "sampler": sampler,
        "pruner": "none", "n_trials": args.trials, "held_out": args.held_out,
    }


def one(args: argparse.Namespace, sampler: str, seed: int, workers: int = 1) -> dict[str, Any]:
    from wfsim.tuning import tune

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = tune(study(args, sampler, seed), out=Path(tmp) / "out" if workers > 1 else None, workers=workers)
        total = time.perf_counter() - started
    values = result.trials["Balanced"].dropna()
    best = result.best[0]
    row: dict[str, Any] = {
        "sampler": sampler, "seed": seed, "workers": workers, "trials": len(result.trials),
        "trials_per_minute": round(60 * len(result.trials) / result.timings["trials"], 2),
        "trial_phase_s": round(result.timings["trials"], 2), "total_s": round(total, 2),
        "best": round(best.values["Balanced"], 4), "best_trial": best.number,
        "best_strategy": best.params.get("placement.strategy"),
        "median_trial": round(float(values.median()), 4),
    }
    if result.held_out is not None:
        row["held_out_default"] = round(statistics.fmean(result.held_out.default["Balanced"]), 4)
        row["held_out_best"] = round(statistics.fmean(result.held_out.best[best.number]["Balanced"]), 4)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per study")
    parser.add_argument("--replications", type=int, default=2, help="runs per trial")
    parser.add_argument("--duration", type=float, default=60.0, help="arrival window of each run (s)")
    parser.add_argument("--held-out", type=int, default=3, help="held-out seeds for best vs the experiment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026], help="study seeds (one study each)")
    parser.add_argument("--samplers", nargs="+", default=SAMPLERS, help=f"default: {' '.join(SAMPLERS)}")
    parser.add_argument("--skip-parallel", action="store_true", help="no two-worker run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    rows = [one(args, sampler, seed) for sampler in args.samplers for seed in args.seeds]
    if not args.skip_parallel:
        rows.append(one(args, "tpe", args.seeds[0], workers=2))
    result = {"trials": args.trials, "replications": args.replications, "duration": args.duration,
              "held_out": args.held_out, "runs": rows}
    if args.json:
        print(json.dumps(result))
        return
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row.get(k, "")) for k in keys))


if __name__ == "__main__":
    main()
