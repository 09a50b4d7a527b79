"""Single entry point: check a history at a chosen consistency level."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .causal import CausalVariant, check_causal
from .formats import load_history
from .linearizability import check_linearizability
from .model import History, Model, Operation
from .result import CONSISTENCY_LEVELS, Budget, HistoryVerdict
from .sequential import check_sequential


def check_history(
    history: History | Sequence[Operation] | str | Path,
    model: str | Model = "register",
    consistency: str = "linearizable",
    budget: Budget | float | None = None,
    *,
    causal: CausalVariant = "cm",
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
            When it runs out the verdict is ``"unknown"``.
        causal: Causal variant for ``consistency="causal"``: ``"cm"`` (causal
            memory, default) or ``"ccv"`` (causal convergence).
        format: File format when ``history`` is a path (default: detect).

    Returns:
        A :class:`HistoryVerdict` (``verdict`` is ``"ok"``, ``"violation"`` or
        ``"unknown"``).

    Raises:
        ValueError: Unknown model/consistency, or operations the model cannot
            interpret; :class:`~wfsim.verify.history.formats.HistoryFormatError`
            (a ``ValueError``) for unreadable files.
    """
    if isinstance(history, (str, Path)):
        history = load_history(history, format)
    if consistency in ("causal-cm", "causal-ccv"):
        consistency, causal = "causal", consistency.split("-")[1]  # type: ignore[assignment]
    if consistency == "linearizable":
        return check_linearizability(history, model, budget)
    if consistency == "sequential":
        return check_sequential(history, model, budget)
    if consistency == "causal":
        return check_causal(history, model, budget, causal)
    raise ValueError(
        f"unknown consistency {consistency!r}; expected one of {list(CONSISTENCY_LEVELS)} "
        "(or 'causal-cm', 'causal-ccv')"
    )
