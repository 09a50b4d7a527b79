"""A run's ``operations`` as a history (from_trace), and the EDN and JSONL writers
read back by the project's own readers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.verify.history import History, Operation, check_history, dump_edn, dump_jsonl, from_trace
from wfsim.verify.history.formats import load_history, parse_edn, parse_jsonl

from reference_data import HISTORY_SETS, params
from state_tables_support import op, with_state


def test_each_attempt_becomes_an_operation_of_its_client() -> None:
    trace = with_state(operations=[
        op(1, "w/a", "write", "k", 0.0, 0.1),
        op(2, "client0", "read", "k", 0.2, 0.3, 1),
        op(3, "client0", "write", "k", 0.4, 0.6, outcome="unknown"),
        op(4, "client0", "write", "k", 0.6, 0.7, level="Sequential", requested="Linearizable", request=3,
           attempt=1),
        op(5, "w/a", "read", "j", 0.5, 0.55, outcome="fail"),
        op(6, "w/a", "read", "j", 0.8, 0.9, None),
    ])
    history = from_trace(trace)
    got = {o.id: o for o in history}
    assert [o.id for o in history] == [1, 2, 3, 5, 4, 6]  # call order
    assert got[1] == Operation(1, "w/a", "write", "k", 1, None, 0.0, 0.1, "ok")
    assert got[2].output == 1 and got[2].value is None and got[2].process == "client0"
    assert got[3].status == "info" and got[3].ret == math.inf  # may have taken effect, any time after its call
    assert got[5].status == "fail" and got[5].output is None
    assert got[6].output is None and got[6].status == "ok"  # JSON null: the key had no value
    # the level served (any case), with the copy of the write acknowledged above it:
    # it may take effect there any time after its acknowledgement
    sequential = from_trace(trace, "sequential")
    assert [o.id for o in sequential] == [1, 4]
    assert sequential[0] == Operation(1, "cascade/1", "write", "k", 1, None, 0.1, math.inf, "info")
    assert [o.id for o in from_trace(trace, keys=["j"])] == [5, 6]
    with pytest.raises(ValueError, match="consistency level"):
        from_trace(trace, "Strong")


def test_a_call_at_the_previous_return_keeps_its_program_order() -> None:
    # A local read answering at once: the next call is at the same instant. Moved one
    # double later, the read is after the write, which it missed: not linearizable.
    rows = [op(1, "a", "write", "k", 0.0, 1.0), op(2, "a", "read", "k", 1.0, 1.0, None)]
    history = from_trace(with_state(operations=rows))
    assert history[1].call == math.nextafter(1.0, math.inf) and history[1].ret == history[1].call
    assert check_history(history, consistency="linearizable").verdict == "violation"
    assert check_history(history, consistency="sequential").verdict == "violation"
    # The same read invoked before the write returned is concurrent with it: fine.
    early = from_trace(with_state(operations=[op(1, "a", "write", "k", 0.0, 1.0),
                                              op(2, "b", "read", "k", 0.5, 1.0, None)]))
    assert check_history(early).verdict == "ok"


def test_keys_read_as_lists_are_no_registers_and_are_left_out() -> None:
    trace = with_state(operations=[
        op(1, "a", "write", "s", 0.0, 0.1, level="Eventual"),
        op(2, "b", "write", "s", 0.0, 0.1, level="Eventual"),
        op(3, "a", "read", "s", 0.2, 0.3, [1, 2], level="Eventual"),
        op(4, "a", "write", "k", 0.4, 0.5, level="Eventual"),
    ])
    history = from_trace(trace)
    assert [o.id for o in history] == [4]
    assert history.metadata["excluded_keys"] == ["s"] and history.metadata["excluded"] == 3


def test_a_run_history_exports_and_reads_back_in_both_formats() -> None:
    # A timed-out attempt followed by its downgrade from the same client: the writers
    # close it with an info completion so that the readers pair it.
    trace = with_state(operations=[
        op(1, "a", "write", "k", 0.0, 0.5, outcome="unknown"),
        op(2, "a", "write", "k", 0.5, 0.6, level="Sequential", requested="Linearizable", request=1, attempt=1),
        op(3, "b", "read", "k", 0.55, 0.7, 2, level="Sequential"),
    ])
    history = from_trace(trace)
    for back in (parse_jsonl(dump_jsonl(history)), parse_edn(dump_edn(history))):
        assert [(o.process, o.f, o.value, o.output, o.status) for o in back] == [
            (o.process, o.f, o.value, o.output, o.status) for o in history]
        assert _order(back) == _order(history)


def _order(history: History) -> set[tuple[int, int]]:
    """Real-time order by position: ``(i, j)`` when operation i returned before j was called."""
    ops = list(history)
    return {(i, j) for i, a in enumerate(ops) for j, b in enumerate(ops) if a.ret < b.call}


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=5),
                   st.lists(st.integers(0, 9), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                            max_size=2))


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Small histories of a few processes, one operation at a time each."""
    ops, clock = [], {}
    for k in range(draw(st.integers(1, 12))):
        process = draw(st.sampled_from([0, 1, "c/2"]))
        call = clock.get(process, 0.0) + draw(st.sampled_from([0.001, 0.25, 1.0, 1e-7]))
        status = draw(st.sampled_from(["ok", "ok", "fail", "info"]))
        ret = math.inf if status == "info" else call + draw(st.sampled_from([0.0, 0.3, 2.0]))
        f = draw(st.sampled_from(["read", "write"]))
        value = draw(VALUES) if f == "write" else None
        output = draw(VALUES) if f == "read" and status == "ok" else None
        ops.append(Operation(k, process, f, draw(st.sampled_from(["x", "y z"])), value, output, call, ret, status))
        clock[process] = call if status == "info" else ret
    return History(ops)


