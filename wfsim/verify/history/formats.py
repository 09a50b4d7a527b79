"""Readers and writers of operation histories.

Supported formats (``format=`` names, :data:`FORMATS`), each described on its reader:

* ``jsonl`` — wfsim's own, one JSON event per line (:func:`parse_jsonl`, written by
  :func:`dump_jsonl`);
* ``jepsen`` — Jepsen ``jepsen.util`` text logs (:func:`parse_jepsen_log`);
* ``porcupine-edn`` — one EDN map per line (:func:`parse_porcupine_edn`);
* ``edn`` — a Jepsen/Knossos EDN vector of such maps (:func:`parse_edn`, written by
  :func:`dump_edn`).

:func:`load_history` and :func:`parse_history` read any of them, detecting the format
(:func:`detect_format`) unless told; every reader pairs invocations with completions
the same way (:func:`history_from_events`). A leading UTF-8 byte order mark is
ignored. Malformed input raises :class:`HistoryFormatError` (a ``ValueError``) naming
the source, the line, the field and what was expected; the same rules (finite times,
JSON values) hold in every format. Parsing takes an optional deadline, past which it
raises :class:`~wfsim.verify.history.result.BudgetExceeded`.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from .model import History, Operation, OperationError
from .result import BudgetExceeded
from .values import canonical, plain, show

FORMATS: tuple[str, ...] = ("jsonl", "jepsen", "porcupine-edn", "edn")
EVENT_TYPES: tuple[str, ...] = ("invoke", "ok", "fail", "info")
_READS = frozenset({"read", "get"})
#: Events parsed between two looks at the clock (the deadline check is not free).
_CLOCK_EVERY = 2048
_MAX_REASON = 300
#: A time as written: an integer stays exact, a JSONL decimal may be a Decimal.
Time = int | float | Decimal


class HistoryFormatError(ValueError):
    """A history file could not be parsed.

    Its message is ``SOURCE[:LINE]: [FIELD: ]REASON``.

    Attributes:
        source: File name (or ``"<string>"``).
        line: 1-based line number, or ``None`` if not attributable to one line.
        reason: What was wrong / expected.
        field: The offending field (``"time"``, ``"value"``, ...), if any.
    """

    def __init__(self, source: str, line: int | None, reason: str, field: str | None = None) -> None:
        # One line, of bounded length: parser messages quote pieces of the input.
        reason = " ".join(reason.split())
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 1] + "…"
        self.source = source
        self.line = line
        self.reason = reason
        self.field = field
        where = f"{source}:{line}" if line is not None else source
        what = f"{field}: {reason}" if field else reason
        super().__init__(f"{where}: {what}")


@dataclass(frozen=True, slots=True)
class Event:
    """One invocation or completion as it appears in a log (values canonical)."""

    process: Hashable
    type: str
    f: str
    key: Hashable | None
    value: Any
    time: Time | None  # as written (an int stays an int): see _float_times
    line: int | None


class _Clock:
    """Raises :class:`BudgetExceeded` once ``deadline`` has passed, looking at the
    clock only every :data:`_CLOCK_EVERY` ticks."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.ticks = 0

    def tick(self) -> None:
        if self.deadline is None:
            return
        self.ticks += 1
        if self.ticks % _CLOCK_EVERY == 0:
            self.check()

    def check(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise BudgetExceeded("time budget exhausted while parsing")


# ---------------------------------------------------------------------------
# events -> operations


def history_from_events(
    events: Sequence[Event],
    *,
    source: str = "<string>",
    timed_out_is_info: bool = False,
    metadata: dict[str, Any] | None = None,
    deadline: float | None = None,
) -> History:
    """Pair invocations with completions into a :class:`History`.

    A completion is paired with the pending invocation of the same process. The
    invocation carries the input (``value``; ``[from, to]`` for ``cas``); an ``ok``
    completion of ``read``/``get`` carries the value read, one of another function
    repeats the input or omits it. ``fail`` means the operation definitely did not take
    effect (for ``cas``: the compare failed); ``info`` and a missing completion mean it
    may or may not have. Times are on every event or on none, and a process's times
    never go back (see :func:`parse_jsonl` for how they are compared).

    Args:
        events: Events in log order.
        source: Name used in error messages.
        timed_out_is_info: Treat ``fail`` with value ``"timed-out"`` as indeterminate
            (Jepsen convention).
        metadata: Extra metadata for the history.
        deadline: ``time.perf_counter()`` value past which to give up.

    Raises:
        HistoryFormatError: On a completion without invocation, an invocation while
            the same process has one pending, mismatched ``f``/``key``/``value``,
            times on only some events, or times going backwards within a process
            (in particular a return before its call).
        BudgetExceeded: When ``deadline`` passes.
    """
    use_time = _uses_time(events, source)
    times, origin = _float_times(events, source) if use_time else (None, None)
    clock = _Clock(deadline)
    pending: dict[Hashable, tuple[int, Event, float]] = {}
    last: dict[Hashable, tuple[float, Event]] = {}  # process -> time and its last event
    slots: list[Operation | None] = []
    for index, ev in enumerate(events):
        clock.tick()
        t = times[index] if times is not None else float(index)
        _check_order(ev, t, last.get(ev.process), source)
        last[ev.process] = (t, ev)
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
        _check_completion(ev, inv, source)
        status = ev.type
        if status == "fail" and timed_out_is_info and ev.value == "timed-out":
            status = "info"
        output = ev.value if (status == "ok" and inv.f in _READS) else None
        ret = float("inf") if status == "info" else t
        slots[slot] = _make_op(slot, inv, ev, output, call, ret, status, source)
    for slot, inv, call in pending.values():
        slots[slot] = _make_op(slot, inv, None, None, call, float("inf"), "info", source)
    meta = {"source": source, **(metadata or {})}
    if origin is not None:
        meta["time_origin"] = origin
    return History([op for op in slots if op is not None], meta)


def _check_order(ev: Event, t: float, prev: tuple[float, Event] | None, source: str) -> None:
    """A process's times never go back (so a return is at or after its call)."""
    if prev is not None and t < prev[0]:
        what = "its invocation" if ev.type != "invoke" else f"the previous event of process {ev.process!r}"
        raise HistoryFormatError(
            source, ev.line, f"{_show_time(ev, t)} is before {what} at {_show_time(prev[1], prev[0])} "
            f"(line {prev[1].line}); a process's events must not go back in time", "time",
        )


def _show_time(ev: Event, t: float) -> str:
    return str(ev.time) if ev.time is not None else f"{t:g}"


def _float_times(events: Sequence[Event], source: str) -> tuple[list[float], Time | None]:
    """The events' times as floats whose order is exactly that of the times written.

    The checkers compare times as floats. Converting to the nearest float keeps
    the order of distinct times but may make two of them equal (integers beyond
    2**53, e.g. epoch nanoseconds, or decimals with many digits). When that
    happens every time is counted from the earliest instead (an exact
    subtraction, then rounding); if two distinct times are still equal as floats
    the file is refused rather than checked with a different order.

    Returns:
        The times, and the earliest time written when they were counted from it
        (``None`` when they were not).
    """
    floats = [float(e.time) for e in events]  # type: ignore[arg-type]  # finite: see _time
    if all(f == e.time for f, e in zip(floats, events)) or _clash(events, floats) is None:
        return floats, None  # (Python compares ints, floats and Decimals exactly)
    first = min(events, key=lambda e: e.time)  # type: ignore[arg-type,return-value]
    origin = first.time
    exact_origin = Fraction(origin)  # type: ignore[arg-type]
    floats = []
    for e in events:
        t = e.time
        try:
            if type(t) is int and type(origin) is int:
                floats.append(float(t - origin))
            else:
                floats.append(float(Fraction(t) - exact_origin))  # type: ignore[arg-type]
        except OverflowError:
            raise HistoryFormatError(
                source, e.line, f"{t} is too far from the earliest time, {origin} (line {first.line}), "
                "to be counted from it as a double-precision number", "time",
            ) from None
    clash = _clash(events, floats)
    if clash is not None:
        a, b = clash
        raise HistoryFormatError(
            source, b.line, f"{b.time} and {a.time} (line {a.line}) are different times that a double-precision "
            f"number cannot tell apart, even counted from the earliest time, {origin} (line {first.line}); "
            "the span of the times must be at most 2**53 of their smallest step", "time",
        )
    return floats, origin


def _clash(events: Sequence[Event], floats: list[float]) -> tuple[Event, Event] | None:
    """Two events with different times but the same float, if any."""
    seen: dict[float, Event] = {}
    for f, e in zip(floats, events):
        other = seen.setdefault(f, e)
        if other.time != e.time:
            return (other, e)
    return None


def _uses_time(events: Sequence[Event], source: str) -> bool:
    """Whether times order the events: all have one, or none (then line order does)."""
    with_time = next((e for e in events if e.time is not None), None)
    if with_time is None:
        return False
    without = next((e for e in events if e.time is None), None)
    if without is not None:
        raise HistoryFormatError(
            source, without.line, f"missing, but line {with_time.line} has one; give a time on every event or on none",
            "time",
        )
    return True


def _check_completion(ev: Event, inv: Event, source: str) -> None:
    if ev.f != inv.f:
        raise HistoryFormatError(
            source, ev.line, f"completion has f={ev.f!r} but the invocation (line {inv.line}) has f={inv.f!r}"
        )
    if ev.key is not None and ev.key != inv.key:
        raise HistoryFormatError(
            source, ev.line, f"completion has key={ev.key!r} but the invocation (line {inv.line}) has key={inv.key!r}"
        )
    # The input is taken from the invocation; a successful completion that reports
    # a different one leaves it unclear what was written.
    if ev.type == "ok" and inv.f not in _READS and ev.value is not None and ev.value != inv.value:
        raise HistoryFormatError(
            source, ev.line, f"the completion has {show(ev.value)} but the invocation (line {inv.line}) has "
            f"{show(inv.value)}", "value",
        )


def _make_op(
    slot: int, inv: Event, done: Event | None, output: Any, call: float, ret: float, status: str, source: str
) -> Operation:
    value = inv.value
    if inv.f == "cas" and not (isinstance(value, tuple) and len(value) == 2):
        raise HistoryFormatError(source, inv.line, f"cas expects a [from to] pair, got {show(value)}", "value")
    ret_line = done.line if done is not None else None
    try:
        return Operation(
            id=slot, process=inv.process, f=inv.f, key=inv.key, value=value, output=output,
            call=call, ret=ret, status=status, line=inv.line, ret_line=ret_line,  # type: ignore[arg-type]
        )
    except OperationError as exc:
        line = ret_line if exc.field in ("output", "ret") else inv.line
        raise HistoryFormatError(source, line, exc.reason, exc.field) from None


# ---------------------------------------------------------------------------
# JSONL


#: JSON's whitespace (RFC 8259 §2): ``str.strip()`` would take more.
_JSON_SPACE = " \t\r"


def _lines(text: str) -> list[str]:
    """The lines of ``text``, ended by ``\\n`` (or ``\\r\\n``) only.

    ``str.splitlines`` also breaks at U+2028, U+2029, U+0085 and other characters
    that may appear inside a JSON or EDN string, which cut valid lines in two and
    shifted the line numbers of errors.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # which of the two values was meant is anyone's guess
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"member {duplicate!r} appears twice in an object")
    return obj


def parse_jsonl(text: str, source: str = "<string>", deadline: float | None = None) -> History:
    r"""Parse wfsim's JSONL event format: one JSON object per line, one line per *event*::

        {"process": 0, "type": "invoke", "f": "write", "key": null, "value": 3, "time": 0.0}
        {"process": 0, "type": "ok",     "f": "write", "key": null, "value": 3, "time": 1.5}
        {"process": 1, "type": "invoke", "f": "read",  "key": null, "value": null, "time": 0.2}
        {"process": 1, "type": "ok",     "f": "read",  "key": null, "value": 3, "time": 2.0}

    ``process`` (int or string) and ``type`` (``invoke | ok | fail | info``) and ``f``
    are required; ``key`` (default ``null``), ``value`` (default ``null``) and ``time``
    (a finite number) are optional. ``time`` is on every line, and then orders the
    events, or on none, and then the line order does; a process's times never go
    back (so a return is at or after its call). (The checkers also require a
    process to invoke strictly after its previous return: see
    :func:`~wfsim.verify.history.checker.check_history`.) Times are compared
    exactly as written, integers of any size included (epoch nanoseconds): the
    checkers compare floats, so when two different times would be the same
    double (integers beyond 2**53), every time of the file is counted from the
    earliest (an exact subtraction) and that origin is kept as the history's
    ``time_origin`` metadata (and the verdict's ``details``); a file whose times
    are still not told apart then (its span exceeds 2**53 of its smallest step)
    is refused.

    Invocations and completions are paired as :func:`history_from_events` says (the
    input on the invocation, the value read on an ``ok`` read; ``fail`` definite,
    ``info`` or no completion indeterminate). Keys and values are any JSON values,
    compared as JSON values (:mod:`~wfsim.verify.history.values`: ``true`` is not
    ``1``, ``1`` is ``1.0``, numbers are compared exactly as written, whatever their
    number of digits). Blank lines are ignored. A line ends at ``\n`` (or ``\r\n``)
    only, as in every format: U+2028, U+2029 and U+0085 may appear inside strings.
    """
    clock = _Clock(deadline)
    events = []
    for lineno, line in enumerate(_lines(text), 1):
        clock.tick()
        if not line.strip(_JSON_SPACE):
            continue
        try:
            # Decimal: numbers compare exactly as written (values) and times keep their order.
            obj = json.loads(line, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_object)
        except json.JSONDecodeError as exc:
            raise HistoryFormatError(source, lineno, f"expected a JSON object: {exc.msg}") from None
        except ValueError as exc:  # NaN/Infinity, duplicate members, integers too long to convert
            raise HistoryFormatError(source, lineno, f"invalid JSON: {exc}") from None
        except RecursionError:
            raise HistoryFormatError(source, lineno, "expected a JSON object: nested too deeply") from None
        if not isinstance(obj, dict):
            raise HistoryFormatError(source, lineno, f"expected a JSON object, got {type(obj).__name__}")
        events.append(_event_from_mapping(obj, source, lineno))
    return history_from_events(events, source=source, metadata={"format": "jsonl"}, deadline=deadline)


def _event_from_mapping(obj: Mapping[str, Any], source: str, lineno: int | None) -> Event:
    for name in ("process", "type", "f"):
        if name not in obj:
            raise HistoryFormatError(source, lineno, f"missing required field {name!r}")
    etype, f, process = obj["type"], obj["f"], obj["process"]
    if etype not in EVENT_TYPES:
        raise HistoryFormatError(source, lineno, f"must be one of {list(EVENT_TYPES)}, got {etype!r}", "type")
    if not isinstance(f, str):
        raise HistoryFormatError(source, lineno, f"must be a string, got {f!r}", "f")
    if isinstance(process, bool) or not isinstance(process, (int, str)):
        raise HistoryFormatError(source, lineno, f"must be an int or a string, got {process!r}", "process")
    return Event(
        process, etype, f, _canonical(obj.get("key"), "key", source, lineno),
        _canonical(obj.get("value"), "value", source, lineno), _time(obj.get("time"), source, lineno), lineno,
    )


def _canonical(value: Any, field: str, source: str, lineno: int | None) -> Any:
    try:
        return canonical(value)
    except ValueError as exc:
        raise HistoryFormatError(source, lineno, str(exc), field) from None


def _time(value: Any, source: str, lineno: int | None) -> Time | None:
    """The time as written (an int stays exact); :func:`_float_times` converts it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise HistoryFormatError(source, lineno, f"must be a number, got {value!r}", "time")
    try:
        t = float(value)
    except OverflowError:
        t = float("inf")
    if not math.isfinite(t):
        raise HistoryFormatError(source, lineno, f"must be a finite number, got {value}", "time")
    return value


def dump_jsonl(history: History | Iterable[Operation]) -> str:
    """Render operations as wfsim JSONL (inverse of :func:`parse_jsonl`).

    Events are written as :func:`completed_events` orders them.
    """
    return "".join(json.dumps(event) + "\n" for event in completed_events(history))


def completed_events(history: History | Iterable[Operation]) -> list[dict[str, Any]]:
    """The invocations and completions of ``history``, in time order, as the readers
    pair them back (:func:`history_from_events`).

    Each event has ``process, type, f, key, value, time``. An invocation carries the
    input (``None`` for a read); an ``ok`` or ``fail`` completion at ``ret`` carries a
    read's output or repeats the input. An indeterminate operation gets an ``info``
    completion just before its process's next invocation (a process invokes one
    operation at a time, as in Jepsen), and none when the process invokes nothing
    after it. At equal times ``info`` completions come first, then invocations, then
    ``ok``/``fail`` completions (equal times make operations concurrent), then by
    operation id.
    """
    ops = sorted(history, key=lambda o: (o.call, o.id))
    following: dict[int, float] = {}
    pending: dict[Hashable, Operation] = {}
    for op in ops:
        before = pending.pop(op.process, None)
        if before is not None:
            following[before.id] = op.call
        if op.status == "info":
            pending[op.process] = op
    rows: list[tuple[float, int, int, dict[str, Any]]] = []
    for op in ops:
        value = plain(op.value)
        base = {"process": op.process, "f": op.f, "key": plain(op.key)}
        invoked = None if op.f in _READS else value
        rows.append((op.call, 1, op.id, {**base, "type": "invoke", "value": invoked, "time": op.call}))
        if op.status != "info":
            out = plain(op.output) if op.f in _READS else value
            rows.append((op.ret, 2, op.id, {**base, "type": op.status, "value": out, "time": op.ret}))
        elif op.id in following:
            t = following[op.id]
            rows.append((t, 0, op.id, {**base, "type": "info", "value": invoked, "time": t}))
    rows.sort(key=lambda r: r[:3])
    return [r[3] for r in rows]


def dump_edn(history: History | Iterable[Operation], scale: float | None = 1e9) -> str:
    """Render operations as a Jepsen EDN history (read back by :func:`parse_edn`).

    One op map per line inside a vector, in :func:`completed_events` order, each with
    its ``:index`` (position), ``:type``, ``:f`` and ``:process`` (keywords for type
    and function), ``:key``, ``:value`` and ``:time``: ``[{:index 0, :type :invoke,
    :f :write, :process "c1", :key "k", :value 3, :time 1000000000} …]``. JSON values
    become EDN values (``null`` → ``nil``, arrays → vectors, objects → maps).

    Args:
        history: The operations.
        scale: Time unit of the history → nanoseconds, Jepsen's unit (seconds: 1e9;
            1 for nanoseconds already): times are written as integers, strictly
            increasing where the history's times do, so every order between events
            survives the rounding. ``None`` writes the times as they are.
    """
    events = completed_events(history)
    times: list[Any] = [e["time"] for e in events]
    if scale is not None:
        written: list[Any] = []
        for k, t in enumerate(times):
            n = round(t * scale)
            if k and t > times[k - 1]:
                n = max(n, written[-1] + 1)  # two times rounding to one integer
            elif k:
                n = written[-1]
            written.append(n)
        times = written
    lines = []
    for k, (event, t) in enumerate(zip(events, times)):
        fields = [f":index {k}", f":type :{event['type']}", f":f {_edn_keyword(event['f'])}",
                  f":process {_edn(event['process'])}"]
        if event["key"] is not None:
            fields.append(f":key {_edn(event['key'])}")
        fields += [f":value {_edn(event['value'])}", f":time {_edn(t)}"]
        lines.append("{" + ", ".join(fields) + "}")
    return "[" + "\n ".join(lines) + "]\n"


_EDN_NAME = re.compile(r"^[A-Za-z*!_?$%&=<>][A-Za-z0-9*!_?$%&=<>.+\-]*$")


def _edn_keyword(name: str) -> str:
    """``:read``, or a string when the name cannot be a keyword (the readers take both)."""
    return f":{name}" if _EDN_NAME.match(name) else _edn(name)


def _edn(value: Any) -> str:
    """A plain JSON value (or a number) as EDN text."""
    if value is None:
        return "nil"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"EDN has no number {value!r}")
        return repr(value)
    if isinstance(value, Decimal):
        return f"{value}M"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # EDN strings escape as JSON's do
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_edn(k)} {_edn(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_edn(v) for v in value) + "]"
    raise ValueError(f"no EDN form for {value!r}")


# ---------------------------------------------------------------------------
# Jepsen text logs

_JEPSEN_LINE = re.compile(r"^\s*\w+\s+jepsen\.util\s+-\s+(\S+)\s+:(\S+)\s+:(\S+)\s*(.*?)\s*$")
_INT = re.compile(r"^-?\d+$")
_PAIR = re.compile(r"^\[\s*(-?\d+|nil)[\s,]+(-?\d+|nil)\s*\]$")


def parse_jepsen_log(text: str, source: str = "<string>", deadline: float | None = None) -> History:
    r"""Parse a Jepsen ``jepsen.util`` text log of single-register operations.

    The lines are as in Porcupine's ``test_data/jepsen``:
    ``INFO  jepsen.util - <process>\t:<type>\t:<f>\t<value>``. Lines of other
    loggers are ignored, and so are the nemesis's. ``:info`` leaves the operation
    indeterminate; a ``:fail`` whose value is ``:timed-out`` is indeterminate too (the
    client gave up, the request may still have been applied), while ``:fail :cas`` is a
    definite compare failure. ``nil`` is ``None`` and ``[1 2]`` is a cas from 1 to 2.
    """
    clock = _Clock(deadline)
    events = []
    for lineno, line in enumerate(_lines(text), 1):
        clock.tick()
        if "jepsen.util" not in line:
            continue  # other loggers, banners, blank lines
        m = _JEPSEN_LINE.match(line)
        if m is None:
            raise HistoryFormatError(
                source, lineno, "expected 'INFO jepsen.util - <process> :<type> :<f> <value>'"
            )
        proc_s, etype, f, value_s = m.groups()
        if etype not in EVENT_TYPES:
            raise HistoryFormatError(source, lineno, f"must be one of {list(EVENT_TYPES)}, got :{etype}", "type")
        process: Hashable = int(proc_s) if _INT.match(proc_s) else proc_s.lstrip(":")
        if process == "nemesis":
            continue
        value = _canonical(_jepsen_value(value_s, source, lineno), "value", source, lineno)
        events.append(Event(process, etype, f, None, value, None, lineno))
    return history_from_events(
        events, source=source, timed_out_is_info=True, metadata={"format": "jepsen"}, deadline=deadline
    )


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
    import edn_format  # only for unusual values: importing it costs startup time

    try:
        return _plain(edn_format.loads(text, write_ply_tables=False))
    except Exception as exc:  # edn_format raises several exception types, RecursionError too
        raise HistoryFormatError(source, lineno, f"expected an EDN value, got {text!r} ({exc})", "value") from None


# ---------------------------------------------------------------------------
# EDN (Porcupine per-line maps, Jepsen/Knossos vectors)


def parse_porcupine_edn(text: str, source: str = "<string>", deadline: float | None = None) -> History:
    """Parse Porcupine's one-EDN-map-per-line key-value logs.

    One EDN map per line, as in Porcupine's ``test_data/kv`` and Jepsen's own
    ``history.edn``: ``{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0
    y"}``. The maps are read by the rules of :func:`parse_edn`, so the verdict is the same
    whether or not they are wrapped in ``[ ]``.
    """
    return _parse_edn(text, source, "porcupine-edn", deadline)


def parse_edn(text: str, source: str = "<string>", deadline: float | None = None) -> History:
    """Parse a Jepsen/Knossos EDN history: a vector (or sequence) of op maps.

    For example ``[{:process 0 :type :invoke :f :read :value nil} ...]``, possibly
    spread over many lines, optionally with ``:time``. ``:nemesis`` events are skipped,
    ``:info`` leaves the operation indeterminate and, as in Jepsen text logs
    (:func:`parse_jepsen_log`), so does a ``:fail`` whose ``:value`` is ``:timed-out``
    (the client gave up, the request may still have been applied).
    """
    return _parse_edn(text, source, "edn", deadline)


def _parse_edn(text: str, source: str, fmt: str, deadline: float | None) -> History:
    import edn_format  # imported here: it costs startup time for the other formats

    clock = _Clock(deadline)
    try:
        forms = [_plain(f) for f in edn_format.loads_all(text, write_ply_tables=False)]
    except RecursionError:
        raise HistoryFormatError(source, None, "invalid EDN: nested too deeply") from None
    except Exception as exc:  # EDNDecodeError, NotImplementedError for unknown tags, ...
        raise HistoryFormatError(source, _edn_error_line(text, str(exc)), f"invalid EDN: {exc}") from None
    clock.check()  # the EDN reader cannot be interrupted: at least stop after it
    if len(forms) == 1 and isinstance(forms[0], list):
        maps, depth = forms[0], 1
    else:
        maps, depth = forms, 0
    lines = _map_lines(text, depth, len(maps))
    events = []
    for i, obj in enumerate(maps):
        clock.tick()
        if not isinstance(obj, dict):
            raise HistoryFormatError(source, _nth(lines, i), f"expected an operation map, got {obj!r}")
        if obj.get("process") == "nemesis":
            continue
        events.append(_event_from_mapping(obj, source, _nth(lines, i)))
    return history_from_events(
        events, source=source, timed_out_is_info=True, metadata={"format": fmt}, deadline=deadline
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
        nonblank = [i for i, ln in enumerate(_lines(text), 1) if ln.strip()]
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
    """edn_format objects -> plain Python (keywords and symbols become their name)."""
    import edn_format

    if isinstance(value, (edn_format.Keyword, edn_format.Symbol)):
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
_BOM = "\ufeff"


def detect_format(text: str, source: str = "<string>") -> str:
    """Guess the format of ``text`` from its first meaningful line.

    Raises:
        HistoryFormatError: If no known format matches.
    """
    for lineno, line in enumerate(_lines(text.removeprefix(_BOM)), 1):
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


def parse_history(
    text: str, format: str | None = None, source: str = "<string>", deadline: float | None = None
) -> History:
    """Parse a history from text.

    Args:
        text: File contents (a leading UTF-8 byte order mark is ignored).
        format: One of :data:`FORMATS`, or ``None`` to detect it from the content.
        source: Name used in error messages and metadata.
        deadline: ``time.perf_counter()`` value past which parsing gives up.

    Returns:
        The parsed history. An empty (or whitespace-only) text, or one with only
        nemesis events, gives an empty history (which no checker accepts).

    Raises:
        HistoryFormatError: If the text is malformed, the format is unknown, or a
            forced ``format`` reads no operation from content of another format.
        BudgetExceeded: When ``deadline`` passes.
    """
    if format is not None and format not in _PARSERS:
        raise HistoryFormatError(source, None, f"unknown format {format!r}; expected one of {list(FORMATS)}")
    text = text.removeprefix(_BOM)
    if not text.strip():
        return History([], {"source": source, "format": format})
    fmt = format or detect_format(text, source)
    history = _PARSERS[fmt](text, source, deadline)
    if format is not None and not history.operations:
        _refuse_other_format(text, format, source)
    return history


def _refuse_other_format(text: str, format: str, source: str) -> None:
    # A forced format that skips every line (a Jepsen reader ignores non-Jepsen
    # lines) would otherwise check nothing.
    try:
        detected = detect_format(text, source)
    except HistoryFormatError:
        return
    if {detected, format} <= {"edn", "porcupine-edn"} or detected == format:
        return
    raise HistoryFormatError(
        source, None, f"no operation read as {format!r}, but the content looks like {detected!r}", "format"
    )


def load_history(path: str | Path, format: str | None = None, deadline: float | None = None) -> History:
    """Read and parse a history file (see :func:`parse_history`).

    Raises:
        OSError: If the file cannot be read (missing, a directory, ...).
        HistoryFormatError: If it is not UTF-8 text or does not parse.
        BudgetExceeded: When ``deadline`` passes.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HistoryFormatError(str(path), None, f"expected UTF-8 text: {exc}") from None
    return parse_history(text, format, str(path), deadline)
