"""Hand-written cases pinning the LTLf evaluator, its parser and its verdicts."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.verify.ltl import (
    FALSE,
    INCONCLUSIVE,
    TRUE,
    WX,
    Always,
    And,
    Atom,
    Eventually,
    F,
    FalseF,
    Formula,
    G,
    Implies,
    LTLParseError,
    Next,
    Not,
    Or,
    R,
    Release,
    TrueF,
    U,
    Until,
    Verdict,
    WeakNext,
    X,
    atom_arrays,
    evaluate,
    evaluate_all,
    evaluate_arrays,
    parse,
    truth_values,
)

a, b, c = Atom("a"), Atom("b"), Atom("c")


def trace(*steps: str) -> list[frozenset[str]]:
    """``trace("a", "", "a b")`` -> three steps; a step lists its true atoms."""
    return [frozenset(s.split()) for s in steps]


def value(formula: Formula | str, steps: list[Any], **kw: Any) -> str:
    return evaluate(formula, steps, **kw).value.value


# ---------------------------------------------------------------------------
# Parser and printer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", a),
        ("true", TrueF()),
        ("false", FalseF()),
        ("!a", Not(a)),
        ("a & b", And(a, b)),
        ("a | b", Or(a, b)),
        ("a -> b", Implies(a, b)),
        ("a U b", Until(a, b)),
        ("a R b", Release(a, b)),
        ("X a", Next(a)),
        ("WX a", WeakNext(a)),
        ("G(running -> F done)", Always(Implies(Atom("running"), Eventually(Atom("done"))))),
        # precedence: unary > U/R > & > | > ->
        ("!a & b", And(Not(a), b)),
        ("G a U b", Until(Always(a), b)),
        ("a & b U c", And(a, Until(b, c))),
        ("a | b & c", Or(a, And(b, c))),
        ("a & b -> c | a", Implies(And(a, b), Or(c, a))),
        ("X a U b", Until(Next(a), b)),
        # associativity: & and | left, -> U R right
        ("a & b & c", And(And(a, b), c)),
        ("a | b | c", Or(Or(a, b), c)),
        ("a -> b -> c", Implies(a, Implies(b, c))),
        ("a U b U c", Until(a, Until(b, c))),
        ("a U b R c", Until(a, Release(b, c))),
        ("(a -> b) -> c", Implies(Implies(a, b), c)),
        ("!!a", Not(Not(a))),
        ("G F a", Always(Eventually(a))),
        ("WX false", WeakNext(FalseF())),
        # atoms: letters, digits, _ . : ; keywords only as whole words
        ("task:3.done_x", Atom("task:3.done_x")),
        (
            "Gx & Fdone & X1 & WXy & true_",
            And(And(And(And(Atom("Gx"), Atom("Fdone")), Atom("X1")), Atom("WXy")), Atom("true_")),
        ),
        ("  ( a )  ", a),
        ("G(a)", Always(a)),
    ],
)
def test_parse(text: str, expected: Formula) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "expected_fragment"),
    [
        ("", 0, "an atom"),
        ("a &", 3, "an atom"),
        ("G(a & )", 6, "an atom"),
        ("(a", 2, "')'"),
        ("a b", 2, "binary operator"),
        ("a - b", 2, "'->'"),
        ("a # b", 2, "an atom"),
        ("a)", 1, "end of input"),
        ("3a", 0, "an atom"),
        ("U a", 0, "an atom"),
    ],
)
def test_parse_errors_name_position_and_expectation(
    text: str, position: int, expected_fragment: str
) -> None:
    with pytest.raises(LTLParseError) as info:
        parse(text)
    assert info.value.position == position
    assert expected_fragment in info.value.expected
    assert f"position {position}" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("formula", "text"),
    [
        (G(Atom("running") >> F(Atom("done"))), "G(running -> F done)"),
        (And(a, And(b, c)), "a & (b & c)"),
        (And(And(a, b), c), "a & b & c"),
        (Implies(Implies(a, b), c), "(a -> b) -> c"),
        (Implies(a, Implies(b, c)), "a -> b -> c"),
        (Until(Until(a, b), c), "(a U b) U c"),
        (Until(a, Release(b, c)), "a U b R c"),
        (Not(And(a, b)), "!(a & b)"),
        (Next(Not(a)), "X !a"),
        (Not(Next(a)), "!X a"),
        (WeakNext(Or(a, b)), "WX(a | b)"),
        (Or(And(a, b), c), "a & b | c"),
        (And(Or(a, b), c), "(a | b) & c"),
        (Until(And(a, b), c), "(a & b) U c"),
    ],
)
def test_str_prints_minimal_parseable_text(formula: Formula, text: str) -> None:
    assert str(formula) == text
    assert parse(text) == formula


def formulas(depth: int) -> st.SearchStrategy[Formula]:
    leaves = st.sampled_from([a, b, Atom("x.y:1"), TrueF(), FalseF()])
    if depth == 0:
        return leaves
    sub = formulas(depth - 1)
    return st.one_of(
        leaves,
        *(st.builds(op, sub) for op in (Not, Next, WeakNext, Always, Eventually)),
        *(st.builds(op, sub, sub) for op in (And, Or, Implies, Until, Release)),
    )


@settings(max_examples=300, deadline=None)
@given(formulas(4))
def test_print_parse_round_trip(formula: Formula) -> None:
    assert parse(str(formula)) == formula


def test_builder_api() -> None:
    assert (a & b) == And(a, b)
    assert (a | b) == Or(a, b)
    assert ~a == Not(a)
    assert (a >> b) == Implies(a, b)
    assert ("a" & b) == And(a, b)  # strings are parsed
    assert (a | "b & c") == Or(a, And(b, c))
    assert ("a" >> b) == Implies(a, b)
    assert (a & True) == And(a, TrueF())
    assert G("a -> F b") == Always(Implies(a, Eventually(b)))
    assert X(a) == Next(a) and WX(a) == WeakNext(a)
    assert U(a, "b") == Until(a, b) and R("a", b) == Release(a, b)
    assert parse("G(a -> X b) & F c").atoms() == {"a", "b", "c"}
    assert parse("a U (b & c)").size() == 5


def test_formulas_are_immutable_hashable_and_refuse_truthiness() -> None:
    f = parse("G(a -> F b)")
    with pytest.raises(FrozenInstanceError):
        f.operand = a  # type: ignore[misc]
    assert len({f, parse("G(a -> F b)"), parse("G(a -> F c)")}) == 2
    with pytest.raises(TypeError):
        bool(a)
    with pytest.raises(TypeError):
        a & 3  # type: ignore[operator]


@pytest.mark.parametrize("name", ["G", "true", "U", "", "a b", "1a", "a-b", "a!"])
def test_invalid_atom_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        Atom(name)


# ---------------------------------------------------------------------------
# Plain LTLf semantics, end of trace, empty trace
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "steps", "expected"),
    [
        # strong vs weak next at the last step
        ("X a", ["a"], "false"),
        ("X true", ["a"], "false"),
        ("WX a", ["a"], "true"),
        ("WX false", ["a"], "true"),
        ("X a", ["", "a"], "true"),
        ("WX a", ["", ""], "false"),
        ("!X true", ["", ""], "false"),
        ("!X true", [""], "true"),  # "last"
        ("X X a", ["", "a"], "false"),
        # G / F over the remaining steps only
        ("G a", ["a", "a", "a"], "true"),
        ("G a", ["a", "", "a"], "false"),
        ("F a", ["", "", "a"], "true"),
        ("F a", ["", "", ""], "false"),
        ("G F a", ["a", "", "a"], "true"),  # on finite traces: a at the last step
        ("G F a", ["a", "a", ""], "false"),
        ("F G a", ["", "", "a"], "true"),
        ("G(a -> X b)", ["a", "b", "a"], "false"),  # X at the last step is strong
        ("G(a -> WX b)", ["a", "b", "a"], "true"),
        # until / release
        ("a U b", ["a", "a", "b"], "true"),
        ("a U b", ["b"], "true"),
        ("a U b", ["a", "a", "a"], "false"),  # strong: b must come
        ("a U b", ["a", "", "b"], "false"),
        ("a R b", ["b", "b", "b"], "true"),  # b to the end, never released: fine
        ("a R b", ["b", "a b", ""], "true"),
        ("a R b", ["b", "a", ""], "false"),  # release step must still have b
        ("false R a", ["a", ""], "false"),
        ("true U a", ["", "a"], "true"),
        # the motivating property
        ("G(running -> F done)", ["running", "", "done", "running done"], "true"),
        ("G(running -> F done)", ["running", "done", "running", ""], "false"),
    ],
)
def test_plain_ltlf_semantics(formula: str, steps: list[str], expected: str) -> None:
    assert value(formula, trace(*steps)) == expected


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("a", "false"),
        ("!a", "true"),
        ("true", "true"),
        ("false", "false"),
        ("X a", "false"),
        ("X true", "false"),
        ("WX false", "true"),
        ("G a", "true"),
        ("G false", "true"),
        ("F true", "false"),
        ("a U b", "false"),
        ("a R b", "true"),
        ("!G a", "false"),
        ("G(running -> F done)", "true"),
    ],
)
def test_empty_trace_is_the_position_past_the_end(formula: str, expected: str) -> None:
    verdict = evaluate(formula, [])
    assert verdict.value.value == expected
    assert verdict.length == 0 and verdict.step is None


def test_empty_trace_truncated_is_inconclusive_unless_decided_by_constants() -> None:
    assert value("F done", [], truncated=True) == "inconclusive"
    assert value("G !bad", [], truncated=True) == "inconclusive"
    assert value("X false", [], truncated=True) == "false"
    assert value("WX true | a", [], truncated=True) == "true"
    assert value("G true", [], truncated=True) == "true"


# ---------------------------------------------------------------------------
# Truncated runs: three verdicts
# ---------------------------------------------------------------------------


def test_safety_violated_in_prefix_is_false_even_when_truncated() -> None:
    steps = trace("", "", "bad", "")
    for truncated in (False, True):
        verdict = evaluate("G !bad", steps, truncated=truncated)
        assert verdict.value is FALSE
        assert verdict.step == 2


def test_safety_not_yet_violated_is_inconclusive_when_truncated() -> None:
    steps = trace("", "", "")
    assert value("G !bad", steps) == "true"
    verdict = evaluate("G !bad", steps, truncated=True)
    assert verdict.value is INCONCLUSIVE
    assert verdict.finite_value is True  # RV-LTL: presumably true
    assert verdict.step is None  # nothing pending inside the trace


def test_eventually_never_satisfied_is_inconclusive_when_truncated() -> None:
    steps = trace("", "", "")
    assert value("F done", steps) == "false"
    verdict = evaluate("F done", steps, truncated=True)
    assert verdict.value is INCONCLUSIVE
    assert verdict.step == 0
    assert verdict.finite_value is False


def test_eventually_satisfied_is_true_even_when_truncated() -> None:
    verdict = evaluate("F done", trace("", "done", ""), truncated=True)
    assert verdict.value is TRUE and verdict.step == 1


def test_pending_liveness_obligation_is_inconclusive_with_its_start() -> None:
    steps = trace("running", "done", "", "running", "", "running", "")
    prop = "G(running -> F done)"
    plain = evaluate(prop, steps)
    assert plain.value is FALSE and plain.step == 3  # the running never followed by done
    cut = evaluate(prop, steps, truncated=True)
    assert cut.value is INCONCLUSIVE and cut.step == 3  # earliest open obligation
    assert cut.finite_value is False


def test_liveness_with_safety_violation_is_false_on_truncated() -> None:
    prop = "G(running -> F done) & G !(running & failed)"
    steps = trace("running", "running failed", "")
    verdict = evaluate(prop, steps, truncated=True)
    assert verdict.value is FALSE and verdict.step == 1


@pytest.mark.parametrize(
    ("formula", "steps", "expected"),
    [
        # X at the horizon: the next step is unknown
        ("X a", ["a"], "inconclusive"),
        ("X false", ["a"], "false"),  # no continuation can satisfy it
        ("WX a", ["a"], "inconclusive"),
        ("WX true", [""], "true"),
        ("G(a -> X b)", ["a", "b", "a"], "inconclusive"),
        ("G(a -> X b)", ["a", "", "a"], "false"),
        # until: decided once b arrives or a breaks first
        ("a U b", ["a", "a"], "inconclusive"),
        ("a U b", ["a", "b"], "true"),
        ("a U b", ["a", ""], "false"),
        # release: false once b fails unreleased, true once released
        ("a R b", ["b", "b"], "inconclusive"),
        ("a R b", ["b", "a b"], "true"),
        ("a R b", ["b", ""], "false"),
        ("a R true", [""], "true"),  # b can never fail
        ("a U false", ["a"], "false"),  # b can never come
        # Boolean structure over mixed obligations
        ("F a | G b", ["b", "b"], "inconclusive"),
        ("F a | G b", ["", "a"], "true"),
        ("F a & G b", ["b", ""], "false"),
        ("!F a", ["", "a"], "false"),
        ("!F a", ["", ""], "inconclusive"),
        ("F a -> F b", ["b"], "true"),
        ("F a -> F b", ["a"], "inconclusive"),
    ],
)
def test_truncated_verdicts(formula: str, steps: list[str], expected: str) -> None:
    assert value(formula, trace(*steps), truncated=True) == expected


def test_truncated_is_sound_but_incomplete_on_contradictory_obligations() -> None:
    # No continuation satisfies F a & G !a once a has not yet occurred, but
    # pending obligations are bounded independently: documented incompleteness.
    assert value("F a & G !a", trace("", ""), truncated=True) == "inconclusive"
    assert value("F a & G !a", trace("", ""), truncated=False) == "false"


def test_non_truncated_verdict_is_never_inconclusive() -> None:
    for prop in ["F a", "G a", "X a", "a U b", "a R b", "G(a -> F b)"]:
        for steps in (trace("a"), trace("", "b"), trace("a", "a"), []):
            assert evaluate(prop, steps).value in (TRUE, FALSE)


# ---------------------------------------------------------------------------
# Witness steps
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "steps", "expected", "step"),
    [
        ("G a", ["a", "a", "", ""], "false", 2),
        ("G(a -> F b)", ["a", "b", "a", "", "a b"], "true", None),
        ("G(a -> F b)", ["a", "b", "a", "", "a"], "false", 2),
        ("F a", ["", ""], "false", None),
        ("F a", ["", "", "a", "a"], "true", 2),
        ("a U b", ["a", "", "b"], "false", 1),
        ("a U b", ["a", "a"], "false", None),  # b never came
        ("a U b", ["a", "a", "b"], "true", 2),
        ("a R b", ["b", "", "b"], "false", 1),
        ("a R b", ["b", "a b", ""], "true", 1),
        ("X a", ["", ""], "false", 1),
        ("X a", [""], "false", None),
        ("G a & G b", ["a b", "a", "b"], "false", 1),  # earliest failing conjunct
        ("F a | F b", ["", ""], "false", None),
        ("G a | G b", ["a b", "a", "b"], "false", 2),  # both have failed by step 2
        ("!F bad", ["", "", "bad"], "false", 2),  # negation: where bad happened
        ("!G ok", ["ok", ""], "true", 1),
        ("a", ["", "a"], "false", 0),
    ],
)
def test_witness_steps(formula: str, steps: list[str], expected: str, step: int | None) -> None:
    verdict = evaluate(formula, trace(*steps))
    assert (verdict.value.value, verdict.step) == (expected, step)


def test_verdict_is_plain_json_ready_data() -> None:
    verdict = evaluate(G(a >> F(b)), trace("a", ""), truncated=True)
    assert isinstance(verdict, Verdict)
    data = verdict.to_dict()
    assert data == {
        "value": "inconclusive",
        "formula": "G(a -> F b)",
        "step": 0,
        "truncated": True,
        "length": 2,
        "finite_value": False,
    }
    json.dumps(data)
    assert not verdict.holds


# ---------------------------------------------------------------------------
# Trace representations
# ---------------------------------------------------------------------------


def test_steps_as_sets_lists_and_mappings() -> None:
    prop = "G(a -> F b)"
    assert value(prop, [{"a"}, ["b"], ("a", "b")]) == "true"
    assert value(prop, [{"a": True, "b": False}, {"a": False, "b": 1}]) == "true"
    assert value(prop, [{"a": True}, {"b": False}]) == "false"


def test_atoms_bound_to_predicates_over_arbitrary_steps() -> None:
    events = [
        {"kind": "start", "task": 1},
        {"kind": "tick"},
        {"kind": "finish", "task": 1},
    ]
    preds = {
        "running": lambda e: e["kind"] == "start",
        "done": lambda e: e["kind"] == "finish",
    }
    assert value("G(running -> F done)", events, predicates=preds) == "true"
    assert value("G(running -> F done)", events[:2], predicates=preds) == "false"
    assert (
        value("G(running -> F done)", events[:2], predicates=preds, truncated=True)
        == "inconclusive"
    )

    class Step:
        def __init__(self, load: float) -> None:
            self.load = load

    steps = [Step(0.2), Step(0.95), Step(0.3)]
    verdict = evaluate("G !overloaded", steps, predicates={"overloaded": lambda s: s.load > 0.9})
    assert verdict.value is FALSE and verdict.step == 1


def test_unbound_atom_on_non_container_step_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="predicates"):
        evaluate("F a", [1, 2])
    with pytest.raises(TypeError, match="string"):
        evaluate("F a", ["a", "b"])


def test_array_api_matches_step_api() -> None:
    steps = trace("a", "", "b", "a", "a b", "")
    cols = atom_arrays(steps, ["a", "b"])
    assert cols["a"].dtype == np.bool_ and cols["a"].tolist() == [
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    for prop in ["G(a -> F b)", "a U b", "F G !b", "X X a"]:
        for truncated in (False, True):
            assert evaluate_arrays(prop, cols, truncated=truncated) == evaluate(
                prop, steps, truncated=truncated
            )
    assert evaluate_arrays("G true", {}, length=3).value is TRUE
    with pytest.raises(KeyError):
        evaluate_arrays("a & c", cols)
    with pytest.raises(ValueError):
        evaluate_arrays("a & b", {"a": [True], "b": [True, False]})
    with pytest.raises(ValueError):
        evaluate_arrays("true", {})


def test_truth_values_give_suffix_semantics_at_every_step() -> None:
    cols = {"a": [True, False, True, True], "b": [False, True, False, False]}
    assert truth_values("F b", cols).tolist() == [True, True, False, False]
    assert truth_values("X a", cols).tolist() == [False, True, True, False]
    assert truth_values("WX a", cols).tolist() == [False, True, True, True]
    assert truth_values("a U b", cols).tolist() == [True, True, False, False]
    assert truth_values("G a", cols).tolist() == [False, False, True, True]


def test_evaluate_all_shares_one_trace() -> None:
    steps = trace("a", "b")
    verdicts = evaluate_all(["F b", "G a", parse("a U b")], steps)
    assert [v.value for v in verdicts] == [TRUE, FALSE, TRUE]
    assert evaluate_all([], steps) == []


def test_long_trace_is_linear_and_vectorised() -> None:
    # Not a timing test: just exercises the array paths at a size where a
    # per-step Python loop or recursion would be obvious.
    n = 200_000
    rng = np.random.default_rng(1)
    cols = {"a": rng.random(n) < 0.5, "b": rng.random(n) < 0.01}
    cols["b"][-1] = True
    verdict = evaluate_arrays("G(a -> F b) & (true U b) & G(a R (a | !a))", cols)
    assert verdict.value is TRUE
    cols["b"][-1] = False
    last_b = int(np.flatnonzero(cols["b"])[-1])
    first_a_after = last_b + 1 + int(np.flatnonzero(cols["a"][last_b + 1 :])[0])
    verdict = evaluate_arrays("G(a -> F b)", cols)
    assert verdict.value is FALSE and verdict.step == first_a_after
    verdict = evaluate_arrays("G(a -> F b)", cols, truncated=True)
    assert verdict.value is INCONCLUSIVE and verdict.step == first_a_after
