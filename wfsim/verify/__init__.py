"""Verification: finite-trace LTL, the property catalog over recorded runs, history
consistency checkers, and workflow-model equivalence and composition.

* :mod:`wfsim.verify.ltl` — LTLf formulas, parser and three-valued evaluator;
* :mod:`wfsim.verify.catalog` — the seed's properties (P1–P6, P17, P18, P23) over a
  :class:`~wfsim.trace.trace.Trace`; :mod:`wfsim.verify.properties` their framework;
* :mod:`wfsim.verify.history` — linearizability, sequential and causal consistency;
* :mod:`wfsim.verify.models`, :mod:`wfsim.verify.composition` — P7, P8, P9.
"""

from wfsim.verify.catalog import CATALOG, check_catalog, check_formula
from wfsim.verify.ltl import Truth, Verdict, evaluate, parse
from wfsim.verify.properties import PropertyVerdict, TraceCounterexample

__all__ = [
    "CATALOG", "PropertyVerdict", "TraceCounterexample", "Truth", "Verdict", "check_catalog", "check_formula",
    "evaluate", "parse",
]
