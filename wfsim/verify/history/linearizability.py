"""Linearizability checking with the Wing–Gong/Lowe search used by Porcupine.

Each key is checked on its own (linearizability is local, so a history is
linearizable iff every per-key sub-history is). For one key, the call and return
events are sorted by time into a doubly linked list. The search walks the list:
at a call it tries to linearize that operation now (model step legal, and the pair
``(set of linearized ops, model state)`` not seen before), *lifting* the call and
its return out of the list; reaching a return means that operation should already
have been linearized, so it backtracks by *unlifting* the last choice. The cache
of ``(bitset, state)`` pairs is what makes this practical (Lowe 2017); so does
refusing to overwrite a value that an unlinearized read still needs and nothing
can write again (:class:`~.liveness.Liveness`).

Indeterminate operations return at ``+inf``: all their return events sit at the end
of the list, so reaching one means every definite operation is linearized, and the
remaining indeterminate ones can be left out — success.

Events with equal timestamps are ordered calls-first, so touching intervals count
as concurrent (as in Porcupine).

The linearized set is hashed in time proportional to the number of operations open
at once, not to the history (see :func:`check_partition`), and the longest prefix
kept for counterexamples is updated incrementally, so a history the search walks
through without backtracking costs linear time.

Keys whose written values are all distinct are decided in ``O(n log n)`` by
:mod:`.readmap` instead, at any concurrency.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence

from .liveness import Liveness
from .model import History, Model, Operation, get_model, prepared_ops
from .readmap import check_read_mapping, not_unique_values
from .result import Budget, Counterexample, HistoryVerdict, PartitionResult, combine, no_gc

_CHECK_EVERY = 2048  # loop iterations between wall-clock checks


def check_linearizability(
    history: History | Sequence[Operation],
    model: str | Model = "register",
    budget: Budget | float | None = None,
    *,
    read_mapping: bool = True,
) -> HistoryVerdict:
    """Check that a history is linearizable with respect to ``model``.

    Args:
        history: The history to check.
        model: ``"register"``, ``"kv"`` or a :class:`Model` instance.
        budget: Time/state limits (a number means seconds); exceeding them gives
            verdict ``"unknown"``, never a guess.
        read_mapping: Decide keys whose written values are unique with the
            polynomial check of :mod:`.readmap` instead of the search (``False``
            forces the search, for comparisons).

    Returns:
        A :class:`HistoryVerdict`; on violation its counterexample holds the
        longest linearizable prefix found, the operation that cannot follow it,
        and the key.
    """
    start = time.perf_counter()
    model = get_model(model)
    budget = Budget.coerce(budget)
    deadline = budget.deadline(start)
    ops = prepared_ops(history, model)
    by_id = {op.id: op for op in ops}
    parts: list[PartitionResult] = []
    # Small partitions first: they are cheap, and one violation decides the
    # verdict, so the (possibly expensive) rest is skipped.
    violated = False
    for key, part in sorted(model.partition(ops).items(), key=lambda kv: len(kv[1])):
        if violated:
            parts.append(PartitionResult(key, "unknown", len(part), reason="not checked: another key is violated"))
            continue
        res = check_key(part, model, key, deadline, budget.max_states, read_mapping=read_mapping)
        if res.counterexample is not None:
            res.counterexample.attach(by_id, model)
        violated = res.verdict == "violation"
        parts.append(res)
    verdict, cex, reason = combine(parts)
    return HistoryVerdict(
        verdict=verdict,
        consistency="linearizable",
        model=model.name,
        partitions=parts,
        counterexample=cex,
        elapsed=time.perf_counter() - start,
        explored=sum(p.explored for p in parts),
        reason=reason,
    )


def check_key(
    ops: Sequence[Operation],
    model: Model,
    key: Hashable | None = None,
    deadline: float = float("inf"),
    max_states: int | None = None,
    *,
    read_mapping: bool = True,
) -> PartitionResult:
    """Check one key: by read mapping when its written values are unique, else by search.

    Args:
        ops: Prepared operations of a single key.
        model: Sequential specification.
        key: Partition key (for reporting).
        deadline: Absolute ``time.perf_counter()`` value to stop at.
        max_states: Maximum number of cached states of the search.
        read_mapping: Whether the polynomial check may be used.
    """
    why_not = not_unique_values(ops, model, key) if read_mapping else "disabled"
    if why_not is None:
        res = check_read_mapping(ops, model, key, deadline)
        if res.counterexample is not None:
            _add_prefix(res.counterexample, ops, model, key, deadline, read_mapping=True)
        return res
    # A thin-air read refutes linearizability at once; the search would have to
    # exhaust every order of the operations before it. (Imported here: the
    # sequential checker builds on this module.)
    from .sequential import impossible_read

    start = time.perf_counter()
    cex = impossible_read(ops, model, kind="linearizability", program_order=False)
    if cex is not None:
        _add_prefix(cex, ops, model, key, deadline, read_mapping=False)
        return PartitionResult(key, "violation", len(ops), 0, time.perf_counter() - start,
                               counterexample=cex, method="pre-check")
    res = check_partition(ops, model, key, deadline, max_states)
    if res.verdict == "unknown" and read_mapping:
        res.reason = f"{res.reason}; the polynomial read-mapping check does not apply: {why_not}"
    return res


@no_gc()
def _add_prefix(
    cex: Counterexample, ops: Sequence[Operation], model: Model, key: Hashable | None,
    deadline: float, read_mapping: bool,
) -> None:
    """Give a counterexample found without search a legal prefix and its state.

    The prefix is a linearization of every operation that returned before the
    blocked one was called (those must all precede it), when one is found cheaply:
    by read mapping, or by a search of at most :data:`_PREFIX_STATES` states and one
    second. Otherwise the counterexample keeps an empty prefix.
    """
    blocked = next((op for op in ops if op.id == cex.blocked), None)
    if blocked is None:
        return
    before = [op for op in ops if op.ret < blocked.call]
    if read_mapping and not_unique_values(before, model, key) is None:
        sub = check_read_mapping(before, model, key)
    else:
        sub = check_partition(before, model, key, min(deadline, time.perf_counter() + 1.0), _PREFIX_STATES)
    if sub.verdict != "ok" or sub.order is None:
        return
    by_id = {op.id: op for op in before}
    state = model.init(key)
    for i in sub.order:
        state = model.step(state, by_id[i])[1]
    cex.prefix, cex.state = list(sub.order), state


_PREFIX_STATES = 100_000


def check_partition(
    ops: Sequence[Operation],
    model: Model,
    key: Hashable | None = None,
    deadline: float = float("inf"),
    max_states: int | None = None,
) -> PartitionResult:
    """Run the search on the operations of one key (already prepared).

    Args:
        ops: Operations of a single partition.
        model: Sequential specification.
        key: Partition key (for reporting).
        deadline: Absolute ``time.perf_counter()`` value to stop at.
        max_states: Maximum number of cached ``(linearized set, state)`` pairs.

    Returns:
        The partition's verdict, with a witness order (op ids) when ``ok``.
    """
    start = time.perf_counter()
    n = len(ops)
    # Event list: node 0 is the head sentinel, node 2n+1 the tail sentinel.
    events = sorted(
        [(op.call, 0, i) for i, op in enumerate(ops)] + [(op.ret, 1, i) for i, op in enumerate(ops)]
    )
    tail = 2 * n + 1
    nxt = list(range(1, tail + 1)) + [tail]
    prv = [0] + list(range(tail))
    node_op = [-1] * (tail + 1)
    is_call = [False] * (tail + 1)
    ret_node = [0] * n
    for pos, (_, kind, i) in enumerate(events, 1):
        node_op[pos] = i
        if kind == 0:
            is_call[pos] = True
        else:
            ret_node[i] = pos
    open_return = [op.indeterminate for op in ops]
    step = model.step
    # The linearized set, kept small enough to hash in O(concurrency): definite ops
    # are ranked by call; all ranks below ``low`` are linearized and ``window`` holds
    # the ranks from ``low`` on (bit k: rank low + k). Any linearized op was called
    # before the unlinearized op ``low`` returns, so the window stays about as wide
    # as the number of ops open at once. Indeterminate ops (never returning) get their
    # own plain bitset ``extra``.
    rank = [0] * n
    n_definite = n_info = 0
    for _, kind, i in events:
        if kind == 0:
            if open_return[i]:
                rank[i], n_info = n_info, n_info + 1
            else:
                rank[i], n_definite = n_definite, n_definite + 1

    live = Liveness(ops, model)
    kills = live.kills if live.enabled else None
    state = model.init(key)
    low, window, extra = 0, 0, 0
    cache: set[tuple[int, int, int, Hashable]] = set()
    # (call node, state, low, window, extra) before each linearized op: restoring a
    # frame undoes the op in O(1).
    stack: list[tuple[int, Hashable, int, int, int]] = []
    # Longest stack seen, as op indices; ``agree`` is how much of it the stack still
    # shares. Updating only the part that changed keeps this linear overall.
    best: list[int] = []
    agree = 0
    limit = max_states if max_states is not None else float("inf")
    iterations = 0
    entry = nxt[0]
    while entry != tail:
        iterations += 1
        if iterations % _CHECK_EVERY == 0 and time.perf_counter() > deadline:
            return _unknown(key, n, len(cache), start, "time budget exhausted")
        i = node_op[entry]
        if is_call[entry]:
            legal, new_state = step(state, ops[i])
            if legal and not (kills and kills(ops[i], 0, state, new_state)):
                k = rank[i]
                if open_return[i]:
                    new_low, new_window, new_extra = low, window, extra | 1 << k
                else:
                    new_window, new_low, new_extra = window | 1 << (k - low), low, extra
                    if k == low:  # drop the now-complete prefix from the window
                        shift = (~new_window & (new_window + 1)).bit_length() - 1
                        new_window >>= shift
                        new_low += shift
                memo = (new_low, new_window, new_extra, new_state)
                if memo not in cache:
                    cache.add(memo)
                    if len(cache) > limit:
                        return _unknown(key, n, len(cache), start, "state budget exhausted")
                    stack.append((entry, state, low, window, extra))
                    live.consume(ops[i])
                    if len(stack) > len(best):
                        del best[agree:]
                        best.extend(node_op[frame[0]] for frame in stack[agree:])
                        agree = len(stack)
                    state, low, window, extra = new_state, new_low, new_window, new_extra
                    # lift: unlink the call and its return
                    r = ret_node[i]
                    nxt[prv[entry]] = nxt[entry]
                    prv[nxt[entry]] = prv[entry]
                    nxt[prv[r]] = nxt[r]
                    prv[nxt[r]] = prv[r]
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            if open_return[i]:
                break  # only indeterminate ops remain: leave them out
            if not stack:
                return _violation(ops, model, key, best, len(cache), start)
            entry, state, low, window, extra = stack.pop()
            if len(stack) < agree:
                agree = len(stack)
            j = node_op[entry]
            live.restore(ops[j])
            # unlift, in reverse order of the unlinking
            r = ret_node[j]
            nxt[prv[r]] = r
            prv[nxt[r]] = r
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            entry = nxt[entry]
    order = [ops[node_op[frame[0]]].id for frame in stack]
    return PartitionResult(
        key=key, verdict="ok", n_ops=n, explored=len(cache),
        elapsed=time.perf_counter() - start, order=order, method="search",
    )


def _unknown(key: Hashable | None, n: int, explored: int, start: float, reason: str) -> PartitionResult:
    return PartitionResult(
        key=key, verdict="unknown", n_ops=n, explored=explored,
        elapsed=time.perf_counter() - start, reason=reason, method="search",
    )


def _violation(
    ops: Sequence[Operation], model: Model, key: Hashable | None, best: list[int], explored: int, start: float
) -> PartitionResult:
    # Replay the longest prefix; the op that cannot follow it is the remaining one
    # that returns first: the search always stopped at its return event.
    state = model.init(key)
    for i in best:
        state = model.step(state, ops[i])[1]
    done = set(best)
    remaining = [i for i in range(len(ops)) if i not in done]
    blocked = min(remaining, key=lambda i: (ops[i].ret, ops[i].call)) if remaining else None
    prefix = [ops[i].id for i in best]
    blocked_id = ops[blocked].id if blocked is not None else None
    desc = (
        f"no linearization of key {key!r}: after the longest linearizable prefix "
        f"({len(prefix)} of {len(ops)} ops) the state is {state!r}, and "
        f"{model.describe(ops[blocked]) if blocked is not None else 'nothing'} cannot be linearized "
        "before it returns"
    )
    cex = Counterexample(
        kind="linearizability", description=desc, key=key, prefix=prefix,
        blocked=blocked_id, ops=[] if blocked_id is None else [blocked_id], state=state,
    )
    return PartitionResult(
        key=key, verdict="violation", n_ops=len(ops), explored=explored,
        elapsed=time.perf_counter() - start, counterexample=cex, method="search",
    )
