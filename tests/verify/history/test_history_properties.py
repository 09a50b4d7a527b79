"""Property tests: the searches agree with brute force, and the levels nest.

The oracles below are written from the definitions, independently of the
checkers: their own sequential specifications, causal orders and enumerations of
all permutations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfsim.verify.history import (
    Operation,
    check_causal,
    check_linearizability,
    check_sequential,
)

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------
# independent sequential specifications


def spec_apply(model: str, store: dict, op: Operation) -> bool:
    """Apply ``op`` to ``store`` (a dict key -> value) in place; return legality."""
    init = None if model == "register" else ""
    cur = store.get(op.key, init)
    if op.f in ("read", "get"):
        return op.status == "info" or cur == op.output
    if op.f in ("write", "put"):
        store[op.key] = op.value
        return True
    if op.f == "append":
        store[op.key] = cur + op.value
        return True
    frm, to = op.value  # cas
    if op.status == "fail":
        return cur != frm
    if cur == frm:
        store[op.key] = to
        return True
    return op.status == "info"


def _relevant(ops: Sequence[Operation]) -> tuple[list[Operation], list[Operation]]:
    """Split into must-happen ops and may-happen (indeterminate) ones; drop the rest."""
    must, may = [], []
    for op in ops:
        if op.status == "fail" and op.f != "cas":
            continue
        if op.status == "info":
            if op.f not in ("read", "get"):
                may.append(op)
            continue
        must.append(op)
    return must, may


def _legal(model: str, order: Sequence[Operation]) -> bool:
    store: dict = {}
    return all(spec_apply(model, store, op) for op in order)


def brute_linearizable(model: str, ops: Sequence[Operation]) -> bool:
    must, may = _relevant(ops)
    for k in range(len(may) + 1):
        for extra in itertools.combinations(may, k):
            for perm in itertools.permutations(must + list(extra)):
                # real-time order: nothing may come after an op that started after it returned
                if all(not (b.ret < a.call) for a, b in itertools.combinations(perm, 2)) and _legal(model, perm):
                    return True
    return False


def _program_order_ok(ops: Sequence[Operation], perm: Sequence[Operation]) -> bool:
    """Definite ops keep their per-process order; an indeterminate op comes after its
    process's earlier ops (it need not precede the later ones)."""
    pos = {op.id: i for i, op in enumerate(perm)}
    for a in ops:
        for b in ops:
            if (a.process == b.process and a.call < b.call and a.id in pos and b.id in pos
                    and a.status != "info" and pos[a.id] > pos[b.id]):
                return False
    return True


def brute_sequential(model: str, ops: Sequence[Operation]) -> bool:
    must, may = _relevant(ops)
    for k in range(len(may) + 1):
        for extra in itertools.combinations(may, k):
            chosen = must + list(extra)
            for perm in itertools.permutations(chosen):
                if _program_order_ok(ops, perm) and _legal(model, perm):
                    return True
    return False


# ---------------------------------------------------------------------------
# history strategies

REGISTER_F = st.sampled_from(["read", "write", "cas"])
KV_F = st.sampled_from(["get", "put", "append"])


@st.composite
def histories(draw: st.DrawFn, model: str, max_ops: int = 6, info: bool = True) -> list[Operation]:
    """Random small histories: per-process sequential ops with random intervals."""
    n = draw(st.integers(1, max_ops))
    nproc = draw(st.integers(1, 3))
    clock = dict.fromkeys(range(nproc), 0)
    ops = []
    for i in range(n):
        p = draw(st.integers(0, nproc - 1))
        call = clock[p] + draw(st.integers(0, 4))
        ret = call + draw(st.integers(0, 6))
        clock[p] = ret + 1
        if model == "register":
            f, key = draw(REGISTER_F), None
            vals = st.sampled_from([0, 1, 2])
            value = None if f == "read" else (draw(vals), draw(vals)) if f == "cas" else draw(vals)
            output = draw(st.sampled_from([None, 0, 1, 2])) if f == "read" else None
        else:
            f, key = draw(KV_F), draw(st.sampled_from(["x", "y"]))
            value = None if f == "get" else draw(st.sampled_from(["a", "b"]))
            output = draw(st.sampled_from(["", "a", "b", "ab", "ba"])) if f == "get" else None
        status = draw(st.sampled_from(["ok"] * 6 + (["info"] if info else []) + (["fail"] if f == "cas" else [])))
        end = math.inf if status == "info" else float(ret)
        ops.append(Operation(i, p, f, key, value, output, float(call), end, status))
    return ops


