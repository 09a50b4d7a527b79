"""Checkable properties of a run's trace, and their verdicts as plain data.

A :class:`Property` is a named, documented check of a :class:`~wfsim.trace.trace.Trace`
with a reference into the seed; ``prop.check(trace)`` returns a :class:`PropertyVerdict`
that a report, a widget or the ``wfsim verify`` command renders: the verdict, how many
entities were checked, and the first :class:`TraceCounterexample` s (the violating
entity, the time and step, a one-line explanation and the slice of the trace around
it).  The properties themselves, the seed's catalog, live in
:mod:`wfsim.verify.catalog`.

Three kinds:

* :class:`TemporalProperty` — an LTLf formula (:mod:`wfsim.verify.ltl`) evaluated **per
  entity** (each workflow, each task instance) over that entity's projection of the
  trace: one step per recorded event of the entity, the step's atoms the event's kind.
  Liveness properties are evaluated with the three-valued semantics on entities still
  open at the horizon of a truncated run (``INCONCLUSIVE`` when an obligation is still
  pending); safety properties are judged on the observed prefix (``TRUE`` means no
  violation was recorded).  Entities whose step sequences are equal share one
  evaluation, so the cost is one vectorised grouping plus one
  :func:`~wfsim.verify.ltl.evaluate_arrays` call per *distinct* sequence.
* :class:`Invariant` — a predicate over every state or transition of some table,
  computed vectorised, returning the violating rows as :class:`Findings`.
* :class:`Postcondition` — after every event of a kind (e.g. a task ``end``), a
  condition holds; the triggers are the checked items.

Verdict values are the strings of :class:`~wfsim.verify.ltl.Truth` (``true``,
``false``, ``inconclusive``) plus :data:`NOT_APPLICABLE` when the trace has nothing
the property speaks about.
"""

from __future__ import annotations

import math
import time as _time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from wfsim.model.enums import TERMINAL_STATES as _TERMINAL
from wfsim.model.events import TASK_EVENTS
from wfsim.verify.ltl import (
    INCONCLUSIVE,
    Always,
    And,
    Formula,
    Implies,
    Next,
    Truth,
    Verdict,
    WeakNext,
    evaluate_arrays,
    parse,
)

__all__ = [
    "NOT_APPLICABLE",
    "Findings",
    "Invariant",
    "Postcondition",
    "Projection",
    "Property",
    "PropertyVerdict",
    "TemporalProperty",
    "TraceCounterexample",
    "TraceView",
    "combine",
]

#: Verdict of a property whose subject does not occur in the trace.
NOT_APPLICABLE = "not_applicable"

#: Counterexamples kept per property (the earliest ones in time).
MAX_COUNTEREXAMPLES = 5

#: Trace records kept in one counterexample's slice.
MAX_SLICE = 40

TERMINAL_STATES = tuple(state.value for state in _TERMINAL)

_T = TypeVar("_T")


# ---------------------------------------------------------------------------
# Verdicts as plain data
# ---------------------------------------------------------------------------


