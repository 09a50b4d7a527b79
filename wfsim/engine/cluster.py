"""What strategies may see of the running system."""

from __future__ import annotations

from collections.abc import Sequence

import simpy

from wfsim.engine.network import Network
from wfsim.engine.node import NodeRuntime
from wfsim.model.enums import DRAINED, HealthStatus, Tier
from wfsim.model.topology import Topology
from wfsim.model.workflow import Task

_ALL_TIERS = frozenset(Tier)



class Cluster:
    """A read-only view of nodes, topology and network for strategies.

    Attributes:
        topology: The static topology.
        nodes: One :class:`~wfsim.engine.node.NodeRuntime` per topology node, same order.
        network: The network, for transfer-time estimates.
        health_version: Incremented by every :meth:`set_health`, so strategies that
            cache something derived from node health can tell it changed.
    """

    def __init__(self, env: simpy.Environment, topology: Topology, nodes: Sequence[NodeRuntime],
                 network: Network) -> None:
        self._env = env
        self.topology = topology
        self.nodes = tuple(nodes)
        self.network = network
        self._candidates: dict[tuple, tuple[NodeRuntime, ...]] = {}
        self._version = topology.version
        self.health_version = 0

    @property
    def now(self) -> float:
        """Current simulated time."""
        return self._env.now

    def set_health(self, node: NodeRuntime, status: HealthStatus) -> None:
        """Set ``node``'s health and forget the cached candidate lists.

        Use :meth:`Simulation.set_health <wfsim.engine.simulation.Simulation.set_health>`,
        which also records the change in the trace.

        Args:
            node: One of :attr:`nodes`.
            status: The new health.
        """
        node.health = status
        self.health_version += 1
        self._candidates.clear()

    def candidates(self, task: Task, origin: int, drained: bool = False) -> tuple[NodeRuntime, ...]:
        """Nodes that may run ``task`` for a workflow from node ``origin``.

        A candidate satisfies the task's location requirement, has enough cores and
        memory in total (its minimums), is reachable from the origin and is not
        :data:`DRAINED` (``Unhealthy`` or ``Maintenance``: tasks already there finish,
        nothing new is placed there; ``Degraded`` nodes stay candidates, only load
        balancing avoids them). Local devices are private: the only LocalDevice
        candidate is the origin itself. Ordered by preference rank
        (``PreferredOrder``), then by route latency from the origin.

        With ``drained``, drained nodes are candidates too (for a decider that does
        not share the system's beliefs about health: an edge node cut off from the
        cloud's failure detector).
        """
        if self._version != self.topology.version:  # a link changed state
            self._candidates.clear()
            self._version = self.topology.version
        req = task.location
        key = (origin, req, task.min_cores, task.min_memory, drained)
        try:
            return self._candidates[key]
        except KeyError:
            pass
        tiers = _ALL_TIERS if not req.tiers else frozenset(req.tiers)
        # Other users' devices are never candidates, so leave them out of the search.
        own_device = Tier.LOCAL_DEVICE in tiers and self.nodes[origin].spec.tier is Tier.LOCAL_DEVICE
        found = [self.nodes[origin]] if own_device else []
        found += [self.nodes[i] for i in self.topology.nearest(origin, tiers - {Tier.LOCAL_DEVICE})]
        found = [n for n in found if n.fits(task.min_cores, task.min_memory) and (drained or n.health not in DRAINED)]
        found.sort(key=lambda n: req.rank(n.spec.tier))  # stable: keeps latency order
        result = self._candidates[key] = tuple(found)
        return result
