"""Raft (the Linearizable level) over the simulated network: safety under random
partitions and crashes, elections within a bound tied to the timeouts, linearizable
histories with ReadIndex and Lease reads, and stale reads with LeaderLocal."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from raft_support import REPLICAS, RaftRun, raft_run

from wfsim import Poisson, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.consistency.protocols.raft import NOOP
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults.processes import Crashes, Partitions
from wfsim.policies.consistency import FixedLevel
from wfsim.trace.outages import node_outages
from wfsim.verify.catalog import check_catalog
from wfsim.verify.history import Operation, check_linearizability

# --- safety, from the recorded raft events ------------------------------------------------------------------


def crash_times(run: RaftRun) -> dict[str, list[float]]:
    assert run.trace is not None
    out: dict[str, list[float]] = defaultdict(list)
    for node, start in zip(*node_outages(run.trace)[["node", "start"]].T.to_numpy()):
        out[str(node)].append(float(start))
    return out


def assert_safe(run: RaftRun) -> None:
    """At most one leader per term; terms never decrease at a node; one op per log
    index across every commit and apply; each member applies 1, 2, 3, … (again from 1
    after a crash: its state machine is volatile)."""
    rows = run.rows()
    leaders: dict[int, set[str]] = defaultdict(set)
    term: dict[str, int] = {}
    op_at: dict[int, int] = {}
    applied: dict[str, int] = {}
    crashes = crash_times(run)
    for t, node, event, term_, index, op in rows:
        assert term_ >= term.get(node, 0), f"{node}'s term went back to {term_} at t={t}"
        term[node] = term_
        if event == "leader":
            leaders[term_].add(node)
            assert len(leaders[term_]) == 1, f"two leaders in term {term_}: {leaders[term_]}"
        if event in ("commit", "apply"):
            assert op_at.setdefault(index, op) == op, f"index {index} holds {op_at[index]} and {op}"
        if event == "apply":
            if any(c <= t for c in crashes.get(node, ())):  # crashed since its last apply
                crashes[node] = [c for c in crashes[node] if c > t]
                applied[node] = 0
            assert index == applied.get(node, 0) + 1, f"{node} applied {index} after {applied.get(node, 0)}"
            applied[node] = index
    # What a client was told was written is committed; the latest leader's log holds every commit.
    committed = {op_at[i] for i in op_at}
    written = {o.id for o in run.history if o.f == "write" and o.status == "ok"}
    assert written <= committed
    top = max(run.raft.members.values(), key=lambda m: (m.term, m.role.value == "Leader"))
    if top.role.value == "Leader":
        assert all(top.log[i].op == op for i, op in op_at.items())


# Each example is a whole simulation: a failing one is reported as drawn, not shrunk.
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(n=st.sampled_from([3, 5]), seed=st.integers(0, 10_000), mtbf=st.floats(1.0, 4.0), mttr=st.floats(0.1, 1.0),
       cut=st.sampled_from(REPLICAS[:3]), start=st.floats(0.0, 2.0), length=st.floats(0.2, 1.5),
       every=st.sampled_from([0.0, 0.5]), read_mode=st.sampled_from(["ReadIndex", "Lease"]))
def test_raft_is_safe_and_linearizable_under_random_partitions_and_crashes(n, seed, mtbf, mttr, cut, start, length,
                                                                         every, read_mode) -> None:
    faults = [Crashes(nodes=REPLICAS[:n], mtbf=mtbf, mttr=mttr),
              Partitions(site=cut, start=start, duration=length, every=every, distribution="exponential")]
    run = raft_run(n, seed, until=4.0, faults=faults, read_mode=read_mode)
    for k in range(4):
        run.client(f"c{k}", f"device-{k}", 0.0, 3.5)
    run.run()
    assert run.trace is not None and len(run.trace.faults)
    assert_safe(run)
    verdict = check_linearizability(run.history, "register")
    assert verdict.verdict == "ok", verdict


# --- liveness -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 5])
def test_a_stable_group_elects_a_leader_within_a_bound_of_the_timeouts(n) -> None:
    firsts = []
    for seed in range(10):
        run = raft_run(n, seed, until=1.5).run()
        leaders = [(t, term) for t, _, event, term, _, _ in run.rows() if event == "leader"]
        assert leaders, f"seed {seed}: no leader"
        firsts.append(leaders[0][0])
    s = run.raft.settings
    # One timeout and a vote round trip (≤ 0.12 s here) usually; split votes cost a few more.
    assert np.median(firsts) <= s.election_timeout_max + 0.12
    assert max(firsts) <= 4 * s.election_timeout_max


def test_after_the_leader_crashes_a_new_one_is_elected_and_writes_succeed_again() -> None:
    run = raft_run(3, seed=2, until=4.0)
    crashed = []

    def crash() -> None:
        crashed.append(run.leader())
        run.sim.faults.crash(crashed[0])
        # Clients in the other regions (the crashed one's devices are cut off with it).
        k = int(run.sim.topology.nodes[crashed[0]].id.rsplit("-", 1)[1])
        for j in (k + 1) % 3, (k + 2) % 3:
            run.client(f"c{j}", f"device-{j}", 0.0, 3.5)

    run.net.after(1.0, crash)
    run.client("before", "device-0", 0.0, 1.0)
    run.run()
    old = run.sim.topology.nodes[crashed[0]].id
    after = [(t, node) for t, node, event, *_ in run.rows() if event == "leader" and t > 1.0]
    assert after and after[0][1] != old
    assert after[0][0] - 1.0 <= 4 * run.raft.settings.election_timeout_max
    late = [o for o in run.history if o.f == "write" and o.call > after[0][0] + 0.5]
    assert late and all(o.status == "ok" for o in late)
    assert_safe(run)
    assert check_linearizability(run.history, "register").verdict == "ok"


# --- reads: the modes differ under a partition that isolates the leader ----------------------------------------


def isolated_leader_run(read_mode: str, seed: int = 1) -> RaftRun:
    """Three regions; at t=1 the leader's region is cut off from the cloud until t=2.5.
    A client on the old leader's side reads; one on the other side writes."""
    run = raft_run(3, seed, until=4.0, read_mode=read_mode)
    sides: dict[str, str] = {}

    def cut() -> None:
        leader = run.sim.topology.nodes[run.leader()].id  # regional-k
        k = int(leader.rsplit("-", 1)[1])
        link = run.sim.topology.links.index(next(link for link in run.sim.topology.links
                                                 if {link.a, link.b} == {leader, "cloud"}))
        run.sim.faults.hold_link(link)
        run.net.after(1.5, run.sim.faults.release_link, link)
        sides.update(inside=f"device-{k}", outside=f"device-{(k + 1) % 3}")
        run.client("reader", sides["inside"], 0.0, 2.3, keys=("x",), read_fraction=1.0)
        run.client("writer", sides["outside"], 0.0, 2.3, keys=("x",), read_fraction=0.0)

    run.client("w0", "device-0", 0.0, 0.9, keys=("x",), read_fraction=0.0)
    run.client("w1", "device-1", 0.0, 0.9, keys=("x",), read_fraction=0.0)
    run.net.after(1.0, cut)
    for k in range(3):
        run.client(f"late{k}", f"device-{k}", 2.8, 3.6, keys=("x",))
    return run.run()


