"""Leases: the manager against a simple model under random operations (mutual
exclusion, no revival of expired leases), and lease-based failover in the simulation
(only after revocation or expiry), checked from the trace (P22)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wfsim import Simulation, hierarchical
from wfsim.engine.detection import DetectionSettings
from wfsim.engine.leases import LeaseManager, LeaseSettings
from wfsim.model.events import ACQUIRE, LEASE_EVENTS, RENEW
from wfsim.trace.metrics import lease_violations
from wfsim.trace.recorder import TraceRecorder

OPS = st.lists(st.tuples(
    st.sampled_from(["acquire", "renew", "release", "revoke"]),
    st.integers(0, 2),                       # holder
    st.sampled_from(["a", "b"]),             # resource
    st.sampled_from([0.5, 1.0, 2.0, 5.0]),   # duration
    st.sampled_from([0.0, 0.25, 1.0, 3.0]),  # time advanced before the operation
), max_size=40)


@settings(max_examples=30, deadline=None)
@given(OPS)
@example([("acquire", 1, "a", 0.5, 0.0), ("renew", 1, "a", 1.0, 1.0), ("acquire", 2, "a", 1.0, 0.25)])
def test_the_manager_agrees_with_a_model_and_never_holds_two_leases(ops):
    now = [0.0]
    rows: list[tuple] = []
    manager = LeaseManager(lambda: now[0], rows.append)
    model: dict[str, tuple[int, float]] = {}  # resource → (holder, expires)

    def active(resource):
        lease = model.get(resource)
        return lease if lease is not None and now[0] < lease[1] else None

    for op, holder, resource, duration, dt in ops:
        now[0] += dt
        lease = active(resource)
        if op == "acquire":
            expected = lease is None
            assert manager.acquire(holder, resource, duration) is expected
            if expected:
                model[resource] = (holder, now[0] + duration)
        elif op == "renew":
            expected = lease is not None and lease[0] == holder
            assert manager.renew(holder, resource, duration) is expected  # never revives an expired lease
            if expected:
                model[resource] = (holder, now[0] + duration)
        elif op == "release":
            expected = lease is not None and lease[0] == holder
            assert manager.release(holder, resource) is expected
            if expected:
                del model[resource]
        else:
            assert manager.revoke(resource) == (None if lease is None else lease[0])
            model.pop(resource, None)
        for r in ("a", "b"):
            assert manager.holder(r) == (None if active(r) is None else active(r)[0])
    # The rows say the same: at most one unexpired lease per resource at every instant.
    assert lease_violations(trace_of(rows)) == []


def test_a_renewal_after_expiry_is_refused_and_recorded():
    now = [0.0]
    rows: list[tuple] = []
    manager = LeaseManager(lambda: now[0], rows.append)
    assert manager.acquire(7, "leader", 2.0)
    now[0] = 2.0  # exactly at expiry: no longer active
    assert not manager.renew(7, "leader", 2.0)
    assert [(t, LEASE_EVENTS[e]) for t, _r, _h, e, _x in rows] == [(0.0, "acquire"), (2.0, "expire"),
                                                                   (2.0, "refuse")]


def trace_of(rows: list[tuple]):
    topo = hierarchical(devices=0, edge=2, regional=0)
    recorder = TraceRecorder()
    for row in rows:
        recorder.record_lease(row)
    return recorder.build(topo, {}, 10.0)


def test_lease_violations_catches_the_seeds_revival_and_a_double_grant():
    ok = [(0.0, "r", 1, ACQUIRE, 2.0), (1.0, "r", 1, RENEW, 3.0)]
    assert lease_violations(trace_of(ok)) == []
    revived = ok + [(4.0, "r", 1, RENEW, 6.0)]  # the seed's renew_lease of an expired lease
    assert lease_violations(trace_of(revived)) == ["t=4: edge-0 renewed r without an unexpired lease on it"]
    double = ok + [(2.5, "r", 2, ACQUIRE, 5.0)]
    assert lease_violations(trace_of(double)) == ["t=2.5: edge-1 acquired r while edge-0 held it until 3"]


def holding(until: float, candidates=("edge-0", "edge-1", "edge-2"), **lease_args):
    topo = hierarchical(devices=0, edge=3, regional=1)
    sim = Simulation(topo, [], until=until, duration=until,
                     detection=DetectionSettings(period=0.5, timeout=1.0, check_period=0.5),
                     leases=LeaseSettings(candidates=candidates, **lease_args))
    return sim


def at(sim, t, action):
    def process():
        yield sim.env.timeout(t)
        action()
    sim.env.process(process())


def test_an_unreachable_holder_fails_over_at_expiry_not_before():
    sim = holding(40.0, duration=8.0, renew_every=2.0)
    link = sim.topology.link_index("edge-0", "regional-0")

    def crash():
        sim.nodes[sim.topology.index_of("edge-0")].up = False
        sim.topology.set_link_up(link, False)

    at(sim, 5.1, crash)
    trace = sim.run().trace
    le = trace.leases
    events = list(zip(le["time"], le["holder"].astype(str), le["event"].astype(str)))
    last_renewal = max(t for t, h, e in events if h == "edge-0" and e == "renew")
    assert last_renewal < 5.1
    handover = [(t, h, e) for t, h, e in events if e in ("expire", "acquire") and t > 0]
    assert handover == [(last_renewal + 8.0, "edge-0", "expire"), (last_renewal + 8.0, "edge-1", "acquire")]
    assert lease_violations(trace) == []
    rec = trace.recoveries
    failover = rec[rec["action"].astype(str) == "Failover"]
    assert failover["phase"].astype(str).tolist() == ["start", "done"]
    det = trace.detections
    failed_at = det[det["state"].astype(str) == "Failed"]["time"].iloc[0]
    assert failover["time"].tolist() == [failed_at, last_renewal + 8.0] and failed_at < last_renewal + 8.0
    moved = rec[rec["action"].astype(str) == "StateTransfer"]
    assert moved["node"].astype(str).unique().tolist() == ["edge-1"]
    assert sim.leases.failovers == [("leader", sim.topology.index_of("edge-0"),
                                     sim.topology.index_of("edge-1"), last_renewal + 8.0)]


def test_a_reachable_failed_holder_is_revoked_and_failed_over_early():
    # The node is down but its links are up: heartbeats stop, the revocation arrives.
    sim = holding(40.0, duration=30.0, renew_every=2.0)
    at(sim, 5.1, lambda: setattr(sim.nodes[sim.topology.index_of("edge-0")], "up", False))
    trace = sim.run().trace
    le = trace.leases
    events = [(t, h, e) for t, h, e in zip(le["time"], le["holder"].astype(str), le["event"].astype(str))
              if e in ("revoke", "acquire")]
    assert [(h, e) for _, h, e in events] == [("edge-0", "acquire"), ("edge-0", "revoke"), ("edge-1", "acquire")]
    assert events[1][0] == events[2][0] < 30.0  # well before the lease would have expired
    assert lease_violations(trace) == []
    assert trace.leases["event"].astype(str).eq("expire").sum() == 0


def test_resources_spread_over_candidates_and_settings_are_checked():
    sim = holding(5.0, resources=("a", "b", "c", "d"))
    holders = {r: sim.topology.nodes[lease.holder].id for r, lease in sim.leases.manager.leases.items()}
    assert holders == {"a": "edge-0", "b": "edge-1", "c": "edge-2", "d": "edge-0"}
    with pytest.raises(ValueError, match=r"renew_every \(1.0\) must be < duration"):
        LeaseSettings(duration=1.0, renew_every=1.0)
    with pytest.raises(ValueError, match="candidates: unknown node 'x'"):
        holding(5.0, candidates=("x",))


def test_the_same_run_twice_gives_the_same_lease_and_recovery_tables():
    def run():
        sim = holding(30.0, duration=4.0, renew_every=1.0, resources=("a", "b", "c"))
        at(sim, 3.3, lambda: sim.topology.set_link_up(sim.topology.link_index("edge-0", "regional-0"), False))
        at(sim, 12.3, lambda: sim.topology.set_link_up(sim.topology.link_index("edge-0", "regional-0"), True))
        return sim.run().trace

    first, second = run(), run()
    assert len(first.leases) > 20 and first.leases.equals(second.leases)
    assert first.recoveries.equals(second.recoveries) and first.detections.equals(second.detections)
    assert lease_violations(first) == []


def test_a_failed_holder_cut_off_from_its_revocation_is_revoked_when_its_renewal_gets_through():
    sim = holding(40.0, duration=30.0, renew_every=2.0)
    link = sim.topology.link_index("edge-0", "regional-0")
    at(sim, 5.1, lambda: sim.topology.set_link_up(link, False))
    at(sim, 13.1, lambda: sim.topology.set_link_up(link, True))
    trace = sim.run().trace
    le = trace.leases
    events = [(t, h, e) for t, h, e in zip(le["time"], le["holder"].astype(str), le["event"].astype(str))
              if e != "renew"]
    assert [(h, e) for _, h, e in events] == [("edge-0", "acquire"), ("edge-0", "revoke"), ("edge-1", "acquire")]
    # The first renewal round after the heal (t = 14) reaches the monitor one uplink later.
    assert 14.0 < events[1][0] == events[2][0] < 14.1
    assert lease_violations(trace) == []
