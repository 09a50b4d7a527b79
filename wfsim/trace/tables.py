"""The trace's tables, declared once: name, columns in order, dtypes and docs.

:class:`~wfsim.trace.trace.Trace` takes its fields, its docstring and the empty
frames of tables a trace may lack from :data:`DECLARATIONS`;
:meth:`TraceRecorder.build <wfsim.trace.recorder.TraceRecorder.build>` names, orders
and types its columns through :meth:`Table.frame`. A new table is a declaration here
(``optional=True``, so earlier runs still load), a list and a record method in
:class:`~wfsim.trace.recorder.TraceRecorder`, and its block in ``build``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.events import (
    AUTONOMY_LEVELS,
    CONNECTIVITY_STATES,
    DECIDERS,
    FALLBACK_ACTIONS,
    FAULT_KINDS,
    LEASE_EVENTS,
    LEVELS,
    MIGRATION_STATES,
    MIGRATION_TRIGGERS,
    NODE_STATES,
    OPERATIONS,
    OUTCOMES,
    RAFT_EVENTS,
    RECOVERY_ACTIONS,
    RECOVERY_PHASES,
    SYSTEM_HEALTH,
    TASK_EVENTS,
    TASK_FAULT_KINDS,
    WORKFLOW_STATES,
)

# --- column kinds ---------------------------------------------------------------------
#: 64-bit floats (times, bytes, sizes; NaN where missing).
FLOAT = "float64"
#: 64-bit integers (ids, counts).
INT = "int64"
#: Booleans.
BOOL = "bool"
#: pandas' default string dtype, what a column of Python strings becomes: ``str``
#: from pandas 3 on (``object`` before).
STR = "str"
#: pandas' nullable ``string`` dtype: missing values are ``<NA>``.
STRING = "string"
#: A categorical: of the declared categories in that order (codes recorded on the hot
#: path), or, with none declared, of the run's own values (nodes, tasks, links, …).
CATEGORY = "category"
#: As the model gives it, not cast: ``int64`` or ``float64`` (the static topology
#: tables pass the model's fields through, and ``4 * 2**30`` bytes stays an integer).
NUMBER = "number"
#: As the model gives it, not cast: strings, or ``None`` where missing (``str``, or
#: ``object`` when every value is missing).
TEXT = "text"

KINDS = (FLOAT, INT, BOOL, STR, STRING, CATEGORY, NUMBER, TEXT)


def json_cell(text: Any) -> Any:
    """A cell of a column holding JSON text (``operations``' value and output,
    ``replicas``' value) decoded; None for a missing one (``<NA>``, or NaN or None
    once cast to object)."""
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return None
    return json.loads(text)
#: Kinds the build leaves as pandas infers them from the model's values.
_AS_GIVEN = {NUMBER: ("int64", "float64"), TEXT: ("str", "object")}
#: The dtype of :data:`STR` columns under the pandas installed.
_STR_DTYPE = pd.Series(["x"]).dtype


@dataclass(frozen=True)
class Column:
    """One column of a trace table.

    Attributes:
        name: Column name.
        kind: One of :data:`KINDS`.
        doc: What it holds, where the name does not say it all ("" if it does).
        categories: For a :data:`CATEGORY` column, its fixed categories in code order;
            ``None`` when the categories are the run's own values.
    """

    name: str
    kind: str
    doc: str = ""
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.categories is not None and self.kind != CATEGORY:
            raise ValueError(f"column {self.name!r}: only a {CATEGORY} column has categories")

    def values(self, data: Any) -> Any:
        """``data`` as this column's dtype.

        Integer codes of a column with fixed categories become the categorical they
        index (code -1 is missing); arrays already of the right dtype are not copied;
        :data:`NUMBER` and :data:`TEXT` columns are left as they are.
        """
        if self.kind in _AS_GIVEN:
            return data
        if self.kind == CATEGORY:
            if self.categories is None:
                return data if isinstance(data, pd.Categorical) else pd.Categorical(data)
            if isinstance(data, np.ndarray) and data.dtype.kind == "i":
                return pd.Categorical.from_codes(data, categories=pd.Index(self.categories))
            return pd.Categorical(data, categories=list(self.categories))
        if self.kind in (STRING, STR):
            return pd.array(data, dtype=self.dtype())
        return np.asarray(data, dtype=self.kind)

    def dtype(self) -> Any:
        """The pandas dtype to cast to (``None`` for a kind left as given)."""
        if self.kind in _AS_GIVEN:
            return None
        if self.kind == CATEGORY:
            return "category" if self.categories is None else pd.CategoricalDtype(list(self.categories))
        return _STR_DTYPE if self.kind == STR else self.kind

    def problem(self, dtype: Any) -> str | None:
        """Why a column of ``dtype`` is not of this column's kind (``None``: it is)."""
        if self.kind in _AS_GIVEN:
            ok = str(dtype) in _AS_GIVEN[self.kind]
        elif self.kind == CATEGORY:
            ok = isinstance(dtype, pd.CategoricalDtype) and (
                self.categories is None or [str(c) for c in dtype.categories] == list(self.categories))
        else:
            ok = str(dtype) == str(self.dtype())
        if ok:
            return None
        shown = (f"{CATEGORY} {list(dtype.categories)}" if isinstance(dtype, pd.CategoricalDtype)
                 and self.categories is not None else str(dtype))
        wanted = f"{CATEGORY} {list(self.categories)}" if self.categories is not None else self.kind
        return f"{self.name}: {shown}, declared {wanted}"


