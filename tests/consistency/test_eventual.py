"""The anti-entropy protocol (Eventual): replicas converge after a partition heals
whatever the resolver, conflicts across the partition are settled and counted, and
a seeded history breaks read-your-writes (so causal consistency)."""

import numpy as np
import pytest
from protocol_clients_support import Clients

from wfsim.consistency.protocols.causal import CausalProtocol
from wfsim.consistency.protocols.eventual import EventualProtocol
from wfsim.consistency.settings import RESOLVERS, ConsistencySettings
from wfsim.faults import Fault, Partitions, Schedule

#: edge-1 and its devices cut off from 2 s to 8 s; regional-0 down from 3 s to 6 s.
FAULTS = [Partitions(site="edge-1", start=2.0, duration=6.0),
          Schedule(faults=(Fault("crash", ("regional-0",), 3.0, 6.0),))]


def _converged(protocol):
    return all(len({repr(v) for v in by_replica.values()}) == 1 for by_replica in protocol.snapshot().values())


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_replicas_converge_after_the_heal_for_every_resolver(resolver):
    settings = ConsistencySettings(anti_entropy_interval=0.5, resolver=resolver)
    clients = Clients(EventualProtocol, settings=settings, seed=4, faults=FAULTS, until=16.0)
    rng = np.random.default_rng(4)
    for i in range(4):  # writes on both sides, until about 10 s
        clients.random_client(f"c{i}", f"device-{i}", rng, ops=30, keys=3, reads=0.3, rate=4.0, start=1.0)
    clients.run()
    assert max(op.call for op in clients.history) < 11.0
    assert _converged(clients.protocol)
    assert clients.resolutions  # concurrent writes met after the heal
    codes = {(r[3], r[4]) for r in clients.resolutions}
    assert codes == {(3, resolver)}  # Eventual is the fourth level
    lost = sum(r[6] for r in clients.resolutions)
    assert (lost > 0) == (resolver == "lww")
    if resolver == "crdt_set":  # nothing lost: each key's set is every write to it
        for key, by_replica in clients.protocol.snapshot().items():
            written = sorted(op.value for op in clients.history if op.f == "write" and op.key == key)
            assert next(iter(by_replica.values())) == written, key


@pytest.mark.parametrize(("resolver", "during", "after", "lost"), [
    ("lww", (1, 2), 2, 1),  # b (value 2) wrote later: a's write is lost
    ("multi_value", (1, 2), (1, 2), 0),  # both kept as siblings
    ("crdt_set", ((1,), (2,)), (1, 2), 0),  # a set each side, merged
])
def test_writes_on_both_sides_of_a_partition_are_settled_by_the_resolver(resolver, during, after, lost):
    settings = ConsistencySettings(anti_entropy_interval=0.5, resolver=resolver)
    clients = Clients(EventualProtocol, settings=settings, until=10.0,
                      faults=[Partitions(site="edge-1", start=1.0, duration=3.0)])
    clients.client("a", "device-0", [(2.0, "write", "x"), (3.0, "read", "x")])
    clients.client("b", "device-1", [(2.5, "write", "x"), (3.0, "read", "x"), (9.0, "read", "x")])
    clients.run()
    assert [op.value for op in clients.history if op.f == "write"] == [1, 2]
    # During the partition each side reads its own write; after the heal, the settled value.
    a_read, b_read, b_after = (op.output for op in clients.history if op.f == "read")
    assert (a_read, b_read, b_after) == (*during, after)
    snapshot = clients.protocol.snapshot()["x"]
    assert {tuple(v) if isinstance(v, list) else v for v in snapshot.values()} == {after}
    # Replicas that met both versions apart settled them (a replica may instead get the
    # settled version whole); none twice.
    assert clients.resolutions and {(r[5], r[6]) for r in clients.resolutions} == {(2, lost)}
    nodes = [r[1] for r in clients.resolutions]
    assert len(nodes) == len(set(nodes))


def test_a_client_that_moves_misses_its_own_write_so_the_history_is_not_causal():
    script = [(1.0, "write", "x"), (1.0, "read", "x", "device-1")]
    eventual = Clients(EventualProtocol, until=3.0)
    eventual.client("m", "device-0", script)
    eventual.run()
    write, read = eventual.ops("m")
    assert write.status == read.status == "ok" and read.output is None  # edge-1 has not heard yet
    assert eventual.verdict("causal") == "violation"
    # The same script at the causal level waits for the write instead.
    causal = Clients(CausalProtocol, until=3.0, settings=ConsistencySettings(timeout_causal=0.5))
    causal.client("m", "device-0", script)
    causal.run()
    assert causal.ops("m")[1].output == causal.ops("m")[0].value
    assert causal.verdict("causal") == "ok"