@dataclass
class TraceCounterexample:
    """One violating (or, for ``inconclusive``, still open) entity, as plain data.

    Distinct from :class:`wfsim.verify.history.result.Counterexample`, which explains a
    rejected operation history; this one points into a simulation trace.

    Attributes:
        entity_kind: ``workflow``, ``task`` (a task instance), ``node`` or
            ``definition``.
        entity: The entity's id: a workflow id, ``"<workflow>/<task>"``, a node id or
            ``"<definition>:<name>"``.
        time: Simulated time of the violating event (``None`` for static facts such
            as a cycle in a definition).
        step: Index of that event in the entity's projection (LTL properties) or in
            the checked table (invariants); ``None`` when not meaningful.
        explanation: One line saying what happened.
        verdict: ``false`` for a violation, ``inconclusive`` for an obligation still
            open at the horizon.
        trigger_step: For ``G(a -> ψ)`` formulas, the step of the ``a`` whose
            obligation ``ψ`` failed (``step`` is where it visibly failed).
        ltl: The entity's LTL verdict (temporal properties only).
        events: The relevant slice of the trace, one dict per record with a
            ``table`` key (``workflow_events``, ``task_events``, ``task_edges`` …);
            see :meth:`frame`.
    """

    entity_kind: str
    entity: str
    time: float | None
    step: int | None
    explanation: str
    verdict: str = Truth.FALSE.value
    trigger_step: int | None = None
    ltl: Verdict | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The trace slice as a DataFrame (one row per record)."""
        return pd.DataFrame.from_records(self.events)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = asdict(self)
        data["ltl"] = None if self.ltl is None else self.ltl.to_dict()
        data["time"] = _json_number(self.time)
        return data

    def describe(self) -> str:
        """``workflow 17 at t=3.2: …`` (one line)."""
        when = "" if self.time is None else f" at t={self.time:.6g}"
        return f"{self.entity_kind} {self.entity}{when}: {self.explanation}"


@dataclass
class PropertyVerdict:
    """The outcome of one property on one trace; plain data.

    Attributes:
        name: Registry name (``lifecycle``).
        pid: Seed property id (``P1``), or a dotted name for engine checks.
        seed_ref: Where the property comes from in the seed.
        kind: ``ltl``, ``invariant`` or ``postcondition``.
        verdict: ``true``, ``false``, ``inconclusive`` or ``not_applicable``.
        unit: What was counted as checked (``workflows``, ``task instances`` …).
        checked: Number of entities (or transitions, triggers) checked.
        violated: How many of them violate the property.
        inconclusive: How many are undecided (open at the horizon of a truncated run).
        counterexamples: The earliest violations (or, if none, open obligations).
        formula: The LTL formula, for temporal properties.
        seconds: Wall-clock time of the check.
    """

    name: str
    pid: str
    seed_ref: str
    kind: str
    verdict: str
    unit: str
    checked: int
    violated: int = 0
    inconclusive: int = 0
    counterexamples: list[TraceCounterexample] = field(default_factory=list)
    formula: str | None = None
    seconds: float = 0.0

    @property
    def holds(self) -> bool:
        """True iff the verdict is ``true``."""
        return self.verdict == Truth.TRUE.value

    @property
    def first(self) -> TraceCounterexample | None:
        """The earliest counterexample, if any."""
        return self.counterexamples[0] if self.counterexamples else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (counterexamples included)."""
        data = {k: v for k, v in asdict(self).items() if k != "counterexamples"}
        data["counterexamples"] = [c.to_dict() for c in self.counterexamples]
        return data

    def summary(self) -> str:
        """``P1 lifecycle  true  (318 workflows)``, plus the first counterexample."""
        counts = f"{self.checked} {self.unit}"
        if self.violated:
            counts += f", {self.violated} violated"
        if self.inconclusive:
            counts += f", {self.inconclusive} open"
        line = f"{self.pid:<4} {self.name:<25} {self.verdict:<14} ({counts})"
        if self.first is not None and self.verdict in (Truth.FALSE.value, INCONCLUSIVE.value):
            line += f"\n    {self.first.describe()}"
        return line


def combine(values: Sequence[str] | np.ndarray, checked: int) -> str:
    """Aggregate entity verdicts: any false → false, else any open → inconclusive."""
    if checked == 0:
        return NOT_APPLICABLE
    seen = set(values)
    if Truth.FALSE.value in seen:
        return Truth.FALSE.value
    if INCONCLUSIVE.value in seen:
        return INCONCLUSIVE.value
    return Truth.TRUE.value


# ---------------------------------------------------------------------------
# The shared, pre-grouped view of a trace
# ---------------------------------------------------------------------------


