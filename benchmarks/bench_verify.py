"""Time the property catalog (:func:`wfsim.verify.catalog.check_catalog`) on a large run.

Usage::

    .venv/bin/python benchmarks/bench_verify.py --executions 200000

Simulates ``hierarchical(devices, devices/20, devices/100)`` with three-task chains
(Poisson arrivals per device, earliest-finish-time placement) until about
``--executions`` task executions have been recorded, then checks the whole catalog
on the trace (each property on one shared :class:`~wfsim.verify.properties.TraceView`,
so the first property pays for the shared sorting) and prints one JSON object: the
trace size, the simulation time, the time per property and the total.  Every verdict
must be ``true`` (the run drains).  ``--trace DIR`` caches the simulated trace:
it is loaded from ``DIR`` if saved there before, else simulated and saved.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from wfsim import Poisson, Simulation, Trace, Workload, chain, hierarchical
from wfsim.verify.catalog import CATALOG
from wfsim.verify.properties import TraceView


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200_000, help="target task executions")
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.5, help="workflows per second per device")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trace", type=Path, help="cache directory for the simulated trace")
    args = parser.parse_args()

    length = 3
    duration = args.executions / (length * args.rate * args.devices)
    topology = hierarchical(devices=args.devices, edge=max(1, args.devices // 20),
                            regional=max(1, args.devices // 100))
    workload = Workload("chains", chain(length, work=1e8, data_bytes=1e5), Poisson(args.rate))
    t0 = time.perf_counter()
    if args.trace is not None and (args.trace / "manifest.json").exists():
        trace = Trace.load(args.trace)
    else:
        trace = Simulation(topology, [workload], duration=duration, seed=args.seed).run().trace
        if args.trace is not None:
            trace.save(args.trace)
    t_sim = time.perf_counter() - t0

    view = TraceView(trace)
    per_property: dict[str, float] = {}
    verdicts: dict[str, str] = {}
    t0 = time.perf_counter()
    for name, prop in CATALOG.items():
        t1 = time.perf_counter()
        verdict = prop.check(view)
        per_property[name] = round(time.perf_counter() - t1, 3)
        verdicts[name] = verdict.verdict
    total = time.perf_counter() - t0
    executions = int((trace.task_events["event"] == "start").sum())
    print(json.dumps({
        "workflows": len(trace.workflows),
        "task_executions": executions,
        "task_events": len(trace.task_events),
        "simulate_or_load_s": round(t_sim, 2),
        "catalog_s": round(total, 2),
        "per_property_s": per_property,
        "verdicts": verdicts,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }, indent=2))
    # Migration and rebalancing properties are not_applicable: the run has neither.
    assert all(v in ("true", "not_applicable") for v in verdicts.values()), verdicts


if __name__ == "__main__":
    main()
