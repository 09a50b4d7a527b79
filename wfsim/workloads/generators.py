"""Workflow shapes: chain, fork-join, diamond, layered random DAG, and the seed's
order-processing workflow.

Every generator returns a validated :class:`~wfsim.model.workflow.Workflow`. ``work``
is operations per task, ``data_bytes`` the bytes on every edge; ``task`` passes any
other :class:`~wfsim.model.workflow.Task` field (cores, memory, location, …) to every
task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from wfsim.model.enums import TaskPriority, Tier
from wfsim.model.workflow import Edge, LocationRequirement, Task, Workflow


def _tasks(ids: list[str], work: float, task: dict[str, Any] | None) -> list[Task]:
    return [Task(i, work=work, **(task or {})) for i in ids]


def chain(length: int = 3, *, work: float = 1e9, data_bytes: float = 1e6, name: str = "chain",
          task: dict[str, Any] | None = None, **workflow: Any) -> Workflow:
    """``t0 → t1 → … → t{length-1}``."""
    if length < 1:
        raise ValueError(f"chain length must be >= 1, got {length}")
    ids = [f"t{i}" for i in range(length)]
    edges = [Edge(a, b, data_bytes) for a, b in zip(ids, ids[1:])]
    return Workflow(name, _tasks(ids, work, task), edges, **workflow)


def fork_join(width: int = 4, *, work: float = 1e9, data_bytes: float = 1e6, name: str = "fork_join",
              task: dict[str, Any] | None = None, **workflow: Any) -> Workflow:
    """``fork → (width parallel branches) → join``."""
    if width < 1:
        raise ValueError(f"fork_join width must be >= 1, got {width}")
    branches = [f"branch{i}" for i in range(width)]
    edges = [Edge("fork", b, data_bytes) for b in branches] + [Edge(b, "join", data_bytes) for b in branches]
    return Workflow(name, _tasks(["fork", *branches, "join"], work, task), edges, **workflow)


def diamond(*, work: float = 1e9, data_bytes: float = 1e6, name: str = "diamond",
            task: dict[str, Any] | None = None, **workflow: Any) -> Workflow:
    """``a → (b, c) → d``."""
    edges = [Edge("a", "b", data_bytes), Edge("a", "c", data_bytes),
             Edge("b", "d", data_bytes), Edge("c", "d", data_bytes)]
    return Workflow(name, _tasks(["a", "b", "c", "d"], work, task), edges, **workflow)


def layered_random(layers: int = 4, width: int = 3, *, edge_probability: float = 0.5, seed: int = 0,
                   work: float = 1e9, work_cv: float = 0.0, data_bytes: float = 1e6,
                   name: str = "layered", task: dict[str, Any] | None = None, **workflow: Any) -> Workflow:
    """A random layered DAG, reproducible from ``seed``.

    Each layer has 1..``width`` tasks (uniform). Every task of a layer after the first
    gets an edge from each task of the previous layer with probability
    ``edge_probability``, and at least one, so layers stay connected. With
    ``work_cv > 0`` task work is lognormal with mean ``work`` and that coefficient of
    variation.
    """
    if layers < 1 or width < 1:
        raise ValueError(f"layered_random needs layers >= 1 and width >= 1, got {layers}, {width}")
    if not 0 <= edge_probability <= 1:
        raise ValueError(f"edge_probability must be in [0, 1], got {edge_probability}")
    rng = np.random.default_rng(seed)
    level_ids: list[list[str]] = []
    tasks: list[Task] = []
    edges: list[Edge] = []
    sigma = np.sqrt(np.log1p(work_cv**2))
    for level in range(layers):
        ids = [f"L{level}_{i}" for i in range(int(rng.integers(1, width + 1)))]
        for tid in ids:
            w = work * rng.lognormal(-sigma**2 / 2, sigma) if work_cv > 0 else work
            tasks.append(Task(tid, work=float(w), **(task or {})))
        if level_ids:
            previous = level_ids[-1]
            for tid in ids:
                parents = [p for p in previous if rng.random() < edge_probability]
                if not parents:
                    parents = [previous[int(rng.integers(len(previous)))]]
                edges.extend(Edge(p, tid, data_bytes) for p in parents)
        level_ids.append(ids)
    return Workflow(name, tasks, edges, **workflow)


def order_processing(*, work: float = 5e8, data_bytes: float = 2e4, name: str = "order_processing",
                     **workflow: Any) -> Workflow:
    """The seed's ``process_order`` example as a workflow.

    ``fetch_order`` reads ``order:<id>`` near the user, ``process_payment`` runs in the
    cloud (the payment provider) and touches ``payment:<id>``, ``update_order`` writes
    the new status back, and ``reply`` returns the ``OrderResult`` at the edge.
    """
    edge_first = LocationRequirement.preferred_order([Tier.EDGE_CLOUD, Tier.REGIONAL_CLOUD, Tier.CLOUD])
    tasks = [
        Task("fetch_order", work=work, location=edge_first, state_keys=frozenset({"order:<id>"}),
             priority=TaskPriority.HIGH),
        Task("process_payment", work=2 * work, location=LocationRequirement.specific(Tier.CLOUD),
             state_keys=frozenset({"payment:<id>"}), priority=TaskPriority.CRITICAL),
        Task("update_order", work=work, location=LocationRequirement.any_of([Tier.REGIONAL_CLOUD, Tier.CLOUD]),
             state_keys=frozenset({"order:<id>"}), priority=TaskPriority.HIGH),
        Task("reply", work=work / 5, location=edge_first, priority=TaskPriority.NORMAL),
    ]
    edges = [Edge("fetch_order", "process_payment", data_bytes),
             Edge("process_payment", "update_order", data_bytes),
             Edge("update_order", "reply", data_bytes)]
    workflow.setdefault("input_bytes", data_bytes)
    return Workflow(name, tasks, edges, **workflow)


#: How many tasks (at most) each generator makes from its size parameters, so that a
#: workflow too large to build can be refused before building it.
GENERATOR_TASKS: dict[str, Callable[..., int]] = {
    "chain": lambda length=3, **_: length,
    "fork_join": lambda width=4, **_: width + 2,
    "diamond": lambda **_: 4,
    "layered_random": lambda layers=4, width=3, **_: layers * width,
    "order_processing": lambda **_: 4,
}

#: Names usable in YAML (``workflow: {generator: chain, length: 3}``).
GENERATORS: dict[str, Callable[..., Workflow]] = {
    "chain": chain,
    "fork_join": fork_join,
    "diamond": diamond,
    "layered_random": layered_random,
    "order_processing": order_processing,
}
