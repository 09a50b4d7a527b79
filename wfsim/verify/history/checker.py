"""Single entry point: check a history at a chosen consistency level."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

from .formats import HistoryFormatError, load_history
from .model import History, Model, Operation, OperationError, get_model
from .result import CONSISTENCY_LEVELS, Budget, BudgetExceeded, HistoryVerdict

CAUSAL_VARIANTS: tuple[str, ...] = ("cm", "ccv")


def check_history(
    history: History | Sequence[Operation] | str | Path,
    model: str | Model = "register",
    consistency: str = "linearizable",
    budget: Budget | float | None = None,
    *,
    causal: str = "cm",
    format: str | None = None,
) -> HistoryVerdict:
    """Check a history against a sequential specification at a consistency level.

    Args:
        history: A :class:`History`, a sequence of operations, or a path to a history
            file (parsed with :func:`~wfsim.verify.history.formats.load_history`).
        model: ``"register"`` (read/write/cas, initially ``None``), ``"kv"``
            (get/put/append, initially ``""``) or a :class:`Model`.
        consistency: ``"linearizable"``, ``"sequential"`` or ``"causal"``
            (``"causal-cm"`` / ``"causal-ccv"`` select the causal variant too).
        budget: A :class:`Budget`, a number of seconds, or ``None`` for the default.
            Its time covers reading the file too. When it runs out the verdict is
            ``"unknown"``.
        causal: Causal variant for ``consistency="causal"``: ``"cm"`` (causal
            memory, default) or ``"ccv"`` (causal convergence).
        format: File format when ``history`` is a path (default: detect).

    Returns:
        A :class:`HistoryVerdict` (``verdict`` is ``"ok"``, ``"violation"`` or
        ``"unknown"``).

    Raises:
        ValueError: Unknown model/consistency.
        HistoryFormatError: (a ``ValueError``) for unreadable files, a history with
            no operation, two operations with the same ``id`` (the checkers key
            their tables by it), operations the model cannot interpret, or a process
            invoking before its previous operation returned (strictly after is
            required: equal times would make the two concurrent), naming the file
            line when the history was read from one.
        OSError: If the file cannot be read.
    """
    start = time.perf_counter()
    level, variant = _level(consistency, causal)
    model = get_model(model)
    budget = Budget.coerce(budget)
    if isinstance(history, (str, Path)):
        try:
            history = load_history(history, format, deadline=budget.deadline(start))
        except BudgetExceeded as exc:
            return HistoryVerdict("unknown", level, model.name, elapsed=time.perf_counter() - start,
                                  reason=str(exc), details={"variant": variant} if level == "causal" else {})
        if budget.time_s is not None:  # what parsing used is no longer available
            budget = dataclasses.replace(budget, time_s=max(budget.time_s - (time.perf_counter() - start), 1e-9))
    _validate(history, model)
    if level == "linearizable":
        from .linearizability import check_linearizability

        result = check_linearizability(history, model, budget)
    elif level == "sequential":
        from .sequential import check_sequential

        result = check_sequential(history, model, budget)
    else:
        from .causal import check_causal  # imports networkx: only when needed

        result = check_causal(history, model, budget, variant)  # type: ignore[arg-type]
    origin = _time_origin(history)
    if origin is not None:  # the times of the counterexample are counted from it
        # A decimal origin as its literal: JSON output would round it to a double.
        result.details["time_origin"] = origin if isinstance(origin, (int, float)) else str(origin)
    return result


def _time_origin(history: History | Sequence[Operation]) -> object:
    """The time the file's times were counted from, if the reader rebased them."""
    return history.metadata.get("time_origin") if isinstance(history, History) else None


def _level(consistency: str, causal: str) -> tuple[str, str]:
    if consistency in ("causal-cm", "causal-ccv"):
        return "causal", consistency.split("-")[1]
    if consistency not in CONSISTENCY_LEVELS:
        raise ValueError(
            f"unknown consistency {consistency!r}; expected one of {list(CONSISTENCY_LEVELS)} "
            "(or 'causal-cm', 'causal-ccv')"
        )
    if causal not in CAUSAL_VARIANTS:
        raise ValueError(f"unknown causal variant {causal!r}; expected one of {list(CAUSAL_VARIANTS)}")
    return consistency, causal


def _validate(history: History | Sequence[Operation], model: Model) -> None:
    """Refuse an empty history, two operations with the same id, operations
    ``model`` cannot interpret, and processes whose operations are not one after
    the other.

    Done here, before any search, so that the error names the line of the file.
    """
    source = history.metadata.get("source", "<history>") if isinstance(history, History) else "<history>"
    if len(history) == 0:
        # Nothing checked is not evidence of consistency: never answer "ok".
        raise HistoryFormatError(
            source, None, "no operation to check (empty, or only nemesis or other loggers' events)"
        )
    seen: dict[int, Operation] = {}
    for op in history:
        # The checkers key their tables by id: two operations sharing one would be
        # confused with each other, and the verdict could be wrong either way.
        if op.id in seen:
            first = seen[op.id]
            lines = "" if op.line is None or first.line is None else f" (lines {first.line} and {op.line})"
            raise HistoryFormatError(
                source, op.line, f"two operations have id {op.id!r}{lines}; every operation needs its own id", "id"
            )
        seen[op.id] = op
        try:
            model.validate(op)
        except OperationError as exc:
            line = op.ret_line if exc.field == "output" and op.ret_line is not None else op.line
            reason = exc.reason if line is not None else f"{exc.reason} (operation {op.id})"
            raise HistoryFormatError(source, line, reason, exc.field) from None
    _check_program_order(history, source, _time_origin(history))


def _check_program_order(ops: Iterable[Operation], source: str, origin: object = None) -> None:
    """Each process invokes strictly after its previous operation returned.

    The checkers order operations by ``a.ret < b.call`` alone, so a process whose
    operation starts when (or before) its previous one returned would have the two
    concurrent: its program order would be lost, and a process reading a value
    before writing it could be accepted (sequential consistency also trusts
    linearizability, which assumes that program order is real-time order). An
    indeterminate operation never returned and orders nothing after it.
    """
    last: dict[Hashable, Operation] = {}
    for op in sorted(ops, key=lambda o: (o.call, o.id)):
        prev = last.get(op.process)
        if prev is not None and prev.status != "info" and not prev.ret < op.call:
            where = f"line {prev.ret_line}" if prev.ret_line is not None else f"operation {prev.id}"
            raise HistoryFormatError(
                source, op.line,
                f"process {op.process!r} invokes at {op.call:g} but its previous operation returned at "
                f"{prev.ret:g} ({where}){_counted_from(origin)}; a process invokes strictly after its previous return "
                "(give distinct times, or omit every time to order events by line)", "time",
            )
        last[op.process] = op


def _counted_from(origin: object) -> str:
    return "" if origin is None else f" (times counted from the earliest, {origin})"
