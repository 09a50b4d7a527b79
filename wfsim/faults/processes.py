"""Fault processes: each draws a schedule of :class:`~wfsim.faults.fault.Fault` s.

A process only decides *when* and *what* fails (:meth:`FaultProcess.draw`, pure);
:class:`~wfsim.engine.faults.FaultInjector` applies the schedule. Each target (node,
link, site, device) draws from its own child of the process's generator, so its faults
do not depend on the horizon or on the other targets' draws.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from wfsim.faults.fault import (
    DISTRIBUTIONS,
    Fault,
    FaultTargetError,
    draw_duration,
    link_name,
    link_of,
    neighbours,
    node_of,
    region,
    renewals,
    site,
    tiers_of,
)
from wfsim.model.enums import Tier
from wfsim.model.events import CRASH, FAULT_KINDS, HANDOVER, LINK_DOWN, PARTITION, SPIKE
from wfsim.model.parameters import Tunable, param
from wfsim.model.topology import Topology

_CRASH, _LINK, _PARTITION, _SPIKE, _HANDOVER = (FAULT_KINDS[k] for k in (CRASH, LINK_DOWN, PARTITION, SPIKE, HANDOVER))
#: Tiers whose nodes crash when a process names neither tiers nor nodes.
_EDGE = (Tier.EDGE_DEVICE, Tier.EDGE_CLOUD)


def _distribution(default: str = "exponential") -> Any:
    return param(default, choices=DISTRIBUTIONS, doc="distribution of the times drawn (with their mean)")


def _shape() -> Any:
    return param(1.5, low=0.1, high=10.0, doc="Weibull shape k, or lognormal sigma (other distributions: unused)")


@dataclass(eq=False)
class FaultProcess(Tunable, ABC):
    """What fails when: a scenario component with declared parameters.

    Subclasses set :attr:`name`, declare their parameters with ``param(...)`` and
    their targets as plain fields, and implement :meth:`draw`.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """The faults starting before ``horizon`` (they may end after it), by start time.

        Args:
            rng: The process's own generator (the run's stream
                ``faults/<name>/<index>``); nothing else is drawn from it.
            topology: The continuum the faults hit.
            horizon: Simulated time after which nothing needs to start, seconds.

        Raises:
            FaultTargetError: A target the topology lacks (naming the field).
        """

    def check(self, topology: Topology) -> None:
        """Refuse targets the topology lacks (draws nothing that matters).

        Raises:
            FaultTargetError: Naming the field and what is allowed.
        """
        self.draw(np.random.default_rng(0), topology, 0.0)


