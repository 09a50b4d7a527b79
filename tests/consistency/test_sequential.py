"""The sequencer protocol (Sequential) over a small hierarchical continuum: its
histories are sequentially consistent, under partitions and crashes too, but a
lagging replica makes them non-linearizable."""

import numpy as np
import pytest
from protocol_clients_support import Clients, store_run

from wfsim.consistency.protocols.sequential import SequencerProtocol
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults import Fault, Partitions, Schedule
from wfsim.verify.history import check_history

SETTINGS = ConsistencySettings(anti_entropy_interval=0.5)


def _random_clients(clients: Clients, seed: int, ops: int = 25) -> None:
    rng = np.random.default_rng(seed)
    for i in range(4):  # device i's nearest replica is edge-(i mod 2), always
        clients.random_client(f"c{i}", f"device-{i}", rng, ops=ops, keys=2, rate=4.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_histories_under_partitions_and_crashes_are_sequentially_consistent(seed):
    faults = [Partitions(site="edge-1", start=1.0, duration=3.0),
              Schedule(faults=(Fault("crash", ("regional-0",), 2.0, 4.0), Fault("crash", ("cloud",), 5.0, 5.5)))]
    clients = Clients(SequencerProtocol, settings=SETTINGS, seed=seed, faults=faults, until=15.0)
    _random_clients(clients, seed)
    clients.run()
    statuses = {op.status for op in clients.history}
    assert statuses == {"ok", "info"}  # the cut-off side's and the crash's writes get no answer
    assert clients.verdict("sequential") == "ok"
    # Every replica has applied the whole order by the end (the catch-up repaired the gaps).
    protocol = clients.protocol
    assert set(protocol.applied.values()) == {len(protocol.log)}
    assert all(len(set(by_replica.values())) == 1 for by_replica in protocol.snapshot().values())


def test_a_lagging_replica_serves_a_stale_read_so_the_history_is_not_linearizable():
    # edge-1 is cut off from 0.5 s to 3 s: b's read at 1.2 s, after a's write has
    # returned, still sees the initial value there; after the heal, b sees the write.
    clients = Clients(SequencerProtocol, settings=SETTINGS, seed=0,
                      faults=[Partitions(site="edge-1", start=0.5, duration=2.5)], until=8.0)
    clients.client("a", "device-0", [(1.0, "write", "x")])
    clients.client("b", "device-1", [(1.2, "read", "x"), (6.0, "read", "x")])
    clients.run()
    [write] = clients.ops("a")
    assert write.status == "ok" and write.ret < 1.2
    assert [op.output for op in clients.ops("b")] == [None, write.value]
    assert clients.verdict("sequential") == "ok"
    assert clients.verdict("linearizable") == "violation"


def test_a_write_returns_once_the_local_replica_applied_it():
    clients = Clients(SequencerProtocol, settings=SETTINGS, until=3.0)
    clients.client("a", "device-0", [(1.0, "write", "x"), (1.0, "read", "x")])
    clients.run()
    write, read = clients.ops("a")
    # device-0 → cloud (sequencer) → edge-0 (its replica) → device-0: 45 + 40 + 5 ms.
    assert write.ret - write.call == pytest.approx(0.090, abs=2e-3)
    assert read.output == write.value
    assert read.ret - read.call == pytest.approx(0.010, abs=1e-3)  # a local read


def test_without_the_sequencer_writes_get_no_answer_and_reads_still_do():
    clients = Clients(SequencerProtocol, settings=SETTINGS, until=4.0,
                      faults=[Schedule(faults=(Fault("crash", ("cloud",), 0.5, 3.0),))])
    clients.client("a", "device-0", [(1.0, "write", "x"), (1.5, "read", "x"), (3.5, "write", "x")])
    clients.run()
    first, read, after = clients.ops("a")
    assert first.status == "info" and read.status == "ok" and read.output is None
    assert after.status == "ok"
    assert len(clients.protocol.log) == 1


def test_catch_up_rounds_stop_sending_when_quiet_but_keep_their_timers():
    clients = Clients(SequencerProtocol, settings=SETTINGS, until=5.0)
    clients.transport.quiet = lambda: True
    clients.run()
    assert "catch-up" not in clients.transport.counts
    assert len(clients.transport.timers.pending) == len(clients.protocol.replicas) - 1  # one timer per follower


def test_the_sequencer_resends_nothing_when_nothing_was_lost():
    clients = Clients(SequencerProtocol, settings=ConsistencySettings(anti_entropy_interval=0.05), seed=1, until=8.0)
    rng = np.random.default_rng(1)
    for i in range(4):
        clients.random_client(f"c{i}", f"device-{i}", rng, ops=30, keys=2, reads=0.0, rate=10.0)
    clients.run()
    counts = clients.transport.counts
    assert counts["catch-up"][0] > 100 and "resend" not in counts  # broadcasts in flight are not sent again


def test_a_crash_loses_the_writes_held_for_a_gap_and_the_catch_up_brings_them_again():
    # edge-1 is down when the first write's broadcast arrives, up for the second (held
    # back: the first is missing), down again (the held write is lost), and catches
    # up once the rounds start at 2 s.
    clients = Clients(SequencerProtocol, settings=SETTINGS, until=4.0,
                      faults=[Schedule(faults=(Fault("crash", ("edge-1",), 1.0, 1.1),
                                               Fault("crash", ("edge-1",), 1.7, 1.8)))])
    clients.transport.quiet = lambda: clients.sim.env.now < 2.0
    clients.client("a", "device-0", [(1.0, "write", "x"), (1.5, "write", "y")])
    protocol, edge1 = clients.protocol, clients.node("edge-1")
    held = {}
    for t in (1.65, 1.85):
        clients.transport.after(t, lambda t=t: held.__setitem__(t, (len(protocol._held[edge1]),
                                                                       protocol.applied[edge1])))
    clients.run()
    assert held == {1.65: (1, 0), 1.85: (0, 0)}
    assert protocol.applied[edge1] == 2 and {k: v[edge1] for k, v in protocol.snapshot().items()} == {"x": 1, "y": 2}


def test_state_clients_through_the_store_leave_a_sequentially_consistent_history():
    history = store_run("Sequential")
    assert {op.status for op in history} == {"ok", "info"}  # the cut-off side's writes miss the sequencer
    assert check_history(history, "register", "sequential", budget=20).verdict == "ok"