class TraceView:
    """A trace with the sorting and joins every property needs, done once.

    Properties receive a view; :func:`wfsim.verify.catalog.check_catalog` builds one
    per trace and shares it.  Everything is computed lazily and cached.

    Args:
        trace: The trace to check.
    """

    def __init__(self, trace: Any) -> None:
        self.trace = trace
        self._memo: dict[str, Any] = {}

    def cached(self, key: str, build: Callable[[], _T]) -> _T:
        """``build()``, computed once per view under ``key`` (shared by properties)."""
        if key not in self._memo:
            self._memo[key] = build()
        value: _T = self._memo[key]
        return value

    @staticmethod
    def of(trace: Any) -> TraceView:
        """``trace`` itself if it is a view, else a new view of it."""
        return trace if isinstance(trace, TraceView) else TraceView(trace)

    @property
    def horizon(self) -> float:
        """Time at which the run stopped."""
        return float(self.trace.horizon)

    @cached_property
    def truncated(self) -> bool:
        """Whether the run stopped at its horizon with work still open.

        Read from ``manifest["truncated"]``; for traces without it, inferred from
        workflows not in a terminal state at the end.
        """
        flag = self.trace.manifest.get("truncated")
        if flag is not None:
            return bool(flag)
        return bool((~self.workflow_closed).any())

    @cached_property
    def workflow_events(self) -> pd.DataFrame:
        """``workflow_events`` sorted by (workflow, time), stable, with a ``state``
        as plain string and the row's original position ``row``."""
        we = self.trace.workflow_events
        out = pd.DataFrame({
            "time": we["time"].to_numpy(dtype=float),
            "workflow": we["workflow"].to_numpy(dtype=np.int64),
            "state": we["state"].astype(str).to_numpy(),
            "reason": we["reason"].astype(object).to_numpy() if "reason" in we else None,
            "row": np.arange(len(we)),
        })
        return out.sort_values(["workflow", "time", "row"], kind="stable").reset_index(drop=True)

    @cached_property
    def task_events(self) -> pd.DataFrame:
        """``task_events`` with plain-string ``task``/``event``/``node``, the
        workflow's ``definition``, sorted by (workflow, task, time), stable."""
        te = self.trace.task_events
        out = pd.DataFrame({
            "time": te["time"].to_numpy(dtype=float),
            "workflow": te["workflow"].to_numpy(dtype=np.int64),
            "task": _strings(te["task"]),
            "event": _strings(te["event"]),
            "node": _strings(te["node"]),
            "row": np.arange(len(te)),
        })
        out["definition"] = self.definition_of.reindex(out["workflow"]).to_numpy()
        # Sort on integer codes of the task names (same grouping, much faster).
        task_code = pd.factorize(out["task"], sort=True)[0]
        order = np.lexsort((out["row"].to_numpy(), out["time"].to_numpy(), task_code, out["workflow"].to_numpy()))
        return out.take(order).reset_index(drop=True)

    @cached_property
    def definition_of(self) -> pd.Series:
        """Workflow id → definition id."""
        wf = self.trace.workflows
        return pd.Series(wf["definition"].to_numpy(dtype=np.int64), index=wf["workflow"].to_numpy(dtype=np.int64))

    @cached_property
    def workflow_ids(self) -> np.ndarray:
        """Every workflow id in ``workflows`` or ``workflow_events``, sorted."""
        return np.union1d(self.trace.workflows["workflow"].to_numpy(dtype=np.int64),
                          self.workflow_events["workflow"].to_numpy())

    @cached_property
    def workflow_end(self) -> pd.Series:
        """Workflow id → time of its first terminal event (NaN if none)."""
        we = self.workflow_events
        done = we[we["state"].isin(TERMINAL_STATES)]
        return done.groupby("workflow")["time"].min().reindex(self.workflow_ids)

    @cached_property
    def workflow_closed(self) -> np.ndarray:
        """Per :attr:`workflow_ids`: whether its last recorded state is terminal."""
        we = self.workflow_events
        last = we.groupby("workflow")["state"].last().reindex(self.workflow_ids)
        return last.isin(TERMINAL_STATES).to_numpy()

    @cached_property
    def specs(self) -> pd.DataFrame:
        """``task_specs`` with plain-string ``task`` and the allowed ``tiers`` string."""
        ts: pd.DataFrame = self.trace.task_specs.copy()
        ts["task"] = _strings(ts["task"])
        ts["tiers"] = _strings(ts["tiers"]) if len(ts) else ts["tiers"]
        return ts

    @cached_property
    def edges(self) -> pd.DataFrame:
        """``task_edges`` with plain-string ``source``/``target``."""
        te = self.trace.task_edges
        return pd.DataFrame({
            "definition": te["definition"].to_numpy(dtype=np.int64),
            "source": _strings(te["source"]),
            "target": _strings(te["target"]),
        })

    @cached_property
    def task_times(self) -> pd.DataFrame:
        """One row per task instance: first time of each event kind (NaN if none),
        except ``end``: the last (the one that completed the task: a Quorum's earlier
        replica results did not), and the ``starts``/``ends`` counts."""
        te = self.task_events
        keys = ["workflow", "task"]
        first = te.groupby(keys + ["event"], sort=False)["time"].min().unstack("event")
        first = first.reindex(columns=list(TASK_EVENTS))
        ends = te[te["event"] == "end"]
        if len(ends) and ends.duplicated(keys).any():
            first["end"] = ends.groupby(keys, sort=False)["time"].max().reindex(first.index)
        counts = te.groupby(keys + ["event"], sort=False).size().unstack("event")
        counts = counts.reindex(columns=["start", "end"]).fillna(0).astype(np.int64)
        first["starts"] = counts["start"]
        first["ends"] = counts["end"]
        return first.reset_index()

    def node_slice(self, node: str, time: float, before: int = 12, after: int = 3) -> list[dict[str, Any]]:
        """The task events on ``node`` around ``time``: ``before`` up to it, ``after``
        following."""
        te = self.task_events
        on = te[te["node"] == node].sort_values(["time", "row"], kind="stable")
        at = int(np.searchsorted(on["time"].to_numpy(), time, side="right"))
        window = on.iloc[max(0, at - before):at + after]
        return records(window.assign(table="task_events")[
            ["table", "time", "workflow", "task", "event", "node"]])

    def workflow_slice(self, workflows: Sequence[int],
                       times: Sequence[float | None] | None = None) -> dict[int, list[dict[str, Any]]]:
        """The lifecycle and task records of the given workflows, by workflow, in time
        order: at most :data:`MAX_SLICE` each, those up to the matching entry of
        ``times`` (and a few after) when a workflow has more."""
        ids = np.asarray(list(workflows), dtype=np.int64)
        we = self.workflow_events[self.workflow_events["workflow"].isin(ids)]
        te = self.task_events[self.task_events["workflow"].isin(ids)]
        both = pd.concat([
            we.assign(table="workflow_events")[["table", "time", "workflow", "state", "reason", "row"]],
            te.assign(table="task_events")[["table", "time", "workflow", "task", "event", "node", "row"]],
        ], ignore_index=True)
        # At equal times: Created/Running, then task events, then Completed/Failed.
        rank = np.where(both["table"] == "task_events", 1, np.where(both["state"].isin(TERMINAL_STATES), 2, 0))
        both = both.assign(rank=rank).sort_values(["time", "rank", "row"], kind="stable")
        both = both.drop(columns=["row", "rank"])
        out: dict[int, list[dict[str, Any]]] = {int(w): [] for w in ids}
        at = {} if times is None else {int(w): t for w, t in zip(ids.tolist(), times)}
        for key, group in both.groupby("workflow", sort=False):
            w = int(key)  # type: ignore[arg-type]  # pandas-stubs type a group key as any scalar
            t = at.get(w)
            end = MAX_SLICE
            if t is not None and len(group) > MAX_SLICE:
                end = max(MAX_SLICE, int(np.searchsorted(group["time"].to_numpy(), t, side="right")) + 5)
            window = group.iloc[max(0, end - MAX_SLICE):end]
            out[w] = [{k: v for k, v in r.items() if v is not None} for r in records(window)]
        return out