def test_reads_and_writes_answer_at_the_nearest_replica():
    clients = Clients(EventualProtocol, until=3.0)
    clients.client("a", "device-0", [(1.0, "write", "x"), (1.0, "read", "x")])
    clients.run()
    for op in clients.ops("a"):
        assert op.ret - op.call == pytest.approx(0.010, abs=1e-3)  # device-0 ↔ edge-0
    # 1 request + 1 reply + 4 pushes for the write; 2 messages for the read.
    counts = clients.transport.counts
    assert (counts["write"][0], counts["push"][0], counts["read"][0], counts["reply"][0]) == (1, 4, 1, 2)


def test_anti_entropy_rounds_skip_their_sends_when_quiet():
    clients = Clients(EventualProtocol, settings=ConsistencySettings(anti_entropy_interval=0.5), until=5.0,
                      faults=[Partitions(site="edge-1", start=0.5, duration=1.0)])
    clients.client("a", "device-0", [(1.0, "write", "x")])
    clients.transport.quiet = lambda: clients.sim.env.now > 1.2
    clients.run()
    # The partition lost the push to edge-1, and no round ran after it healed.
    assert clients.protocol.snapshot()["x"][clients.node("edge-1")] is None
    assert clients.transport.counts["digest"][0] > 0
    assert len(clients.transport.timers.pending) == len(clients.protocol.replicas)  # the timers go on


def _convergence_time(interval: float, seed: int) -> float:
    """Seconds from the heal of a 5 s partition (writes on both sides before it)
    until every replica reads the same value of every key, probed every 10 ms."""
    clients = Clients(EventualProtocol, settings=ConsistencySettings(anti_entropy_interval=interval), seed=seed,
                      faults=[Partitions(site="edge-1", start=1.0, duration=5.0)], until=6.0 + 8 * interval)
    rng = np.random.default_rng(seed)
    for i in range(4):
        times = np.cumsum(rng.exponential(1 / 3.0, size=15)) + 1.0
        clients.client(f"c{i}", f"device-{i}", [(float(t), "write", f"k{i % 2}") for t in times if t < 5.7])
    since: list[float] = []

    def probe():
        if _converged(clients.protocol):
            since.append(since[-1] if since else clients.sim.env.now)
        else:
            since.clear()
        clients.transport.after(0.01, probe)

    clients.transport.after(6.0, probe)
    clients.run()
    return since[-1] - 6.0


def test_convergence_after_the_heal_takes_a_few_anti_entropy_rounds():
    fast = [_convergence_time(0.1, seed) for seed in range(3)]
    slow = [_convergence_time(1.0, seed) for seed in range(3)]
    assert max(fast) < min(slow)
    assert max(fast) < 8 * 0.1 and max(slow) < 8 * 1.0


@pytest.mark.parametrize("protocol", [EventualProtocol, CausalProtocol])
def test_anti_entropy_repairs_nothing_when_nothing_was_lost(protocol):
    clients = Clients(protocol, settings=ConsistencySettings(anti_entropy_interval=0.05), seed=1, until=8.0)
    rng = np.random.default_rng(1)
    for i in range(4):
        clients.random_client(f"c{i}", f"device-{i}", rng, ops=30, keys=2, reads=0.0, rate=10.0)
    clients.run()
    counts = clients.transport.counts
    assert counts["digest"][0] > 100 and "missing" not in counts  # pushes in flight are not sent again


@pytest.mark.parametrize("protocol", [EventualProtocol, CausalProtocol])
def test_a_peer_relays_the_writes_of_an_origin_that_is_cut_off(protocol):
    # edge-1 is down when edge-0's push arrives; then edge-0's site is cut off for
    # good: only a peer that got the push can bring x to edge-1.
    clients = Clients(protocol, settings=ConsistencySettings(anti_entropy_interval=0.2), until=5.0,
                      faults=[Schedule(faults=(Fault("crash", ("edge-1",), 0.9, 1.2),)),
                              Partitions(site="edge-0", start=1.1, duration=100.0)])
    clients.client("a", "device-0", [(1.0, "write", "x")])
    clients.run()
    held = clients.protocol.snapshot()["x"]
    assert held[clients.node("edge-1")] == 1 and held[clients.node("cloud")] == 1
