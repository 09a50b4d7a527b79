"""P7: the DSL, event-based and state-machine models of a workflow are equivalent.

Differential test: random DAGs (``layered_random`` with random parameters, the
hand-built shapes, and arbitrary small DAGs) with random durations are executed by
four interpreters — the static DAG pass, the SimPy discrete-event run, the event
queue and the timed FSM — which must agree *modulo ties*: the same set of completed
tasks, the same finish time and output per task, hence the same order after sorting
by ``(finish time, task id)``. Each interpreter's own order must also be causal and
time-monotone. Plus mapping round trips, the P7 structural check, and seed defect #1
(completion on the roots) shown wrong on a chain.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.model.workflow import Task, Workflow, WorkflowValidationError
from wfsim.verify.models import (
    AllTasksCompleted,
    EventBasedWorkflow,
    EventHandler,
    InterpreterResult,
    TaskCompleted,
    TaskReady,
    Transition,
    TriggerEvent,
    WorkflowDSL,
    check_p7,
    check_state_machine,
    differences,
    dsl_to_events,
    dsl_to_state_machine,
    equivalent,
    events_to_dsl,
    is_equivalent,
    run_dsl,
    run_dsl_simpy,
    run_events,
    run_state_machine,
    seed_dsl_to_events,
    state_machine_to_dsl,
    task_output,
)
from wfsim.workloads.generators import chain, diamond, fork_join, layered_random

# ------------------------------------------------------------------ strategies


@st.composite
def arbitrary_dags(draw: st.DrawFn) -> Workflow:
    """A DAG on ``n`` tasks with edges only from lower to higher index (any shape,
    including transitive edges and isolated tasks)."""
    n = draw(st.integers(1, 7))
    ids = [f"n{i}" for i in range(n)]
    draw(st.randoms()).shuffle(ids)  # ids not in topological order
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    return Workflow("arbitrary", [Task(i) for i in ids], [(ids[i], ids[j]) for i, j in chosen])


workflows = st.one_of(
    st.builds(
        lambda layers, width, p, seed: layered_random(layers, width, edge_probability=p, seed=seed),
        st.integers(1, 5), st.integers(1, 4), st.floats(0, 1), st.integers(0, 2**32 - 1),
    ),
    st.integers(1, 6).map(chain),
    st.integers(1, 4).map(fork_join),
    st.just(diamond()),
    arbitrary_dags(),
)

# integers make ties (including zero-duration ties) frequent; floats exercise rounding
duration_values = st.one_of(st.integers(0, 4).map(float), st.floats(0, 100, allow_nan=False, allow_infinity=False))


@st.composite
def workflow_and_durations(draw: st.DrawFn) -> tuple[WorkflowDSL, dict[str, float]]:
    wf = draw(workflows)
    durations = {t.id: draw(duration_values) for t in wf.tasks}
    return WorkflowDSL.from_workflow(wf), durations


def all_runs(dsl: WorkflowDSL, durations: dict[str, float], value: str = "in") -> dict[str, InterpreterResult]:
    return {
        "dsl": run_dsl(dsl, durations, value),
        "simpy": run_dsl_simpy(dsl, durations, value),
        "events": run_events(dsl_to_events(dsl), durations, value),
        "fsm": run_state_machine(dsl_to_state_machine(dsl), durations, value),
    }


def assert_causal(dsl: WorkflowDSL, execution: InterpreterResult) -> None:
    position = {t: i for i, t in enumerate(execution.order)}
    assert sorted(execution.order) == sorted(dsl.task_ids)
    for a, b in dsl.dependencies:
        assert position[a] < position[b], f"{b} completed before its predecessor {a}"
        assert execution.start[b] >= execution.finish[a]
    times = [execution.finish[t] for t in execution.order]
    assert times == sorted(times), "completion order is not time-monotone"


# --------------------------------------------------------------- differential


@settings(max_examples=300, deadline=None)
@given(workflow_and_durations(), st.text(max_size=8))
def test_three_models_agree_modulo_ties(case: tuple[WorkflowDSL, dict[str, float]], value: str) -> None:
    dsl, durations = case
    runs = all_runs(dsl, durations, value)
    reference = runs["dsl"]
    for name, execution in runs.items():
        assert execution.completed, name
        assert_causal(dsl, execution)
        assert differences(reference, execution) == [], name
        assert execution.canonical_order == reference.canonical_order
        assert execution.outputs == reference.outputs
    assert reference.makespan == max(reference.finish.values())


@settings(max_examples=100, deadline=None)
@given(workflow_and_durations())
def test_makespan_is_the_critical_path(case: tuple[WorkflowDSL, dict[str, float]]) -> None:
    dsl, durations = case
    wf = dsl.to_workflow()
    scaled = wf.with_tasks({t.id: Task(t.id, work=durations[t.id]) for t in wf.tasks})
    assert run_events(dsl_to_events(dsl), durations).makespan == pytest.approx(scaled.critical_path_length())


@settings(max_examples=100, deadline=None)
@given(workflow_and_durations(), st.text(max_size=4), st.text(max_size=4))
def test_outputs_are_pure_functions_of_the_input(case: tuple[WorkflowDSL, dict[str, float]], x: str, y: str) -> None:
    dsl, durations = case
    a, b = run_dsl(dsl, durations, x), run_dsl(dsl, durations, x)
    assert a.outputs == b.outputs
    if x != y:
        c = run_dsl(dsl, durations, y)
        assert all(a.outputs[s] != c.outputs[s] for s in dsl.sinks())
    # outputs do not depend on durations (only on the DAG and the input)
    assert run_dsl(dsl, dict.fromkeys(durations, 1.0), x).outputs == a.outputs


def test_diamond_by_hand() -> None:
    dsl = WorkflowDSL.from_workflow(diamond())
    durations = {"a": 1, "b": 2, "c": 3, "d": 1}
    for name, execution in all_runs(dsl, durations).items():
        assert execution.order == ("a", "b", "c", "d"), name
        assert dict(execution.finish) == {"a": 1.0, "b": 3.0, "c": 4.0, "d": 5.0}
        assert execution.start["d"] == 4.0
    outputs = run_dsl(dsl, durations, "x").outputs
    assert outputs["a"] == task_output("a", ["x"])
    assert outputs["d"] == task_output("d", [outputs["b"], outputs["c"]])


def test_zero_duration_tie_keeps_causality_and_equivalence() -> None:
    # "z" succeeds "b" with zero duration: both finish at 1; sorted by (time, id)
    # "b" < "z", but an id-only tie-break would also put "a0" (a successor of "z")
    # before its predecessors.
    wf = Workflow("tie", [Task("b"), Task("z"), Task("a0")], [("b", "z"), ("z", "a0")])
    dsl = WorkflowDSL.from_workflow(wf)
    runs = all_runs(dsl, {"b": 1.0, "z": 0.0, "a0": 0.0})
    for name, execution in runs.items():
        assert execution.order == ("b", "z", "a0"), name
        assert execution.canonical_order == ("a0", "b", "z")  # the tie-insensitive form
    assert all(equivalent(runs["dsl"], e) for e in runs.values())


def test_equivalence_detects_differences() -> None:
    dsl = WorkflowDSL.from_workflow(diamond())
    base = run_dsl(dsl, {"a": 1, "b": 2, "c": 3, "d": 1})
    slower = run_dsl(dsl, {"a": 1, "b": 2, "c": 3, "d": 2})
    other_input = run_dsl(dsl, {"a": 1, "b": 2, "c": 3, "d": 1}, "other")
    assert not equivalent(base, slower) and "d: finish" in differences(base, slower)[0]
    assert not equivalent(base, other_input)


def test_durations_are_validated() -> None:
    dsl = WorkflowDSL.from_workflow(chain(2))
    with pytest.raises(ValueError, match="no duration"):
        run_dsl(dsl, {"t0": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        run_events(dsl_to_events(dsl), {"t0": 1.0, "t1": -1.0})
    # default durations: work / cores
    assert run_state_machine(dsl_to_state_machine(dsl)).makespan == 2e9


# ------------------------------------------------------------------ round trips


@settings(max_examples=150, deadline=None)
@given(workflows, st.data())
def test_mapping_round_trips_preserve_the_dag(wf: Workflow, data: st.DataObject) -> None:
    labels = data.draw(st.dictionaries(st.sampled_from([t.id for t in wf.tasks]), st.text(min_size=1, max_size=5)))
    dsl = WorkflowDSL.from_workflow(wf, labels)
    back = dsl.to_workflow()
    assert back.tasks == wf.tasks
    assert set(back.edges) == set(wf.edges)  # sizes kept
    assert events_to_dsl(dsl_to_events(dsl)).structure() == dsl.structure()
    assert state_machine_to_dsl(dsl_to_state_machine(dsl)).structure() == dsl.structure()
    assert events_to_dsl(dsl_to_events(dsl)).tasks == dsl.tasks
    # and across the levels: events -> dsl -> fsm -> dsl
    assert state_machine_to_dsl(dsl_to_state_machine(events_to_dsl(dsl_to_events(dsl)))).structure() == dsl.structure()


def test_dependency_order_is_normalised() -> None:
    tasks = [Task("a"), Task("b"), Task("c")]
    one = WorkflowDSL("w", tasks, [("b", "c"), ("a", "c")])
    two = WorkflowDSL("w", tasks, [("a", "c"), ("b", "c")])
    assert one == two


def test_dsl_validation() -> None:
    with pytest.raises(WorkflowValidationError, match="unknown task"):
        WorkflowDSL("w", [Task("a")], [("a", "b")])
    with pytest.raises(WorkflowValidationError, match="cycle"):
        WorkflowDSL("w", [Task("a"), Task("b")], [("a", "b"), ("b", "a")])
    with pytest.raises(WorkflowValidationError, match="condition"):
        WorkflowDSL("w", [Task("a")], conditions={"zz": "x > 0"})


# ----------------------------------------------------------- P7 structure checks


@settings(max_examples=150, deadline=None)
@given(workflows)
def test_p7_structure(wf: Workflow) -> None:
    dsl = WorkflowDSL.from_workflow(wf)
    events = dsl_to_events(dsl)
    assert {e.task for e in events.initial_events} == {wf.tasks[i].id for i in wf.roots}
    assert sorted(events.triggers()) == sorted((e.source, e.target) for e in wf.edges)
    assert events.completion == (AllTasksCompleted(frozenset(wf.tasks[i].id for i in wf.sinks)),)
    assert check_p7(dsl, events) == [] and is_equivalent(dsl, events)
    assert check_state_machine(dsl, dsl_to_state_machine(dsl)) == []


def test_p7_check_catches_broken_event_models() -> None:
    dsl = WorkflowDSL.from_workflow(diamond())
    good = dsl_to_events(dsl)
    handlers = dict(good.handlers)
    handlers[TaskCompleted("a")] = (EventHandler("a", (TriggerEvent(TaskReady("b")),)),)  # drop a -> c
    dropped = EventBasedWorkflow(good.name, good.tasks, good.initial_events, handlers, good.completion)
    assert any("without a TaskCompleted" in p for p in check_p7(dsl, dropped))
    handlers = dict(good.handlers)
    handlers[TaskCompleted("a")] = good.handlers[TaskCompleted("a")] + (
        EventHandler("a", (TriggerEvent(TaskReady("d")),)),)  # extra a -> d
    extra = EventBasedWorkflow(good.name, good.tasks, good.initial_events, handlers, good.completion)
    assert any("no matching edge" in p for p in check_p7(dsl, extra))
    wrong_start = EventBasedWorkflow(good.name, good.tasks, (TaskReady("b"),), good.handlers, good.completion)
    assert any("initial events" in p for p in check_p7(dsl, wrong_start))
    # A dropped handler is also visible behaviourally: c never becomes ready.
    run = run_events(dropped, {"a": 1, "b": 1, "c": 1, "d": 1})
    assert not run.completed and "c" not in run.finish


def test_state_machine_check_catches_a_wrong_guard() -> None:
    dsl = WorkflowDSL.from_workflow(diamond())
    sm = dsl_to_state_machine(dsl)
    broken = type(sm)(sm.name, sm.tasks, (Transition("a", frozenset()), Transition("b", frozenset()),
                                         *sm.transitions[2:]), sm.initial_state, sm.final_states)
    assert any("guard of 'b'" in p for p in check_state_machine(dsl, broken))


# ------------------------------------------------- seed defect #1: roots vs sinks


def test_seed_roots_completion_is_wrong_on_a_chain() -> None:
    """Seed l.229–237 names the tasks with no incoming edge ``final_tasks`` and makes
    them the completion condition. On ``t0 → t1 → t2`` that is ``{t0}``: the event
    model declares the workflow complete when ``t0`` finishes, before ``t1`` and
    ``t2`` have run, so its completion time and completed set disagree with the DAG
    and the FSM. With the sinks (``{t2}``) it completes exactly when the DAG does."""
    dsl = WorkflowDSL.from_workflow(chain(3))
    durations = {"t0": 1.0, "t1": 2.0, "t2": 3.0}

    buggy = seed_dsl_to_events(dsl)
    assert buggy.completion == (AllTasksCompleted(frozenset({"t0"})),)
    premature = run_events(buggy, durations)
    assert premature.completed and premature.completion_time == 1.0
    assert premature.order == ("t0",)  # t1 and t2 never ran: "complete" too early
    reference = run_state_machine(dsl_to_state_machine(dsl), durations)
    assert not equivalent(premature, reference)
    assert any("completion" in p for p in check_p7(dsl, buggy))

    fixed = run_events(dsl_to_events(dsl), durations)
    assert fixed.completed and fixed.completion_time == 6.0 == reference.completion_time
    assert fixed.order == ("t0", "t1", "t2") and equivalent(fixed, reference)


@settings(max_examples=100, deadline=None)
@given(workflow_and_durations())
def test_sinks_complete_last(case: tuple[WorkflowDSL, dict[str, float]]) -> None:
    """Why sinks are right: every task has a sink among its descendants, so 'all sinks
    completed' implies 'all tasks completed' and happens exactly at the makespan."""
    dsl, durations = case
    execution = run_dsl(dsl, durations)
    assert execution.makespan == max(execution.finish[s] for s in dsl.sinks())
    events = run_events(dsl_to_events(dsl), durations)
    assert events.completion_time == execution.makespan and len(events.finish) == len(dsl.tasks)