# ---------------------------------------------------------------------------
# Per-entity projections and their vectorised LTL evaluation
# ---------------------------------------------------------------------------


@dataclass
class Projection:
    """Entity traces laid end to end: entity ``i`` owns steps
    ``offsets[i]:offsets[i+1]``.

    Attributes:
        entity_kind: ``workflow`` or ``task``.
        ids: One label per entity.
        offsets: Segment boundaries, length ``len(ids) + 1``.
        atoms: Atom names; step ``j`` has atom ``atoms[b]`` iff bit ``b`` of
            ``codes[j]`` is set.
        codes: Atom bitmask per step.
        times: Time per step.
        open: Per entity, whether it is still open at the end of the trace (its last
            step is not final); open entities of a truncated run are evaluated as
            truncated prefixes by liveness properties.
        workflows: Per entity, the workflow it belongs to (for trace slices).
    """

    entity_kind: str
    ids: np.ndarray
    offsets: np.ndarray
    atoms: tuple[str, ...]
    codes: np.ndarray
    times: np.ndarray
    open: np.ndarray
    workflows: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def atom_arrays(self, entity: int) -> dict[str, np.ndarray]:
        """The atom columns of one entity's trace."""
        seg = self.codes[self.offsets[entity]:self.offsets[entity + 1]]
        return {name: ((seg >> b) & 1).astype(bool) for b, name in enumerate(self.atoms)}

    def labels(self, entity: int) -> list[str]:
        """Readable steps of one entity: ``["Created@0.1", "Running@0.1", …]``."""
        lo, hi = self.offsets[entity], self.offsets[entity + 1]
        out = []
        for code, t in zip(self.codes[lo:hi].tolist(), self.times[lo:hi].tolist()):
            names = "+".join(a for b, a in enumerate(self.atoms) if code >> b & 1) or "∅"
            out.append(f"{names}@{t:.6g}")
        return out


