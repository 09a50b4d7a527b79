"""The one parameter convention: declaration, validation, derived parameter lists."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfsim.model.parameters import Parameter, Tunable, param, validate_params


@dataclass(eq=False)
class Knobs(Tunable):
    name = "knobs"
    rate: float = param(0.5, low=0.0, high=1.0, doc="a rate")
    count: int = param(3, low=1, high=10, doc="a count")
    on: bool = param(True, doc="a switch")
    mode: str = param("a", choices=("a", "b"), doc="a mode")
    helper: object = None  # Python-only, not a parameter


def test_parameters_are_derived_from_the_fields_in_order() -> None:
    assert [(p.name, p.kind, p.default) for p in Knobs.parameters] == [
        ("rate", "float", 0.5), ("count", "int", 3), ("on", "bool", True), ("mode", "categorical", "a")]
    assert Knobs.parameters is Knobs.parameters  # built once
    assert Knobs().params() == {"rate": 0.5, "count": 3, "on": True, "mode": "a"}


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_python_and_params_accept_the_same_floats(value: float) -> None:
    inside = 0.0 <= value <= 1.0
    try:
        made = Knobs(rate=value)
    except ValueError as exc:
        assert not inside and "knobs: rate must be" in str(exc)
    else:
        assert inside and made.rate == value
    try:
        validate_params("knobs", Knobs.parameters, {"rate": value})
    except ValueError:
        assert not inside
    else:
        assert inside


@pytest.mark.parametrize("kwargs, message", [
    ({"count": 2.5}, "count must be an integer in [1, 10]"),
    ({"count": 11}, "count must be in [1, 10]"),
    ({"on": 1}, "on must be true or false"),
    ({"mode": "c"}, "mode must be one of a, b"),
    ({"rate": "0.5"}, "rate must be a number in [0.0, 1.0]"),
])
def test_bad_values_are_refused_naming_the_owner_and_the_allowed_values(kwargs, message) -> None:
    with pytest.raises(ValueError) as caught:
        Knobs(**kwargs)
    assert str(caught.value).startswith(f"knobs: {message}")


def test_ints_given_for_floats_are_coerced() -> None:
    assert isinstance(Knobs(rate=1).rate, float)


def test_from_params_refuses_unknown_names() -> None:
    assert Knobs.from_params({"count": 4}).count == 4
    with pytest.raises(ValueError, match=r"knobs: unknown parameter.s. helper, x; allowed: rate, count, on, mode"):
        Knobs.from_params({"x": 1, "helper": 2})


def test_a_declaration_that_cannot_be_one_is_refused() -> None:
    @dataclass
    class NoChoices(Tunable):
        mode: str = param("a", doc="a str without choices")

    @dataclass
    class BadDefault(Tunable):
        rate: float = param(2.0, low=0.0, high=1.0, doc="default out of range")

    with pytest.raises(TypeError, match=r"NoChoices\.mode"):
        NoChoices.parameters  # noqa: B018
    with pytest.raises(TypeError, match="BadDefault: the default of rate must be in"):
        BadDefault.parameters  # noqa: B018


def test_open_ranges_are_stated_plainly() -> None:
    assert Parameter("x", "float", 1.0, low=0.5).allowed() == "a number >= 0.5"
    assert Parameter("x", "int", 1, high=5).allowed() == "an integer <= 5"
    with pytest.raises(ValueError, match=r"x must be a number >= 0\.5, got 0\.1"):
        Parameter("x", "float", 1.0, low=0.5).validate(0.1)
