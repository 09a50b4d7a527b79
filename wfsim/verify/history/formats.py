"""Readers (and one writer) for operation histories.

Supported formats (``format=`` names):

``jsonl``
    wfsim's own format: one JSON object per line, one line per *event*::

        {"process": 0, "type": "invoke", "f": "write", "key": null, "value": 3, "time": 0.0}
        {"process": 0, "type": "ok",     "f": "write", "key": null, "value": 3, "time": 1.5}
        {"process": 1, "type": "invoke", "f": "read",  "key": null, "value": null, "time": 0.2}
        {"process": 1, "type": "ok",     "f": "read",  "key": null, "value": 3, "time": 2.0}

    ``process`` (int or string) and ``type`` (``invoke | ok | fail | info``) and ``f``
    are required; ``key`` (default ``null``), ``value`` (default ``null``) and ``time``
    (number) are optional. When every line has ``time`` it orders events, otherwise
    the line order does. A completion is paired with the pending invocation of the
    same process. The invocation carries the input (``value``; ``[from, to]`` for
    ``cas``); an ``ok`` completion of ``read``/``get`` carries the value read.
    ``fail`` means the operation definitely did not take effect (for ``cas``: the
    compare failed); ``info`` and a missing completion mean it may or may not have.
    Blank lines are ignored.

``jepsen``
    Jepsen text logs as in Porcupine's ``test_data/jepsen``:
    ``INFO  jepsen.util - <process>\\t:<type>\\t:<f>\\t<value>``. Lines of other
    loggers are ignored. ``:info`` leaves the operation indeterminate; a ``:fail``
    whose value is ``:timed-out`` is indeterminate too (the client gave up, the
    request may still have been applied), while ``:fail :cas`` is a definite
    compare failure. ``nil`` is ``None`` and ``[1 2]`` is a cas from 1 to 2.

``porcupine-edn``
    One EDN map per line, as in Porcupine's ``test_data/kv``:
    ``{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}``.

``edn``
    Jepsen/Knossos EDN: a vector of such maps (``[{:process 0 :type :invoke :f :read
    :value nil} ...]``), possibly spread over many lines, optionally with ``:time``.
    ``:nemesis`` events are skipped.

Malformed input raises :class:`HistoryFormatError` (a ``ValueError``) naming the
source, the line and what was expected.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edn_format

from .model import History, Operation

FORMATS: tuple[str, ...] = ("jsonl", "jepsen", "porcupine-edn", "edn")
EVENT_TYPES: tuple[str, ...] = ("invoke", "ok", "fail", "info")
_READS = frozenset({"read", "get"})


class HistoryFormatError(ValueError):
    """A history file could not be parsed.

    Attributes:
        source: File name (or ``"<string>"``).
        line: 1-based line number, or ``None`` if not attributable to one line.
        reason: What was wrong / expected.
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Event:
    """One invocation or completion as it appears in a log."""

    process: Hashable
    type: str
    f: str
    key: Hashable | None
    value: Any
    time: float | None
    line: int | None


# ---------------------------------------------------------------------------
# events -> operations


