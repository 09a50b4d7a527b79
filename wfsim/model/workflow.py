"""Workflows: validated DAGs of task specifications.

A :class:`Workflow` is immutable once built; the engine runs many instances of one
workflow, so everything it needs on its hot path (predecessor and successor indices,
bytes per edge, roots and sinks) is computed once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import networkx as nx

from wfsim.model.enums import TaskPriority, Tier


class WorkflowValidationError(ValueError):
    """A workflow definition is malformed; the message names the problem."""


class LocationKind(str, Enum):
    """Variants of the seed's ``LocationRequirement``."""

    SPECIFIC = "Specific"
    PREFERRED_ORDER = "PreferredOrder"
    ANY_OF = "AnyOf"
    ALL = "All"


@dataclass(frozen=True)
class LocationRequirement:
    """Which tiers a task may run on.

    ``Specific(tier)`` allows one tier; ``AnyOf(tiers)`` any of them;
    ``PreferredOrder(tiers)`` any of them, earlier ones preferred; ``All`` any node.
    Build with the class methods: ``LocationRequirement.specific(Tier.CLOUD)``.
    """

    kind: LocationKind = LocationKind.ALL
    tiers: tuple[Tier, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.kind.value, tuple(t.value for t in self.tiers))))
        if self.kind is LocationKind.ALL and self.tiers:
            raise WorkflowValidationError("LocationRequirement All takes no tiers")
        if self.kind is LocationKind.SPECIFIC and len(self.tiers) != 1:
            raise WorkflowValidationError("LocationRequirement Specific takes exactly one tier")
        if self.kind in (LocationKind.ANY_OF, LocationKind.PREFERRED_ORDER) and not self.tiers:
            raise WorkflowValidationError(f"LocationRequirement {self.kind.value} needs at least one tier")

    @classmethod
    def all(cls) -> LocationRequirement:
        """Any node of any tier."""
        return cls()

    @classmethod
    def specific(cls, tier: Tier | str) -> LocationRequirement:
        """Exactly this tier."""
        return cls(LocationKind.SPECIFIC, (Tier.parse(tier),))

    @classmethod
    def any_of(cls, tiers: Iterable[Tier | str]) -> LocationRequirement:
        """Any of these tiers, none preferred."""
        return cls(LocationKind.ANY_OF, tuple(Tier.parse(t) for t in tiers))

    @classmethod
    def preferred_order(cls, tiers: Iterable[Tier | str]) -> LocationRequirement:
        """Any of these tiers, earlier ones first."""
        return cls(LocationKind.PREFERRED_ORDER, tuple(Tier.parse(t) for t in tiers))

    def __hash__(self) -> int:
        # Placement caches are keyed on requirements: hash once, not per lookup
        # (hashing enum members is a Python-level call each).
        return self._hash

    def allows(self, tier: Tier) -> bool:
        """Whether a node of ``tier`` satisfies the requirement."""
        return self.kind is LocationKind.ALL or tier in self.tiers

    def rank(self, tier: Tier) -> int:
        """Preference rank of ``tier`` (0 is best); equal for all allowed tiers except
        under ``PreferredOrder``."""
        if self.kind is LocationKind.PREFERRED_ORDER:
            return self.tiers.index(tier)
        return 0


#: The default location requirement: any node (immutable, so shared).
_ANYWHERE = LocationRequirement()


