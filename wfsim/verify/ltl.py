"""Linear temporal logic on finite traces (LTLf): formulas, parser, evaluator.

Formulas are small immutable dataclasses (:class:`Atom`, :class:`Not`,
:class:`And`, :class:`Or`, :class:`Implies`, :class:`Next`,
:class:`WeakNext`, :class:`Always`, :class:`Eventually`, :class:`Until`,
:class:`Release`, :class:`TrueF`, :class:`FalseF`), built either with Python
operators and helper functions::

    running, done = Atom("running"), Atom("done")
    prop = G(running >> F(done))          # >> is implication

or from text with :func:`parse` (see :mod:`wfsim.verify.ltl_parser` for the
grammar)::

    prop = parse("G(running -> F done)")
    assert parse(str(prop)) == prop

Beware that Python's ``>>`` binds tighter than ``&`` and ``|``: write
``(a & b) >> c``.

:func:`evaluate` (or :func:`evaluate_all`, :func:`evaluate_arrays` for columns of
booleans) checks formulas on a trace and returns :class:`Verdict` s. The semantics
(De Giacomo & Vardi, IJCAI 2013, with a value on the empty trace) are described on
:class:`Formula`; the three verdicts on a run truncated at a horizon on :class:`Truth`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from wfsim.verify.ltl_parser import ATOM_PATTERN, KEYWORDS, LTLParseError, parse

__all__ = [
    "FALSE",
    "INCONCLUSIVE",
    "TRUE",
    "Always",
    "And",
    "Atom",
    "Eventually",
    "F",
    "FalseF",
    "Formula",
    "G",
    "Implies",
    "LTLParseError",
    "Next",
    "Not",
    "Or",
    "R",
    "Release",
    "Truth",
    "TrueF",
    "U",
    "Until",
    "Verdict",
    "WX",
    "WeakNext",
    "X",
    "atom_arrays",
    "evaluate",
    "evaluate_all",
    "evaluate_arrays",
    "parse",
    "truth_values",
]

Predicate: TypeAlias = Callable[[Any], bool]
FormulaLike: TypeAlias = "Formula | str | bool"

# ---------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------

# Binding strength used by the printer; must mirror ltl_parser's grammar.
_PREC_IMPLIES, _PREC_OR, _PREC_AND, _PREC_UNTIL, _PREC_UNARY, _PREC_ATOM = range(1, 7)


class Formula:
    """Base class of LTLf formulas; immutable, hashable, comparable by structure.

    Supports ``a & b``, ``a | b``, ``~a`` and ``a >> b`` (implication); a
    ``str`` operand is parsed, a ``bool`` becomes ``true``/``false``.
    ``str(formula)`` is the text syntax, and ``parse(str(f)) == f``.

    Semantics (De Giacomo & Vardi, IJCAI 2013). A trace is a sequence
    ``s_0 .. s_{n-1}`` of steps; ``φ`` holds on it iff it holds at position 0:

    * ``a`` at i: atom ``a`` is true in step ``s_i``.
    * ``X φ`` (strong next) at i: ``i < n-1`` and ``φ`` at ``i+1`` — false at the
      last step.  ``WX φ`` (weak next): ``i = n-1`` or ``φ`` at ``i+1`` — true at
      the last step.  ``WX false`` thus marks the last step (flloat's ``last``).
    * ``φ U ψ`` at i: some ``j`` in ``[i, n)`` has ``ψ`` at j and ``φ`` on
      ``[i, j)``.  ``φ R ψ`` ≡ ``!(!φ U !ψ)``; ``F φ`` ≡ ``true U φ``;
      ``G φ`` ≡ ``false R φ``: every remaining step satisfies ``φ``.

    **The empty trace** (n = 0), which De Giacomo & Vardi exclude, is given the
    value a formula has at the virtual position just past the end of a trace:
    atoms are false, ``true`` is true, negation is classical, ``X φ``, ``F φ``
    and ``φ U ψ`` are false, ``WX φ``, ``G φ`` and ``φ R ψ`` are true.  So
    ``G bad`` holds vacuously, ``F done`` fails and ``!a`` holds.  (flloat differs
    here: it makes every propositional formula, ``true`` and ``!a`` included,
    false on the empty trace, so its negation is not classical there.)
    """

    __slots__ = ()

    def children(self) -> tuple[Formula, ...]:
        """Direct subformulas, left to right."""
        return ()

    def atoms(self) -> frozenset[str]:
        """Names of all atoms occurring in the formula."""
        names: set[str] = set()
        for sub in _postorder(self):
            if isinstance(sub, Atom):
                names.add(sub.name)
        return frozenset(names)

    def size(self) -> int:
        """Number of nodes in the formula tree."""
        return 1 + sum(child.size() for child in self.children())

    def _precedence(self) -> int:
        raise NotImplementedError

    def __and__(self, other: FormulaLike) -> Formula:
        return And(self, _coerce(other))

    def __rand__(self, other: FormulaLike) -> Formula:
        return And(_coerce(other), self)

    def __or__(self, other: FormulaLike) -> Formula:
        return Or(self, _coerce(other))

    def __ror__(self, other: FormulaLike) -> Formula:
        return Or(_coerce(other), self)

    def __rshift__(self, other: FormulaLike) -> Formula:
        return Implies(self, _coerce(other))

    def __rrshift__(self, other: FormulaLike) -> Formula:
        return Implies(_coerce(other), self)

    def __invert__(self) -> Formula:
        return Not(self)

    def __bool__(self) -> bool:
        # `a and b` / `not a` would silently drop a formula; force `&`, `|`, `~`.
        raise TypeError("a Formula has no truth value; use &, |, ~, >> or evaluate()")


@dataclass(frozen=True, slots=True)
class TrueF(Formula):
    """The constant ``true``."""

    def _precedence(self) -> int:
        return _PREC_ATOM

    def __str__(self) -> str:
        return "true"


@dataclass(frozen=True, slots=True)
class FalseF(Formula):
    """The constant ``false``."""

    def _precedence(self) -> int:
        return _PREC_ATOM

    def __str__(self) -> str:
        return "false"


@dataclass(frozen=True, slots=True)
class Atom(Formula):
    """An atomic proposition, true at the steps that contain (or satisfy) it.

    Args:
        name: Letters, digits, ``_``, ``.``, ``:``, starting with a letter or
            ``_``, and not a reserved word (``X WX G F U R true false``).
    """

    name: str

    def __post_init__(self) -> None:
        # Validated so that every formula prints to parseable text.
        if ATOM_PATTERN.fullmatch(self.name) is None or self.name in KEYWORDS:
            raise ValueError(f"invalid atom name {self.name!r}")

    def _precedence(self) -> int:
        return _PREC_ATOM

    def __str__(self) -> str:
        return self.name


class _Unary(Formula):
    __slots__ = ()
    symbol = ""
    operand: Formula

    def children(self) -> tuple[Formula, ...]:
        return (self.operand,)

    def _precedence(self) -> int:
        return _PREC_UNARY

    def __str__(self) -> str:
        inner = str(self.operand)
        if self.operand._precedence() < _PREC_UNARY:
            return f"{self.symbol}({inner})"
        # "!a" reads naturally; keyword operators need a space before an atom.
        separator = "" if self.symbol == "!" else " "
        return f"{self.symbol}{separator}{inner}"


class _Binary(Formula):
    __slots__ = ()
    symbol = ""
    precedence = 0
    right_assoc = False
    left: Formula
    right: Formula

    def children(self) -> tuple[Formula, ...]:
        return (self.left, self.right)

    def _precedence(self) -> int:
        return self.precedence

    def __str__(self) -> str:
        p = self.precedence
        # Parenthesise exactly what the parser would otherwise group differently.
        left_tight = p if self.right_assoc else p - 1
        right_tight = p - 1 if self.right_assoc else p
        left = _wrap(self.left, self.left._precedence() <= left_tight)
        right = _wrap(self.right, self.right._precedence() <= right_tight)
        return f"{left} {self.symbol} {right}"


def _wrap(formula: Formula, parens: bool) -> str:
    return f"({formula})" if parens else str(formula)


@dataclass(frozen=True, slots=True)
class Not(_Unary):
    """Negation ``!φ``."""

    operand: Formula
    symbol = "!"


@dataclass(frozen=True, slots=True)
class Next(_Unary):
    """Strong next ``X φ``: there is a next step and it satisfies ``φ``."""

    operand: Formula
    symbol = "X"


@dataclass(frozen=True, slots=True)
class WeakNext(_Unary):
    """Weak next ``WX φ``: the current step is the last, or the next satisfies ``φ``."""

    operand: Formula
    symbol = "WX"


@dataclass(frozen=True, slots=True)
class Always(_Unary):
    """``G φ``: every step from here to the end of the trace satisfies ``φ``."""

    operand: Formula
    symbol = "G"


@dataclass(frozen=True, slots=True)
class Eventually(_Unary):
    """``F φ``: some step from here to the end of the trace satisfies ``φ``."""

    operand: Formula
    symbol = "F"


@dataclass(frozen=True, slots=True)
class And(_Binary):
    """Conjunction ``φ & ψ``."""

    left: Formula
    right: Formula
    symbol = "&"
    precedence = _PREC_AND


@dataclass(frozen=True, slots=True)
class Or(_Binary):
    """Disjunction ``φ | ψ``."""

    left: Formula
    right: Formula
    symbol = "|"
    precedence = _PREC_OR


@dataclass(frozen=True, slots=True)
class Implies(_Binary):
    """Implication ``φ -> ψ`` (right-associative)."""

    left: Formula
    right: Formula
    symbol = "->"
    precedence = _PREC_IMPLIES
    right_assoc = True


@dataclass(frozen=True, slots=True)
class Until(_Binary):
    """Strong until ``φ U ψ``: ``ψ`` holds at some step, ``φ`` at every step before it."""

    left: Formula
    right: Formula
    symbol = "U"
    precedence = _PREC_UNTIL
    right_assoc = True


@dataclass(frozen=True, slots=True)
class Release(_Binary):
    """Release ``φ R ψ`` ≡ ``!(!φ U !ψ)``: ``ψ`` holds up to and including the
    first ``φ`` step, or to the end of the trace if ``φ`` never holds."""

    left: Formula
    right: Formula
    symbol = "R"
    precedence = _PREC_UNTIL
    right_assoc = True


def _coerce(value: FormulaLike) -> Formula:
    if isinstance(value, Formula):
        return value
    if isinstance(value, bool):
        return TrueF() if value else FalseF()
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"cannot use {type(value).__name__} as an LTLf formula")


def G(phi: FormulaLike) -> Formula:
    """``G φ`` (always). Strings are parsed, e.g. ``G("a -> F b")``."""
    return Always(_coerce(phi))


def F(phi: FormulaLike) -> Formula:
    """``F φ`` (eventually)."""
    return Eventually(_coerce(phi))


def X(phi: FormulaLike) -> Formula:
    """``X φ`` (strong next: false at the last step)."""
    return Next(_coerce(phi))


def WX(phi: FormulaLike) -> Formula:
    """``WX φ`` (weak next: true at the last step)."""
    return WeakNext(_coerce(phi))


def U(phi: FormulaLike, psi: FormulaLike) -> Formula:
    """``φ U ψ`` (strong until)."""
    return Until(_coerce(phi), _coerce(psi))


def R(phi: FormulaLike, psi: FormulaLike) -> Formula:
    """``φ R ψ`` (release)."""
    return Release(_coerce(phi), _coerce(psi))


def _postorder(formula: Formula) -> list[Formula]:
    """Distinct subformulas, children before parents (shared ones once)."""
    seen: set[Formula] = set()
    order: list[Formula] = []

    def visit(f: Formula) -> None:
        if f in seen:
            return
        for child in f.children():
            visit(child)
        seen.add(f)
        order.append(f)

    visit(formula)
    return order


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------


class Truth(enum.StrEnum):
    """Three-valued verdict; the value is a lowercase string for JSON.

    A run that finished gets the plain two-valued LTLf verdict, ``TRUE`` or
    ``FALSE``. When a run stopped at a horizon (``truncated=True``) the trace is
    only a prefix ``u`` of the real behaviour, and the verdict is the LTL3-style
    one over every finite continuation ``v`` (including the empty one, i.e. the
    run really ended at the horizon):

    * ``TRUE`` — every ``u·v`` satisfies the formula (``u`` is a good prefix);
    * ``FALSE`` — no ``u·v`` does (``u`` is a bad prefix), e.g. a safety
      violation already seen;
    * ``INCONCLUSIVE`` — otherwise as far as this evaluator can tell.

    The verdict is **sound** (a ``TRUE`` or ``FALSE`` on a truncated trace is
    never contradicted by any continuation) but **not complete**: pending
    obligations are bounded independently (see :class:`_Evaluation`), so e.g.
    ``F a & G !a`` on a prefix without ``a`` is ``INCONCLUSIVE`` although no
    continuation can satisfy it; an exact LTL3 monitor would need an automaton.
    :attr:`Verdict.finite_value` also reports the plain LTLf value of a
    truncated prefix taken as complete, which is RV-LTL's "presumably
    true/false".
    """

    TRUE = "true"
    FALSE = "false"
    INCONCLUSIVE = "inconclusive"


TRUE = Truth.TRUE
FALSE = Truth.FALSE
INCONCLUSIVE = Truth.INCONCLUSIVE


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one formula on one trace; plain data.

    Attributes:
        value: ``TRUE``, ``FALSE`` or ``INCONCLUSIVE`` (the last only when
            ``truncated``; see :class:`Truth`).
        formula: The formula in text syntax.
        step: Index of the step that explains the verdict, or ``None`` when
            no single step does (see :func:`evaluate`): for ``FALSE`` the
            earliest step witnessing the violation, for ``INCONCLUSIVE`` the
            step at which the earliest still-open obligation started, for
            ``TRUE`` the step at which satisfaction was established.
        truncated: Whether the trace was evaluated as a truncated prefix.
        length: Number of steps in the trace.
        finite_value: Plain LTLf value of the trace taken as complete
            (equals ``value == TRUE`` when not truncated; for truncated runs
            it is RV-LTL's "presumably true/false").
    """

    value: Truth
    formula: str
    step: int | None
    truncated: bool
    length: int
    finite_value: bool

    @property
    def holds(self) -> bool:
        """True iff the verdict is ``TRUE``."""
        return self.value is Truth.TRUE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the verdict as its lowercase string)."""
        data = asdict(self)
        data["value"] = self.value.value
        return data


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------

BoolArray: TypeAlias = npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Bounds:
    """Per-step lower/upper truth values of one subformula.

    ``lo is hi`` when the values are exact (always, on non-truncated traces).
    ``end_lo``/``end_hi`` bound the value just past the last step; ``X`` and
    ``WX`` use their own end bound as their value *at* the last step.
    """

    lo: BoolArray
    hi: BoolArray
    end_lo: bool
    end_hi: bool


def _end_bounds(
    formula: Formula, truncated: bool, memo: dict[Formula, tuple[bool, bool]]
) -> tuple[bool, bool]:
    """Bounds of ``formula`` just past the last step of the trace.

    Non-truncated: the exact value on the empty suffix.  Truncated: an
    interval containing the value at the first step of *every* continuation,
    the empty one included; each bound only uses the bound of the operand
    that alone could decide it (see :class:`_Evaluation`).
    """
    if formula in memo:
        return memo[formula]
    kids = [_end_bounds(c, truncated, memo) for c in formula.children()]
    result: tuple[bool, bool]
    match formula:
        case TrueF():
            result = (True, True)
        case FalseF():
            result = (False, False)
        case Atom():
            result = (False, True) if truncated else (False, False)
        case Not():
            ((lo, hi),) = kids
            result = (not hi, not lo)
        case And():
            (alo, ahi), (blo, bhi) = kids
            result = (alo and blo, ahi and bhi)
        case Or():
            (alo, ahi), (blo, bhi) = kids
            result = (alo or blo, ahi or bhi)
        case Implies():
            (alo, ahi), (blo, bhi) = kids
            result = ((not ahi) or blo, (not alo) or bhi)
        case Next():
            # Exact: no next step.  Truncated: the run may end (false) or go on.
            result = (False, kids[0][1]) if truncated else (False, False)
        case WeakNext():
            result = (kids[0][0], True) if truncated else (True, True)
        case Always():
            result = (kids[0][0], True) if truncated else (True, True)
        case Eventually():
            result = (False, kids[0][1]) if truncated else (False, False)
        case Until():
            result = (False, kids[1][1]) if truncated else (False, False)
        case Release():
            result = (kids[1][0], True) if truncated else (True, True)
        case _:
            raise TypeError(f"unknown formula node {formula!r}")
    memo[formula] = result
    return result


def _suffix_all(values: BoolArray, end: bool) -> BoolArray:
    """``out[i] = all(values[i:]) and end`` (backward cumulative AND)."""
    if not end:
        return np.zeros_like(values)
    return np.logical_and.accumulate(values[::-1])[::-1]


def _suffix_any(values: BoolArray, end: bool) -> BoolArray:
    """``out[i] = any(values[i:]) or end`` (backward cumulative OR)."""
    if end:
        return np.ones_like(values)
    return np.logical_or.accumulate(values[::-1])[::-1]


def _next_index(mask: BoolArray) -> npt.NDArray[np.signedinteger[Any]]:
    """``out[i]`` = the smallest ``j >= i`` with ``mask[j]``, or ``len(mask)``."""
    n = len(mask)
    # int32 halves the memory traffic of the scan, the bulk of its cost.
    dtype = np.int32 if n < 2**31 - 1 else np.int64
    idx = np.where(mask[::-1], np.arange(n - 1, -1, -1, dtype=dtype), dtype(n))
    np.minimum.accumulate(idx, out=idx)
    return idx[::-1]


def _until(a: BoolArray, b: BoolArray, end: bool) -> BoolArray:
    """Vectorised ``U[i] = b[i] or (a[i] and U[i+1])`` with ``U[n] = end``.

    ``U[i]`` holds iff the next ``b`` comes no later than the next ``!a``
    (a ``b`` step may itself violate ``a``), or neither comes and ``end``.
    """
    n = len(a)
    next_b = _next_index(b)
    next_not_a = _next_index(~a)
    return (next_b <= next_not_a) & ((next_b < n) | end)


def _shift(values: BoolArray, last: bool) -> BoolArray:
    """``out[i] = values[i+1]``, ``out[n-1] = last``."""
    out = np.empty_like(values)
    out[:-1] = values[1:]
    out[-1] = last
    return out


def _node_bounds(
    formula: Formula,
    kids: list[_Bounds],
    end: tuple[bool, bool],
    n: int,
    atoms: Mapping[str, BoolArray],
) -> _Bounds:
    """Bounds of one node from its children's (n >= 1)."""
    end_lo, end_hi = end

    def lift(op: Callable[..., BoolArray]) -> _Bounds:
        # For operators monotone in every operand and in their end value:
        # lower bounds come from lower bounds, upper from upper.
        lo = op(*[k.lo for k in kids], end_lo)
        exact = all(k.lo is k.hi for k in kids) and end_lo == end_hi
        hi = lo if exact else op(*[k.hi for k in kids], end_hi)
        return _Bounds(lo, hi, end_lo, end_hi)

    match formula:
        case TrueF():
            v = np.ones(n, dtype=bool)
            return _Bounds(v, v, end_lo, end_hi)
        case FalseF():
            v = np.zeros(n, dtype=bool)
            return _Bounds(v, v, end_lo, end_hi)
        case Atom(name=name):
            v = atoms[name]
            return _Bounds(v, v, end_lo, end_hi)
        case Not():
            (k,) = kids
            lo = ~k.hi
            hi = lo if k.lo is k.hi else ~k.lo
            return _Bounds(lo, hi, end_lo, end_hi)
        case And():
            return lift(lambda a, b, _e: a & b)
        case Or():
            return lift(lambda a, b, _e: a | b)
        case Implies():
            # Antitone in the antecedent: its upper bound gives the lower bound.
            a, b = kids
            lo = ~a.hi | b.lo
            hi = lo if (a.lo is a.hi and b.lo is b.hi) else ~a.lo | b.hi
            return _Bounds(lo, hi, end_lo, end_hi)
        case Next() | WeakNext():
            return lift(_shift)
        case Always():
            return lift(_suffix_all)
        case Eventually():
            return lift(_suffix_any)
        case Until():
            return lift(_until)
        case Release():
            return lift(lambda a, b, e: ~_until(~a, ~b, not e))
        case _:
            raise TypeError(f"unknown formula node {formula!r}")


