"""Random single-register histories for the history-checker benchmark.

Each client runs operations back to back: it waits a short gap, calls, and the
operation returns after a random duration; about two in three clients have an
operation open at any time. Every operation takes effect at a random point inside its
interval, and the register is replayed in that order, so the history is linearizable
by construction. Writes (half of the operations) write distinct values ``1, 2, ...``;
the register starts as ``None``.

``kind`` corrupts one read in the middle of the history:

* ``"linearizable"``: no corruption;
* ``"thin-air"``: the read returns ``-1``, which nobody wrote;
* ``"stale"``: the read returns the value of a write ``w`` such that some later write
  ``w2`` was called after ``w`` returned and returned before the read was called, so
  every linearization puts ``w2`` between ``w`` and the read.

Usage::

    python benchmarks/history_gen.py --clients 5 --ops 100000 --kind stale > h.jsonl
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wfsim.verify.history import Operation, dump_jsonl

KINDS = ("linearizable", "thin-air", "stale")


def timeline(clients: int, n_ops: int, rng: random.Random) -> Iterator[tuple[float, float, int]]:
    """Intervals of ``clients`` clients running operations back to back.

    Each client waits a gap (exponential, mean 0.5), calls, and returns after a
    duration (exponential, mean 1), then waits again.

    Args:
        clients: Number of clients.
        n_ops: Number of intervals to yield.
        rng: Random source, shared with the caller.

    Yields:
        ``(call, ret, client)`` in call order. The caller may draw from ``rng``
        between two yields: the next gap is drawn only when the caller asks for
        the next interval, so a caller's draws interleave with these in a fixed
        order and the same seed gives the same history.
    """
    free = [(rng.expovariate(2.0), c) for c in range(clients)]
    heapq.heapify(free)
    for _ in range(n_ops):
        t, c = heapq.heappop(free)
        ret = t + rng.expovariate(1.0)
        yield t, ret, c
        heapq.heappush(free, (ret + rng.expovariate(2.0), c))


def register_history(clients: int, n_ops: int, kind: str = "linearizable", seed: int = 0) -> list[Operation]:
    """Generate ``n_ops`` operations of ``clients`` clients on one register.

    Args:
        clients: Number of clients (processes).
        n_ops: Number of operations.
        kind: ``"linearizable"``, ``"thin-air"`` or ``"stale"`` (see the module doc).
        seed: Random seed; the same arguments give the same history.

    Returns:
        Operations ordered by call time, ids ``0..n_ops-1``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    rng = random.Random(seed)
    shapes = []  # (call, ret, point, client, is_write)
    for t, ret, c in timeline(clients, n_ops, rng):
        shapes.append((t, ret, rng.uniform(t, ret), c, rng.random() < 0.5))
    ops: list[Operation | None] = [None] * n_ops
    value = None
    next_value = 1
    for i in sorted(range(n_ops), key=lambda i: shapes[i][2]):
        call, ret, _, c, is_write = shapes[i]
        if is_write:
            value, next_value = next_value, next_value + 1
            ops[i] = Operation(i, c, "write", None, value, None, call, ret)
        else:
            ops[i] = Operation(i, c, "read", None, None, value, call, ret)
    history: list[Operation] = ops  # type: ignore[assignment]
    if kind != "linearizable":
        _corrupt(history, kind)
    return history


def _corrupt(ops: list[Operation], kind: str) -> None:
    writes = [op for op in ops if op.f == "write"]
    by_ret = sorted(writes, key=lambda w: w.ret)
    rets = [w.ret for w in by_ret]
    for r in ops[len(ops) // 2:]:
        if r.f != "read":
            continue
        if kind == "thin-air":
            ops[r.id] = Operation(r.id, r.process, "read", None, None, -1, r.call, r.ret)
            return
        # w2: a write that returned before the read was called; w: one that
        # returned before w2 was called.
        k = bisect.bisect_left(rets, r.call)
        for w2 in reversed(by_ret[:k]):
            j = bisect.bisect_left(rets, w2.call)
            if j:
                w = by_ret[j - 1]
                ops[r.id] = Operation(r.id, r.process, "read", None, None, w.value, r.call, r.ret)
                return
    raise ValueError("history too short to corrupt")


def mean_open(ops: list[Operation]) -> float:
    """Average number of operations open at a call (a concurrency measure)."""
    events = sorted([(op.call, 1) for op in ops] + [(op.ret, -1) for op in ops if not math.isinf(op.ret)])
    open_now, total = 0, 0
    for _, d in events:
        open_now += d
        if d == 1:
            total += open_now
    return total / max(1, len(ops))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--kind", choices=KINDS, default="linearizable")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.stdout.write(dump_jsonl(register_history(args.clients, args.ops, args.kind, args.seed)))


if __name__ == "__main__":
    main()
