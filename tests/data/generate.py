"""Generate the project's own reference data for the tests (``tests/data``).

Usage::

    python tests/data/generate.py           # rewrite the fixtures
    python tests/data/generate.py --check   # exit 1 if a committed fixture differs

The fixtures have the formats of the reference data in ``../shared/data`` (Jepsen
etcd text logs, Porcupine's one-EDN-map-per-line key-value logs, WfFormat 1.5) so the
same reader and checker code runs on them, but nothing is copied from there.

Verdicts are known by construction, never by running wfsim's checkers:

* A *linearizable* history is the log of a simulated atomic object: every operation
  takes effect at one instant inside its interval (an indeterminate one at any instant
  after its call, possibly after its client gave up, or never), and what the reads
  return and whether each ``cas`` succeeds is replayed in the order of those instants.
  Those instants are a linearization, so the history is linearizable.
* A *non-linearizable* history is such a log with one result changed, and the
  generator only keeps the change when a short argument over the written history
  alone (the order of its lines, the values, the statuses) proves that no
  linearization exists; the argument is written, with line numbers, into the
  folder's ``verdicts.json`` (``why``).

Everything is deterministic (fixed seeds, no clock): the same script gives the same
bytes. ``tests/data/README.md`` describes the files.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_GEN = HERE.parents[1] / "benchmarks" / "history_gen.py"
# benchmarks/ is not a package: load its generator by path (as test_history_scale does).
_spec = importlib.util.spec_from_file_location("history_gen", _GEN)
history_gen = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(history_gen)  # type: ignore[union-attr]

#: How long after its client gave up an indeterminate operation may still take effect.
LATE = 2.0
#: Register values, as in the etcd logs (0..4); perturbations use values above them.
VALUES = 5
#: Tries per fixture: seeds ``1000 * seed, 1000 * seed + 1, ...`` until one has the required
#: shapes and, for a ``-bad`` one, a provable perturbation (the seed used is in verdicts.json).
TRIES = 200

REGISTER_MODEL = "single register with read/write/cas; initial value nil"
KV_MODEL = "key-value map with get/put/append; initial value empty string per key"


# ---------------------------------------------------------------------------
# Operations and the simulated atomic object


@dataclass(eq=False)
class Op:
    """One operation as generated (compared by identity).

    Attributes:
        process: Jepsen process id.
        f: ``read``/``write``/``cas`` or ``get``/``put``/``append``.
        key: Key (kv) or ``None`` (register).
        value: Input: the value written, ``(from, to)`` for ``cas``, ``None`` for reads.
        call: Invocation time.
        end: When the client stopped waiting: the return, or when it gave up.
        ending: ``"ok"`` (the client got an answer), ``"info"`` (it gave up with
            ``:info :timed-out`` and its process is replaced) or ``"timeout"`` (it
            gave up with ``:fail :timed-out`` and the same process goes on).
        point: When the operation took effect, or ``None`` if it never did.
        force_fail: A ``cas`` answered ``:fail`` whatever it found (a perturbation).
        output: What a read/get returned (set by :func:`replay`).
        succeeded: Whether a ``cas`` found its ``from`` (set by :func:`replay`).
        source: The operation whose effect a read/get observed last (``None``: the
            initial value), set by :func:`replay`.
        line: Line of the invocation in the written file (1-based).
        ret_line: Line of the completion.
    """

    process: int
    f: str
    key: str | None
    value: Any
    call: float
    end: float
    ending: str
    point: float | None
    force_fail: bool = False
    output: Any = None
    succeeded: bool = False
    source: Op | None = None
    line: int = 0
    ret_line: int = 0

    @property
    def definite(self) -> bool:
        """Whether the client got an answer (the history then bounds the operation)."""
        return self.ending == "ok"

    @property
    def ret(self) -> float:
        """Return time as a checker sees it: an indeterminate operation never returns."""
        return self.end if self.definite else math.inf

    @property
    def reads(self) -> bool:
        return self.f in ("read", "get")

    @property
    def status(self) -> str:
        """``:type`` of the completion line."""
        if self.ending == "info":
            return "info"
        if self.ending == "timeout":
            return "fail"
        if self.f == "cas" and not self.succeeded:
            return "fail"
        return "ok"

    def at(self) -> str:
        """Where the operation is in the file, e.g. ``p3 write 4 (lines 10-14)``."""
        what = {"read": "read", "get": f"get [{self.key}]"}.get(self.f)
        if what is None:
            shown = _jepsen(self.value) if self.key is None else f'"{self.value}"'
            what = f"{self.f} {shown}" if self.key is None else f"{self.f} [{self.key}] {shown}"
        return f"p{self.process} {what} (lines {self.line}-{self.ret_line})"


def replay(ops: list[Op], initial: Any) -> None:
    """Run the operations on an atomic object in the order of their ``point`` s.

    Sets every read's ``output`` and ``source`` and every ``cas``'s ``succeeded``.
    The points are a linearization of the history written from ``ops``, so the
    history is linearizable (unless a perturbation changes a result afterwards).
    """
    for op in ops:
        if op.definite:
            assert op.point is not None and op.call <= op.point <= op.end, op
        else:
            assert op.point is None or op.point >= op.call, op
    state: dict[str | None, tuple[Any, Op | None]] = {}
    for op in sorted((o for o in ops if o.point is not None), key=lambda o: o.point):  # type: ignore[arg-type,return-value]
        value, source = state.get(op.key, (initial, None))
        if op.reads:
            op.output, op.source = value, source
        elif op.f in ("write", "put"):
            state[op.key] = (op.value, op)
        elif op.f == "append":
            state[op.key] = (value + op.value, op)
        else:  # cas: an indeterminate one changes the value only where it would succeed
            op.succeeded = value == op.value[0] and not op.force_fail
            if op.succeeded:
                state[op.key] = (op.value[1], op)


def set_lines(ops: list[Op]) -> None:
    """Number the lines: one per invocation and one per completion, in time order."""
    events = sorted([(op.call, 0, i) for i, op in enumerate(ops)] + [(op.end, 1, i) for i, op in enumerate(ops)])
    times = [t for t, _, _ in events]
    assert len(set(times)) == len(times), "two events at the same instant would make the line order arbitrary"
    for lineno, (_, kind, i) in enumerate(events, 1):
        if kind == 0:
            ops[i].line = lineno
        else:
            ops[i].ret_line = lineno


def plan(
    rng: random.Random,
    kind: str,
    clients: int,
    n_ops: int,
    *,
    reads: float = 0.4,
    mix: float = 0.25,
    info: float = 0.0,
    timeout: float = 0.0,
    keys: int = 5,
) -> list[Op]:
    """Plan ``n_ops`` operations of ``clients`` clients (intervals from ``history_gen.timeline``).

    Args:
        rng: Random source.
        kind: ``"register"`` (read/write/cas of 0..4) or ``"kv"`` (get/put/append of
            Porcupine-style unique strings ``"x <process> <n> y"`` on keys ``"0"``...).
        clients: Number of clients.
        n_ops: Number of operations.
        reads: Share of reads/gets.
        mix: Share of ``cas`` (register) or ``put`` (kv) among all operations.
        info: Share of operations whose client gives up: reads with ``:fail
            :timed-out`` (they never take effect), the others with ``:info`` (they
            take effect, at any time after the call, or not, with even odds).
        timeout: Share of writes/cas/put/append that end ``:fail :timed-out``: just
            as indeterminate as ``:info``, but the process goes on.
        keys: Number of keys (kv).

    Returns:
        The operations in call order, not yet replayed.
    """
    process = list(range(clients))
    written: dict[int, int] = {}  # kv: values written by each process so far
    ops = []
    for call, end, c in history_gen.timeline(clients, n_ops, rng):
        pid = process[c]
        x = rng.random()
        if kind == "register":
            f = "read" if x < reads else "cas" if x < reads + mix else "write"
            key = None
            value: Any = None
            if f == "write":
                value = rng.randrange(VALUES)
            elif f == "cas":
                value = (rng.randrange(VALUES), rng.randrange(VALUES))
        else:
            f = "get" if x < reads else "put" if x < reads + mix else "append"
            key = str(rng.randrange(keys))
            value = None
            if f != "get":
                value = f"x {pid} {written.get(pid, 0)} y"
                written[pid] = written.get(pid, 0) + 1
        y = rng.random()
        if y < info:
            ending = "timeout" if f in ("read", "get") else "info"
        elif y < info + timeout and f not in ("read", "get"):
            ending = "timeout"
        else:
            ending = "ok"
        if ending == "ok":
            point: float | None = rng.uniform(call, end)
        elif f in ("read", "get") or rng.random() < 0.5:
            point = None
        else:
            point = rng.uniform(call, end + LATE)
        ops.append(Op(pid, f, key, value, call, end, ending, point))
        if ending == "info":
            process[c] += clients  # Jepsen's convention for a crashed client's successor
    return ops


# ---------------------------------------------------------------------------
# Shapes a fixture must contain (checked on the simulation, reported in the notes)


def _indeterminate_mutations(ops: list[Op]) -> list[Op]:
    return [op for op in ops if not op.definite and not op.reads]


def _observed(ops: list[Op]) -> set[Op]:
    return {op.source for op in ops if op.reads and op.definite and op.source is not None}


SHAPES: dict[str, Callable[[list[Op]], int]] = {
    "cas ok": lambda ops: sum(op.f == "cas" and op.definite and op.succeeded for op in ops),
    "cas fail": lambda ops: sum(op.f == "cas" and op.definite and not op.succeeded for op in ops),
    "indeterminate, took effect and was read": lambda ops: len(set(_indeterminate_mutations(ops)) & _observed(ops)),
    "indeterminate, took effect after its client gave up and was read": lambda ops: sum(
        op.point is not None and op.point > op.end for op in set(_indeterminate_mutations(ops)) & _observed(ops)),
    "indeterminate, never took effect": lambda ops: sum(op.point is None for op in _indeterminate_mutations(ops)),
    ":fail :timed-out write, took effect and was read": lambda ops: sum(
        op.ending == "timeout" for op in set(_indeterminate_mutations(ops)) & _observed(ops)),
    ":fail :timed-out read": lambda ops: sum(op.reads and op.ending == "timeout" for op in ops),
    "replaced process": lambda ops: sum(op.ending == "info" for op in ops),
}


def shapes(ops: list[Op]) -> dict[str, int]:
    """How many of each tricky shape the history has (non-zero ones only)."""
    counts = {name: count(ops) for name, count in SHAPES.items()}
    return {name: n for name, n in counts.items() if n}


# ---------------------------------------------------------------------------
# Register: proofs that a result is impossible (over the written history only)


def _sets(op: Op) -> tuple[bool, Any]:
    """Whether ``op`` may leave the register holding a value, and which.

    Every write may (a definite one did, an indeterminate one may have); a ``cas``
    unless it definitely failed.
    """
    if op.f == "write":
        return True, op.value
    if op.f == "cas" and not (op.definite and op.status == "fail"):
        return True, op.value[1]
    return False, None


def _definite_mutation(op: Op) -> bool:
    return op.definite and op.status == "ok" and op.f in ("write", "cas")


def not_held(ops: list[Op], target: Op, v: Any) -> str | None:
    """Why the register cannot hold ``v`` where ``target`` (a definite read or a
    successful ``cas``) takes effect, or ``None`` if neither argument below applies.

    Setters of ``v`` are the operations other than ``target`` that may leave the
    register at ``v``. A setter must precede, in any linearization, an operation
    that it returned before; and when it is the only setter of ``v`` (and ``v`` is not
    the initial value), also every definite read of ``v``, which can only see it.

    (a) ``v`` is not the initial ``nil`` and every setter was invoked after
        ``target`` returned: no setter can precede ``target``.
    (b) A definite write (or successful ``cas``) ``w2`` of another value returned
        before ``target`` was invoked, and every setter must precede ``w2`` or was
        invoked after ``target`` returned: the last mutation before ``target`` is
        ``w2`` or one after it, none of which leaves ``v``.
    """
    setters = [x for x in ops if x is not target and _sets(x) == (True, v)]
    deadline = {x: x.ret for x in setters}
    if len(setters) == 1 and v is not None:
        (x,) = setters
        seen = [r for r in ops if r is not target and r.f == "read" and r.definite and r.output == v]
        if seen:
            first = min(seen, key=lambda r: r.end)
            deadline[x] = min(deadline[x], first.end)
    shown = _jepsen(v)
    if v is not None and all(x.call > target.end for x in setters):
        if not setters:
            return f"{target.at()} needs the register at {shown}, which nothing writes and is not the initial nil"
        return (f"{target.at()} needs the register at {shown}, but only {_some(setters)} write {shown}, "
                f"invoked after it returned")
    for w2 in ops:
        if w2 is target or not _definite_mutation(w2) or _sets(w2)[1] == v or w2.end >= target.call:
            continue
        if all(x.call > target.end or deadline[x] < w2.call for x in setters):
            early = [x for x in setters if x.call <= target.end and x.ret < w2.call]
            seen = [x for x in setters if x.call <= target.end and x.ret >= w2.call]
            why = [f"{len(early)} returned before that {w2.f} was invoked"] if early else []
            for x in seen:
                r = min((r for r in ops if r is not target and r.f == "read" and r.definite and r.output == v),
                        key=lambda r: r.end)
                why.append(f"{x.at()}, the only writer of {shown}, must precede {r.at()}, which read {shown} and "
                           f"returned before it was invoked")
            late = len(setters) - len(early) - len(seen)
            if late:
                why.append(f"{late} were invoked after the target returned")
            if v is None:
                why = ["no operation writes nil"]
            return (f"{target.at()} needs the register at {shown}, but {w2.at()} wrote {_jepsen(_sets(w2)[1])} and "
                    f"returned before the target was invoked, and no writer of {shown} can come between them: "
                    + "; ".join(why))
    return None


def _some(ops: list[Op], at_most: int = 3) -> str:
    """Up to ``at_most`` operations, then how many more."""
    shown = ", ".join(op.at() for op in ops[:at_most])
    return shown + (f" and {len(ops) - at_most} more" if len(ops) > at_most else "")


def held(ops: list[Op], target: Op, a: Any) -> str | None:
    """Why the register must hold ``a`` where the definitely failed ``cas`` ``target``
    takes effect, or ``None`` if the argument does not apply.

    A definite write (or successful ``cas``) ``w`` of ``a`` returned before ``target``
    was invoked, and every other operation that may change the register and can come
    between them (invoked before ``target`` returned, not returned before ``w`` was
    invoked) either writes ``a`` too or is a ``cas`` from another value (which cannot
    change an ``a``, and whose success there would itself be illegal). So the register
    holds ``a`` at ``target``, whose compare cannot have failed.
    """
    for w in ops:
        if w is target or not _definite_mutation(w) or _sets(w)[1] != a or w.end >= target.call:
            continue
        window = [x for x in ops if x is not target and x is not w and _sets(x)[0]
                  and x.call < target.end and x.ret > w.call]
        if all(_sets(x)[1] == a or (x.f == "cas" and x.value[0] != a) for x in window):
            return (f"{target.at()} failed, but {w.at()} returned before it was invoked and every operation "
                    f"that may change the register in between ({len(window)} of them) writes {_jepsen(a)} or is "
                    f"a cas from another value")
    return None


def _middle(ops: list[Op]) -> list[Op]:
    """Operations from the middle of the history on, so a violation is not at the edge."""
    return ops[len(ops) // 2:] + ops[: len(ops) // 2]


def stale_read(ops: list[Op]) -> str | None:
    """A definite read returns a value the register provably no longer (or not yet) holds."""
    for r in _middle(ops):
        if r.f != "read" or not r.definite:
            continue
        for v in [*range(VALUES), None]:  # nil (the initial value) last: the easy case
            # Stale: v was written before the read was invoked (else it is a future read).
            if v != r.output and (v is None or any(_sets(x) == (True, v) and x.ret < r.call for x in ops)):
                proof = not_held(ops, r, v)
                if proof is not None:
                    r.output = v
                    return proof
    return None


def overwritten_read(ops: list[Op]) -> str | None:
    """A read returns the value of a write ``w`` that a later write ``w2`` overwrote
    before the read was invoked (``w2`` invoked after ``w`` returned); ``w``'s value
    is made unique first, so that no other write of it can come between them (as
    ``history_gen``'s ``stale`` kind, which needs fresh values to be provable at
    high concurrency)."""
    fresh = VALUES + 1
    for r in _middle(ops):
        if r.f != "read" or not r.definite:
            continue
        for w2 in sorted(ops, key=lambda o: -o.end):  # the latest overwrite first: a recent stale value
            if not (w2.f == "write" and w2.definite and w2.end < r.call):
                continue
            w = max((w for w in ops if w.f == "write" and w.definite and w.end < w2.call), key=lambda o: o.end,
                    default=None)
            if w is None:
                continue
            w.value = fresh
            replay(ops, None)
            r.output = fresh
            return not_held(ops, r, fresh)
    return None


def thin_air_read(ops: list[Op]) -> str | None:
    """A definite read returns a value nobody writes."""
    for r in _middle(ops):
        if r.f == "read" and r.definite:
            r.output = VALUES + 4
            return not_held(ops, r, r.output)
    return None


def future_read(ops: list[Op]) -> str | None:
    """A read returns the value of a write invoked only after the read returned."""
    for r in _middle(ops):
        if r.f != "read" or not r.definite:
            continue
        later = [w for w in ops if w.f == "write" and w.definite and w.call > r.end]
        if later:
            later[0].value = VALUES + 2  # a fresh value: only this write writes it
            replay(ops, None)
            r.output = VALUES + 2
            return not_held(ops, r, r.output)
    return None


def resurrected_write(ops: list[Op]) -> str | None:
    """A value written by an indeterminate write, read once, is read again after a
    definite write of another value: the write cannot take effect twice."""
    fresh = VALUES + 3
    for x in _middle(ops):
        if x.f != "write" or x.definite or x.point is None:
            continue
        old = x.value
        x.value = fresh
        replay(ops, None)
        for r1 in ops:
            if not (r1.f == "read" and r1.definite and r1.output == fresh):
                continue
            for w2 in ops:
                if not (_definite_mutation(w2) and w2.call > r1.end and _sets(w2)[1] != fresh):
                    continue
                for r2 in ops:
                    if r2.f == "read" and r2.definite and r2.call > w2.end:
                        r2.output = fresh
                        proof = not_held(ops, r2, fresh)
                        if proof is not None and all(s.call < r2.end for s in ops if _sets(s) == (True, fresh)):
                            return proof
                        replay(ops, None)
        x.value = old
        replay(ops, None)
    return None


def cas_from_wrong_value(ops: list[Op]) -> str | None:
    """A successful ``cas`` whose ``from`` the register provably does not hold."""
    for c in _middle(ops):
        if c.f != "cas" or not c.definite or not c.succeeded:
            continue
        frm, to = c.value
        for a in range(VALUES):
            if a in (frm, to):
                continue
            c.value = (a, to)
            proof = not_held(ops, c, a)
            if proof is not None:
                return proof
            c.value = (frm, to)
    return None


def cas_failed_on_right_value(ops: list[Op]) -> str | None:
    """A definite ``:fail :cas`` whose ``from`` the register provably holds."""
    for c in _middle(ops):
        if c.f != "cas" or not c.definite or not c.succeeded or held(ops, c, c.value[0]) is None:
            continue
        c.force_fail = True
        replay(ops, None)  # the rest of the history as if the cas had not written
        proof = held(ops, c, c.value[0])
        if proof is not None:
            return proof
        c.force_fail = False
        replay(ops, None)
    return None


# ---------------------------------------------------------------------------
# Key-value: proofs over Porcupine-style values ("x <process> <n> y", each unique)

_TOKEN = re.compile(r"x \d+ \d+ y")


def tokens(text: str) -> list[str]:
    """The values concatenated in ``text`` (each written value is one token)."""
    found = _TOKEN.findall(text)
    assert "".join(found) == text, text
    return found


def _puts_between(ops: list[Op], key: str | None, after: Op, target: Op, but: Op | None = None) -> list[Op]:
    """Puts on ``key`` that can be linearized between ``after`` and ``target``."""
    return [p for p in ops if p.f == "put" and p.key == key and p is not but
            and p.call < target.end and p.ret > after.call]


def lost_append(ops: list[Op]) -> str | None:
    """A get misses the value of an append that returned before the get was invoked,
    with no put on that key that could come between them."""
    for g in _middle(ops):
        if g.f != "get" or not g.definite:
            continue
        for a in ops:
            if (a.f == "append" and a.definite and a.key == g.key and a.end < g.call
                    and a.value in tokens(g.output) and not _puts_between(ops, g.key, a, g)):
                g.output = "".join(t for t in tokens(g.output) if t != a.value)
                return (f"{g.at()} returned {g.output!r} without \"{a.value}\", which only {a.at()} writes; that "
                        f"append returned before the get was invoked and no put on key {g.key} can come between them")
    return None


def reordered_appends(ops: list[Op]) -> str | None:
    """A get shows two appended values in the opposite of their real-time order."""
    for g in _middle(ops):
        if g.f != "get" or not g.definite:
            continue
        seen = tokens(g.output)
        by_value = {o.value: o for o in ops if o.f == "append" and o.key == g.key}
        for i, first in enumerate(seen):
            for j in range(i + 1, len(seen)):
                a, b = by_value.get(first), by_value.get(seen[j])
                if a is not None and b is not None and a.definite and a.end < b.call:
                    seen[i], seen[j] = seen[j], seen[i]
                    g.output = "".join(seen)
                    return (f"{g.at()} shows \"{b.value}\" before \"{a.value}\", but {a.at()} returned before "
                            f"{b.at()} was invoked, each value is appended by one operation only, and a put in "
                            f"between would have erased the first from every later state")
    return None


def value_of_another_key(ops: list[Op]) -> str | None:
    """A get returns a value appended to another key only (a thin-air value for its key)."""
    for g in _middle(ops):
        if g.f != "get" or not g.definite:
            continue
        other = next((o for o in ops if o.f == "append" and o.definite and o.key != g.key and o.end < g.call), None)
        if other is not None and not any(o.key == g.key and o.value == other.value for o in ops):
            g.output += other.value
            return (f"{g.at()} returned {g.output!r}, which contains \"{other.value}\"; only {other.at()} writes "
                    f"that value, to key {other.key}")
    return None


def lost_put(ops: list[Op]) -> str | None:
    """A get does not start with the value of a put that returned before it was
    invoked, with no other put on that key that could come between them."""
    for g in _middle(ops):
        if g.f != "get" or not g.definite:
            continue
        for p in ops:
            if (p.f == "put" and p.definite and p.key == g.key and p.end < g.call
                    and g.output.startswith(p.value) and not _puts_between(ops, g.key, p, g, but=p)):
                g.output = g.output[len(p.value):]
                return (f"{g.at()} returned {g.output!r}, which does not start with \"{p.value}\"; {p.at()} returned "
                        f"before the get was invoked, no other put on key {g.key} can come between them, and appends "
                        f"only add to the end")
    return None


# ---------------------------------------------------------------------------
# Writers


def _jepsen(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, tuple):
        return "[" + " ".join(_jepsen(v) for v in value) + "]"
    return str(value)


def _completion_value(op: Op, show: Callable[[Any], str]) -> str:
    if op.ending != "ok":
        return ":timed-out"
    return show(op.output if op.reads else op.value)


def jepsen_log(ops: list[Op]) -> str:
    """The history as a Jepsen etcd text log (``INFO  jepsen.util - p\\t:type\\t:f\\tvalue``)."""
    lines: dict[int, str] = {}
    for op in ops:
        lines[op.line] = f"INFO  jepsen.util - {op.process}\t:invoke\t:{op.f}\t{_jepsen(op.value)}"
        lines[op.ret_line] = f"INFO  jepsen.util - {op.process}\t:{op.status}\t:{op.f}\t{_completion_value(op, _jepsen)}"
    return "".join(lines[i] + "\n" for i in sorted(lines))


def _edn(value: Any) -> str:
    return "nil" if value is None else f'"{value}"'


def edn_lines(ops: list[Op]) -> str:
    """The history as Porcupine's one EDN map per line."""
    lines: dict[int, str] = {}
    for op in ops:
        head = f"{{:process {op.process}, :type"
        tail = f":f :{op.f}, :key \"{op.key}\", :value"
        lines[op.line] = f"{head} :invoke, {tail} {_edn(op.value)}}}"
        lines[op.ret_line] = f"{head} :{op.status}, {tail} {_completion_value(op, _edn)}}}"
    return "".join(lines[i] + "\n" for i in sorted(lines))


