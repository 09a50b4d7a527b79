"""A small real run, and copies of it whose fault tables (faults, detections,
recoveries, connectivity, decisions, writes, leases) are written by hand: the
evidence the property catalog and the views read, once where a property holds and
once where it breaks."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.trace.tables import DECLARED
from wfsim.trace.trace import Trace

#: The tables a test may write, each with its columns in declared order.
FAULT_TABLES = ("faults", "detections", "recoveries", "connectivity", "decisions", "writes", "leases")


@functools.cache
def base_trace() -> Trace:
    """Two-task chains for 20 s on cloud, regional-0, edge-0/1 and device-0..3
    (device-0 and device-2 under edge-0); no faults."""
    return Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                      duration=20, seed=1).run().trace


def with_tables(trace: Trace | None = None, config: dict[str, Any] | None = None, **rows: list[tuple]) -> Trace:
    """A copy of ``trace`` (the base trace) whose named tables hold ``rows`` (tuples
    in the table's column order, categories as strings) and whose manifest records
    ``config`` as the run's config."""
    trace = trace or base_trace()
    tables = {}
    for name, table_rows in rows.items():
        assert name in FAULT_TABLES, name
        table = DECLARED[name]
        tables[name] = table.frame(*zip(*table_rows)) if table_rows else table.empty()
    manifest = {**trace.manifest, "config": config} if config is not None else trace.manifest
    return dataclasses.replace(trace, manifest=manifest, **tables)
