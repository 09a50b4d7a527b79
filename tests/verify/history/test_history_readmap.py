"""The read-mapping check (unique written values) agrees with brute force and the search."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from wfsim.verify.history import Operation, check_linearizability
from wfsim.verify.history.model import KVModel, RegisterModel
from wfsim.verify.history.readmap import not_unique_values

from test_history_properties import PROPS, brute_linearizable, plausible_histories, spec_apply


@st.composite
def unique_histories(draw: st.DrawFn, model: str) -> list[Operation]:
    """Read/write histories with distinct written values and many equal timestamps.

    Times are small integers so that intervals often touch; reads return the initial
    value, any written value (earlier or later) or one nobody wrote; some writes are
    indeterminate.
    """
    n = draw(st.integers(1, 7))
    nproc = draw(st.integers(1, 4))
    clock = dict.fromkeys(range(nproc), 0)
    key_of = st.just(None) if model == "register" else st.sampled_from(["x", "y"])
    shape = []
    for _ in range(n):
        p = draw(st.integers(0, nproc - 1))
        call = clock[p] + draw(st.integers(0, 2))
        ret = call + draw(st.integers(0, 3))
        clock[p] = ret + draw(st.integers(0, 1))  # a process's next op may start when this returns
        shape.append((p, draw(key_of), draw(st.booleans()), call, ret, draw(st.integers(0, 5)) == 0))
    init = None if model == "register" else ""
    written = {k: [(i + 1 if model == "register" else f"v{i + 1}") for i, s in enumerate(shape) if s[2] and s[1] == k]
               for k in {s[1] for s in shape}}
    ops = []
    for i, (p, key, is_write, call, ret, info) in enumerate(shape):
        if is_write:
            value = i + 1 if model == "register" else f"v{i + 1}"
            f = "write" if model == "register" else "put"
            status = "info" if info else "ok"
            ops.append(Operation(i, p, f, key, value, None, float(call), math.inf if info else float(ret), status))
        else:
            output = draw(st.sampled_from([init, *written[key], *written[key], 99 if model == "register" else "zz"]))
            f = "read" if model == "register" else "get"
            ops.append(Operation(i, p, f, key, None, output, float(call), float(ret)))
    return ops


def assert_witness(model: str, ops: Sequence[Operation], order: list[int]) -> None:
    """``order`` holds every definite op, is legal, and respects real time."""
    by_id = {op.id: op for op in ops}
    chosen = [by_id[i] for i in order]
    assert {op.id for op in ops if op.status == "ok"} <= set(order)
    store: dict = {}
    assert all(spec_apply(model, store, op) for op in chosen)
    latest_call = -math.inf
    for op in chosen:  # nothing may come after an op that was called after it returned
        assert not op.ret < latest_call
        latest_call = max(latest_call, op.call)


def _check(model: str, ops: list[Operation]) -> None:
    fast = check_linearizability(ops, model)
    search = check_linearizability(ops, model, read_mapping=False)
    expected = "ok" if brute_linearizable(model, ops) else "violation"
    assert fast.verdict == search.verdict == expected
    assert all(p.method == "read-mapping" for p in fast.partitions if p.reason is None)
    if fast.verdict == "ok":
        for part in fast.partitions:
            assert_witness(model, [op for op in ops if op.key == part.key], part.order or [])
    else:
        cex = fast.counterexample
        assert cex is not None and cex.blocked is not None and cex.blocked in cex.operations


@PROPS
@given(st.one_of(unique_histories("register"), plausible_histories("register", unique=True)))
def test_read_mapping_matches_brute_force_register(ops: list[Operation]) -> None:
    _check("register", ops)


@PROPS
@given(st.one_of(unique_histories("kv"), plausible_histories("kv", unique=True)))
def test_read_mapping_matches_brute_force_kv(ops: list[Operation]) -> None:
    _check("kv", ops)


def test_read_mapping_applies_only_to_unique_plain_writes() -> None:
    reg, kv = RegisterModel(), KVModel()

    def w(i: int, value: object, f: str = "write") -> Operation:
        return Operation(i, 0, f, None, value, None, float(i), float(i))

    assert not_unique_values([w(0, 1), w(1, 2)], reg, None) is None
    assert "twice" in not_unique_values([w(0, 1), w(1, 1)], reg, None)
    assert "initial" in not_unique_values([w(0, None)], reg, None)
    assert "cas" in not_unique_values([w(0, (1, 2), "cas")], reg, None)
    assert "append" in not_unique_values([w(0, "a", "append")], kv, "x")
    assert "initial" in not_unique_values([w(0, "", "put")], kv, "x")

    class Custom(RegisterModel):
        name = "custom"

    assert "built-in" in not_unique_values([w(0, 1)], Custom(), None)
