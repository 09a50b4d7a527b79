"""The ``consistency`` block of the summary metrics and the per-read staleness, on
hand-worked tables."""

from __future__ import annotations

import pytest

from wfsim.trace.metrics import staleness, summarize

from state_tables_support import base_trace, op, with_state

WRITES = [
    op(1, "a", "write", "k", 0.0, 1.0),
    op(2, "a", "write", "k", 1.5, 2.0),
    op(3, "b", "write", "k", 2.5, 2.7, outcome="unknown"),  # never acknowledged
    op(4, "a", "write", "k", 3.0, 4.0),
    op(20, "c", "write", "j", 0.0, 0.1),  # another key: never newer than k's
]
#: read op -> (returned, latest acknowledged before its call, versions behind, seconds behind)
READS = {
    5: (op(5, "c", "read", "k", 0.5, 0.6, None), (-1, -1, 0, 0.0)),  # nothing acknowledged yet
    6: (op(6, "c", "read", "k", 1.2, 1.3, 1), (1, 1, 0, 0.0)),
    7: (op(7, "d", "read", "k", 2.2, 2.3, 1, level="Causal"), (1, 2, 1, 2.2 - 2.0)),
    8: (op(8, "e", "read", "k", 2.2, 2.3, None, level="Eventual"), (-1, 2, 2, 2.2 - 1.0)),
    9: (op(9, "c", "read", "k", 3.5, 3.6, 3), (3, 2, 0, 0.0)),  # an unacknowledged write: fresh
    10: (op(10, "d", "read", "k", 4.5, 4.6, 1, level="Causal"), (1, 4, 2, 4.5 - 2.0)),
    11: (op(11, "e", "read", "k", 4.5, 4.6, [1, 4], level="Eventual"), (4, 4, 0, 0.0)),  # siblings: the freshest
    12: (op(12, "f", "read", "k", 2.0, 2.1, 1), (1, 1, 0, 0.0)),  # w2 acknowledged at the read's call: not before
}


def test_staleness_by_hand() -> None:
    rows = WRITES + [r for r, _ in READS.values()] + [op(13, "g", "read", "k", 5.0, 5.1, outcome="fail")]
    frame = staleness(with_state(operations=rows)).set_index("op")
    assert sorted(frame.index) == sorted(READS)  # ok reads only
    for read, (_, (returned, latest, versions, seconds)) in READS.items():
        got = frame.loc[read]
        assert (got["returned"], got["latest"], got["versions"]) == (returned, latest, versions), read
        assert got["staleness"] == pytest.approx(seconds), read
        assert got["stale"] == (versions > 0)
    assert frame.loc[7, "level"] == "Causal" and frame.loc[7, "key"] == "k" and frame.loc[7, "client"] == "d"


def test_concurrent_writes_are_never_counted_newer() -> None:
    # w1 takes long (acknowledged at 3), w2 overlaps it and is acknowledged first: either
    # may have taken effect last. w3 starts after w1's acknowledgement: certainly newer.
    rows = [op(1, "a", "write", "c", 0.0, 3.0), op(2, "b", "write", "c", 2.0, 2.5),
            op(4, "d", "read", "c", 3.2, 3.3, 2), op(5, "d", "read", "c", 3.4, 3.5, 1),
            op(3, "a", "write", "c", 3.5, 3.8), op(6, "e", "read", "c", 4.0, 4.1, 1),
            op(7, "e", "read", "c", 4.2, 4.3, 2)]
    frame = staleness(with_state(operations=rows)).set_index("op")
    assert frame["versions"].to_dict() == {4: 0, 5: 0, 6: 1, 7: 1}
    assert frame.loc[6, "staleness"] == pytest.approx(4.0 - 3.8)
    assert frame.loc[6, "latest"] == 3 and frame.loc[4, "latest"] == 1


def test_the_consistency_block() -> None:
    rows = WRITES + [r for r, _ in READS.values()] + [
        op(30, "h", "read", "k", 6.0, 6.5, outcome="unknown"),
        op(31, "h", "read", "k", 6.5, 6.8, outcome="unknown", level="Sequential", requested="Linearizable",
           request=30, attempt=1),
        op(32, "h", "read", "k", 6.8, 6.9, 4, level="Causal", requested="Linearizable", request=30, attempt=2),
        op(33, "h", "write", "k", 7.0, 7.0, outcome="fail"),
    ]
    health = [(10.0, 3, 3, 0.05, "Healthy", "Healthy"), (12.0, 2, 3, 0.05, "Critical", "Critical"),
              (15.0, 3, 3, 0.05, "Healthy", "Healthy")]
    messages = [("Linearizable", "append", 10, 9, 1, 640.0), ("Linearizable", "vote", 4, 4, 0, 256.0),
                ("Eventual", "gossip", 7, 5, 2, 100.0)]
    resolutions = [(5.0, "edge-0", "k", "Eventual", "lww", 2, 1), (6.0, "edge-1", "k", "Eventual", "lww", 3, 2)]
    trace = with_state(operations=rows, health=health, messages=messages, resolutions=resolutions)
    block = summarize(trace)["consistency"]
    lin = block["operations"]["Linearizable"]
    assert lin == {"ok": 8, "fail": 1, "unknown": 2}
    assert block["operations"]["Sequential"] == {"ok": 0, "fail": 0, "unknown": 1}
    assert block["operations"]["Causal"] == {"ok": 3, "fail": 0, "unknown": 0}
    assert block["rejected"] == 1 and block["timed_out"] == 3
    assert block["requests"] == {"total": 15, "ok": 13, "fail": 1, "unknown": 1}
    assert block["latency"]["Causal"]["mean"] == pytest.approx((0.1 + 0.1 + 0.1) / 3)
    assert block["latency"]["Sequential"]["mean"] is None
    # answered requests asked at Linearizable: w1, w2, w4, w20, r5, r6, r9, r12 and
    # request 30, from its first call (6.0) to its answer at Causal (6.9)
    assert block["request_latency"]["Linearizable"]["mean"] == pytest.approx(
        (1.0 + 0.5 + 1.0 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.9) / 9)
    stale = block["stale_reads"]
    assert (stale["reads"], stale["stale"]) == (9, 3) and stale["rate"] == pytest.approx(3 / 9)
    assert stale["per_level"]["Causal"] == {"reads": 3, "stale": 2}
    assert stale["versions"]["mean"] == pytest.approx((1 + 2 + 2) / 3)
    assert stale["seconds"]["mean"] == pytest.approx((0.2 + 1.2 + 2.5) / 3)
    assert block["downgrades"] == {"attempts": 2, "requests": 1}
    assert {k: v for k, v in block["conflicts"].items() if k != "per_level"} == {"resolved": 2, "lost_updates": 3}
    per_level = block["conflicts"]["per_level"]
    assert per_level["Eventual"] == {"resolved": 2, "lost_updates": 3}
    assert sum(v["resolved"] for v in per_level.values()) == 2
    assert block["health"]["checks"] == 3 and block["health"]["changes"] == 2
    horizon = trace.horizon
    assert block["health"]["seconds"] == pytest.approx({"Healthy": 2.0 + horizon - 15.0, "Degraded": 0.0,
                                                        "Critical": 3.0, "Emergency": 0.0})
    assert block["messages"]["Linearizable"] == {"sent": 14, "delivered": 13, "dropped": 1, "bytes": 896.0}
    assert block["messages"]["Eventual"]["dropped"] == 2 and block["messages"]["Causal"]["sent"] == 0


def test_a_run_without_replicated_state_has_no_block() -> None:
    assert "consistency" not in summarize(base_trace())
