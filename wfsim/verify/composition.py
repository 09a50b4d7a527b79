"""Workflow combinators, their observational semantics, and composition contracts.

The seed (``000_6e1dffbb9b9f6ae0.txt`` l.817–1078, "组合规则形式化", digest part1 §1.6)
defines ``WorkflowCombinator::{Sequence, Parallel, Choice, Loop}``, a
``WorkflowComposer`` and a ``CompositionVerifier`` whose three laws are stubs
returning ``true``; l.1080–1287 ("组合安全性证明", part1 §1.7) adds composition
proofs, again stubbed. Here the laws are executable (P8) and the contracts are
checked (P9).

Fragments are :class:`Block` (a leaf: a :class:`~wfsim.model.workflow.Workflow` DAG
with task durations; :func:`task` builds a one-task block), :class:`Sequence`
``A ; B``, :class:`Parallel` ``A ‖ B``, :class:`Choice` ``A + B`` and :class:`Loop`.
Each has a :class:`Contract`, checked when a composite is constructed.

* :func:`evaluate` runs a fragment on an input (its :class:`Outcome`: output,
  makespan, blocks run);
* :func:`lower` reduces it, for one input, to one flat ``Workflow`` DAG whose critical
  path is the evaluated makespan;
* :func:`equivalent` is observational equivalence, with which
  :class:`CompositionVerifier` checks the laws.

The seed's linear ``Resource<T>`` (consumed exactly once) is :class:`LinearResource`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wfsim.model.workflow import Edge, Task, Workflow
from wfsim.verify.models import WorkflowDSL, default_durations, run_dsl, task_output

__all__ = [
    "Block",
    "Choice",
    "CompositionVerifier",
    "Contract",
    "ContractError",
    "Fragment",
    "HashPredicate",
    "LinearResource",
    "Loop",
    "Lowered",
    "Outcome",
    "Parallel",
    "ResourceReuseError",
    "Sequence",
    "WorkflowComposer",
    "canonical",
    "equivalent",
    "evaluate",
    "lower",
    "swap",
    "task",
]


class ContractError(ValueError):
    """A composition violates a P9 contract; the message names the keys."""


class ResourceReuseError(RuntimeError):
    """A :class:`LinearResource` was consumed twice."""


def _keys(values: Any) -> frozenset[str]:
    if isinstance(values, str):
        return frozenset({values})
    return frozenset(values)


def _show(keys: frozenset[str]) -> str:
    return "{" + ", ".join(sorted(keys)) + "}"


@dataclass(frozen=True)
class Contract:
    """Pre/postconditions and footprint of a fragment, as sets of keys.

    A :class:`Block` declares its contract; a composite derives its own from its parts'
    and checks, when it is constructed, the rule of its combinator (P9, overview §3):
    :class:`Sequence`, :class:`Parallel`, :class:`Choice` and :class:`Loop` say which.
    A violation raises :class:`ContractError`.

    Attributes:
        requires: Keys the input must carry (precondition).
        provides: Keys the output carries (postcondition).
        resources: Exclusive resources held while running.
        state_keys: Replicated-state keys read or written.
    """

    requires: frozenset[str] = frozenset()
    provides: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    state_keys: frozenset[str] = frozenset()


# ------------------------------------------------------------------------ fragments


@dataclass(frozen=True)
class Block:
    """A leaf fragment: a workflow DAG with task durations and a contract.

    Args:
        name: Block name (names the output and the lowered task ids).
        workflow: The DAG.
        durations: Task id → duration; default ``work / cores``.
        requires: Precondition keys.
        provides: Postcondition keys.
        resources: Exclusive resources.
        state_keys: State keys; ``None`` means the union of the tasks' ``state_keys``.
    """

    name: str
    workflow: Workflow
    durations: Mapping[str, float] | None = None
    requires: frozenset[str] = frozenset()
    provides: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    state_keys: frozenset[str] | None = None

    def __post_init__(self) -> None:
        durations = default_durations(self.workflow.tasks) if self.durations is None else dict(self.durations)
        for t in self.workflow.tasks:
            d = durations.get(t.id)
            if d is None or not (d >= 0 and math.isfinite(d)):
                raise ValueError(f"block {self.name!r}: task {t.id!r} needs a finite duration >= 0, got {d}")
        object.__setattr__(self, "durations", durations)
        for name in ("requires", "provides", "resources"):
            object.__setattr__(self, name, _keys(getattr(self, name)))
        if self.state_keys is None:
            object.__setattr__(self, "state_keys", frozenset().union(*(t.state_keys for t in self.workflow.tasks)))
        else:
            object.__setattr__(self, "state_keys", _keys(self.state_keys))

    @property
    def contract(self) -> Contract:
        """The block's declared contract."""
        return Contract(self.requires, self.provides, self.resources, self.state_keys or frozenset())


