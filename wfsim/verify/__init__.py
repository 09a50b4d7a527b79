"""Verification: finite-trace LTL, the property catalog over recorded runs, history
consistency checkers, and workflow-model equivalence and composition.

* :mod:`wfsim.verify.ltl` — LTLf formulas, parser and three-valued evaluator;
* :mod:`wfsim.verify.catalog` — the property catalog over a
  :class:`~wfsim.trace.trace.Trace`; :mod:`wfsim.verify.properties` their framework;
* :mod:`wfsim.verify.history` — linearizability, sequential and causal consistency;
* :mod:`wfsim.verify.models`, :mod:`wfsim.verify.composition` — P7, P8, P9.

The catalog's properties are listed by ``CATALOG`` (and the README's table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfsim._lazy import lazy_exports

if TYPE_CHECKING:
    from wfsim.verify.catalog import CATALOG, check_catalog, check_formula
    from wfsim.verify.ltl import Truth, Verdict, evaluate, parse
    from wfsim.verify.properties import PropertyVerdict, TraceCounterexample

# Imported on first use: ``wfsim.verify.history`` (``wfsim check-history``) needs
# none of the catalog's trace machinery (pandas) and should not pay for it.
_LAZY: dict[str, str] = {
    **dict.fromkeys(["CATALOG", "check_catalog", "check_formula"], "wfsim.verify.catalog"),
    **dict.fromkeys(["Truth", "Verdict", "evaluate", "parse"], "wfsim.verify.ltl"),
    **dict.fromkeys(["PropertyVerdict", "TraceCounterexample"], "wfsim.verify.properties"),
}


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)


__all__ = [
    "CATALOG", "PropertyVerdict", "TraceCounterexample", "Truth", "Verdict", "check_catalog", "check_formula",
    "evaluate", "parse",
]
