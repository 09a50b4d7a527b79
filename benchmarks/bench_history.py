"""Time the history checkers on generated register histories (see ``history_gen.py``).

Usage::

    .venv/bin/python benchmarks/bench_history.py                      # the Porcupine rows
    .venv/bin/python benchmarks/bench_history.py --levels sequential causal-cm causal-ccv
    .venv/bin/python benchmarks/bench_history.py --clients 5 --ops 100000 --search

Every row (clients × operations × kind × level) runs in its own subprocess, with an
address-space limit (``--memory-gb``, default 3) and a wall-clock timeout (the check
budget plus a margin), so a blow-up cannot take the machine. The child generates
the history, then times :func:`~wfsim.verify.history.check_history` alone, and
reports its peak RSS (``ru_maxrss``, which includes the interpreter, numpy and the
history itself). ``--search`` forces the linearizability search instead of the
read-mapping check (to measure the search). Prints one JSON object per row, then a
markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

EXPECTED = {"linearizable": "ok", "thin-air": "violation", "stale": "violation"}


def run_row(clients: int, ops: int, kind: str, level: str, budget: float, search: bool) -> dict:
    """Generate one history and check it (in this process)."""
    from wfsim.verify.history import Budget, check_history
    from wfsim.verify.history.linearizability import check_linearizability

    from history_gen import register_history

    t0 = time.perf_counter()
    history = register_history(clients, ops, kind, seed=0)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    if search:
        verdict = check_linearizability(history, "register", Budget(time_s=budget), read_mapping=False)
    else:
        verdict = check_history(history, "register", level, Budget(time_s=budget))
    elapsed = time.perf_counter() - t0
    methods = sorted({p.method or verdict.details.get("method") or "" for p in verdict.partitions})
    return {
        "clients": clients, "ops": ops, "kind": kind, "level": level + (" (search)" if search else ""),
        "verdict": verdict.verdict, "seconds": round(elapsed, 3), "generate_s": round(generated, 3),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "method": ",".join(m for m in methods if m), "reason": verdict.reason,
        "counterexample": verdict.counterexample.kind if verdict.counterexample else None,
    }


def spawn(clients: int, ops: int, kind: str, level: str, budget: float, search: bool, memory_gb: float) -> dict:
    """Run one row in a child process with memory and time limits."""
    limit = int(memory_gb * 2**30)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    cmd = [sys.executable, __file__, "--row", str(clients), str(ops), kind, level, str(budget)]
    if search:
        cmd.append("--search")
    row = {"clients": clients, "ops": ops, "kind": kind, "level": level + (" (search)" if search else "")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget + 120, preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        return {**row, "verdict": "killed", "reason": f"no answer {budget + 120:.0f} s (timeout)"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {**row, "verdict": "crashed", "reason": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(rows: list[dict]) -> str:
    lines = ["| clients | ops | history | level | verdict | seconds | peak RSS MB | method |",
             "|---:|---:|---|---|---|---:|---:|---|"]
    for r in rows:
        verdict = r["verdict"]
        if verdict == "unknown" or verdict not in ("ok", "violation"):
            verdict += f" ({r.get('reason')})"
        lines.append(f"| {r['clients']} | {r['ops']} | {r['kind']} | {r['level']} | {verdict} | "
                     f"{r.get('seconds', '')} | {r.get('peak_rss_mb', '')} | {r.get('method', '')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[5, 10, 50])
    parser.add_argument("--ops", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--kinds", nargs="+", default=list(EXPECTED), choices=list(EXPECTED))
    parser.add_argument("--levels", nargs="+", default=["linearizable"])
    parser.add_argument("--budget", type=float, default=60.0, help="check budget per row, seconds")
    parser.add_argument("--memory-gb", type=float, default=3.0, help="address-space limit per row")
    parser.add_argument("--search", action="store_true", help="force the linearizability search")
    parser.add_argument("--row", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        clients, ops, kind, level, budget = args.row
        print(json.dumps(run_row(int(clients), int(ops), kind, level, float(budget), args.search)))
        return
    rows = []
    for level in args.levels:
        for clients in args.clients:
            for ops in args.ops:
                for kind in args.kinds:
                    row = spawn(clients, ops, kind, level, args.budget, args.search, args.memory_gb)
                    if level == "linearizable" and row["verdict"] in EXPECTED.values():
                        assert row["verdict"] == EXPECTED[kind], row  # wrong verdicts are bugs
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    print(markdown(rows))


if __name__ == "__main__":
    main()
