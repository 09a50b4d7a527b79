"""Tunable parameters, declared once.

Everything a user or a tuner can set — a strategy, an autoscaler, a group of
simulation settings — is a dataclass deriving from :class:`Tunable` whose tunable
fields are declared with :func:`param`. That one declaration gives the constructor
(the dataclass's, with a real signature), validation on construction (the same
whether the object comes from Python, YAML or a tuner), :attr:`Tunable.parameters`
(what ``wfsim params`` lists and the tuner searches) and the YAML schema.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(eq=False)
    ... class Smoothing(Tunable):
    ...     name = "smoothing"
    ...     alpha: float = param(0.1, low=0.01, high=0.5, doc="weight of a new observation")
    >>> Smoothing(alpha=0.2).alpha
    0.2
    >>> Smoothing(alpha=0.9)
    Traceback (most recent call last):
    ...
    ValueError: smoothing: alpha must be in [0.01, 0.5], got 0.9
    >>> [(p.name, p.kind, p.default) for p in Smoothing.parameters]
    [('alpha', 'float', 0.1)]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

#: The kinds of parameter, by the field's annotation.
KINDS = {"bool": "bool", "int": "int", "float": "float", "str": "categorical"}

_METADATA_KEY = "wfsim.parameter"

T = TypeVar("T", bound="Tunable")


@dataclass(frozen=True)
class Parameter:
    """One tunable parameter.

    Attributes:
        name: Keyword argument of the constructor (and key in YAML).
        kind: ``"int"``, ``"float"``, ``"bool"`` or ``"categorical"``.
        default: The seed's default (or the project's where the seed has none).
        low, high: Inclusive range for numbers (None: unbounded on that side).
        choices: Allowed values for categoricals.
        step: Grid step for numbers, if any.
        log: Whether a tuner should search the range on a log scale.
        doc: One line on what it does.
    """

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: Sequence[Any] | None = None
    step: float | None = None
    log: bool = False
    doc: str = ""

    def allowed(self) -> str:
        """The allowed values, as an error message states them."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "categorical":
            return "one of " + ", ".join(map(str, self.choices or ()))
        word = "an integer" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{word} in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"{word} >= {self.low}"
        return f"{word} <= {self.high}" if self.high is not None else word

    def validate(self, value: Any) -> Any:
        """``value`` coerced to the parameter's type.

        Raises:
            ValueError: Naming the parameter and the allowed values.
        """
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(f"{self.name} must be true or false, got {value!r}")
        if self.kind == "categorical":
            if value in (self.choices or ()):
                return value
            raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
        if self.kind == "int":
            if not isinstance(value, int):  # not even 2.0: YAML and Python accept the same
                raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            bounds = f"in [{self.low}, {self.high}]" if None not in (self.low, self.high) else self.allowed()
            raise ValueError(f"{self.name} must be {bounds}, got {value!r}")
        return value


def param(default: Any, *, low: float | None = None, high: float | None = None,
          choices: Sequence[Any] | None = None, step: float | None = None, log: bool = False,
          doc: str) -> Any:
    """Declare a dataclass field of a :class:`Tunable` as a tunable parameter.

    The field's annotation gives the kind (``bool``, ``int``, ``float``, or ``str``
    with ``choices`` for a categorical); the rest is the :class:`Parameter`.
    """
    spec = {"low": low, "high": high, "choices": tuple(choices) if choices is not None else None,
            "step": step, "log": log, "doc": doc}
    return dataclasses.field(default=default, metadata={_METADATA_KEY: spec})


class _Declared:
    """``cls.parameters``: the :class:`Parameter` of each :func:`param` field, in field
    order, built once per class."""

    def __get__(self, obj: Any, owner: type) -> tuple[Parameter, ...]:
        cached = owner.__dict__.get("_declared_parameters")
        if cached is None:
            cached = tuple(_parameter(owner, f) for f in dataclasses.fields(owner)
                           if _METADATA_KEY in f.metadata) if dataclasses.is_dataclass(owner) else ()
            type.__setattr__(owner, "_declared_parameters", cached)
        return cached