def _children(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """One independent generator per target, in target order."""
    return rng.spawn(n) if n else []


T = TypeVar("T")


def _renewal_faults(rng: np.random.Generator, horizon: float, targets: Sequence[T], up: float, down: float,
                    distribution: str, shape: float, fault: Callable[[T, float, float], Fault]) -> list[Fault]:
    """Per target, each with its own child stream, the down periods ``(start, end)``
    of an alternating renewal process (mean ``up``, mean ``down``) as ``fault(target,
    start, end)``, by start time."""
    out = [fault(target, start, end) for target, child in zip(targets, _children(rng, len(targets)))
           for start, end in renewals(child, horizon, up, down, distribution, shape)]
    return sorted(out, key=lambda f: f.start)


def _select_nodes(topology: Topology, tiers: tuple[str, ...], nodes: tuple[str, ...],
                  default: tuple[Tier, ...] = _EDGE) -> list[str]:
    """The nodes of ``tiers`` and the ``nodes`` named (``default`` tiers when neither
    is given), in topology order."""
    chosen = tiers_of(tiers) if tiers or nodes else set(default)
    named = {topology.nodes[node_of(topology, n)].id for n in nodes}
    return [n.id for n in topology.nodes if n.tier in chosen or n.id in named]


def _select_links(topology: Topology, between: tuple[str, ...], links: tuple[str, ...]) -> list[int]:
    """The links between the tier pairs ``between`` (``"EdgeCloud~RegionalCloud"``)
    and the ``links`` named (``"a~b"``); every link when neither is given."""
    if not between and not links:
        return list(range(len(topology.links)))
    pairs = set()
    for pair in between:
        a, sep, b = pair.partition("~")
        if not sep:
            raise FaultTargetError("between", f"a tier pair looks like EdgeCloud~RegionalCloud, got {pair!r}")
        ta, tb = tiers_of((a, b), "between")
        pairs.add(frozenset((ta, tb)))
    named = {link_of(topology, name) for name in links}
    return [k for k, link in enumerate(topology.links)
            if k in named or frozenset((topology.node(link.a).tier, topology.node(link.b).tier)) in pairs]


@dataclass(eq=False)
class Crashes(FaultProcess):
    """Node crashes and recoveries: each chosen node alternates up times of mean
    ``mtbf`` and repairs of mean ``mttr``.

    Attributes:
        tiers: Tier names whose nodes crash.
        nodes: Node ids that crash (with ``tiers``: both). Neither: every EdgeDevice
            and EdgeCloud node.
    """

    name = "crashes"
    mtbf: float = param(3600.0, low=1.0, high=1e7, log=True, doc="mean time between failures per node, seconds")
    mttr: float = param(60.0, low=0.1, high=1e6, log=True, doc="mean time to repair, seconds")
    distribution: str = _distribution()
    shape: float = _shape()
    tiers: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """Per node, the down periods of its renewal process (see :class:`FaultProcess`)."""
        return _renewal_faults(rng, horizon, _select_nodes(topology, self.tiers, self.nodes), self.mtbf, self.mttr,
                               self.distribution, self.shape, lambda node, s, e: Fault(_CRASH, (node,), s, e))


@dataclass(eq=False)
class Schedule(FaultProcess):
    """Faults at given times: the deterministic one (YAML: ``{process: schedule,
    faults: [{kind: crash, targets: [edge-0], start: 30, end: 90}, …]}``).

    Attributes:
        faults: The faults, as :class:`~wfsim.faults.fault.Fault` s (links named
            ``a~b``; a handover's access point must be linked to its device).
    """

    name = "schedule"
    faults: tuple[Fault, ...] = ()

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """The faults given, checked against the topology, by start time."""
        for i, fault in enumerate(self.faults):
            where = f"faults[{i}].targets"
            if fault.kind in (_LINK, _SPIKE):
                for name in fault.targets:
                    link_of(topology, name, where)
            elif fault.kind == _HANDOVER:
                device, access = fault.targets
                if node_of(topology, access, where) not in neighbours(topology)[node_of(topology, device, where)]:
                    raise FaultTargetError(where, f"{device!r} has no link to {access!r}")
            else:
                for node in fault.targets:
                    node_of(topology, node, where)
        return sorted(self.faults, key=lambda f: f.start)


@dataclass(eq=False)
class LinkOutages(FaultProcess):
    """Link failures and repairs: each chosen link alternates up times of mean
    ``mtbf`` and outages of mean ``mttr``.

    Attributes:
        between: Tier pairs whose links fail (``"EdgeCloud~RegionalCloud"``).
        links: Links that fail, named ``a~b``. Neither: every link.
    """

    name = "link_outages"
    mtbf: float = param(3600.0, low=1.0, high=1e7, log=True, doc="mean time between failures per link, seconds")
    mttr: float = param(30.0, low=0.1, high=1e6, log=True, doc="mean outage, seconds")
    distribution: str = _distribution()
    shape: float = _shape()
    between: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """Per link, the outages of its renewal process."""
        return _renewal_faults(rng, horizon, _select_links(topology, self.between, self.links), self.mtbf, self.mttr,
                               self.distribution, self.shape,
                               lambda k, s, e: Fault(_LINK, (link_name(topology, k),), s, e))


@dataclass(eq=False)
class Partitions(FaultProcess):
    """A set of nodes cut off from the rest (every link between them and the others
    down), once at ``start`` for ``duration``, or again and again (``every`` > 0).

    Give exactly one of the attributes.

    Attributes:
        nodes: The nodes cut off.
        site: A node id: it and everything below it (an edge node and its devices).
        region: A ``region`` tag, or a node id (a regional cloud and its subtree).
    """

    name = "partitions"
    start: float = param(0.0, low=0.0, high=1e7, doc="when the first partition begins, seconds")
    duration: float = param(60.0, low=0.1, high=1e6, log=True, doc="mean partition length, seconds")
    every: float = param(0.0, low=0.0, high=1e7,
                         doc="mean time from one partition's end to the next one's start; 0: only one")
    distribution: str = _distribution("fixed")
    shape: float = _shape()
    nodes: tuple[str, ...] = ()
    site: str = ""
    region: str = ""

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """The partitions starting before ``horizon``."""
        members, label = self.members(topology)
        out = []
        t = self.start
        while t < horizon:
            end = t + draw_duration(rng, self.distribution, self.duration, self.shape)
            out.append(Fault(_PARTITION, tuple(members), t, end, label))
            if not self.every:
                break
            t = end + draw_duration(rng, self.distribution, self.every, self.shape)
        return out

    def members(self, topology: Topology) -> tuple[list[str], str]:
        """The nodes cut off, in topology order, and the partition's label.

        Raises:
            FaultTargetError: Not exactly one of nodes, site, region; or an unknown one.
        """
        given = [f for f in ("nodes", "site", "region") if getattr(self, f)]
        if len(given) != 1:
            raise FaultTargetError("nodes", "give exactly one of nodes, site or region")
        if self.site:
            return site(topology, self.site), self.site
        if self.region:
            return region(topology, self.region), self.region
        named = {node_of(topology, n) for n in self.nodes}
        return [topology.nodes[i].id for i in sorted(named)], "partition"


@dataclass(eq=False)
class LatencySpikes(FaultProcess):
    """A link's latency multiplied by ``factor`` for a while: each chosen link
    alternates calm spells of mean ``1/rate`` and spikes of mean ``duration``.

    Attributes:
        between: Tier pairs whose links spike (``"EdgeCloud~RegionalCloud"``).
        links: Links that spike, named ``a~b``. Neither: every link.
    """

    name = "latency_spikes"
    rate: float = param(1 / 600, low=1e-7, high=10.0, log=True, doc="spikes per second of calm, per link")
    duration: float = param(30.0, low=0.01, high=1e5, log=True, doc="mean spike length, seconds")
    factor: float = param(5.0, low=1.0, high=1000.0, log=True, doc="latency multiplier during a spike")
    distribution: str = _distribution()
    shape: float = _shape()
    between: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """Per link, the spikes of its renewal process."""
        return _renewal_faults(rng, horizon, _select_links(topology, self.between, self.links), 1 / self.rate,
                               self.duration, self.distribution, self.shape,
                               lambda k, s, e: Fault(_SPIKE, (link_name(topology, k),), s, e, factor=self.factor))


@dataclass(eq=False)
class SiteFailures(FaultProcess):
    """Correlated failures: every node of a site (or region) crashes at once and
    recovers at once; each site alternates up times of mean ``mtbf`` and repairs of
    mean ``mttr``.

    Attributes:
        sites: Node ids whose sites fail (see :func:`~wfsim.faults.fault.site`).
        regions: Region tags or node ids whose regions fail
            (:func:`~wfsim.faults.fault.region`). Neither: the site of every
            EdgeDevice or EdgeCloud node with a node of a lower tier below it.
    """

    name = "site_failures"
    mtbf: float = param(86400.0, low=1.0, high=1e8, log=True, doc="mean time between failures per site, seconds")
    mttr: float = param(600.0, low=0.1, high=1e6, log=True, doc="mean time to repair a site, seconds")
    distribution: str = _distribution()
    shape: float = _shape()
    sites: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """Per site, the down periods of its renewal process, as one crash of all its nodes."""
        units = [(s, site(topology, s, "sites")) for s in self.sites]
        units += [(r, region(topology, r, "regions")) for r in self.regions]
        if not self.sites and not self.regions:
            adjacent = neighbours(topology)
            units = [(n.id, site(topology, n.id)) for i, n in enumerate(topology.nodes)
                     if n.tier in _EDGE and any(topology.nodes[v].tier.order < n.tier.order for v in adjacent[i])]
        return _renewal_faults(rng, horizon, units, self.mtbf, self.mttr, self.distribution, self.shape,
                               lambda unit, s, e: Fault(_CRASH, tuple(unit[1]), s, e, unit[0]))


@dataclass(eq=False)
class Mobility(FaultProcess):
    """Devices moving between edge access points: a device linked to several nodes of
    higher tiers uses one at a time (the first, in link order, at time 0) and hands
    over to another one, chosen uniformly, after each dwell time (mean ``dwell``).
    Build such a continuum with ``hierarchical(..., access_points=k)``.

    Attributes:
        tiers: Tier names of the moving devices.
        nodes: Device ids that move. Neither: every LocalDevice and EdgeDevice with
            several access points.
    """

    name = "mobility"
    dwell: float = param(120.0, low=0.1, high=1e6, log=True, doc="mean time at one access point, seconds")
    distribution: str = _distribution()
    shape: float = _shape()
    tiers: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()

    def draw(self, rng: np.random.Generator, topology: Topology, horizon: float) -> list[Fault]:
        """Per device, its first attachment at 0 and then its handovers."""
        adjacent = neighbours(topology)
        devices = []
        for node in _select_nodes(topology, self.tiers, self.nodes, (Tier.LOCAL_DEVICE, Tier.EDGE_DEVICE)):
            i = topology.index[node]
            access = [topology.nodes[v].id for v in adjacent[i]
                      if topology.nodes[v].tier.order > topology.nodes[i].tier.order]
            if len(access) > 1:
                devices.append((node, access))
            elif node in self.nodes:
                raise FaultTargetError("nodes", f"{node!r} has {len(access)} access point(s); a moving device "
                                                "needs several (hierarchical(..., access_points=k))")
        if not devices:
            raise FaultTargetError("nodes", "no device has several access points; build the continuum with "
                                            "hierarchical(..., access_points=k), k >= 2")
        out = []
        for (device, access), child in zip(devices, _children(rng, len(devices))):
            at = 0
            out.append(Fault(_HANDOVER, (device, access[0]), 0.0))
            t = draw_duration(child, self.distribution, self.dwell, self.shape)
            while t < horizon:
                at = (at + 1 + int(child.integers(len(access) - 1))) % len(access)
                out.append(Fault(_HANDOVER, (device, access[at]), t))
                t += draw_duration(child, self.distribution, self.dwell, self.shape)
        return sorted(out, key=lambda f: f.start)


#: Fault processes by name (YAML's ``faults: [{process: <name>, …}]``).
FAULT_PROCESSES: dict[str, type[FaultProcess]] = {
    cls.name: cls for cls in (Crashes, Schedule, LinkOutages, Partitions, LatencySpikes, SiteFailures, Mobility)
}

__all__ = ["FAULT_PROCESSES", "Crashes", "FaultProcess", "LatencySpikes", "LinkOutages", "Mobility", "Partitions",
           "Schedule", "SiteFailures"]