def project(
    frame: pd.DataFrame, keys: list[str], column: str, atoms: Sequence[str],
    entity_kind: str, all_ids: np.ndarray | None = None, final: Sequence[str] = (),
) -> Projection:
    """Build a :class:`Projection` from rows already sorted by ``keys`` then time.

    Args:
        frame: Sorted rows, with ``time`` and ``workflow`` columns.
        keys: Columns identifying an entity (``["workflow"]`` or
            ``["workflow", "task"]``).
        column: Column holding the event kind; ``atoms`` are its possible values,
            lowercased.
        atoms: Atom names.
        entity_kind: Label for counterexamples.
        all_ids: For a single key: every entity id, sorted, a superset of the
            key's values, so that entities without rows get an empty trace.
        final: Atoms after which an entity is closed.
    """
    values = frame[column].astype(str).str.lower().to_numpy()
    codes = np.zeros(len(frame), dtype=np.int64)
    for b, name in enumerate(atoms):
        codes |= (values == name).astype(np.int64) << b
    if len(keys) == 1:
        ent = frame[keys[0]].to_numpy()
        ids = np.unique(ent) if all_ids is None else np.asarray(all_ids)
        # Sorted rows and sorted ids: each entity is one contiguous (maybe empty) run.
        offsets = np.append(np.searchsorted(ent, ids, side="left"), len(frame))
        labels = ids.astype(str)
        workflows = ids.astype(np.int64)
    else:
        k = frame[keys].to_numpy()
        change = np.ones(len(frame), dtype=bool)
        if len(frame):
            change[1:] = (k[1:] != k[:-1]).any(axis=1)
        starts = np.flatnonzero(change)
        offsets = np.append(starts, len(frame))
        first = frame.iloc[starts]
        labels = (first[keys[0]].astype(str) + "/" + first[keys[1]].astype(str)).to_numpy()
        workflows = first["workflow"].to_numpy(dtype=np.int64)
    lengths = np.diff(offsets)
    is_final = np.isin(values, [f.lower() for f in final])
    last = np.maximum(offsets[1:] - 1, 0)
    closed = (lengths > 0) & (is_final[last] if len(frame) else False)
    return Projection(entity_kind, labels, offsets, tuple(atoms), codes,
                      frame["time"].to_numpy(dtype=float), ~closed, workflows)


def _evaluate_groups(formula: Formula, proj: Projection, truncated: np.ndarray) -> tuple[np.ndarray, list[Verdict]]:
    """Per entity, the index of its verdict in the returned list of distinct verdicts."""
    n_ent = len(proj)
    which = np.zeros(n_ent, dtype=np.int64)
    verdicts: list[Verdict] = []
    lengths = np.diff(proj.offsets)
    for length in np.unique(lengths):
        ents = np.flatnonzero(lengths == length)
        rows = proj.offsets[ents][:, None] + np.arange(length)[None, :]
        matrix = np.concatenate([proj.codes[rows], truncated[ents, None].astype(np.int64)], axis=1)
        uniq, inverse = np.unique(matrix, axis=0, return_inverse=True)
        base = len(verdicts)
        for row in uniq:
            seq, trunc = row[:-1], bool(row[-1])
            atoms = {name: ((seq >> b) & 1).astype(bool) for b, name in enumerate(proj.atoms)}
            verdicts.append(evaluate_arrays(formula, atoms, length=int(length), truncated=trunc))
        which[ents] = base + inverse.reshape(-1)
    return which, verdicts


def locate(formula: Formula, atoms: dict[str, np.ndarray], n: int,
           truncated: bool) -> tuple[Formula, int | None, int | None]:
    """Where a false (or open) formula visibly fails on one entity's trace.

    Picks the first failing conjunct of a top-level conjunction.  For a false
    ``G(a -> ψ)`` whose failing instance starts at step ``i`` (the trigger), ``ψ``
    is re-evaluated on the suffix from ``i`` to find the step where it fails, and so
    on through ``X``/``WX``/``G`` (e.g. for ``G(start -> WX G !start)`` the second
    ``start``, not the first).

    Returns:
        ``(conjunct, trigger_step, step)``.
    """
    target, verdict = formula, None
    for c in _conjuncts(formula):
        v = evaluate_arrays(c, atoms, length=n, truncated=truncated)
        if v.value is not Truth.TRUE and (verdict is None or verdict.value is not Truth.FALSE):
            target, verdict = c, v
    if verdict is None:
        verdict = evaluate_arrays(formula, atoms, length=n, truncated=truncated)
    if verdict.value is not Truth.FALSE:
        return target, verdict.step, verdict.step
    trigger = verdict.step if isinstance(target, Always) and isinstance(target.operand, Implies) else None
    return target, trigger, _refine(target, atoms, n, truncated)


