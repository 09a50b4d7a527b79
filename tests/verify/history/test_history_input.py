"""Trustworthy input: every reproduction of issue 9 item 1, and the value-equality rule.

Each test writes the input of one reported reproduction and checks that it now
gets a right verdict or a clean refusal naming file, line and field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from wfsim.verify.history import (
    Budget,
    HistoryFormatError,
    Operation,
    OperationError,
    check_history,
    dump_jsonl,
    load_history,
    parse_history,
)
from wfsim.verify.history.values import JsonBool, JsonMap, canonical, plain

LEVELS = ("linearizable", "sequential", "causal-cm", "causal-ccv")


def jsonl(*events: dict) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def ev(process: int, type_: str, f: str, value: object = None, time: float | None = None, **extra: object) -> dict:
    out = {"process": process, "type": type_, "f": f, "value": value, **extra}
    if time is not None:
        out["time"] = time
    return out


def verdicts(text: str, model: str = "register") -> dict[str, str]:
    history = parse_history(text)
    return {level: check_history(history, model, level).verdict for level in LEVELS}


# A monotonic-reads violation: p1 reads 1, then the initial value again.
MONOTONIC_READS = [
    ev(0, "invoke", "write", 1, 0), ev(0, "ok", "write", 1, 1),
    ev(1, "invoke", "read", None, 2), ev(1, "ok", "read", 1, 3),
    ev(1, "invoke", "read", None, 4), ev(1, "ok", "read", None, 5),
]


def test_monotonic_reads_violation_is_a_violation_at_every_level() -> None:
    assert set(verdicts(jsonl(*MONOTONIC_READS)).values()) == {"violation"}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_time_is_refused(bad: float) -> None:
    # It used to make linearizability and sequential consistency answer ok on the
    # violation above, while the causal check said violation.
    events = [dict(e) for e in MONOTONIC_READS]
    events[3]["time"] = bad
    with pytest.raises(HistoryFormatError, match="not a JSON number") as info:
        parse_history(jsonl(*events), source="h.jsonl")
    assert info.value.line == 4


def test_a_non_finite_edn_time_is_refused() -> None:
    text = ("[{:process 0 :type :invoke :f :write :value 1 :time 0}\n"
            " {:process 0 :type :ok :f :write :value 1 :time ##NaN}]")
    with pytest.raises(HistoryFormatError, match="finite") as info:
        parse_history(text)
    assert (info.value.line, info.value.field) == (2, "time")


def test_true_is_not_1() -> None:
    text = jsonl(ev(0, "invoke", "write", True), ev(0, "ok", "write", True),
                 ev(1, "invoke", "read"), ev(1, "ok", "read", 1))
    assert set(verdicts(text).values()) == {"violation"}


def test_a_return_before_its_invocation_is_refused() -> None:
    text = jsonl(ev(0, "invoke", "write", 1, 5), ev(0, "ok", "write", 1, 4))
    with pytest.raises(HistoryFormatError, match="before its invocation") as info:
        parse_history(text, source="h.jsonl")
    assert (info.value.line, info.value.field) == (2, "time")
    assert str(info.value).startswith("h.jsonl:2: time: ")
    with pytest.raises(OperationError, match="not at or after the call"):
        Operation(0, 0, "write", None, 1, None, 5.0, 4.0)


def test_a_process_going_back_in_time_is_refused() -> None:
    text = jsonl(ev(0, "invoke", "write", 1, 0), ev(0, "ok", "write", 1, 5), ev(0, "invoke", "read", None, 3))
    with pytest.raises(HistoryFormatError, match="previous event of process 0") as info:
        parse_history(text)
    assert info.value.line == 3


def test_a_process_invoking_at_its_previous_return_time_is_refused() -> None:
    # Found by the perturbation test: p0 reads true, then writes true at the time
    # the read returned. Equal times made the two concurrent, so the write could be
    # ordered first and every level answered ok.
    text = jsonl(ev(0, "invoke", "read", None, 0), ev(0, "ok", "read", True, 1),
                 ev(0, "invoke", "write", True, 1), ev(0, "ok", "write", True, 1))
    for level in LEVELS:
        with pytest.raises(HistoryFormatError, match="strictly after its previous return") as info:
            check_history(parse_history(text), "register", level)
        assert (info.value.line, info.value.field) == (3, "time")
    # The same from operations built in memory, and operations of one process overlapping.
    ops = [Operation(0, 0, "read", None, None, True, 0.0, 1.0), Operation(1, 0, "write", None, True, None, 1.0, 1.0)]
    with pytest.raises(HistoryFormatError, match="operation 0"):
        check_history(ops)
    overlapping = [ops[0], Operation(1, 0, "write", None, True, None, 0.5, 2.0)]
    with pytest.raises(HistoryFormatError, match="strictly after"):
        check_history(overlapping)
    # After an indeterminate operation the process may go on at once.
    after_info = [Operation(0, 0, "write", None, 1, None, 0.0, math.inf, "info"),
                  Operation(1, 0, "read", None, None, 1, 0.0, 1.0)]
    assert check_history(after_info).verdict == "ok"
    events = json.loads("[" + text.replace("\n", ",")[:-1] + "]")
    untimed = jsonl(*({k: v for k, v in e.items() if k != "time"} for e in events))
    assert set(verdicts(untimed).values()) == {"violation"}


def test_time_on_only_some_lines_is_refused() -> None:
    # It used to drop every time silently, checking the line order instead.
    events = [dict(e) for e in MONOTONIC_READS]
    del events[4]["time"]
    with pytest.raises(HistoryFormatError, match="line 1 has one") as info:
        parse_history(jsonl(*events))
    assert (info.value.line, info.value.field) == (5, "time")


def test_a_forced_format_that_reads_nothing_is_refused(tmp_path: Path) -> None:
    # --format jepsen on a JSONL file used to check zero operations and answer ok.
    path = tmp_path / "violation.jsonl"
    path.write_text(jsonl(*MONOTONIC_READS))
    with pytest.raises(HistoryFormatError, match="looks like 'jsonl'") as info:
        check_history(path, "register", format="jepsen")
    assert info.value.field == "format"
    assert check_history(path, "register", format="jsonl").verdict == "violation"


@pytest.mark.parametrize("text", [
    "",
    "\n\n",
    "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\nINFO  jepsen.util - :nemesis\t:info\t:start\t[:isolated]\n",
    "[{:process :nemesis :type :info :f :start :value nil}]",
])
def test_no_operation_is_never_ok(tmp_path: Path, text: str) -> None:
    path = tmp_path / "h.log"
    path.write_text(text)
    for level in LEVELS:
        with pytest.raises(HistoryFormatError, match="no operation to check"):
            check_history(path, "register", level)
    with pytest.raises(HistoryFormatError, match="no operation"):
        check_history([], "kv")


def test_a_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(*MONOTONIC_READS).encode())
    assert check_history(path).verdict == "violation"
    assert parse_history("\ufeff" + jsonl(*MONOTONIC_READS)).metadata["format"] == "jsonl"


def test_list_and_map_values_compare_as_json() -> None:
    written = {"a": [1, None], "b": True}
    same = {"b": True, "a": [1.0, None]}  # member order and 1 vs 1.0 do not matter
    other = {"a": [1, None], "b": 1}  # true is not 1
    ok = jsonl(ev(0, "invoke", "write", written), ev(0, "ok", "write", written),
               ev(1, "invoke", "read"), ev(1, "ok", "read", same))
    bad = jsonl(ev(0, "invoke", "write", written), ev(0, "ok", "write", written),
                ev(1, "invoke", "read"), ev(1, "ok", "read", other))
    assert set(verdicts(ok).values()) == {"ok"}
    assert set(verdicts(bad).values()) == {"violation"}


def test_kv_refuses_values_that_are_not_strings_naming_the_line() -> None:
    put = jsonl(ev(0, "invoke", "put", ["a"], key="x"), ev(0, "ok", "put", ["a"], key="x"))
    with pytest.raises(HistoryFormatError, match="put needs a string value") as info:
        check_history(parse_history(put, source="kv.jsonl"), "kv")
    assert str(info.value).startswith("kv.jsonl:1: value: ")
    get = jsonl(ev(0, "invoke", "get", key="x"), ev(0, "ok", "get", 1, key="x"))
    with pytest.raises(HistoryFormatError, match="get returns a string") as info:
        check_history(parse_history(get, source="kv.jsonl"), "kv")
    assert (info.value.line, info.value.field) == (2, "output")


def test_a_completion_reporting_another_input_is_refused() -> None:
    text = jsonl(ev(0, "invoke", "write", 1), ev(0, "ok", "write", True))
    with pytest.raises(HistoryFormatError, match="completion has true") as info:
        parse_history(text)
    assert (info.value.line, info.value.field) == (2, "value")


@pytest.mark.parametrize(("text", "match"), [
    ('{"process": 0, "type": "invoke", "f": "write", "value": ' + "[" * 5000 + "]" * 5000 + "}\n", "nested too deeply"),
    ('{"process": 0, "type": "invoke", "f": "write", "value": ' + "[" * 80 + "]" * 80 + "}\n", "nested deeper"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 1' + "0" * 400 + "}\n", "finite"),
    ('{"process": [0], "type": "invoke", "f": "write"}\n', "process: must be an int or a string"),
    ('{"process": true, "type": "invoke", "f": "write"}\n', "process: must be an int or a string"),
    ('{"process": 0, "type": "invoke", "f": "write", "time": true}\n', "time: must be a number"),
    ('{:process 0 :type :invoke :f :write :value #inst "1985-04-12T23:20:50.52Z"}\n',
     "value: .* is not a JSON value"),
    ('{"process": 0, "type": "invoke", "f": "write", "value": 1.5e400}\n', "value: 1.5E[+]400 is beyond the range"),
    ('{"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 1.5e400}\n', "time: must be a finite"),
    ('{"process": 0, "type": "invoke", "f": "write", "value": 1, "value": 2}\n', "'value' appears twice"),
])
def test_malformed_values_are_clean_errors(text: str, match: str) -> None:
    with pytest.raises(HistoryFormatError, match=match) as info:
        parse_history(text, source="x")
    assert "\n" not in str(info.value)


def test_a_directory_is_an_os_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        load_history(tmp_path)


def test_parsing_counts_against_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    events = []
    for i in range(3000):
        events += [ev(i % 4, "invoke", "write", i), ev(i % 4, "ok", "write", i)]
    path.write_text(jsonl(*events))
    verdict = check_history(path, "register", budget=Budget(time_s=1e-6))
    assert verdict.verdict == "unknown" and "while parsing" in (verdict.reason or "")
    assert check_history(path, "register", budget=Budget(time_s=60)).verdict == "ok"


# --- the value-equality rule ---------------------------------------------------


@pytest.mark.parametrize(("a", "b", "equal"), [
    (True, 1, False), (False, 0, False), (False, None, False), (1, "1", False), ("", None, False),
    (1, 1.0, True), (0, -0.0, True), (10**20, 1e20, True), (2**53 + 1, float(2**53), False),
    ([1, 2], [1.0, 2], True), ([1, 2], [2, 1], False), ([1], {"0": 1}, False), ([], {}, False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True), ({"a": True}, {"a": 1}, False), ([True], [1], False),
])
def test_values_are_equal_exactly_when_json_equal(a: object, b: object, equal: bool) -> None:
    ca, cb = canonical(a), canonical(b)
    assert (ca == cb) is equal and (cb == ca) is equal
    if equal:
        assert hash(ca) == hash(cb)


@pytest.mark.parametrize("value", [True, False, [1, [True, None]], {"a": [1.5, "x"], "b": {}}, "s", None, 3])
def test_output_prints_the_original_json_value(value: object) -> None:
    op = Operation(0, 0, "write", None, value, None, 0.0, 1.0)
    assert op.to_json()["value"] == value and type(op.to_json()["value"]) is type(value)
    assert json.loads(json.dumps(plain(op.value))) == value
    assert parse_history(dump_jsonl([op])).operations == [op]


def test_canonical_is_idempotent_and_typed() -> None:
    value = canonical({"k": [True, {"x": None}]})
    assert isinstance(value, JsonMap) and canonical(value) is value
    assert canonical(True) == JsonBool(True) != JsonBool(False)
    with pytest.raises(ValueError, match="not a JSON number"):
        canonical(math.nan)


def test_counterexamples_print_json_values() -> None:
    text = jsonl(ev(0, "invoke", "write", True), ev(0, "ok", "write", True),
                 ev(1, "invoke", "read"), ev(1, "ok", "read", {"a": [1]}))
    cex = check_history(parse_history(text)).to_json()["counterexample"]
    assert cex["state"] is True
    assert cex["operations"]["1"]["output"] == {"a": [1]} and cex["operations"]["1"]["line"] == 3
    assert cex["operations"]["0"]["text"] == "p0 write(true)"


# --- review 9 -----------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_duplicate_operation_ids_are_refused(level: str) -> None:
    # The checkers key their tables by id: with ids 0, 0, 0 this history, which
    # is sequentially consistent (p0's get may be ordered before p1's put), was
    # answered "violation".
    def ops(ids: list[int]) -> list[Operation]:
        return [
            Operation(ids[0], 0, "put", "x", "a", None, 3.0, 5.0),
            Operation(ids[1], 1, "put", "y", "b", None, 0.0, 0.0),
            Operation(ids[2], 0, "get", "y", None, "", 6.0, 6.0),
        ]

    assert check_history(ops([0, 1, 2]), "kv", "sequential").verdict == "ok"
    for ids in ([0, 0, 0], [0, 1, 0], [5, 7, 7]):
        with pytest.raises(HistoryFormatError, match=rf"id: two operations have id {ids[2]}\b"):
            check_history(ops(ids), "kv", level)


TIMED_OUT_EDN = [
    "{:process 0, :type :invoke, :f :write, :value 1}",
    "{:process 0, :type :fail, :f :write, :value :timed-out}",
    "{:process 1, :type :invoke, :f :read, :value nil}",
    "{:process 1, :type :ok, :f :read, :value 1}",
]


@pytest.mark.parametrize("level", LEVELS)
def test_a_timed_out_edn_failure_is_indeterminate_wrapped_or_not(level: str) -> None:
    # Jepsen's history.edn (one map per line, read as porcupine-edn) answered
    # "violation" where the same maps in a vector answered "ok": a timed-out
    # write may have taken effect, so the read of 1 is explained.
    per_line = "\n".join(TIMED_OUT_EDN) + "\n"
    wrapped = "[\n" + per_line + "]\n"
    a, b = parse_history(per_line), parse_history(wrapped)
    assert (a.metadata["format"], b.metadata["format"]) == ("porcupine-edn", "edn")
    assert [op.status for op in a] == [op.status for op in b] == ["info", "ok"]
    assert check_history(a, "register", level).verdict == check_history(b, "register", level).verdict == "ok"
    # A definite failure (any other value) still did not take effect, in both forms.
    definite = per_line.replace(":timed-out", ":error")
    for text in (definite, "[" + definite + "]"):
        assert check_history(parse_history(text), "register", level).verdict == "violation"


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\u0085", "\x1c", "\x1d", "\x1e"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_lines_end_at_newline_only(tmp_path: Path, sep: str, newline: str) -> None:
    # str.splitlines() also broke lines at these characters, so valid JSON strings
    # containing them were refused, and error line numbers shifted.
    value = f"a{sep}b"
    events = [
        ev(0, "invoke", "put", value, key="k"), ev(0, "ok", "put", key="k"),
        ev(1, "invoke", "get", key="k"), ev(1, "ok", "get", value, key="k"),
    ]
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    text = newline.join(lines) + newline
    if sep in "\x1c\x1d\x1e":  # control characters must be escaped inside JSON strings
        text = text.replace(sep, json.dumps(sep)[1:-1])
    history = parse_history(text)
    assert [op.value for op in history] == [value, None] and history.operations[1].output == value
    assert check_history(history, "kv").verdict == "ok"
    # A bad line after them is reported at its own line number.
    path = tmp_path / "h.jsonl"
    path.write_text(text + '{"process": 2}' + newline, encoding="utf-8", newline="")
    with pytest.raises(HistoryFormatError, match=r"h\.jsonl:5: missing required field 'type'"):
        load_history(path)


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\u0085"])
def test_jepsen_and_edn_lines_end_at_newline_only(sep: str) -> None:
    jepsen = (
        f"INFO  jepsen.util - 0\t:invoke\t:write\t\"a{sep}b\"\n"
        f"INFO  jepsen.util - 0\t:ok\t:write\t\"a{sep}b\"\r\n"
        "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
        f"INFO  jepsen.util - 1\t:ok\t:read\t\"a{sep}b\"\n"
    )
    edn = (
        f'{{:process 0, :type :invoke, :f :write, :value "a{sep}b"}}\n'
        f'{{:process 0, :type :ok, :f :write, :value "a{sep}b"}}\n'  # (the EDN reader refuses \r)
        "{:process 1, :type :invoke, :f :read, :value nil}\n"
        f'{{:process 1, :type :ok, :f :read, :value "a{sep}b"}}\n'
    )
    for text, fmt in ((jepsen, "jepsen"), (edn, "porcupine-edn")):
        history = parse_history(text)
        assert history.metadata["format"] == fmt
        assert [op.line for op in history] == [1, 3]
        assert check_history(history).verdict == "ok"
    with pytest.raises(HistoryFormatError, match=r"<string>:5: .*'type'"):
        parse_history(edn + "{:process 2, :f :read}\n")


EPOCH_NS = 1733350000000000000  # 2024-12-04 in nanoseconds: far beyond 2**53


def write_then_read(times: list[object], read: object = None) -> str:
    return jsonl(
        ev(0, "invoke", "write", 1, times[0]), ev(0, "ok", "write", 1, times[1]),
        ev(1, "invoke", "read", None, times[2]), ev(1, "ok", "read", read, times[3]),
    )


@pytest.mark.parametrize("origin", [EPOCH_NS, 2**53 - 1, 2**63, 10**30])
def test_integer_times_beyond_2_53_keep_their_order(origin: int) -> None:
    # Every time used to become a float: T..T+3 all became the same float, the
    # write and the read overlapped, and reading the initial value after the
    # write returned was answered ok.
    small = verdicts(write_then_read([0, 1, 2, 3]))
    assert small["linearizable"] == "violation"
    history = parse_history(write_then_read([origin + i for i in range(4)]))
    assert [(op.call, op.ret) for op in history] == [(0.0, 1.0), (2.0, 3.0)]
    assert history.metadata["time_origin"] == origin
    for level in LEVELS:
        verdict = check_history(history, "register", level)
        assert verdict.verdict == small[level]
        assert verdict.details["time_origin"] == origin


def test_epoch_nanoseconds_of_one_process_are_not_refused() -> None:
    # T, T+10, T+20 collapsed to one float and the second operation was refused
    # as invoked at its predecessor's return time.
    text = jsonl(
        ev(0, "invoke", "write", 1, EPOCH_NS), ev(0, "ok", "write", 1, EPOCH_NS + 10),
        ev(0, "invoke", "read", None, EPOCH_NS + 20), ev(0, "ok", "read", 1, EPOCH_NS + 30),
    )
    assert set(verdicts(text).values()) == {"ok"}
    # ...while equal times are still refused, with the times as written.
    text = text.replace(str(EPOCH_NS + 20), str(EPOCH_NS + 10))
    with pytest.raises(HistoryFormatError, match="invokes strictly after") as err:
        check_history(parse_history(text))
    assert f"counted from the earliest, {EPOCH_NS}" in str(err.value)
    back = text.replace(str(EPOCH_NS + 30), str(EPOCH_NS + 5))
    with pytest.raises(HistoryFormatError, match=rf"<string>:4: time: {EPOCH_NS + 5} is before its invocation at "
                                                 rf"{EPOCH_NS + 10} \(line 3\)"):
        parse_history(back)


def test_edn_epoch_nanosecond_times_keep_their_order() -> None:
    text = (
        f"{{:process 0, :type :invoke, :f :write, :value 1, :time {EPOCH_NS}}}\n"
        f"{{:process 0, :type :ok, :f :write, :value 1, :time {EPOCH_NS + 1}}}\n"
        f"{{:process 1, :type :invoke, :f :read, :value nil, :time {EPOCH_NS + 2}}}\n"
        f"{{:process 1, :type :ok, :f :read, :value nil, :time {EPOCH_NS + 3}}}\n"
    )
    for t in (text, "[" + text + "]"):
        assert check_history(parse_history(t)).verdict == "violation"


def test_times_no_double_can_order_are_refused(tmp_path: Path) -> None:
    # Counted from 0.5, EPOCH_NS and EPOCH_NS + 1 are still the same double.
    path = tmp_path / "h.jsonl"
    path.write_text(write_then_read([EPOCH_NS, EPOCH_NS + 1, 0.5, EPOCH_NS + 3]))
    with pytest.raises(HistoryFormatError, match=rf"h\.jsonl:2: time: {EPOCH_NS + 1} and {EPOCH_NS} \(line 1\) "
                                                 r"are different times .* earliest time, 0\.5 \(line 3\)"):
        load_history(path)


def test_times_floats_hold_exactly_are_not_rebased() -> None:
    for times in ([0.0, 1.5, 2.25, 3], [2**53, 2**53 + 2, 2**60, 2**60 + 256], [-1e308, 0, 1e308, 1.5e308]):
        history = parse_history(write_then_read(times))
        assert "time_origin" not in history.metadata
        assert [(op.call, op.ret) for op in history] == [(times[0], times[1]), (times[2], times[3])]


@pytest.mark.parametrize(("written", "read", "equal"), [
    ("10000000000000000000000000", "1e25", True),  # was a violation: 1e25 became a double
    ("9007199254740992", "9007199254740993.0", False),  # was ok: 2**53 + 1 became 2**53
    ("0.1", "0.10000000000000000001", False),
    ("0.1", "1e-1", True), ("2", "2.000", True), ("1e-400", "0", False), ("1E2", "100", True),
])
def test_json_numbers_compare_exactly_as_written(written: str, read: str, equal: bool) -> None:
    def text(value: str) -> str:
        return (
            f'{{"process":0,"type":"invoke","f":"write","value":{written},"time":0}}\n'
            '{"process":0,"type":"ok","f":"write","time":1}\n'
            '{"process":1,"type":"invoke","f":"read","time":2}\n'
            f'{{"process":1,"type":"ok","f":"read","value":{value},"time":3}}\n'
        )
    expected = verdicts(text(written))
    assert set(expected.values()) == {"ok"}
    assert verdicts(text(read)) == (expected if equal else verdicts(text('"something else"')))


def test_exact_numbers_are_canonical_and_print_as_json() -> None:
    from decimal import Decimal

    assert canonical(Decimal("1e25")) == 10**25 and type(canonical(Decimal("1e25"))) is int
    assert type(canonical(Decimal("1.5"))) is float and canonical(Decimal("0.1")) != 0.1
    assert hash(canonical(Decimal("0.10"))) == hash(canonical(Decimal("0.1")))
    tenth = canonical(Decimal("0.1"))
    assert canonical(tenth) is tenth and plain(tenth) == 0.1
    with pytest.raises(ValueError, match="not a JSON number"):
        canonical(Decimal("NaN"))
    # Descriptions print the value as written (JSON fields: the nearest double).
    text = (
        '{"process":0,"type":"invoke","f":"write","value":0.30000000000000000001}\n'
        '{"process":0,"type":"ok","f":"write"}\n'
        '{"process":1,"type":"invoke","f":"read"}\n'
        '{"process":1,"type":"ok","f":"read","value":0.3}\n'
    )
    verdict = check_history(parse_history(text))
    assert verdict.verdict == "violation"
    out = verdict.to_json()["counterexample"]["operations"]
    assert out["0"]["text"] == "p0 write(0.30000000000000000001)" and out["0"]["value"] == 0.3


def test_edn_floats_are_doubles_as_the_edn_specification_says() -> None:
    def text(value: str) -> str:
        return (
            "{:process 0, :type :invoke, :f :write, :value 9007199254740992}\n"
            "{:process 0, :type :ok, :f :write, :value 9007199254740992}\n"
            "{:process 1, :type :invoke, :f :read, :value nil}\n"
            f"{{:process 1, :type :ok, :f :read, :value {value}}}\n"
        )
    assert check_history(parse_history(text("9007199254740993.0"))).verdict == "ok"
    assert check_history(parse_history(text("9007199254740993.0M"))).verdict == "violation"


def test_decimal_times_keep_their_order() -> None:
    # Epoch seconds with nanoseconds: four different times, one double.
    times = [f"1733350000.00000000{i}" for i in range(4)]
    lines = write_then_read(["TIME"] * 4).splitlines()
    text = "".join(line.replace('"TIME"', t) + "\n" for line, t in zip(lines, times))
    history = parse_history(text)
    assert str(history.metadata["time_origin"]) == times[0]
    assert check_history(history).details["time_origin"] == times[0]
    assert verdicts(text) == verdicts(write_then_read([0, 1, 2, 3]))
