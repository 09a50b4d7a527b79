"""Raft safety (P12), over the ``raft`` table (role changes, commits by leaders,
applies at members) and the crashes of the ``faults`` table.  Each property is
``not_applicable`` on runs without Raft events.

Not checked here: the election timeouts' range and the heartbeat gaps (neither timers
nor heartbeats are recorded; they are parameters of the run), and "only the leader
accepts writes" beyond what the commits show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfsim.trace.outages import node_outages
from wfsim.verify.catalog.common import as_str, node_findings
from wfsim.verify.properties import Findings, Invariant, TraceView

_SEED = "P12, overview §3; part 1 §1.9; seed l.1515–1824 (RaftConsensus)"


def _has_raft(view: TraceView) -> bool:
    raft = getattr(view.trace, "raft", None)
    return raft is not None and bool(len(raft))


def _events(view: TraceView) -> pd.DataFrame:
    """The ``raft`` table with plain columns, in recording order (which is time order)."""
    def build() -> pd.DataFrame:
        r = view.trace.raft
        return pd.DataFrame({"time": r["time"].to_numpy(dtype=float), "node": as_str(r["node"]),
                             "event": as_str(r["event"]), "term": r["term"].to_numpy(dtype=np.int64),
                             "index": r["index"].to_numpy(dtype=np.int64), "op": r["op"].to_numpy(dtype=np.int64)}
                            ).sort_values("time", kind="stable").reset_index(drop=True)
    return view.cached("raft_events", build)


def _one_leader(view: TraceView) -> Findings:
    d = _events(view)
    leaders = d[d["event"] == "leader"]
    first = leaders.groupby("term")["node"].transform("first")
    rows = leaders[leaders["node"] != first]
    why = (rows["node"] + " became leader of term " + rows["term"].astype(str) + ", which "
           + first[rows.index] + " already led")
    return Findings(int(leaders["term"].nunique()), node_findings(view, rows, why))


RAFT_ONE_LEADER = Invariant(
    "P12", "raft-one-leader", _SEED,
    """At most one Raft member becomes leader in each term.

    Over the ``raft`` table's ``leader`` rows: every one of a term names the same
    member.  Counts the terms that had a leader.
    """,
    _one_leader, unit="terms", applies=_has_raft,
)


def _terms_monotone(view: TraceView) -> Findings:
    d = _events(view)
    highest = d.groupby("node")["term"].cummax()
    rows = d[d["term"] < highest]
    why = (rows["node"] + "'s term went back to " + rows["term"].astype(str) + " from "
           + highest[rows.index].astype(str) + " (" + rows["event"] + ")")
    return Findings(len(d), node_findings(view, rows, why))


RAFT_TERMS = Invariant(
    "P12", "raft-terms-monotone", _SEED,
    """A Raft member's term never decreases, crashes included (the term is persistent).

    Per member over its ``raft`` rows in time order: each row's term is at least every
    earlier one's.  Counts the rows.
    """,
    _terms_monotone, unit="events", applies=_has_raft,
)


def _log_agreement(view: TraceView) -> Findings:
    d = _events(view)
    c = d[d["event"].isin(["commit", "apply"])]
    first = c.groupby("index")["op"].transform("first")
    rows = c[c["op"] != first]
    why = (rows["node"] + " " + rows["event"] + " op " + rows["op"].astype(str) + " at index "
           + rows["index"].astype(str) + ", which holds op " + first[rows.index].astype(str) + " elsewhere")
    return Findings(int(c["index"].nunique()), node_findings(view, rows, why))


RAFT_LOG_AGREEMENT = Invariant(
    "P12", "raft-log-agreement", _SEED,
    """A committed Raft entry is never lost or replaced: every commit and every apply of
    a log index, by any member in any term, carries the same operation.

    Over the ``commit`` and ``apply`` rows, grouped by ``index``: one ``op`` each (a
    leader's no-op is op -1).  Counts the indices.
    """,
    _log_agreement, unit="log indices", applies=_has_raft,
)


def _commit_before_apply(view: TraceView) -> Findings:
    d = _events(view)
    leaders = d[d["event"] == "leader"].drop_duplicates("term")[["term", "node"]].rename(columns={"node": "leader"})
    commits = d[d["event"] == "commit"]
    leader_of = commits["term"].map(leaders.set_index("term")["leader"])
    bad_commit = commits[leader_of != commits["node"]]
    first_commit = commits.groupby("index")["time"].min()
    applies = d[d["event"] == "apply"]
    committed_at = applies["index"].map(first_commit)
    bad_apply = applies[~(committed_at <= applies["time"])]
    rows = pd.concat([bad_commit, bad_apply]).sort_index()
    why = np.where(rows["event"] == "commit",
                   rows["node"] + " committed index " + rows["index"].astype(str) + " in term "
                   + rows["term"].astype(str) + ", which it did not lead",
                   rows["node"] + " applied index " + rows["index"].astype(str) + " before any leader committed it")
    return Findings(len(commits) + len(applies), node_findings(view, rows, why))


RAFT_COMMIT_BEFORE_APPLY = Invariant(
    "P12", "raft-commit-before-apply", _SEED,
    """Only a term's leader commits, and a Raft member applies only committed entries.

    Each ``commit`` row is by the member that became ``leader`` in its term; each
    ``apply`` of an index comes at or after the first ``commit`` of that index.
    Counts the commits and applies.
    """,
    _commit_before_apply, unit="commits and applies", applies=_has_raft,
)


def _apply_order(view: TraceView) -> Findings:
    d = _events(view)
    a = d[d["event"] == "apply"]
    previous = a.groupby("node")[["time", "index"]].shift()
    # A crash empties the member's state machine: it applies its log again from index 1.
    crashes = node_outages(view.trace)
    crashed = pd.merge_asof(a[["time", "node"]].reset_index().sort_values("time"),
                            crashes.assign(node=crashes["node"].astype(str),
                                           time=crashes["start"].astype(float))[["time", "node", "start"]]
                            .sort_values("time"), on="time", by="node").set_index("index")["start"].reindex(a.index)
    restarted = previous["time"].isna() | (crashed > previous["time"])
    expected = np.where(restarted, 1, previous["index"].fillna(0).to_numpy() + 1).astype(np.int64)
    bad = a["index"].to_numpy() != expected
    rows = a[bad]
    why = (rows["node"] + " applied index " + rows["index"].astype(str) + " where "
           + pd.Series(expected[bad], index=rows.index).astype(str) + " was next")
    return Findings(len(a), node_findings(view, rows, why))


RAFT_APPLY_ORDER = Invariant(
    "P12", "raft-apply-order", _SEED,
    """Each Raft member applies its log in order: indices 1, 2, 3, … with none skipped
    or repeated, from 1 again after a crash (the state machine is volatile).

    Per member over its ``apply`` rows in time order: each index is the previous one
    plus one, or 1 for the first apply and the first after a crash of the member
    (the ``faults`` table).  Counts the applies.
    """,
    _apply_order, unit="applies", applies=_has_raft,
)