def _parameter(owner: type, f: dataclasses.Field) -> Parameter:
    spec = f.metadata[_METADATA_KEY]
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    kind = KINDS.get(annotation)
    if kind is None or (kind == "categorical") != (spec["choices"] is not None):
        raise TypeError(f"{owner.__name__}.{f.name}: a parameter is bool, int, float, or str with choices; "
                        f"got {annotation} {'with' if spec['choices'] is not None else 'without'} choices")
    declared = Parameter(f.name, kind, f.default, **spec)
    try:
        declared.validate(f.default)
    except ValueError as exc:
        raise TypeError(f"{owner.__name__}: the default of {exc}") from None
    return declared


class Tunable:
    """Base of everything with declared parameters (a dataclass deriving from it).

    Subclasses set :attr:`name` (how YAML and the registry name them) and declare their
    parameters with :func:`param`; values are validated when the object is made, and a
    subclass that checks more (one parameter against another) extends
    ``__post_init__`` and calls ``super().__post_init__()`` first.
    """

    name: ClassVar[str] = ""
    parameters: ClassVar[tuple[Parameter, ...]] = _Declared()  # type: ignore[assignment]

    def __post_init__(self) -> None:
        owner = self.name or type(self).__name__
        for p in self.parameters:
            try:
                value = p.validate(getattr(self, p.name))
            except ValueError as exc:
                raise ValueError(f"{owner}: {exc}") from None
            object.__setattr__(self, p.name, value)  # frozen settings groups too

    def params(self) -> dict[str, Any]:
        """The declared parameters' current values, by name."""
        return {p.name: getattr(self, p.name) for p in self.parameters}

    def configuration(self) -> dict[str, Any]:
        """Everything that configures it, as plain JSON data (what a run manifest keeps):
        :meth:`params`, then its other fields; a nested strategy as ``{"name": …,
        "params": …}`` (its own configuration), enums by value.

        Example:
            >>> @dataclass(eq=False)
            ... class Inner(Tunable):
            ...     name = "inner"
            ...     k: int = param(2, low=1, high=9, doc="a count")
            >>> @dataclass(eq=False)
            ... class Outer(Tunable):
            ...     name = "outer"
            ...     inner: Tunable = dataclasses.field(default_factory=Inner)
            ...     tags: tuple[str, ...] = ("a",)
            >>> Outer().configuration()
            {'inner': {'name': 'inner', 'params': {'k': 2}}, 'tags': ['a']}
        """
        declared = {p.name for p in self.parameters}
        out = self.params()
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name not in declared and not f.name.startswith("_"):
                out[f.name] = _plain(getattr(self, f.name))
        return out

    @classmethod
    def from_params(cls: type[T], params: Mapping[str, Any]) -> T:
        """An instance from ``params`` by name (YAML's ``params:``); unknown names and
        bad values raise ``ValueError`` naming the class and what is allowed."""
        validate_params(cls.name or cls.__name__, cls.parameters, params)
        return cls(**params)


def _plain(value: Any) -> Any:
    """``value`` as JSON data, for :meth:`Tunable.configuration`."""
    if isinstance(value, Tunable):
        return {"name": value.name or type(value).__name__, "params": value.configuration()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def validate_params(owner: str, declared: Sequence[Parameter], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` checked against ``declared`` and coerced.

    Raises:
        ValueError: For an unknown name or a bad value, naming ``owner`` and what is allowed.
    """
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        allowed = ", ".join(by_name) or "none"
        raise ValueError(f"{owner}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
    out = {}
    for name, value in given.items():
        try:
            out[name] = by_name[name].validate(value)
        except ValueError as exc:
            raise ValueError(f"{owner}: {exc}") from None
    return out