# ---------------------------------------------------------------------------
# The fixtures


@dataclass
class Spec:
    """One history fixture: how to plan it, and what to change (if anything)."""

    name: str
    seed: int
    clients: int
    n_ops: int
    perturb: Callable[[list[Op]], str | None] | None = None
    require: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


REGISTER_SPECS = [
    Spec("r01-ok.log", 1, 1, 40, options={"mix": 0.3}),
    Spec("r03-ok.log", 2, 3, 150, require=("cas ok", "cas fail")),
    Spec("r05-info-ok.log", 3, 5, 200, options={"info": 0.08, "timeout": 0.04}, require=(
        "cas ok", "cas fail", "indeterminate, took effect after its client gave up and was read",
        "indeterminate, never took effect", ":fail :timed-out write, took effect and was read",
        ":fail :timed-out read", "replaced process")),
    Spec("r10-ok.log", 4, 10, 300, options={"info": 0.03, "timeout": 0.02},
         require=("indeterminate, took effect and was read", "indeterminate, never took effect")),
    Spec("r01-stale-bad.log", 5, 1, 40, stale_read),
    Spec("r03-thin-air-bad.log", 6, 3, 100, thin_air_read),
    Spec("r03-cas-fail-bad.log", 7, 3, 150, cas_failed_on_right_value, options={"mix": 0.35}),
    Spec("r05-future-read-bad.log", 8, 5, 200, future_read, options={"info": 0.05}),
    Spec("r05-stale-bad.log", 9, 5, 200, stale_read, options={"info": 0.05, "timeout": 0.03},
         require=("indeterminate, took effect and was read", ":fail :timed-out read")),
    Spec("r05-cas-ok-bad.log", 10, 5, 200, cas_from_wrong_value, options={"info": 0.05}),
    Spec("r05-resurrected-bad.log", 11, 5, 200, resurrected_write, options={"info": 0.08}),
    Spec("r10-overwritten-bad.log", 12, 10, 300, overwritten_read, options={"info": 0.03}),
]

