"""Three equivalent workflow models, the mappings between them, and an interpreter each.

The seed (``000_6e1dffbb9b9f6ae0.txt`` l.165–302, "模型等价性", digest part1 §1.2)
describes one workflow at three levels of abstraction:

* :class:`WorkflowDSL` — the user-facing level: tasks, ``(from, to)`` dependencies
  and optional per-task conditions. Converts to and from the project's
  :class:`~wfsim.model.workflow.Workflow`.
* :class:`EventBasedWorkflow` — the execution level: initial ``TaskReady`` events, a
  handler per ``TaskCompleted`` event and a completion condition.
* :class:`StateMachineWorkflow` — the lowest level: states are the sets of completed
  tasks, one guarded transition per task.

Mappings: :func:`dsl_to_events`, :func:`events_to_dsl`, :func:`dsl_to_state_machine`
and :func:`state_machine_to_dsl`; round trips give back the same DAG
(:meth:`WorkflowDSL.structure`). :func:`dsl_to_events` fixes seed defect #1 (the
completion condition on the roots instead of the sinks).

**P7 (overview §3, model equivalence)** is checked structurally by :func:`check_p7`,
and differentially: four interpreters (:func:`run_dsl`, :func:`run_dsl_simpy`,
:func:`run_events`, :func:`run_state_machine`) must give :func:`equivalent` results;
the execution semantics they share are on :class:`InterpreterResult`.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from wfsim.model.workflow import Edge, Task, Workflow, WorkflowValidationError

__all__ = [
    "AllTasksCompleted",
    "EventBasedWorkflow",
    "EventHandler",
    "InterpreterResult",
    "StateMachineWorkflow",
    "TaskCompleted",
    "TaskReady",
    "Transition",
    "TriggerEvent",
    "WorkflowDSL",
    "check_p7",
    "check_state_machine",
    "default_durations",
    "differences",
    "dsl_to_events",
    "dsl_to_state_machine",
    "equivalent",
    "events_to_dsl",
    "is_equivalent",
    "run_dsl",
    "run_dsl_simpy",
    "run_events",
    "run_state_machine",
    "seed_dsl_to_events",
    "state_machine_to_dsl",
    "task_output",
]


# --------------------------------------------------------------------------- outputs


def task_output(task_id: str, inputs: Sequence[str]) -> str:
    """The output of task ``task_id`` given its ordered inputs: a 16-hex-digit digest.

    Pure and deterministic (SHA-256, not Python's salted ``hash``). Callers pass the
    workflow input for a root and the predecessors' outputs sorted by predecessor id
    otherwise.
    """
    h = hashlib.sha256(task_id.encode())
    for value in inputs:
        h.update(b"\x00")
        h.update(value.encode())
    return h.hexdigest()[:16]


def _inputs(preds: Iterable[str], outputs: Mapping[str, str], workflow_input: str) -> list[str]:
    ordered = sorted(preds)
    return [outputs[p] for p in ordered] if ordered else [workflow_input]


# ------------------------------------------------------------------------------- DSL


@dataclass(frozen=True)
class WorkflowDSL:
    """The seed's ``WorkflowDSL{tasks, dependencies, conditions}`` (l.171–175).

    Attributes:
        name: Workflow name.
        tasks: Task specifications (the seed's ``TaskDefinition``); ids unique.
        dependencies: ``(from, to)`` pairs. Normalised to task order (by source,
            then target) so equal DAGs compare equal.
        conditions: Optional guard label per task id. As in the seed they are carried
            through every mapping but not interpreted by the interpreters.
        edge_bytes: Bytes per dependency, kept only for the round trip to
            :class:`Workflow` (missing pairs are 0).

    Raises:
        WorkflowValidationError: unknown ids, duplicate edges, cycles, or a condition
            on an unknown task.
    """

    name: str
    tasks: tuple[Task, ...]
    dependencies: tuple[tuple[str, str], ...] = ()
    conditions: Mapping[str, str] = field(default_factory=dict)
    edge_bytes: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        index = {t.id: i for i, t in enumerate(self.tasks)}
        deps = tuple((str(a), str(b)) for a, b in self.dependencies)
        for a, b in deps:
            for end in (a, b):
                if end not in index:
                    raise WorkflowValidationError(
                        f"DSL {self.name!r}: dependency {a!r} -> {b!r} names unknown task {end!r}"
                    )
        object.__setattr__(self, "dependencies", tuple(sorted(deps, key=lambda e: (index[e[0]], index[e[1]]))))
        object.__setattr__(self, "conditions", dict(self.conditions))
        object.__setattr__(self, "edge_bytes", dict(self.edge_bytes))
        for tid in self.conditions:
            if tid not in index:
                raise WorkflowValidationError(f"DSL {self.name!r}: condition on unknown task {tid!r}")
        self.to_workflow()  # validates: duplicates, cycles

    @classmethod
    def from_workflow(cls, workflow: Workflow, conditions: Mapping[str, str] | None = None) -> WorkflowDSL:
        """The DSL view of a :class:`Workflow` (task specs and edge sizes kept)."""
        deps = tuple((e.source, e.target) for e in workflow.edges)
        return cls(
            workflow.name,
            workflow.tasks,
            deps,
            dict(conditions or {}),
            {(e.source, e.target): e.nbytes for e in workflow.edges},
        )

    def to_workflow(self, **workflow: Any) -> Workflow:
        """A validated :class:`Workflow`; ``workflow`` passes payload fields
        (``input_bytes``, ``result_bytes``, ``deadline``)."""
        edges = [Edge(a, b, self.edge_bytes.get((a, b), 0.0)) for a, b in self.dependencies]
        return Workflow(self.name, self.tasks, edges, **workflow)

    @property
    def task_ids(self) -> tuple[str, ...]:
        """Task ids in declaration order."""
        return tuple(t.id for t in self.tasks)

    def predecessors(self) -> dict[str, frozenset[str]]:
        """Task id → ids of its direct predecessors."""
        preds: dict[str, set[str]] = {t: set() for t in self.task_ids}
        for a, b in self.dependencies:
            preds[b].add(a)
        return {t: frozenset(p) for t, p in preds.items()}

    def roots(self) -> frozenset[str]:
        """Tasks with no incoming dependency."""
        return frozenset(t for t, p in self.predecessors().items() if not p)

    def sinks(self) -> frozenset[str]:
        """Tasks with no outgoing dependency."""
        sources = {a for a, _ in self.dependencies}
        return frozenset(t for t in self.task_ids if t not in sources)

    def structure(self) -> tuple[tuple[str, ...], frozenset[tuple[str, str]], tuple[tuple[str, str], ...]]:
        """What the mappings must preserve: task ids, edge set, conditions."""
        return self.task_ids, frozenset(self.dependencies), tuple(sorted(self.conditions.items()))


# ---------------------------------------------------------------------- event model


@dataclass(frozen=True, order=True)
class TaskReady:
    """Event: ``task`` may start (one token per incoming trigger)."""

    task: str


@dataclass(frozen=True, order=True)
class TaskCompleted:
    """Event type: ``task`` has completed; the key of the handler table."""

    task: str


@dataclass(frozen=True)
class TriggerEvent:
    """Handler effect: emit ``event`` (the seed's ``Effect::TriggerEvent``)."""

    event: TaskReady


@dataclass(frozen=True)
class EventHandler:
    """The seed's ``EventHandler``: the effects run when its event fires."""

    task: str
    effects: tuple[TriggerEvent, ...] = ()


@dataclass(frozen=True)
class AllTasksCompleted:
    """Completion condition: the workflow is done once all ``tasks`` completed."""

    tasks: frozenset[str]


@dataclass(frozen=True)
class EventBasedWorkflow:
    """The seed's ``EventBasedWorkflow`` (l.178–182).

    Execution (:func:`run_events`) knows only this table: a task starts when it has
    received one ``TaskReady`` token per trigger aimed at it (initial events count as
    triggers), i.e. once all its predecessors completed — the AND-join the seed's
    handlers leave implicit. The run stops as soon as every completion condition
    holds. With the correct mapping the condition is "all **sinks** completed"
    (seed defect #1 used the roots; see :func:`dsl_to_events`).

    Attributes:
        name: Workflow name.
        tasks: Task specs (the interpreter needs durations; ids in declaration order).
        initial_events: ``TaskReady`` events delivered at time 0 with the workflow
            input as payload.
        handlers: ``TaskCompleted(a)`` → handlers whose effects trigger ``TaskReady(b)``
            for each edge ``(a, b)``; a completion event carries ``a``'s output.
        completion: Conditions that must all hold for the workflow to be complete.
        conditions: The DSL's uninterpreted per-task guard labels.
    """

    name: str
    tasks: tuple[Task, ...]
    initial_events: tuple[TaskReady, ...]
    handlers: Mapping[TaskCompleted, tuple[EventHandler, ...]]
    completion: tuple[AllTasksCompleted, ...]
    conditions: Mapping[str, str] = field(default_factory=dict)

    def triggers(self) -> list[tuple[str, str]]:
        """Every ``(a, b)`` such that ``TaskCompleted(a)`` triggers ``TaskReady(b)``."""
        return [
            (key.task, effect.event.task)
            for key, handlers in self.handlers.items()
            for handler in handlers
            for effect in handler.effects
        ]


def _events_from(dsl: WorkflowDSL, completion: frozenset[str]) -> EventBasedWorkflow:
    roots = dsl.roots()
    handlers: dict[TaskCompleted, tuple[EventHandler, ...]] = {}
    for tid in dsl.task_ids:
        effects = tuple(TriggerEvent(TaskReady(b)) for a, b in dsl.dependencies if a == tid)
        handlers[TaskCompleted(tid)] = (EventHandler(tid, effects),)
    return EventBasedWorkflow(
        name=dsl.name,
        tasks=dsl.tasks,
        initial_events=tuple(TaskReady(t) for t in dsl.task_ids if t in roots),
        handlers=handlers,
        completion=(AllTasksCompleted(completion),),
        conditions=dict(dsl.conditions),
    )


def dsl_to_events(dsl: WorkflowDSL) -> EventBasedWorkflow:
    """The seed's ``DSLToEventMapping::map`` (l.196–240) with defect #1 fixed.

    Initial events are ``TaskReady(r)`` for every root ``r``; the handler of
    ``TaskCompleted(a)`` triggers ``TaskReady(b)`` for each edge ``(a, b)``; the
    completion condition is ``AllTasksCompleted(sinks)`` (P7).

    **Seed defect #1 (overview §6).** The seed's mapping builds the completion
    condition from the tasks with *no incoming* edge — the roots — although it names
    them ``final_tasks``; its ``is_equivalent`` repeats the same filter, so the two
    agree with each other and the defect goes unnoticed. Completion must be the
    *sinks*: on a chain ``t0 → t1 → t2`` the roots version declares the workflow done
    as soon as ``t0`` finishes. This mapping uses the sinks;
    :func:`seed_dsl_to_events` reproduces the defect only so tests can document it.
    """
    return _events_from(dsl, dsl.sinks())


def seed_dsl_to_events(dsl: WorkflowDSL) -> EventBasedWorkflow:
    """The seed's mapping *as written*, with the completion condition on the roots.

    Kept only to document seed defect #1 (overview §6): its ``final_tasks`` filter
    ``!dependencies.any(|(_, to)| to == t)`` selects tasks without predecessors. Do
    not use it for anything else.
    """
    return _events_from(dsl, dsl.roots())


def events_to_dsl(events: EventBasedWorkflow) -> WorkflowDSL:
    """Recover the DSL: tasks from the task list, one dependency per trigger."""
    return WorkflowDSL(events.name, events.tasks, tuple(events.triggers()), dict(events.conditions))


def check_p7(dsl: WorkflowDSL, events: EventBasedWorkflow) -> list[str]:
    """P7 structural check (the seed's ``is_equivalent``, l.242–294, with sinks).

    The initial events must be exactly ``TaskReady(r)`` for the roots ``r``; there must
    be a handler effect ``TaskCompleted(a) → TaskReady(b)`` for every edge ``(a, b)``
    and no other; the completion condition must be ``AllTasksCompleted(sinks)``; and
    the task lists must agree.

    Returns:
        Human-readable violations; empty iff the event model is equivalent.
    """
    problems: list[str] = []
    initial = {e.task for e in events.initial_events}
    if initial != set(dsl.roots()):
        problems.append(f"initial events {sorted(initial)} != roots {sorted(dsl.roots())}")
    triggers = events.triggers()
    if len(triggers) != len(set(triggers)):
        problems.append("a trigger appears more than once")
    missing = set(dsl.dependencies) - set(triggers)
    extra = set(triggers) - set(dsl.dependencies)
    if missing:
        problems.append(f"edges without a TaskCompleted -> TaskReady handler: {sorted(missing)}")
    if extra:
        problems.append(f"handlers with no matching edge: {sorted(extra)}")
    sinks = dsl.sinks()
    if not any(c.tasks == sinks for c in events.completion):
        got = [sorted(c.tasks) for c in events.completion]
        problems.append(f"completion conditions {got} != AllTasksCompleted(sinks {sorted(sinks)})")
    if [t.id for t in events.tasks] != list(dsl.task_ids):
        problems.append("task lists differ")
    return problems


def is_equivalent(dsl: WorkflowDSL, events: EventBasedWorkflow) -> bool:
    """Whether :func:`check_p7` finds no violation."""
    return not check_p7(dsl, events)


# ---------------------------------------------------------------- state machine model


@dataclass(frozen=True)
class Transition:
    """A transition labelled by the completion of ``task``.

    It is enabled in state ``S`` iff ``guard ⊆ S`` and ``task ∉ S``, and leads to
    ``S ∪ {task}``. ``condition`` is the DSL's uninterpreted guard label, if any.
    """

    task: str
    guard: frozenset[str]
    condition: str | None = None


@dataclass(frozen=True)
class StateMachineWorkflow:
    """The seed's ``StateMachineWorkflow{states, transitions, initial_state,
    final_states}`` (l.185–190), with states = sets of completed tasks.

    A transition labelled ``t`` leaves every state that contains all of ``t``'s
    predecessors but not ``t``, the initial state is ``∅`` and the single accepting
    state is "every task done". The seed declares this struct but gives no mapping;
    :func:`dsl_to_state_machine` and :func:`state_machine_to_dsl` are wfsim's.

    States are given symbolically by the guarded transitions (the explicit state
    space of a wide DAG is exponential); :meth:`reachable_states` and
    :meth:`explicit_transitions` enumerate it for small workflows.

    Attributes:
        name: Workflow name.
        tasks: Task specs (the interpreter needs durations).
        transitions: One guarded transition per task.
        initial_state: ``frozenset()``: nothing completed.
        final_states: The accepting states: every task completed.
    """

    name: str
    tasks: tuple[Task, ...]
    transitions: tuple[Transition, ...]
    initial_state: frozenset[str] = frozenset()
    final_states: tuple[frozenset[str], ...] = ()

    def enabled(self, state: frozenset[str]) -> list[Transition]:
        """Transitions enabled in ``state``, in task-declaration order."""
        return [tr for tr in self.transitions if tr.task not in state and tr.guard <= state]

    def step(self, state: frozenset[str], task: str) -> frozenset[str]:
        """Fire the transition labelled ``task``.

        Raises:
            ValueError: it is not enabled in ``state``.
        """
        if not any(tr.task == task for tr in self.enabled(state)):
            raise ValueError(f"transition {task!r} is not enabled in state {sorted(state)}")
        return state | {task}

    def is_final(self, state: frozenset[str]) -> bool:
        """Whether ``state`` is accepting."""
        return state in self.final_states

    def reachable_states(self, limit: int = 100_000) -> set[frozenset[str]]:
        """Breadth-first enumeration of the reachable states.

        Raises:
            ValueError: more than ``limit`` states.
        """
        seen = {self.initial_state}
        frontier = [self.initial_state]
        while frontier:
            nxt = []
            for state in frontier:
                for tr in self.enabled(state):
                    new = state | {tr.task}
                    if new not in seen:
                        seen.add(new)
                        if len(seen) > limit:
                            raise ValueError(f"more than {limit} reachable states")
                        nxt.append(new)
            frontier = nxt
        return seen

    def explicit_transitions(self, limit: int = 100_000) -> Iterator[tuple[frozenset[str], str, frozenset[str]]]:
        """The explicit FSM: ``(state, task, next_state)`` for every reachable state."""
        for state in self.reachable_states(limit):
            for tr in self.enabled(state):
                yield state, tr.task, state | {tr.task}


def dsl_to_state_machine(dsl: WorkflowDSL) -> StateMachineWorkflow:
    """One transition per task, guarded by its predecessor set; accept when all done."""
    preds = dsl.predecessors()
    return StateMachineWorkflow(
        name=dsl.name,
        tasks=dsl.tasks,
        transitions=tuple(Transition(t, preds[t], dsl.conditions.get(t)) for t in dsl.task_ids),
        initial_state=frozenset(),
        final_states=(frozenset(dsl.task_ids),),
    )


def state_machine_to_dsl(sm: StateMachineWorkflow) -> WorkflowDSL:
    """Recover the DSL: an edge ``(p, t)`` for every ``p`` in ``t``'s guard."""
    deps = [(p, tr.task) for tr in sm.transitions for p in sorted(tr.guard)]
    conditions = {tr.task: tr.condition for tr in sm.transitions if tr.condition is not None}
    return WorkflowDSL(sm.name, sm.tasks, tuple(deps), conditions)


def check_state_machine(dsl: WorkflowDSL, sm: StateMachineWorkflow) -> list[str]:
    """Structural equivalence of the FSM with the DSL; empty iff equivalent."""
    problems: list[str] = []
    preds = dsl.predecessors()
    labels = [tr.task for tr in sm.transitions]
    if sorted(labels) != sorted(dsl.task_ids) or len(set(labels)) != len(labels):
        problems.append(f"transition labels {sorted(labels)} != tasks {sorted(dsl.task_ids)}")
    for tr in sm.transitions:
        if tr.task in preds and tr.guard != preds[tr.task]:
            problems.append(f"guard of {tr.task!r} is {sorted(tr.guard)}, predecessors are {sorted(preds[tr.task])}")
    if sm.initial_state != frozenset():
        problems.append("initial state is not the empty set")
    if sm.final_states != (frozenset(dsl.task_ids),):
        problems.append("accepting state is not 'all tasks completed'")
    return problems


# ------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class InterpreterResult:
    """The observable result of one interpreter run.

    Execution semantics shared by all interpreters:

    * Unbounded parallelism: a task starts the instant its last predecessor completes
      (roots at time 0) and runs for ``durations[task_id]`` (≥ 0; default
      ``work / cores``, i.e. :meth:`Workflow.critical_path_length` at speed 1).
    * Outputs are a pure function of the inputs (:func:`task_output`): a root consumes
      the workflow input; any other task consumes its predecessors' outputs ordered by
      predecessor id, so the arrival order of inputs does not matter.
    * Ties: events at equal times are handled in ``(finish time, task id)`` order,
      except that a task can never complete before one of its predecessors (zero
      durations create such ties). Results are compared modulo ties
      (:func:`equivalent`).

    Attributes:
        order: Completion order as the interpreter produced it (time-monotone and
            causal; ties otherwise in interpreter-specific order).
        start: Task id → start time.
        finish: Task id → finish time.
        outputs: Task id → output (:func:`task_output`).
        completed: Whether the model's completion condition was reached.
        completion_time: Time it was reached (or of the last completion if never).
        states: For the FSM interpreter, the visited states; empty otherwise.
    """

    order: tuple[str, ...]
    start: Mapping[str, float]
    finish: Mapping[str, float]
    outputs: Mapping[str, str]
    completed: bool
    completion_time: float
    states: tuple[frozenset[str], ...] = ()

    @property
    def canonical_order(self) -> tuple[str, ...]:
        """Completed tasks sorted by ``(finish time, task id)``: the order modulo ties."""
        return tuple(sorted(self.finish, key=lambda t: (self.finish[t], t)))

    @property
    def makespan(self) -> float:
        """Latest finish time (0 for an empty run)."""
        return max(self.finish.values(), default=0.0)


def differences(a: InterpreterResult, b: InterpreterResult) -> list[str]:
    """Why ``a`` and ``b`` are not equivalent modulo ties (empty iff they are)."""
    problems: list[str] = []
    if set(a.finish) != set(b.finish):
        problems.append(f"task sets differ: {sorted(set(a.finish) ^ set(b.finish))}")
        return problems
    for t in sorted(a.finish):
        if a.finish[t] != b.finish[t]:
            problems.append(f"{t}: finish {a.finish[t]!r} != {b.finish[t]!r}")
        if a.outputs.get(t) != b.outputs.get(t):
            problems.append(f"{t}: output {a.outputs.get(t)} != {b.outputs.get(t)}")
    if a.canonical_order != b.canonical_order:
        problems.append("canonical orders differ")
    if a.completed != b.completed:
        problems.append(f"completed {a.completed} != {b.completed}")
    return problems


def equivalent(a: InterpreterResult, b: InterpreterResult) -> bool:
    """Equivalence modulo ties: same tasks, per-task finish times and outputs, hence
    the same order after sorting by ``(finish, id)``, and the same completion flag.

    This is P7's differential check: :func:`run_dsl` (a static critical-path pass over
    the DAG), :func:`run_dsl_simpy` (a SimPy discrete-event run, the simulator's
    semantics), :func:`run_events` (an event queue that knows only the handler table)
    and :func:`run_state_machine` (a timed run of the FSM that knows only the
    transition guards) must all give equivalent results; the order modulo ties is
    :attr:`InterpreterResult.canonical_order`.
    """
    return not differences(a, b)


def default_durations(tasks: Iterable[Task], speed: float = 1.0) -> dict[str, float]:
    """``work / (speed * cores)`` per task, as :meth:`Workflow.critical_path_length`."""
    return {t.id: t.work / (speed * t.cores) for t in tasks}


def _durations(tasks: Sequence[Task], durations: Mapping[str, float] | None) -> dict[str, float]:
    if durations is None:
        return default_durations(tasks)
    out: dict[str, float] = {}
    for t in tasks:
        if t.id not in durations:
            raise ValueError(f"no duration for task {t.id!r}")
        d = float(durations[t.id])
        if not (d >= 0 and math.isfinite(d)):
            raise ValueError(f"duration of task {t.id!r} must be finite and >= 0, got {d}")
        out[t.id] = d
    return out


def run_dsl(dsl: WorkflowDSL, durations: Mapping[str, float] | None = None,
            workflow_input: str = "") -> InterpreterResult:
    """Static interpreter: one pass in topological order, ``finish = max(pred finish) + d``.

    The order is sorted by ``(finish, depth, id)`` where ``depth`` is the longest
    edge count from a root, which keeps zero-duration successors after their
    predecessors.
    """
    wf = dsl.to_workflow()
    d = _durations(dsl.tasks, durations)
    ids = dsl.task_ids
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    depth: dict[str, int] = {}
    outputs: dict[str, str] = {}
    for i in wf.topological_order:
        tid = ids[i]
        preds = [ids[p] for p in wf.predecessors[i]]
        start[tid] = max((finish[p] for p in preds), default=0.0)
        finish[tid] = start[tid] + d[tid]
        depth[tid] = max((depth[p] + 1 for p in preds), default=0)
        outputs[tid] = task_output(tid, _inputs(preds, outputs, workflow_input))
    order = tuple(sorted(ids, key=lambda t: (finish[t], depth[t], t)))
    return InterpreterResult(order, start, finish, outputs, True, max(finish.values()))


def run_dsl_simpy(dsl: WorkflowDSL, durations: Mapping[str, float] | None = None,
                  workflow_input: str = "") -> InterpreterResult:
    """Discrete-event interpreter on SimPy: one process per task that waits for its
    predecessors' ``done`` events, then holds for its duration — the simulator's
    semantics with unlimited resources."""
    d = _durations(dsl.tasks, durations)
    preds = dsl.predecessors()
    env = simpy.Environment()
    done = {t: env.event() for t in dsl.task_ids}
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    outputs: dict[str, str] = {}
    order: list[str] = []

    def task(tid: str):  # type: ignore[no-untyped-def]
        if preds[tid]:
            yield env.all_of([done[p] for p in sorted(preds[tid])])
        start[tid] = env.now
        yield env.timeout(d[tid])
        finish[tid] = env.now
        outputs[tid] = task_output(tid, _inputs(preds[tid], outputs, workflow_input))
        order.append(tid)
        done[tid].succeed()

    for tid in dsl.task_ids:
        env.process(task(tid))
    env.run()
    return InterpreterResult(tuple(order), start, finish, outputs, len(finish) == len(d),
                             max(finish.values(), default=0.0))


def run_events(events: EventBasedWorkflow, durations: Mapping[str, float] | None = None,
               workflow_input: str = "") -> InterpreterResult:
    """Event-queue interpreter that knows only the event model.

    ``TaskReady`` tokens are delivered synchronously; ``TaskCompleted`` events wait
    in a heap keyed ``(finish time, task id)``. A task starts once it holds one token
    per trigger aimed at it. After each completion the completion conditions are
    tested and the run stops as soon as they all hold.
    """
    d = _durations(events.tasks, durations)
    needed: dict[str, int] = {t.id: 0 for t in events.tasks}
    for e in events.initial_events:
        needed[e.task] += 1
    for _, b in events.triggers():
        needed[b] += 1
    received: dict[str, list[tuple[str, str]]] = {t: [] for t in needed}
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    outputs: dict[str, str] = {}
    order: list[str] = []
    heap: list[tuple[float, str]] = []

    def deliver(event: TaskReady, source: str, payload: str, now: float) -> None:
        received[event.task].append((source, payload))
        if len(received[event.task]) == needed[event.task]:
            start[event.task] = now
            heapq.heappush(heap, (now + d[event.task], event.task))

    def complete() -> bool:
        return all(c.tasks <= finish.keys() for c in events.completion)

    for e in events.initial_events:
        deliver(e, "", workflow_input, 0.0)
    now = 0.0
    done = complete()
    while heap and not done:
        now, tid = heapq.heappop(heap)
        finish[tid] = now
        # ordered by source id; a root's only token is the initial event's (source "")
        outputs[tid] = task_output(tid, [v for _, v in sorted(received[tid])])
        order.append(tid)
        for handler in events.handlers.get(TaskCompleted(tid), ()):
            for effect in handler.effects:
                deliver(effect.event, tid, outputs[tid], now)
        done = complete()
    return InterpreterResult(tuple(order), start, finish, outputs, done, now)


def run_state_machine(sm: StateMachineWorkflow, durations: Mapping[str, float] | None = None,
                      workflow_input: str = "") -> InterpreterResult:
    """Timed run of the FSM that knows only the transition guards.

    Every enabled transition is "in progress" since the moment it became enabled;
    the next one to fire is the in-progress one with the least ``(finish, task id)``.
    Outputs live in the state's data store: firing ``t`` reads the outputs of its
    guard set. Stops in an accepting state or when nothing is enabled.
    """
    d = _durations(sm.tasks, durations)
    guards = {tr.task: tr.guard for tr in sm.transitions}
    state = sm.initial_state
    enabled_at = {tr.task: 0.0 for tr in sm.enabled(state)}
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    outputs: dict[str, str] = {}
    order: list[str] = []
    states = [state]
    now = 0.0
    while not sm.is_final(state) and enabled_at:
        tid = min(enabled_at, key=lambda t: (enabled_at[t] + d[t], t))
        start[tid] = enabled_at.pop(tid)
        now = start[tid] + d[tid]
        state = sm.step(state, tid)
        states.append(state)
        finish[tid] = now
        outputs[tid] = task_output(tid, _inputs(guards[tid], outputs, workflow_input))
        order.append(tid)
        for tr in sm.enabled(state):
            enabled_at.setdefault(tr.task, now)
    return InterpreterResult(tuple(order), start, finish, outputs, sm.is_final(state), now, tuple(states))
