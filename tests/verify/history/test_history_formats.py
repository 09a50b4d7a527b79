"""Parsers: each format, auto-detection, round trips and clear errors."""

from __future__ import annotations

import math

import pytest

from wfsim.verify.history import HistoryFormatError, detect_format, dump_jsonl, load_history, parse_history

JEPSEN = """\
INFO  jepsen.core - some banner line that is not an operation
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:invoke\t:cas\t[3 0]
INFO  jepsen.util - 0\t:ok\t:read\t3
INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]
INFO  jepsen.util - 2\t:invoke\t:write\t4
INFO  jepsen.util - 2\t:info\t:write\t:timed-out
INFO  jepsen.util - 7   :invoke :write  1
"""

PORCUPINE = """\
{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}
"""

KNOSSOS = """[{:process 0 :type :invoke :f :write :value 1 :time 10}
 {:process 1, :type :invoke, :f :cas, :value [1 2], :time 11}
 {:process :nemesis :type :info :f :start :value nil :time 12}
 {:process 0 :type :ok :f :write :value 1 :time 13}
 {:process 1 :type :info :f :cas :value [1 2] :time 14}
 {:process 2 :type :invoke :f :read :value nil :time 15.5}
 {:process 2 :type :ok :f :read :value 2 :time 16}]
"""

JSONL = """\
{"process": 0, "type": "invoke", "f": "put", "key": "k", "value": "a", "time": 0.5}
{"process": "c1", "type": "invoke", "f": "get", "key": "k", "value": null, "time": 0.7}

{"process": 0, "type": "ok", "f": "put", "key": "k", "value": "a", "time": 1.0}
{"process": "c1", "type": "ok", "f": "get", "key": "k", "value": "a", "time": 2.0}
{"process": 0, "type": "invoke", "f": "append", "key": "k", "value": "b", "time": 3.0}
{"process": 0, "type": "fail", "f": "append", "key": "k", "value": "b", "time": 4.0}
"""


def test_jepsen_log() -> None:
    h = parse_history(JEPSEN, source="x.log")
    assert h.metadata["format"] == "jepsen"
    read, cas, write, pending = h.operations
    assert (read.f, read.output, read.status, read.call, read.ret) == ("read", 3, "ok", 0.0, 2.0)
    assert (cas.value, cas.status) == ((3, 0), "fail")
    assert write.status == "info" and math.isinf(write.ret)
    assert pending.process == 7 and pending.status == "info"  # never completed


def test_porcupine_edn() -> None:
    h = parse_history(PORCUPINE)
    assert h.metadata["format"] == "porcupine-edn"
    append, get = h.operations
    assert (append.f, append.key, append.value) == ("append", "0", "x 0 0 y")
    assert (get.f, get.output, get.value) == ("get", "x 0 0 y", None)


def test_knossos_edn_vector_with_times() -> None:
    h = parse_history(KNOSSOS)
    assert h.metadata["format"] == "edn"
    write, cas, read = h.operations
    assert (write.call, write.ret) == (10.0, 13.0)
    assert cas.value == (1, 2) and cas.status == "info"
    assert read.output == 2 and read.ret == 16.0


def test_jsonl_and_round_trip() -> None:
    h = parse_history(JSONL)
    assert h.metadata["format"] == "jsonl"
    _put, get, append = h.operations
    assert get.process == "c1" and get.output == "a" and (get.call, get.ret) == (0.7, 2.0)
    assert append.status == "fail"
    again = parse_history(dump_jsonl(h))
    assert again.operations == h.operations


def test_load_history_from_file(tmp_path) -> None:
    path = tmp_path / "h.edn"
    path.write_text(KNOSSOS)
    assert len(load_history(path)) == 3
    assert len(load_history(path, format="edn")) == 3


def test_detection_and_empty() -> None:
    assert detect_format(JEPSEN) == "jepsen"
    assert detect_format(PORCUPINE) == "porcupine-edn"
    assert detect_format(KNOSSOS) == "edn"
    assert detect_format(JSONL) == "jsonl"
    assert len(parse_history("  \n")) == 0


@pytest.mark.parametrize(
    ("text", "fmt", "line", "match"),
    [
        ('{"process": 0, "type": "invoke", "f": "read"}\n{"process": 0, "type": "ok"', "jsonl", 2, "JSON object"),
        ('{"process": 0, "f": "read"}\n', "jsonl", 1, "'type'"),
        ('{"process": 0, "type": "done", "f": "read"}\n', "jsonl", 1, "type: must be one of"),
        ('{"process": 0, "type": "ok", "f": "read", "value": 1}\n', "jsonl", 1, "without a pending invocation"),
        ('{"process": 0, "type": "invoke", "f": "read"}\n{"process": 0, "type": "invoke", "f": "read"}\n',
         "jsonl", 2, "has not completed"),
        ('{"process": 0, "type": "invoke", "f": "read"}\n{"process": 0, "type": "ok", "f": "write"}\n',
         "jsonl", 2, "f='write'"),
        ("INFO  jepsen.util - 0\t:invoke\n", "jepsen", 1, "jepsen.util"),
        ("INFO  jepsen.util - 0\t:invoke\t:cas\t7\nINFO  jepsen.util - 0\t:ok\t:cas\t7\n", "jepsen", 1, "pair"),
        ('{:process 0, :type :invoke, :f :get, :key "0", :value nil}\n{:process 0, :type :ok\n',
         "porcupine-edn", 2, "invalid EDN"),
        ('{:process 0, :type :invoke, :f :get}\n{:process 0, :f :get}\n', "porcupine-edn", 2, "'type'"),
        ('[{:process 0 :type :invoke :f :read}\n {:process 0 :type :ok :f :read "x}]', "edn", 2, "invalid EDN"),
        ('[{:process 0 :type :invoke :f :read}\n\n 42]', "edn", None, "operation map"),
        ("hello world\n", None, 1, "cannot detect"),
    ],
)
def test_bad_input(text: str, fmt: str | None, line: int | None, match: str) -> None:
    with pytest.raises(HistoryFormatError, match=match) as info:
        parse_history(text, fmt, source="bad.txt")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.source == "bad.txt" and str(err).startswith("bad.txt")
    if line is not None:
        assert err.line == line


def test_unknown_format_name() -> None:
    with pytest.raises(HistoryFormatError, match="unknown format"):
        parse_history("{}", "yaml")