KV_SPECS = [
    Spec("k01-ok.txt", 21, 1, 60, options={"keys": 3, "mix": 0.15}),
    Spec("k05-ok.txt", 22, 5, 150, options={"mix": 0.15}),
    Spec("k05-info-ok.txt", 23, 5, 150, options={"mix": 0.15, "info": 0.08, "timeout": 0.04}, require=(
        "indeterminate, took effect after its client gave up and was read", "indeterminate, never took effect",
        ":fail :timed-out write, took effect and was read", ":fail :timed-out read", "replaced process")),
    Spec("k10-ok.txt", 24, 10, 200, options={"mix": 0.15}),
    Spec("k01-lost-append-bad.txt", 25, 1, 60, lost_append, options={"keys": 3, "mix": 0.15}),
    Spec("k05-lost-append-bad.txt", 26, 5, 150, lost_append, options={"mix": 0.1, "info": 0.05}),
    Spec("k05-reordered-bad.txt", 27, 5, 150, reordered_appends, options={"mix": 0.1}),
    Spec("k05-other-key-bad.txt", 28, 5, 150, value_of_another_key, options={"mix": 0.15, "info": 0.05}),
    Spec("k10-lost-put-bad.txt", 29, 10, 200, lost_put, options={"mix": 0.2}),
]


