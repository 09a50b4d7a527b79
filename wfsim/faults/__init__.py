"""Fault processes: seeded schedules of node crashes, link outages, partitions,
latency spikes, correlated site failures and device handovers.

A fault process only draws *when* and *what* fails, from its own named random stream,
so two strategies compared on one seed see the same faults; the engine
(:mod:`wfsim.engine.faults`) applies the schedule and records it in the trace's
``faults`` table.
"""

from wfsim.faults.fault import Fault, FaultTargetError, link_name, region, site
from wfsim.faults.processes import (
    FAULT_PROCESSES,
    Crashes,
    FaultProcess,
    LatencySpikes,
    LinkOutages,
    Mobility,
    Partitions,
    Schedule,
    SiteFailures,
)

__all__ = ["FAULT_PROCESSES", "Crashes", "Fault", "FaultProcess", "FaultTargetError", "LatencySpikes",
           "LinkOutages", "Mobility", "Partitions", "Schedule", "SiteFailures", "link_name", "region", "site"]
