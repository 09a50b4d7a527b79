"""Workflow generators, arrival processes, and WfCommons import."""

from wfsim.workloads.arrivals import ARRIVAL_PROCESSES, MMPP, ArrivalProcess, Periodic, Poisson, TraceArrivals
from wfsim.workloads.generators import GENERATORS, chain, diamond, fork_join, layered_random, order_processing
from wfsim.workloads.wfcommons import load_wfformat, recorded_makespan
from wfsim.workloads.workload import WorkDistribution, Workload

__all__ = [
    "ARRIVAL_PROCESSES", "ArrivalProcess", "GENERATORS", "MMPP", "Periodic", "Poisson", "TraceArrivals",
    "WorkDistribution", "Workload", "chain", "diamond", "fork_join", "layered_random", "load_wfformat",
    "order_processing", "recorded_makespan",
]