@pytest.mark.parametrize("read_mode", ["ReadIndex", "Lease"])
def test_reads_stay_linearizable_when_the_leader_is_cut_off(read_mode) -> None:
    run = isolated_leader_run(read_mode)
    assert_safe(run)
    assert check_linearizability(run.history, "register").verdict == "ok"
    # The new leader took writes while the old one was cut off.
    assert any(o.f == "write" and o.status == "ok" and 1.5 < o.ret < 2.5 for o in run.history)


def test_leader_local_reads_go_stale_when_the_leader_is_cut_off() -> None:
    run = isolated_leader_run("LeaderLocal")
    assert_safe(run)  # the log stays safe: only the reads are wrong
    verdict = check_linearizability(run.history, "register")
    assert verdict.verdict == "violation"


def test_a_lease_read_is_answered_without_a_round_trip_a_read_index_one_is_not() -> None:
    latency = {}
    for mode in ("ReadIndex", "Lease", "LeaderLocal"):
        # A lease must outlast a heartbeat round trip between regions (0.12 s) to be of use.
        run = raft_run(3, seed=3, until=3.0, read_mode=mode, election_timeout_min=0.3, election_timeout_max=0.6,
                       lease_duration=0.25)
        run.client("c", "device-0", 1.0, 2.5, read_fraction=1.0)
        run.run()
        reads = [o.ret - o.call for o in run.history if o.status == "ok"]
        latency[mode] = float(np.median(reads))
    # Client to leader and back, plus (ReadIndex) a heartbeat round between regions.
    assert latency["Lease"] == pytest.approx(latency["LeaderLocal"])
    assert latency["ReadIndex"] >= latency["Lease"] + 0.1


# --- crashes, quiet, snapshot -------------------------------------------------------------------------------


def test_a_crash_keeps_term_vote_and_log_and_the_member_applies_them_again() -> None:
    run = raft_run(3, seed=4, until=3.0)
    run.client("c", "device-0", 0.0, 2.5, read_fraction=0.0)
    seen = {}

    def crash() -> None:
        node = next(n for n in run.raft.replicas if n != run.leader())
        m = run.raft.members[node]
        seen.update(node=node, term=m.term, voted=m.voted_for, log=list(m.log))
        run.sim.faults.crash(node)
        assert (m.term, m.voted_for, m.log) == (seen["term"], seen["voted"], seen["log"])
        assert (m.role.value, m.commit, m.applied, m.data, m.election) == ("Follower", 0, 0, {}, None)

    run.net.after(1.0, crash)
    run.net.after(1.5, lambda: run.sim.faults.recover(seen["node"]))
    run.run()
    m = run.raft.members[seen["node"]]
    leader = run.raft.members[run.leader()]
    assert m.applied > len(seen["log"]) - 1 and m.data == leader.data
    applies = [index for t, node, event, _, index, _ in run.rows()
               if event == "apply" and node == run.sim.topology.nodes[m.node].id and t > 1.5]
    assert applies[:3] == [1, 2, 3]  # again from the start
    assert run.raft.snapshot() == {k: dict.fromkeys(run.raft.replicas, v) for k, v in leader.data.items()}