def task(name: str, duration: float = 1.0, *, requires: Any = (), provides: Any = (),
         resources: Any = (), state_keys: Any = ()) -> Block:
    """A one-task block whose task id is ``name``."""
    return Block(name, Workflow(name, [Task(name)]), {name: duration}, _keys(requires), _keys(provides),
                 _keys(resources), _keys(state_keys))


@dataclass(frozen=True)
class Sequence:
    """``first ; second``: ``second`` consumes ``first``'s output.

    Contract: post(A) ⇒ pre(B), i.e. ``B.requires ⊆ A.provides`` (the seed's
    ``SequentialCompositionProof``, whose implication was stubbed as ``Some``). Data
    flows as a pipeline, so ``pre(A;B) = pre(A)`` and ``post(A;B) = post(B)``; the
    footprints are unions. Evaluated, the outputs compose and the makespans add.

    Raises:
        ContractError: ``second.requires ⊄ first.provides``.
    """

    first: Fragment
    second: Fragment

    def __post_init__(self) -> None:
        pre, post = self.second.contract.requires, self.first.contract.provides
        if not pre <= post:
            raise ContractError(
                f"Sequence: the second fragment requires {_show(pre - post)} which the first does not "
                f"provide (it provides {_show(post)}); post(A) must imply pre(B)"
            )

    @property
    def contract(self) -> Contract:
        """``pre(A)``, ``post(B)``, unions of the footprints."""
        a, b = self.first.contract, self.second.contract
        return Contract(a.requires, b.provides, a.resources | b.resources, a.state_keys | b.state_keys)


@dataclass(frozen=True)
class Parallel:
    """``left ‖ right``: both consume the input; the output is the pair.

    Both consume the same input (a fork; the seed's version takes an input pair
    instead); the output is the pair ``(out_A, out_B)`` and the makespan the max of
    the two.

    Contract: ``no_conflict`` (the seed's ``ParallelCompositionProof``, stubbed as
    ``true`` there) — disjoint ``resources`` and disjoint ``state_keys``.
    ``pre``/``post``/``resources``/``state_keys`` are unions.

    Raises:
        ContractError: the branches share resources or state keys (``no_conflict``).
    """

    left: Fragment
    right: Fragment

    def __post_init__(self) -> None:
        a, b = self.left.contract, self.right.contract
        problems = []
        if a.resources & b.resources:
            problems.append(f"resources {_show(a.resources & b.resources)}")
        if a.state_keys & b.state_keys:
            problems.append(f"state keys {_show(a.state_keys & b.state_keys)}")
        if problems:
            raise ContractError(f"Parallel: the branches conflict on {' and '.join(problems)}; "
                                "no_conflict requires disjoint sets")

    @property
    def contract(self) -> Contract:
        """Unions of everything."""
        a, b = self.left.contract, self.right.contract
        return Contract(a.requires | b.requires, a.provides | b.provides,
                        a.resources | b.resources, a.state_keys | b.state_keys)


@dataclass(frozen=True)
class Choice:
    """``left + right``: ``predicate(input)`` true picks ``left``.

    ``predicate`` may be a bool (a fixed branch flag) or a deterministic callable,
    e.g. a :class:`HashPredicate`, so the branch is chosen deterministically.

    Contract: ``pre = pre(A) ∪ pre(B)`` (either may run), ``post = post(A) ∩ post(B)``
    (only what both guarantee); the footprints are unions.
    """

    left: Fragment
    right: Fragment
    predicate: Callable[[Any], bool] | bool = True

    def picks_left(self, value: Any) -> bool:
        """Which branch runs for ``value``."""
        return bool(self.predicate(value)) if callable(self.predicate) else bool(self.predicate)

    @property
    def contract(self) -> Contract:
        """``pre`` union, ``post`` intersection, footprint unions."""
        a, b = self.left.contract, self.right.contract
        return Contract(a.requires | b.requires, a.provides & b.provides,
                        a.resources | b.resources, a.state_keys | b.state_keys)


