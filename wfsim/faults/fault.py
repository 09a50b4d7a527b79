"""One injected fault, and the words fault processes name their targets with.

A :class:`Fault` is plain data: what fails, when it starts and when it ends. Targets
are node ids; links are named ``a~b`` (:func:`link_name`); a *site* is a node with
everything below it on the continuum (:func:`site`), a *region* a ``region`` tag or a
node's site (:func:`region`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from wfsim.model.enums import Tier
from wfsim.model.events import (
    CRASH,
    FAULT_KINDS,
    HANDOVER,
    HEAL,
    LINK_DOWN,
    LINK_UP,
    PARTITION,
    RECOVER,
    SPIKE,
    SPIKE_END,
)
from wfsim.model.topology import Topology

#: The kinds a :class:`Fault` may have (its start's code in ``FAULT_KINDS``), each
#: with the code of its end (None: a handover is instantaneous).
END_OF: dict[str, int | None] = {
    FAULT_KINDS[CRASH]: RECOVER,
    FAULT_KINDS[LINK_DOWN]: LINK_UP,
    FAULT_KINDS[PARTITION]: HEAL,
    FAULT_KINDS[SPIKE]: SPIKE_END,
    FAULT_KINDS[HANDOVER]: None,
}

#: Distributions of up times and repair times a process may draw from.
DISTRIBUTIONS = ("exponential", "weibull", "lognormal", "fixed")


class FaultTargetError(ValueError):
    """A fault process names a node, link, site or region the topology lacks (or one
    it cannot apply to).

    Attributes:
        field: The process's field at fault (``nodes``, ``links``, ``site``, …).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Fault:
    """One fault: its effect holds from ``start`` to ``end``.

    Attributes:
        kind: ``crash`` (nodes stop: targets are node ids, all crashing together),
            ``link_down`` (targets: link names ``a~b``), ``partition`` (targets: the
            nodes cut off from the rest), ``spike`` (targets: links whose latency is
            multiplied by ``factor``) or ``handover`` (targets: ``(device, access
            point)``: the device moves to that access point at ``start``; it has no end).
        targets: What fails, as ``kind`` says.
        start: Simulated time the fault begins, seconds.
        end: When it ends (``inf``: never; it may lie beyond the run).
        name: A label for the trace: the partition's, site's or region's name.
        factor: A spike's latency multiplier (> 0).

    Raises:
        ValueError: For an unknown kind, no targets, or times out of order.
    """

    kind: str
    targets: tuple[str, ...]
    start: float
    end: float = math.inf
    name: str = ""
    factor: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.kind not in END_OF:
            raise ValueError(f"fault kind must be one of {', '.join(END_OF)}, got {self.kind!r}")
        if not self.targets:
            raise ValueError(f"a {self.kind} fault needs targets")
        if self.kind == FAULT_KINDS[HANDOVER] and len(self.targets) != 2:
            raise ValueError(f"a handover's targets are (device, access point), got {self.targets}")
        if not 0 <= self.start < math.inf or not self.end >= self.start:
            raise ValueError(f"a fault needs 0 <= start <= end, start finite; got start={self.start}, end={self.end}")
        if not 0 < self.factor < math.inf:
            raise ValueError(f"a spike's factor must be > 0, got {self.factor}")


# --- names ---------------------------------------------------------------------------
def link_name(topology: Topology, link: int) -> str:
    """The name ``a~b`` of link ``link`` (its ends as the topology lists them)."""
    spec = topology.links[link]
    return f"{spec.a}~{spec.b}"


def link_of(topology: Topology, name: str, field: str = "links") -> int:
    """The index of the link named ``a~b`` (either order).

    Raises:
        FaultTargetError: Not a link of the topology (the message lists some).
    """
    a, sep, b = name.partition("~")
    try:
        if not sep:
            raise ValueError(name)
        return topology.link_index(a, b)
    except ValueError:
        names = [link_name(topology, k) for k in range(len(topology.links))]
        shown = ", ".join(names[:12]) + (f", … ({len(names)} links)" if len(names) > 12 else "")
        raise FaultTargetError(field, f"unknown link {name!r}; allowed: {shown}") from None