@st.composite
def plausible_histories(draw: st.DrawFn, model: str, unique: bool = False, info: bool = True) -> list[Operation]:
    """Histories built from a legal sequential run, with some outputs perturbed,
    so that every consistency level is accepted often enough to matter."""
    n = draw(st.integers(1, 7))
    nproc = draw(st.integers(1, 3))
    store: dict = {}
    ops: list[Operation] = []
    t = dict.fromkeys(range(nproc), 0.0)
    counter = itertools.count(1)
    for i in range(n):
        p = draw(st.integers(0, nproc - 1))
        status = "ok"
        if model == "register":
            f = draw(st.sampled_from(["read", "write"] if unique else ["read", "write", "cas"]))
            key = None
            cur = store.get(key)
            if f == "read":
                value, output = None, cur
                if draw(st.integers(0, 4)) == 0:
                    output = draw(st.sampled_from([None, 1, 2, 3]))
            elif f == "write":
                value, output = (next(counter) if unique else draw(st.sampled_from([1, 2, 3]))), None
                store[key] = value
            else:
                value, output = (draw(st.sampled_from([None, 1, 2])), draw(st.sampled_from([1, 2, 3]))), None
                if cur == value[0]:
                    store[key] = value[1]
                else:
                    status = "fail"
        else:
            key = draw(st.sampled_from(["x", "y"]))
            f = draw(st.sampled_from(["get", "put"] if unique else ["get", "put", "append"]))
            cur = store.get(key, "")
            if f == "get":
                value, output = None, cur
                if draw(st.integers(0, 4)) == 0:
                    output = draw(st.sampled_from(["", "v1", "v2", "ab"]))
            else:
                value, output = (f"v{next(counter)}" if unique else draw(st.sampled_from(["a", "b"]))), None
                store[key] = value if f == "put" else cur + value
        if info and draw(st.integers(0, 7)) == 0 and f not in ("read", "get"):
            status = "info"
        call = t[p] + draw(st.integers(0, 3))
        ret = call + draw(st.integers(0, 5))
        t[p] = ret + 1
        ops.append(Operation(i, p, f, key, value, output, float(call),
                             math.inf if status == "info" else float(ret), status))  # type: ignore[arg-type]
    return ops


# ---------------------------------------------------------------------------
# search == brute force


@PROPS
@given(histories("register"))
def test_linearizability_matches_brute_force_register(ops: list[Operation]) -> None:
    expected = "ok" if brute_linearizable("register", ops) else "violation"
    assert check_linearizability(ops, "register").verdict == expected


@PROPS
@given(histories("kv"))
def test_linearizability_matches_brute_force_kv(ops: list[Operation]) -> None:
    expected = "ok" if brute_linearizable("kv", ops) else "violation"
    assert check_linearizability(ops, "kv").verdict == expected


@PROPS
@given(st.one_of(plausible_histories("register"), histories("register", max_ops=5)))
def test_sequential_matches_brute_force_register(ops: list[Operation]) -> None:
    expected = "ok" if brute_sequential("register", ops) else "violation"
    assert check_sequential(ops, "register").verdict == expected


@PROPS
@given(st.one_of(plausible_histories("kv"), histories("kv", max_ops=5)))
def test_sequential_matches_brute_force_kv(ops: list[Operation]) -> None:
    expected = "ok" if brute_sequential("kv", ops) else "violation"
    assert check_sequential(ops, "kv").verdict == expected