def build(spec: Spec, kind: str) -> tuple[str, str, str, int]:
    """Generate one fixture.

    Returns:
        ``(text, verdict, why, seed)``: the file's contents, ``"linearizable"`` or
        ``"not-linearizable"``, the reason, and the seed used.

    Raises:
        RuntimeError: No seed among :data:`TRIES` gave the required shapes or a
            provable perturbation.
    """
    initial = None if kind == "register" else ""
    for seed in range(spec.seed * 1000, spec.seed * 1000 + TRIES):
        rng = random.Random(seed)
        ops = plan(rng, kind, spec.clients, spec.n_ops, **spec.options)
        set_lines(ops)
        replay(ops, initial)
        found = shapes(ops)
        if not all(found.get(name) for name in spec.require):
            continue
        if spec.perturb is None:
            verdict = "linearizable"
            summary = ", ".join(f"{name}: {n}" for name, n in found.items()) or "no indeterminate operation"
            why = (f"linearizable by construction: every operation takes effect at one instant inside its interval "
                   f"(an indeterminate one at any instant after its call, or never) and results are replayed in "
                   f"that order ({summary})")
        else:
            proof = spec.perturb(ops)
            if proof is None:
                continue
            verdict, why = "not-linearizable", proof
        write = jepsen_log if kind == "register" else edn_lines
        return write(ops), verdict, why, seed
    raise RuntimeError(f"{spec.name}: no seed in {TRIES} tries gave the required history")


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def histories() -> dict[str, str]:
    """Every history fixture: relative path -> contents."""
    files: dict[str, str] = {}
    for folder, kind, specs, model in (("register", "register", REGISTER_SPECS, REGISTER_MODEL),
                                       ("kv", "kv", KV_SPECS, KV_MODEL)):
        verdicts, why, seeds = {}, {}, {}
        for spec in specs:
            text, verdicts[spec.name], why[spec.name], seeds[spec.name] = build(spec, kind)
            files[f"histories/{folder}/{spec.name}"] = text
        files[f"histories/{folder}/verdicts.json"] = _json(
            {"model": model, "generator": "tests/data/generate.py", "verdicts": verdicts, "why": why, "seeds": seeds})
    # An empty log (like etcd_095.log, a run whose cluster never started): no verdict.
    files["histories/register/empty.log"] = ""
    return files


