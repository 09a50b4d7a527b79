"""The conflict resolvers and vector clocks against small hand-worked cases."""

import pytest

from wfsim.consistency.resolvers import (
    RESOLVER_FACTORIES,
    Version,
    Versions,
    concurrent,
    covers,
    happens_before,
    merged,
    resolver,
)
from wfsim.consistency.settings import RESOLVERS

# Two writes neither has seen: x=1 at node 3 at t=1.0, x=2 at node 5 at t=0.5.
A = Version("a", {3: 1}, (1.0, 3), op=1)
B = Version("b", {5: 1}, (0.5, 5), op=2)


def test_clocks_by_hand():
    assert merged({1: 2, 2: 1}, {2: 3, 4: 1}) == {1: 2, 2: 3, 4: 1}
    assert merged() == {}
    assert covers({1: 2, 2: 1}, {1: 1}) and not covers({1: 1}, {1: 1, 2: 1})
    assert covers({1: 1}, {1: 1, 2: 0})  # a missing entry is 0
    assert happens_before({1: 1}, {1: 1, 2: 1}) and not happens_before({1: 1}, {1: 1})
    assert concurrent({1: 1}, {2: 1}) and not concurrent({1: 1}, {1: 2})


def test_every_declared_resolver_has_a_factory():
    assert set(RESOLVER_FACTORIES) == set(RESOLVERS)
    for name in RESOLVERS:
        assert resolver(name).name == name
    with pytest.raises(ValueError, match=r"unknown resolver 'max_node'.*crdt_set"):
        resolver("max_node")


def test_lww_keeps_the_latest_stamp_and_covers_the_loser():
    store = Versions(resolver("lww"))
    assert store.put("x", B) == (0, 0)
    assert store.put("x", A) == (2, 1)  # A's stamp (1.0, 3) beats B's (0.5, 5): B is lost
    assert store.read("x") == "a"
    [winner] = store.get("x")
    assert winner.clock == {3: 1, 5: 1} and winner.stamp == (1.0, 3)
    # B arriving again (from a replica that had not heard of A) is no new conflict.
    assert store.put("x", B) == (0, 0) and store.read("x") == "a"
    # Equal times: the higher node wins.
    tie = Versions(resolver("lww"))
    tie.put("x", Version("p", {1: 1}, (2.0, 1)))
    tie.put("x", Version("q", {7: 1}, (2.0, 7)))
    assert tie.read("x") == "q"


def test_multi_value_keeps_siblings_until_a_write_that_saw_them():
    store = Versions(resolver("multi_value"))
    store.put("x", A)
    assert store.put("x", B) == (2, 0)
    assert store.read("x") == ["a", "b"]  # sorted values
    c = Version("c", {3: 1, 4: 1}, (2.0, 4))  # saw A only: replaces A, B stays
    assert store.put("x", c) == (2, 0)
    assert store.read("x") == ["b", "c"]
    # A local write has seen everything held: it supersedes the siblings.
    store.write("x", "d", merged(*(v.clock for v in store.get("x")), {3: 2}), (3.0, 3))
    assert store.read("x") == "d"
    assert store.put("x", A) == (0, 0) and store.read("x") == "d"  # old news


def test_grow_only_set_adds_and_merges_by_union():
    store = Versions(resolver("crdt_set"))
    store.write("s", "a", {3: 1}, (1.0, 3))
    store.write("s", "c", {3: 2}, (2.0, 3))  # adds to what it saw
    assert store.read("s") == ["a", "c"]
    other = Versions(resolver("crdt_set"))
    other.write("s", "b", {5: 1}, (1.5, 5))
    other.write("s", "a", {5: 2}, (1.6, 5))  # an element added twice is there once
    [theirs] = other.get("s")
    assert store.put("s", theirs) == (2, 0)  # nothing lost
    assert store.read("s") == ["a", "b", "c"]
    assert store.get("s")[0].clock == {3: 2, 5: 2}
    assert Versions(resolver("crdt_set")).read("s") is None


def test_reads_of_mixed_values_are_ordered_the_same_whatever_the_arrival_order():
    one, two = Versions(resolver("multi_value")), Versions(resolver("multi_value"))
    d, n = Version({"k": 1}, {1: 1}, (1.0, 1)), Version(2, {2: 1}, (1.0, 2))
    one.put("x", d)
    one.put("x", n)
    two.put("x", n)
    two.put("x", d)
    assert one.read("x") == two.read("x") and sorted(map(str, one.read("x"))) == ["2", "{'k': 1}"]
