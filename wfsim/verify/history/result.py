"""Verdicts, counterexamples and search budgets shared by all history checkers."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from .model import Model, Operation
from .values import plain

Verdict = Literal["ok", "violation", "unknown"]
Consistency = Literal["linearizable", "sequential", "causal"]
CONSISTENCY_LEVELS: tuple[str, ...] = ("linearizable", "sequential", "causal")


@dataclass(frozen=True)
class Budget:
    """Limits after which a search gives up with verdict ``unknown``.

    Attributes:
        time_s: Wall-clock seconds for the whole check (``None``: unlimited).
        max_states: Memoised states per search (per partition for
            linearizability; ``None``: unlimited).
    """

    time_s: float | None = 60.0
    max_states: int | None = 5_000_000

    @classmethod
    def coerce(cls, budget: Budget | float | int | None) -> Budget:
        """Accept a ``Budget``, a number of seconds, or ``None`` (the default budget)."""
        if budget is None:
            return cls()
        if isinstance(budget, Budget):
            return budget
        return cls(time_s=float(budget))

    def deadline(self, start: float | None = None) -> float:
        """Absolute ``time.perf_counter()`` deadline."""
        start = time.perf_counter() if start is None else start
        return math.inf if self.time_s is None else start + self.time_s


class BudgetExceeded(Exception):
    """Raised inside searches when the budget runs out."""


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during a search.

    Searches allocate millions of small tuples that never form cycles, so
    collections only cost time (a few percent here) and pause the deadline checks.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Counterexample:
    """Why a history was rejected, as plain data a widget can render.

    Attributes:
        kind: ``"linearizability"``, ``"sequential"`` or a causal bad-pattern name
            (``CyclicCO``, ``WriteCOInitRead``, ``ThinAirRead``, ``WriteCORead``,
            ``WriteHBInitRead``, ``CyclicHB``, ``CyclicCF``).
        key: Partition (key) it was found in, if it is local to one key.
        prefix: Longest legal prefix found, as op ids in order (search-based checks);
            for linearizability violations found without search, a linearization of
            every operation that returned before ``blocked`` was called (if found).
        blocked: Op id that cannot be placed after ``prefix``.
        ops: Op ids involved (e.g. the operations on a cycle, in order).
        state: Model state after ``prefix``.
        description: One-sentence explanation.
        operations: Rendering of every op mentioned above, keyed by id.
    """

    kind: str
    description: str
    key: Hashable | None = None
    prefix: list[int] = field(default_factory=list)
    blocked: int | None = None
    ops: list[int] = field(default_factory=list)
    state: Any = None
    operations: dict[int, dict[str, Any]] = field(default_factory=dict)

    def attach(self, ops_by_id: dict[int, Operation], model: Model) -> Counterexample:
        """Fill :attr:`operations` with the mentioned operations."""
        ids = set(self.prefix) | set(self.ops) | ({self.blocked} if self.blocked is not None else set())
        for i in sorted(ids):
            op = ops_by_id[i]
            self.operations[i] = {**op.to_json(), "text": model.describe(op)}
        return self

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return {
            "kind": self.kind,
            "description": self.description,
            "key": _jsonable(self.key),
            "prefix": list(self.prefix),
            "blocked": self.blocked,
            "ops": list(self.ops),
            "state": _jsonable(self.state),
            "operations": {str(k): v for k, v in self.operations.items()},
        }


@dataclass
class PartitionResult:
    """Outcome for one independently checked part of a history (usually one key)."""

    key: Hashable | None
    verdict: Verdict
    n_ops: int
    explored: int = 0
    elapsed: float = 0.0
    order: list[int] | None = None
    counterexample: Counterexample | None = None
    reason: str | None = None
    #: How the verdict was reached (e.g. ``"search"``, ``"read-mapping"``).
    method: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return {
            "key": _jsonable(self.key),
            "verdict": self.verdict,
            "n_ops": self.n_ops,
            "explored": self.explored,
            "elapsed": self.elapsed,
            "order": self.order,
            "counterexample": self.counterexample.to_json() if self.counterexample else None,
            "reason": self.reason,
            "method": self.method,
        }


@dataclass
class HistoryVerdict:
    """Result of :func:`~wfsim.verify.history.check_history`.

    Attributes:
        verdict: ``"ok"``, ``"violation"`` or ``"unknown"`` (budget exhausted or
            the check is not decidable by the implemented method).
        consistency: Level checked (``"causal"`` results say ``causal-cm`` or
            ``causal-ccv`` in :attr:`details`).
        model: Model name.
        partitions: Per-partition outcomes.
        counterexample: First counterexample found, if any.
        elapsed: Wall-clock seconds.
        explored: States explored (sum over partitions).
        reason: Why the verdict is ``unknown`` (or how ``ok`` was established).
        details: Extra plain data (e.g. the causal variant).
    """

    verdict: Verdict
    consistency: str
    model: str
    partitions: list[PartitionResult] = field(default_factory=list)
    counterexample: Counterexample | None = None
    elapsed: float = 0.0
    explored: int = 0
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """``True`` iff the verdict is ``"ok"``."""
        return self.verdict == "ok"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict, starting with ``{"verdict": ...}``."""
        return {
            "verdict": self.verdict,
            "consistency": self.consistency,
            "model": self.model,
            "elapsed": self.elapsed,
            "explored": self.explored,
            "reason": self.reason,
            "counterexample": self.counterexample.to_json() if self.counterexample else None,
            "partitions": [p.to_json() for p in self.partitions],
            "details": _jsonable(self.details),
        }


def combine(parts: Iterable[PartitionResult]) -> tuple[Verdict, Counterexample | None, str | None]:
    """Overall verdict of independent partitions: any violation wins, then unknown."""
    parts = list(parts)
    for p in parts:
        if p.verdict == "violation":
            return "violation", p.counterexample, None
    for p in parts:
        if p.verdict == "unknown":
            return "unknown", None, p.reason
    return "ok", None, None


def _jsonable(value: Any) -> Any:
    value = plain(value)  # canonical keys and values (JsonBool, JsonMap, tuples) back to JSON
    if value is None or isinstance(value, (bool, int, float, str)):
        return None if isinstance(value, float) and math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return repr(value)