class _Evaluation:
    """Bounds of every subformula of one formula over one trace.

    Each subformula gets a *lower* and an *upper* bound at every step.  Atoms
    inside the trace are known exactly.  The value of a temporal subformula
    just past the horizon is unknown on a truncated trace, so it is replaced
    by a sound interval over all continuations (:func:`_end_bounds`, e.g.
    ``F φ`` ∈ [false, true], ``X false`` ∈ [false, false], ``G φ`` ∈
    [true, true] if φ is ``true``) and propagated back through the same
    backward recurrences; negation swaps the bounds, every other operator is
    monotone.  The lower bound is the *pessimistic* evaluation (every pending
    obligation fails), the upper bound the *optimistic* one (every pending
    obligation is met).  Both true → ``TRUE``, both false → ``FALSE``, else
    ``INCONCLUSIVE``; by monotonicity that verdict is sound (:class:`Truth`).
    On a non-truncated trace both bounds are the exact value.
    """

    def __init__(
        self, formula: Formula, atoms: Mapping[str, BoolArray], n: int, truncated: bool
    ) -> None:
        self.n = n
        ends: dict[Formula, tuple[bool, bool]] = {}
        self.bounds: dict[Formula, _Bounds] = {}
        empty = np.zeros(0, dtype=bool)
        for sub in _postorder(formula):
            end = _end_bounds(sub, truncated, ends)
            if n == 0:
                self.bounds[sub] = _Bounds(empty, empty, *end)
            else:
                kids = [self.bounds[c] for c in sub.children()]
                self.bounds[sub] = _node_bounds(sub, kids, end, n, atoms)

    def at(self, f: Formula, i: int) -> tuple[bool, bool]:
        """(lower, upper) value of ``f`` at step ``i``; ``i == n`` is past the end."""
        b = self.bounds[f]
        if i >= self.n:
            return b.end_lo, b.end_hi
        return bool(b.lo[i]), bool(b.hi[i])

    def first(self, mask: BoolArray, start: int) -> int | None:
        """First index ``>= start`` where ``mask`` holds, if any."""
        hits = np.flatnonzero(mask[start:])
        return int(hits[0]) + start if len(hits) else None

    # The three explanation functions below recurse through Boolean
    # connectives and report, for a temporal node, the step at which its own
    # obligation is decided or opened; they do not descend into G's body
    # beyond locating the failing (or open) instance.

    def witness_false(self, f: Formula, i: int) -> int | None:
        """Earliest step explaining why ``f`` is (definitely) false at ``i``."""
        n = self.n
        here = i if i < n else None
        match f:
            case Atom() | TrueF() | FalseF():
                return here
            case Not(operand=g):
                return self.witness_true(g, i)
            case And(left=a, right=b):
                cands = [self.witness_false(c, i) for c in (a, b) if not self.at(c, i)[1]]
                return _min_known(cands)
            case Or(left=a, right=b):
                return _max_all([self.witness_false(a, i), self.witness_false(b, i)])
            case Implies(left=a, right=b):
                return _max_all([self.witness_true(a, i), self.witness_false(b, i)])
            case Next() | WeakNext():
                return i + 1 if i + 1 < n else None
            case Always(operand=g):
                return self.first(~self.bounds[g].hi, i) if i < n else None
            case Eventually():
                return None  # no single step: the whole remaining trace
            case Until(left=a):
                # The step where `a` broke before any `b` (None: `b` never came).
                return self.first(~self.bounds[a].hi, i) if i < n else None
            case Release(right=b):
                return self.first(~self.bounds[b].hi, i) if i < n else None
        raise TypeError(f"unknown formula node {f!r}")

    def witness_true(self, f: Formula, i: int) -> int | None:
        """Earliest step at which ``f`` became (definitely) true at ``i``."""
        n = self.n
        here = i if i < n else None
        match f:
            case Atom() | TrueF() | FalseF():
                return here
            case Not(operand=g):
                return self.witness_false(g, i)
            case And(left=a, right=b):
                return _max_all([self.witness_true(a, i), self.witness_true(b, i)])
            case Or(left=a, right=b):
                cands = [self.witness_true(c, i) for c in (a, b) if self.at(c, i)[0]]
                return _min_known(cands)
            case Implies(left=a, right=b):
                cands = []
                if not self.at(a, i)[1]:
                    cands.append(self.witness_false(a, i))
                if self.at(b, i)[0]:
                    cands.append(self.witness_true(b, i))
                return _min_known(cands)
            case Next() | WeakNext():
                return i + 1 if i + 1 < n else None
            case Always():
                return None  # established only by the whole remaining trace
            case Eventually(operand=g) | Until(right=g):
                return self.first(self.bounds[g].lo, i) if i < n else None
            case Release(left=a, right=b):
                if i >= n:
                    return None
                return self.first(self.bounds[a].lo & self.bounds[b].lo, i)
        raise TypeError(f"unknown formula node {f!r}")

    def open_step(self, f: Formula, i: int) -> int | None:
        """Step at which the earliest still-open obligation of ``f`` at ``i`` started.

        ``None`` means the open part lies wholly beyond the trace (e.g. a
        ``G`` property with nothing pending, which a continuation could
        still violate).
        """
        n = self.n
        if i >= n:
            return None

        def undetermined(g: Formula, j: int) -> bool:
            lo, hi = self.at(g, j)
            return hi and not lo

        match f:
            case Not(operand=g):
                return self.open_step(g, i)
            case And() | Or() | Implies():
                return _min_known(
                    [self.open_step(c, i) for c in f.children() if undetermined(c, i)]
                )
            case Next(operand=g) | WeakNext(operand=g):
                if i + 1 < n:
                    return self.open_step(g, i + 1)
                return i  # the next step itself is beyond the horizon
            case Always(operand=g):
                b = self.bounds[g]
                k = self.first(b.hi & ~b.lo, i)
                return None if k is None else self.open_step(g, k)
            case Eventually() | Until() | Release():
                return i
        return None  # atoms and constants are never open inside the trace


