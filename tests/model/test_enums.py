"""Tests of the shared enumerations' parsers that have no other home (TraceLevel)."""

from __future__ import annotations

import pytest

from wfsim.model.enums import TraceLevel


@pytest.mark.parametrize("level", list(TraceLevel))
def test_trace_level_parse_accepts_value_and_name(level: TraceLevel) -> None:
    assert TraceLevel.parse(level.value) is level
    assert TraceLevel.parse(level.name) is level
    assert TraceLevel.parse(level) is level


@pytest.mark.parametrize("bad", ["", "events", "ful", None, 1])
def test_trace_level_parse_rejects_others_listing_allowed(bad: object) -> None:
    with pytest.raises(ValueError, match=r"unknown trace level .*; allowed: full, metrics$"):
        TraceLevel.parse(bad)  # type: ignore[arg-type]