@dataclass(frozen=True)
class Loop:
    """Repeat ``body`` feeding its output back, until ``until(output)`` or ``max_iter``.

    The body runs at most ``max_iter`` times (the seed's ``loop_until`` has no bound),
    the iterations in sequence; ``Loop(body, 1) ≡ body``. Contract: with ``max_iter >
    1`` the body's output must satisfy its own precondition; the loop's contract is the
    body's.

    Raises:
        ValueError: ``max_iter < 1``.
        ContractError: ``max_iter > 1`` and the body's output does not satisfy its
            own precondition.
    """

    body: Fragment
    max_iter: int
    until: Callable[[Any], bool] | None = None

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ValueError(f"Loop: max_iter must be >= 1, got {self.max_iter}")
        c = self.body.contract
        if self.max_iter > 1 and not c.requires <= c.provides:
            raise ContractError(
                f"Loop: the body requires {_show(c.requires - c.provides)} which its own output does not "
                "provide, so iteration 2 cannot start"
            )

    @property
    def contract(self) -> Contract:
        """The body's contract."""
        return self.body.contract


Fragment = Block | Sequence | Parallel | Choice | Loop


# ------------------------------------------------------------------------ semantics


def canonical(value: Any) -> str:
    """A deterministic string for a fragment input or output (strings unchanged,
    tuples bracketed)."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return "(" + ",".join(canonical(v) for v in value) + ")"
    return repr(value)


@dataclass(frozen=True)
class HashPredicate:
    """A deterministic predicate: ``sha256(salt, canonical(value)) % modulus == residue``.

    Useful for :class:`Choice` and :class:`Loop` ``until`` in tests and notebooks.
    """

    salt: str = ""
    modulus: int = 2
    residue: int = 0

    def __call__(self, value: Any) -> bool:
        h = hashlib.sha256(f"{self.salt}\x00{canonical(value)}".encode()).hexdigest()
        return int(h, 16) % self.modulus == self.residue


@dataclass(frozen=True)
class Outcome:
    """What :func:`evaluate` observes.

    Attributes:
        output: A digest string for a block; a pair for a parallel composition.
        makespan: Critical-path time.
        steps: Names of the blocks executed, left to right.
    """

    output: Any
    makespan: float
    steps: tuple[str, ...] = ()


def _block_run(block: Block, value: Any) -> tuple[str, dict[str, float], dict[str, str]]:
    execution = run_dsl(WorkflowDSL.from_workflow(block.workflow), block.durations, canonical(value))
    sinks = sorted(block.workflow.tasks[i].id for i in block.workflow.sinks)
    output = task_output(block.name, [execution.outputs[s] for s in sinks])
    return output, dict(execution.finish), dict(execution.outputs)


def evaluate(fragment: Fragment, value: Any = "") -> Outcome:
    """Run ``fragment`` on input ``value``: output, makespan and executed blocks.

    The observational semantics (P8, overview §3):

    * a block runs its DAG with :func:`wfsim.verify.models.run_dsl` (input given to
      the roots); its output is :func:`~wfsim.verify.models.task_output` of the block
      name over its sinks' outputs ordered by sink id, its makespan the critical path
      of the task durations;
    * sequence: outputs compose, makespans add; parallel: the output pair, the max of
      the makespans; choice: the chosen branch; loop: the iterations in sequence.
    """
    if isinstance(fragment, Block):
        output, finish, _ = _block_run(fragment, value)
        return Outcome(output, max(finish.values()), (fragment.name,))
    if isinstance(fragment, Sequence):
        a = evaluate(fragment.first, value)
        b = evaluate(fragment.second, a.output)
        return Outcome(b.output, a.makespan + b.makespan, a.steps + b.steps)
    if isinstance(fragment, Parallel):
        a = evaluate(fragment.left, value)
        b = evaluate(fragment.right, value)
        return Outcome((a.output, b.output), max(a.makespan, b.makespan), a.steps + b.steps)
    if isinstance(fragment, Choice):
        return evaluate(fragment.left if fragment.picks_left(value) else fragment.right, value)
    if isinstance(fragment, Loop):
        current = Outcome(value, 0.0)
        for _ in range(fragment.max_iter):
            step = evaluate(fragment.body, current.output)
            current = Outcome(step.output, current.makespan + step.makespan, current.steps + step.steps)
            if fragment.until is not None and fragment.until(current.output):
                break
        return current
    raise TypeError(f"not a workflow fragment: {fragment!r}")


def swap(output: tuple[Any, Any]) -> tuple[Any, Any]:
    """Swap a parallel output pair."""
    left, right = output
    return right, left


def equivalent(a: Outcome, b: Outcome, *, rel_tol: float = 1e-9, abs_tol: float = 1e-9) -> bool:
    """Observational equivalence: equal outputs, makespans equal up to rounding.

    Makespans are compared with a tolerance because addition is not associative in
    floating point: ``(a+b)+c`` may differ from ``a+(b+c)`` in the last bit.
    """
    return a.output == b.output and math.isclose(a.makespan, b.makespan, rel_tol=rel_tol, abs_tol=abs_tol)


@dataclass(frozen=True)
class Lowered:
    """A fragment reduced to one flat DAG for one input.

    Attributes:
        workflow: The DAG; task ids are ``block/task`` (repeated blocks ``block~k``).
        durations: Task id → duration.
        output: The fragment's output (as :func:`evaluate`).
    """

    workflow: Workflow
    durations: Mapping[str, float]
    output: Any

    @property
    def makespan(self) -> float:
        """Critical path of the flat DAG."""
        return run_dsl(WorkflowDSL.from_workflow(self.workflow), self.durations).makespan


@dataclass
class _Builder:
    tasks: list[Task] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    def occurrence(self, name: str) -> str:
        self.seen[name] = self.seen.get(name, 0) + 1
        return name if self.seen[name] == 1 else f"{name}~{self.seen[name]}"

    def build(self, fragment: Fragment, value: Any) -> tuple[list[str], list[str], Any]:
        """Add ``fragment`` for input ``value``; return its roots, sinks and output."""
        if isinstance(fragment, Block):
            prefix = self.occurrence(fragment.name)
            wf = fragment.workflow
            for t in wf.tasks:
                new_id = f"{prefix}/{t.id}"
                self.tasks.append(dataclasses.replace(t, id=new_id))
                self.durations[new_id] = fragment.durations[t.id]  # type: ignore[index]
            self.edges.extend(Edge(f"{prefix}/{e.source}", f"{prefix}/{e.target}", e.nbytes) for e in wf.edges)
            output, _, _ = _block_run(fragment, value)
            return ([f"{prefix}/{wf.tasks[i].id}" for i in wf.roots],
                    [f"{prefix}/{wf.tasks[i].id}" for i in wf.sinks], output)
        if isinstance(fragment, Sequence):
            return self._chain([fragment.first, fragment.second], value)
        if isinstance(fragment, Parallel):
            ra, sa, oa = self.build(fragment.left, value)
            rb, sb, ob = self.build(fragment.right, value)
            return ra + rb, sa + sb, (oa, ob)
        if isinstance(fragment, Choice):
            return self.build(fragment.left if fragment.picks_left(value) else fragment.right, value)
        if isinstance(fragment, Loop):
            roots: list[str] = []
            sinks: list[str] = []
            for i in range(fragment.max_iter):
                r, s, value = self.build(fragment.body, value)
                self.edges.extend(Edge(a, b) for a in sinks for b in r)
                roots, sinks = (r if i == 0 else roots), s
                if fragment.until is not None and fragment.until(value):
                    break
            return roots, sinks, value
        raise TypeError(f"not a workflow fragment: {fragment!r}")

    def _chain(self, parts: list[Fragment], value: Any) -> tuple[list[str], list[str], Any]:
        ra, sa, value = self.build(parts[0], value)
        rb, sb, value = self.build(parts[1], value)
        self.edges.extend(Edge(a, b) for a in sa for b in rb)
        return ra, sb, value


def lower(fragment: Fragment, value: Any = "", name: str = "composed") -> Lowered:
    """Reduce ``fragment`` for input ``value`` to one flat :class:`Workflow` DAG.

    Sequence = every sink of A → every root of B; parallel = disjoint union; choice =
    the chosen branch; loop = the unrolled iterations, repeated blocks renamed
    ``name~2``, ``name~3``, …. The critical path of the result equals the makespan
    :func:`evaluate` gives.
    """
    builder = _Builder()
    _, _, output = builder.build(fragment, value)
    return Lowered(Workflow(name, builder.tasks, builder.edges), builder.durations, output)


# -------------------------------------------------------------- seed-named facades


class WorkflowComposer:
    """The seed's ``WorkflowComposer`` (l.907–1062) as constructors."""

    @staticmethod
    def sequence(a: Fragment, b: Fragment) -> Sequence:
        """``a ; b``."""
        return Sequence(a, b)

    @staticmethod
    def parallel(a: Fragment, b: Fragment) -> Parallel:
        """``a ‖ b``."""
        return Parallel(a, b)

    @staticmethod
    def choice(a: Fragment, b: Fragment, predicate: Callable[[Any], bool] | bool) -> Choice:
        """``a + b`` picked by ``predicate``."""
        return Choice(a, b, predicate)

    @staticmethod
    def loop_until(body: Fragment, until: Callable[[Any], bool], max_iter: int) -> Loop:
        """The seed's ``loop_until`` with the iteration bound it lacks."""
        return Loop(body, max_iter, until)


