"""The vector-clock protocol (Causal): causally consistent histories under partitions
and crashes, sessions that read their writes and never go back, causal delivery, and
a seeded history that is causal but not sequentially consistent."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_clients_support import Clients, store_run

from wfsim.consistency.protocols.causal import CausalProtocol
from wfsim.consistency.resolvers import Versions, concurrent, covers, happens_before, merged, resolver
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults import Fault, Partitions, Schedule
from wfsim.verify.history import check_history

SETTINGS = ConsistencySettings(anti_entropy_interval=0.5)
FAULTS = [Partitions(site="edge-1", start=1.0, duration=3.0),
          Schedule(faults=(Fault("crash", ("regional-0",), 2.0, 4.0), Fault("crash", ("edge-0",), 6.0, 6.5)))]


def _session_guarantees(ops, history):
    """Read-your-writes and monotonic reads, judged from one session's operations
    and the history's writes: once the session has written or read value v of a key,
    no later read of it returns the initial value, nor a value whose write returned
    before v's write was called (it is older than v under last-writer-wins
    everywhere). Returns the offending reads."""
    writes = {op.value: op for op in history if op.f == "write"}
    seen, bad = {}, []
    for op in sorted(ops, key=lambda o: o.call):
        if op.status != "ok":
            continue
        v = op.value if op.f == "write" else op.output
        last = seen.get(op.key)
        if op.f == "read" and last is not None:
            older = v in writes and writes[v].ret < writes[last].call
            if v is None or older:
                bad.append(op)
        if v is not None and (last is None or v not in writes or writes[v].call > writes[last].call):
            seen[op.key] = v
    return bad


@pytest.mark.parametrize("seed", [1, 2])
def test_histories_under_partitions_and_crashes_are_causal_and_sessions_hold(seed):
    clients = Clients(CausalProtocol, settings=SETTINGS, seed=seed, faults=FAULTS, until=15.0)
    rng = np.random.default_rng(seed)
    for i in range(4):
        clients.random_client(f"c{i}", f"device-{i}", rng, ops=25, keys=2, rate=4.0)
    # A client moving between the two sites: its session makes it wait for its past.
    clients.client("m", "device-0", [(0.5 + 0.4 * k, "write" if k % 3 == 0 else "read", f"k{k // 2 % 2}",
                                      f"device-{k % 2}") for k in range(25)])
    clients.run()
    assert {op.status for op in clients.history} == {"ok", "info"}
    assert clients.verdict("causal") == "ok"
    for name in clients.sessions:
        assert _session_guarantees(clients.ops(name), clients.history) == [], name
    # After the heal every replica has applied every write and holds the same values.
    protocol = clients.protocol
    assert len({tuple(sorted(c.items())) for c in protocol.clocks.values()}) == 1
    assert all(len(set(by_replica.values())) == 1 for by_replica in protocol.snapshot().values())


def test_the_session_oracle_catches_a_read_that_goes_back():
    from wfsim.verify.history import Operation

    ops = [Operation(0, "s", "write", "x", 1, None, 0.0, 1.0), Operation(1, "s", "read", "x", None, 1, 2.0, 3.0),
           Operation(2, "s", "write", "x", 2, None, 4.0, 5.0), Operation(3, "s", "read", "x", None, 1, 6.0, 7.0),
           Operation(4, "s", "read", "x", None, None, 8.0, 9.0)]
    assert [op.id for op in _session_guarantees(ops, ops)] == [3, 4]


def test_writes_seen_in_different_orders_are_causal_but_not_sequential():
    # Store buffering: a writes x then reads y at edge-0 while b writes y then reads x
    # at edge-1 (80 ms apart): both reads miss the other's write, which no single
    # order of the four operations explains.
    clients = Clients(CausalProtocol, settings=SETTINGS, until=3.0)
    clients.client("a", "device-0", [(1.0, "write", "x"), (1.0, "read", "y")])
    clients.client("b", "device-1", [(1.0, "write", "y"), (1.0, "read", "x")])
    clients.run()
    assert [op.output for op in clients.history if op.f == "read"] == [None, None]
    assert clients.verdict("causal") == "ok"
    assert clients.verdict("sequential") == "violation"


def test_a_moved_session_waits_for_its_own_write_at_the_new_replica():
    clients = Clients(CausalProtocol, settings=SETTINGS, until=3.0)
    clients.client("m", "device-0", [(1.0, "write", "x"), (1.0, "read", "x", "device-1")])
    clients.run()
    write, read = clients.ops("m")
    assert read.output == write.value
    # The push edge-0 → edge-1 takes 80 ms after the write; the read waited for it.
    assert read.ret == pytest.approx(write.call + 0.005 + 0.080 + 0.005, abs=2e-3)


def test_a_write_is_applied_only_after_what_it_depends_on():
    # edge-1 crashes while a's write x is pushed to it, and is back before b's write
    # y, which b made after reading x: edge-1 holds y back until anti-entropy brings x.
    clients = Clients(CausalProtocol, settings=ConsistencySettings(anti_entropy_interval=2.0), until=6.0,
                      faults=[Schedule(faults=(Fault("crash", ("edge-1",), 1.05, 1.15),))])
    clients.client("a", "device-0", [(1.0, "write", "x")])
    clients.client("b", "device-2", [(1.5, "read", "x"), (1.5, "write", "y")])
    clients.client("c", "device-3", [(1.8, "read", "y"), (1.8, "read", "x"), (5.5, "read", "y")])
    clients.run()
    write_x = clients.ops("a")[0]
    read_x, write_y = clients.ops("b")
    assert read_x.output == write_x.value
    first_y, first_x, later_y = clients.ops("c")
    assert (first_y.output, first_x.output) == (None, None)  # y is held back: not seen before x
    assert later_y.output == write_y.value
    assert clients.verdict("causal") == "ok"


def test_a_client_that_stopped_waiting_learns_nothing_from_the_late_reply():
    # The moved session's second write waits 80 ms at edge-1 for its first: longer
    # than the 20 ms timeout. It still happens, but its clock never reaches the session.
    clients = Clients(CausalProtocol, settings=ConsistencySettings(timeout_causal=0.02), until=3.0)
    clients.client("m", "device-0", [(1.0, "write", "x"), (1.0, "write", "y", "device-1")])
    clients.run()
    first, second = clients.ops("m")
    assert first.status == "ok" and second.status == "info" and math.isinf(second.ret)
    edge0, edge1 = clients.node("edge-0"), clients.node("edge-1")
    assert clients.sessions["m"].clock == {edge0: 1}
    assert clients.protocol.clocks[edge1] == {edge0: 1, edge1: 1}  # the write took effect


CLOCKS = st.dictionaries(st.integers(0, 3), st.integers(0, 3), max_size=4)


@settings(max_examples=60, deadline=None)
@given(CLOCKS, CLOCKS, CLOCKS)
def test_vector_clocks_merge_pointwise_and_happens_before_is_a_strict_partial_order(a, b, c):
    m = merged(a, b)
    assert all(m.get(n, 0) == max(a.get(n, 0), b.get(n, 0)) for n in {*a, *b})
    assert merged(a, b) == merged(b, a) and merged(merged(a, b), c) == merged(a, merged(b, c))
    assert covers(m, a) and covers(m, b)
    assert not happens_before(a, a)
    assert not (happens_before(a, b) and happens_before(b, a))
    if happens_before(a, b) and happens_before(b, c):
        assert happens_before(a, c)
    assert concurrent(a, b) == (not covers(a, b) and not covers(b, a))


ACTIONS = st.lists(st.tuples(st.sampled_from(["write", "sync"]), st.integers(0, 2), st.integers(0, 2),
                             st.integers(0, 1)), max_size=30)


@settings(max_examples=40, deadline=None)
@given(ACTIONS)
def test_siblings_a_replica_keeps_are_pairwise_concurrent(actions):
    # Three replicas keeping siblings: writes that replace what they saw, and syncs
    # of one replica's versions into another's, in any order.
    stores = [Versions(resolver("multi_value")) for _ in range(3)]
    counts = [0, 0, 0]
    for i, (what, r, other, key) in enumerate(actions):
        k = f"k{key}"
        if what == "write":
            counts[r] += 1
            clock = merged(*(v.clock for v in stores[r].get(k)), {r: counts[r]})
            stores[r].write(k, i, clock, (float(i), r))
        else:
            for v in stores[other].get(k):
                stores[r].put(k, v)
        for store in stores:
            for versions in store.keys.values():
                assert all(concurrent(x.clock, y.clock) for x in versions for y in versions if x is not y)


def test_a_crash_loses_the_held_back_writes_and_anti_entropy_brings_them_again():
    # As above, edge-1 misses x and holds y back; then it crashes (1.8-1.9 s), which
    # empties its buffer but keeps its versions. Anti-entropy, off until 2 s, repairs both.
    clients = Clients(CausalProtocol, settings=ConsistencySettings(anti_entropy_interval=0.2), until=4.0,
                      faults=[Schedule(faults=(Fault("crash", ("edge-1",), 1.05, 1.15),
                                               Fault("crash", ("edge-1",), 1.8, 1.9)))])
    clients.transport.quiet = lambda: clients.sim.env.now < 2.0
    clients.client("a", "device-0", [(1.0, "write", "x")])
    clients.client("b", "device-2", [(1.5, "read", "x"), (1.5, "write", "y")])
    protocol, edge1 = clients.protocol, clients.node("edge-1")
    held = {}
    for t in (1.75, 1.95):
        clients.transport.after(t, lambda t=t: held.__setitem__(t, len(protocol._pending[edge1])))
    clients.run()
    assert held == {1.75: 1, 1.95: 0}
    assert protocol.clocks[edge1] == protocol.clocks[clients.node("edge-0")]
    assert {k: v[edge1] for k, v in protocol.snapshot().items()} == {"x": 1, "y": 2}


def test_siblings_kept_at_every_replica_are_pairwise_concurrent_and_converge():
    clients = Clients(CausalProtocol, settings=ConsistencySettings(anti_entropy_interval=0.5, resolver="multi_value"),
                      seed=3, faults=FAULTS, until=14.0)
    rng = np.random.default_rng(3)
    for i in range(4):
        clients.random_client(f"c{i}", f"device-{i}", rng, ops=25, keys=2, reads=0.2, rate=4.0)
    clients.run()
    assert any(r[5] > 1 for r in clients.resolutions)
    for versions in clients.protocol.versions.values():
        for held in versions.keys.values():
            assert all(concurrent(x.clock, y.clock) for x in held for y in held if x is not y)
    assert all(len({repr(v) for v in by.values()}) == 1 for by in clients.protocol.snapshot().values())


def test_state_clients_through_the_store_leave_a_causal_history():
    history = store_run("Causal")
    assert {op.status for op in history} == {"ok"}  # writes stay on their side of the partition
    assert check_history(history, "register", "causal", budget=20).verdict == "ok"
