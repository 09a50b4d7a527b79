"""P20 (failure detection), P21 (partition safety) and P22 (leases) over hand-written
fault tables: each clause once where it holds and once where it breaks, at the right
node (or resource) and time; the completeness bound against its closed form; lease
mutual exclusion against a simple lease manager (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.verify.catalog import check_catalog
from wfsim.verify.properties import NOT_APPLICABLE

from fault_tables_support import base_trace, with_tables

DETECTION = {"detection": {"timeout": 2.0, "check_period": 1.0, "partitioned_after": 1, "failed_after": 3}}
SITE = "edge-0,device-0,device-2"


def verdicts(trace, which):
    return {v.name: v for v in check_catalog(trace, [which])}


def verdict(trace, name):
    return check_catalog(trace, [name])[0]


def test_runs_without_the_tables_are_not_applicable():
    for which in ("P20", "P21", "P22"):
        assert {v.verdict for v in verdicts(base_trace(), which).values()} == {NOT_APPLICABLE}


# --- P20 -------------------------------------------------------------------------------------------------------
def test_a_detector_walk_through_its_states_holds():
    rows = [(10.0, "edge-0", "Partitioned", 1), (12.0, "edge-0", "Failed", 3), (20.0, "edge-0", "Healthy", 0),
            (11.0, "edge-1", "Partitioned", 1), (12.0, "edge-1", "Healthy", 0)]
    got = verdict(with_tables(detections=rows, config=DETECTION), "detection-states")
    assert got.verdict == "true" and got.checked == 5


@pytest.mark.parametrize("bad, why", [
    ((12.0, "edge-0", "Failed", 3), "went Healthy -> Failed"),             # skipped Partitioned
    ((12.0, "edge-0", "Partitioned", 0), "Partitioned after 0 missed checks"),
    ((12.0, "edge-0", "Healthy", 2), "Healthy after 2 missed checks"),
    ((12.0, "edge-0", "Degraded", 1), "never marks a node Degraded"),
])
def test_an_illegal_detector_move_is_found(bad, why):
    got = verdict(with_tables(detections=[bad], config=DETECTION), "detection-states")
    assert got.verdict == "false" and got.first.entity == "edge-0" and got.first.time == 12.0
    assert why in got.first.explanation


def test_failed_at_the_first_missed_check_is_legal_when_the_thresholds_say_so():
    rows = [(12.0, "edge-0", "Failed", 1)]
    assert verdict(with_tables(detections=rows, config=DETECTION), "detection-states").verdict == "false"
    one = {"detection": {**DETECTION["detection"], "failed_after": 1}}
    assert verdict(with_tables(detections=rows, config=one), "detection-states").verdict == "true"


def bound_of_edge0() -> float:
    """timeout + failed_after × check_period + the route latency edge-0 → regional-0 → cloud."""
    links = base_trace().links.set_index("link")["latency"]
    return 2.0 + 3 * 1.0 + links["edge-0~regional-0"] + links["regional-0~cloud"]


@pytest.mark.parametrize("failed_at, holds", [(9.0, True), (5.0 + bound_of_edge0(), True),
                                              (5.0 + bound_of_edge0() + 0.01, False), (None, False)])
def test_a_long_crash_is_detected_within_the_bound(failed_at, holds):
    faults = [(5.0, "crash", "edge-0", "crashes", None), (15.0, "recover", "edge-0", "crashes", None)]
    detections = [] if failed_at is None else [
        (failed_at - 1, "edge-0", "Partitioned", 1), (failed_at, "edge-0", "Failed", 3),
        (15.5, "edge-0", "Healthy", 0)]
    got = verdict(with_tables(faults=faults, detections=detections, config=DETECTION), "detection-completeness")
    assert got.checked == 1 and got.verdict == ("true" if holds else "false")
    if not holds:
        assert got.first.entity == "edge-0" and got.first.time == 5.0
        assert ("never" if failed_at is None else "first at t=") in got.first.explanation


def test_short_crashes_unmonitored_nodes_and_unknown_bounds_are_not_judged():
    short = [(5.0, "crash", "edge-0", "crashes", None), (7.0, "recover", "edge-0", "crashes", None)]
    device = [(5.0, "crash", "device-0", "crashes", None)]  # open until the horizon, but a LocalDevice
    for faults in (short, device):
        got = verdict(with_tables(faults=faults, detections=[], config=DETECTION), "detection-completeness")
        assert got.verdict == NOT_APPLICABLE and got.checked == 0
    long = [(1.0, "crash", "edge-1", "crashes", None)]
    assert verdict(with_tables(faults=long, detections=[], config=DETECTION),
                   "detection-completeness").verdict == "false"
    assert verdict(with_tables(faults=long, detections=[], config={"detection": {}}),
                   "detection-completeness").verdict == NOT_APPLICABLE


def test_a_site_crash_names_each_of_its_nodes():
    site = [(1.0, "crash", "site-0", "site_failures", SITE)]
    got = verdict(with_tables(faults=site, detections=[(4.0, "edge-0", "Partitioned", 1),
                                                        (6.0, "edge-0", "Failed", 3)], config=DETECTION),
                  "detection-completeness")
    assert got.verdict == "true" and got.checked == 1      # edge-0 only: the devices send no heartbeats


@pytest.mark.parametrize("faults, failed, holds", [
    ([(5.0, "partition", "site-0", "partitions", SITE), (15.0, "heal", "site-0", "partitions", None)], "edge-0", True),
    ([(5.0, "partition", "site-0", "partitions", SITE), (15.0, "heal", "site-0", "partitions", None)], "edge-1", False),
    # edge-1 is behind regional-0: cutting regional-0 off cuts edge-1 off the cloud too.
    ([(5.0, "partition", "r", "partitions", "regional-0")], "edge-1", True),
    ([(5.0, "link_down", "edge-1~regional-0", "links", None)], "edge-1", True),
    ([(5.0, "link_down", "edge-1~regional-0", "links", None)], "edge-0", False),
    ([(5.0, "crash", "regional-0", "crashes", None)], "edge-0", True),
])
def test_only_a_node_a_fault_reached_may_be_marked_failed(faults, failed, holds):
    detections = [(9.0, failed, "Partitioned", 1), (11.0, failed, "Failed", 3)]
    got = verdict(with_tables(faults=faults, detections=detections, config=DETECTION), "detection-accuracy")
    # Where every monitored node was reached, none is left to judge.
    assert got.verdict in (("true", NOT_APPLICABLE) if holds else ("false",))
    if not holds:
        assert (got.first.entity, got.first.time) == (failed, 11.0) and "no fault reached it" in got.first.explanation


# --- P21 -------------------------------------------------------------------------------------------------------
SUSPECT = [(6.0, "edge-0", "Partitioned", 1), (14.0, "edge-0", "Healthy", 0)]
CUT = [(5.0, "partition", "site-0", "partitions", SITE), (13.0, "heal", "site-0", "partitions", None)]


def gate(strategy, writes):
    config = {"partition_handling": {"strategy": strategy}} if strategy else {}
    return verdicts(with_tables(faults=CUT, detections=SUSPECT, writes=writes, config=config), "P21")


@pytest.mark.parametrize("strategy, holds", [("ReadOnly", False), ("RejectWrites", False), ("WriteLocal", True),
                                             ("LeaderOnly", True), (None, True)])
def test_a_write_accepted_on_a_partitioned_node(strategy, holds):
    got = gate(strategy, [(8.0, "edge-0", "k", 0, True, "Partitioned", "edge-0")])["write-gate"]
    assert got.verdict == ("true" if holds else "false")
    if not holds:
        assert (got.first.entity, got.first.time) == ("edge-0", 8.0)


def test_read_only_and_reject_writes_differ_on_the_unpartitioned_side():
    elsewhere = [(8.0, "edge-1", "k", 0, True, "Healthy", "cloud"), (3.0, "edge-1", "k", 1, True, "Healthy", "cloud")]
    assert gate("ReadOnly", elsewhere)["write-gate"].verdict == "true"
    got = gate("RejectWrites", elsewhere)["write-gate"]
    assert got.verdict == "false" and got.violated == 1 and got.first.time == 8.0
    assert "another node was Partitioned" in got.first.explanation


def test_no_strategy_accepts_a_write_on_a_failed_node():
    for strategy in ("WriteLocal", None):
        got = gate(strategy, [(9.0, "edge-0", "k", 0, True, "Failed", "edge-0")])["write-gate"]
        assert got.verdict == "false" and "while Failed" in got.first.explanation
        assert gate(strategy, [(9.0, "edge-0", "k", 0, False, "Failed", "edge-0")])["write-gate"].verdict == "true"


def test_under_leader_only_one_side_accepts_writes_between_fault_events():
    majority = (7.0, "edge-1", "k", 0, True, "Healthy", "cloud")
    minority = (8.0, "edge-0", "k", 1, True, "Partitioned", "edge-0")
    before = (3.0, "edge-0", "k", 2, True, "Healthy", "edge-0")   # another window (before the cut)
    assert gate("LeaderOnly", [majority, before])["single-writer-side"].verdict == "true"
    refused = (8.0, "edge-0", "k", 1, False, "Partitioned", "edge-0")
    assert gate("LeaderOnly", [majority, refused])["single-writer-side"].verdict == "true"
    got = gate("LeaderOnly", [majority, minority, before])["single-writer-side"]
    assert got.verdict == "false" and got.checked == 2 and got.first.time == 8.0
    assert "between faults at t=5 and t=13" in got.first.explanation
    assert gate("ReadOnly", [majority, minority])["single-writer-side"].verdict == NOT_APPLICABLE


# --- P22 -------------------------------------------------------------------------------------------------------
LEASE = [(0.0, "leader", "edge-0", "acquire", 10.0), (5.0, "leader", "edge-0", "renew", 15.0)]


@pytest.mark.parametrize("then, holds, why", [
    ((16.0, "leader", "edge-1", "acquire", 26.0), True, ""),
    ((12.0, "leader", "edge-1", "refuse", float("nan")), True, ""),
    ((12.0, "leader", "edge-1", "acquire", 22.0), False, "while edge-0 held it until t=15"),
    ((20.0, "leader", "edge-0", "renew", 30.0), False, "after its lease ended"),
    ((12.0, "leader", "edge-1", "renew", 22.0), False, "while edge-0 held it"),
])
def test_one_unexpired_lease_per_resource(then, holds, why):
    got = verdict(with_tables(leases=[*LEASE, then]), "lease-exclusive")
    assert got.verdict == ("true" if holds else "false")
    if not holds:
        assert (got.first.entity_kind, got.first.entity, got.first.time) == ("resource", "leader", then[0])
        assert why in got.first.explanation and got.first.events[-1]["event"] == then[3]


def test_a_released_lease_is_not_renewed():
    rows = [*LEASE, (8.0, "leader", "edge-0", "release", float("nan")), (9.0, "leader", "edge-0", "renew", 19.0)]
    assert verdict(with_tables(leases=rows), "lease-exclusive").verdict == "false"


@pytest.mark.parametrize("extra, failover_at, holds", [
    ([], 5.0, False), ([(4.0, "leader", "edge-0", "revoke", float("nan"))], 5.0, True), ([], 11.0, True),
    ([(8.0, "leader", "edge-0", "renew", 18.0)], 11.0, False),
])
def test_failover_only_after_revocation_or_expiry(extra, failover_at, holds):
    leases = [(0.0, "leader", "edge-0", "acquire", 10.0), *extra]
    recoveries = [(failover_at, "edge-0", "Failover", "start"), (failover_at + 1, "edge-0", "Failover", "done")]
    got = verdict(with_tables(leases=leases, recoveries=recoveries), "failover-after-lease")
    assert got.checked == 1 and got.verdict == ("true" if holds else "false")
    if not holds:
        assert (got.first.entity, got.first.time) == ("edge-0", failover_at)


def lease_manager(requests):
    """A simple correct lease manager over ``(time, holder, op)`` requests: grants an
    acquire of a free (or expired, or own) resource, a renewal of one's own live lease;
    refuses the rest. Returns the ``leases`` rows and the refusals it could have granted
    wrongly (an acquire of another's live lease)."""
    rows, contested = [], []
    holder, expires = None, 0.0
    for t, who, op in requests:
        live = holder is not None and expires > t
        if op == "acquire" and (not live or holder == who):
            holder, expires = who, t + 5.0
            rows.append((t, "r", who, "acquire", expires))
        elif op == "renew" and live and holder == who:
            expires = t + 5.0
            rows.append((t, "r", who, "renew", expires))
        elif op == "release" and live and holder == who:
            holder = None
            rows.append((t, "r", who, "release", float("nan")))
        elif op in ("acquire", "renew"):
            if op == "acquire" and live:
                contested.append(len(rows))
            rows.append((t, "r", who, "refuse", float("nan")))
    return rows, contested


REQUESTS = st.lists(st.tuples(st.sampled_from(["edge-0", "edge-1"]), st.sampled_from(["acquire", "renew", "release"]),
                              st.floats(0.5, 4.0)), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)
@given(REQUESTS)
def test_a_correct_lease_manager_holds_and_granting_a_contested_acquire_breaks_it(steps):
    t, requests = 0.0, []
    for who, op, gap in steps:
        t += gap
        requests.append((t, who, op))
    rows, contested = lease_manager(requests)
    if not rows:
        return
    assert verdict(with_tables(leases=rows), "lease-exclusive").verdict in ("true", NOT_APPLICABLE)
    for k in contested[:1]:
        wrong = list(rows)
        wrong[k] = (*rows[k][:3], "acquire", rows[k][0] + 5.0)
        got = verdict(with_tables(leases=wrong), "lease-exclusive")
        assert got.verdict == "false" and got.first.time == rows[k][0]