@settings(max_examples=60, deadline=None)
@given(histories())
def test_edn_and_jsonl_round_trip(history: History) -> None:
    for back in (parse_edn(dump_edn(history)), parse_jsonl(dump_jsonl(history)), parse_edn(dump_edn(history, None))):
        assert [(o.process, o.f, o.key, o.value, o.output, o.status) for o in back] == [
            (o.process, o.f, o.key, o.value, o.output, o.status) for o in sorted(history, key=lambda o: (o.call, o.id))]
        assert _order(back) == _order(History(sorted(history, key=lambda o: (o.call, o.id))))


def test_edn_times_are_integer_nanoseconds_that_keep_every_order() -> None:
    # 1e-10 s apart: one nanosecond each after rounding, never equal.
    ops = [Operation(0, 0, "write", None, 1, None, 1.0, 1.0 + 1e-10, "ok"),
           Operation(1, 1, "read", None, None, 1, 1.0 + 2e-10, 1.5, "ok")]
    text = dump_edn(History(ops))
    assert ":time 1000000000}" in text and ":time 1000000001}" in text and ":time 1000000002}" in text
    assert text.startswith("[{:index 0, :type :invoke, :f :write, :process 0, :value 1, :time 1000000000}")
    assert check_history(parse_edn(text)).verdict == "ok"


@pytest.mark.parametrize(("data", "folder", "name", "model"), params(
    [(data, (data.kv, name, "kv")) for data in HISTORY_SETS for name in data.kv_names[:4]]
    + [(data, (data.register, name, "register")) for data in HISTORY_SETS
       for name in sorted(data.verdicts(data.register))[:3]]))
def test_reference_histories_survive_an_edn_round_trip(data, folder: str, name: str, model: str) -> None:
    original = load_history(data.root / folder / name)
    back = parse_edn(dump_edn(original))
    assert [(o.process, o.f, o.key, o.value, o.output, o.status) for o in back] == [
        (o.process, o.f, o.key, o.value, o.output, o.status) for o in sorted(original, key=lambda o: (o.call, o.id))]
    assert check_history(back, model, budget=20).verdict == check_history(original, model, budget=20).verdict
