"""A small real run, and copies of it whose replicated-state tables (operations,
health, raft, resolutions, replicas, messages) are written by hand: worked examples
whose verdicts and metrics are known, once where a property holds and once where it
breaks."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from typing import Any

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.trace.tables import DECLARED
from wfsim.trace.trace import Trace

#: The tables a test may write, each with its columns in declared order.
STATE_TABLES = ("operations", "health", "raft", "resolutions", "replicas", "messages")

#: Settings a run records under ``consistency`` (the seed's thresholds).
SETTINGS: dict[str, Any] = {
    "healthy_ratio": 0.9, "degraded_ratio": 0.7, "critical_ratio": 0.5,
    "healthy_p99": 0.1, "degraded_p99": 0.2, "critical_p99": 0.5, "hysteresis": 0,
    "anti_entropy_interval": 0.5, "floors": {},
}


@functools.cache
def base_trace() -> Trace:
    """Two-task chains for 20 s on cloud, regional-0, edge-0/1 and device-0..3."""
    return Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                      duration=20, seed=1).run().trace


def with_state(consistency: dict[str, Any] | None = None, trace: Trace | None = None,
               **rows: list[tuple]) -> Trace:
    """A copy of ``trace`` (the base trace) whose named tables hold ``rows`` (tuples
    in the table's column order, categories as strings) and whose manifest records
    ``consistency`` as the run's settings group."""
    trace = trace or base_trace()
    tables = {}
    for name, table_rows in rows.items():
        assert name in STATE_TABLES, name
        table = DECLARED[name]
        tables[name] = table.frame(*map(list, zip(*table_rows))) if table_rows else table.empty()
    manifest = {**trace.manifest, "consistency": {**SETTINGS, **(consistency or {})}}
    return dataclasses.replace(trace, manifest=manifest, **tables)


def op(op: int, client: str, f: str, key: str, call: float, ret: float, output: Any = None, *,
       outcome: str = "ok", level: str = "Linearizable", request: int | None = None, attempt: int = 0,
       requested: str | None = None, node: str = "edge-0") -> tuple:
    """One ``operations`` row: a write writes its op id; a read's ``output`` is a
    Python value (``None``: JSON null), missing unless the read is ``ok``."""
    value = json.dumps(op) if f == "write" else None
    answer = json.dumps(output) if f == "read" and outcome == "ok" else None
    reason = None if outcome == "ok" else ("timeout" if outcome == "unknown" else "refused")
    return (op, op if request is None else request, attempt, client, node, key, f, value, answer,
            requested or level, level, call, ret if outcome != "unknown" or not math.isnan(ret) else math.nan,
            outcome, reason)
