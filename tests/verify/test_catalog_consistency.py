"""The replicated-state properties (P10, P11, P14–P16, P21's merge clause) on traces
whose tables are written by hand: each holds on a faithful one and fails on a
corrupted copy, naming what broke."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.trace.metrics import staleness
from wfsim.verify.catalog import CONVERGENCE, check_catalog
from wfsim.verify.catalog.consistency import health_rule
from wfsim.verify.properties import NOT_APPLICABLE

from state_tables_support import base_trace, op, with_state

#: Three clients on two keys at Linearizable, one session per client.
GOOD = [
    op(1, "a", "write", "x", 0.0, 0.1),
    op(2, "b", "read", "x", 0.05, 0.2, 1),
    op(3, "c", "write", "x", 0.3, 0.4),
    op(4, "a", "read", "x", 0.5, 0.6, 3),
    op(5, "b", "write", "y", 0.5, 0.7),
    op(6, "b", "read", "y", 0.8, 0.9, 5),
]


def verdict(trace, name: str):
    (v,) = check_catalog(trace, [name])
    return v


def test_no_table_no_verdict() -> None:
    for v in check_catalog(base_trace(), ["P10", "P11", "P14", "P15", "P16", "resolution-merge"]):
        assert v.verdict == NOT_APPLICABLE, v.summary()


@pytest.mark.parametrize("level", ["Linearizable", "Sequential", "Causal"])
def test_each_level_history_is_checked_with_its_checker(level: str) -> None:
    rows = [r[:10] + (level,) + r[11:] for r in GOOD]
    rows = [r[:9] + (level,) + r[10:] for r in rows]  # requested too
    assert verdict(with_state(operations=rows), "level-histories").holds
    # c reads x=1, which it had read before writing 3: causally overwritten, no level allows it
    stale = rows[:2] + [op(7, "c", "read", "x", 0.2, 0.25, 1, level=level)] + rows[2:] + [
        op(8, "c", "read", "x", 1.0, 1.1, 1, level=level)]
    v = verdict(with_state(operations=stale), "level-histories")
    assert v.verdict == "false" and v.first.entity == level
    assert v.first.events and {e["level"] for e in v.first.events} == {level}


def test_levels_differ_a_stale_read_is_sequential_but_not_linearizable() -> None:
    stale = [op(1, "a", "write", "x", 0.0, 0.1, level="Sequential"),
             op(2, "b", "read", "x", 0.2, 0.3, None, level="Sequential")]
    assert verdict(with_state(operations=stale), "level-histories").holds
    lin = [r[:9] + ("Linearizable", "Linearizable") + r[11:] for r in stale]
    v = verdict(with_state(operations=lin), "level-histories")
    assert v.verdict == "false" and "not linearizable" in v.first.explanation
    # a Sequential read of a Linearizable write: the store copied it down
    copied = [op(1, "a", "write", "x", 0.0, 0.1), op(2, "b", "read", "x", 0.2, 0.3, 1, level="Sequential")]
    assert verdict(with_state(operations=copied), "level-histories").holds
    # a Linearizable read of a Sequential write: nothing is copied up
    upward = [op(1, "a", "write", "x", 0.0, 0.1, level="Sequential"), op(2, "b", "read", "x", 0.2, 0.3, 1)]
    assert verdict(with_state(operations=upward), "level-histories").verdict == "false"
    # Eventual promises no order: not judged here.
    ev = [r[:9] + ("Eventual", "Eventual") + r[11:] for r in stale]
    assert verdict(with_state(operations=ev), "level-histories").verdict == NOT_APPLICABLE


def test_a_budget_that_runs_out_is_inconclusive(monkeypatch) -> None:
    from wfsim.verify.catalog import consistency

    monkeypatch.setattr(consistency, "CHECK_SECONDS", 0.0)
    v = verdict(with_state(operations=[r[:9] + ("Causal", "Causal") + r[11:] for r in GOOD]), "level-histories")
    assert v.verdict == "inconclusive" and "budget" in v.first.explanation


def test_session_guarantees() -> None:
    assert verdict(with_state(operations=GOOD), "session-guarantees").holds
    # read-your-writes: after its own write of op 3, c reads op 1, which it had read before
    ryw = GOOD + [op(7, "c", "read", "x", 0.25, 0.28, 1), op(8, "c", "read", "x", 1.0, 1.1, 1)]
    ryw = [r for r in ryw if r[0] != 8] + [op(8, "c", "read", "x", 1.0, 1.1, 1)]
    v = verdict(with_state(operations=sorted(ryw, key=lambda r: r[11])), "session-guarantees")
    assert v.verdict == "false" and "op 8" in v.first.explanation and "read-your-writes" in v.first.explanation
    # read-your-writes: null after its own write
    v = verdict(with_state(operations=GOOD + [op(7, "b", "read", "y", 1.0, 1.1, None)]), "session-guarantees")
    assert v.verdict == "false" and "null after its own op 5" in v.first.explanation
    # monotonic reads: a read x=3, then x=1, which c (the writer of 3) had read before writing it
    mr = GOOD[:3] + [op(9, "c", "read", "x", 0.2, 0.25, 1)] + GOOD[3:] + [op(7, "a", "read", "x", 1.0, 1.1, 1)]
    mr = [r if r[0] != 3 else op(3, "c", "write", "x", 0.3, 0.4) for r in mr]
    v = verdict(with_state(operations=mr), "session-guarantees")
    assert v.verdict == "false" and "whose writer c had seen 1" in v.first.explanation
    # ... but without that reads-from step nothing is proven: x=1 may be concurrent with 3
    fresh = GOOD + [op(7, "a", "read", "x", 1.0, 1.1, 1)]
    assert verdict(with_state(operations=fresh), "session-guarantees").holds
    # monotonic reads: null after a value; Eventual sessions are not judged
    v = verdict(with_state(operations=GOOD + [op(7, "b", "read", "x", 1.0, 1.1, None)]), "session-guarantees")
    assert v.verdict == "false" and "null after op 2" in v.first.explanation
    ev = [r[:9] + ("Eventual", "Eventual") + r[11:] for r in GOOD + [op(7, "a", "read", "x", 1.0, 1.1, None)]]
    assert verdict(with_state(operations=ev), "session-guarantees").verdict == NOT_APPLICABLE


def _replicas(values: dict[str, str], level: str = "Eventual", key: str = "x") -> list[tuple]:
    return [(level, key, node, value) for node, value in values.items()]


def test_convergence_is_judged_on_a_quiescent_run() -> None:
    writes = [op(1, "a", "write", "x", 0.0, 0.1, level="Eventual"), op(2, "b", "write", "x", 0.0, 0.1,
                                                                         level="Eventual")]
    same = _replicas({"edge-0": "[1, 2]", "edge-1": "[2, 1]", "cloud": "[1,2]"})
    assert verdict(with_state(operations=writes, replicas=same), "convergence").holds
    split = _replicas({"edge-0": "1", "edge-1": "2", "cloud": "2"})
    v = verdict(with_state(operations=writes, replicas=split), "convergence")
    assert v.verdict == "false" and "edge-0: 1" in v.first.explanation
    # a write 1 s before the end (under 10 anti-entropy intervals): maybe not caught up yet
    late = writes + [op(3, "a", "write", "y", base_trace().horizon - 1, base_trace().horizon - 0.9,
                        level="Eventual")]
    v = verdict(with_state(operations=late, replicas=split), "convergence")
    assert v.verdict == "inconclusive" and "last write" in v.first.explanation
    # without the settings quiescence cannot be judged
    v = verdict(with_state({"anti_entropy_interval": None}, operations=writes, replicas=split), "convergence")
    assert v.verdict == "inconclusive"
    assert CONVERGENCE.pid == "P15"


def test_health_rule_is_the_seeds_threshold_table() -> None:
    from state_tables_support import SETTINGS

    got = health_rule([10, 9, 8, 9, 6, 5, 4, 0], [10] * 7 + [0], [0.05, 0.09, 0.05, 0.1, 0.3, 0.45, 0.0, 0.0],
                      SETTINGS)
    assert got.tolist() == ["Healthy", "Healthy", "Degraded", "Degraded", "Critical", "Critical", "Emergency",
                            "Emergency"]


def test_health_checks() -> None:
    rows = [(10.0, 10, 10, 0.05, "Healthy", "Healthy"), (20.0, 8, 10, 0.05, "Degraded", "Degraded"),
            (30.0, 5, 10, 0.3, "Critical", "Critical")]
    assert verdict(with_state(health=rows), "health-checks").holds
    wrong = rows[:2] + [(30.0, 5, 10, 0.3, "Degraded", "Degraded")]
    v = verdict(with_state(health=wrong), "health-checks")
    assert v.verdict == "false" and "gives Critical" in v.first.explanation
    v = verdict(with_state(health=[(10.0, 11, 10, 0.05, "Healthy", "Healthy")]), "health-checks")
    assert v.verdict == "false" and "11 of 10" in v.first.explanation
    # hysteresis 1: a new state takes effect at the second check observing it
    held = [(10.0, 8, 10, 0.05, "Degraded", "Healthy"), (20.0, 8, 10, 0.05, "Degraded", "Degraded"),
            (30.0, 10, 10, 0.05, "Healthy", "Degraded")]
    assert verdict(with_state({"hysteresis": 1}, health=held), "health-checks").holds
    v = verdict(with_state(health=held), "health-checks")  # without hysteresis it would have changed at once
    assert v.verdict == "false" and v.first.time == 10.0
    early = [(10.0, 8, 10, 0.05, "Degraded", "Degraded")]
    assert verdict(with_state({"hysteresis": 1}, health=early), "health-checks").verdict == "false"


def test_fallback_chain() -> None:
    chain = [op(1, "a", "write", "x", 0.0, 0.5, outcome="unknown"),
             op(2, "a", "write", "x", 0.5, 0.8, outcome="unknown", level="Sequential", requested="Linearizable",
                request=1, attempt=1),
             op(3, "a", "write", "x", 0.8, 0.9, level="Causal", requested="Linearizable", request=1, attempt=2)]
    assert verdict(with_state(operations=chain), "fallback-chain").holds
    up = chain[:2] + [op(3, "a", "write", "x", 0.8, 0.9, requested="Linearizable", request=1, attempt=2)]
    v = verdict(with_state(operations=up), "fallback-chain")
    assert v.verdict == "false" and "do not descend" in v.first.explanation and v.first.entity == "1"
    after_ok = [chain[0], chain[1][:13] + ("ok", None), chain[2]]
    assert "did not time out" in verdict(with_state(operations=after_ok), "fallback-chain").first.explanation
    too_soon = chain[:2] + [op(3, "a", "write", "x", 0.7, 0.9, level="Causal", requested="Linearizable",
                               request=1, attempt=2)]
    assert "before the previous" in verdict(with_state(operations=too_soon), "fallback-chain").first.explanation
    weaker = [op(1, "a", "write", "x", 0.0, 0.5, level="Sequential", requested="Linearizable")]
    assert "first served Sequential" in verdict(with_state(operations=weaker), "fallback-chain").first.explanation
    # a floor may serve the first attempt above the requested level
    floored = [op(1, "a", "write", "pay:1", 0.0, 0.5, level="Sequential", requested="Causal")]
    assert verdict(with_state({"floors": {"pay": "Sequential"}}, operations=floored), "fallback-chain").holds
    assert verdict(with_state(operations=floored), "fallback-chain").verdict == "false"


def test_key_floors() -> None:
    rows = [op(1, "a", "write", "pay:1", 0.0, 0.5, outcome="unknown"),
            op(2, "a", "write", "pay:1", 0.5, 0.6, level="Sequential", requested="Linearizable", request=1,
               attempt=1),
            op(3, "a", "write", "cart:1", 0.7, 0.8, level="Eventual")]
    assert verdict(with_state(operations=rows), "key-floors").verdict == NOT_APPLICABLE
    assert verdict(with_state({"floors": {"pay": "Sequential"}}, operations=rows), "key-floors").holds
    v = verdict(with_state({"floors": {"pay": "Linearizable"}}, operations=rows), "key-floors")
    assert v.verdict == "false" and "below the floor Linearizable of pay" in v.first.explanation
    assert v.checked == 2


def test_resolution_merge() -> None:
    rows = [(5.0, "edge-0", "x", "Eventual", "lww", 2, 1), (6.0, "edge-1", "y", "Causal", "multi_value", 3, 0)]
    assert verdict(with_state(resolutions=rows), "resolution-merge").holds
    for bad, why in [((5.0, "edge-0", "x", "Eventual", "lww", 2, 2), "lost 2 of 2"),
                     ((5.0, "edge-0", "x", "Eventual", "crdt_set", 2, 1), "crdt_set resolver lost 1"),
                     ((5.0, "edge-0", "x", "Eventual", "lww", 1, 0), "fewer than two")]:
        v = verdict(with_state(resolutions=[bad, rows[1]]), "resolution-merge")
        assert v.verdict == "false" and why in v.first.explanation, v.first.explanation


def test_state_replay() -> None:
    ops = [op(1, "a", "write", "x", 0.0, 0.1), op(2, "b", "write", "x", 0.2, 0.3),
           op(3, "a", "write", "y", 0.4, 0.5, outcome="unknown"), op(4, "b", "read", "x", 0.6, 0.7, 2),
           op(5, "c", "write", "x", 0.1, 0.2, level="Eventual"), op(6, "c", "write", "x", 0.3, 0.4,
                                                                   level="Eventual", outcome="fail")]
    raft = [(0.05, "edge-0", "apply", 1, 1, 1), (0.25, "edge-0", "apply", 1, 2, 2), (0.45, "edge-0", "apply", 1, 3, 3),
            (0.05, "edge-1", "apply", 1, 1, 1)]
    replicas = [("Linearizable", "x", "edge-0", "2"), ("Linearizable", "y", "edge-0", "3"),
                ("Linearizable", "x", "edge-1", "1"), ("Eventual", "x", "cloud", "5")]
    assert verdict(with_state(operations=ops, raft=raft, replicas=replicas), "state-replay").holds
    # a member holding a value its log does not end with
    wrong = [("Linearizable", "x", "edge-0", "1"), *replicas[1:]]
    v = verdict(with_state(operations=ops, raft=raft, replicas=wrong), "state-replay")
    assert v.verdict == "false" and "edge-0's applied writes of x end with op 2" in v.first.explanation
    # a refused write's value, and a value nobody wrote
    for held in ("6", "[5, 99]"):
        bad = replicas[:3] + [("Eventual", "x", "cloud", held)]
        v = verdict(with_state(operations=ops, raft=raft, replicas=bad), "state-replay")
        assert v.verdict == "false" and "which no write at that level or a stronger one" in v.first.explanation
    # a Linearizable write copied down to Eventual is fine there; an Eventual one never goes up
    down = replicas[:3] + [("Eventual", "x", "cloud", "[2, 5]")]
    assert verdict(with_state(operations=ops, raft=raft, replicas=down), "state-replay").holds
    up = [("Linearizable", "x", "edge-0", "5"), *replicas[1:]]
    assert verdict(with_state(operations=ops, raft=raft, replicas=up), "state-replay").verdict == "false"


@st.composite
def atomic_runs(draw: st.DrawFn) -> list[tuple]:
    """Operations that took effect one at a time, at increasing instants inside their
    [call, ret] (a linearizable execution by construction): clients one operation at
    a time, reads return the value then, a timed-out write took effect or not."""
    level = draw(st.sampled_from(["Linearizable", "Sequential", "Causal"]))
    held: dict[str, int | None] = {"x": None, "y": None}
    free = dict.fromkeys(("a", "b", "c"), 0.0)
    rows = []
    for k in range(1, draw(st.integers(1, 25)) + 1):
        at = float(k)
        client = draw(st.sampled_from(sorted(free)))
        if free[client] >= at:
            continue
        call = max(free[client] + 0.01, at - draw(st.sampled_from([0.0, 0.3, 1.5])))
        ret = at + draw(st.sampled_from([0.0, 0.4, 2.0]))
        key, f = draw(st.sampled_from(sorted(held))), draw(st.sampled_from(["read", "write"]))
        outcome = draw(st.sampled_from(["ok", "ok", "ok", "unknown"])) if f == "write" else "ok"
        if f == "write" and (outcome == "ok" or draw(st.booleans())):
            held[key] = k
        rows.append(op(k, client, f, key, call, ret, held[key] if f == "read" else None, outcome=outcome,
                       level=level))
        free[client] = ret
    return sorted(rows, key=lambda r: r[11])


@settings(max_examples=30, deadline=None)
@given(atomic_runs())
def test_an_atomic_execution_breaks_no_property_and_reads_nothing_stale(rows: list[tuple]) -> None:
    trace = with_state(operations=rows)
    for v in check_catalog(trace, ["P11", "P14", "P16"]):
        assert v.verdict in ("true", NOT_APPLICABLE), v.summary()
    assert not staleness(trace)["stale"].any()
