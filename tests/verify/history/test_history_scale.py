"""Fast paths and pre-checks: sound against brute force, and fast on large histories.

The large histories come from ``benchmarks/history_gen.py``; only verdicts are
asserted here (timings belong to ``benchmarks/bench_history.py``).
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.verify.history import Budget, Operation, check_history, check_linearizability, find_bad_pattern
from wfsim.verify.history.model import get_model, prepared_ops
from wfsim.verify.history.sequential import impossible_read, search_sequential

from test_history_properties import (
    PROPS,
    brute_ccv,
    brute_cm,
    brute_sequential,
    differentiated,
    histories,
    plausible_histories,
)

_GEN = Path(__file__).resolve().parents[3] / "benchmarks" / "history_gen.py"
_spec = importlib.util.spec_from_file_location("history_gen", _GEN)
history_gen = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(history_gen)  # type: ignore[union-attr]


@PROPS
@given(st.sampled_from(["register", "kv"]).flatmap(lambda m: st.tuples(st.just(m), st.one_of(
    histories(m, max_ops=5), plausible_histories(m), plausible_histories(m, unique=True)))))
def test_impossible_read_implies_not_sequential(case: tuple[str, list[Operation]]) -> None:
    model, ops = case
    if impossible_read(prepared_ops(ops, get_model(model)), get_model(model)) is not None:
        assert not brute_sequential(model, ops)


def _ops(*rows: tuple) -> list[Operation]:
    return [Operation(i, p, f, None, value, output, float(i), float(i), status)
            for i, (p, f, value, output, status) in enumerate(rows)]


def test_read_overwritten_by_own_process() -> None:
    own = _ops((0, "write", 1, None, "ok"), (0, "write", 2, None, "ok"), (0, "read", None, 1, "ok"))
    assert impossible_read(own, get_model("register")).ops == [1, 2]
    # Someone else may write 1 again, or the first write may be indeterminate: no claim.
    other = [*own, Operation(3, 1, "write", None, 1, None, 3.0, 3.0)]
    late = _ops((0, "write", 1, None, "info"), (0, "write", 2, None, "ok"), (0, "read", None, 1, "ok"))
    late[0] = Operation(0, 0, "write", None, 1, None, 0.0, math.inf, "info")
    for ops in (other, late):
        assert impossible_read(ops, get_model("register")) is None
        assert check_history(ops, "register", "sequential").verdict == "ok"


def test_ten_thousand_op_thin_air_read_is_a_sequential_violation_at_once() -> None:
    ops = history_gen.register_history(5, 10_000, "thin-air")
    v = check_history(ops, "register", "sequential", budget=Budget(time_s=30))
    assert v.verdict == "violation" and v.partitions[0].method == "pre-check"
    assert "no operation writes" in v.counterexample.description


def test_large_histories_get_their_verdicts() -> None:
    # 50 clients keep about 32 operations open at once: hopeless for the search.
    for clients, n in ((5, 10_000), (50, 10_000)):
        for kind, expected in (("linearizable", "ok"), ("thin-air", "violation"), ("stale", "violation")):
            ops = history_gen.register_history(clients, n, kind)
            v = check_linearizability(ops, "register", Budget(time_s=30))
            assert v.verdict == expected, (clients, n, kind)
    # The search alone is linear on a 5-client history, linearizable or not.
    for kind, expected in (("linearizable", "ok"), ("stale", "violation")):
        ops = history_gen.register_history(5, 5_000, kind)
        v = check_linearizability(ops, "register", Budget(time_s=30), read_mapping=False)
        assert v.verdict == expected and v.partitions[0].method == "search"


def test_large_causal_histories_get_their_verdicts() -> None:
    # The stale read is causally consistent: its reader has not seen the newer write.
    ops = history_gen.register_history(5, 10_000, "stale")
    assert check_history(ops, "register", "causal-ccv", budget=Budget(time_s=30)).verdict == "ok"
    ops = history_gen.register_history(5, 2_000, "stale")
    assert check_history(ops, "register", "causal-cm", budget=Budget(time_s=30)).verdict == "ok"
    ops = history_gen.register_history(10, 10_000, "thin-air")
    v = check_history(ops, "register", "causal-cm", budget=Budget(time_s=30))
    assert v.verdict == "violation" and v.counterexample.kind == "ThinAirRead"


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(["register", "kv"]).flatmap(lambda m: st.tuples(st.just(m), differentiated(m))))
def test_bad_patterns_alone_match_definitions(case: tuple[str, list[Operation]]) -> None:
    # check_causal answers ok for linearizable histories before looking for the
    # CM/CCv patterns: check those patterns on their own too.
    model, ops = case
    m = get_model(model)
    assert (find_bad_pattern(ops, m, "cm") is None) == brute_cm(model, ops)
    assert (find_bad_pattern(ops, m, "ccv") is None) == brute_ccv(model, ops)


@PROPS
@given(st.sampled_from(["register", "kv"]).flatmap(lambda m: st.tuples(st.just(m), st.one_of(
    histories(m, max_ops=5), plausible_histories(m), plausible_histories(m, unique=True)))))
def test_sequential_search_alone_matches_brute_force(case: tuple[str, list[Operation]]) -> None:
    # check_sequential tries pre-checks and linearizability first: test the search itself.
    model, ops = case
    m = get_model(model)
    res = search_sequential(prepared_ops(ops, m), m)
    assert res.verdict == ("ok" if brute_sequential(model, ops) else "violation")


def test_causal_budget_holds() -> None:
    ops = history_gen.register_history(50, 3_000, "stale")
    start = time.perf_counter()
    v = check_history(ops, "register", "causal-cm", budget=Budget(time_s=0.2))
    assert v.verdict == "unknown" and "time budget" in v.reason
    assert time.perf_counter() - start < 2
    v = check_history(ops, "register", "causal-ccv", budget=Budget(time_s=30, max_states=10))
    assert v.verdict == "unknown" and "state budget" in v.reason


def test_causal_clock_memory_is_bounded(monkeypatch) -> None:
    from wfsim.verify.history import causal

    ops = history_gen.register_history(5, 1_000, "stale")
    monkeypatch.setattr(causal, "MAX_CLOCK_ENTRIES", 4_000)  # 1 000 ops × 5 chains is over
    v = check_history(ops, "register", "causal-ccv")
    assert v.verdict == "unknown" and "memory budget" in v.reason
