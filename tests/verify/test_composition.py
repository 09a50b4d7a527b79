"""P8 composition laws and P9 contracts, as Hypothesis properties over random fragments.

Observational equivalence = equal outputs and makespans equal up to rounding
(:func:`wfsim.verify.composition.equivalent`). Leaves are random DAG blocks
(``layered_random``, chains, diamonds) with random durations; composites nest
Sequence, Parallel, Choice and Loop.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.model.workflow import Task, Workflow
from wfsim.verify.composition import (
    Block,
    Choice,
    CompositionVerifier,
    ContractError,
    HashPredicate,
    LinearResource,
    Loop,
    Outcome,
    Parallel,
    ResourceReuseError,
    Sequence,
    WorkflowComposer,
    equivalent,
    evaluate,
    lower,
    swap,
    task,
)
from wfsim.workloads.generators import chain, diamond, layered_random

# ------------------------------------------------------------------ strategies

dag_shapes = st.one_of(
    st.builds(lambda layers, width, seed: layered_random(layers, width, seed=seed),
              st.integers(1, 3), st.integers(1, 3), st.integers(0, 10_000)),
    st.integers(1, 3).map(chain),
    st.just(diamond()),
)


@st.composite
def blocks(draw: st.DrawFn) -> Block:
    wf = draw(dag_shapes)
    values = st.one_of(st.integers(0, 5).map(float), st.floats(0, 50, allow_nan=False))
    durations = {t.id: draw(values) for t in wf.tasks}
    return Block(draw(st.sampled_from("ABCDEFGH")), wf, durations)


predicates = st.one_of(st.booleans(), st.text(max_size=3).map(HashPredicate))
untils = st.one_of(st.none(), st.builds(HashPredicate, st.text(max_size=3), st.integers(2, 3)))


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(Sequence, children, children),
        st.builds(Parallel, children, children),
        st.builds(Choice, children, children, predicates),
        st.builds(Loop, children, st.integers(1, 3), untils),
    )


fragments = st.recursive(blocks(), _extend, max_leaves=5)
inputs = st.one_of(st.text(max_size=6), st.tuples(st.text(max_size=3), st.text(max_size=3)))

LAWS = settings(max_examples=120, deadline=None)

# ----------------------------------------------------------------------- laws


@LAWS
@given(fragments, fragments, fragments, inputs)
def test_sequence_is_associative(a: Any, b: Any, c: Any, x: Any) -> None:
    left = evaluate(Sequence(Sequence(a, b), c), x)
    right = evaluate(Sequence(a, Sequence(b, c)), x)
    assert equivalent(left, right) and left.steps == right.steps
    # the flat DAGs are identical too
    dl, dr = lower(Sequence(Sequence(a, b), c), x), lower(Sequence(a, Sequence(b, c)), x)
    assert dl.workflow.tasks == dr.workflow.tasks and set(dl.workflow.edges) == set(dr.workflow.edges)
    assert CompositionVerifier.verify_sequence_associativity(a, b, c, (x,))


@LAWS
@given(fragments, fragments, inputs)
def test_parallel_commutes_up_to_swap(a: Any, b: Any, x: Any) -> None:
    ab, ba = evaluate(Parallel(a, b), x), evaluate(Parallel(b, a), x)
    assert equivalent(ab, Outcome(swap(ba.output), ba.makespan))
    assert ab.makespan == ba.makespan  # max is exactly commutative
    assert sorted(ab.steps) == sorted(ba.steps)
    assert CompositionVerifier.verify_parallel_commutativity(a, b, (x,))


@LAWS
@given(fragments, fragments, fragments, predicates, inputs)
def test_choice_distributes_over_sequence(a: Any, b: Any, c: Any, p: Any, x: Any) -> None:
    left = evaluate(Sequence(Choice(a, b, p), c), x)
    right = evaluate(Choice(Sequence(a, c), Sequence(b, c), p), x)
    assert equivalent(left, right) and left.steps == right.steps
    assert CompositionVerifier.verify_choice_distributivity(a, b, c, p, (x,))


@LAWS
@given(fragments, st.integers(1, 5), untils, inputs)
def test_loop_terminates_within_its_bound(body: Any, n: int, until: Any, x: Any) -> None:
    outcome = evaluate(Loop(body, n, until), x)
    iterations = _iterations(body, n, until, x)
    assert 1 <= iterations <= n
    if until is None:
        assert iterations == n
    # unrolled by hand: body ; body ; ... (iterations times)
    unrolled: Any = body
    for _ in range(iterations - 1):
        unrolled = Sequence(unrolled, body)
    assert equivalent(outcome, evaluate(unrolled, x))
    assert outcome.steps == evaluate(unrolled, x).steps


def _iterations(body: Any, n: int, until: Any, x: Any) -> int:
    value = x
    for k in range(1, n + 1):
        value = evaluate(body, value).output
        if until is not None and until(value):
            return k
    return n


@LAWS
@given(fragments, untils, inputs)
def test_loop_once_is_the_body(body: Any, until: Any, x: Any) -> None:
    assert equivalent(evaluate(Loop(body, 1, until), x), evaluate(body, x))
    assert evaluate(Loop(body, 1, until), x).steps == evaluate(body, x).steps


def test_loop_stops_when_until_holds() -> None:
    body = task("step", 2.0)
    first = evaluate(body, "seed").output
    stop_now = Loop(body, 10, until=lambda out: out == first)
    assert evaluate(stop_now, "seed") == Outcome(first, 2.0, ("step",))
    never = Loop(body, 4, until=lambda out: False)
    assert evaluate(never, "seed").steps == ("step",) * 4 and evaluate(never, "seed").makespan == 8.0
    with pytest.raises(ValueError, match="max_iter"):
        Loop(body, 0)


# ------------------------------------------------- lowering to a flat DAG


@LAWS
@given(fragments, inputs)
def test_lowered_dag_has_the_evaluated_makespan(fragment: Any, x: Any) -> None:
    outcome = evaluate(fragment, x)
    flat = lower(fragment, x)
    assert isinstance(flat.workflow, Workflow)
    assert flat.output == outcome.output
    assert math.isclose(flat.makespan, outcome.makespan, rel_tol=1e-9, abs_tol=1e-9)
    assert flat.makespan == pytest.approx(
        flat.workflow.with_tasks({t.id: Task(t.id, work=flat.durations[t.id]) for t in flat.workflow.tasks})
        .critical_path_length())
    # one copy of each executed block's tasks
    assert len({t.id.split("/")[0] for t in flat.workflow.tasks}) == len(outcome.steps)


def test_lowering_by_hand() -> None:
    a, b, c = task("a", 1.0), task("b", 2.0), task("c", 4.0)
    flat = lower(Sequence(a, Parallel(b, c)))
    assert {(e.source, e.target) for e in flat.workflow.edges} == {("a/a", "b/b"), ("a/a", "c/c")}
    assert flat.makespan == 5.0 == evaluate(Sequence(a, Parallel(b, c))).makespan
    looped = lower(Loop(a, 3))
    assert [t.id for t in looped.workflow.tasks] == ["a/a", "a~2/a", "a~3/a"]
    assert looped.makespan == 3.0


def test_choice_picks_deterministically_from_the_input() -> None:
    a, b = task("a", 1.0), task("b", 2.0)
    p = HashPredicate("salt")
    choice = Choice(a, b, p)
    for x in ["", "x", "y", ("p", "q")]:
        expected = "a" if p(x) else "b"
        assert evaluate(choice, x).steps == (expected,) == evaluate(choice, x).steps
    assert evaluate(Choice(a, b, False)).steps == ("b",)
    assert {evaluate(choice, str(i)).steps for i in range(20)} == {("a",), ("b",)}


def test_outputs_depend_on_input_and_block_but_not_duration() -> None:
    assert evaluate(task("a", 1.0), "x").output == evaluate(task("a", 9.0), "x").output
    assert evaluate(task("a", 1.0), "x").output != evaluate(task("a", 1.0), "y").output
    assert evaluate(task("a"), "x").output != evaluate(task("b"), "x").output
    par = evaluate(Parallel(task("a"), task("b")), "x").output
    assert par == (evaluate(task("a"), "x").output, evaluate(task("b"), "x").output)


def test_composer_facade() -> None:
    a, b = task("a", 1.0), task("b", 3.0)
    assert evaluate(WorkflowComposer.sequence(a, b)).makespan == 4.0
    assert evaluate(WorkflowComposer.parallel(a, b)).makespan == 3.0
    assert evaluate(WorkflowComposer.choice(a, b, True)).steps == ("a",)
    assert len(evaluate(WorkflowComposer.loop_until(a, lambda _: False, 3)).steps) == 3


# ----------------------------------------------------------------- contracts


def test_sequence_with_unmet_precondition_raises() -> None:
    validate = task("validate", provides={"validated"})
    pay = task("pay", requires={"validated", "card"}, provides={"paid"})
    with pytest.raises(ContractError, match=r"requires \{card\}.*post\(A\) must imply pre\(B\)"):
        Sequence(validate, pay)
    ok = Sequence(task("validate", provides={"validated", "card"}), pay)
    assert ok.contract.requires == frozenset() and ok.contract.provides == {"paid"}


def test_parallel_with_conflicting_keys_raises() -> None:
    with pytest.raises(ContractError, match=r"resources \{gpu\}"):
        Parallel(task("a", resources={"gpu"}), task("b", resources={"gpu", "disk"}))
    with pytest.raises(ContractError, match=r"state keys \{order:1\}"):
        Parallel(task("a", state_keys="order:1"), task("b", state_keys={"order:1"}))
    # state keys come from the tasks of a block by default
    wf_a = Workflow("wa", [Task("x", state_keys=frozenset({"k"}))])
    wf_b = Workflow("wb", [Task("y", state_keys=frozenset({"k", "j"}))])
    with pytest.raises(ContractError, match=r"state keys \{k\}"):
        Parallel(Block("A", wf_a), Block("B", wf_b))
    fine = Parallel(task("a", resources="gpu", state_keys="k1"), task("b", resources="cpu", state_keys="k2"))
    assert fine.contract.resources == {"gpu", "cpu"} and fine.contract.state_keys == {"k1", "k2"}


def test_nested_conflicts_are_found() -> None:
    left = Sequence(task("a", provides="x"), task("b", requires="x", resources="db"))
    with pytest.raises(ContractError, match="db"):
        Parallel(left, Choice(task("c"), task("d", resources="db"), True))


def test_choice_and_loop_contracts() -> None:
    a = task("a", provides={"x", "y"})
    b = task("b", provides={"x"})
    both = Choice(a, b, True)
    assert both.contract.provides == {"x"}  # only what both branches guarantee
    with pytest.raises(ContractError, match=r"\{y\}"):
        Sequence(both, task("c", requires="y"))
    Sequence(both, task("c", requires="x"))
    with pytest.raises(ContractError, match="iteration 2"):
        Loop(task("l", requires="in", provides="out"), 2)
    Loop(task("l", requires="in", provides="out"), 1)
    Loop(task("l", requires="in", provides={"in", "out"}), 5)


keys = st.frozensets(st.sampled_from("pqrs"), max_size=3)


@settings(max_examples=200, deadline=None)
@given(keys, keys, keys, keys, keys, keys)
def test_contract_acceptance_is_associative(pa: Any, qa: Any, pb: Any, qb: Any, pc: Any, qc: Any) -> None:
    a = task("a", requires=pa, provides=qa)
    b = task("b", requires=pb, provides=qb)
    c = task("c", requires=pc, provides=qc)

    def accepted(build: Any) -> bool:
        try:
            build()
        except ContractError:
            return False
        return True

    left = accepted(lambda: Sequence(Sequence(a, b), c))
    right = accepted(lambda: Sequence(a, Sequence(b, c)))
    assert left == right == (pb <= qa and pc <= qb)
    if left:
        assert Sequence(Sequence(a, b), c).contract == Sequence(a, Sequence(b, c)).contract
    dist_left = accepted(lambda: Sequence(Choice(a, b, True), c))
    dist_right = accepted(lambda: Choice(Sequence(a, c), Sequence(b, c), True))
    assert dist_left == dist_right


def test_linear_resource_is_consumed_once() -> None:
    token = LinearResource({"order": 1})
    assert not token.consumed and token.consume() == {"order": 1} and token.consumed
    with pytest.raises(ResourceReuseError):
        token.consume()
