"""The recorded trace of one run: typed DataFrames plus the run's manifest.

Every downstream consumer (metrics, plots, checkers, reports) reads a :class:`Trace`,
live or loaded from disk, so nothing depends on a simulation still being in memory.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wfsim.model.enums import TraceLevel
from wfsim.model.events import SEGMENT_ENDS, STOPPED_EARLY
from wfsim.trace.tables import DECLARATIONS, DECLARED, TABLES, Table

__all__ = ["TABLES", "Trace"]


def _declared_tables(cls: type) -> type:
    """Check that ``cls`` has one DataFrame field per declared table (the required ones
    first, in declared order; the optional ones defaulting to their empty frame), and
    list the tables where its docstring says ``{tables}``.

    The fields are written out, not added here, so type checkers and editors see them;
    a field list that drifts from the declarations fails at import.
    """
    expected = [(t.name, t.optional) for t in sorted(DECLARATIONS, key=lambda t: t.optional)]
    found = [(f.name, f.default_factory is not MISSING) for f in fields(cls) if f.name != "manifest"]
    if found != expected:
        raise TypeError(f"{cls.__name__}: table fields {found} differ from the declarations {expected}")
    cls.__doc__ = _with_tables_doc(cls.__doc__ or "")
    return cls


def _with_tables_doc(doc: str) -> str:
    """``doc`` with its ``{tables}`` line replaced by a Google-style attribute entry
    per declared table, at that line's indentation (which Python 3.13 strips from
    docstrings and earlier versions keep)."""
    match = re.search(r"^([ \t]*)\{tables\}$", doc, flags=re.MULTILINE)
    if match is None:
        return doc
    indent = match.group(1)
    entries = "\n".join(
        textwrap.fill(f"{table.name}: {_table_doc(table)}", width=88, initial_indent=indent,
                      subsequent_indent=indent + "    ", break_on_hyphens=False)
        for table in DECLARATIONS)
    return doc[:match.start()] + entries + doc[match.end():]


def _table_doc(table: Table) -> str:
    columns = []
    for column in table.columns:
        notes = [] if column.categories is None else ["one of " + ", ".join(f"``{c}``" for c in column.categories)]
        if column.doc:
            notes.append(column.doc)
        columns.append(f"``{column.name}``" + (f" ({'; '.join(notes)})" if notes else ""))
    return f"{table.doc} Columns: {', '.join(columns)}."


@_declared_tables
@dataclass
class Trace:
    """Event log of one run: one DataFrame per table of :mod:`wfsim.trace.tables`.

    This list and the empty frames of the optional tables (empty when not given) come
    from :data:`~wfsim.trace.tables.DECLARATIONS`, which also gives the columns'
    dtypes; the fields are checked against it on import.

    Attributes:
        {tables}
        manifest: Config, seed, versions, git revision, ``horizon`` (end time).
    """

    workflows: pd.DataFrame
    task_specs: pd.DataFrame
    task_edges: pd.DataFrame
    workflow_events: pd.DataFrame
    task_events: pd.DataFrame
    transfers: pd.DataFrame
    link_usage: pd.DataFrame
    states: pd.DataFrame
    violations: pd.DataFrame
    nodes: pd.DataFrame
    links: pd.DataFrame
    migrations: pd.DataFrame = field(default_factory=DECLARED["migrations"].empty)
    allocations: pd.DataFrame = field(default_factory=DECLARED["allocations"].empty)
    rebalances: pd.DataFrame = field(default_factory=DECLARED["rebalances"].empty)
    faults: pd.DataFrame = field(default_factory=DECLARED["faults"].empty)
    detections: pd.DataFrame = field(default_factory=DECLARED["detections"].empty)
    recoveries: pd.DataFrame = field(default_factory=DECLARED["recoveries"].empty)
    task_faults: pd.DataFrame = field(default_factory=DECLARED["task_faults"].empty)
    connectivity: pd.DataFrame = field(default_factory=DECLARED["connectivity"].empty)
    decisions: pd.DataFrame = field(default_factory=DECLARED["decisions"].empty)
    writes: pd.DataFrame = field(default_factory=DECLARED["writes"].empty)
    leases: pd.DataFrame = field(default_factory=DECLARED["leases"].empty)
    operations: pd.DataFrame = field(default_factory=DECLARED["operations"].empty)
    health: pd.DataFrame = field(default_factory=DECLARED["health"].empty)
    raft: pd.DataFrame = field(default_factory=DECLARED["raft"].empty)
    resolutions: pd.DataFrame = field(default_factory=DECLARED["resolutions"].empty)
    replicas: pd.DataFrame = field(default_factory=DECLARED["replicas"].empty)
    messages: pd.DataFrame = field(default_factory=DECLARED["messages"].empty)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def horizon(self) -> float:
        """Simulated time at which the run stopped."""
        return float(self.manifest.get("horizon", 0.0))

    def executions(self) -> pd.DataFrame:
        """One row per task instance, with the times of its lifecycle events.

        Columns: ``workflow, task, node, tier, cores, deadline, placed, ready, start,
        end, failed`` (NaN where an event did not happen); ``deadline`` is absolute.
        A task checkpointed and resumed elsewhere (a running migration) shows its
        first ``placed`` and its last ``ready`` and ``start``: those of the execution
        that ended, on the node given; :meth:`holdings` has every execution.
        """
        ev = self.task_events
        wide = ev.pivot_table(
            index=["workflow", "task"], columns="event", values="time", aggfunc="first",
            observed=True,
        )
        # The node that ran the task: its last event that names one (a migrated task
        # was placed on one node and started on another).
        nodes = ev[ev["node"].notna()].drop_duplicates(["workflow", "task"], keep="last")
        if ev["event"].isin(STOPPED_EARLY).any():
            # Several executions: the one that counts is the one that ended (the last
            # end: a Quorum's deciding replica), its node the task's; its last ready
            # and start are the task's (a resumed or retried task's last ones).
            ended = ev[ev["event"] == "end"].drop_duplicates(["workflow", "task"], keep="last")
            nodes = pd.concat([ended, nodes]).drop_duplicates(["workflow", "task"], keep="first")
            keys = ["workflow", "task"]
            on = ev.merge(ended[[*keys, "node"]], on=keys, how="left", suffixes=("", "_end"))
            on = on[on["node_end"].isna() | (on["node"] == on["node_end"])]
            last = on[on["event"].isin(["ready", "start", "end"])].pivot_table(
                index=keys, columns="event", values="time", aggfunc="last", observed=True)
            for column in last.columns:
                wide[column] = last[column].reindex(wide.index)
        wide = wide.reindex(columns=["placed", "ready", "start", "end", "failed"])
        wide.columns = list(wide.columns)
        wide = wide.reset_index().merge(
            nodes[["workflow", "task", "node"]], on=["workflow", "task"], how="left"
        )
        tiers = self.nodes.set_index("id")["tier"].astype(str)
        wide["tier"] = wide["node"].astype(str).map(tiers).astype("category")
        specs = self.task_specs[["definition", "task", "cores", "deadline"]].astype({"task": str})
        wide["task"] = wide["task"].astype(str)
        wide = wide.merge(self.workflows[["workflow", "definition", "arrival"]], on="workflow", how="left")
        wide = wide.merge(specs, on=["definition", "task"], how="left")
        wide["deadline"] = wide["arrival"] + wide["deadline"]
        wide["task"] = wide["task"].astype("category")
        return wide[["workflow", "task", "node", "tier", "cores", "deadline",
                     "placed", "ready", "start", "end", "failed"]]

    def holdings(self) -> pd.DataFrame:
        """One row per interval in which a task held a constant allocation on a node.

        Columns: ``workflow, task, node, start, end, cores, memory``. An execution
        runs from a ``start`` to the next ``end``, ``checkpointed``, ``lost`` or
        ``cancelled`` of the same task on the same node (or the horizon, if it was
        still running); it holds the spec's cores and memory unless ``allocations``
        says otherwise from some time on. A task that was checkpointed and resumed,
        retried or replicated has one execution per time it started on a node.
        Zero-length intervals (a task with no work) are left out.
        """
        ev = self.task_events
        ev = ev[ev["event"].isin(["start", *SEGMENT_ENDS])]
        ev = ev.sort_values(["workflow", "task", "time"], kind="stable")
        order = pd.Series(np.arange(len(ev)), index=ev.index)  # the rows' order: by task, then time
        ev = ev.sort_values(["workflow", "task", "node"], kind="stable")  # pairs per node
        nxt_time = ev["time"].shift(-1)
        same = ((ev["workflow"].shift(-1) == ev["workflow"]) & (ev["task"].shift(-1) == ev["task"])
                & (ev["node"].shift(-1) == ev["node"]))
        starts = ev["event"] == "start"
        seg = pd.DataFrame({
            "workflow": ev["workflow"].to_numpy(), "task": ev["task"].astype(str).to_numpy(),
            "node": ev["node"].astype(str).to_numpy(),
            "start": ev["time"].to_numpy(),
            "end": nxt_time.where(same & ~starts.shift(-1, fill_value=False), self.horizon).to_numpy(),
            "_pos": order.reindex(ev.index).to_numpy(),
        })[starts.to_numpy()].sort_values("_pos", kind="stable").drop(columns="_pos")
        specs = self.task_specs[["definition", "task", "cores", "memory"]].astype({"task": str})
        seg = seg.merge(self.workflows[["workflow", "definition"]], on="workflow", how="left")
        seg = seg.merge(specs, on=["definition", "task"], how="left").drop(columns="definition")
        seg["cores"] = seg["cores"].astype(float)
        # A zero-work task holds nothing for no time: no interval.
        seg = seg[seg["end"] > seg["start"]]
        if not len(self.allocations):
            return seg.reset_index(drop=True)
        seg = seg.sort_values("start", kind="stable").reset_index(drop=True)
        seg["segment"] = np.arange(len(seg))
        alloc = self.allocations.assign(task=self.allocations["task"].astype(str),
                                        node=self.allocations["node"].astype(str)).sort_values("time", kind="stable")
        # Each allocation row belongs to the execution of its task on its node that
        # started last at or before it.
        owner = pd.merge_asof(alloc, seg[["workflow", "task", "node", "start", "end", "segment"]],
                              left_on="time", right_on="start", by=["workflow", "task", "node"])
        owner = owner[owner["segment"].notna() & (owner["time"] < owner["end"])]
        points = pd.concat([
            seg[["segment", "start", "cores", "memory"]].rename(columns={"start": "time"}).assign(order=0),
            pd.DataFrame({"segment": owner["segment"].astype("int64").to_numpy(), "time": owner["time"].to_numpy(),
                          "cores": owner["cores"].astype(float).to_numpy(), "memory": owner["memory"].to_numpy(),
                          "order": 1}),
        ], ignore_index=True).sort_values(["segment", "time", "order"], kind="stable")
        info = seg.set_index("segment")
        nxt = points["time"].shift(-1).where(points["segment"].shift(-1) == points["segment"])
        out = pd.DataFrame({
            "workflow": info["workflow"].reindex(points["segment"]).to_numpy(),
            "task": info["task"].reindex(points["segment"]).to_numpy(),
            "node": info["node"].reindex(points["segment"]).to_numpy(),
            "start": points["time"].to_numpy(),
            "end": nxt.fillna(info["end"].reindex(points["segment"]).set_axis(points.index)).to_numpy(),
            "cores": points["cores"].to_numpy(), "memory": points["memory"].to_numpy(),
        })
        # Drop zero-length pieces (an allocation recorded at the start overrides it).
        return out[out["end"] > out["start"]].reset_index(drop=True)

    def workflow_summary(self) -> pd.DataFrame:
        """One row per workflow instance: ``arrival, end, state, latency, deadline``
        plus its ``workload``, ``name`` and ``origin``; ``end``/``latency`` are NaN
        while still running at the horizon."""
        final = self.workflow_events.groupby("workflow").tail(1).set_index("workflow")
        out = self.workflows.set_index("workflow").copy()
        out["state"] = final["state"].astype(str).reindex(out.index)
        ended = out["state"].isin(["Completed", "Failed"])
        out["end"] = final["time"].reindex(out.index).where(ended)
        out["latency"] = out["end"] - out["arrival"]
        out["reason"] = final["reason"].reindex(out.index)
        return out.reset_index()

    # --- persistence -------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Save as a complete run directory (the same as ``wfsim run --out`` writes):
        ``manifest.json`` with every file's checksum, ``metrics.json`` and
        ``trace/*.parquet``, written atomically (:mod:`wfsim.trace.rundir`).

        Raises:
            RunDirectoryError: ``directory`` holds files wfsim did not write.
        """
        from wfsim.trace.rundir import write_run

        return write_run(directory, self)

    @classmethod
    def load(cls, directory: str | Path, check: bool = True) -> Trace:
        """Read a run directory written by :meth:`save` or ``wfsim run``.

        Args:
            directory: The run directory.
            check: Verify the manifest and every file's size and checksum first
                (:func:`wfsim.trace.rundir.check_run`); ``False`` reads whatever is there.

        Raises:
            RunDirectoryError: The directory is not a run, is damaged, or kept only
                its metrics (a run at trace level ``metrics``).
        """
        from wfsim.trace.rundir import RunDirectoryError, check_run

        directory = Path(directory)
        if check:
            check_run(directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        if manifest.get("trace") == TraceLevel.METRICS.value:
            raise RunDirectoryError(f"{directory}: kept only metrics (trace: metrics); re-run with --trace full")
        schema_file = directory / "trace" / "schema.json"
        schema = json.loads(schema_file.read_text()) if schema_file.exists() else {}
        tables = {}
        for name in TABLES:
            path = directory / "trace" / f"{name}.parquet"
            if DECLARED[name].optional and not path.exists():
                continue  # saved before this table existed: the field's default, empty
            frame = pd.read_parquet(path)
            expected = schema.get(name, {})
            if expected and list(frame.columns) != list(expected):
                raise RunDirectoryError(f"{directory}: trace/{name}.parquet holds columns {list(frame.columns)}, "
                                        f"not those of the {name} table {list(expected)}")
            dtypes = {col: _dtype_from_spec(spec) for col, spec in expected.items()}
            tables[name] = frame.astype(dtypes) if dtypes else frame
        for storage in ("format", "files"):  # how it was stored, not what produced it
            manifest.pop(storage, None)
        return cls(**tables, manifest=manifest)

    def schema(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Column dtypes of every table, as saved beside the Parquet files: Parquet
        keeps the dtypes of columns with values, but an empty categorical or string
        column needs this to come back as it was (:meth:`load` applies it)."""
        return {name: {col: _dtype_spec(frame[col].dtype) for col in frame.columns}
                for name in TABLES for frame in [getattr(self, name)]}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{f.name}={len(getattr(self, f.name))}" for f in fields(self) if f.name in TABLES[:5])
        return f"Trace(horizon={self.horizon:g}, {sizes})"


def _dtype_spec(dtype: Any) -> dict[str, Any]:
    if isinstance(dtype, pd.CategoricalDtype):
        return {"dtype": "category", "categories": [str(c) for c in dtype.categories]}
    return {"dtype": str(dtype)}


def _dtype_from_spec(spec: dict[str, Any]) -> Any:
    if spec["dtype"] == "category":
        return pd.CategoricalDtype(spec["categories"])
    return spec["dtype"]
