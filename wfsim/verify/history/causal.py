"""Causal consistency (CM and CCv) via the bad patterns of Bouajjani et al.

Reference: A. Bouajjani, C. Enea, R. Guerraoui, J. Hamza, *On Verifying Causal
Consistency*, POPL 2017. For a *differentiated* read/write history (every value is
written at most once per key, never the initial value), the reads-from relation
``wr`` is determined by the values, the causal order is ``CO = (PO ∪ wr)+`` and
each causal model is characterised by the absence of a few bad patterns:

=================  ==========================================================
CyclicCO           ``CO`` has a cycle
WriteCOInitRead    a read of the initial value of ``x`` is CO-after a write of ``x``
ThinAirRead        a read returns a value no write wrote
WriteCORead        ``w1 <CO w2 <CO r`` where ``r`` reads from ``w1``, ``w2`` writes the same key
WriteHBInitRead    (CM) a read of the initial value of ``x`` is HB-after a write of ``x``
CyclicHB           (CM) the happens-before relation of some process is cyclic
CyclicCF           (CCv) ``CO ∪ CF`` is cyclic
=================  ==========================================================

*Causal memory* (CM) requires each process to explain its own reads with one
serialization of its causal past. Its happens-before ``HB_p`` is the smallest
transitive relation containing ``CO`` on that past and such that, whenever a read
``r`` of ``p`` reads ``x`` from ``w'`` and another write ``w`` of ``x`` is
``HB_p``-before ``r``, also ``w HB_p w'`` (``w`` must be overwritten by ``w'``
before ``r``). *Causal convergence* (CCv) requires one global arbitration order; its
conflict relation is ``w CF w'`` whenever ``w <CO r`` and ``r`` reads from ``w'``.

Histories outside this fragment (``cas``, ``append``, repeated values) are reduced
soundly: a value read but never written is still a ThinAirRead, and a sequentially
consistent history is causally consistent; otherwise the verdict is ``unknown``
with the reason.

Indeterminate writes are dropped unless some read returns their value (then they
took effect). An indeterminate operation is ordered after its process's earlier
operations but not before its later ones.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import Literal

import networkx as nx

from .model import History, Model, Operation, get_model, prepared_ops
from .result import Budget, Counterexample, HistoryVerdict, PartitionResult
from .sequential import check_sequential

CausalVariant = Literal["cm", "ccv"]
WRITE_FUNCTIONS = frozenset({"write", "put"})


def check_causal(
    history: History | Sequence[Operation],
    model: str | Model = "register",
    budget: Budget | float | None = None,
    variant: CausalVariant = "cm",
) -> HistoryVerdict:
    """Check causal memory (``variant="cm"``) or causal convergence (``"ccv"``).

    Args:
        history: The history to check.
        model: ``"register"``, ``"kv"`` or a :class:`Model` instance.
        budget: Limits for the sequential-consistency fallback used outside the
            differentiated read/write fragment.
        variant: ``"cm"`` (default) or ``"ccv"``.

    Returns:
        A :class:`HistoryVerdict`; a violation's counterexample is named after the
        bad pattern (``kind``) and lists the operations forming it (``ops``).
    """
    if variant not in ("cm", "ccv"):
        raise ValueError(f"unknown causal variant {variant!r}; expected 'cm' or 'ccv'")
    start = time.perf_counter()
    model = get_model(model)
    budget = Budget.coerce(budget)
    ops = prepared_ops(history, model)
    by_id = {op.id: op for op in ops}
    details = {"variant": variant}

    def verdict(v: str, cex: Counterexample | None = None, reason: str | None = None,
                explored: int = 0) -> HistoryVerdict:
        if cex is not None:
            cex.attach(by_id, model)
        part = PartitionResult(None, v, len(ops), explored, time.perf_counter() - start,  # type: ignore[arg-type]
                               counterexample=cex, reason=reason)
        return HistoryVerdict(v, "causal", model.name, [part], cex, time.perf_counter() - start,  # type: ignore[arg-type]
                              explored, reason, details)

    why_not = not_differentiated(ops, model)
    if why_not is None:
        details["method"] = "bad-patterns"
        cex = find_bad_pattern(ops, model, variant)
        return verdict("violation" if cex else "ok", cex)

    details["method"] = "reduction"
    cex = _thin_air(ops, model, exact_values=not any(op.f == "append" for op in ops))
    if cex is not None:
        return verdict("violation", cex)
    remaining = None if budget.time_s is None else max(0.0, budget.time_s - (time.perf_counter() - start))
    sc = check_sequential(ops, model, Budget(remaining, budget.max_states))
    if sc.verdict == "ok":
        return verdict("ok", reason="sequentially consistent, hence causally consistent", explored=sc.explored)
    return verdict(
        "unknown",
        reason=f"{why_not}; the bad-pattern characterisation needs a differentiated read/write "
        f"history, and the sequential-consistency fallback gave {sc.verdict!r}",
        explored=sc.explored,
    )


def not_differentiated(ops: Sequence[Operation], model: Model) -> str | None:
    """Why ``ops`` is outside the differentiated read/write fragment (``None`` if inside)."""
    written: set[tuple[Hashable, Hashable]] = set()
    for op in ops:
        if op.f in model.read_functions:
            continue
        if op.f not in WRITE_FUNCTIONS:
            return f"the history uses {op.f!r}, which is not a plain read or write"
        if op.value == model.init(op.key):
            return f"operation {op.id} writes the initial value {op.value!r}"
        if (op.key, op.value) in written:
            return f"value {op.value!r} is written more than once to key {op.key!r}"
        written.add((op.key, op.value))
    return None


def _thin_air(ops: Sequence[Operation], model: Model, exact_values: bool) -> Counterexample | None:
    if not exact_values:
        return None  # appended strings are concatenations: no simple witness
    produced = set()
    for op in ops:
        if op.f in WRITE_FUNCTIONS:
            produced.add((op.key, op.value))
        elif op.f == "cas":
            produced.add((op.key, op.value[1]))
    for r in ops:
        if r.f in model.read_functions and r.output != model.init(r.key) and (r.key, r.output) not in produced:
            return Counterexample("ThinAirRead", f"{model.describe(r)} returns a value that no operation wrote",
                                  key=r.key, ops=[r.id], blocked=r.id)
    return None


def find_bad_pattern(ops: Sequence[Operation], model: Model, variant: CausalVariant = "cm") -> Counterexample | None:
    """Return the first bad pattern of a differentiated read/write history, or ``None``.

    Args:
        ops: Prepared operations of a differentiated read/write history.
        model: The model (for initial values and rendering).
        variant: ``"cm"`` or ``"ccv"``.
    """
    describe = model.describe
    thin = _thin_air(ops, model, exact_values=True)
    if thin is not None:
        return thin
    reads = [op for op in ops if op.f in model.read_functions]
    read_values = {(r.key, r.output) for r in reads}
    # An indeterminate write that nobody read may not have happened: leaving it
    # out only removes constraints.
    nodes = [op for op in ops
             if not (op.indeterminate and op.f not in model.read_functions and (op.key, op.value) not in read_values)]
    writes_of: dict[Hashable, list[int]] = {}
    writer: dict[tuple[Hashable, Hashable], int] = {}
    for i, op in enumerate(nodes):
        if op.f not in model.read_functions:
            writes_of.setdefault(op.key, []).append(i)
            writer[(op.key, op.value)] = i
    source = {}  # read index -> write index it reads from (absent: initial value)
    for i, op in enumerate(nodes):
        if op.f in model.read_functions and op.output != model.init(op.key):
            source[i] = writer[(op.key, op.output)]

    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(nodes)))
    by_proc: dict[Hashable, list[int]] = {}
    for i in sorted(range(len(nodes)), key=lambda i: (nodes[i].call, nodes[i].id)):
        by_proc.setdefault(nodes[i].process, []).append(i)
    for seq in by_proc.values():
        last = None  # last definite op: indeterminate ones do not order what follows
        for i in seq:
            if last is not None:
                graph.add_edge(last, i, rel="po")
            if not nodes[i].indeterminate:
                last = i
    for r, w in source.items():
        if not graph.has_edge(w, r):
            graph.add_edge(w, r, rel="wr")

    def cycle_cex(kind: str, g: nx.DiGraph, what: str) -> Counterexample:
        cycle = nx.find_cycle(g)
        ids = [nodes[u].id for u, _ in cycle]
        text = " ".join(f"{describe(nodes[u])} -{g.edges[u, v]['rel']}->" for u, v in cycle)
        return Counterexample(kind, f"{what}: {text} {describe(nodes[cycle[0][0]])}", ops=ids)

    if not nx.is_directed_acyclic_graph(graph):
        return cycle_cex("CyclicCO", graph, "causal order (program order + reads-from) has a cycle")

    # pred[i]: bitset of the ops causally before i.
    pred = [0] * len(nodes)
    for v in nx.topological_sort(graph):
        acc = 0
        for u in graph.predecessors(v):
            acc |= pred[u] | 1 << u
        pred[v] = acc

    for r, op in enumerate(nodes):
        if op.f not in model.read_functions:
            continue
        w1 = source.get(r)
        for w in writes_of.get(op.key, ()):
            if w == w1 or not pred[r] >> w & 1:
                continue
            if w1 is None:
                return Counterexample(
                    "WriteCOInitRead",
                    f"{describe(op)} returns the initial value although {describe(nodes[w])} is causally before it",
                    key=op.key, ops=[nodes[w].id, op.id], blocked=op.id)
            if pred[w] >> w1 & 1:
                return Counterexample(
                    "WriteCORead",
                    f"{describe(op)} reads from {describe(nodes[w1])}, which is causally overwritten by "
                    f"{describe(nodes[w])} before the read",
                    key=op.key, ops=[nodes[w1].id, nodes[w].id, op.id], blocked=op.id)

    if variant == "ccv":
        cf = graph.copy()
        for r, w1 in source.items():
            for w in writes_of[nodes[r].key]:
                if w != w1 and pred[r] >> w & 1 and not cf.has_edge(w, w1):
                    cf.add_edge(w, w1, rel="cf")
        if not nx.is_directed_acyclic_graph(cf):
            return cycle_cex("CyclicCF", cf, "no arbitration order exists: causal order + conflict order has a cycle")
        return None
    return _causal_memory(nodes, graph, pred, source, writes_of, model, cycle_cex)


def _causal_memory(nodes, graph, pred, source, writes_of, model, cycle_cex) -> Counterexample | None:  # noqa: ANN001
    describe = model.describe
    by_proc: dict[Hashable, list[int]] = {}
    for i, op in enumerate(nodes):
        by_proc.setdefault(op.process, []).append(i)
    for proc, mine in by_proc.items():
        past = 0
        for i in mine:
            past |= pred[i] | 1 << i
        members = [i for i in range(len(nodes)) if past >> i & 1]
        before = {i: pred[i] for i in members}  # CO restricted to the causal past (downward closed)
        my_reads = [i for i in mine if nodes[i].f in model.read_functions]
        derived: list[tuple[int, int]] = []
        changed = True
        while changed:
            changed = False
            for r in my_reads:
                w1 = source.get(r)
                for w in writes_of.get(nodes[r].key, ()):
                    if w == w1 or not past >> w & 1 or not before[r] >> w & 1:
                        continue
                    if w1 is None:
                        return Counterexample(
                            "WriteHBInitRead",
                            f"process {proc!r}: {describe(nodes[r])} returns the initial value although "
                            f"{describe(nodes[w])} happens before it",
                            key=nodes[r].key, ops=[nodes[w].id, nodes[r].id], blocked=nodes[r].id)
                    if before[w1] >> w & 1:
                        continue
                    # w must be overwritten by w1 before r reads w1's value.
                    derived.append((w, w1))
                    add = before[w] | 1 << w
                    for o in members:
                        if o == w1 or before[o] >> w1 & 1:
                            before[o] |= add
                    changed = True
                    if before[w] >> w & 1:
                        hb = graph.subgraph(members).copy()
                        for u, v in derived:
                            hb.add_edge(u, v, rel="hb")
                        cex = cycle_cex("CyclicHB", hb, f"process {proc!r} cannot serialize its causal past")
                        return cex
    return None
