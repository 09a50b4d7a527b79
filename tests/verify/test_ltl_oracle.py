"""Cross-check the LTLf evaluator against flloat, an independent implementation.

flloat (PyPI, Whitemech) evaluates LTLf by direct recursion on its own
formula classes.  Its conventions, and how they map to ours:

* operators: ``LTLfNext`` is the strong ``X``, ``LTLfWeakNext`` the weak
  ``WX``; ``LTLfUntil``/``LTLfRelease``/``LTLfAlways``/``LTLfEventually`` are
  the usual ``U``/``R``/``G``/``F``; ``last`` is ``WX false`` (or ``!X true``)
  here.  And/Or/Until/Release are n-ary there, built binary here.
* a trace is a list of dicts ``{atom: bool}``; atoms must be lowercase.
* the empty trace: flloat makes ``true`` and every literal (``a`` *and*
  ``!a``) false on it and evaluates other negations through negation normal
  form, so ``!`` is not classical there; this package gives the empty trace
  the value at the position past the end with classical negation.  Only
  non-empty traces (length 1-8) are compared; the empty-trace differences
  are pinned by hand below.

Truncated verdicts have no counterpart in flloat; their soundness is
checked by enumerating short continuations and asking flloat about each.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.verify.ltl import (
    FALSE,
    INCONCLUSIVE,
    TRUE,
    Always,
    And,
    Atom,
    Eventually,
    FalseF,
    Formula,
    Implies,
    Next,
    Not,
    Or,
    Release,
    TrueF,
    Until,
    WeakNext,
    atom_arrays,
    evaluate,
    truth_values,
)

ltlf = pytest.importorskip("flloat.ltlf")

ATOMS = ("a", "b", "c")


def to_flloat(formula: Formula) -> object:
    """Rebuild a formula with flloat's own classes."""
    match formula:
        case Atom(name=name):
            return ltlf.LTLfAtomic(name)
        case TrueF():
            return ltlf.LTLfTrue()
        case FalseF():
            return ltlf.LTLfFalse()
        case Not(operand=f):
            return ltlf.LTLfNot(to_flloat(f))
        case Next(operand=f):
            return ltlf.LTLfNext(to_flloat(f))
        case WeakNext(operand=f):
            return ltlf.LTLfWeakNext(to_flloat(f))
        case Always(operand=f):
            return ltlf.LTLfAlways(to_flloat(f))
        case Eventually(operand=f):
            return ltlf.LTLfEventually(to_flloat(f))
        case And(left=l, right=r):
            return ltlf.LTLfAnd([to_flloat(l), to_flloat(r)])
        case Or(left=l, right=r):
            return ltlf.LTLfOr([to_flloat(l), to_flloat(r)])
        case Implies(left=l, right=r):
            return ltlf.LTLfImplies([to_flloat(l), to_flloat(r)])
        case Until(left=l, right=r):
            return ltlf.LTLfUntil([to_flloat(l), to_flloat(r)])
        case Release(left=l, right=r):
            return ltlf.LTLfRelease([to_flloat(l), to_flloat(r)])
    raise TypeError(formula)


def flloat_trace(steps: Sequence[frozenset[str]]) -> list[dict[str, bool]]:
    return [{name: name in step for name in ATOMS} for step in steps]


def flloat_truth(formula: Formula, steps: Sequence[frozenset[str]], pos: int = 0) -> bool:
    return bool(to_flloat(formula).truth(flloat_trace(steps), pos))


def formulas(depth: int, atoms: Sequence[str] = ATOMS) -> st.SearchStrategy[Formula]:
    leaves = st.sampled_from([Atom(n) for n in atoms] + [TrueF(), FalseF()])
    if depth == 0:
        return leaves
    sub = formulas(depth - 1, atoms)
    return st.one_of(
        leaves,
        *(st.builds(op, sub) for op in (Not, Next, WeakNext, Always, Eventually)),
        *(st.builds(op, sub, sub) for op in (And, Or, Implies, Until, Release)),
    )


