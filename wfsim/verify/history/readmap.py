"""Polynomial linearizability check for registers whose written values are unique.

When every write of a key writes a distinct value, different from the initial one,
each read names the write it read from (the *read mapping* is known) and
linearizability is decidable in ``O(n log n)``: Gibbons & Korach, *Testing Shared
Memories*, SIAM J. Comput. 26(4), 1997, §4 (the "VL with read mapping" problem). We
use their zone formulation as restated by Golab, Li & Shah, *Analyzing Consistency
Properties for Fun and Profit*, PODC 2011 (and, for per-key splitting, Horn &
Kroening, *Faster Linearizability Checking via P-Compositionality*, FORTE 2015).

A *cluster* is a write and every read of its value (the initial value is a cluster
with a virtual write before everything). In a legal order each cluster is a
contiguous block, write first. With ``f`` the earliest return and ``s`` the latest
call among its operations:

* if ``f < s`` (a *forward zone* ``[f, s]``), the block must cover ``[f, s]`` and can
  be placed on exactly that segment;
* otherwise (a *backward zone* ``[s, f]``), the block can sit on any single point of
  ``[s, f]``.

So the history is linearizable iff (1) every read returns the initial value or a
written one, (2) no read returns before its write is called, (3) no two forward
zones overlap, and (4) no backward zone lies strictly inside a forward zone.
Operations with equal timestamps are concurrent (as in the search), so zones that
only touch do not conflict: this is why (3) and (4) use strict inequalities. An
indeterminate write returns at ``+inf``; one that nobody read may be left out (no
read observes it, and values are unique), so it is dropped.

On success the check also builds a witness: clusters in zone order, each op at the
point ``max(call, start of its block)``, which lies in its interval.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from .model import KVModel, Model, Operation, RegisterModel
from .result import Counterexample, PartitionResult

#: Functions that overwrite the value with their input, for the models whose
#: semantics we know (a user-defined model may use the same names differently).
PLAIN_WRITES = {RegisterModel: frozenset({"write"}), KVModel: frozenset({"put"})}


def not_unique_values(ops: Sequence[Operation], model: Model, key: Hashable | None) -> str | None:
    """Why the read-mapping check does not apply to ``ops`` (``None`` if it does).

    It applies to plain reads and writes of a built-in model where every written
    value is distinct and differs from the initial value.
    """
    writes = PLAIN_WRITES.get(type(model))
    if writes is None:
        return f"model {model.name!r} is not a built-in read/write model"
    init = model.init(key)
    seen: set[Hashable] = set()
    for op in ops:
        if op.f in model.read_functions:
            try:
                hash(op.output)
            except TypeError:
                return f"output {op.output!r} is not hashable"
            continue
        if op.f not in writes:
            return f"the history uses {op.f!r}"
        try:
            if op.value == init or op.value in seen:
                return f"value {op.value!r} is written twice or is the initial value"
            seen.add(op.value)
        except TypeError:
            return f"value {op.value!r} is not hashable"
    return None


@dataclass
class _Cluster:
    write: Operation | None  # None: the initial value
    reads: list[Operation] = field(default_factory=list)
    f: float = math.inf  # earliest return
    s: float = -math.inf  # latest call
    f_op: Operation | None = None
    s_op: Operation | None = None

    def add(self, op: Operation) -> None:
        if op.ret < self.f:
            self.f, self.f_op = op.ret, op
        if op.call > self.s:
            self.s, self.s_op = op.call, op

    @property
    def forward(self) -> bool:
        return self.f < self.s

    def ops(self) -> list[Operation]:
        return ([self.write] if self.write is not None else []) + self.reads


def check_read_mapping(
    ops: Sequence[Operation], model: Model, key: Hashable | None = None, deadline: float = math.inf
) -> PartitionResult:
    """Decide linearizability of one key's unique-value read/write history.

    Args:
        ops: Prepared operations of one key; :func:`not_unique_values` must be ``None``.
        model: The (built-in) model.
        key: Partition key (for reporting).
        deadline: Unused beyond a final check: the algorithm is ``O(n log n)``.

    Returns:
        The partition's verdict, with a witness ``order`` when ``ok``.
    """
    start = time.perf_counter()
    init = model.init(key)
    reads = [op for op in ops if op.f in model.read_functions]
    clusters: dict[Hashable, _Cluster] = {}
    for op in ops:
        if op.f not in model.read_functions:
            clusters[op.value] = _Cluster(op)
    first = _Cluster(None, f=-math.inf)  # the virtual initial write returns before everything

    def result(verdict: str, cex: Counterexample | None = None, order: list[int] | None = None) -> PartitionResult:
        return PartitionResult(key, verdict, len(ops), 0, time.perf_counter() - start,  # type: ignore[arg-type]
                               order=order, counterexample=cex, method="read-mapping")

    for r in reads:
        c = first if r.output == init else clusters.get(r.output)
        if c is None:
            return result("violation", _cex(key, init, f"{model.describe(r)} returns a value that no write wrote",
                                            [r], r))
        c.reads.append(r)
    # An indeterminate write nobody read may not have happened: leave it out.
    live = [c for c in clusters.values() if c.reads or not c.write.indeterminate]  # type: ignore[union-attr]
    for c in live:
        w = c.write
        assert w is not None
        c.add(w)
        for r in c.reads:
            if r.ret < w.call:
                return result("violation", _cex(
                    key, init, f"{model.describe(r)} returns before {model.describe(w)} is called", [w, r], r))
            c.add(r)
    if first.reads:
        for r in first.reads:
            first.add(r)
        live.append(first)

    forward = sorted((c for c in live if c.forward), key=lambda c: c.f)
    for a, b in zip(forward, forward[1:]):
        if b.f < a.s:
            return result("violation", _zone_cex(model, key, init, a, b, "overlap"))
    starts = [c.f for c in forward]
    place: dict[int, float] = {}  # id(cluster) -> start of its block
    for c in live:
        if c.forward:
            place[id(c)] = c.f
            continue
        # Latest forward zone starting strictly before this backward zone [s, f].
        i = bisect.bisect_left(starts, c.s) - 1
        if i >= 0 and c.f < forward[i].s:
            return result("violation", _zone_cex(model, key, init, forward[i], c, "contains"))
        # Sit at s, or (if s is inside that forward zone) right where it ends.
        place[id(c)] = forward[i].s if i >= 0 and c.s < forward[i].s else c.s
    if time.perf_counter() > deadline:
        return result("unknown")
    # Blocks in order of (start, end): a block that touches the next one at a point
    # comes first, single points before a forward block starting there.
    live.sort(key=lambda c: (place[id(c)], c.s if c.forward else place[id(c)]))
    order = []
    for c in live:
        x = place[id(c)]
        if c.write is not None:
            order.append(c.write.id)
        order.extend(r.id for r in sorted(c.reads, key=lambda r: (max(r.call, x), r.id)))
    return result("ok", order=order)


def _cex(key: Hashable | None, init: Hashable, text: str, ops: list[Operation], blocked: Operation) -> Counterexample:
    return Counterexample(kind="linearizability", description=f"no linearization of key {key!r}: {text}",
                          key=key, blocked=blocked.id, ops=[o.id for o in ops], state=init)


def _zone_cex(model: Model, key: Hashable | None, init: Hashable, a: _Cluster, b: _Cluster, how: str) -> Counterexample:
    def name(c: _Cluster) -> str:
        return "the initial value" if c.write is None else f"value {c.write.value!r}"

    def span(c: _Cluster) -> str:
        first = "it is the initial value" if c.f_op is None else f"{model.describe(c.f_op)} returns at {c.f}"
        return f"{first} and {model.describe(c.s_op)} is called at {c.s}"  # type: ignore[arg-type]

    if how == "overlap":
        text = (f"the operations on {name(a)} must span [{a.f}, {a.s}] ({span(a)}), those on {name(b)} "
                f"span [{b.f}, {b.s}] ({span(b)}); the spans overlap, so one value would have to be "
                "read after the other overwrote it")
    else:
        text = (f"the operations on {name(b)} must all happen within [{b.s}, {b.f}], strictly inside the span "
                f"[{a.f}, {a.s}] of {name(a)} ({span(a)}), which cannot be interrupted")
    involved = [o for c in (a, b) for o in (c.write, c.f_op, c.s_op) if o is not None]
    unique = list({o.id: o for o in involved}.values())
    # Blame the last read of the forward zone: it returns a value already replaced.
    return _cex(key, init, text, unique, a.s_op)  # type: ignore[arg-type]