# ---------------------------------------------------------------------------
# A small WfFormat 1.5 instance with a hand-checked critical path

MACHINE = "node-a"
SPEED_MHZ = 2400

#: id, runtime (s, binary fractions so sums are exact), cores, parents, input files, output files
TASKS: list[tuple[str, float, int, list[str], list[str], list[str]]] = [
    ("fetch", 12.5, 1, [], ["survey.tbl"], ["raw_1.fits", "raw_2.fits", "raw_3.fits"]),
    ("project_1", 40.0, 2, ["fetch"], ["raw_1.fits", "region.hdr"], ["proj_1.fits"]),
    ("project_2", 55.25, 2, ["fetch"], ["raw_2.fits", "region.hdr"], ["proj_2.fits"]),
    ("project_3", 31.0, 1, ["fetch"], ["raw_3.fits", "region.hdr"], ["proj_3.fits"]),
    ("diff_12", 8.0, 1, ["project_1", "project_2"], ["proj_1.fits", "proj_2.fits"], ["diff_12.fits"]),
    ("diff_23", 9.5, 1, ["project_2", "project_3"], ["proj_2.fits", "proj_3.fits"], ["diff_23.fits"]),
    ("fit", 6.0, 1, ["diff_12", "diff_23"], ["diff_12.fits", "diff_23.fits"], ["fits.tbl"]),
    ("background", 20.0, 1, ["fit", "project_1", "project_2", "project_3"],
     ["fits.tbl", "proj_1.fits", "proj_2.fits", "proj_3.fits"], ["corr_1.fits", "corr_2.fits", "corr_3.fits"]),
    ("mosaic", 15.75, 4, ["background"], ["corr_1.fits", "corr_2.fits", "corr_3.fits"], ["mosaic.fits"]),
    # A control dependency only: notify reads nothing mosaic writes.
    ("notify", 0.5, 1, ["mosaic"], [], ["done.txt"]),
]
FILE_SIZES = {
    "survey.tbl": 2_000_000, "region.hdr": 4_096,
    "raw_1.fits": 48_000_000, "raw_2.fits": 52_000_000, "raw_3.fits": 45_000_000,
    "proj_1.fits": 60_000_000, "proj_2.fits": 64_000_000, "proj_3.fits": 58_000_000,
    "diff_12.fits": 3_000_000, "diff_23.fits": 2_500_000, "fits.tbl": 12_000,
    "corr_1.fits": 60_000_000, "corr_2.fits": 64_000_000, "corr_3.fits": 58_000_000,
    "mosaic.fits": 150_000_000, "done.txt": 16,
}
#: Worked out by hand in tests/data/README.md; the generator checks networkx agrees.
CRITICAL_PATH = ["fetch", "project_2", "diff_23", "fit", "background", "mosaic", "notify"]
CRITICAL_PATH_S = 12.5 + 55.25 + 9.5 + 6.0 + 20.0 + 15.75 + 0.5  # 119.5
RECORDED_MAKESPAN_S = 131.0


