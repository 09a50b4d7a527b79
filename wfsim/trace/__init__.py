"""The event log: cheap recording, typed DataFrames, Parquet persistence, metrics."""

from wfsim.trace.metrics import summarize
from wfsim.trace.recorder import TraceRecorder
from wfsim.trace.rundir import RunDirectoryError, check_run, read_metrics, write_run
from wfsim.trace.trace import Trace

__all__ = ["RunDirectoryError", "Trace", "TraceRecorder", "check_run", "read_metrics", "summarize", "write_run"]
