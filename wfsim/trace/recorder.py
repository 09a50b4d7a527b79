"""Cheap event recording on the simulator's hot path.

The engine appends plain tuples of ints and floats to one list per event kind; nothing
else happens per event. :meth:`TraceRecorder.build` turns the lists into typed pandas
DataFrames once, at the end of the run. A recorder at level ``metrics`` keeps only what
the summary metrics read (:meth:`TraceRecorder.metrics`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from wfsim.model.enums import TraceLevel
from wfsim.model.events import OUTCOMES, PLACED, READY, WORKFLOW_STATES
from wfsim.trace.tables import DECLARED

if TYPE_CHECKING:
    from wfsim.model.enums import WorkflowState
    from wfsim.model.topology import Topology
    from wfsim.model.workflow import Workflow
    from wfsim.trace.trace import Trace

_STATE_CODE = {state: i for i, state in enumerate(WORKFLOW_STATES)}
#: Task events no metric reads: :meth:`Trace.executions` pivots them into columns
#: summarize never looks at, and :meth:`Trace.holdings` skips them.
_UNREAD_TASK_EVENTS = frozenset({PLACED, READY})


class TraceRecorder:
    """Per-kind lists, filled by the engine during a run.

    The high-volume kinds are all numbers and are kept as *flat* lists, one
    fixed-width row after another (the engine calls :meth:`workflow`,
    :meth:`workflow_state`, :attr:`record_task`, :attr:`record_transfer` and
    :attr:`record_hop`): no tuple object survives per event, and the build is one
    numpy conversion per kind. Strings (workload names, failure reasons) are stored
    once and referred to by index.

    Attributes:
        workflows: flat rows of ``id, workload code, origin node, arrival, deadline``.
        workflow_events: flat rows of ``time, id, state code, reason code`` (-1: none).
        task_events: flat rows of ``time, workflow id, task index, event code, node``.
        transfers: flat rows of ``start, end, workflow id, source task, target task,
            source node, target node, bytes``; task index :data:`ORIGIN` for the origin.
        hops: flat rows of ``start, end, channel, bytes``: one per link crossed;
            ``start`` is when transmission began on the link, ``end`` when the data
            reached its far end.
        migrations: flat rows of ``time, migration id, workflow id, task index, source
            node, target node, state code, trigger code``: one per phase change of a
            task migration (codes index :data:`MIGRATION_STATES` / :data:`MIGRATION_TRIGGERS`).
        allocations: flat rows of ``time, workflow id, task index, node, cores,
            memory``: what a task holds from ``time`` on, recorded only when it differs
            from the task's recommended size (a task started with fewer cores under
            :func:`~wfsim.engine.node.allocate`) or changes while it runs (an elastic
            task resized). A rigid task that got its full size records nothing.
        rebalances: flat rows of ``time, node, load``: the load of every node of a tier
            a rebalancing round looked at, as the round saw it before moving anything.
        states: ``(time, kind, entity, state)`` for node and link state changes.
        violations: ``(time, kind, entity, message)`` for run-time contract breaches.
        faults: ``(time, kind code, target, process, detail)``: injected faults
            (codes index :data:`~wfsim.model.events.FAULT_KINDS`; ``detail`` may be None).
        detections: flat rows of ``time, node, state code, missed checks``.
        recoveries: flat rows of ``time, node, action code, phase code``.
        task_faults: flat rows of ``time, workflow id, task index, node (-1: none), kind
            code, attempt, work lost``.
        connectivity: flat rows of ``time, node, status code, level code``.
        decisions: flat rows of ``time, node, workflow id, task index, decider code,
            action code (-1: none), agrees (1, 0, NaN), staleness (NaN: none)``.
        writes: ``(time, node, key, workflow id, accepted, state code, side node)``.
        leases: ``(time, resource, holder node, event code, expires)``.
        operations: ``[op, request, attempt, client, node, key, f code, value, output,
            requested code, level code, call, ret, outcome code, reason]``, a *list*
            appended at the invocation and completed in place at the return (``ret``
            NaN and ``output``/``outcome``/``reason`` None until then; values are
            JSON text).
        health: flat rows of ``time, available, total, p99, observed code, health code``.
        raft: flat rows of ``time, node, event code, term, index, op``.
        resolutions: ``(time, node, key, level code, resolver, inputs, lost)``.
        replicas: ``(level code, key, node, value JSON)``, written when the run ends.
        messages: ``(level code, kind, sent, delivered, dropped, bytes)``, written when
            the run ends.
        level: What is kept. At :attr:`TraceLevel.METRICS
            <wfsim.model.enums.TraceLevel.METRICS>`, ``hops`` and ``transfers`` stay
            empty (their bytes are summed per link direction and in total instead),
            ``task_events`` gets no ``placed`` or ``ready`` rows, and ``migrations``
            and ``rebalances`` stay empty: the summary metrics read none of them.
            The engine calls the same ``record_*`` callables at either level.
    """

    def __init__(self, level: TraceLevel = TraceLevel.FULL) -> None:
        self.level = level
        self.workflows: list[float] = []
        self.workflow_events: list[float] = []
        self._workloads: dict[str, int] = {}
        self._reasons: list[str] = []
        self.task_events: list[float] = []
        self.transfers: list[float] = []
        self.hops: list[float] = []
        self.record_task: Callable[[tuple], None] = self.task_events.extend
        self.record_transfer: Callable[[tuple], None] = self.transfers.extend
        self.record_hop: Callable[[tuple], None] = self.hops.extend
        self.migrations: list[float] = []
        self.record_migration = self.migrations.extend
        self.allocations: list[float] = []
        self.record_allocation = self.allocations.extend
        self.rebalances: list[float] = []
        self.record_rebalance = self.rebalances.extend
        self.states: list[tuple] = []
        self.violations: list[tuple] = []
        # Faults, detection, recovery and edge autonomy: few rows, kept at every level.
        self.faults: list[tuple] = []
        self.record_fault = self.faults.append
        self.detections: list[float] = []
        self.record_detection = self.detections.extend
        self.recoveries: list[float] = []
        self.record_recovery = self.recoveries.extend
        self.task_faults: list[float] = []
        self.record_task_fault = self.task_faults.extend
        self.connectivity: list[float] = []
        self.record_connectivity = self.connectivity.extend
        self.decisions: list[float] = []
        self.record_decision = self.decisions.extend
        self.writes: list[tuple] = []
        self.record_write = self.writes.append
        self.leases: list[tuple] = []
        self.record_lease = self.leases.append
        # Replicated state: operations are few next to task events, kept at every level.
        self.operations: list[list] = []
        self.record_operation = self.operations.append
        self.health: list[float] = []
        self.record_health = self.health.extend
        self.raft: list[float] = []
        self.record_raft = self.raft.extend
        self.resolutions: list[tuple] = []
        self.record_resolution = self.resolutions.append
        self.replicas: list[tuple] = []
        self.messages: list[tuple] = []
        self._specs: dict[int, Workflow] = {}
        self._bytes = _ByteSums()
        if level is TraceLevel.METRICS:
            # The engine captures these callables when it is built: swap them now.
            self.record_task = self._record_task_read
            self.record_hop = self._bytes.hop
            self.record_transfer = self._bytes.transfer
            self.record_migration = self.record_rebalance = _discard

    def _record_task_read(self, row: tuple) -> None:
        """Keep a task event row unless no metric reads its kind (``time, workflow id,
        task index, event code, node``)."""
        if row[3] not in _UNREAD_TASK_EVENTS:
            self.task_events.extend(row)

    def workflow(self, run_id: int, workload: str, spec: Workflow, origin: int, arrival: float) -> None:
        """Record a new workflow instance and which definition it runs."""
        self._specs[run_id] = spec
        code = self._workloads.setdefault(workload, len(self._workloads))
        deadline = np.nan if spec.deadline is None else spec.deadline
        self.workflows.extend((run_id, code, origin, arrival, deadline))

    def workflow_state(self, time: float, run_id: int, state: WorkflowState, reason: str | None = None) -> None:
        """Record a lifecycle transition."""
        if reason is None:
            code = -1
        else:
            code = len(self._reasons)
            self._reasons.append(reason)
        self.workflow_events.extend((time, run_id, _STATE_CODE[state], code))

    def metrics(self, topology: Topology, manifest: dict[str, Any], horizon: float) -> dict[str, Any]:
        """The run's summary metrics (:func:`~wfsim.trace.metrics.summarize`), from the
        tables kept and, at level ``metrics``, the bytes summed during the run."""
        from wfsim.trace.metrics import NetworkTotals, summarize

        trace = self.build(topology, manifest, horizon)
        if self.level is TraceLevel.FULL:
            return summarize(trace)
        # The channel packs link and direction: link code * 2 + (1 if reverse).
        per_link = np.zeros(len(topology.links))
        for channel, nbytes in self._bytes.per_channel.items():
            per_link[channel >> 1] += nbytes
        return summarize(trace, NetworkTotals(pd.Series(per_link, index=trace.links["link"].to_numpy()),
                                              self._bytes.transferred))

    def build(self, topology: Topology, manifest: dict[str, Any], horizon: float) -> Trace:
        """Build the typed DataFrames of a :class:`~wfsim.trace.trace.Trace` (at level
        ``metrics``, only those :meth:`metrics` reads hold rows)."""
        from wfsim.trace.trace import Trace

        node_ids = pd.Index([n.id for n in topology.nodes])
        link_ids = pd.Index([f"{link.a}~{link.b}" for link in topology.links])

        def nodes_cat(codes: np.ndarray) -> pd.Categorical[str]:
            return pd.Categorical.from_codes(codes, categories=node_ids)

        definitions: dict[int, int] = {}
        specs: list[Workflow] = []
        for spec in self._specs.values():
            if id(spec) not in definitions:
                definitions[id(spec)] = len(specs)
                specs.append(spec)
        # Run ids are 0, 1, 2, … in submission order, so arrays index by run id.
        definition_of = np.array([definitions[id(spec)] for spec in self._specs.values()], dtype=np.int64)
        task_names = _TaskNames(specs, definition_of)

        # One block per table; its columns come in declared order (wfsim.trace.tables),
        # and Table.frame names and types them, codes of fixed categories included.
        tables: dict[str, pd.DataFrame] = {}
        w = _flat_columns(self.workflows, "i8 i8 i8 f8 f8")
        definition = definition_of[w[0]]
        # Several definitions may share a name (a fresh random DAG per instance).
        name_code, names = pd.factorize(np.array([spec.name for spec in specs], dtype=object))
        tables["workflows"] = DECLARED["workflows"].frame(
            w[0], pd.Categorical.from_codes(w[1], categories=pd.Index(list(self._workloads))),
            pd.Categorical.from_codes(name_code[definition], categories=pd.Index(list(names))),
            definition, nodes_cat(w[2]), w[3], w[4],
        )
        e = _flat_columns(self.workflow_events, "f8 i8 i8 i8")
        reasons = np.array(self._reasons + [None], dtype=object)  # code -1 picks the None
        tables["workflow_events"] = DECLARED["workflow_events"].frame(e[0], e[1], e[2], reasons[e[3]])
        t = _flat_columns(self.task_events, "f8 i8 i8 i8 i8")
        # Node code -1 (no node: failed before placement) is NaN.
        tables["task_events"] = DECLARED["task_events"].frame(
            t[0], t[1], task_names(t[1], t[2]), t[3], nodes_cat(t[4]))
        x = _flat_columns(self.transfers, "f8 f8 i8 i8 i8 i8 i8 f8")
        tables["transfers"] = DECLARED["transfers"].frame(
            x[0], x[1], x[2], task_names(x[2], x[3]), task_names(x[2], x[4]),
            nodes_cat(x[5]), nodes_cat(x[6]), x[7],
        )
        h = _flat_columns(self.hops, "f8 f8 i8 f8")
        # The channel packs link and direction: link code * 2 + (1 if reverse).
        tables["link_usage"] = DECLARED["link_usage"].frame(
            h[0], h[1], pd.Categorical.from_codes(h[2] >> 1, categories=link_ids), h[2] & 1, h[3])
        m = _flat_columns(self.migrations, "f8 i8 i8 i8 i8 i8 i8 i8")
        tables["migrations"] = DECLARED["migrations"].frame(
            m[0], m[1], m[2], task_names(m[2], m[3]), nodes_cat(m[4]), nodes_cat(m[5]), m[6], m[7])
        a = _flat_columns(self.allocations, "f8 i8 i8 i8 i8 f8")
        tables["allocations"] = DECLARED["allocations"].frame(
            a[0], a[1], task_names(a[1], a[2]), nodes_cat(a[3]), a[4], a[5])
        r = _flat_columns(self.rebalances, "f8 i8 f8")
        tables["rebalances"] = DECLARED["rebalances"].frame(r[0], nodes_cat(r[1]), r[2])
        tables["states"] = DECLARED["states"].frame(*_columns(self.states, "f8 O O O"))
        tables["violations"] = DECLARED["violations"].frame(*_columns(self.violations, "f8 O O O"))
        f = _columns(self.faults, "f8 i8 O O O")
        tables["faults"] = DECLARED["faults"].frame(f[0], f[1], f[2], pd.Categorical(f[3]), f[4])
        d = _flat_columns(self.detections, "f8 i8 i8 i8")
        tables["detections"] = DECLARED["detections"].frame(d[0], nodes_cat(d[1]), d[2], d[3])
        v = _flat_columns(self.recoveries, "f8 i8 i8 i8")
        tables["recoveries"] = DECLARED["recoveries"].frame(v[0], nodes_cat(v[1]), v[2], v[3])
        q = _flat_columns(self.task_faults, "f8 i8 i8 i8 i8 i8 f8")
        tables["task_faults"] = DECLARED["task_faults"].frame(
            q[0], q[1], task_names(q[1], q[2]), nodes_cat(q[3]), q[4], q[5], q[6])
        c = _flat_columns(self.connectivity, "f8 i8 i8 i8")
        tables["connectivity"] = DECLARED["connectivity"].frame(c[0], nodes_cat(c[1]), c[2], c[3])
        k = _flat_columns(self.decisions, "f8 i8 i8 i8 i8 i8 f8 f8")
        tables["decisions"] = DECLARED["decisions"].frame(
            k[0], nodes_cat(k[1]), k[2], task_names(k[2], k[3]), k[4], k[5], k[6], k[7])
        r = _columns(self.writes, "f8 i8 O i8 ? i8 i8")
        tables["writes"] = DECLARED["writes"].frame(
            r[0], nodes_cat(r[1]), pd.Categorical(r[2]), r[3], r[4], r[5], nodes_cat(r[6]))
        s = _columns(self.leases, "f8 O i8 i8 f8")
        tables["leases"] = DECLARED["leases"].frame(s[0], pd.Categorical(s[1]), nodes_cat(s[2]), s[3], s[4])
        # An operation still in flight when the run ended is unknown to its client.
        o = _columns([tuple(row) if row[13] >= 0 else (*row[:13], OUTCOMES.index("unknown"), "the run ended first")
                      for row in self.operations],
                     "i8 i8 i8 O i8 O i8 O O i8 i8 f8 f8 i8 O")
        tables["operations"] = DECLARED["operations"].frame(
            o[0], o[1], o[2], pd.Categorical(o[3]), nodes_cat(o[4]), pd.Categorical(o[5]), o[6], o[7], o[8],
            o[9], o[10], o[11], o[12], o[13], o[14])
        g = _flat_columns(self.health, "f8 i8 i8 f8 i8 i8")
        tables["health"] = DECLARED["health"].frame(*g)
        f = _flat_columns(self.raft, "f8 i8 i8 i8 i8 i8")
        tables["raft"] = DECLARED["raft"].frame(f[0], nodes_cat(f[1]), f[2], f[3], f[4], f[5])
        u = _columns(self.resolutions, "f8 i8 O i8 O i8 i8")
        tables["resolutions"] = DECLARED["resolutions"].frame(
            u[0], nodes_cat(u[1]), pd.Categorical(u[2]), u[3], pd.Categorical(u[4]), u[5], u[6])
        p = _columns(self.replicas, "i8 O i8 O")
        tables["replicas"] = DECLARED["replicas"].frame(p[0], pd.Categorical(p[1]), nodes_cat(p[2]), p[3])
        n = _columns(self.messages, "i8 O i8 i8 i8 f8")
        tables["messages"] = DECLARED["messages"].frame(n[0], pd.Categorical(n[1]), *n[2:])

        tables["task_specs"] = DECLARED["task_specs"].cast(pd.DataFrame(
            [(k, spec.name, t.id, t.work, t.cores, t.memory, t.priority.name.title(),
              np.nan if t.deadline is None else t.deadline, t.location.kind.value,
              ",".join(x.value for x in t.location.tiers), ",".join(sorted(t.state_keys)),
              t.min_cores, t.min_memory, t.elastic, t.scalability)
             for k, spec in enumerate(specs) for t in spec.tasks],
            columns=DECLARED["task_specs"].names,
        ))
        tables["task_edges"] = DECLARED["task_edges"].cast(pd.DataFrame(
            [(k, e.source, e.target, e.nbytes) for k, spec in enumerate(specs) for e in spec.edges],
            columns=DECLARED["task_edges"].names,
        ))
        topo = topology.to_dict()
        # The static tables are the model's fields, link first: its name is no field.
        tables["nodes"] = DECLARED["nodes"].cast(pd.DataFrame(topo["nodes"], columns=DECLARED["nodes"].names))
        links = pd.DataFrame(topo["links"], columns=DECLARED["links"].names[1:])
        links.insert(0, "link", link_ids)
        tables["links"] = DECLARED["links"].cast(links)
        return Trace(**tables, manifest={**manifest, "horizon": horizon})


class _ByteSums:
    """The bytes a recorder at level ``metrics`` sums instead of keeping hop and
    transfer rows.

    Attributes:
        per_channel: Bytes sent per link direction (channel code, as in hop rows).
        transferred: Bytes of every transfer between two nodes.
    """

    __slots__ = ("per_channel", "transferred")

    def __init__(self) -> None:
        self.per_channel: defaultdict[int, float] = defaultdict(float)
        self.transferred = 0.0

    def hop(self, row: tuple) -> None:
        """Count a hop row (``start, end, channel, bytes``)."""
        self.per_channel[row[2]] += row[3]

    def transfer(self, row: tuple) -> None:
        """Count a transfer row (``start, end, workflow id, source task, target task,
        source node, target node, bytes``)."""
        self.transferred += row[7]


def _discard(row: object) -> None:
    """Record nothing: the row's kind is not kept at this level."""


