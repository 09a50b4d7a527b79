"""Raft: the Linearizable level, one replicated log over all replicas.

:class:`RaftProtocol` runs real Raft (Ongaro and Ousterhout, 2014) over the simulated
network: every RequestVote, AppendEntries, client request and reply is a message of
:class:`~.base.Transport`, so it takes the network's latency and is lost on down links
and at down nodes. The log holds puts ``(op, key, value)``; the state machine is
key → value. What the seed's ``RaftConsensus`` only sketched is done here: elections
with randomised timeouts and the log up-to-date check, heartbeats, log matching with
nextIndex back-off, commit by a majority only for entries of the leader's term (a new
leader appends a no-op, op -1), applies in order from index 1 (the seed's off-by-one
never applied the first entry).

Reads follow ``read_mode``:

* ``ReadIndex``: the leader notes its commit index, confirms it still leads with a
  heartbeat round a majority acknowledges, and answers once it has applied that far;
* ``Lease``: answered at once while the leader's lease holds (a majority acknowledged a
  round sent less than ``lease_duration`` ago), else as ReadIndex. Safe because a
  member that heard from a leader within ``election_timeout_min`` grants no vote
  (Raft's dissertation §4.2.3), and ``lease_duration`` is below that timeout;
* ``LeaderLocal``: answered from the leader's state at once. Not linearizable: a leader
  cut off from the majority keeps answering after a new one has taken writes.

A crash loses a member's volatile state (role, commit and applied indices, state
machine, leader state, timers) and keeps its term, vote and log; it restarts as a
follower and applies its log again as commits become known. Every role change, commit
(by a leader) and apply (at a member) is recorded in the trace's ``raft`` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import simpy

from wfsim.consistency.protocols.base import OK, ReplicationProtocol, Request
from wfsim.model.enums import ConsistencyLevel, RaftRole
from wfsim.model.events import RAFT_EVENTS

FOLLOWER, CANDIDATE, LEADER = RaftRole.FOLLOWER, RaftRole.CANDIDATE, RaftRole.LEADER
_ROLE_EVENT = {role: RAFT_EVENTS.index(role.value.lower()) for role in RaftRole}
_COMMIT, _APPLY = RAFT_EVENTS.index("commit"), RAFT_EVENTS.index("apply")
#: The op a new leader's no-op entry carries.
NOOP = -1
#: Unacknowledged heartbeat rounds a leader keeps track of (a later round confirms
#: the reads of earlier ones too).
_ROUNDS_KEPT = 64


class Entry(NamedTuple):
    """A log entry: the term it was created in and the put it carries."""

    term: int
    op: int
    key: str | None
    value: Any


@dataclass(eq=False)
class Member:
    """One Raft member's state. The log is 1-based: ``log[0]`` is a sentinel.

    Persistent (kept across a crash): ``term``, ``voted_for``, ``log``. Everything
    else is volatile and reset by :meth:`reset`.
    """

    node: int
    term: int = 0
    voted_for: int | None = None
    log: list[Entry] = field(default_factory=lambda: [Entry(0, NOOP, None, None)])
    role: RaftRole = FOLLOWER
    leader: int | None = None
    commit: int = 0
    applied: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    heard: float = float("-inf")  # last time a current leader was heard from
    votes: set[int] = field(default_factory=set)
    next_index: dict[int, int] = field(default_factory=dict)
    match_index: dict[int, int] = field(default_factory=dict)
    term_start: int = 0  # index of this leader's no-op
    round: int = 0  # heartbeat rounds sent as leader
    acks: dict[int, set[int]] = field(default_factory=dict)  # round → members that acknowledged it
    sent: dict[int, float] = field(default_factory=dict)  # round → when it was sent
    confirmed: int = 0  # latest round a majority acknowledged
    lease_start: float = float("-inf")  # when that round was sent
    waiting: dict[int, Request] = field(default_factory=dict)  # op → write accepted here, to answer when applied
    reads: list[tuple[Request, int, int]] = field(default_factory=list)  # (request, read index, round)
    election: simpy.Event | None = None
    heartbeat: simpy.Event | None = None

    @property
    def last(self) -> int:
        return len(self.log) - 1

    def reset(self) -> None:
        """Forget the volatile state (a crash)."""
        self.role, self.leader, self.commit, self.applied, self.data = FOLLOWER, None, 0, 0, {}
        self.heard, self.votes, self.next_index, self.match_index = float("-inf"), set(), {}, {}
        self.round, self.acks, self.sent, self.confirmed, self.lease_start = 0, {}, {}, 0, float("-inf")
        self.waiting, self.reads = {}, []


@dataclass(eq=False)
class _Client:
    """What a client node believes: the replica it sends to, and since when it has
    been waiting without any reply."""

    guess: int
    waiting_since: float | None = None


class RaftProtocol(ReplicationProtocol):
    """Linearizable key-value state by Raft over the replicas (see the module).

    A client sends its request to the replica it believes leads (at first its nearest);
    a member that does not lead forwards it to the leader it knows, or drops it when it
    knows none (the store times the request out: a forwarded write may still commit, so
    no ``fail`` is sent). A client that has had no reply for ``timeout_linearizable``
    tries the next replica, nearest first. The leader's reply travels back to the client
    over the network.

    Attributes:
        members: Node index → :class:`Member`.
    """

    level = ConsistencyLevel.LINEARIZABLE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = {node: Member(node) for node in self.replicas}
        self.majority = len(self.replicas) // 2 + 1
        self.clients: dict[int, _Client] = {}
        for member in self.members.values():
            self._arm_election(member)

    # --- records and timers ---------------------------------------------------------------------------------

    def _record(self, m: Member, event: int, index: int = -1, op: int = NOOP) -> None:
        self.record.raft((self.net.now, m.node, event, m.term, index, op))

    def _set_role(self, m: Member, role: RaftRole) -> None:
        m.role = role
        self._record(m, _ROLE_EVENT[role])

    def _arm_election(self, m: Member) -> None:
        self.net.cancel(m.election)
        s = self.settings
        m.election = self.net.after(float(self.rng.uniform(s.election_timeout_min, s.election_timeout_max)),
                                    self._election_due, m)

    def _election_due(self, m: Member) -> None:
        if not self.net.up(m.node) or m.role is LEADER:
            return
        if self.net.quiet():  # the run is winding down: keep the timer, start nothing
            self._arm_election(m)
            return
        self._start_election(m)

    def _heartbeat_due(self, m: Member) -> None:
        if not self.net.up(m.node) or m.role is not LEADER:
            return
        if not self.net.quiet():
            self._broadcast(m)
        m.heartbeat = self.net.after(self.settings.heartbeat_interval, self._heartbeat_due, m)

    # --- roles ----------------------------------------------------------------------------------------------

    def _see_term(self, m: Member, term: int) -> None:
        """A message carries ``term``: a higher one makes ``m`` a follower of it."""
        if term > m.term:
            m.term, m.voted_for = term, None
            if m.role is not FOLLOWER:
                self._step_down(m)

    def _step_down(self, m: Member) -> None:
        self.net.cancel(m.heartbeat)
        m.heartbeat = None
        m.reads = [read for read in m.reads if read[2] <= m.confirmed]  # unconfirmed reads can never be
        m.leader = None
        self._set_role(m, FOLLOWER)
        self._arm_election(m)

    def _start_election(self, m: Member) -> None:
        m.term += 1
        m.voted_for, m.votes, m.leader = m.node, {m.node}, None
        self._set_role(m, CANDIDATE)
        self._arm_election(m)
        if len(m.votes) >= self.majority:
            self._become_leader(m)
            return
        for peer in self.replicas:
            if peer != m.node:
                self.net.send(m.node, peer, "vote", self._on_vote, self.members[peer], m.node, m.term, m.last,
                              m.log[-1].term)

    def _on_vote(self, m: Member, candidate: int, term: int, last: int, last_term: int) -> None:
        # A member that heard from a live leader lately ignores candidates: this keeps a
        # leader's lease safe and a rejoining member from deposing a working leader.
        if term > m.term and (m.role is LEADER or self.net.now - m.heard < self.settings.election_timeout_min):
            return
        self._see_term(m, term)
        mine = m.log[-1].term
        granted = (term == m.term and m.voted_for in (None, candidate)
                   and (last_term > mine or (last_term == mine and last >= m.last)))
        if granted:
            m.voted_for = candidate
            self._arm_election(m)
        self.net.send(m.node, candidate, "vote_reply", self._on_vote_reply, self.members[candidate], m.node, m.term,
                      granted)

    def _on_vote_reply(self, m: Member, voter: int, term: int, granted: bool) -> None:
        self._see_term(m, term)
        if m.role is CANDIDATE and term == m.term and granted:
            m.votes.add(voter)
            if len(m.votes) >= self.majority:
                self._become_leader(m)

    def _become_leader(self, m: Member) -> None:
        self.net.cancel(m.election)
        m.election, m.leader = None, m.node
        self._set_role(m, LEADER)
        m.log.append(Entry(m.term, NOOP, None, None))
        m.term_start = m.last
        m.next_index = {peer: m.last for peer in self.replicas if peer != m.node}
        m.match_index = dict.fromkeys(m.next_index, 0)
        m.round, m.acks, m.sent, m.confirmed, m.lease_start = 0, {}, {}, 0, float("-inf")
        self._advance_commit(m)  # a group of one commits alone
        self._heartbeat_due(m)

    # --- log replication ------------------------------------------------------------------------------------

    def _broadcast(self, m: Member) -> int:
        """Send a heartbeat round (AppendEntries to every peer); returns its number."""
        m.round += 1
        if len(m.sent) >= _ROUNDS_KEPT:  # cut off from the majority: the oldest round will not be needed
            oldest = next(iter(m.sent))
            del m.sent[oldest], m.acks[oldest]
        m.sent[m.round] = self.net.now
        m.acks[m.round] = {m.node}
        self._confirm(m, m.round)
        for peer in m.next_index:
            self._append_to(m, peer)
        return m.round

    def _append_to(self, m: Member, peer: int) -> None:
        prev = m.next_index[peer] - 1
        entries = m.log[prev + 1:]
        self.net.send(m.node, peer, "append", self._on_append, self.members[peer], m.node, m.term, prev,
                      m.log[prev].term, entries, m.commit, m.round,
                      payload=self.settings.value_bytes * sum(e.op != NOOP for e in entries))

    def _on_append(self, m: Member, leader: int, term: int, prev: int, prev_term: int, entries: list[Entry],
                   leader_commit: int, round_: int) -> None:
        self._see_term(m, term)
        ok, match = False, m.last
        if term == m.term:
            if m.role is CANDIDATE:
                self._step_down(m)
            m.leader, m.heard = leader, self.net.now
            self._arm_election(m)
            if prev <= m.last and m.log[prev].term == prev_term:
                ok = True
                for k, entry in enumerate(entries, start=prev + 1):
                    if k <= m.last and m.log[k].term != entry.term:
                        del m.log[k:]  # a conflicting suffix, never committed
                    if k > m.last:
                        m.log.append(entry)
                match = prev + len(entries)
                # Only as far as this message shows the log agrees (a late message shows less).
                if min(leader_commit, match) > m.commit:
                    m.commit = min(leader_commit, match)
                    self._apply(m)
        self.net.send(m.node, leader, "append_reply", self._on_append_reply, self.members[leader], m.node, m.term,
                      ok, match, round_)

    def _on_append_reply(self, m: Member, peer: int, term: int, ok: bool, match: int, round_: int) -> None:
        self._see_term(m, term)
        if m.role is not LEADER or term != m.term:
            return
        acks = m.acks.get(round_)
        if acks is not None:
            acks.add(peer)
            self._confirm(m, round_)
        if ok:
            if match > m.match_index[peer]:
                m.match_index[peer] = match
                self._advance_commit(m)
            m.next_index[peer] = max(m.next_index[peer], match + 1)
        else:  # back off (at once to the follower's end when it is shorter) and retry
            m.next_index[peer] = max(1, min(m.next_index[peer] - 1, match + 1))
            self._append_to(m, peer)

    def _confirm(self, m: Member, round_: int) -> None:
        """Round ``round_`` may now be acknowledged by a majority: renew the lease and
        release the reads waiting for it."""
        if len(m.acks[round_]) < self.majority or round_ <= m.confirmed:
            return
        m.confirmed, m.lease_start = round_, m.sent[round_]
        for r in [r for r in m.acks if r <= round_]:
            del m.acks[r], m.sent[r]
        self._serve_reads(m)

    def _advance_commit(self, m: Member) -> None:
        # Only an entry of the current term is committed by counting (§5.4.2); the
        # entries before it are committed with it.
        for n in range(m.last, m.commit, -1):
            if m.log[n].term != m.term:
                break
            if 1 + sum(match >= n for match in m.match_index.values()) >= self.majority:
                for k in range(m.commit + 1, n + 1):
                    self._record(m, _COMMIT, k, m.log[k].op)
                m.commit = n
                self._apply(m)
                return

    def _apply(self, m: Member) -> None:
        while m.applied < m.commit:
            m.applied += 1
            entry = m.log[m.applied]
            if entry.op != NOOP:
                m.data[entry.key] = entry.value  # type: ignore[index]
            self._record(m, _APPLY, m.applied, entry.op)
            request = m.waiting.pop(entry.op, None)
            if request is not None:
                self._answer(m, request, None)
        self._serve_reads(m)

    # --- clients --------------------------------------------------------------------------------------------

    def submit(self, request: Request) -> None:
        client = self.clients.get(request.node)
        now = self.net.now
        if client is None:
            client = self.clients[request.node] = _Client(self.net.nearest(request.node, self.replicas))
        elif client.waiting_since is not None and now - client.waiting_since > self.settings.timeout_linearizable:
            # No answer for a while: the replica believed to lead may be gone. Try the next one.
            order = sorted(self.replicas, key=lambda r: (self.net.latency(request.node, r), r))
            client.guess = order[(order.index(client.guess) + 1) % len(order)]
            client.waiting_since = None
        if client.waiting_since is None:
            client.waiting_since = now
        self.net.send(request.node, client.guess, "request", self._on_request, self.members[client.guess], request,
                      0, payload=self.settings.value_bytes if request.is_write else 0.0)

    def _on_request(self, m: Member, request: Request, hops: int) -> None:
        if m.role is not LEADER:
            if m.leader is not None and m.leader != m.node and hops < len(self.replicas):
                self.net.send(m.node, m.leader, "request", self._on_request, self.members[m.leader], request,
                              hops + 1, payload=self.settings.value_bytes if request.is_write else 0.0)
            return
        if request.is_write:
            m.log.append(Entry(m.term, request.op, request.key, request.value))
            m.waiting[request.op] = request
            self._advance_commit(m)  # a group of one commits alone
            for peer in m.next_index:
                self._append_to(m, peer)
            return
        mode = self.settings.read_mode
        read_index = max(m.commit, m.term_start)
        if mode == "LeaderLocal" or (mode == "Lease" and self.net.now - m.lease_start < self.settings.lease_duration
                                     and m.applied >= read_index):
            self._answer(m, request, m.data.get(request.key))
            return
        m.reads.append((request, read_index, self._broadcast(m)))
        self._serve_reads(m)

    def _serve_reads(self, m: Member) -> None:
        if not m.reads:
            return
        ready = [read for read in m.reads if read[2] <= m.confirmed and m.applied >= read[1]]
        if ready:
            # Set aside first: answering a client on this node may bring its next request at once.
            m.reads = [read for read in m.reads if not (read[2] <= m.confirmed and m.applied >= read[1])]
            for request, _, _ in ready:
                self._answer(m, request, m.data.get(request.key))

    def _answer(self, m: Member, request: Request, value: Any) -> None:
        self.net.send(m.node, request.node, "reply", self._on_reply, request, m.node, value,
                      payload=0.0 if request.is_write else self.settings.value_bytes)

    def _on_reply(self, request: Request, replica: int, value: Any) -> None:
        client = self.clients[request.node]
        client.guess, client.waiting_since = replica, None
        request.reply(OK, value)

    # --- crashes and state ----------------------------------------------------------------------------------

    def on_crash(self, node: int) -> None:
        m = self.members.get(node)
        if m is not None:
            self.net.cancel(m.election)
            self.net.cancel(m.heartbeat)
            m.election = m.heartbeat = None
            m.reset()

    def on_recover(self, node: int) -> None:
        m = self.members.get(node)
        if m is not None:
            # It may have acknowledged a leader's round just before crashing: it grants
            # no vote for a minimum election timeout, as if it had just heard from it.
            m.heard = self.net.now
            self._set_role(m, FOLLOWER)
            self._arm_election(m)

    def snapshot(self) -> dict[str, dict[int, Any]]:
        keys = sorted({key for m in self.members.values() for key in m.data})
        return {key: {node: m.data.get(key) for node, m in self.members.items()} for key in keys}


__all__ = ["NOOP", "Entry", "Member", "RaftProtocol"]
