"""Versions of a key, vector clocks, and the conflict resolvers of the causal and
eventual replicas.

A replica keeps, per key, a list of :class:`Version` s that are pairwise
concurrent (one, unless siblings are kept). A version's ``clock`` says which writes
it has seen (node index → count, missing entries 0: the seed's ``VectorClock``);
``stamp`` is ``(time, node)`` of its write, for last-writer-wins.

:meth:`Versions.put` merges one incoming version into a key's list: a version the
list already covers is ignored, versions the incoming one covers are dropped, and
when concurrent versions remain the resolver settles them:

* ``lww`` — the highest ``(time, node)`` stamp wins; the others are lost. The winner
  keeps its value and stamp and takes the pointwise maximum of the inputs' clocks,
  so a loser arriving again later is covered, not a new conflict.
* ``multi_value`` — the siblings are kept; a read returns their values sorted; a
  later write that has seen them (its clock covers theirs) supersedes them.
* ``crdt_set`` — the key is a grow-only set: a write adds its value to the set it
  has seen, concurrent sets merge by union; a read returns the sorted elements.

``RESOLVERS`` (in :mod:`~wfsim.consistency.settings`) names the choices;
:data:`RESOLVER_FACTORIES` maps each name to its class.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

Clock = Mapping[int, int]


def merged(*clocks: Clock) -> dict[int, int]:
    """Pointwise maximum of ``clocks`` (missing entries are 0)."""
    out: dict[int, int] = {}
    for clock in clocks:
        for node, count in clock.items():
            if count > out.get(node, 0):
                out[node] = count
    return out


def covers(a: Clock, b: Clock) -> bool:
    """Whether ``a`` has seen everything ``b`` has: ``b ≤ a`` pointwise."""
    return all(count <= a.get(node, 0) for node, count in b.items())


def happens_before(a: Clock, b: Clock) -> bool:
    """``a → b``: ``a ≤ b`` pointwise and ``a ≠ b`` (zeros ignored)."""
    return covers(b, a) and not covers(a, b)


def concurrent(a: Clock, b: Clock) -> bool:
    """Neither clock has seen the other."""
    return not covers(a, b) and not covers(b, a)


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a key at a replica.

    Attributes:
        value: What the write wrote (for ``crdt_set``: the set's elements, a sorted tuple).
        clock: The writes it has seen, its own included.
        stamp: ``(time, node index)`` of its write: last-writer-wins order.
        op: The writing operation's id (-1 for a merged version).
    """

    value: Any
    clock: Clock
    stamp: tuple[float, int]
    op: int = -1


def _sorted(values: Iterable[Any]) -> list[Any]:
    """Values in one deterministic order (plain order when comparable, else by JSON)."""
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: json.dumps(v, sort_keys=True, default=str))


class Resolver:
    """How a replica writes, settles and reads a key's versions (last-writer-wins)."""

    name: ClassVar[str] = "lww"

    def written(self, seen: list[Version], value: Any) -> Any:
        """The value a new write of ``value`` stores, given the versions it has seen."""
        return value

    def settle(self, versions: list[Version]) -> tuple[list[Version], int]:
        """Settle pairwise concurrent ``versions`` (two or more): what the key keeps
        and how many inputs were lost."""
        winner = max(versions, key=lambda v: v.stamp)
        return [Version(winner.value, merged(*(v.clock for v in versions)), winner.stamp, winner.op)], len(versions) - 1

    def read(self, versions: list[Version]) -> Any:
        """What a local read returns (None: no version)."""
        return versions[0].value if versions else None


class MultiValue(Resolver):
    """Concurrent versions are kept as siblings; a read returns their values sorted."""

    name = "multi_value"

    def settle(self, versions: list[Version]) -> tuple[list[Version], int]:
        return sorted(versions, key=lambda v: v.stamp), 0

    def read(self, versions: list[Version]) -> Any:
        if len(versions) <= 1:
            return super().read(versions)
        return _sorted(v.value for v in versions)


class GrowOnlySet(Resolver):
    """The key is a grow-only set (a CRDT): a write adds, merge is union."""

    name = "crdt_set"

    def written(self, seen: list[Version], value: Any) -> Any:
        return _union([*(v.value for v in seen), (value,)])

    def settle(self, versions: list[Version]) -> tuple[list[Version], int]:
        latest = max(v.stamp for v in versions)
        union = _union(v.value for v in versions)
        return [Version(union, merged(*(v.clock for v in versions)), latest)], 0

    def read(self, versions: list[Version]) -> Any:
        return list(versions[0].value) if versions else None


def _union(sets: Iterable[Iterable[Any]]) -> tuple[Any, ...]:
    """The elements of ``sets``, each once (JSON equality), sorted."""
    seen: dict[str, Any] = {}
    for elements in sets:
        for e in elements:
            seen.setdefault(json.dumps(e, sort_keys=True, default=str), e)
    return tuple(_sorted(seen.values()))


#: Resolver name (``ConsistencySettings.resolver``) → its class.
RESOLVER_FACTORIES: dict[str, Callable[[], Resolver]] = {
    cls.name: cls for cls in (Resolver, MultiValue, GrowOnlySet)}


def resolver(name: str) -> Resolver:
    """The resolver called ``name``.

    Raises:
        ValueError: For an unknown name, naming the known ones.
    """
    try:
        return RESOLVER_FACTORIES[name]()
    except KeyError:
        raise ValueError(f"unknown resolver {name!r}; expected one of {sorted(RESOLVER_FACTORIES)}") from None


class Versions:
    """One replica's versions of every key (durable: they survive a crash).

    Args:
        resolver: Settles concurrent versions.
    """

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.keys: dict[str, list[Version]] = {}

    def get(self, key: str) -> list[Version]:
        """The key's versions (pairwise concurrent; empty: never written here)."""
        return self.keys.get(key, [])

    def read(self, key: str) -> Any:
        """What a local read of ``key`` returns."""
        return self.resolver.read(self.keys.get(key, []))

    def write(self, key: str, value: Any, clock: Clock, stamp: tuple[float, int], op: int = -1) -> Version:
        """A local write that has seen every version held here (``clock`` covers
        them): it replaces them. Returns the new version."""
        version = Version(self.resolver.written(self.get(key), value), clock, stamp, op)
        self.keys[key] = [version]
        return version

    def put(self, key: str, incoming: Version) -> tuple[int, int]:
        """Merge a version from elsewhere. Returns ``(inputs, lost)``: when concurrent
        versions were settled, how many met and how many were lost (``(0, 0)``: no
        conflict, whether the key changed or not)."""
        current = self.keys.get(key, [])
        if any(covers(v.clock, incoming.clock) for v in current):
            return 0, 0
        kept = [v for v in current if not covers(incoming.clock, v.clock)]
        if not kept:
            self.keys[key] = [incoming]
            return 0, 0
        inputs = [*kept, incoming]
        self.keys[key], lost = self.resolver.settle(inputs)
        return len(inputs), lost

    def snapshot(self) -> dict[str, Any]:
        """Key → what a local read returns."""
        return {key: self.resolver.read(versions) for key, versions in self.keys.items()}
