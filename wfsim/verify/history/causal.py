"""Causal consistency (CM and CCv) via the bad patterns of Bouajjani et al.

Reference: A. Bouajjani, C. Enea, R. Guerraoui, J. Hamza, *On Verifying Causal
Consistency*, POPL 2017. For a *differentiated* read/write history (every value is
written at most once per key, never the initial value), the reads-from relation
``wr`` is determined by the values, the causal order is ``CO = (PO ∪ wr)+`` and
each causal model is characterised by the absence of a few bad patterns.

:func:`check_causal` checks causal memory (CM) or causal convergence (CCv); its
docstring lists the patterns and how other histories are handled.
:func:`find_bad_pattern` returns the first pattern of a differentiated history, and
:func:`not_differentiated` says why a history is outside that fragment.
"""

from __future__ import annotations

import graphlib
import math
import time
from collections.abc import Hashable, Iterator, Sequence
from typing import Literal

import numpy as np

from .linearizability import check_linearizability
from .model import History, Model, Operation, get_model, prepared_ops
from .result import Budget, BudgetExceeded, Counterexample, HistoryVerdict, PartitionResult
from .sequential import check_sequential

CausalVariant = Literal["cm", "ccv"]
#: Most vector-clock entries (4 bytes each) a check may hold at once (two tables in CM).
MAX_CLOCK_ENTRIES = 100_000_000
WRITE_FUNCTIONS = frozenset({"write", "put"})