@dataclass(frozen=True)
class Table:
    """One table of a :class:`~wfsim.trace.trace.Trace`.

    Attributes:
        name: The table's name: the Trace field and ``trace/<name>.parquet``.
        doc: One line on what a row is.
        columns: Its columns, in order.
        optional: A trace may lack it: a Trace made without it, or loaded from a run
            saved before the table existed, gets it empty. Every table added after
            runs were first saved is optional, so those runs still load.
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    optional: bool = False

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.columns]

    def frame(self, *data: Any) -> pd.DataFrame:
        """A DataFrame of this table from one array (or codes, see
        :meth:`Column.values`) per column, in declared order."""
        if len(data) != len(self.columns):
            raise TypeError(f"table {self.name}: {len(data)} arrays for columns {self.names}")
        return pd.DataFrame({c.name: c.values(d) for c, d in zip(self.columns, data)})

    def cast(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (built by pandas from rows, with these columns in order) with
        every column of a typed kind cast to it."""
        # Columns pandas inferred right are left alone: astype would copy them.
        dtypes = {c.name: dtype for c in self.columns
                  if (dtype := c.dtype()) is not None and c.problem(frame[c.name].dtype) is not None}
        return frame.astype(dtypes) if dtypes else frame

    def empty(self) -> pd.DataFrame:
        """This table with no rows, in the declared dtypes."""
        return self.frame(*(np.empty(0, dtype=np.int64) if c.categories is not None
                            else np.empty(0, dtype=object) if c.kind in (CATEGORY, STR, STRING, TEXT)
                            else np.empty(0, dtype=c.dtype() or FLOAT)
                            for c in self.columns))

    def problems(self, frame: pd.DataFrame) -> list[str]:
        """How ``frame`` differs from this declaration (empty: it conforms)."""
        if list(frame.columns) != self.names:
            return [f"columns {list(frame.columns)}, declared {self.names}"]
        return [p for c in self.columns if (p := c.problem(frame[c.name].dtype)) is not None]


