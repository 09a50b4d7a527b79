"""Declared tunable parameters of strategies.

Each strategy lists its parameters once, with the seed's default and a range, so the
configuration layer can validate them and the tuning layer can build search spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class Parameter:
    """One tunable parameter.

    Attributes:
        name: Keyword argument of the strategy's constructor.
        kind: ``"int"``, ``"float"``, ``"bool"`` or ``"categorical"``.
        default: The seed's default (or the project's where the seed has none).
        low, high: Inclusive range for numbers.
        choices: Allowed values for categoricals.
        step: Grid step for numbers, if any.
        doc: One line on what it does.
    """

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: Sequence[Any] | None = None
    step: float | None = None
    doc: str = ""

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to the parameter's type, or raise ``ValueError``
        naming the allowed values."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(f"{self.name} must be true or false, got {value!r}")
        if self.kind == "categorical":
            if value in (self.choices or ()):
                return value
            raise ValueError(f"{self.name} must be one of {list(self.choices or ())}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be a number in [{self.low}, {self.high}], got {value!r}")
        if self.kind == "int":
            if int(value) != value:
                raise ValueError(f"{self.name} must be an integer in [{self.low}, {self.high}], got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{self.name} must be in [{self.low}, {self.high}], got {value!r}")
        return value


def validate_params(owner: str, declared: Sequence[Parameter], given: dict[str, Any]) -> dict[str, Any]:
    """Check ``given`` keyword arguments against ``declared``; unknown names and
    out-of-range values raise ``ValueError`` naming the owner and what is allowed."""
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