@dataclass(frozen=True, init=False)
class Task:
    """One task specification: every view the seed gives of a unit of work.

    Attributes:
        id: Unique within its workflow.
        work: Compute demand in abstract operations; a node runs it at
            ``speed * cores`` ops/s.
        cores: Cores recommended: what the task holds when the node has them free
            (the seed's ``recommended``).
        memory: Bytes of memory recommended.
        min_cores: Fewest cores the task can start with (the seed's
            ``min_resources``); given as None (the default), ``cores`` (a rigid
            task). A task starts as soon as ``min_cores`` and ``min_memory`` are free
            and gets ``max(min(free, recommended), minimum)`` of each
            (:func:`~wfsim.engine.node.allocate`).
        min_memory: Least memory it can start with; given as None, ``memory``.
        elastic: Whether its core allocation may change while it runs (it then grows
            into idle cores up to ``cores``; see
            :meth:`~wfsim.engine.node.NodeRuntime.adjust`).
        scalability: How its speed follows its cores (the seed's
            ``scalability_factor``, in [0, 1]): with ``a`` of ``cores`` cores it runs
            at ``speed × cores × (a / cores) ** scalability`` ops/s, so 1 is linear
            (the default: ``speed × a``) and 0 means fewer cores cost no speed.
        location: Which tiers may run it.
        priority: The seed's ``TaskPriority``.
        deadline: Seconds after the workflow's arrival by which it should end, or None.
        state_keys: Replicated-state keys the task reads or writes.
    """

    id: str
    work: float
    cores: int
    memory: float
    location: LocationRequirement
    priority: TaskPriority
    deadline: float | None
    state_keys: frozenset[str]
    min_cores: int
    min_memory: float
    elastic: bool
    scalability: float

    # Written out rather than generated by the dataclass: ``min_cores`` and
    # ``min_memory`` accept None (meaning ``cores`` and ``memory``) but are normalised
    # here, once, so the attributes are always plain numbers and the engine's hot path
    # compares them as they are.
    def __init__(
        self,
        id: str,
        work: float = 1e9,
        cores: int = 1,
        memory: float = 0.0,
        location: LocationRequirement = _ANYWHERE,
        priority: TaskPriority = TaskPriority.NORMAL,
        deadline: float | None = None,
        state_keys: frozenset[str] = frozenset(),
        min_cores: int | None = None,
        min_memory: float | None = None,
        elastic: bool = False,
        scalability: float = 1.0,
    ) -> None:
        init = object.__setattr__  # frozen
        init(self, "id", id)
        init(self, "work", work)
        init(self, "cores", cores)
        init(self, "memory", memory)
        init(self, "location", location)
        init(self, "priority", priority)
        init(self, "deadline", deadline)
        init(self, "state_keys", state_keys)
        init(self, "min_cores", cores if min_cores is None else min_cores)
        init(self, "min_memory", memory if min_memory is None else min_memory)
        init(self, "elastic", elastic)
        init(self, "scalability", scalability)
        self._validate()

    def _validate(self) -> None:
        if not self.id:
            raise WorkflowValidationError("task id must be a non-empty string")
        if not self.work >= 0:
            raise WorkflowValidationError(f"task {self.id!r}: work must be >= 0, got {self.work}")
        if self.cores < 1:
            raise WorkflowValidationError(f"task {self.id!r}: cores must be >= 1, got {self.cores}")
        if not self.memory >= 0:
            raise WorkflowValidationError(f"task {self.id!r}: memory must be >= 0, got {self.memory}")
        if self.deadline is not None and not self.deadline > 0:
            raise WorkflowValidationError(f"task {self.id!r}: deadline must be > 0, got {self.deadline}")
        min_cores, min_memory = self.min_cores, self.min_memory
        if not 1 <= min_cores <= self.cores:
            raise WorkflowValidationError(
                f"task {self.id!r}: min_cores must be in [1, cores={self.cores}], got {min_cores}")
        if not 0 <= min_memory <= self.memory:
            raise WorkflowValidationError(
                f"task {self.id!r}: min_memory must be in [0, memory={self.memory}], got {min_memory}")
        if not 0.0 <= self.scalability <= 1.0:
            raise WorkflowValidationError(
                f"task {self.id!r}: scalability must be in [0, 1], got {self.scalability}")


@dataclass(frozen=True)
class Edge:
    """A data dependency: ``target`` needs ``nbytes`` produced by ``source``."""

    source: str
    target: str
    nbytes: float = 0.0