def history_from_events(
    events: Sequence[Event],
    *,
    source: str = "<string>",
    timed_out_is_info: bool = False,
    metadata: dict[str, Any] | None = None,
) -> History:
    """Pair invocations with completions into a :class:`History`.

    Args:
        events: Events in log order.
        source: Name used in error messages.
        timed_out_is_info: Treat ``fail`` with value ``"timed-out"`` as indeterminate
            (Jepsen convention).
        metadata: Extra metadata for the history.

    Raises:
        HistoryFormatError: On a completion without invocation, an invocation while
            the same process has one pending, or mismatched ``f``/``key``.
    """
    use_time = bool(events) and all(e.time is not None for e in events)
    pending: dict[Hashable, tuple[int, Event, float]] = {}
    slots: list[Operation | None] = []
    for index, ev in enumerate(events):
        t = float(ev.time) if use_time else float(index)  # type: ignore[arg-type]
        if ev.type == "invoke":
            if ev.process in pending:
                _, prev, _ = pending[ev.process]
                raise HistoryFormatError(
                    source, ev.line,
                    f"process {ev.process!r} invokes {ev.f!r} while its {prev.f!r} "
                    f"(line {prev.line}) has not completed; expected a completion first",
                )
            pending[ev.process] = (len(slots), ev, t)
            slots.append(None)
            continue
        if ev.process not in pending:
            raise HistoryFormatError(
                source, ev.line, f"{ev.type!r} completion of process {ev.process!r} without a pending invocation"
            )
        slot, inv, call = pending.pop(ev.process)
        if ev.f != inv.f:
            raise HistoryFormatError(
                source, ev.line, f"completion has f={ev.f!r} but the invocation (line {inv.line}) has f={inv.f!r}"
            )
        if ev.key is not None and ev.key != inv.key:
            raise HistoryFormatError(
                source, ev.line, f"completion has key={ev.key!r} but the invocation (line {inv.line}) has key={inv.key!r}"
            )
        status = ev.type
        if status == "fail" and timed_out_is_info and ev.value == "timed-out":
            status = "info"
        output = ev.value if (status == "ok" and inv.f in _READS) else None
        ret = math.inf if status == "info" else t
        slots[slot] = _make_op(slot, inv, output, call, ret, status, source)
    for slot, inv, call in pending.values():
        slots[slot] = _make_op(slot, inv, None, call, math.inf, "info", source)
    meta = {"source": source, **(metadata or {})}
    return History([op for op in slots if op is not None], meta)