def _refine(f: Formula, atoms: dict[str, np.ndarray], n: int, truncated: bool) -> int | None:
    """Step at which the false formula ``f`` visibly fails, descending into the
    obligation of ``G(a -> ψ)``, ``G ψ`` and ``X ψ``/``WX ψ``."""
    step = evaluate_arrays(f, atoms, length=n, truncated=truncated).step
    if step is None:
        return None
    inner: Formula | None = None
    if isinstance(f, Always):
        body = f.operand
        inner = (body.right if isinstance(body, Implies)
                 else body if isinstance(body, (Always, Next, WeakNext)) else None)
    elif isinstance(f, (Next, WeakNext)):
        inner = f.operand
    if inner is None or step >= n:
        return step
    suffix = {k: v[step:] for k, v in atoms.items()}
    if evaluate_arrays(inner, suffix, length=n - step, truncated=truncated).value is not Truth.FALSE:
        return step
    sub = _refine(inner, suffix, n - step, truncated)
    return step if sub is None else step + sub


def _conjuncts(formula: Formula) -> list[Formula]:
    if isinstance(formula, And):
        return _conjuncts(formula.left) + _conjuncts(formula.right)
    return [formula]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@dataclass
class Findings:
    """What an invariant or postcondition check found.

    Attributes:
        checked: Number of items (states, transitions, triggers, entities) checked.
        violations: One row per violation with columns ``entity_kind, entity, time,
            step, explanation`` and optionally ``workflow`` (to slice the trace) or
            ``task``/``related`` (task names whose records to keep in the slice)
            or ``events`` (an explicit slice, list of records), and ``verdict``:
            ``inconclusive`` for a row the trace cannot decide (otherwise, and by
            default, ``false``).  The verdict counts distinct ``entity`` values as
            violated (or open).
    """

    checked: int
    violations: pd.DataFrame

    @staticmethod
    def empty_violations() -> pd.DataFrame:
        """A violations frame with no rows."""
        return pd.DataFrame({c: pd.Series(dtype=object) for c in
                             ("entity_kind", "entity", "time", "step", "explanation", "workflow")})


class Property(ABC):
    """A named, documented check of a trace.

    Args:
        pid: Seed property id (``P1``) or a dotted name for engine checks.
        name: Registry name (``lifecycle``).
        seed_ref: Where in the seed it comes from (``P1, overview §3; seed l.77–163``).
        doc: Documentation; its first paragraph, on one line, is the
            :attr:`description`, and it becomes the object's ``__doc__``.
        unit: What the ``checked`` count counts (plural noun).
    """

    kind: ClassVar[str] = ""

    def __init__(self, pid: str, name: str, seed_ref: str, doc: str, unit: str) -> None:
        self.pid = pid
        self.name = name
        self.seed_ref = seed_ref
        self.__doc__ = doc
        self.description = " ".join(doc.strip().split("\n\n")[0].split()) if doc.strip() else name
        self.unit = unit

    @abstractmethod
    def check(self, trace: Any) -> PropertyVerdict:
        """Check the property on a :class:`~wfsim.trace.trace.Trace` (or a
        :class:`TraceView` of one)."""

    def _verdict(self, verdict: str, checked: int, **kw: Any) -> PropertyVerdict:
        return PropertyVerdict(self.name, self.pid, self.seed_ref, self.kind, verdict, self.unit, checked, **kw)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pid} {self.name}>"