# ---------------------------------------------------------------------------
# linearizable => sequential => causal


@PROPS
@given(st.sampled_from(["register", "kv"]).flatmap(
    lambda m: st.tuples(st.just(m), st.one_of(plausible_histories(m), plausible_histories(m, unique=True)))))
def test_levels_nest(case: tuple[str, list[Operation]]) -> None:
    model, ops = case
    lin = check_linearizability(ops, model).verdict
    seq = check_sequential(ops, model).verdict
    cm = check_causal(ops, model, variant="cm").verdict
    ccv = check_causal(ops, model, variant="ccv").verdict
    assert lin != "unknown" and seq != "unknown"
    if lin == "ok":
        assert seq == "ok"
    if seq == "ok":
        assert cm == "ok" and ccv == "ok"
    # CCv is stronger than CC, and CM stronger than CC; neither implies the other,
    # but both are implied by SC (checked above).


# ---------------------------------------------------------------------------
# causal bad patterns == the definitions of CM and CCv


def _causal_order(model: str, ops: Sequence[Operation]) -> dict[int, set[int]] | None:
    """Predecessor sets of (PO ∪ wr)+, or None if a read has no writer or CO is cyclic."""
    init = None if model == "register" else ""
    writer = {(o.key, o.value): o.id for o in ops if o.f in ("write", "put")}
    before: dict[int, set[int]] = {o.id: set() for o in ops}
    for a in ops:
        for b in ops:
            if a.process == b.process and a.call < b.call:
                before[b.id].add(a.id)
        if a.f in ("read", "get") and a.output != init:
            if (a.key, a.output) not in writer:
                return None
            before[a.id].add(writer[(a.key, a.output)])
    changed = True
    while changed:  # naive transitive closure
        changed = False
        for b in ops:
            new = set().union(*(before[a] for a in before[b.id])) | before[b.id]
            if new != before[b.id]:
                before[b.id], changed = new, True
    if any(o.id in before[o.id] for o in ops):
        return None
    return before


def _linear_extensions(ids: list[int], before: dict[int, set[int]]):
    for perm in itertools.permutations(ids):
        seen: set[int] = set()
        ok = True
        for i in perm:
            if (before[i] & set(ids)) - seen:
                ok = False
                break
            seen.add(i)
        if ok:
            yield perm


def brute_cm(model: str, ops: Sequence[Operation]) -> bool:
    """Causal memory: every process explains its reads with one CO-respecting
    serialization of its causal past."""
    init = None if model == "register" else ""
    before = _causal_order(model, ops)
    if before is None:
        return False
    by_id = {o.id: o for o in ops}
    for proc in {o.process for o in ops}:
        mine = [o.id for o in ops if o.process == proc]
        past = sorted(set(mine).union(*(before[i] for i in mine)))
        for perm in _linear_extensions(past, before):
            store: dict = {}
            good = True
            for i in perm:
                o = by_id[i]
                if o.f in ("write", "put"):
                    store[o.key] = o.value
                elif o.process == proc and store.get(o.key, init) != o.output:
                    good = False
                    break
            if good:
                break
        else:
            return False
    return True


def brute_ccv(model: str, ops: Sequence[Operation]) -> bool:
    """Causal convergence: one arbitration order extending CO, and every read returns
    the arbitration-last write among its causal past."""
    init = None if model == "register" else ""
    before = _causal_order(model, ops)
    if before is None:
        return False
    by_id = {o.id: o for o in ops}
    for arb in _linear_extensions([o.id for o in ops], before):
        rank = {i: k for k, i in enumerate(arb)}
        good = True
        for r in ops:
            if r.f not in ("read", "get"):
                continue
            ws = [by_id[w] for w in before[r.id] if by_id[w].f in ("write", "put") and by_id[w].key == r.key]
            seen = max(ws, key=lambda w: rank[w.id]).value if ws else init
            if seen != r.output:
                good = False
                break
        if good:
            return True
    return False


