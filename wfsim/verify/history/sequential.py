"""Sequential consistency: some interleaving of the processes' programs is legal.

A history is sequentially consistent (Lamport 1979) if there is a total order of its
operations that respects each process's program order (not real time) and is legal
for the model. The search is a depth-first walk over *per-process cursors*: a node
is ``(next op index of every process, indeterminate ops taken, model state)``;
nodes are memoised, so each is expanded at most once.

Indeterminate operations may be taken or left out; once a process has one, it may
take effect any time after the process's preceding operations (the client stopped
waiting for it), so it is not ordered before the process's later operations.

Unlike linearizability, sequential consistency is not local: per-key checks only
help at the edges. A linearizable history (checked per key, on at most half of the
time budget) is sequentially consistent; a violation on one key is a violation of
the whole history (restricting a witness to one key keeps it legal). Only the
remaining case needs the joint search over all keys.

Before any search, :func:`impossible_read` looks in linear time for a read that no
interleaving can explain, and a differentiated history (unique values) is checked
for causal convergence, which sequential consistency implies. The search itself tries operations in call order (so on a
nearly linearizable history it walks almost straight to a witness) and skips moves
that would make a still-needed value unreachable (:class:`~.liveness.Liveness`).
Checking sequential consistency is NP-complete even with unique values (Gibbons &
Korach 1997), so what these do not settle may still end ``unknown``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from .linearizability import check_key
from .liveness import Liveness
from .model import History, KVModel, Model, Operation, RegisterModel, get_model, prepared_ops
from .result import Budget, BudgetExceeded, Counterexample, HistoryVerdict, PartitionResult, combine, no_gc

_CHECK_EVERY = 1024


def check_sequential(
    history: History | Sequence[Operation],
    model: str | Model = "register",
    budget: Budget | float | None = None,
) -> HistoryVerdict:
    """Check that a history is sequentially consistent with respect to ``model``.

    Args:
        history: The history to check.
        model: ``"register"``, ``"kv"`` or a :class:`Model` instance.
        budget: Time/state limits (a number means seconds); exceeding them gives
            ``"unknown"``.

    Returns:
        A :class:`HistoryVerdict`. On ``ok`` the partitions' ``order`` lists are
        witnesses (per-key linearizations when the history is linearizable, else one
        interleaving of all operations); on violation the counterexample holds the longest
        legal interleaving prefix found and an operation that cannot follow it.
    """
    start = time.perf_counter()
    model = get_model(model)
    budget = Budget.coerce(budget)
    deadline = budget.deadline(start)
    ops = prepared_ops(history, model)
    by_id = {op.id: op for op in ops}

    def finish(parts: list[PartitionResult], reason: str | None = None) -> HistoryVerdict:
        verdict, cex, why = combine(parts)
        if cex is not None and not cex.operations:
            cex.attach(by_id, model)
        return HistoryVerdict(
            verdict=verdict, consistency="sequential", model=model.name, partitions=parts,
            counterexample=cex, elapsed=time.perf_counter() - start,
            explored=sum(p.explored for p in parts), reason=why or (reason if verdict == "ok" else None),
        )

    cex = impossible_read(ops, model)
    if cex is not None:
        return finish([PartitionResult(cex.key, "violation", len(ops), 0, time.perf_counter() - start,
                                       counterexample=cex, method="pre-check")])
    parts_by_key = model.partition(ops)
    # Linearizable implies sequentially consistent, and the real-time check is
    # usually far cheaper: try it first, on at most half of the time budget.
    lin_deadline = start + (deadline - start) / 2
    lin = []
    for key, part in sorted(parts_by_key.items(), key=lambda kv: len(kv[1])):
        res = check_key(part, model, key, lin_deadline, budget.max_states)
        lin.append(res)
        if res.verdict != "ok":
            break
    if all(p.verdict == "ok" for p in lin):
        for p in lin:
            p.counterexample = None
        return finish(lin, "the history is linearizable, hence sequentially consistent")

    cex = _not_causally_convergent(ops, model, deadline, budget.max_states)
    if cex is not None:
        return finish([PartitionResult(cex.key, "violation", len(ops), 0, time.perf_counter() - start,
                                       counterexample=cex, method="causal-ccv")])
    if len(parts_by_key) <= 1:
        key = next(iter(parts_by_key), None)
        return finish([search_sequential(ops, model, deadline, budget.max_states, key)])
    # A violation on one key is a violation of the whole history.
    per_key = []
    for key, part in sorted(parts_by_key.items(), key=lambda kv: len(kv[1])):
        res = search_sequential(part, model, deadline, budget.max_states, key)
        per_key.append(res)
        if res.verdict == "violation":
            return finish([res])
    return finish([search_sequential(ops, model, deadline, budget.max_states, None)])


def _not_causally_convergent(
    ops: Sequence[Operation], model: Model, deadline: float, max_states: int | None
) -> Counterexample | None:
    """A CCv bad pattern of a differentiated history (``None``: none, or not checkable).

    Sequential consistency implies causal convergence (the witness order is an
    arbitration order that extends the causal order), and for differentiated
    histories CCv takes ``O(n · processes)``, unlike the search. Any time left is
    the search's, so the check stops at half of what remains.
    """
    from .causal import find_bad_pattern, not_differentiated  # causal builds on this module

    if not_differentiated(ops, model) is not None:
        return None
    now = time.perf_counter()
    try:
        return find_bad_pattern(ops, model, "ccv", now + (deadline - now) / 2, max_states)
    except BudgetExceeded:
        return None


def impossible_read(
    ops: Sequence[Operation], model: Model, kind: str = "sequential", program_order: bool = True
) -> Counterexample | None:
    """A read no interleaving can explain, found in linear time (``None`` if there is none).

    Two necessary conditions of sequential consistency (hence of linearizability),
    checked for the built-in models on keys without ``append``:

    * *thin air*: a read returns a value, other than the initial one, that no write
      or ``cas`` (successful or indeterminate) of that key produces;
    * *overwritten by its own process*: process ``p`` writes ``b`` to a key and later
      reads ``v != b`` from it, but every operation that can produce ``v`` (and the
      initial state, if ``v`` is the initial value) is a definite operation of ``p``
      before that write. Program order puts all of them before the write, and the
      read after it, so no operation can put ``v`` back in between.

    Args:
        ops: Prepared operations.
        model: The model.
        kind: ``kind`` of the counterexample.
        program_order: Whether to look for the second condition (it relies on each
            process's operations being ordered by their calls).
    """
    if type(model) not in (RegisterModel, KVModel):
        return None
    appended = {op.key for op in ops if op.f == "append"}
    plan = _plan(ops)
    position: dict[int, tuple[int, int]] = {}  # op id -> (process index, position in its chain)
    for p, chain in enumerate(plan.chains):
        for j, op in enumerate(chain):
            position[op.id] = (p, j)
    # (key, value) -> (process, last position) if every producer is a definite op of
    # that one process (process None: only the initial state), else "many".
    producers: dict[tuple[Hashable, Hashable], tuple[int | None, int] | str] = {}
    for op in ops:
        if op.f in model.read_functions or op.key in appended:
            continue
        value = op.value[1] if op.f == "cas" else op.value
        if op.f == "cas" and op.status == "fail":
            continue
        where = position.get(op.id)  # absent: indeterminate
        prev = producers.get((op.key, value), (None, -1))
        if where is None or isinstance(prev, str) or (prev[0] is not None and prev[0] != where[0]):
            producers[(op.key, value)] = "many"
        else:
            producers[(op.key, value)] = (where[0], max(prev[1], where[1]))
    for p, chain in enumerate(plan.chains):
        last_write: dict[Hashable, tuple[int, Operation]] = {}
        for j, op in enumerate(chain):
            if op.key in appended:
                continue
            if op.f not in model.read_functions:
                if op.f != "cas":
                    last_write[op.key] = (j, op)
                continue
            init = model.init(op.key)
            made = producers.get((op.key, op.output))
            if made is None and op.output != init:
                return Counterexample(
                    kind, f"{model.describe(op)} returns a value that no operation writes",
                    key=op.key, blocked=op.id, ops=[op.id], state=init)
            if not program_order or op.key not in last_write or isinstance(made, str):  # "many"
                continue
            j_b, b = last_write[op.key]
            proc, last = made if made is not None else (None, -1)
            if b.value != op.output and proc in (None, p) and last < j_b:
                return Counterexample(
                    kind,
                    f"{model.describe(op)} comes after its own process's {model.describe(b)}, and every "
                    f"operation that could produce {op.output!r} again comes before that write",
                    key=op.key, blocked=op.id, ops=[b.id, op.id], state=init)
    return None


@dataclass
class _Plan:
    chains: list[list[Operation]]  # definite ops of each process, in program order
    optional: list[tuple[Operation, int, int]]  # (op, process index, ops of it that precede)
    key_index: dict[Hashable | None, int]


def _plan(ops: Sequence[Operation]) -> _Plan:
    by_proc: dict[Hashable, list[Operation]] = {}
    for op in sorted(ops, key=lambda o: (o.call, o.id)):
        by_proc.setdefault(op.process, []).append(op)
    chains: list[list[Operation]] = []
    optional = []
    for p, (_, seq) in enumerate(by_proc.items()):
        chain: list[Operation] = []
        for op in seq:
            if op.indeterminate:
                optional.append((op, p, len(chain)))
            else:
                chain.append(op)
        chains.append(chain)
    keys = {op.key: None for op in ops}
    return _Plan(chains, optional, {k: i for i, k in enumerate(keys)})


@no_gc()
def search_sequential(
    ops: Sequence[Operation],
    model: Model,
    deadline: float = float("inf"),
    max_states: int | None = None,
    key: Hashable | None = None,
) -> PartitionResult:
    """Search for a legal interleaving respecting program order.

    Args:
        ops: Prepared operations (any number of keys).
        model: Sequential specification (per key; states are combined).
        deadline: Absolute ``time.perf_counter()`` to give up at.
        max_states: Maximum memoised search nodes.
        key: Key reported in the result (``None`` for a multi-key search).

    Returns:
        A :class:`PartitionResult` whose ``order`` is a witness when ``ok``.
    """
    start = time.perf_counter()
    plan = _plan(ops)
    chains, optional, key_index = plan.chains, plan.optional, plan.key_index
    lengths = tuple(len(c) for c in chains)
    op_key = {op.id: key_index[op.key] for op in ops}
    init_states: list[Hashable] = [None] * len(key_index)
    for k, i in key_index.items():
        init_states[i] = model.init(k)
    step = model.step
    limit = max_states if max_states is not None else float("inf")
    live = Liveness(ops, model, op_key)
    kills = live.kills if live.enabled else None

    def successors(node: tuple) -> list[tuple[Operation, tuple]]:
        cursors, taken, states = node
        out = []
        for p, chain in enumerate(chains):
            c = cursors[p]
            if c < lengths[p]:
                op = chain[c]
                k = op_key[op.id]
                legal, ns = step(states[k], op)
                if legal and not (kills and kills(op, k, states[k], ns)):
                    out.append((op.call, op, (cursors[:p] + (c + 1,) + cursors[p + 1:], taken,
                                              states[:k] + (ns,) + states[k + 1:])))
        for j, (op, p, after) in enumerate(optional):
            if not taken >> j & 1 and cursors[p] >= after:
                k = op_key[op.id]
                ns = step(states[k], op)[1]
                if not (kills and kills(op, k, states[k], ns)):
                    out.append((math.inf, op, (cursors, taken | 1 << j, states[:k] + (ns,) + states[k + 1:])))
        # Popped from the end: definite operations first, earliest call first, so the
        # walk follows real time (a near-linearizable history is nearly a witness)
        # and optional operations come last.
        out.sort(key=lambda t: (t[0], t[1].id), reverse=True)
        return [(op, node) for _, op, node in out]

    root = ((0,) * len(chains), 0, tuple(init_states))
    if root[0] == lengths:
        return PartitionResult(key, "ok", len(ops), 1, time.perf_counter() - start, order=[], method="search")
    seen = {root}
    path: list[Operation] = []
    best: list[Operation] = []  # longest path seen; its first ``agree`` ops are still ``path``'s
    agree = 0
    frames = [successors(root)]
    iterations = 0
    while frames:
        iterations += 1
        if iterations % _CHECK_EVERY == 0 and time.perf_counter() > deadline:
            return PartitionResult(key, "unknown", len(ops), len(seen), time.perf_counter() - start,
                                   reason="time budget exhausted", method="search")
        todo = frames[-1]
        if not todo:
            frames.pop()
            if path:
                live.restore(path.pop())
                agree = min(agree, len(path))
            continue
        op, node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if len(seen) > limit:
            return PartitionResult(key, "unknown", len(ops), len(seen), time.perf_counter() - start,
                                   reason="state budget exhausted", method="search")
        path.append(op)
        live.consume(op)
        if node[0] == lengths:
            return PartitionResult(key, "ok", len(ops), len(seen), time.perf_counter() - start,
                                   order=[o.id for o in path], method="search")
        if len(path) > len(best):
            # Copy only what changed since ``best`` was last the path: linear overall.
            del best[agree:]
            best.extend(path[agree:])
            agree = len(path)
        frames.append(successors(node))
    return _violation(ops, model, plan, best, key, len(seen), start)


def _violation(
    ops: Sequence[Operation], model: Model, plan: _Plan, best: list[Operation],
    key: Hashable | None, explored: int, start: float,
) -> PartitionResult:
    done = {op.id for op in best}
    states: dict[Hashable | None, Hashable] = {}
    for op in best:
        states[op.key] = model.step(states.get(op.key, model.init(op.key)), op)[1]
    heads = [next(op for op in chain if op.id not in done) for chain in plan.chains
             if any(op.id not in done for op in chain)]
    blocked = next((op for op in heads
                    if not model.step(states.get(op.key, model.init(op.key)), op)[0]), heads[0] if heads else None)
    desc = (
        "no interleaving respects program order: after the longest legal prefix "
        f"({len(best)} of {len(ops)} ops), no process can take its next operation"
        + (f", e.g. {model.describe(blocked)}" if blocked is not None else "")
    )
    cex = Counterexample(
        kind="sequential", description=desc, key=key, prefix=[op.id for op in best],
        blocked=blocked.id if blocked is not None else None, ops=[op.id for op in heads],
        state=next(iter(states.values()), None) if len(states) <= 1 else states,
    )
    return PartitionResult(key, "violation", len(ops), explored, time.perf_counter() - start, counterexample=cex,
                           method="search")