# ---------------------------------------------------------- explicit state space


def _down_sets(dsl: WorkflowDSL) -> set[frozenset[str]]:
    preds = dsl.predecessors()
    out = set()
    for r in range(len(dsl.task_ids) + 1):
        for subset in itertools.combinations(dsl.task_ids, r):
            s = frozenset(subset)
            if all(preds[t] <= s for t in s):
                out.add(s)
    return out


@settings(max_examples=80, deadline=None)
@given(arbitrary_dags())
def test_explicit_fsm_states_are_the_down_sets(wf: Workflow) -> None:
    dsl = WorkflowDSL.from_workflow(wf)
    sm = dsl_to_state_machine(dsl)
    states = sm.reachable_states()
    assert states == _down_sets(dsl)
    assert frozenset(dsl.task_ids) in states
    for state, label, nxt in sm.explicit_transitions():
        assert nxt == state | {label} and label not in state
    dead_ends = [s for s in states if not sm.enabled(s)]
    assert dead_ends == [frozenset(dsl.task_ids)]  # the only dead end is the accepting state


def test_fsm_run_visits_a_chain_of_states() -> None:
    dsl = WorkflowDSL.from_workflow(fork_join(2))
    execution = run_state_machine(dsl_to_state_machine(dsl), dict.fromkeys(dsl.task_ids, 1.0))
    assert execution.states[0] == frozenset() and execution.states[-1] == frozenset(dsl.task_ids)
    assert all(len(b - a) == 1 for a, b in zip(execution.states, execution.states[1:]))
    with pytest.raises(ValueError, match="not enabled"):
        dsl_to_state_machine(dsl).step(frozenset(), "join")
