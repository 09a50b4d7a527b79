"""Hand-written histories: each causal bad pattern, indeterminate operations, budgets."""

from __future__ import annotations

import math

import pytest

from wfsim.verify.history import Budget, Operation, check_history
from wfsim.verify.history.formats import parse_history


def ops_from(*rows: tuple) -> list[Operation]:
    """Rows are ``(process, f, key, value, output, call, ret[, status])``."""
    out = []
    for i, row in enumerate(rows):
        p, f, key, value, output, call, ret, *rest = row
        status = rest[0] if rest else "ok"
        out.append(Operation(i, p, f, key, value, output, float(call), math.inf if ret is None else float(ret), status))
    return out


def seq(*per_process: list[tuple]) -> list[Operation]:
    """Build a kv history from per-process programs; time is the row's position."""
    rows = []
    t = 0
    for p, program in enumerate(per_process):
        for f, key, value in program:
            if f == "get":
                rows.append((p, "get", key, None, value, t, t))
            else:
                rows.append((p, "put", key, value, None, t, t))
            t += 1
    return ops_from(*rows)


def verdicts(ops: list[Operation], model: str = "kv") -> dict[str, str]:
    return {c: check_history(ops, model, c).verdict for c in ("linearizable", "sequential", "causal-cm", "causal-ccv")}


def pattern(ops: list[Operation], variant: str, model: str = "kv") -> str | None:
    v = check_history(ops, model, "causal", causal=variant)
    return v.counterexample.kind if v.counterexample else None


# --- causal bad patterns ---------------------------------------------------


def test_cyclic_co() -> None:
    ops = seq([("get", "x", "1"), ("put", "y", "1")], [("get", "y", "1"), ("put", "x", "1")])
    assert pattern(ops, "cm") == pattern(ops, "ccv") == "CyclicCO"


def test_thin_air_read() -> None:
    ops = seq([("put", "x", "1")], [("get", "x", "5")])
    assert pattern(ops, "cm") == "ThinAirRead"
    cex = check_history(ops, "kv", "causal").counterexample
    assert cex is not None and cex.ops == [1]


def test_write_co_init_read() -> None:
    ops = seq([("put", "x", "1"), ("get", "x", "")])
    assert pattern(ops, "cm") == pattern(ops, "ccv") == "WriteCOInitRead"


def test_write_co_read() -> None:
    ops = seq([("put", "x", "1"), ("put", "x", "2")], [("get", "x", "2"), ("get", "x", "1")])
    assert pattern(ops, "cm") == pattern(ops, "ccv") == "WriteCORead"


def test_write_hb_init_read_is_cm_only() -> None:
    # p0 reads z=1 (so w(y,2) is in its past), then x initial, then u=1 (so w(y,1) and,
    # before it, w(x,1) are in its past), then y=2: w(y,1) must be overwritten by
    # w(y,2), which precedes the read of x — so w(x,1) happens before it.
    ops = seq(
        [("get", "z", "1"), ("get", "x", ""), ("get", "u", "1"), ("get", "y", "2")],
        [("put", "x", "1"), ("put", "y", "1"), ("put", "u", "1")],
        [("put", "y", "2"), ("put", "z", "1")],
    )
    assert pattern(ops, "cm") == "WriteHBInitRead"
    assert pattern(ops, "ccv") is None


def test_cyclic_hb_and_cyclic_cf() -> None:
    ops = seq(
        [("get", "z", "1"), ("get", "x", "2"), ("get", "x", "1")],
        [("put", "x", "1"), ("put", "z", "1")],
        [("put", "x", "2")],
    )
    assert pattern(ops, "cm") == "CyclicHB"
    assert pattern(ops, "ccv") == "CyclicCF"


def test_cm_but_not_ccv() -> None:
    ops = seq([("put", "x", "1"), ("get", "x", "2")], [("put", "x", "2"), ("get", "x", "1")])
    assert verdicts(ops) == {"linearizable": "violation", "sequential": "violation",
                             "causal-cm": "ok", "causal-ccv": "violation"}
    cex = check_history(ops, "kv", "causal-ccv").counterexample
    assert cex is not None and cex.kind == "CyclicCF" and set(cex.ops) == {0, 2}
    assert "cf" in cex.description


def test_sequential_but_not_linearizable() -> None:
    # p1 reads the initial value after p0's write returned: stale, but an SC order exists.
    ops = ops_from((0, "write", None, 1, None, 0, 1), (1, "read", None, None, None, 2, 3))
    assert verdicts(ops, "register") == {"linearizable": "violation", "sequential": "ok",
                                         "causal-cm": "ok", "causal-ccv": "ok"}