class TemporalProperty(Property):
    """An LTLf formula checked on every entity's projection of the trace.

    Args:
        formula: The formula (text or :class:`~wfsim.verify.ltl.Formula`); its atoms
            are the projection's event kinds.
        projection: ``view -> Projection`` (see :func:`workflow_projection`).
        liveness: If true, entities still open at the horizon of a truncated run are
            evaluated as truncated prefixes (three-valued); otherwise every entity's
            trace is judged as recorded (a safety property with no bad prefix seen is
            true of the observation).
        pid, name, seed_ref, doc, unit: As for :class:`Property`.
    """

    kind = "ltl"

    def __init__(self, pid: str, name: str, seed_ref: str, doc: str, formula: Formula | str,
                 projection: Callable[[TraceView], Projection], unit: str, liveness: bool = False) -> None:
        super().__init__(pid, name, seed_ref, doc, unit)
        self.formula = parse(formula) if isinstance(formula, str) else formula
        self.projection = projection
        self.liveness = liveness

    def check(self, trace: Any) -> PropertyVerdict:
        start = _time.perf_counter()
        view = TraceView.of(trace)
        proj = self.projection(view)
        truncated = proj.open & view.truncated if self.liveness else np.zeros(len(proj), dtype=bool)
        which, verdicts = _evaluate_groups(self.formula, proj, truncated)
        codes = np.array([v.value.value for v in verdicts], dtype=object)
        values = codes[which] if len(which) else np.zeros(0, dtype=object)
        false = np.flatnonzero(values == Truth.FALSE.value)
        open_ = np.flatnonzero(values == INCONCLUSIVE.value)
        cex = self._counterexamples(view, proj, false if len(false) else open_, which, verdicts, truncated)
        return self._verdict(
            combine(values, len(proj)), len(proj), violated=len(false), inconclusive=len(open_),
            counterexamples=cex, formula=str(self.formula), seconds=_time.perf_counter() - start,
        )

    def _counterexamples(self, view: TraceView, proj: Projection, ents: np.ndarray, which: np.ndarray,
                         verdicts: list[Verdict], truncated: np.ndarray) -> list[TraceCounterexample]:
        if not len(ents):
            return []
        # Order by the time of the step each verdict points at (end of trace if none).
        steps = np.array([-1 if verdicts[k].step is None else verdicts[k].step for k in which[ents]])
        last = np.maximum(proj.offsets[ents + 1] - 1, proj.offsets[ents])
        at = np.where(steps >= 0, proj.offsets[ents] + steps, last)
        times = np.where(np.diff(proj.offsets)[ents] > 0, proj.times[np.minimum(at, len(proj.times) - 1)]
                         if len(proj.times) else np.inf, np.inf)
        order = np.lexsort((ents, times))[:MAX_COUNTEREXAMPLES]
        chosen = ents[order]
        slices = view.workflow_slice(proj.workflows[chosen], [float(t) for t in times[order]])
        out = []
        for e in chosen.tolist():
            verdict = verdicts[which[e]]
            n = int(proj.offsets[e + 1] - proj.offsets[e])
            atoms = proj.atom_arrays(e)
            conjunct, trigger, step = locate(self.formula, atoms, n, bool(truncated[e]))
            t = float(proj.times[proj.offsets[e] + step]) if step is not None and step < n else (
                float(proj.times[proj.offsets[e + 1] - 1]) if n else None)
            seq = proj.labels(e)
            if verdict.value is Truth.FALSE:
                where = f"step {step} ({seq[step]})" if step is not None and step < n else "the end of its trace"
                what = f"{conjunct} fails at {where}"
            else:
                what = f"{conjunct} still open at the horizon {view.horizon:.6g}"
            shown = seq if len(seq) <= 8 else seq[:4] + ["…"] + seq[-3:]
            explanation = f"{what}; trace: {' → '.join(shown) or '(empty)'}"
            if proj.entity_kind == "task":
                task = str(proj.ids[e]).split("/", 1)[1]
                events = [r for r in slices.get(int(proj.workflows[e]), [])
                          if r.get("table") == "workflow_events" or r.get("task") == task]
            else:
                events = slices.get(int(proj.workflows[e]), [])
            out.append(TraceCounterexample(
                proj.entity_kind, str(proj.ids[e]), t, step, explanation, verdict.value.value,
                trigger, verdict, events,
            ))
        return out


