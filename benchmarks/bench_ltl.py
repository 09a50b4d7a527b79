"""Benchmark the LTLf evaluator: five properties over one long synthetic trace.

Usage::

    python benchmarks/bench_ltl.py --steps 1000000

Prints one JSON object with wall-clock seconds for building the trace,
tabulating atoms from Python step sets, and evaluating each property (plain
and truncated) on the tabulated columns.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from wfsim.verify.ltl import atom_arrays, evaluate_all, evaluate_arrays, parse

PROPERTIES = [
    "G(running -> F done)",
    "G !(running & failed)",
    "F done",
    "G(request -> (busy U ack))",
    "G(failed -> X(!running R retry:1.wait))",
]
ATOMS = ["running", "done", "failed", "request", "busy", "ack", "retry:1.wait"]


def make_trace(steps: int, seed: int) -> list[frozenset[str]]:
    """Random steps, each atom true with probability 0.3 (failed: 0.001)."""
    rng = np.random.default_rng(seed)
    probs = np.array([0.001 if a == "failed" else 0.3 for a in ATOMS])
    table = rng.random((steps, len(ATOMS))) < probs
    names = np.array(ATOMS, dtype=object)
    return [frozenset(names[row]) for row in table]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    trace = make_trace(args.steps, args.seed)
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    columns = atom_arrays(trace, ATOMS)
    t_atoms = time.perf_counter() - t0

    results: list[dict[str, object]] = []
    totals = {"plain": 0.0, "truncated": 0.0}
    for text in PROPERTIES:
        formula = parse(text)
        row: dict[str, object] = {"formula": text}
        for truncated in (False, True):
            t0 = time.perf_counter()
            verdict = evaluate_arrays(formula, columns, truncated=truncated)
            key = "truncated" if truncated else "plain"
            seconds = time.perf_counter() - t0
            totals[key] += seconds
            row[f"{key}_seconds"] = round(seconds, 4)
            row[f"{key}_verdict"] = verdict.value.value
            row[f"{key}_step"] = verdict.step
        results.append(row)

    # End to end from Python step objects, as evaluate_all is normally used.
    t0 = time.perf_counter()
    evaluate_all(PROPERTIES, trace)
    t_end_to_end = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "steps": args.steps,
                "python": platform.python_version(),
                "build_trace_seconds": round(t_build, 4),
                "tabulate_atoms_seconds": round(t_atoms, 4),
                "evaluate_plain_total_seconds": round(totals["plain"], 4),
                "evaluate_truncated_total_seconds": round(totals["truncated"], 4),
                "evaluate_all_from_steps_seconds": round(t_end_to_end, 4),
                "properties": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