def test_a_quiet_run_sends_no_heartbeats_and_starts_no_elections() -> None:
    run = raft_run(3, seed=5, until=3.0)
    run.net.quiet = lambda: run.net.now >= 1.0
    counts = {}
    run.net.after(1.0 + 1e-9, lambda: counts.update({k: v[0] for k, v in run.net.counts.items()}))
    run.run()
    assert counts["append"] > 0
    assert {k: v[0] for k, v in run.net.counts.items()} == counts
    assert not [r for r in run.rows() if r[0] > 1.0 and r[2] in ("candidate", "leader")]


def test_a_group_of_one_commits_alone_and_a_noop_starts_each_term() -> None:
    run = raft_run(1, seed=0, until=1.0)
    run.client("c", "device-3", 0.0, 0.8, read_fraction=0.3)
    run.run()
    rows = run.rows()
    assert [r[2] for r in rows[:4]] == ["candidate", "leader", "commit", "apply"]
    assert rows[2][5] == NOOP
    assert run.history and all(o.status == "ok" for o in run.history)
    assert not math.isinf(max(o.ret for o in run.history))
    assert check_linearizability(run.history, "register").verdict == "ok"


def test_a_client_on_the_leader_may_ask_again_from_inside_its_answer() -> None:
    """A client co-located with the leader is answered within the send; its next
    request, issued from that callback, must not be lost."""
    run = raft_run(3, seed=6, until=3.0)
    answered = []

    def chain() -> None:
        leader = run.leader()
        assert leader is not None

        def next_one(k: int) -> None:
            if k < 12:  # a write, then reads (each answered inside the previous one's answer)
                f = "read" if k else "write"
                run.submit("local", leader, f, "x", None if f == "read" else f"v{k}",
                           then=lambda: (answered.append(k), next_one(k + 1)))

        next_one(0)

    run.net.after(1.0, chain)
    run.run()
    assert answered == list(range(12))
    assert check_linearizability(run.history, "register").verdict == "ok"


# --- behind the store -----------------------------------------------------------------------------------------


def test_behind_the_store_histories_are_linearizable_and_the_raft_table_is_safe() -> None:
    """Tasks and state clients at a fixed Linearizable level (no fallback) over the
    default full replication: the operations history passes the checker, and P12 holds."""
    stateful = Workflow("order", [Task("fetch", work=1e8, state_keys=frozenset({"order:<id>"})),
                                  Task("pay", work=1e8, state_keys=frozenset({"order:<id>"}))], [("fetch", "pay")])
    settings = ConsistencySettings(strategy=FixedLevel("Linearizable"), fallback=False, clients=3, client_rate=5.0)
    faults = [Crashes(nodes=("regional-0", "edge-0"), mtbf=4.0, mttr=1.0)]
    trace = Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", stateful, Poisson(1.0))],
                       duration=8, until=10.0, seed=3, consistency=settings, faults=faults).run().trace
    o = trace.operations
    assert (o["outcome"] == "ok").sum() > 100 and set(o["level"].astype(str)) == {"Linearizable"}
    history = [Operation(int(op), str(client), str(f), str(key), None if pd.isna(v) else json.loads(v),
                         None if pd.isna(out) else json.loads(out), float(call),
                         float(ret) if outcome == "ok" else math.inf, "ok" if outcome == "ok" else "info")
               for op, client, f, key, v, out, call, ret, outcome in zip(
                   o["op"], o["client"], o["f"], o["key"], o["value"], o["output"], o["call"], o["ret"],
                   o["outcome"].astype(str))
               if outcome == "ok" or f == "write"]
    assert check_linearizability(history, "register").verdict == "ok"
    assert (trace.raft["event"] == "leader").sum() >= 1
    assert {v.verdict for v in check_catalog(trace, ["P12"])} == {"true"}


def test_a_lease_longer_than_the_shortest_election_timeout_is_refused() -> None:
    # Lease reads are safe only because no member votes within election_timeout_min of
    # hearing from the leader.
    with pytest.raises(ValueError, match="lease_duration"):
        ConsistencySettings(read_mode="Lease", lease_duration=0.2, election_timeout_min=0.15)
    assert ConsistencySettings(read_mode="ReadIndex", lease_duration=0.2).lease_duration == 0.2
