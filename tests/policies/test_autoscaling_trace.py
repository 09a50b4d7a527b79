"""Autoscaling as the trace records it: decisions, capacity, and P18 against capacity."""

from __future__ import annotations

from wfsim.policies.autoscaling import ThresholdScaling
from wfsim.verify.catalog import check_catalog

from test_autoscaling import capacity_rows, loaded


def test_decisions_and_capacity_changes_are_in_the_trace():
    sim = loaded(ThresholdScaling(cooldown=60))
    trace = sim.run().trace
    st = trace.states
    rows = st[st["kind"].astype(str) == "scaling"]
    expected = [(d.time, d.node, f"{d.capacity}->{d.target} ({d.reason})") for d in sim.autoscaling.decisions]
    assert expected and list(zip(rows["time"], rows["entity"].astype(str), rows["state"].astype(str))) == expected
    assert max(c for _, c in capacity_rows(trace, "e")) > 2  # grew above its initial 2 cores


def test_p18_checks_usage_against_the_capacity_at_each_instant():
    trace = loaded(ThresholdScaling(cooldown=60)).run().trace
    (p18,) = check_catalog(trace, ["resource-conservation"])
    assert p18.verdict == "true", p18.summary()
    # The same usage against the initial 2 cores only would be an over-commit.
    st = trace.states
    trace.states = st[st["kind"].astype(str) != "capacity"].reset_index(drop=True)
    (p18,) = check_catalog(trace, ["resource-conservation"])
    assert p18.verdict == "false" and p18.first.entity == "e"
    assert "/2 cores" in p18.first.explanation