@st.composite
def differentiated(draw: st.DrawFn, model: str) -> list[Operation]:
    """Read/write histories with unique written values (no indeterminate ops).

    Reads mostly return a value that some write of the same key produces (earlier
    or later, any process), so that the interesting patterns (cycles through
    reads-from, CM/CCv differences) come up; occasionally a value nobody wrote.
    """
    n = draw(st.integers(2, 7))
    nproc = draw(st.integers(2, 3))
    keys = [None] if model == "register" else ["x", "x", "y"]
    init = None if model == "register" else ""
    shape = [(draw(st.integers(0, nproc - 1)), draw(st.sampled_from(keys)), draw(st.booleans())) for _ in range(n)]
    value_of = {i: (i + 1 if model == "register" else f"v{i + 1}") for i in range(n)}
    ops = []
    for i, (p, key, is_write) in enumerate(shape):
        if is_write:
            f = "write" if model == "register" else "put"
            ops.append(Operation(i, p, f, key, value_of[i], None, float(i), float(i), "ok"))
        else:
            written = [value_of[j] for j, (_, k, w) in enumerate(shape) if w and k == key]
            if draw(st.integers(0, 19)) == 0:
                output = 99 if model == "register" else "zz"  # thin air
            else:
                output = draw(st.sampled_from([init] + written * 3))
            f = "read" if model == "register" else "get"
            ops.append(Operation(i, p, f, key, None, output, float(i), float(i), "ok"))
    return ops


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(["register", "kv"]).flatmap(lambda m: st.tuples(st.just(m), differentiated(m))))
def test_causal_bad_patterns_match_definitions(case: tuple[str, list[Operation]]) -> None:
    model, ops = case
    cm = check_causal(ops, model, variant="cm")
    ccv = check_causal(ops, model, variant="ccv")
    assert cm.details["method"] == "bad-patterns"
    assert cm.verdict == ("ok" if brute_cm(model, ops) else "violation")
    assert ccv.verdict == ("ok" if brute_ccv(model, ops) else "violation")


def _all_register_histories(n: int, nproc: int):
    """Every single-register read/write history with ``n`` ops on ``nproc`` processes
    (ops in index order; write ``i`` writes ``i + 1``; reads return any written value
    or the initial one)."""
    for procs in itertools.product(range(nproc), repeat=n):
        for kinds in itertools.product((True, False), repeat=n):
            values = [None] + [i + 1 for i in range(n) if kinds[i]]
            n_reads = kinds.count(False)
            for outs in itertools.product(values, repeat=n_reads):
                it = iter(outs)
                yield [
                    Operation(i, procs[i], "write", None, i + 1, None, float(i), float(i), "ok") if kinds[i]
                    else Operation(i, procs[i], "read", None, None, next(it), float(i), float(i), "ok")
                    for i in range(n)
                ]


def _exhaustive_causal(n: int, nproc: int) -> set[str]:
    kinds = set()
    for ops in _all_register_histories(n, nproc):
        cm = check_causal(ops, "register", variant="cm")
        ccv = check_causal(ops, "register", variant="ccv")
        assert cm.verdict == ("ok" if brute_cm("register", ops) else "violation"), ops
        assert ccv.verdict == ("ok" if brute_ccv("register", ops) else "violation"), ops
        for v in (cm, ccv):
            if v.counterexample:
                kinds.add(v.counterexample.kind)
    return kinds


def test_causal_exhaustive_small_register_histories() -> None:
    kinds = _exhaustive_causal(4, 2)
    assert {"CyclicCO", "WriteCOInitRead", "WriteCORead", "CyclicCF"} <= kinds


@pytest.mark.slow
def test_causal_exhaustive_five_op_register_histories() -> None:
    _exhaustive_causal(5, 2)
