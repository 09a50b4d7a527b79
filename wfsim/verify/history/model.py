"""Plain data for histories and the sequential specifications they are checked against.

A *history* is what clients observed: for every operation, who issued it, when it
was invoked, when (and whether) it returned, and with what result. A *model* is the
sequential specification of the object the clients talked to: a pure
``step(state, op) -> (legal, next_state)`` function over hashable states.

Conventions shared by every checker in this package:

* ``Operation.value`` is the input (the value written, ``(from, to)`` for ``cas``,
  the string put or appended); ``Operation.output`` is what a ``read``/``get``
  returned. ``cas`` reports its outcome through ``status``.
* ``status == "ok"``: the operation took effect and returned ``output``.
* ``status == "fail"``: a definite failure. For ``cas`` this means "the compare
  failed": the operation happened, found a value different from ``from`` and changed
  nothing (this is how Porcupine's etcd model reads it). Any other definite failure
  did not take effect and is dropped before checking.
* ``status == "info"``: indeterminate (Jepsen ``:info``, a timeout). The operation
  may or may not have taken effect, at any time after its call: its return time is
  ``math.inf``. An indeterminate read returned nothing, constrains nothing and is
  dropped.
* Models are P-compositional: the state of the whole object is the product of
  independent per-key states, and ``Model.partition`` groups operations by key.
* Keys, inputs and outputs are compared as JSON values (:mod:`.values`): ``true``
  never equals ``1``, ``1`` equals ``1.0``, arrays and objects are allowed.
  :class:`Operation` makes them canonical when it is built, and refuses times that
  are not finite or a return before the call, so that no checker sees them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .values import canonical, plain, show

Status = Literal["ok", "fail", "info"]
STATUSES: tuple[str, ...] = ("ok", "fail", "info")


class OperationError(ValueError):
    """An operation that cannot be checked, naming the offending field.

    Attributes:
        field: ``"key"``, ``"value"``, ``"output"``, ``"f"``, ``"call"``, ``"ret"``
            or ``"status"``.
        reason: What is wrong with it.
        op: Id of the operation, when known.
    """

    def __init__(self, field: str, reason: str, op: int | None = None) -> None:
        self.field = field
        self.reason = reason
        self.op = op
        suffix = "" if op is None else f" (operation {op})"
        super().__init__(f"{field}: {reason}{suffix}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One client operation: an invocation paired with its completion (if any).

    Attributes:
        id: Index of the operation in its history (stable across checkers).
        process: Client/process identifier.
        f: Function name: ``read``/``write``/``cas`` or ``get``/``put``/``append``.
        key: Key the operation addresses; ``None`` for a single register.
        value: Input value (``(from, to)`` tuple for ``cas``, ``None`` for reads).
        output: Value returned by a read/get; ``None`` otherwise.
        call: Invocation time (timestamp or event index).
        ret: Return time; ``math.inf`` if the operation never returned.
        status: ``"ok"``, ``"fail"`` (definite) or ``"info"`` (indeterminate).
        line: Line of the invocation in the source file, if read from one.
        ret_line: Line of the completion, if any.

    Raises:
        OperationError: A value that is not a JSON value, a time that is not
            finite, a return before the call or an unknown status.
    """

    id: int
    process: Hashable
    f: str
    key: Hashable | None = None
    value: Any = None
    output: Any = None
    call: float = 0.0
    ret: float = math.inf
    status: Status = "ok"
    line: int | None = field(default=None, compare=False)
    ret_line: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Canonical values make == and hash JSON equality for every checker.
        for name in ("key", "value", "output"):
            try:
                object.__setattr__(self, name, canonical(getattr(self, name)))
            except ValueError as exc:
                raise OperationError(name, str(exc), self.id) from None
        if self.status not in STATUSES:
            raise OperationError("status", f"must be one of {list(STATUSES)}, got {self.status!r}", self.id)
        if (isinstance(self.call, bool) or not isinstance(self.call, (int, float))
                or (isinstance(self.call, float) and not math.isfinite(self.call))):  # (ints of any size are exact)
            raise OperationError("call", f"time must be a finite number, got {self.call!r}", self.id)
        # ``not >=`` also catches NaN.
        if isinstance(self.ret, bool) or not isinstance(self.ret, (int, float)) or not self.ret >= self.call:
            raise OperationError("ret", f"return time {self.ret!r} is not at or after the call time {self.call!r}",
                                 self.id)

    @property
    def indeterminate(self) -> bool:
        """Whether it is unknown if the operation took effect."""
        return self.status == "info"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (``ret`` is ``None`` when infinite)."""
        return {
            "id": self.id,
            "process": self.process,
            "f": self.f,
            "key": plain(self.key),
            "value": plain(self.value),
            "output": plain(self.output),
            "call": self.call,
            "ret": None if self.ret == math.inf else self.ret,
            "status": self.status,
            "line": self.line,
        }


@dataclass
class History:
    """A list of operations plus free-form metadata (source file, format, ...)."""

    operations: list[Operation]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __getitem__(self, index: int) -> Operation:
        return self.operations[index]

    @property
    def processes(self) -> list[Hashable]:
        """Distinct processes in order of first appearance."""
        return list(dict.fromkeys(op.process for op in self.operations))


class Model(ABC):
    """Sequential specification of a P-compositional object.

    Subclasses describe one key's behaviour; the object is a product of
    independent keys. States must be hashable (they are memoised).
    """

    name: ClassVar[str]
    functions: ClassVar[frozenset[str]]
    #: Functions that only observe the state.
    read_functions: ClassVar[frozenset[str]]

    @abstractmethod
    def init(self, key: Hashable | None = None) -> Hashable:
        """Initial state of ``key``."""

    @abstractmethod
    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        """Apply ``op`` to ``state``.

        Returns:
            ``(legal, next_state)``. For an indeterminate op ``legal`` is always
            ``True`` since its output is unknown.
        """

    def validate(self, op: Operation) -> None:
        """Raise :class:`OperationError` (a ``ValueError``) if the model cannot interpret ``op``."""
        if op.f not in self.functions:
            raise OperationError(
                "f", f"model {self.name!r} has no function {op.f!r} (expected one of {sorted(self.functions)})", op.id
            )

    def prepare(self, op: Operation) -> Operation | None:
        """Return the operation to check, or ``None`` if it constrains nothing.

        Definite failures other than ``cas`` never took effect, and an
        indeterminate read returned nothing: both are dropped.
        """
        self.validate(op)
        if op.status == "fail" and op.f != "cas":
            return None
        if op.status == "info" and op.f in self.read_functions:
            return None
        return op

    def partition(self, ops: Iterable[Operation]) -> dict[Hashable | None, list[Operation]]:
        """Group operations by key (P-compositionality), in first-seen key order."""
        parts: dict[Hashable | None, list[Operation]] = {}
        for op in ops:
            parts.setdefault(op.key, []).append(op)
        return parts

    def describe(self, op: Operation) -> str:
        """Short human-readable rendering, e.g. ``p3 write(4)``."""
        key = "" if op.key is None else f"[{show(op.key)}]"
        if op.f in self.read_functions:
            body = f"{op.f}{key}() -> {'?' if op.status == 'info' else show(op.output)}"
        elif op.f == "cas":
            frm, to = op.value
            outcome = {"ok": "ok", "fail": "fail", "info": "?"}[op.status]
            body = f"cas{key}({show(frm)}, {show(to)}) -> {outcome}"
        else:
            body = f"{op.f}{key}({show(op.value)})" + (" -> ?" if op.status == "info" else "")
        return f"p{op.process} {body}"


class RegisterModel(Model):
    """A read/write/compare-and-set register, initially ``None``.

    A definite ``cas`` failure is legal only where the register did not hold
    ``from``; an indeterminate ``cas`` takes effect exactly when it would succeed.
    """

    name = "register"
    functions = frozenset({"read", "write", "cas"})
    read_functions = frozenset({"read"})

    def init(self, key: Hashable | None = None) -> Hashable:
        return None

    def validate(self, op: Operation) -> None:
        super().validate(op)
        if op.f == "cas" and not (isinstance(op.value, tuple) and len(op.value) == 2):
            raise OperationError("value", f"cas needs a [from, to] pair, got {show(op.value)}", op.id)

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        f = op.f
        if f == "read":
            return state == op.output, state
        if f == "write":
            return True, op.value
        frm, to = op.value
        if op.status == "ok":
            return state == frm, to
        if op.status == "fail":
            return state != frm, state
        return True, (to if state == frm else state)


class KVModel(Model):
    """A string key-value map with get/put/append; every key starts as ``""``."""

    name = "kv"
    functions = frozenset({"get", "put", "append"})
    read_functions = frozenset({"get"})

    def init(self, key: Hashable | None = None) -> Hashable:
        return ""

    def validate(self, op: Operation) -> None:
        super().validate(op)
        if op.f in ("put", "append") and not isinstance(op.value, str):
            raise OperationError("value", f"{op.f} needs a string value, got {show(op.value)}", op.id)
        # Values are strings: a get that returned anything else is malformed input,
        # not a consistency violation.
        if op.f == "get" and op.status == "ok" and not isinstance(op.output, str):
            raise OperationError("output", f"get returns a string, got {show(op.output)}", op.id)

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        f = op.f
        if f == "get":
            return state == op.output, state
        if f == "put":
            return True, op.value
        return True, state + op.value


MODELS: dict[str, type[Model]] = {"register": RegisterModel, "kv": KVModel}


def get_model(model: str | Model) -> Model:
    """Resolve a model name (``"register"`` or ``"kv"``) or pass a model through."""
    if isinstance(model, Model):
        return model
    try:
        return MODELS[model]()
    except KeyError:
        raise ValueError(f"unknown model {model!r}; expected one of {sorted(MODELS)}") from None


def prepared_ops(history: History | Sequence[Operation], model: Model) -> list[Operation]:
    """Validate every operation and drop those that constrain nothing."""
    out = []
    for op in history:
        kept = model.prepare(op)
        if kept is not None:
            out.append(kept)
    return out
