"""Time one batch in this process, in local worker processes and on a Dask cluster.

Usage::

    .venv/bin/python benchmarks/bench_batch.py --json

Runs the same batch (``--placements`` of ``experiments/compare-placement.yaml`` ×
``--replications``, ``--duration`` simulated seconds each: a few seconds of work a
run, so that starting processes does not dominate) three ways, each into a fresh batch
directory:

* ``workers=1``: in this process, one run after another;
* ``workers=K`` (``--workers``, default 2): local worker processes, their start
  included (``parallel_first_s`` also includes the start of the worker server, which
  imports the simulator once per process);
* Dask: a ``distributed.LocalCluster`` of K worker processes, one thread each; the
  cluster's start is timed apart from the batch.

Every way must give the same results (``same_results``). ``speedup`` is the
sequential wall time over the K-worker one; ``dask_overhead`` the Dask batch's wall
time over the K-worker one. With ``--repeat K`` the three ways take turns K times and
each reports its best. ``load_before`` and ``load_after`` are the 1-minute load
averages: other work on the machine slows the parallel runs most.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from wfsim.experiments.batch import BatchResult, batch

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "compare-placement.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", default="nearest_edge,earliest_finish_time,heft,adaptive_flow")
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--duration", type=float, default=2400.0, help="simulated seconds per run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="best of K batches each way (a busy machine)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    spec = {"experiment": str(EXPERIMENT), "set": {"duration": args.duration},
            "grid": {"placement": args.placements.split(",")}, "replications": args.replications, "seed": 1}
    report: dict[str, object] = {"runs": len(args.placements.split(",")) * args.replications,
                                 "workers": args.workers, "duration": args.duration,
                                 "load_before": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                                 "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as scratch:
        def fresh() -> Path:  # a new batch directory for every batch: nothing is resumed
            return Path(tempfile.mkdtemp(dir=scratch)) / "out"

        cluster = None
        if not args.skip_dask:
            from distributed import LocalCluster

            start = time.perf_counter()
            cluster = LocalCluster(n_workers=args.workers, processes=True, threads_per_worker=1,
                                   dashboard_address=None)
            report["dask_cluster_start_s"] = round(time.perf_counter() - start, 2)
        results, times = [], {"sequential_s": [], "parallel_s": [], "dask_s": []}  # type: ignore[var-annotated]
        for _ in range(args.repeat):  # interleaved, so that the machine's other load hits each way alike
            for key, kwargs in (("sequential_s", {"workers": 1}), ("parallel_s", {"workers": args.workers}),
                                ("dask_s", {"dask": cluster.scheduler_address if cluster else None})):
                if key == "dask_s" and cluster is None:
                    continue
                result, seconds = timed(lambda kwargs=kwargs: batch(spec, fresh(), **kwargs))
                results.append(result)
                times[key].append(seconds)
        if cluster is not None:
            cluster.close()
        report.update({key: min(values) for key, values in times.items() if values})
        report["parallel_first_s"] = times["parallel_s"][0]  # with the start of the worker server
        report["mean_run_s"] = round(float(results[0].runs["wall_seconds"].mean()), 2)
        report["speedup"] = round(report["sequential_s"] / report["parallel_s"], 2)  # type: ignore[operator]
        if cluster is not None:
            report["dask_overhead"] = round(report["dask_s"] / report["parallel_s"], 2)  # type: ignore[operator]
        same = all(equal(results[0], other) for other in results[1:])
    report["load_after"] = round(os.getloadavg()[0], 2)
    report["same_results"] = same
    report["speedup_target_met"] = report["speedup"] >= 1.7  # type: ignore[operator]
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:<22} {value}")


def timed(work):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - start, 2)


def equal(a: BatchResult, b: BatchResult) -> bool:
    return bool(a.runs.drop(columns="wall_seconds").equals(b.runs.drop(columns="wall_seconds")))


if __name__ == "__main__":
    main()