class _TaskNames:
    """Maps (workflow id, task index) columns to a categorical of task names, with
    :data:`ORIGIN` as ``<origin>``, by array lookups rather than per row."""

    def __init__(self, specs: list[Workflow], definition_of: np.ndarray) -> None:
        sizes = np.array([len(spec.tasks) for spec in specs], dtype=np.int64)
        self._offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(specs) else sizes
        flat = [t.id for spec in specs for t in spec.tasks] + ["<origin>"]
        # Definitions may share task names: one category per distinct name.
        self._codes, uniques = pd.factorize(np.asarray(flat, dtype=object))
        self._categories = pd.Index(list(uniques))  # the default string dtype, as on reload
        self._definition_of = definition_of

    def __call__(self, w: np.ndarray, t: np.ndarray) -> pd.Categorical:
        origin = len(self._codes) - 1
        flat = np.where(t < 0, origin, self._offset[self._definition_of[w]] + t) if len(t) else t
        return pd.Categorical.from_codes(self._codes[flat], categories=self._categories)


def _columns(rows: list[tuple], dtypes: str) -> list[np.ndarray]:
    """Transpose recorded tuples into one numpy array per column (``"f8 i8 O"``…):
    much faster than letting pandas infer types from a list of tuples."""
    kinds = dtypes.split()
    if not rows:
        return [np.empty(0, dtype=kind) for kind in kinds]
    return [np.array(column, dtype=kind) for column, kind in zip(zip(*rows), kinds)]


def _flat_columns(flat: list[float], dtypes: str) -> list[np.ndarray]:
    """Split a flat list of fixed-width numeric rows into typed columns (integers
    travel as floats, exact below 2**53)."""
    kinds = dtypes.split()
    table = np.array(flat, dtype=np.float64).reshape(-1, len(kinds))
    return [table[:, k].astype(kind) for k, kind in enumerate(kinds)]
