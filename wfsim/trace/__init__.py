"""The event log: cheap recording, typed DataFrames, Parquet persistence, metrics."""

from wfsim.trace.metrics import summarize
from wfsim.trace.recorder import TraceRecorder
from wfsim.trace.trace import Trace

__all__ = ["Trace", "TraceRecorder", "summarize"]
