"""Placement: which node runs a task.

A strategy is asked once per task, when all the task's predecessors have succeeded
(roots: on arrival). It sees the cluster and the workflow instance (through the
Protocols of :mod:`wfsim.policies.views`), and returns a node from
``cluster.candidates(...)`` or None when no node can run the task (the task then
fails with that reason).

Every strategy honours the task's ``LocationRequirement``; ``PreferredOrder`` tiers
are tried in order before the strategy's own criterion decides within a tier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from wfsim.model.enums import Tier
from wfsim.model.parameters import Tunable
from wfsim.policies.views import ClusterView, NodeView, RunView


class PlacementStrategy(Tunable, ABC):
    """Chooses the node for a task.

    Concrete strategies are dataclasses declaring their tunable parameters with
    :func:`~wfsim.model.parameters.param` (see :mod:`wfsim.model.parameters`).
    """

    only_healthy: ClassVar[bool] = False  # chooses only Healthy nodes (the run manifest records it for P25)

    @abstractmethod
    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        """The node to run task ``task`` of ``run`` on, or None if none can."""

    def scope(self) -> frozenset[Tier] | None:
        """The tiers this strategy places on by design (CloudOnly: the cloud), or None
        for any tier: a task whose location requirement excludes all of them fails."""
        return None

    def bind_random(self, rng: np.random.Generator) -> None:
        """Called once by the simulation before the run with the run's random stream
        named ``"placement"`` (so it follows the run seed). Strategies that draw
        random numbers keep it; the default ignores it."""

    # Feedback hooks: no-ops here; strategies that plan ahead or learn override them.
    def on_submit(self, run: RunView, cluster: ClusterView) -> None:
        """A workflow instance arrived (before its roots are placed): plan here."""

    def on_task_end(self, run: RunView, task: int, node: NodeView, duration: float) -> None:
        """A task finished on ``node`` after running ``duration`` seconds."""

    def on_task_failed(self, run: RunView, task: int, node: NodeView | None, reason: str) -> None:
        """A task failed (``node`` None when it was never placed)."""


@dataclass(eq=False)
class CloudOnly(PlacementStrategy):
    """Every task in the cloud (``ExecutionMode::CloudOnly``): the nearest Cloud-tier
    node. A task whose location requirement excludes the cloud cannot be placed."""

    name = "cloud_only"

    def scope(self) -> frozenset[Tier] | None:
        return frozenset({Tier.CLOUD})

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        for node in cluster.candidates(run.spec.tasks[task], run.origin):
            if node.spec.tier is Tier.CLOUD:
                return node
        return None


@dataclass(eq=False)
class NearestEdge(PlacementStrategy):
    """Local first, then the nearest edge-side node, then the nearest node at all.

    Among candidates (nearest first from the workflow's origin, which is itself the
    first candidate when allowed), pick the first on the user's side of the regional
    cloud (LocalDevice, EdgeDevice, EdgeCloud); if none is allowed or large enough,
    the nearest candidate of any tier.
    """

    name = "nearest_edge"

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        spec = run.spec.tasks[task]
        candidates = cluster.candidates(spec, run.origin)
        if not candidates:
            return None
        best_rank = spec.location.rank(candidates[0].spec.tier)
        for node in candidates:
            if spec.location.rank(node.spec.tier) != best_rank:
                break
            if node.spec.tier.is_edge:
                return node
        return candidates[0]


@dataclass(eq=False)
class EarliestFinishTime(PlacementStrategy):
    """The candidate where the task is estimated to finish first.

    finish = max(now + backlog, inputs' arrival) + work / (speed × cores), where an
    input's arrival is the unloaded transfer estimate from its source node and the
    backlog is the node's outstanding work (placed there and not finished, including
    tasks still waiting for inputs) over its total speed at its current capacity (which
    autoscaling may change). Ties go to the nearer node.
    """

    name = "earliest_finish_time"

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        spec = run.spec
        t = spec.tasks[task]
        work = run.work_of(task)
        now = cluster.now
        estimate = cluster.network.estimate
        preds = spec.predecessors[task]
        if preds:
            inputs = [(run.node_of[p], spec.edge_bytes[(p, task)]) for p in preds]
        else:
            inputs = [(run.origin, spec.input_bytes)]
        best: NodeView | None = None
        best_key: tuple[int, float] | None = None
        for node in cluster.candidates(t, run.origin):
            speed = node.spec.speed
            ready = max(now + node.outstanding_ops / (speed * node.capacity),
                        *(now + estimate(src, node.index, nbytes) for src, nbytes in inputs))
            key = (t.location.rank(node.spec.tier), ready + work / (speed * t.cores))
            if best_key is None or key < best_key:
                best, best_key = node, key
        return best


#: This module's strategies by name (all of them: :mod:`wfsim.policies.registry`).
STRATEGIES: dict[str, type[PlacementStrategy]] = {
    cls.name: cls for cls in (CloudOnly, NearestEdge, EarliestFinishTime)
}
