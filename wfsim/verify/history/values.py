"""Operation values compared as JSON values.

The checkers compare values only with ``==`` and ``hash``. Python's own equality
differs from JSON's in two ways that would give wrong verdicts (``True == 1``, so
"write true, read 1" looked linearizable) or crashes (lists and dicts are
unhashable). :func:`canonical` maps every value, once, at the boundary (when an
:class:`~wfsim.verify.history.model.Operation` is built), to a form whose ``==``
*is* JSON equality:

* ``null``, booleans, numbers, strings, arrays and objects are distinct:
  ``true != 1``, ``1 != "1"``, ``[1] != {"0": 1}``;
* numbers are equal when they are mathematically equal: ``1 == 1.0 == 1e0``
  (JSON has a single number type, RFC 8259 §6), and the comparison is exact however
  many digits they have: JSON numbers are read as written (integers as ``int``,
  others as :class:`~decimal.Decimal`, kept as a ``float`` when one holds them
  exactly), so ``1e25`` equals ``10000000000000000000000000`` and
  ``9007199254740993.0`` does not equal ``9007199254740992``. ``NaN`` and
  infinities are not JSON numbers and are refused, and so are numbers that are not
  integers and lie beyond the range of doubles (about ±1.8e308);
* arrays are equal element by element, in order; objects are equal when they have
  the same members, whatever their order.

EDN values read from Jepsen/Knossos files follow the same rule: vectors and lists
are arrays, maps are objects, sets compare as sets, and keywords and symbols are the
strings of their names (``:ok`` equals ``"ok"``). The EDN reader, as the EDN
specification says, reads a floating-point literal as a double (``1.5M`` is exact);
Python ``float`` values are doubles too. Equality is then exact between the values
read: ``1e25`` as a double is 10000000000000000905969664.

:func:`plain` turns a canonical value back into the plain JSON value it came from,
for output (a non-integer that no double holds becomes the nearest double there;
:func:`show` prints it exactly).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: Deepest nesting accepted: deeper values are refused rather than risking a
#: ``RecursionError`` in the comparisons.
MAX_DEPTH = 64


class JsonBool:
    """A JSON boolean, never equal to a number (unlike Python's ``bool``)."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonBool):
            return self.value is other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((JsonBool, self.value))

    def __repr__(self) -> str:
        return "true" if self.value else "false"

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonBool, (self.value,))


class JsonMap:
    """A JSON object (or EDN map): equal to another with the same members in any order.

    Attributes:
        items: The members in their original order, values canonical.
    """

    __slots__ = ("items", "_members")

    def __init__(self, items: tuple[tuple[Any, Any], ...]) -> None:
        self.items = items
        self._members = frozenset(items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonMap):
            return self._members == other._members
        return NotImplemented

    def __hash__(self) -> int:
        return hash((JsonMap, self._members))

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self.items) + "}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonMap, (self.items,))


_SCALARS = (str, int, type(None))


def canonical(value: Any, _depth: int = 0) -> Any:
    """Return the canonical (hashable, JSON-equality) form of a JSON/EDN value.

    Already canonical values are returned unchanged, so it is idempotent.

    Raises:
        ValueError: For non-finite numbers, nesting deeper than :data:`MAX_DEPTH`
            and types that are not JSON values.
    """
    kind = type(value)
    if kind in _SCALARS or kind is JsonBool or kind is JsonMap:
        return value
    if kind is bool:
        return JsonBool(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number (numbers must be finite)")
        return value
    if kind is Decimal:
        return _decimal(value)
    if _depth >= MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v, _depth + 1) for v in value)
    if isinstance(value, Mapping):
        return JsonMap(tuple((canonical(k, _depth + 1), canonical(v, _depth + 1)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return frozenset(canonical(v, _depth + 1) for v in value)
    if isinstance(value, str):  # str subclasses, e.g. EDN characters
        return str(value)
    raise ValueError(f"{value!r} is not a JSON value (got {kind.__name__})")


def _decimal(value: Decimal) -> float | int | Decimal:
    """An exact number: a float if one holds it exactly, else an int if it is an
    integer, else the Decimal itself (Python compares all three exactly)."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number (numbers must be finite)")
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"{value} is beyond the range of double-precision numbers")
    if f == value:
        return f
    if value == value.to_integral_value():
        return int(value)
    return value


def plain(value: Any) -> Any:
    """Inverse of :func:`canonical`: the plain JSON value (sets become sorted lists)."""
    kind = type(value)
    if kind in _SCALARS or kind is float:
        return value
    if kind is JsonBool:
        return value.value
    if kind is tuple:
        return [plain(v) for v in value]
    if kind is JsonMap:
        # JSON object keys are strings; EDN map keys may be any value.
        return {k if isinstance(k, str) else repr(k): plain(v) for k, v in value.items}
    if kind is frozenset:
        return sorted((plain(v) for v in value), key=repr)
    if kind is Decimal:  # a non-integer no double holds: JSON output gets the nearest
        return float(value)
    return value


def show(value: Any) -> str:
    """Short rendering for descriptions: ``repr`` of scalars, JSON for the rest."""
    if type(value) in _SCALARS or type(value) is float:
        return repr(value)
    if type(value) is Decimal:
        return str(value)
    return json.dumps(plain(value), default=repr)