def test_causal_outside_the_fragment_is_unknown_or_reduced() -> None:
    # Repeated values: not differentiated. Not SC either, so causal is unknown.
    ops = seq([("put", "x", "1"), ("get", "x", "2")], [("put", "x", "2"), ("get", "x", "1"), ("put", "x", "1")])
    v = check_history(ops, "kv", "causal")
    assert v.verdict == "unknown" and "more than once" in (v.reason or "")
    # append: SC witness exists -> causal ok via the reduction.
    ops = ops_from((0, "append", "x", "a", None, 0, 1), (1, "get", "x", None, "a", 2, 3))
    assert check_history(ops, "kv", "causal").verdict == "ok"
    # A value nobody wrote is still thin air with cas around.
    ops = ops_from((0, "cas", None, (None, 1), None, 0, 1), (1, "read", None, None, 7, 2, 3))
    assert check_history(ops, "register", "causal").counterexample.kind == "ThinAirRead"


# --- indeterminate operations ----------------------------------------------


def test_indeterminate_write_may_take_effect_late() -> None:
    ops = ops_from((0, "write", None, 1, None, 0, None, "info"), (1, "read", None, None, 1, 5, 6))
    assert check_history(ops, "register").verdict == "ok"


def test_indeterminate_write_may_not_take_effect() -> None:
    ops = ops_from((0, "write", None, 1, None, 0, None, "info"), (1, "read", None, None, None, 5, 6))
    assert check_history(ops, "register").verdict == "ok"


def test_indeterminate_write_cannot_be_undone() -> None:
    ops = ops_from(
        (0, "write", None, 1, None, 0, None, "info"),
        (1, "read", None, None, 1, 5, 6),
        (1, "read", None, None, None, 7, 8),
    )
    v = check_history(ops, "register")
    assert v.verdict == "violation"
    assert v.counterexample.blocked == 2


def test_indeterminate_read_constrains_nothing() -> None:
    ops = ops_from((0, "write", None, 1, None, 0, 1), (1, "read", None, None, 42, 2, None, "info"))
    assert all(v == "ok" for v in verdicts(ops, "register").values())


def test_indeterminate_cas_only_if_it_would_succeed() -> None:
    ops = ops_from(
        (0, "write", None, 1, None, 0, 1),
        (1, "cas", None, (2, 3), None, 2, None, "info"),
        (2, "read", None, None, 3, 4, 5),
    )
    assert check_history(ops, "register").verdict == "violation"


def test_definite_cas_failure_means_compare_failed() -> None:
    ok = ops_from((0, "write", None, 1, None, 0, 1), (1, "cas", None, (2, 3), None, 2, 3, "fail"))
    bad = ops_from((0, "write", None, 1, None, 0, 1), (1, "cas", None, (1, 3), None, 2, 3, "fail"))
    assert check_history(ok, "register").verdict == "ok"
    assert check_history(bad, "register").verdict == "violation"


def test_jepsen_timed_out_fail_is_indeterminate() -> None:
    log = "\n".join([
        "INFO  jepsen.util - 0\t:invoke\t:write\t1",
        "INFO  jepsen.util - 0\t:fail\t:write\t:timed-out",
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil",
        "INFO  jepsen.util - 0\t:ok\t:read\t1",
    ])
    h = parse_history(log)
    assert h[0].status == "info" and math.isinf(h[0].ret)
    assert check_history(h, "register").verdict == "ok"


def test_definite_write_failure_is_dropped() -> None:
    ops = ops_from((0, "write", None, 1, None, 0, 1, "fail"), (1, "read", None, None, None, 2, 3))
    assert check_history(ops, "register").verdict == "ok"


# --- budgets, API ------------------------------------------------------------


def test_budget_exhaustion_gives_unknown() -> None:
    # Many concurrent writes and impossible reads at the end: the search must
    # explore every subset before concluding, which a 1-state budget forbids.
    # (Repeated values and reads of written values: unique values or a value
    # nobody wrote would be decided without search.)
    rows = [(p, "write", None, p % 3, None, 0, 10) for p in range(12)] + [
        (99, "read", None, None, 1, 11, 12), (99, "read", None, None, 2, 13, 14)]
    v = check_history(ops_from(*rows), "register", budget=Budget(time_s=10, max_states=1))
    assert v.verdict == "unknown" and "budget" in (v.reason or "")


def test_unknown_names_are_rejected() -> None:
    ops = ops_from((0, "write", None, 1, None, 0, 1))
    with pytest.raises(ValueError, match="consistency"):
        check_history(ops, "register", "eventual")
    with pytest.raises(ValueError, match="model"):
        check_history(ops, "queue")
    with pytest.raises(ValueError, match="no function"):
        check_history(ops, "kv")


def test_to_json_is_plain() -> None:
    import json

    ops = seq([("put", "x", "1"), ("get", "x", "")])
    for c in ("linearizable", "sequential", "causal"):
        data = check_history(ops, "kv", c).to_json()
        assert data["verdict"] == "violation"
        json.dumps(data)


def test_check_history_accepts_a_path(tmp_path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(
        '{"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 0}\n'
        '{"process": 0, "type": "ok", "f": "write", "value": 1, "time": 1}\n'
    )
    assert check_history(path, "register").verdict == "ok"