class Invariant(Property):
    """A predicate over every state or transition, computed vectorised.

    Args:
        check_fn: ``view -> Findings`` listing every violating state/transition.
        pid, name, seed_ref, doc, unit: As for :class:`Property`.
        applies: Optional ``view -> bool``; when false the verdict is
            ``not_applicable``.
    """

    kind = "invariant"

    def __init__(self, pid: str, name: str, seed_ref: str, doc: str, check_fn: Callable[[TraceView], Findings],
                 unit: str, applies: Callable[[TraceView], bool] | None = None) -> None:
        super().__init__(pid, name, seed_ref, doc, unit)
        self.check_fn = check_fn
        self.applies = applies

    def check(self, trace: Any) -> PropertyVerdict:
        start = _time.perf_counter()
        view = TraceView.of(trace)
        if self.applies is not None and not self.applies(view):
            return self._verdict(NOT_APPLICABLE, 0, seconds=_time.perf_counter() - start)
        findings = self.check_fn(view)
        return self._from_findings(view, findings, start)

    def _from_findings(self, view: TraceView, findings: Findings, start: float) -> PropertyVerdict:
        v = findings.violations
        undecided = (v["verdict"] == INCONCLUSIVE.value).to_numpy(dtype=bool) if "verdict" in v else (
            np.zeros(len(v), dtype=bool))
        violated = int(v.loc[~undecided, "entity"].nunique()) if len(v) else 0
        open_ = int(v.loc[undecided, "entity"].nunique()) if len(v) else 0
        values = [Truth.FALSE.value] * bool(violated) + [INCONCLUSIVE.value] * bool(open_)
        # Like a temporal property's: the violations, or if there are none the open items.
        shown = v[~undecided] if violated else v[undecided]
        return self._verdict(combine(values, max(findings.checked, violated + open_)), findings.checked,
                             violated=violated, inconclusive=open_, counterexamples=_counterexamples_from(view, shown),
                             seconds=_time.perf_counter() - start)


class Postcondition(Invariant):
    """After every event of kind ``after``, a condition holds.

    The triggers (rows of :attr:`TraceView.task_events` with ``event == after``) are
    the checked items; ``condition`` receives them and returns the
    :class:`Findings` (``checked`` = number of triggers considered).

    Args:
        after: The triggering task event kind (``end``).
        condition: ``(view, triggers) -> Findings``.
        pid, name, seed_ref, doc, unit: As for :class:`Property`.
    """

    kind = "postcondition"

    def __init__(self, pid: str, name: str, seed_ref: str, doc: str, after: str,
                 condition: Callable[[TraceView, pd.DataFrame], Findings], unit: str) -> None:
        super().__init__(pid, name, seed_ref, doc, self._run, unit)
        self.after = after
        self.condition = condition

    def _run(self, view: TraceView) -> Findings:
        te = view.task_events
        return self.condition(view, te[te["event"] == self.after])


def _counterexamples_from(view: TraceView, v: pd.DataFrame) -> list[TraceCounterexample]:
    """The earliest violations of an invariant, with their trace slices."""
    if not len(v):
        return []
    v = v.assign(_t=v["time"].astype(float).fillna(-math.inf)).sort_values("_t", kind="stable")
    v = v.drop_duplicates("entity").head(MAX_COUNTEREXAMPLES)
    has_wf = v["workflow"].notna() if "workflow" in v else pd.Series(False, index=v.index)
    wfs = [int(w) for w in v.loc[has_wf, "workflow"]] if has_wf.any() else []
    slices = view.workflow_slice(wfs, v.loc[has_wf, "_t"].tolist()) if wfs else {}
    out = []
    for row in v.to_dict("records"):
        events = row.get("events")
        node = row.get("node")
        if not isinstance(events, list) and row.get("entity_kind") == "node" and isinstance(node, str):
            events = view.node_slice(node, float(row["time"]))
        if not isinstance(events, list):
            w = row.get("workflow")
            events = slices.get(int(w), []) if w is not None and not _isnan(w) else []
            task = row.get("task")
            if isinstance(task, str) and row.get("entity_kind") == "task":
                related = set([task] + list(row.get("related") or []))
                events = [r for r in events if r.get("table") == "workflow_events" or r.get("task") in related]
        time_ = row.get("time")
        step = row.get("step")
        verdict = row.get("verdict")
        out.append(TraceCounterexample(
            str(row["entity_kind"]), str(row["entity"]),
            None if time_ is None or _isnan(time_) else float(time_),
            None if step is None or _isnan(step) else int(step),
            str(row["explanation"]), verdict if isinstance(verdict, str) else Truth.FALSE.value, events=events,
        ))
    return out


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: missing values become ``None``, numpy scalars Python ones."""
    out: list[dict[str, Any]] = []
    for rec in frame.to_dict("records"):
        out.append({str(k): _plain(v) for k, v in rec.items()})
    return out


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _isnan(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _json_number(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def _strings(series: pd.Series) -> np.ndarray:
    """A column as an object array of ``str`` (missing → ``None``)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        labels = np.append(series.cat.categories.astype(str).to_numpy(dtype=object), [None])
        return labels[np.where(codes < 0, len(labels) - 1, codes)]
    values = series.astype(object).to_numpy()
    mask = pd.isna(values)
    out = values.astype(str).astype(object)
    out[mask] = None
    return out