def _make_op(
    slot: int, inv: Event, output: Any, call: float, ret: float, status: str, source: str
) -> Operation:
    value = inv.value
    if inv.f == "cas":
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise HistoryFormatError(source, inv.line, f"cas expects a [from to] pair, got {value!r}")
        value = tuple(value)
    return Operation(
        id=slot, process=inv.process, f=inv.f, key=inv.key, value=value,
        output=output, call=call, ret=ret, status=status,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------
# JSONL


def parse_jsonl(text: str, source: str = "<string>") -> History:
    """Parse wfsim's JSONL event format (see module docstring)."""
    events = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HistoryFormatError(source, lineno, f"expected a JSON object: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise HistoryFormatError(source, lineno, f"expected a JSON object, got {type(obj).__name__}")
        events.append(_event_from_mapping(obj, source, lineno))
    return history_from_events(events, source=source, metadata={"format": "jsonl"})


def _event_from_mapping(obj: dict[str, Any], source: str, lineno: int | None) -> Event:
    for name in ("process", "type", "f"):
        if name not in obj:
            raise HistoryFormatError(source, lineno, f"missing required field {name!r}")
    etype, f, process = obj["type"], obj["f"], obj["process"]
    if etype not in EVENT_TYPES:
        raise HistoryFormatError(source, lineno, f"type must be one of {list(EVENT_TYPES)}, got {etype!r}")
    if not isinstance(f, str):
        raise HistoryFormatError(source, lineno, f"f must be a string, got {f!r}")
    if not isinstance(process, Hashable) or isinstance(process, bool):
        raise HistoryFormatError(source, lineno, f"process must be an int or string, got {process!r}")
    time = obj.get("time")
    if time is not None and (isinstance(time, bool) or not isinstance(time, (int, float))):
        raise HistoryFormatError(source, lineno, f"time must be a number, got {time!r}")
    key = obj.get("key")
    if isinstance(key, list):
        key = tuple(key)
    return Event(process, etype, f, key, obj.get("value"), time, lineno)


def dump_jsonl(history: History | Iterable[Operation]) -> str:
    """Render operations as wfsim JSONL (inverse of :func:`parse_jsonl`).

    Indeterminate operations are written as an invocation without completion.
    """
    rows: list[tuple[float, int, int, dict[str, Any]]] = []
    for op in history:
        value = list(op.value) if isinstance(op.value, tuple) else op.value
        base = {"process": op.process, "f": op.f, "key": op.key}
        rows.append((op.call, 0, op.id, {**base, "type": "invoke", "value": None if op.f in _READS else value, "time": op.call}))
        if op.status != "info":
            out = op.output if op.f in _READS else value
            rows.append((op.ret, 1, op.id, {**base, "type": op.status, "value": out, "time": op.ret}))
    rows.sort(key=lambda r: r[:3])
    return "".join(json.dumps(r[3]) + "\n" for r in rows)


# ---------------------------------------------------------------------------
# Jepsen text logs

_JEPSEN_LINE = re.compile(r"^\s*\w+\s+jepsen\.util\s+-\s+(\S+)\s+:(\S+)\s+:(\S+)\s*(.*?)\s*$")
_INT = re.compile(r"^-?\d+$")
_PAIR = re.compile(r"^\[\s*(-?\d+|nil)[\s,]+(-?\d+|nil)\s*\]$")


def parse_jepsen_log(text: str, source: str = "<string>") -> History:
    """Parse a Jepsen ``jepsen.util`` text log of single-register operations."""
    events = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if "jepsen.util" not in line:
            continue  # other loggers, banners, blank lines
        m = _JEPSEN_LINE.match(line)
        if m is None:
            raise HistoryFormatError(
                source, lineno, "expected 'INFO jepsen.util - <process> :<type> :<f> <value>'"
            )
        proc_s, etype, f, value_s = m.groups()
        if etype not in EVENT_TYPES:
            raise HistoryFormatError(source, lineno, f"type must be one of {list(EVENT_TYPES)}, got :{etype}")
        process: Hashable = int(proc_s) if _INT.match(proc_s) else proc_s.lstrip(":")
        if process == "nemesis":
            continue
        events.append(Event(process, etype, f, None, _jepsen_value(value_s, source, lineno), None, lineno))
    return history_from_events(events, source=source, timed_out_is_info=True, metadata={"format": "jepsen"})


def _jepsen_value(text: str, source: str, lineno: int) -> Any:
    # The common shapes are parsed by hand: calling the EDN reader for every line
    # would dominate the time spent checking a history.
    if text in ("", "nil"):
        return None
    if _INT.match(text):
        return int(text)
    if text.startswith(":") and " " not in text:
        return text[1:]
    m = _PAIR.match(text)
    if m:
        return [None if g == "nil" else int(g) for g in m.groups()]
    try:
        return _plain(edn_format.loads(text, write_ply_tables=False))
    except Exception as exc:  # edn_format raises several exception types
        raise HistoryFormatError(source, lineno, f"expected an EDN value, got {text!r} ({exc})") from None


# ---------------------------------------------------------------------------
# EDN (Porcupine per-line maps, Jepsen/Knossos vectors)


def parse_porcupine_edn(text: str, source: str = "<string>") -> History:
    """Parse Porcupine's one-EDN-map-per-line key-value logs."""
    return _parse_edn(text, source, "porcupine-edn")


def parse_edn(text: str, source: str = "<string>") -> History:
    """Parse a Jepsen/Knossos EDN history: a vector (or sequence) of op maps."""
    return _parse_edn(text, source, "edn")


def _parse_edn(text: str, source: str, fmt: str) -> History:
    try:
        forms = edn_format.loads_all(text, write_ply_tables=False)
    except Exception as exc:  # EDNDecodeError, NotImplementedError for unknown tags, ...
        raise HistoryFormatError(source, _edn_error_line(text, str(exc)), f"invalid EDN: {exc}") from None
    forms = [_plain(f) for f in forms]
    if len(forms) == 1 and isinstance(forms[0], list):
        maps, depth = forms[0], 1
    else:
        maps, depth = forms, 0
    lines = _map_lines(text, depth, len(maps))
    events = []
    for i, obj in enumerate(maps):
        if not isinstance(obj, dict):
            raise HistoryFormatError(source, _nth(lines, i), f"expected an operation map, got {obj!r}")
        if obj.get("process") == "nemesis":
            continue
        events.append(_event_from_mapping(obj, source, _nth(lines, i)))
    if any(e.time is not None for e in events) and not all(e.time is not None for e in events):
        raise HistoryFormatError(source, None, "some operations have :time and others do not")
    return history_from_events(
        events, source=source, timed_out_is_info=(fmt == "edn"), metadata={"format": fmt}
    )


def _nth(lines: list[int], i: int) -> int | None:
    return lines[i] if i < len(lines) else None


def _edn_error_line(text: str, message: str) -> int | None:
    # edn_format reports a character offset ("lexpos N" or LexToken(type,value,line,pos)).
    m = re.search(r"lexpos (\d+)", message) or re.search(r"LexToken\(\w+,.*,\d+,(\d+)\)", message)
    if m:
        return text.count("\n", 0, int(m.group(1))) + 1
    if "EOF" in message:
        return text.count("\n") + (0 if text.endswith("\n") else 1)
    return None


def _map_lines(text: str, depth: int, count: int) -> list[int]:
    """Line numbers where each of the ``count`` maps at nesting ``depth`` opens."""
    if depth == 0:
        # Porcupine's layout, one map per line: no need to scan characters.
        nonblank = [i for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]
        if len(nonblank) == count:
            return nonblank
    out, level, line, i, n = [], 0, 1, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                i += 1
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c in "([{":
            if c == "{" and level == depth:
                out.append(line)
            level += 1
        elif c in ")]}":
            level -= 1
        i += 1
    return out


def _plain(value: Any) -> Any:
    """edn_format objects -> plain Python (keywords become their name)."""
    if isinstance(value, edn_format.Keyword):
        return value.name
    if isinstance(value, edn_format.Symbol):
        return value.name
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return frozenset(_plain(v) for v in value)
    return value


# ---------------------------------------------------------------------------
# entry points

_PARSERS = {
    "jsonl": parse_jsonl,
    "jepsen": parse_jepsen_log,
    "porcupine-edn": parse_porcupine_edn,
    "edn": parse_edn,
}


def detect_format(text: str, source: str = "<string>") -> str:
    """Guess the format of ``text`` from its first meaningful line.

    Raises:
        HistoryFormatError: If no known format matches.
    """
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(";"):
            continue
        if "jepsen.util" in s:
            return "jepsen"
        if s.startswith("["):
            return "edn"
        if s.startswith("{:"):
            return "porcupine-edn"
        if s.startswith("{"):
            return "jsonl"
        if re.match(r"^\w+\s+jepsen\.", s):
            continue  # another Jepsen logger before the first jepsen.util line
        raise HistoryFormatError(
            source, lineno, "cannot detect the format: expected a JSON object, an EDN map or vector, "
            "or a 'jepsen.util' log line"
        )
    raise HistoryFormatError(source, None, "cannot detect the format of an empty history")


def parse_history(text: str, format: str | None = None, source: str = "<string>") -> History:
    """Parse a history from text.

    Args:
        text: File contents.
        format: One of :data:`FORMATS`, or ``None`` to detect it from the content.
        source: Name used in error messages and metadata.

    Returns:
        The parsed history. An empty (or whitespace-only) text gives an empty history.

    Raises:
        HistoryFormatError: If the text is malformed or the format is unknown.
    """
    if format is not None and format not in _PARSERS:
        raise HistoryFormatError(source, None, f"unknown format {format!r}; expected one of {list(FORMATS)}")
    if not text.strip():
        return History([], {"source": source, "format": format})
    fmt = format or detect_format(text, source)
    return _PARSERS[fmt](text, source)


def load_history(path: str | Path, format: str | None = None) -> History:
    """Read and parse a history file (see :func:`parse_history`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HistoryFormatError(str(path), None, f"expected UTF-8 text: {exc}") from None
    return parse_history(text, format, str(path))
