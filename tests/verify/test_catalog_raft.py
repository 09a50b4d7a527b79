"""The catalog's Raft safety properties (P12) hold on traces of Raft under crashes and
partitions, and each fails on a table corrupted the way it forbids."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from raft_support import REPLICAS, raft_run

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.faults.processes import Crashes, Partitions
from wfsim.verify.catalog import check_catalog
from wfsim.verify.catalog.raft import (
    RAFT_APPLY_ORDER,
    RAFT_COMMIT_BEFORE_APPLY,
    RAFT_LOG_AGREEMENT,
    RAFT_ONE_LEADER,
    RAFT_TERMS,
)

PROPERTIES = [RAFT_ONE_LEADER, RAFT_TERMS, RAFT_LOG_AGREEMENT, RAFT_COMMIT_BEFORE_APPLY, RAFT_APPLY_ORDER]


@pytest.fixture(scope="module")
def trace():
    """Five members, crashes and a partition: several terms, re-applies after crashes."""
    run = raft_run(5, seed=5, until=5.0, faults=[Crashes(nodes=REPLICAS, mtbf=1.5, mttr=0.5),
                                                 Partitions(site="regional-1", start=1.0, duration=0.8)])
    for k in range(4):
        run.client(f"c{k}", f"device-{k}", 0.0, 4.5)
    return run.run().trace


def test_the_properties_hold_on_raft_under_crashes_and_partitions(trace) -> None:
    r = trace.raft
    assert (r["event"] == "leader").sum() >= 2 and (r["event"] == "commit").sum() >= 5
    applies = r[r["event"] == "apply"]
    assert (applies.groupby(applies["node"].astype(str))["index"].apply(lambda s: (s == 1).sum()) > 1).any(), \
        "some member applies again after a crash"
    for verdict in check_catalog(trace, ["P12"]):
        assert verdict.verdict == "true", verdict.summary()
        assert verdict.checked > 0


def test_they_do_not_apply_without_raft() -> None:
    plain = Simulation(hierarchical(devices=2, edge=1, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                       duration=2, seed=1).run().trace
    assert {v.verdict for v in check_catalog(plain, ["P12"])} == {"not_applicable"}


def corrupt(trace, change) -> object:
    """``trace`` with its ``raft`` table changed by ``change(frame)`` (plain columns)."""
    r = trace.raft.copy()
    r["node"], r["event"] = r["node"].astype(str), r["event"].astype(str)
    r = change(r).sort_values("time", kind="stable").reset_index(drop=True)
    return dataclasses.replace(trace, raft=r)


def first(r: pd.DataFrame, mask) -> int:
    return int(r.index[mask][0])


def second_leader(r):
    k = first(r, r["event"] == "leader")
    other = next(n for n in r["node"].unique() if n != r.at[k, "node"])
    return pd.concat([r, r.loc[[k]].assign(node=other, time=r.at[k, "time"] + 1e-6)])


def term_back(r):
    k = first(r, (r["term"] > 1) & (r.index > len(r) // 2))
    r.loc[k, "term"] = 0
    return r


def other_op(r):
    k = first(r, (r["event"] == "apply") & (r["op"] >= 0))
    r.loc[k, "op"] += 1000
    return r


def commit_by_follower(r):
    k = first(r, r["event"] == "commit")
    leader = r.at[k, "node"]
    r.loc[k, "node"] = next(n for n in r["node"].unique() if n != leader)
    return r


def apply_early(r):
    k = first(r, (r["event"] == "apply") & (r["index"] == 3))
    r.loc[k, "time"] = 0.0
    return r


def skip_an_apply(r):
    k = first(r, (r["event"] == "apply") & (r["index"] == 2))
    return r.drop(index=k)


@pytest.mark.parametrize(("prop", "change"), [
    (RAFT_ONE_LEADER, second_leader),
    (RAFT_TERMS, term_back),
    (RAFT_LOG_AGREEMENT, other_op),
    (RAFT_COMMIT_BEFORE_APPLY, commit_by_follower),
    (RAFT_COMMIT_BEFORE_APPLY, apply_early),
    (RAFT_APPLY_ORDER, skip_an_apply),
])
def test_each_fails_on_a_table_that_breaks_it(trace, prop, change) -> None:
    verdict = prop.check(corrupt(trace, change))
    assert verdict.verdict == "false", verdict.summary()
    assert verdict.violated >= 1 and verdict.counterexamples
    assert prop.check(trace).verdict == "true"