def node_of(topology: Topology, node: str, field: str = "nodes") -> int:
    """The index of node ``node``.

    Raises:
        FaultTargetError: An unknown node (the message lists some).
    """
    try:
        return topology.index_of(node)
    except ValueError as exc:
        raise FaultTargetError(field, str(exc)) from None


def tiers_of(names: Iterable[str], field: str = "tiers") -> set[Tier]:
    """Tiers by name.

    Raises:
        FaultTargetError: An unknown tier (the message lists the allowed ones).
    """
    try:
        return {Tier.parse(name) for name in names}
    except ValueError as exc:
        raise FaultTargetError(field, str(exc)) from None


def neighbours(topology: Topology) -> list[list[int]]:
    """Each node's neighbours (indices) over every link, up or down."""
    out: list[list[int]] = [[] for _ in topology.nodes]
    for link in topology.links:
        a, b = topology.index[link.a], topology.index[link.b]
        out[a].append(b)
        out[b].append(a)
    return out


def site(topology: Topology, node: str, field: str = "site") -> list[str]:
    """Node ``node`` and everything below it: the nodes reached from it through nodes
    of lower tiers only (an edge node's devices; a regional cloud's edge nodes and
    their devices), in topology order.

    Raises:
        FaultTargetError: An unknown node.
    """
    root = node_of(topology, node, field)
    adjacent = neighbours(topology)
    rank = topology.nodes[root].tier.order
    seen = {root}
    stack = [root]
    while stack:
        for v in adjacent[stack.pop()]:
            if v not in seen and topology.nodes[v].tier.order < rank:
                seen.add(v)
                stack.append(v)
    return [topology.nodes[i].id for i in sorted(seen)]


def region(topology: Topology, name: str, field: str = "region") -> list[str]:
    """The nodes of region ``name``: the nodes tagged ``region: name`` and their sites,
    or, for a node id, that node's :func:`site`.

    Raises:
        FaultTargetError: Neither a region tag nor a node id (the message lists the
            tags and the regional clouds).
    """
    tagged = [n.id for n in topology.nodes if n.region == name]
    if tagged:
        members = {m for n in tagged for m in site(topology, n, field)}
        return [n.id for n in topology.nodes if n.id in members]
    if name in topology.index:
        return site(topology, name, field)
    tags = sorted({n.region for n in topology.nodes if n.region})
    regional = [n.id for n in topology.nodes_of(Tier.REGIONAL_CLOUD)]
    raise FaultTargetError(field, f"unknown region {name!r}; allowed: region tags {tags or 'none'}, "
                                  f"or a node such as {', '.join(regional[:12]) or 'none'}")


# --- durations -----------------------------------------------------------------------
def draw_duration(rng: np.random.Generator, distribution: str, mean: float, shape: float) -> float:
    """One positive duration of the given ``mean``.

    Args:
        rng: Where the draw comes from.
        distribution: One of :data:`DISTRIBUTIONS`: ``exponential``; ``weibull`` with
            shape ``shape`` (k); ``lognormal`` with ``sigma = shape``; ``fixed``
            (always ``mean``, no draw).
        mean: The distribution's mean, seconds.
        shape: Weibull's k or lognormal's sigma (ignored otherwise).
    """
    if distribution == "exponential":
        return float(rng.exponential(mean))
    if distribution == "weibull":
        return float(mean / math.gamma(1 + 1 / shape) * rng.weibull(shape))
    if distribution == "lognormal":
        return float(rng.lognormal(math.log(mean) - shape * shape / 2, shape))
    if distribution == "fixed":
        return mean
    raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")


def renewals(rng: np.random.Generator, horizon: float, up: float, down: float, distribution: str,
             shape: float) -> list[tuple[float, float]]:
    """``(start, end)`` of the down periods of an alternating renewal process that
    starts up at 0: up times of mean ``up``, down times of mean ``down``; periods
    starting before ``horizon`` (the last may end after it)."""
    out: list[tuple[float, float]] = []
    t = 0.0
    while True:
        t += draw_duration(rng, distribution, up, shape)
        if t >= horizon:
            return out
        d = draw_duration(rng, distribution, down, shape)
        out.append((t, t + d))
        t += d