def traces(
    atoms: Sequence[str], min_size: int, max_size: int
) -> st.SearchStrategy[list[frozenset[str]]]:
    return st.lists(
        st.frozensets(st.sampled_from(list(atoms))), min_size=min_size, max_size=max_size
    )


@settings(max_examples=1000, deadline=None)
@given(formulas(4), traces(ATOMS, 1, 8))
def test_verdict_matches_flloat(formula: Formula, steps: list[frozenset[str]]) -> None:
    verdict = evaluate(formula, steps)
    assert verdict.value in (TRUE, FALSE)
    assert (verdict.value is TRUE) == flloat_truth(formula, steps)


@settings(max_examples=400, deadline=None)
@given(formulas(3), traces(ATOMS, 1, 8))
def test_value_at_every_step_matches_flloat(formula: Formula, steps: list[frozenset[str]]) -> None:
    ours = truth_values(formula, atom_arrays(steps, formula.atoms()), length=len(steps)).tolist()
    theirs = [flloat_truth(formula, steps, i) for i in range(len(steps))]
    assert ours == theirs


@settings(max_examples=150, deadline=None)
@given(formulas(3), traces(ATOMS, 1, 8))
def test_g_witness_is_first_violating_step(formula: Formula, steps: list[frozenset[str]]) -> None:
    verdict = evaluate(Always(formula), steps)
    failing = [i for i in range(len(steps)) if not flloat_truth(formula, steps, i)]
    assert verdict.step == (failing[0] if failing else None)


CONTINUATION_ATOMS = ("a", "b")
LETTERS = [frozenset(s) for r in range(3) for s in itertools.combinations(CONTINUATION_ATOMS, r)]
CONTINUATIONS = [list(w) for k in range(3) for w in itertools.product(LETTERS, repeat=k)]


@settings(max_examples=400, deadline=None)
@given(formulas(3, CONTINUATION_ATOMS), traces(CONTINUATION_ATOMS, 1, 5))
def test_truncated_verdict_is_sound_for_short_continuations(
    formula: Formula, prefix: list[frozenset[str]]
) -> None:
    verdict = evaluate(formula, prefix, truncated=True)
    assert verdict.finite_value == flloat_truth(formula, prefix)
    if verdict.value is INCONCLUSIVE:
        return
    expected = verdict.value is TRUE
    # Every continuation of length 0-2 (21 of them) must agree.
    for continuation in CONTINUATIONS:
        assert flloat_truth(formula, prefix + continuation) == expected, continuation


# End-of-trace conventions, pinned by hand on both implementations.


@pytest.mark.parametrize(
    ("text", "steps", "expected"),
    [
        ("X a", [{"a"}], False),
        ("WX a", [set()], True),
        ("WX false", [{"a"}, set()], False),  # "last" holds only at the last step
        ("G F a", [{"a"}, set(), {"a"}], True),
        ("a U b", [{"a"}, {"a"}], False),
        ("a R b", [{"b"}, {"b"}], True),
    ],
)
def test_end_of_trace_agrees_with_flloat(text: str, steps: list[set[str]], expected: bool) -> None:
    from wfsim.verify.ltl import parse

    frozen = [frozenset(s) for s in steps]
    assert (evaluate(text, frozen).value is TRUE) == expected
    assert flloat_truth(parse(text), frozen) == expected


def test_empty_trace_conventions_differ_from_flloat_as_documented() -> None:
    from wfsim.verify.ltl import parse

    # Agreement on temporal operators...
    for text, expected in [("G a", True), ("F a", False), ("X true", False), ("a", False)]:
        assert (evaluate(text, []).value is TRUE) == expected
        assert flloat_truth(parse(text), []) == expected
    # ...but flloat's `true` and `!a` are false on the empty trace; ours are
    # true (classical negation at the position past the end).
    assert evaluate("true", []).value is TRUE and not flloat_truth(TrueF(), [])
    assert evaluate("!a", []).value is TRUE and not flloat_truth(Not(Atom("a")), [])