class CompositionVerifier:
    """The seed's ``CompositionVerifier`` (l.845–905), whose laws were stubs returning
    ``true``: here each law is checked by evaluating both sides on the given inputs.

    The laws, up to :func:`equivalent` (and tested with Hypothesis):

    * ``(A;B);C ≡ A;(B;C)``
    * ``A‖B ≡ swap(B‖A)``
    * ``(A+B);C ≡ (A;C)+(B;C)`` (same predicate)

    and ``Loop(body, n)`` runs the body at most ``n`` times, ``Loop(body, 1) ≡ body``.
    """

    @staticmethod
    def verify_sequence_associativity(a: Fragment, b: Fragment, c: Fragment, inputs: tuple[Any, ...] = ("",)) -> bool:
        """``(A;B);C ≡ A;(B;C)`` on every input."""
        left, right = Sequence(Sequence(a, b), c), Sequence(a, Sequence(b, c))
        return all(equivalent(evaluate(left, x), evaluate(right, x)) for x in inputs)

    @staticmethod
    def verify_parallel_commutativity(a: Fragment, b: Fragment, inputs: tuple[Any, ...] = ("",)) -> bool:
        """``A‖B ≡ swap(B‖A)`` on every input."""
        def swapped(x: Any) -> Outcome:
            o = evaluate(Parallel(b, a), x)
            return Outcome(swap(o.output), o.makespan)
        return all(equivalent(evaluate(Parallel(a, b), x), swapped(x)) for x in inputs)

    @staticmethod
    def verify_choice_distributivity(a: Fragment, b: Fragment, c: Fragment,
                                     predicate: Callable[[Any], bool] | bool,
                                     inputs: tuple[Any, ...] = ("",)) -> bool:
        """``(A+B);C ≡ (A;C)+(B;C)`` on every input."""
        left = Sequence(Choice(a, b, predicate), c)
        right = Choice(Sequence(a, c), Sequence(b, c), predicate)
        return all(equivalent(evaluate(left, x), evaluate(right, x)) for x in inputs)


class LinearResource:
    """The seed's pseudo-linear ``Resource<T>`` (l.1086–1100): consumed exactly once.

    Raises:
        ResourceReuseError: on a second :meth:`consume`.
    """

    __slots__ = ("_value", "_consumed")

    def __init__(self, value: Any) -> None:
        self._value = value
        self._consumed = False

    @property
    def consumed(self) -> bool:
        """Whether the token has been used."""
        return self._consumed

    def consume(self) -> Any:
        """Return the value and spend the token."""
        if self._consumed:
            raise ResourceReuseError("resource already consumed")
        self._consumed = True
        return self._value
