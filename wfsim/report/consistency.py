"""The part of a run's report about its replicated state (runs with an ``operations``
table): what each consistency level cost and gave, the store's health and the
downgrades (:mod:`wfsim.viz.consistency`, the figures the ``ConsistencyView`` shows)."""

from __future__ import annotations

from matplotlib.figure import Figure

from wfsim.report.document import Image, Part, frame_table, png, table
from wfsim.trace.trace import Trace
from wfsim.viz.consistency import consistency_overview, downgrades, level_summary, outcomes_by_level


def consistency_part(trace: Trace) -> Part:
    """Per level: attempts, latency and staleness, outcomes; the overview figure;
    the downgrades by from → to levels and the protocol messages."""
    ops = trace.operations
    part = Part("Replicated state", notes=[
        f"{len(ops)} attempts of {ops['request'].nunique()} requests on {ops['key'].nunique()} keys. Latency is "
        "ret − call of the ok attempts; a read is stale when a write to its key acknowledged before the read "
        "was invoked was acknowledged after the write it returned (staleness: seconds since the first such "
        "write); a downgrade is an attempt tried one level down after the previous one timed out."])
    summary = level_summary(trace)
    part.tables.append(frame_table(summary.round(6), "Per level served: cost (latency) and gain (freshness)"))
    outcomes = outcomes_by_level(trace).reset_index()
    part.tables.append(frame_table(outcomes, "Attempts by outcome, per level served"))
    fig = consistency_overview(trace, fig=Figure(figsize=(12, 8), layout="constrained"))
    part.images.append(Image("Latency, staleness and outcomes per level; store health and downgrades over time",
                             png(fig)))
    moves = downgrades(trace)
    part.tables.append(table(["from → to", "downgrades", "then ok"],
                             ([t, len(g), int((g["outcome"] == "ok").sum())]
                              for t, g in moves.groupby("transition", sort=False)), "Downgrades"))
    if len(trace.messages):
        part.tables.append(frame_table(trace.messages, "Protocol messages by level and kind"))
    return part