def check_causal(
    history: History | Sequence[Operation],
    model: str | Model = "register",
    budget: Budget | float | None = None,
    variant: CausalVariant = "cm",
) -> HistoryVerdict:
    """Check causal memory (``variant="cm"``) or causal convergence (``"ccv"``).

    A differentiated read/write history is causally consistent iff it has none of
    these bad patterns (the counterexample's ``kind``):

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

    Cost: the patterns common to CM and CCv cost ``O(n · processes)``
    (:class:`_CausalGraph`); a linearizable history (decided in ``O(n log n)`` for
    unique values) is then accepted at once, and only otherwise are the CCv conflict
    cycle or the per-process CM fixpoint computed. The deadline and the state budget
    (derived edges) are polled throughout.

    Args:
        history: The history to check.
        model: ``"register"``, ``"kv"`` or a :class:`Model` instance.
        budget: Time and state limits for the whole check (the state budget
            bounds the derived conflict/happens-before edges, and the searches of
            the sequential-consistency fallback used outside the fragment).
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
    details: dict[str, str] = {"variant": variant}

    def verdict(v: str, cex: Counterexample | None = None, reason: str | None = None,
                explored: int = 0) -> HistoryVerdict:
        if cex is not None:
            cex.attach(by_id, model)
        part = PartitionResult(None, v, len(ops), explored, time.perf_counter() - start,  # type: ignore[arg-type]
                               counterexample=cex, reason=reason)
        return HistoryVerdict(v, "causal", model.name, [part], cex, time.perf_counter() - start,  # type: ignore[arg-type]
                              explored, reason, details)

    deadline = budget.deadline(start)

    def remaining() -> Budget:
        return Budget(None if budget.time_s is None else max(0.0, deadline - time.perf_counter()), budget.max_states)

    why_not = not_differentiated(ops, model)
    if why_not is None:
        details["method"] = "bad-patterns"
        try:
            graph, clocks, cex = _common_patterns(ops, model, deadline)
            if cex is not None:
                return verdict("violation", cex)
            # Linearizable implies sequentially consistent implies both causal levels,
            # and with unique values linearizability takes O(n log n): try it first.
            if check_linearizability(ops, model, remaining()).verdict == "ok":
                return verdict("ok", reason="linearizable, hence causally consistent")
            cex = _variant_patterns(graph, clocks, variant, budget.max_states)
        except BudgetExceeded as exc:
            return verdict("unknown", reason=str(exc))
        return verdict("violation" if cex else "ok", cex)

    details["method"] = "reduction"
    cex = _thin_air(ops, model, exact_values=not any(op.f == "append" for op in ops))
    if cex is not None:
        return verdict("violation", cex)
    sc = check_sequential(ops, model, remaining())
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


def find_bad_pattern(
    ops: Sequence[Operation],
    model: Model,
    variant: CausalVariant | None = "cm",
    deadline: float = math.inf,
    max_states: int | None = None,
) -> Counterexample | None:
    """Return the first bad pattern of a differentiated read/write history, or ``None``.

    Args:
        ops: Prepared operations of a differentiated read/write history.
        model: The model (for initial values and rendering).
        variant: ``"cm"``, ``"ccv"``, or ``None`` for the patterns common to both
            (ThinAirRead, CyclicCO, WriteCOInitRead, WriteCORead: necessary
            conditions of every causal level, hence of sequential consistency).
        deadline: Absolute ``time.perf_counter()`` to give up at.
        max_states: Most derived (conflict or happens-before) edges to store.

    Raises:
        BudgetExceeded: The deadline passed or too many edges were derived.
    """
    graph, clocks, cex = _common_patterns(ops, model, deadline)
    if cex is not None or variant is None:
        return cex
    return _variant_patterns(graph, clocks, variant, max_states)


def _common_patterns(
    ops: Sequence[Operation], model: Model, deadline: float
) -> tuple[_CausalGraph, np.ndarray, Counterexample | None]:
    """The causal graph, its clocks, and the first pattern common to CM and CCv."""
    thin = _thin_air(ops, model, exact_values=True)
    if thin is not None:
        return None, None, thin  # type: ignore[return-value]  # never used after a pattern
    g = _CausalGraph(ops, model, deadline)
    cex = g.cyclic("CyclicCO", {}, "causal order (program order + reads-from) has a cycle")
    if cex is not None:
        return g, np.zeros((0, 0)), cex
    clocks = g.clocks({})
    for r, w1, w in g.overwritten(clocks, g.reads, "overwrites"):
        if w1 < 0:
            return g, clocks, Counterexample(
                "WriteCOInitRead",
                f"{g.describe(r)} returns the initial value although {g.describe(w)} is causally before it",
                key=g.nodes[r].key, ops=[g.nodes[w].id, g.nodes[r].id], blocked=g.nodes[r].id)
        return g, clocks, Counterexample(  # w1 is causally before w (kept by the filter)
            "WriteCORead",
            f"{g.describe(r)} reads from {g.describe(w1)}, which is causally overwritten by "
            f"{g.describe(w)} before the read",
            key=g.nodes[r].key, ops=[g.nodes[w1].id, g.nodes[w].id, g.nodes[r].id], blocked=g.nodes[r].id)
    return g, clocks, None


def _variant_patterns(
    g: _CausalGraph, clocks: np.ndarray, variant: CausalVariant, max_states: int | None
) -> Counterexample | None:
    """The patterns specific to ``variant``, once the common ones are absent."""
    limit = math.inf if max_states is None else max_states
    if variant == "ccv":
        # w CF w1 for every write w of the key causally before a read of w1. Only the
        # causally last such write of each chain is stored: the earlier ones reach
        # it by program order, so the cycles are the same.
        conflicts: dict[int, set[int]] = {}
        count = 0
        for _, w1, w in g.overwritten(clocks, g.reads, "unordered"):
            if w1 >= 0 and w not in conflicts.setdefault(w1, set()):
                conflicts[w1].add(w)
                count += 1
                if count > limit:
                    raise BudgetExceeded("state budget exhausted (conflict edges)")
        return g.cyclic("CyclicCF", conflicts, "no arbitration order exists: causal order + conflict order has a cycle",
                        label="cf")
    return _causal_memory(g, clocks, limit)


def _causal_memory(g: _CausalGraph, base: np.ndarray, limit: float) -> Counterexample | None:
    """Each process's happens-before (``HB_p``, see :func:`check_causal`) as a fixpoint
    over clocks."""
    for proc, mine in g.by_process.items():
        my_reads = [i for i in mine if i in g.read_set]
        if not my_reads:
            continue
        derived: dict[int, set[int]] = {}  # w1 -> writes that must be overwritten by w1
        count = 0
        clocks = base
        while True:
            added = False
            for r, w1, w in g.overwritten(clocks, my_reads, "unordered"):
                if w1 < 0:
                    return Counterexample(
                        "WriteHBInitRead",
                        f"process {proc!r}: {g.describe(r)} returns the initial value although "
                        f"{g.describe(w)} happens before it",
                        key=g.nodes[r].key, ops=[g.nodes[w].id, g.nodes[r].id], blocked=g.nodes[r].id)
                if w not in derived.setdefault(w1, set()):
                    derived[w1].add(w)  # w must be overwritten by w1 before r reads w1's value
                    added = True
                    count += 1
                    if count > limit:
                        raise BudgetExceeded("state budget exhausted (happens-before edges)")
            if not added:
                break
            cex = g.cyclic("CyclicHB", derived, f"process {proc!r} cannot serialize its causal past", label="hb")
            if cex is not None:
                return cex
            clocks = g.clocks(derived)
    return None


class _CausalGraph:
    """Causal order of a differentiated history, with vector clocks over program order.

    Program order totally orders each process's definite operations (a *chain*); an
    indeterminate write that was read forms a chain of its own, after its process's
    earlier operations. Every relation built here (``CO``, each ``HB_p``, ``CO ∪ CF``)
    contains program order, so the set of operations before any node is a prefix of
    every chain: a vector clock (one prefix length per chain) stores it in
    ``O(chains)`` instead of ``O(n)`` bits, and edges implied by program order are
    never stored.

    Every relation is thus stored as program order + reads-from + the derived edges
    that program order does not imply, so memory is ``O(n · processes)`` rather than
    ``O(n²)``. A read contributes at most one derived edge per process.
    """

    def __init__(self, ops: Sequence[Operation], model: Model, deadline: float) -> None:
        self.model = model
        self.deadline = deadline
        read_values = {(op.key, op.output) for op in ops if op.f in model.read_functions}
        # An indeterminate write that nobody read may not have happened: leaving it
        # out only removes constraints.
        self.nodes = nodes = [op for op in ops if not (
            op.indeterminate and op.f not in model.read_functions and (op.key, op.value) not in read_values)]
        n = len(nodes)
        writer = {(op.key, op.value): i for i, op in enumerate(nodes) if op.f not in model.read_functions}
        self.reads = [i for i, op in enumerate(nodes) if op.f in model.read_functions]
        self.read_set = set(self.reads)
        self.source = np.full(n, -1, dtype=np.int64)  # write a read reads from (-1: initial value)
        for r in self.reads:
            op = nodes[r]
            if op.output != model.init(op.key):
                self.source[r] = writer[(op.key, op.output)]
        self.chain = np.zeros(n, dtype=np.int64)
        self.pos = np.zeros(n, dtype=np.int64)
        self.po_prev = np.full(n, -1, dtype=np.int64)  # previous definite op of the process
        self.by_process: dict[Hashable, list[int]] = {}
        for i in sorted(range(n), key=lambda i: (nodes[i].call, nodes[i].id)):
            self.by_process.setdefault(nodes[i].process, []).append(i)
        n_chains = 0
        for seq in self.by_process.values():
            main, length, last = n_chains, 0, -1
            n_chains += 1
            for i in seq:
                self.po_prev[i] = last
                if nodes[i].indeterminate:  # does not order what follows
                    self.chain[i], n_chains = n_chains, n_chains + 1
                else:
                    self.chain[i], self.pos[i], length, last = main, length, length + 1, i
        self.n_chains = n_chains
        if n * n_chains > MAX_CLOCK_ENTRIES:  # e.g. thousands of indeterminate writes that were read
            raise BudgetExceeded(
                f"memory budget: {n} operations × {n_chains} program-order chains exceed "
                f"{MAX_CLOCK_ENTRIES} vector-clock entries")
        # Per key: for each chain holding writes of it, their positions and nodes.
        self.writes: dict[Hashable, list[tuple[int, np.ndarray, np.ndarray]]] = {}
        per: dict[tuple[Hashable, int], list[int]] = {}
        for i, op in enumerate(nodes):
            if op.f not in model.read_functions:
                per.setdefault((op.key, int(self.chain[i])), []).append(i)
        for (key, c), ws in per.items():
            ws.sort(key=lambda i: self.pos[i])
            self.writes.setdefault(key, []).append((c, self.pos[ws], np.array(ws, dtype=np.int64)))

    def describe(self, i: int) -> str:
        return self.model.describe(self.nodes[i])

    def _poll(self) -> None:
        if time.perf_counter() > self.deadline:
            raise BudgetExceeded("time budget exhausted")

    def preds(self, v: int, extra: dict[int, set[int]]) -> list[int]:
        out = [int(u) for u in (self.po_prev[v], self.source[v]) if u >= 0]
        return out + sorted(extra.get(v, ()))

    def cyclic(self, kind: str, extra: dict[int, set[int]], what: str, label: str = "") -> Counterexample | None:
        """A cycle of program order + reads-from + ``extra`` edges (``u in extra[v]``: u -> v)."""
        self._poll()
        sorter = graphlib.TopologicalSorter({v: self.preds(v, extra) for v in range(len(self.nodes))})
        try:
            self._order = list(sorter.static_order())
            return None
        except graphlib.CycleError as exc:
            cycle = exc.args[1]  # each node an immediate predecessor of the next; first == last
        steps = []
        for u, v in zip(cycle, cycle[1:]):
            rel = "po" if self.po_prev[v] == u else "wr" if self.source[v] == u else label
            steps.append(f"{self.describe(u)} -{rel}->")
        text = " ".join(steps) + f" {self.describe(cycle[0])}"
        return Counterexample(kind, f"{what}: {text}", ops=[self.nodes[u].id for u in cycle[:-1]])

    def clocks(self, extra: dict[int, set[int]]) -> np.ndarray:
        """Vector clocks of the (acyclic) relation: row ``v``, column ``c`` is the
        number of ops of chain ``c`` before ``v`` or equal to it. Call after
        :meth:`cyclic` on the same edges (it leaves the topological order)."""
        vc = np.zeros((len(self.nodes), self.n_chains), dtype=np.int32)
        for k, v in enumerate(self._order):
            if k % 4096 == 0:
                self._poll()
            row = vc[v]
            for u in self.preds(v, extra):
                np.maximum(row, vc[u], out=row)
            row[self.chain[v]] = self.pos[v] + 1
        return vc

    def overwritten(self, vc: np.ndarray, reads: list[int], keep: str) -> Iterator[tuple[int, int, int]]:
        """Yield ``(read, source, w)``, sorted, for every read and every chain holding a
        write ``w != source`` of its key before it: the last such write of the chain
        (the earlier ones precede it in program order). ``source`` is -1 for the
        initial value, and those are always kept; otherwise ``keep="overwrites"``
        keeps the triples with ``source`` before ``w`` (a bad pattern), and
        ``keep="unordered"`` those with ``w`` not before ``source`` (an edge that the
        relation does not imply yet). The filtering is vectorised per chain."""
        by_key: dict[Hashable, list[int]] = {}
        for r in reads:
            by_key.setdefault(self.nodes[r].key, []).append(r)
        for key, rs in by_key.items():
            self._poll()
            rs_arr = np.array(rs, dtype=np.int64)
            src = self.source[rs_arr]
            has_src = src >= 0
            s0 = np.maximum(src, 0)
            hits: list[tuple[int, int]] = []
            for c, wpos, wnode in self.writes.get(key, ()):
                idx = np.searchsorted(wpos, vc[rs_arr, c], side="left") - 1
                lw = np.where(idx >= 0, wnode[np.maximum(idx, 0)], -1)
                l0 = np.maximum(lw, 0)
                if keep == "overwrites":  # source before lw
                    ordered = vc[l0, self.chain[s0]] > self.pos[s0]
                else:  # lw not before source
                    ordered = ~(vc[s0, self.chain[l0]] > self.pos[l0])
                found = (lw >= 0) & (lw != src) & (~has_src | ordered)
                hits.extend(zip(rs_arr[found].tolist(), lw[found].tolist()))
            hits.sort()  # deterministic: by read, then write
            for r, w in hits:
                yield r, int(self.source[r]), w
