"""Cheap event recording on the simulator's hot path.

The engine appends plain tuples of ints and floats to one list per event kind; nothing
else happens per event. :meth:`TraceRecorder.build` turns the lists into typed pandas
DataFrames once, at the end of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from wfsim.model.enums import WorkflowState

if TYPE_CHECKING:
    from wfsim.model.topology import Topology
    from wfsim.model.workflow import Workflow
    from wfsim.trace.trace import Trace

# Task event codes, in lifecycle order. PLACED: a node was chosen and inputs are on
# their way; READY: all inputs are on the node and the task is queued; START/END: it
# holds cores; FAILED: it will never run (no feasible node, unreachable, …).
PLACED, READY, START, END, FAILED = range(5)
TASK_EVENTS = ("placed", "ready", "start", "end", "failed")

WORKFLOW_STATES = tuple(WorkflowState)
_STATE_CODE = {state: i for i, state in enumerate(WORKFLOW_STATES)}

#: Source/target task index of a transfer from or to the workflow's origin.
ORIGIN = -1


class TraceRecorder:
    """Per-kind tuple lists, filled by the engine during a run.

    Attributes:
        workflows: ``(id, workload, workflow name, origin node, arrival, deadline)``.
        workflow_events: ``(time, id, state code, reason)``.
        task_events: ``(time, workflow id, task index, event code, node)``.
        transfers: ``(start, end, workflow id, source task, target task, source node,
            target node, bytes)``; task index :data:`ORIGIN` for the origin.
        hops: ``(start, end, channel, bytes)``: one per link crossed; ``start`` is when
            transmission began on the link, ``end`` when the data reached its far end.
        states: ``(time, kind, entity, state)`` for node and link state changes.
        violations: ``(time, kind, entity, message)`` for run-time contract breaches.
    """

    def __init__(self) -> None:
        self.workflows: list[tuple] = []
        self.workflow_events: list[tuple] = []
        self.task_events: list[tuple] = []
        self.transfers: list[tuple] = []
        self.hops: list[tuple] = []
        self.states: list[tuple] = []
        self.violations: list[tuple] = []
        self._specs: dict[int, Workflow] = {}

    def register(self, run_id: int, spec: Workflow) -> None:
        """Remember which workflow definition an instance runs (to name its tasks)."""
        self._specs[run_id] = spec

    def workflow_state(self, time: float, run_id: int, state: WorkflowState, reason: str | None = None) -> None:
        """Record a lifecycle transition."""
        self.workflow_events.append((time, run_id, _STATE_CODE[state], reason))

    def build(self, topology: Topology, manifest: dict[str, Any], horizon: float) -> Trace:
        """Build the typed DataFrames of a :class:`~wfsim.trace.trace.Trace`."""
        from wfsim.trace.trace import Trace

        node_names = pd.Categorical.from_codes(
            np.arange(len(topology.nodes)), categories=[n.id for n in topology.nodes]
        ).categories
        def nodes_cat(codes: Any) -> pd.Categorical:
            return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=node_names)

        wf = _frame(self.workflows, ["workflow", "workload", "name", "origin", "arrival", "deadline"])
        wf["workflow"] = wf["workflow"].astype("int64")
        definitions: dict[int, int] = {}
        specs: list[Workflow] = []
        for spec in self._specs.values():
            if id(spec) not in definitions:
                definitions[id(spec)] = len(specs)
                specs.append(spec)
        # Run ids are 0, 1, 2, … in submission order, so arrays index by run id.
        definition_of = np.array([definitions[id(spec)] for spec in self._specs.values()], dtype=np.int64)
        task_names = _TaskNames(specs, definition_of)
        wf.insert(3, "definition", pd.Series(definition_of[wf["workflow"].to_numpy(dtype=np.int64)], dtype="int64"))
        wf["workload"] = wf["workload"].astype("category")
        wf["name"] = wf["name"].astype("category")
        wf["origin"] = nodes_cat(wf["origin"])
        wf["arrival"] = wf["arrival"].astype("float64")
        wf["deadline"] = wf["deadline"].astype("float64")

        we = _frame(self.workflow_events, ["time", "workflow", "state", "reason"])
        we["time"] = we["time"].astype("float64")
        we["workflow"] = we["workflow"].astype("int64")
        we["state"] = pd.Categorical.from_codes(
            we["state"].to_numpy(dtype=np.int64), categories=[s.value for s in WORKFLOW_STATES]
        )
        we["reason"] = we["reason"].astype("string")

        te = _frame(self.task_events, ["time", "workflow", "task", "event", "node"])
        te["time"] = te["time"].astype("float64")
        te["workflow"] = te["workflow"].astype("int64")
        te["task"] = task_names(te["workflow"], te["task"])
        te["event"] = pd.Categorical.from_codes(te["event"].to_numpy(dtype=np.int64), categories=list(TASK_EVENTS))
        te["node"] = nodes_cat(te["node"].fillna(-1))

        tr = _frame(self.transfers, ["start", "end", "workflow", "source_task", "target_task",
                                      "source", "target", "bytes"])
        for col in ("start", "end", "bytes"):
            tr[col] = tr[col].astype("float64")
        tr["workflow"] = tr["workflow"].astype("int64")
        tr["source_task"] = task_names(tr["workflow"], tr["source_task"])
        tr["target_task"] = task_names(tr["workflow"], tr["target_task"])
        tr["source"] = nodes_cat(tr["source"])
        tr["target"] = nodes_cat(tr["target"])

        hop = _frame(self.hops, ["start", "end", "channel", "bytes"])
        channels = hop["channel"].to_numpy(dtype=np.int64)
        link_ids = [f"{l.a}~{l.b}" for l in topology.links]
        hop = pd.DataFrame({
            "start": hop["start"].astype("float64"),
            "end": hop["end"].astype("float64"),
            "link": pd.Categorical.from_codes(channels >> 1, categories=link_ids) if link_ids
            else pd.Categorical([]),
            "direction": pd.Categorical.from_codes(channels & 1, categories=["forward", "reverse"]),
            "bytes": hop["bytes"].astype("float64"),
        })

        st = _frame(self.states, ["time", "kind", "entity", "state"])
        st["time"] = st["time"].astype("float64")
        for col in ("kind", "entity", "state"):
            st[col] = st[col].astype("category")
        vi = _frame(self.violations, ["time", "kind", "entity", "message"])
        vi["time"] = vi["time"].astype("float64")
        vi["kind"] = vi["kind"].astype("category")
        vi["entity"] = vi["entity"].astype("string")
        vi["message"] = vi["message"].astype("string")

        task_specs = pd.DataFrame(
            [(k, spec.name, t.id, t.work, t.cores, t.memory, t.priority.name.title(),
              np.nan if t.deadline is None else t.deadline, t.location.kind.value,
              ",".join(x.value for x in t.location.tiers), ",".join(sorted(t.state_keys)))
             for k, spec in enumerate(specs) for t in spec.tasks],
            columns=["definition", "name", "task", "work", "cores", "memory", "priority", "deadline",
                     "location", "tiers", "state_keys"],
        ).astype({"definition": "int64", "work": "float64", "cores": "int64", "memory": "float64",
                  "deadline": "float64"})
        task_edges = pd.DataFrame(
            [(k, e.source, e.target, e.nbytes) for k, spec in enumerate(specs) for e in spec.edges],
            columns=["definition", "source", "target", "bytes"],
        ).astype({"definition": "int64", "source": "string", "target": "string", "bytes": "float64"})
        topo = topology.to_dict()
        nodes = pd.DataFrame(topo["nodes"]).astype({"tier": "category"})
        links = pd.DataFrame(topo["links"], columns=["a", "b", "latency", "bandwidth"])
        links.insert(0, "link", link_ids)
        return Trace(
            workflows=wf, task_specs=task_specs, task_edges=task_edges, workflow_events=we, task_events=te, transfers=tr, link_usage=hop,
            states=st, violations=vi, nodes=nodes, links=links,
            manifest={**manifest, "horizon": horizon},
        )


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

    def __call__(self, workflows: pd.Series, tasks: pd.Series) -> pd.Categorical:
        w = workflows.to_numpy(dtype=np.int64)
        t = tasks.to_numpy(dtype=np.int64)
        origin = len(self._codes) - 1
        flat = np.where(t < 0, origin, self._offset[self._definition_of[w]] + t) if len(t) else t
        return pd.Categorical.from_codes(self._codes[flat], categories=self._categories)


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame.from_records(rows, columns=columns)