class Workflow:
    """A validated, immutable DAG of :class:`Task` s.

    Args:
        name: Workflow name (shown in traces).
        tasks: Task specifications, unique ids.
        edges: Dependencies; ``(source, target)`` or ``(source, target, nbytes)``
            tuples or :class:`Edge` objects.
        input_bytes: Request payload sent from the workflow's origin node to each root
            task. The transfer (with its latency) happens whenever the root runs
            elsewhere, even for zero bytes.
        result_bytes: Bytes returned from each sink task to the origin, or None for no
            return transfer; the workflow completes when every result has arrived.
        deadline: Seconds after arrival by which the whole workflow should complete.

    Raises:
        WorkflowValidationError: duplicate or unknown task ids, negative sizes, or a
            cycle (the message prints it).
    """

    __slots__ = (
        "name", "tasks", "edges", "input_bytes", "result_bytes", "deadline",
        "index", "predecessors", "successors", "edge_bytes", "roots", "sinks",
        "topological_order",
    )

    def __init__(
        self,
        name: str,
        tasks: Sequence[Task],
        edges: Iterable[Edge | tuple] = (),
        *,
        input_bytes: float = 0.0,
        result_bytes: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self.name = name
        self.tasks: tuple[Task, ...] = tuple(tasks)
        if not self.tasks:
            raise WorkflowValidationError(f"workflow {name!r} has no tasks")
        self.index: dict[str, int] = {}
        for i, task in enumerate(self.tasks):
            if task.id in self.index:
                raise WorkflowValidationError(f"workflow {name!r}: duplicate task id {task.id!r}")
            self.index[task.id] = i
        self.edges: tuple[Edge, ...] = tuple(e if isinstance(e, Edge) else Edge(*e) for e in edges)
        if input_bytes < 0 or (result_bytes is not None and result_bytes < 0):
            raise WorkflowValidationError(f"workflow {name!r}: input/result bytes must be >= 0")
        if deadline is not None and not deadline > 0:
            raise WorkflowValidationError(f"workflow {name!r}: deadline must be > 0, got {deadline}")
        self.input_bytes = float(input_bytes)
        self.result_bytes = None if result_bytes is None else float(result_bytes)
        self.deadline = deadline

        n = len(self.tasks)
        preds: list[list[int]] = [[] for _ in range(n)]
        succs: list[list[int]] = [[] for _ in range(n)]
        self.edge_bytes: dict[tuple[int, int], float] = {}
        for e in self.edges:
            for end in (e.source, e.target):
                if end not in self.index:
                    raise WorkflowValidationError(
                        f"workflow {name!r}: edge {e.source!r} -> {e.target!r} names unknown task {end!r}"
                    )
            if not e.nbytes >= 0:
                raise WorkflowValidationError(
                    f"workflow {name!r}: edge {e.source!r} -> {e.target!r} has negative size {e.nbytes}"
                )
            s, t = self.index[e.source], self.index[e.target]
            if s == t:
                raise WorkflowValidationError(f"workflow {name!r}: cycle {e.source} -> {e.source}")
            if (s, t) in self.edge_bytes:
                raise WorkflowValidationError(
                    f"workflow {name!r}: duplicate edge {e.source!r} -> {e.target!r}"
                )
            self.edge_bytes[(s, t)] = float(e.nbytes)
            preds[t].append(s)
            succs[s].append(t)
        self.predecessors: tuple[tuple[int, ...], ...] = tuple(tuple(p) for p in preds)
        self.successors: tuple[tuple[int, ...], ...] = tuple(tuple(s) for s in succs)
        self.roots: tuple[int, ...] = tuple(i for i in range(n) if not preds[i])
        self.sinks: tuple[int, ...] = tuple(i for i in range(n) if not succs[i])

        graph = self.graph()
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            raise WorkflowValidationError(f"workflow {name!r} has a cycle: {path}")
        self.topological_order: tuple[int, ...] = tuple(
            self.index[t] for t in nx.lexicographical_topological_sort(graph, key=self.index.get)
        )

    def graph(self) -> nx.DiGraph:
        """The DAG as a networkx graph: nodes are task ids with a ``task`` attribute,
        edges carry ``nbytes``."""
        g: nx.DiGraph[str] = nx.DiGraph()
        for task in self.tasks:
            g.add_node(task.id, task=task)
        for e in self.edges:
            g.add_edge(e.source, e.target, nbytes=e.nbytes)
        return g

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, {len(self.tasks)} tasks, {len(self.edges)} edges)"

    def critical_path_length(self, speed: float = 1.0) -> float:
        """Longest path of ``work / (speed * cores)`` through the DAG, ignoring data."""
        finish = [0.0] * len(self.tasks)
        for i in self.topological_order:
            task = self.tasks[i]
            start = max((finish[p] for p in self.predecessors[i]), default=0.0)
            finish[i] = start + task.work / (speed * task.cores)
        return max(finish)

    def total_work(self) -> float:
        """Sum of every task's work in operations."""
        return sum(t.work for t in self.tasks)

    def with_tasks(self, tasks: Mapping[str, Task]) -> Workflow:
        """A copy with some tasks replaced (by id); edges and payloads unchanged."""
        return Workflow(
            self.name,
            [tasks.get(t.id, t) for t in self.tasks],
            self.edges,
            input_bytes=self.input_bytes,
            result_bytes=self.result_bytes,
            deadline=self.deadline,
        )
