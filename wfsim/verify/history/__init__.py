"""Consistency checkers for operation histories (Porcupine/Knossos/Elle style).

Typical use::

    from wfsim.verify.history import check_history, load_history

    verdict = check_history(load_history("etcd_000.log"), model="register",
                            consistency="linearizable", budget=30)
    print(verdict.verdict, verdict.to_json()["counterexample"])

Modules: :mod:`.model` (operations, histories, sequential models),
:mod:`.values` (JSON equality of keys and values),
:mod:`.formats` (readers for wfsim JSONL, Jepsen logs and EDN; JSONL and EDN writers),
:mod:`.trace` (a run's replicated-state operations as a history, :func:`from_trace`),
:mod:`.linearizability`, :mod:`.sequential`, :mod:`.causal` (the checkers) and
:mod:`.checker` (the single entry point :func:`check_history`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfsim._lazy import lazy_exports

from .checker import check_history
from .formats import (
    FORMATS,
    HistoryFormatError,
    detect_format,
    dump_edn,
    dump_jsonl,
    load_history,
    parse_history,
)
from .model import History, KVModel, Model, Operation, OperationError, RegisterModel, get_model
from .result import CONSISTENCY_LEVELS, Budget, Counterexample, HistoryVerdict, PartitionResult

if TYPE_CHECKING:
    from .causal import check_causal, find_bad_pattern
    from .linearizability import check_linearizability
    from .sequential import check_sequential
    from .trace import from_trace

# The checkers are imported on first use: the causal one pulls in networkx, which
# would double the start-up time of `wfsim check-history` for every level.
_LAZY = {
    "check_causal": ".causal",
    "find_bad_pattern": ".causal",
    "check_linearizability": ".linearizability",
    "check_sequential": ".sequential",
    "from_trace": ".trace",  # pandas: only for a run's trace
}


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)


__all__ = [
    "CONSISTENCY_LEVELS",
    "FORMATS",
    "Budget",
    "Counterexample",
    "History",
    "HistoryFormatError",
    "HistoryVerdict",
    "KVModel",
    "Model",
    "Operation",
    "OperationError",
    "PartitionResult",
    "RegisterModel",
    "check_causal",
    "check_history",
    "check_linearizability",
    "check_sequential",
    "detect_format",
    "dump_edn",
    "dump_jsonl",
    "find_bad_pattern",
    "from_trace",
    "get_model",
    "load_history",
    "parse_history",
]