def workflow_instance() -> tuple[dict[str, Any], dict[str, Any]]:
    """The WfFormat 1.5 document and its answers (tasks, edges, critical path)."""
    import networkx as nx

    children: dict[str, list[str]] = {t[0]: [] for t in TASKS}
    for tid, _, _, parents, _, _ in TASKS:
        for p in parents:
            children[p].append(tid)
    spec_tasks, exec_tasks = [], []
    start = 0
    for tid, runtime, cores, parents, inputs, outputs in TASKS:
        spec_tasks.append({"name": tid, "id": tid, "children": children[tid], "inputFiles": inputs,
                           "outputFiles": outputs, "parents": parents})
        exec_tasks.append({
            "id": tid, "runtimeInSeconds": runtime, "executedAt": f"2024-03-01T10:{start // 60:02d}:{start % 60:02d}Z",
            "command": {"program": tid.split("_")[0], "arguments": [*inputs, *outputs]},
            "coreCount": cores, "avgCPU": 97.5, "memoryInBytes": 256_000_000 * cores, "machines": [MACHINE],
        })
        start += 7
    doc = {
        "name": "wfsim-mosaic-10",
        "description": "Hand-written for wfsim's tests (tests/data/generate.py): a small mosaic-like workflow",
        "createdAt": "2024-03-01T12:00:00Z",
        "schemaVersion": "1.5",
        "author": {"name": "wfsim", "email": "wfsim@example.org"},
        "workflow": {
            "specification": {
                "tasks": spec_tasks,
                "files": [{"id": name, "sizeInBytes": size} for name, size in FILE_SIZES.items()],
            },
            "execution": {
                "makespanInSeconds": RECORDED_MAKESPAN_S,
                "executedAt": "2024-03-01T10:00:00Z",
                "tasks": exec_tasks,
                "machines": [{"nodeName": MACHINE, "system": "linux", "architecture": "x86_64",
                              "memoryInBytes": 64_000_000_000,
                              "cpu": {"vendor": "GenuineIntel", "coreCount": 16, "speedInMHz": SPEED_MHZ}}],
            },
        },
    }
    # The critical path, independently of the hand computation: longest path over
    # the parent edges, each edge weighted by the runtime of the task it enters.
    g: nx.DiGraph = nx.DiGraph()
    runtimes = {t[0]: t[1] for t in TASKS}
    for tid, _, _, parents, _, _ in TASKS:
        g.add_edge("__start__", tid, weight=runtimes[tid])
        for p in parents:
            g.add_edge(p, tid, weight=runtimes[tid])
    path = nx.dag_longest_path(g, weight="weight")[1:]
    length = nx.dag_longest_path_length(g, weight="weight")
    assert path == CRITICAL_PATH and length == CRITICAL_PATH_S, (path, length)
    edges = sorted((p, t[0]) for t in TASKS for p in t[3])
    answers = {
        "wfsim-mosaic-10.json": {
            "tasks": len(TASKS), "edges": len(edges), "critical_path": CRITICAL_PATH,
            "critical_path_s": CRITICAL_PATH_S, "recorded_makespan_s": RECORDED_MAKESPAN_S,
            "speed_mhz": SPEED_MHZ,
        },
    }
    return doc, answers


def workflows() -> dict[str, str]:
    """The workflow fixtures: relative path -> contents."""
    doc, answers = workflow_instance()
    return {"workflows/wfsim-mosaic-10.json": _json(doc), "workflows/answers.json": _json(answers)}


# ---------------------------------------------------------------------------


def fixtures() -> dict[str, str]:
    """Every generated file: path relative to ``tests/data`` -> contents."""
    return {**histories(), **workflows()}


def differences(root: Path = HERE) -> list[str]:
    """Generated files missing from ``root`` or different there."""
    return [rel for rel, text in fixtures().items()
            if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text]


def write(root: Path = HERE, files: Iterable[tuple[str, str]] | None = None) -> None:
    """Write every fixture under ``root``."""
    for rel, text in files if files is not None else fixtures().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    if args.check:
        diff = differences()
        for rel in diff:
            print(f"differs: {rel}", file=sys.stderr)
        return 1 if diff else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
