"""No wrong verdict on anything accepted: perturbed history files through the command line.

Hypothesis plans a small history, writes it as a file in one of the formats, and
perturbs it: value types (``true`` next to ``1`` and ``"1"``, lists, maps, ``1``
written as ``1.0``), times (absent, ``NaN``, backwards, on only some events),
encodings (BOM, CRLF, invalid UTF-8, truncation) and formats (forced right or
wrong). ``wfsim check-history`` must then either refuse the file cleanly (exit 2,
one ``wfsim: error: FILE…`` line, no traceback) or answer what the brute-force
oracle of :mod:`test_history_properties` answers on the history as planned: the
oracle never sees what the parser made of the file. Perturbations that keep the
file valid must be accepted, and those that make it invalid must be refused.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wfsim.cli import main

from test_history_properties import brute_ccv, brute_cm, brute_linearizable, brute_sequential

LEVELS = ("linearizable", "sequential", "causal-cm", "causal-ccv")

# Values the generator writes, in classes of JSON-equal renderings: the same class
# may be written differently at each occurrence, and the classes include
# look-alikes (true / 1 / "1", [] / {}) that must never be confused.
REGISTER_CLASSES: list[list[Any]] = [
    [0, 0.0, -0.0],
    [1, 1.0],
    [True],
    [False],
    ["1"],
    [""],
    [[1, None], [1.0, None]],
    [{"a": 1, "b": [True]}, {"b": [True], "a": 1.0}],
    [[]],
    [{}],
]


# kv keys, in classes of JSON-equal renderings like REGISTER_CLASSES.
KV_KEY_CLASSES: list[list[Any]] = [["x"], ["y"], [1, 1.0], ["1"], [True], [[1], [1.0]]]


@dataclass(frozen=True)
class Planned:
    """One operation as the generator means it (JSON values, integer times)."""

    process: int
    f: str
    key: Any
    value: Any
    output: Any
    status: str
    call: int
    ret: int


@dataclass(frozen=True)
class Spec:
    """What the oracle checks: the attributes it reads from an operation."""

    id: int
    process: int
    f: str
    key: Any
    value: Any
    output: Any
    call: float
    ret: float
    status: str


def oracle_value(value: Any) -> Any:
    """JSON equality written independently of the checker: a tagged, hashable key.

    ``null`` stays ``None`` (the register's initial value).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", Fraction(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(oracle_value(v) for v in value))
    return ("object", frozenset((k, oracle_value(v)) for k, v in value.items()))


# ---------------------------------------------------------------------------
# planning


@st.composite
def planned_histories(draw: st.DrawFn, model: str) -> list[Planned]:
    n = draw(st.integers(1, 5))
    nproc = draw(st.integers(1, 3))
    if model == "register":
        classes = draw(st.lists(st.sampled_from(REGISTER_CLASSES), min_size=1, max_size=3, unique_by=id))

        def value() -> Any:
            return draw(st.sampled_from(draw(st.sampled_from(classes))))
    else:
        def value() -> Any:
            return draw(st.sampled_from(["a", "b"]))
    clock = [0] * nproc
    ops = []
    for _ in range(n):
        p = draw(st.integers(0, nproc - 1))
        call = clock[p] + draw(st.integers(0, 2))
        ret = call + draw(st.integers(0, 3))
        clock[p] = ret + 1  # a process invokes strictly after its previous return
        key = None if model == "register" else draw(st.sampled_from(draw(st.sampled_from(KV_KEY_CLASSES))))
        f = draw(st.sampled_from(["read", "write", "cas"] if model == "register" else ["get", "put", "append"]))
        val, out = None, None
        if f == "read":
            out = value() if draw(st.booleans()) else None
        elif f == "get":
            out = draw(st.sampled_from(["", "a", "b", "ab", "ba"]))
        elif f == "cas":
            val = [value(), value()]
        else:
            val = value()
        status = draw(st.sampled_from(["ok"] * 5 + ["info", "fail"]))
        ops.append(Planned(p, f, key, val, out, status, call, ret))
    return ops


def events_of(ops: list[Planned]) -> list[tuple[int, dict[str, Any]]]:
    """Invocations and completions in time order: ``(op index, event)``."""
    rows = []
    for i, op in enumerate(ops):
        base = {"process": op.process, "f": op.f, "key": op.key}
        rows.append((op.call, 0, i, {**base, "type": "invoke", "value": op.value, "time": op.call}))
        out = op.output if op.f in ("read", "get") else op.value
        rows.append((op.ret, 1, i, {**base, "type": op.status, "value": out, "time": op.ret}))
    # At equal times a process's own events keep their order (invoke, then complete).
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    return [(i, e) for _, _, i, e in rows]


def specs_of(ops: list[Planned], events: list[tuple[int, dict[str, Any]]], timed: bool) -> list[Spec]:
    """The oracle's view: untimed files are ordered by event position."""
    position: dict[tuple[int, str], int] = {}
    for n, (i, e) in enumerate(events):
        position[(i, "call" if e["type"] == "invoke" else "ret")] = n
    specs = []
    for i, op in enumerate(ops):
        call, ret = (op.call, op.ret) if timed else (position[(i, "call")], position[(i, "ret")])
        if op.f == "cas":
            value = tuple(oracle_value(v) for v in op.value)
        elif op.f in ("put", "append"):
            value = op.value  # kv values are strings: the oracle appends them
        else:
            value = oracle_value(op.value)
        output = op.output if op.f == "get" else oracle_value(op.output)
        specs.append(Spec(i, op.process, op.f, oracle_value(op.key), value, output, float(call),
                          math.inf if op.status == "info" else float(ret), op.status))
    return specs


# ---------------------------------------------------------------------------
# writing


def edn(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + " ".join(edn(v) for v in value) + "]"
    return "{" + ", ".join(f"{edn(k)} {edn(v)}" for k, v in value.items()) + "}"


def write(fmt: str, events: list[dict[str, Any]], timed: bool) -> list[str]:
    """One string per event (a line, or one map of an EDN vector)."""
    out = []
    for e in events:
        e = dict(e) if timed else {k: v for k, v in e.items() if k != "time"}
        if fmt == "jsonl":
            out.append(json.dumps(e))
        elif fmt == "jepsen":
            out.append(f"INFO  jepsen.util - {e['process']}\t:{e['type']}\t:{e['f']}\t{edn(e['value'])}")
        else:
            fields = ", ".join(f":{k} {edn(v) if k not in ('type', 'f') else ':' + v}" for k, v in e.items())
            out.append("{" + fields + "}")
    return out


def assemble(fmt: str, lines: list[str]) -> str:
    if fmt == "edn":
        return "[" + "\n ".join(lines) + "]\n"
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------------------
# perturbations: each makes the file's bytes and the format to force (or None)

Case = tuple[bytes, "str | None"]


@dataclass
class Draft:
    fmt: str
    model: str
    timed: bool
    ops: list[Planned]
    events: list[dict[str, Any]]
    op_of: list[int]  # index in ops of each event

    def text(self, events: list[dict[str, Any]] | None = None, timed: bool | None = None) -> str:
        return assemble(self.fmt, write(self.fmt, events or self.events, self.timed if timed is None else timed))


def _with(draft: Draft, index: int, **changes: Any) -> str:
    events = [dict(e) for e in draft.events]
    events[index].update(changes)
    for k, v in changes.items():
        if v is _DROP:
            del events[index][k]
    return draft.text(events)


_DROP = object()
#: The perturbations that keep a file valid (and its meaning unchanged).
VALID = frozenset({"none", "bom", "crlf", "blank-lines", "forced-format", "sibling-edn-format", "other-loggers"})
OTHER_FORMATS = {"jsonl": ["jepsen", "edn", "porcupine-edn"], "jepsen": ["jsonl", "edn", "porcupine-edn"],
                 "edn": ["jsonl", "jepsen"], "porcupine-edn": ["jsonl", "jepsen"]}


def perturbations(draw: st.DrawFn, d: Draft) -> dict[str, Callable[[], Case]]:
    """Every perturbation that applies to ``d``, by name."""
    n = len(d.events)
    pick = lambda: draw(st.integers(0, n - 1))  # noqa: E731
    text = d.text()
    cases: dict[str, Callable[[], Case]] = {
        "none": lambda: (text.encode(), None),
        "bom": lambda: (b"\xef\xbb\xbf" + text.encode(), None),
        "crlf": lambda: (text.replace("\n", "\r\n").encode(), None),
        "blank-lines": lambda: (text.replace("\n", "\n\n").encode(), None),
        "forced-format": lambda: (text.encode(), d.fmt),
        "wrong-format": lambda: (text.encode(), draw(st.sampled_from(OTHER_FORMATS[d.fmt]))),
        "bad-utf8": lambda: (text.encode()[: len(text) // 2] + b"\xff\xfe" + text.encode()[len(text) // 2:], None),
        "empty": lambda: (draw(st.sampled_from([b"", b"\n", b"  \r\n\n"])), None),
        "unknown-type": lambda: (_with(d, pick(), type="done").encode(), None),
    }
    if d.fmt in ("edn", "porcupine-edn"):
        cases["sibling-edn-format"] = lambda: (text.encode(), "edn" if d.fmt == "porcupine-edn" else "porcupine-edn")
    if d.fmt != "jepsen":
        # A cut inside the last event leaves an unterminated JSON object or EDN form.
        cases["truncated"] = lambda: (text.rstrip().encode()[: -draw(st.integers(1, 8))], None)
        cases["missing-f"] = lambda: (_with(d, pick(), f=_DROP).encode(), None)
    if d.fmt == "jepsen":
        cases["other-loggers"] = lambda: (
            ("INFO  jepsen.core - starting\n" + text.replace("\n", "\nWARN  jepsen.db - slow\n", 1)).encode(), None)
    if d.fmt in ("jepsen", "edn"):
        nemesis = [{"process": "nemesis", "type": "info", "f": "start", "key": None, "value": None, "time": 0}] * 2
        cases["nemesis-only"] = lambda: (d.text(nemesis).encode(), None)
    if d.timed:
        raw = ["NaN", "Infinity", "-Infinity", "1e999"] if d.fmt == "jsonl" else ["##NaN", "##Inf", "##-Inf", "1e999"]
        cases["non-finite-time"] = lambda: (
            _with(d, pick(), time=_PLACEHOLDER).replace(str(_PLACEHOLDER), draw(st.sampled_from(raw))).encode(),
            None)
        cases["time-on-some-events"] = lambda: (_with(d, pick(), time=_DROP).encode(), None)
        cases["time-not-a-number"] = lambda: (_with(d, pick(), time=draw(st.sampled_from([True, "1", [1]]))).encode(),
                                              None)
        completions = [i for i, e in enumerate(d.events) if e["type"] != "invoke"]

        def backwards() -> Case:
            i = draw(st.sampled_from(completions))
            call = d.ops[d.op_of[i]].call
            return _with(d, i, time=call - draw(st.integers(1, 3))).encode(), None

        cases["return-before-call"] = backwards
        # An invocation at the time its process's previous (definite) operation returned.
        previous = {i: max((j for j in range(i) if d.events[j]["process"] == e["process"]), default=None)
                    for i, e in enumerate(d.events) if e["type"] == "invoke"}
        again = {i: j for i, j in previous.items() if j is not None and d.events[j]["type"] in ("ok", "fail")}
        if again:
            def invoke_at_previous_return() -> Case:
                i = draw(st.sampled_from(sorted(again)))
                return _with(d, i, time=d.events[again[i]]["time"]).encode(), None

            cases["invoke-at-previous-return"] = invoke_at_previous_return
    if d.fmt in ("jsonl", "edn", "porcupine-edn"):
        cases["process-not-int-or-string"] = lambda: (
            _with(d, pick(), process=draw(st.sampled_from([True, [0], 1.5]))).encode(), None)
    writes = [i for i, e in enumerate(d.events) if e["type"] == "invoke" and e["f"] in ("write", "put", "append")]
    if writes:
        cases["deep-value"] = lambda: (_with(d, draw(st.sampled_from(writes)), value=_nested(70)).encode(), None)
        if d.model == "kv":
            cases["kv-value-not-a-string"] = lambda: (
                _with(d, draw(st.sampled_from(writes)), value=draw(st.sampled_from([1, True, None, ["a"]]))).encode(),
                None)
    oks = [i for i, e in enumerate(d.events) if e["type"] == "ok" and e["f"] not in ("read", "get")]
    if oks:
        cases["completion-with-another-input"] = lambda: (
            _with(d, draw(st.sampled_from(oks)), value="not-the-input").encode(), None)
    cas = [i for i, e in enumerate(d.events) if e["type"] == "invoke" and e["f"] == "cas"]
    if cas:
        cases["cas-not-a-pair"] = lambda: (
            _with(d, draw(st.sampled_from(cas)), value=draw(st.sampled_from([1, [1], [1, 2, 3]]))).encode(), None)
    return cases


#: Written as a time, then replaced by text json and EDN writers cannot produce.
_PLACEHOLDER = 123456789.25


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# ---------------------------------------------------------------------------
# the property


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, list[Spec], Case]:
    model = draw(st.sampled_from(["register", "kv"]))
    fmt = draw(st.sampled_from(["jsonl", "edn", "porcupine-edn"] + (["jepsen"] if model == "register" else [])))
    timed = fmt != "jepsen" and draw(st.booleans())
    ops = draw(planned_histories(model))
    indexed = events_of(ops)
    draft = Draft(fmt, model, timed, ops, [e for _, e in indexed], [i for i, _ in indexed])
    options = perturbations(draw, draft)
    # Half the files stay valid: those are the ones whose verdict is compared.
    keep_valid = draw(st.booleans())
    name = draw(st.sampled_from(sorted(n for n in options if (n in VALID) == keep_valid)))
    return model, f"{fmt}/{name}", specs_of(ops, indexed, timed), options[name]()


def run_cli(path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["check-history", str(path), *args])
    return rc, out.getvalue(), err.getvalue()


def differentiated(model: str, specs: list[Spec]) -> bool:
    """Inside the causal oracle's domain: definite reads and writes, values written once."""
    init = None if model == "register" else ""
    written = [(s.key, s.value) for s in specs if s.f in ("write", "put")]
    return (all(s.status == "ok" and s.f in ("read", "write", "get", "put") for s in specs)
            and len(set(written)) == len(written) and all(v != init for _, v in written))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_perturbed_files_get_a_clean_error_or_the_oracles_verdict(case: tuple[str, str, list[Spec], Case]) -> None:
    model, label, specs, (data, forced) = case
    valid = label.split("/")[1] in VALID
    event(label.split("/")[1])
    args = ["--model", model] + (["--format", forced] if forced else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history"
        path.write_bytes(data)
        rc, out, err = run_cli(path, *args)
        if not valid:
            assert rc == 2 and out == "", (label, out)
            assert err.count("\n") == 1 and err.startswith(f"wfsim: error: {path}"), (label, err)
            return
        assert rc == 0, (label, err)
        expected = {
            "linearizable": brute_linearizable(model, specs),
            "sequential": brute_sequential(model, specs),
        }
        verdicts = {"linearizable": json.loads(out)["verdict"]}
        for level in LEVELS[1:]:
            rc, out, err = run_cli(path, *args, "--consistency", level)
            assert rc == 0, (label, err)
            verdicts[level] = json.loads(out)["verdict"]
    for level, holds in expected.items():
        assert verdicts[level] == ("ok" if holds else "violation"), (label, level, specs)
    for level in ("causal-cm", "causal-ccv"):
        if differentiated(model, specs):
            oracle = brute_cm if level == "causal-cm" else brute_ccv
            assert verdicts[level] == ("ok" if oracle(model, specs) else "violation"), (label, level, specs)
        elif expected["sequential"]:  # sequential consistency implies both causal levels
            assert verdicts[level] == "ok", (label, level, specs)