def _columns(*specs: tuple[Any, ...]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_TIME = ("time", FLOAT, "simulated seconds")
_WORKFLOW = ("workflow", INT, "id, as in ``workflows``")
_TASK = ("task", CATEGORY, "task id within its workflow")

#: Every table of a trace, in the order they are saved.
DECLARATIONS: tuple[Table, ...] = (
    Table("workflows", "One row per workflow instance.", _columns(
        ("workflow", INT, "id: 0, 1, 2, … in submission order"),
        ("workload", CATEGORY, "the workload that submitted it"),
        ("name", CATEGORY, "its definition's name"),
        ("definition", INT, "row key into ``task_specs``"),
        ("origin", CATEGORY, "node it was submitted from"),
        ("arrival", FLOAT, "submission time"),
        ("deadline", FLOAT, "seconds after arrival, NaN if none"),
    )),
    Table("task_specs", "One row per task of each distinct workflow definition.", _columns(
        ("definition", INT, "row key, as in ``workflows``"),
        ("name", STR, "the definition's name"),
        ("task", STR, "task id"),
        ("work", FLOAT, "operations"),
        ("cores", INT, "recommended cores"),
        ("memory", FLOAT, "recommended bytes"),
        ("priority", STR, "``Critical`` … ``Background``"),
        ("deadline", FLOAT, "seconds after the workflow's arrival, NaN if none"),
        ("location", STR, "location requirement kind"),
        ("tiers", STR, "comma-separated tiers"),
        ("state_keys", STR, "comma-separated, sorted"),
        ("min_cores", INT),
        ("min_memory", FLOAT),
        ("elastic", BOOL),
        ("scalability", FLOAT),
    )),
    Table("task_edges", "The dependencies of each definition.", _columns(
        ("definition", INT),
        ("source", STRING, "task id"),
        ("target", STRING, "task id"),
        ("bytes", FLOAT),
    )),
    Table("workflow_events", "Lifecycle transitions of the workflows.", _columns(
        _TIME,
        _WORKFLOW,
        ("state", CATEGORY, "", tuple(s.value for s in WORKFLOW_STATES)),
        ("reason", STRING, "why it failed, ``<NA>`` if no reason"),
    )),
    Table("task_events", "Lifecycle events of the tasks.", _columns(
        _TIME,
        _WORKFLOW,
        _TASK,
        ("event", CATEGORY, "``checkpointed``: a running task stopped for a migration (it is "
         "``ready`` and starts again where it resumes); ``lost``: its node crashed under it; "
         "``cancelled``: a replica whose result was not needed", TASK_EVENTS),
        ("node", CATEGORY, "NaN when it failed before placement"),
    )),
    Table("transfers", "One row per data transfer between nodes.", _columns(
        ("start", FLOAT),
        ("end", FLOAT),
        _WORKFLOW,
        ("source_task", CATEGORY, "``<origin>`` for the workflow's origin"),
        ("target_task", CATEGORY, "``<origin>`` for the workflow's origin"),
        ("source", CATEGORY, "node"),
        ("target", CATEGORY, "node"),
        ("bytes", FLOAT),
    )),
    Table("link_usage", "One row per link a transfer crossed.", _columns(
        ("start", FLOAT, "transmission began on the link"),
        ("end", FLOAT, "the data reached its far end"),
        ("link", CATEGORY, "as named in ``links``"),
        ("direction", CATEGORY, "``forward``: from ``a`` to ``b``", ("forward", "reverse")),
        ("bytes", FLOAT),
    )),
    Table("states", "Node and cluster state changes (health, capacity, scaling, scheduling policy).",
          _columns(
              _TIME,
              ("kind", CATEGORY, "``health``, ``capacity``, ``scaling``, ``scheduling_policy``"),
              ("entity", CATEGORY, "node id, or ``cluster`` for a policy switch"),
              ("state", CATEGORY, "the new state"),
          )),
    Table("violations", "Run-time contract breaches (e.g. illegal lifecycle transitions).", _columns(
        _TIME,
        ("kind", CATEGORY),
        ("entity", STRING),
        ("message", STRING),
    )),
    Table("migrations", "One row per phase change of a task migration (:mod:`wfsim.engine.migration`); "
          "empty unless migration is used.", _columns(
              _TIME,
              ("migration", INT, "id"),
              _WORKFLOW,
              _TASK,
              ("source", CATEGORY, "node"),
              ("target", CATEGORY, "node"),
              ("state", CATEGORY, "", MIGRATION_STATES),
              ("trigger", CATEGORY, "", MIGRATION_TRIGGERS),
          ), optional=True),
    Table("allocations", "What a running task holds from ``time`` on, where that differs from its spec's "
          "size (a start with fewer cores than recommended, an elastic resize); empty when every task ran "
          "at its recommended size (:meth:`~wfsim.trace.trace.Trace.holdings` combines it with the starts "
          "and ends).", _columns(
              _TIME,
              _WORKFLOW,
              _TASK,
              ("node", CATEGORY),
              ("cores", INT),
              ("memory", FLOAT),
          ), optional=True),
    Table("rebalances", "Every node a rebalancing round looked at.", _columns(
        _TIME,
        ("node", CATEGORY),
        ("load", FLOAT, "as the round decided on it: (queued + running + incoming tasks) / current capacity"),
    ), optional=True),
    Table("faults", "Injected faults as they begin and end (:mod:`wfsim.faults`): the ground truth "
          "the failure detector and the edge nodes try to see. crash/recover and link_down/link_up rows "
          "are a node's or link's actual changes (a fault finding it already down adds none), so a link "
          "is down from its ``link_down`` row to its next ``link_up``.", _columns(
              _TIME,
              ("kind", CATEGORY, "", FAULT_KINDS),
              ("target", STRING, "the node, the link (``a~b``), or the partition's or site's name"),
              ("process", CATEGORY, "the fault process that drew it"),
              ("detail", STRING, "partition: its nodes, comma-separated; handover: ``from->to``; "
               "spike: the latency factor; link_down/link_up: the cause when not a link outage "
               "(``crash``, ``partition``, ``handover``); crash/recover: the site's name for a site "
               "failure; ``<NA>`` otherwise"),
          ), optional=True),
    Table("detections", "The failure detector's view of each node as it changes (heartbeat checks).",
          _columns(
              _TIME,
              ("node", CATEGORY),
              ("state", CATEGORY, "", NODE_STATES),
              ("missed", INT, "consecutive missed checks when the state changed (0 on a heartbeat)"),
          ), optional=True),
    Table("recoveries", "Recovery actions run when a suspected node comes back, or a failed one is "
          "failed over.", _columns(
              _TIME,
              ("node", CATEGORY),
              ("action", CATEGORY, "", RECOVERY_ACTIONS),
              ("phase", CATEGORY, "", RECOVERY_PHASES),
          ), optional=True),
    Table("task_faults", "Task-level fault handling: lost executions, retries, replicas, takeovers.",
          _columns(
              _TIME,
              _WORKFLOW,
              _TASK,
              ("node", CATEGORY, "where it happened (NaN for a retry not yet placed)"),
              ("kind", CATEGORY, "", TASK_FAULT_KINDS),
              ("attempt", INT, "the task's attempt: 0 for its first run"),
              ("work_lost", FLOAT, "ops done since the last checkpoint and now lost (``lost`` rows; else 0)"),
          ), optional=True),
    Table("connectivity", "Each edge node's connectivity to the cloud and its autonomy level, as they "
          "change.", _columns(
              _TIME,
              ("node", CATEGORY),
              ("status", CATEGORY, "", CONNECTIVITY_STATES),
              ("level", CATEGORY, "", AUTONOMY_LEVELS),
          ), optional=True),
    Table("decisions", "What an edge node did with a task while it could not (or chose not to) "
          "defer to the cloud's decision.", _columns(
              _TIME,
              ("node", CATEGORY, "the edge node that decided"),
              _WORKFLOW,
              _TASK,
              ("decider", CATEGORY, "", DECIDERS),
              ("action", CATEGORY, "the fallback action; NaN for a decision that was not a fallback",
               FALLBACK_ACTIONS),
              ("agrees", FLOAT, "1 if the cloud would have decided the same, 0 if not, NaN if unknown"),
              ("staleness", FLOAT, "age of a cached result served (``UseCache``), seconds; else NaN"),
          ), optional=True),
    Table("writes", "State writes and the partition-handling gate's verdict on each.", _columns(
        _TIME,
        ("node", CATEGORY),
        ("key", CATEGORY),
        _WORKFLOW,
        ("accepted", BOOL),
        ("state", CATEGORY, "the node's detector state when it wrote", NODE_STATES),
        ("side", CATEGORY, "the partition side it was on, named by its first node in topology order"),
    ), optional=True),
    Table("leases", "Lease events per resource (at most one unexpired lease each).", _columns(
        _TIME,
        ("resource", CATEGORY),
        ("holder", CATEGORY, "node id"),
        ("event", CATEGORY, "", LEASE_EVENTS),
        ("expires", FLOAT, "when the lease expires after this event (NaN once it ended)"),
    ), optional=True),
    Table("operations", "Replicated-state operations, one row per attempt: its invocation "
          "(``call``) and its return (``ret``), as clients saw them (a history: "
          ":func:`wfsim.verify.history.from_trace`).", _columns(
              ("op", INT, "the operation's id (its value, for a write: every write writes its own id)"),
              ("request", INT, "the request it is an attempt of (a timed-out attempt is tried again "
               "one level down under the same request)"),
              ("attempt", INT, "0 for a request's first attempt"),
              ("client", CATEGORY, "the session: ``<workflow>/<task>`` for a task, ``client<i>`` for a "
               "state client"),
              ("node", CATEGORY, "where the client ran"),
              ("key", CATEGORY),
              ("f", CATEGORY, "", OPERATIONS),
              ("value", STRING, "the value written, JSON (<NA> for a read)"),
              ("output", STRING, "what a read returned, JSON (``null``: the key had no value; <NA>: it "
               "did not return)"),
              ("requested", CATEGORY, "the level the strategy chose for the request", LEVELS),
              ("level", CATEGORY, "the level this attempt was served at", LEVELS),
              ("call", FLOAT, "invocation time"),
              ("ret", FLOAT, "return time (the timeout's for ``unknown``; NaN: the run ended first)"),
              ("outcome", CATEGORY, "", OUTCOMES),
              ("reason", STRING, "why it failed or is unknown (<NA> for ok)"),
          ), optional=True),
    Table("health", "The replicated store's health checks: what was measured, what the threshold "
          "rule says and the state in force (after hysteresis).", _columns(
              _TIME,
              ("available", INT, "replicas believed up"),
              ("total", INT, "replicas"),
              ("p99", FLOAT, "p99 latency of the latest operations, seconds (0 with none yet)"),
              ("observed", CATEGORY, "the state the thresholds give", SYSTEM_HEALTH),
              ("health", CATEGORY, "the state in force after this check", SYSTEM_HEALTH),
          ), optional=True),
    Table("raft", "Raft events: role changes, commits by the leader, applies at each member.", _columns(
        _TIME,
        ("node", CATEGORY),
        ("event", CATEGORY, "", RAFT_EVENTS),
        ("term", INT, "the member's current term"),
        ("index", INT, "log index committed or applied (-1 for role changes)"),
        ("op", INT, "the operation the entry carries (-1: none, e.g. a leader's no-op)"),
    ), optional=True),
    Table("resolutions", "Conflicts the resolver settled at a replica: concurrent versions of a key "
          "met, and some were lost or merged.", _columns(
              _TIME,
              ("node", CATEGORY),
              ("key", CATEGORY),
              ("level", CATEGORY, "the protocol's level", LEVELS),
              ("resolver", CATEGORY),
              ("inputs", INT, "concurrent versions that met"),
              ("lost", INT, "versions discarded without their effect surviving"),
          ), optional=True),
    Table("replicas", "What each replica holds when the run ends, per level's protocol (for "
          "convergence).", _columns(
              ("level", CATEGORY, "", LEVELS),
              ("key", CATEGORY),
              ("node", CATEGORY),
              ("value", STRING, "the value a local read returns there, JSON (a list for siblings)"),
          ), optional=True),
    Table("messages", "Protocol messages by level and kind, summed over the run.", _columns(
        ("level", CATEGORY, "", LEVELS),
        ("kind", CATEGORY),
        ("sent", INT),
        ("delivered", INT),
        ("dropped", INT, "lost: no route up, or an end down"),
        ("bytes", FLOAT),
    ), optional=True),
    Table("nodes", "The topology's nodes (static): the fields of :class:`~wfsim.model.topology.Node`.",
          _columns(
              ("id", STR),
              ("tier", CATEGORY),
              ("cores", NUMBER),
              ("speed", NUMBER, "operations per second of one core"),
              ("memory", NUMBER, "bytes"),
              ("price", NUMBER, "per busy core-second"),
              ("idle_power", NUMBER, "watts"),
              ("busy_power", NUMBER, "watts"),
              ("region", TEXT),
          )),
    Table("links", "The topology's links (static): the fields of :class:`~wfsim.model.topology.Link`.",
          _columns(
              ("link", STR, "``a~b``: the name ``link_usage`` uses"),
              ("a", STR, "node id"),
              ("b", STR, "node id"),
              ("latency", NUMBER, "seconds, one way"),
              ("bandwidth", NUMBER, "bytes per second in each direction"),
          )),
)

#: The tables' names, in the order they are saved.
TABLES: tuple[str, ...] = tuple(t.name for t in DECLARATIONS)
#: Each table's declaration by name.
DECLARED: dict[str, Table] = {t.name: t for t in DECLARATIONS}