def _min_known(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _max_all(values: Sequence[int | None]) -> int | None:
    if any(v is None for v in values):
        return None
    return max(v for v in values if v is not None)


def _verdict(formula: Formula, atoms: Mapping[str, BoolArray], n: int, truncated: bool) -> Verdict:
    ev = _Evaluation(formula, atoms, n, truncated)
    lo, hi = ev.at(formula, 0)
    # The plain LTLf value needs its own exact pass only on truncated runs.
    finite_value = _Evaluation(formula, atoms, n, False).at(formula, 0)[0] if truncated else lo
    if lo:
        value, step = TRUE, ev.witness_true(formula, 0)
    elif not hi:
        value, step = FALSE, ev.witness_false(formula, 0)
    else:
        value, step = INCONCLUSIVE, ev.open_step(formula, 0)
    return Verdict(value, str(formula), step, truncated, n, finite_value)


def atom_arrays(
    trace: Sequence[Any],
    names: Iterable[str],
    predicates: Mapping[str, Predicate] | None = None,
) -> dict[str, BoolArray]:
    """Tabulate atoms over a trace as one boolean array per atom.

    Args:
        trace: The steps.  A step is a set (or other container) of the names
            of the atoms true in it, or a mapping ``name -> bool``, or any
            object when every atom used has a predicate.
        names: Atoms to tabulate.
        predicates: Optional ``name -> predicate(step) -> bool``; a bound
            atom is computed by its predicate instead of by membership.

    Returns:
        ``{name: bool array of len(trace)}``.

    Raises:
        TypeError: If an unbound atom is looked up in a step that is a
            string or not a container.
    """
    predicates = predicates or {}
    n = len(trace)
    columns: dict[str, BoolArray] = {}
    for name in names:
        predicate = predicates.get(name)
        if predicate is not None:
            values: Iterable[bool] = (bool(predicate(step)) for step in trace)
        else:
            values = (_membership(step, name) for step in trace)
        columns[name] = np.fromiter(values, dtype=bool, count=n)
    return columns


def _membership(step: Any, name: str) -> bool:
    # Fast path first: sets are the common case on long traces.
    if type(step) is set or type(step) is frozenset:
        return name in step
    if isinstance(step, Mapping):
        return bool(step.get(name, False))
    if isinstance(step, str):
        raise TypeError(f"step {step!r} is a string; use a set of atom names")
    try:
        return name in step
    except TypeError:
        raise TypeError(
            f"cannot look up atom {name!r} in a step of type {type(step).__name__}; "
            "bind it with predicates={...}"
        ) from None


def evaluate(
    formula: Formula | str,
    trace: Sequence[Any],
    *,
    predicates: Mapping[str, Predicate] | None = None,
    truncated: bool = False,
) -> Verdict:
    """Check an LTLf formula on a trace.

    Args:
        formula: A :class:`Formula` or its text.
        trace: Steps, each a set of true atom names, a mapping
            ``name -> bool``, or an arbitrary object for atoms bound in
            ``predicates``.  May be empty (see :class:`Formula` for its value).
        predicates: Optional ``name -> predicate(step) -> bool``.
        truncated: The run stopped at a horizon rather than finishing; the
            verdict then holds for every continuation, or is
            ``INCONCLUSIVE`` (see :class:`Truth`).

    Returns:
        A :class:`Verdict`.  Its ``step``: for ``FALSE``, ``G φ`` → the first
        step violating ``φ`` (for ``G(a -> F b)`` the ``a`` never followed by
        ``b``); ``φ U ψ`` → where ``φ`` broke before any ``ψ``; ``φ R ψ`` →
        the first ``ψ`` failure; ``X φ`` → the next step; conjunctions → the
        earliest failing conjunct; ``F φ`` or a ``U``/``X`` that failed only
        because the trace ended → ``None``.  For ``INCONCLUSIVE``: for a
        ``G`` the start of its earliest open instance (the pending
        ``running`` in ``G(running -> F done)``), for ``F``/``U``/``R`` the
        step they were required at; ``None`` if nothing is pending inside
        the trace.  For ``TRUE``: e.g. the step satisfying ``F φ``.

    Cost: one backward pass per subformula, each a handful of numpy operations
    on boolean arrays, so time and memory are O(trace length × formula size)
    (twice that, plus one exact pass for ``finite_value``, when truncated).
    """
    f = parse(formula) if isinstance(formula, str) else formula
    columns = atom_arrays(trace, sorted(f.atoms()), predicates)
    return _verdict(f, columns, len(trace), truncated)


def evaluate_all(
    formulas: Iterable[Formula | str],
    trace: Sequence[Any],
    *,
    predicates: Mapping[str, Predicate] | None = None,
    truncated: bool = False,
) -> list[Verdict]:
    """Check several formulas on one trace, tabulating each atom only once.

    Arguments are as for :func:`evaluate`.
    """
    fs = [parse(f) if isinstance(f, str) else f for f in formulas]
    names = sorted(set().union(*(f.atoms() for f in fs))) if fs else []
    columns = atom_arrays(trace, names, predicates)
    return [_verdict(f, columns, len(trace), truncated) for f in fs]


def evaluate_arrays(
    formula: Formula | str,
    atoms: Mapping[str, npt.ArrayLike],
    *,
    length: int | None = None,
    truncated: bool = False,
) -> Verdict:
    """Check a formula on a trace given column-wise, one bool array per atom.

    The fast path for long traces already held as arrays (e.g. columns of
    a dataframe of simulator events).

    Args:
        formula: A :class:`Formula` or its text.
        atoms: ``name -> array-like of bool``, all of the trace's length;
            every atom of the formula must be present.
        length: Trace length; required only when the formula has no atoms.
        truncated: As for :func:`evaluate`.

    Raises:
        KeyError: If an atom of the formula has no column.
        ValueError: If the columns' lengths disagree or the length is unknown.
    """
    f = parse(formula) if isinstance(formula, str) else formula
    columns, n = _columns(f, atoms, length)
    return _verdict(f, columns, n, truncated)


def truth_values(
    formula: Formula | str,
    atoms: Mapping[str, npt.ArrayLike],
    *,
    length: int | None = None,
) -> BoolArray:
    """Plain LTLf value of ``formula`` at every step (suffix semantics).

    ``out[i]`` is whether the suffix of the trace starting at step ``i``
    satisfies the formula; useful to plot where a property breaks.
    Arguments are as for :func:`evaluate_arrays`.
    """
    f = parse(formula) if isinstance(formula, str) else formula
    columns, n = _columns(f, atoms, length)
    return _Evaluation(f, columns, n, truncated=False).bounds[f].lo


def _columns(
    f: Formula, atoms: Mapping[str, npt.ArrayLike], length: int | None
) -> tuple[dict[str, BoolArray], int]:
    missing = sorted(f.atoms() - set(atoms))
    if missing:
        raise KeyError(f"no column for atom(s) {', '.join(missing)}")
    columns = {name: np.asarray(atoms[name], dtype=bool) for name in f.atoms()}
    lengths = {len(c) for c in columns.values()} | ({length} if length is not None else set())
    if len(lengths) > 1:
        raise ValueError(f"atom columns and length disagree: {sorted(lengths)}")
    if not lengths:
        raise ValueError("length= is required for a formula without atoms")
    return columns, lengths.pop()
