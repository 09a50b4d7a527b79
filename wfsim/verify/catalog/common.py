"""What the subject modules of the catalog share: the per-entity projections the
temporal properties are evaluated on, and small table helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfsim.model.enums import TERMINAL_STATES, WorkflowState
from wfsim.model.events import TASK_EVENTS
from wfsim.verify.properties import Projection, TraceView, project

__all__ = ["WORKFLOW_ATOMS", "as_str", "fmt", "migrations", "task_projection", "workflow_projection"]

#: Atoms of a workflow's projection: its lifecycle states, lowercased.
WORKFLOW_ATOMS = tuple(state.value.lower() for state in WorkflowState)
_WORKFLOW_FINAL = tuple(state.value.lower() for state in WorkflowState if state in TERMINAL_STATES)


def workflow_projection(view: TraceView) -> Projection:
    """One trace per workflow: one step per lifecycle event, atoms
    ``created, running, completed, failed``; a workflow without events has an empty
    trace."""
    return view.cached("workflow_projection", lambda: project(
        view.workflow_events, ["workflow"], "state", WORKFLOW_ATOMS, "workflow",
        all_ids=view.workflow_ids, final=_WORKFLOW_FINAL))


def task_projection(view: TraceView) -> Projection:
    """One trace per task instance: one step per task event, atoms
    ``placed, ready, start, end, failed``."""
    return view.cached("task_projection", lambda: project(
        view.task_events, ["workflow", "task"], "event", TASK_EVENTS, "task", final=("end", "failed")))


def fmt(values: pd.Series, spec: str = ".6g") -> pd.Series:
    """Numbers as strings (a ``str`` series even when empty)."""
    return values.map(lambda x: format(x, spec)).astype(str)


def as_str(column: pd.Series) -> np.ndarray:
    """A (categorical) column as an object array of ``str``."""
    return column.astype(str).to_numpy(dtype=object)


def migrations(view: TraceView) -> pd.DataFrame:
    """The ``migrations`` table with plain-string ``state`` and ``task``, sorted by
    (migration, time); empty (with its columns) on traces without one."""
    m: pd.DataFrame | None = getattr(view.trace, "migrations", None)
    if m is None or not len(m):
        return pd.DataFrame(columns=["time", "migration", "workflow", "task", "source", "target", "state"])
    return m.assign(state=m["state"].astype(str), task=m["task"].astype(str)).sort_values(
        ["migration", "time"], kind="stable")
