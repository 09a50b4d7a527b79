"""The recorded trace of one run: typed DataFrames plus the run's manifest.

Every downstream consumer (metrics, plots, checkers, reports) reads a :class:`Trace`,
live or loaded from disk, so nothing depends on a simulation still being in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

TABLES = (
    "workflows", "task_specs", "task_edges", "workflow_events", "task_events", "transfers", "link_usage",
    "states", "violations", "migrations", "nodes", "links",
)


@dataclass
class Trace:
    """Event log of one run.

    Attributes:
        workflows: One row per workflow instance: ``workflow`` (id), ``workload``,
            ``name``, ``definition`` (row key into ``task_specs``), ``origin`` node,
            ``arrival``, ``deadline`` (seconds after arrival, NaN if none).
        task_specs: One row per task of each distinct workflow definition:
            ``definition, name, task, work, cores, memory, priority, deadline,
            location, tiers, state_keys``.
        task_edges: The dependencies of each definition: ``definition, source,
            target, bytes``.
        workflow_events: Lifecycle transitions: ``time, workflow, state, reason``.
        task_events: ``time, workflow, task, event, node`` with event one of
            ``placed, ready, start, end, failed``.
        transfers: One row per data transfer between nodes: ``start, end, workflow,
            source_task, target_task, source, target, bytes`` (``<origin>`` names the
            workflow's origin as a source or target).
        link_usage: One row per link crossed: ``start, end, link, direction, bytes``.
        states: Node and link state changes: ``time, kind, entity, state``.
        violations: Run-time contract breaches (e.g. illegal lifecycle transitions).
        migrations: One row per phase change of a task migration: ``time, migration,
            workflow, task, source, target, state, trigger`` (state one of
            ``Preparing, Transferring, Activating, Completed, Failed, Canceled``; see
            :mod:`wfsim.engine.migration`). Empty unless migration is used.
        nodes: The topology's nodes (static).
        links: The topology's links (static), with the ``link`` name used above.
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
    migrations: pd.DataFrame = field(default_factory=lambda: _empty_migrations())
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def horizon(self) -> float:
        """Simulated time at which the run stopped."""
        return float(self.manifest.get("horizon", 0.0))

    def executions(self) -> pd.DataFrame:
        """One row per task instance, with the times of its lifecycle events.

        Columns: ``workflow, task, node, tier, cores, deadline, placed, ready, start,
        end, failed`` (NaN where an event did not happen); ``deadline`` is absolute.
        """
        ev = self.task_events
        wide = ev.pivot_table(
            index=["workflow", "task"], columns="event", values="time", aggfunc="first",
            observed=True,
        )
        wide = wide.reindex(columns=["placed", "ready", "start", "end", "failed"])
        wide.columns = list(wide.columns)
        # The node that ran the task: its last event that names one (a migrated task
        # was placed on one node and started on another).
        nodes = ev[ev["node"].notna()].drop_duplicates(["workflow", "task"], keep="last")
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
    def save(self, directory: str | Path) -> None:
        """Write ``directory/manifest.json`` and one Parquet file per table under
        ``directory/trace/``. Not atomic by itself: see
        :func:`wfsim.experiments.results.write_run`."""
        directory = Path(directory)
        (directory / "trace").mkdir(parents=True, exist_ok=True)
        schema = {}
        for name in TABLES:
            frame = getattr(self, name)
            frame.to_parquet(directory / "trace" / f"{name}.parquet", index=False)
            schema[name] = {col: _dtype_spec(frame[col].dtype) for col in frame.columns}
        # Parquet keeps the dtypes of columns with values; an empty categorical or
        # string column needs the schema to come back as it was.
        (directory / "trace" / "schema.json").write_text(json.dumps(schema, indent=1))
        (directory / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str))

    @classmethod
    def load(cls, directory: str | Path) -> Trace:
        """Read a trace written by :meth:`save` (e.g. a ``wfsim run --out`` directory)."""
        directory = Path(directory)
        schema_file = directory / "trace" / "schema.json"
        schema = json.loads(schema_file.read_text()) if schema_file.exists() else {}
        tables = {}
        for name in TABLES:
            path = directory / "trace" / f"{name}.parquet"
            if name == "migrations" and not path.exists():
                continue  # saved before migrations were recorded: an empty table
            frame = pd.read_parquet(path)
            dtypes = {col: _dtype_from_spec(spec) for col, spec in schema.get(name, {}).items()
                      if col in frame.columns}
            tables[name] = frame.astype(dtypes) if dtypes else frame
        manifest = json.loads((directory / "manifest.json").read_text())
        return cls(**tables, manifest=manifest)

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


def _empty_migrations() -> pd.DataFrame:
    from wfsim.trace.recorder import MIGRATION_STATES, MIGRATION_TRIGGERS

    empty = pd.Categorical([])
    return pd.DataFrame({
        "time": pd.Series([], dtype="float64"), "migration": pd.Series([], dtype="int64"),
        "workflow": pd.Series([], dtype="int64"), "task": empty, "source": empty, "target": empty,
        "state": pd.Categorical([], categories=list(MIGRATION_STATES)),
        "trigger": pd.Categorical([], categories=list(MIGRATION_TRIGGERS)),
    })
