"""Matplotlib figures of a :class:`~wfsim.trace.trace.Trace`.

Shared by notebooks, widgets and reports. Every function reads only the trace (a live
one or one loaded with :meth:`Trace.load`), draws on the ``ax`` it is given or on a
new figure, and returns the ``Axes`` (:func:`overview` returns the ``Figure``). None
calls ``plt.show()``; pyplot is used only to create a figure when no ``ax`` is given,
so in Jupyter the figure appears at the end of the cell.

A trace with nothing to draw (no workflows, no executed tasks, no completed
workflows) gives an axes with a short grey message instead of an exception.

Definitions used in the figures:
    task response time: ``end − ready`` of each completed task, i.e. the time from
        when all its inputs had arrived on its node to its completion (queueing wait
        + service). ``wait`` is ``start − ready``, ``service`` is ``end − start``.
    task tier: the tier of the node the task ran on.
    workflow latency: completion − arrival of a workflow instance (as in
        :mod:`wfsim.trace.metrics`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, cast

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import Collection, LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from wfsim.model.enums import Tier
from wfsim.model.events import STOPPED_EARLY
from wfsim.trace.metrics import utilisation
from wfsim.trace.trace import Trace
from wfsim.viz.data import figure_data

__all__ = [
    "TIER_COLORS", "gantt", "latency_by_tier", "latency_cdf", "overview", "tier_order",
    "utilisation_by_tier",
]

#: One colour per tier, from the user (warm) outward to the cloud (cool).
TIER_COLORS: dict[Tier, str] = {
    Tier.LOCAL_DEVICE: "#e4572e",
    Tier.EDGE_DEVICE: "#f3a712",
    Tier.EDGE_CLOUD: "#76b041",
    Tier.REGIONAL_CLOUD: "#2e86ab",
    Tier.CLOUD: "#5c4d7d",
}

_MESSAGE_COLOR = "0.45"
TracesLike = Trace | Mapping[str, Trace]


# --- helpers -------------------------------------------------------------------------
def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _message(ax: Axes, text: str) -> Axes:
    """Show ``text`` in the middle of an otherwise empty axes."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color=_MESSAGE_COLOR, fontsize=11, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _named(traces: TracesLike) -> dict[str, Trace]:
    if isinstance(traces, Trace):
        return {"": traces}
    named = dict(traces)
    if not named:
        raise ValueError("expected a Trace or a non-empty mapping of label -> Trace")
    for label, trace in named.items():
        if not isinstance(trace, Trace):
            raise TypeError(f"{label!r}: expected a Trace, got {type(trace).__name__}")
    return named


def tier_order(trace: Trace) -> list[Tier]:
    """The tiers present in the trace's topology, in continuum order
    (LocalDevice, EdgeDevice, EdgeCloud, RegionalCloud, Cloud)."""
    present = {Tier.parse(str(t)) for t in trace.nodes["tier"].astype(str).unique()}
    return [t for t in Tier if t in present]


def _auto_log(values: Iterable[np.ndarray], log: bool | None) -> bool:
    if log is not None:
        return log
    arrays = [v for v in values if len(v)]
    if not arrays:
        return False
    allv = np.concatenate(arrays)
    return bool(allv.min() > 0 and allv.max() / allv.min() > 100)


def _text_color(color: tuple[float, float, float]) -> str:
    r, g, b = to_rgb(color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white"


def _percent(v: float) -> str:
    if v == 0:
        return "0%"
    return f"{v:.2%}" if v < 0.01 else f"{v:.1%}" if v < 0.1 else f"{v:.0%}"


def _tier_ticks(ax: Axes, positions: np.ndarray, tiers: Sequence[Tier]) -> None:
    """Tier names as x tick labels, slanted when the axes is too narrow for them."""
    ax.set_xticks(positions, [t.value for t in tiers])
    # The position is a fraction of the figure the axes is drawn in, which may be a
    # SubFigure (it has no get_figwidth): its width in inches is its bbox over the dpi.
    fig = ax.figure
    fig_width = fig.get_figwidth() if isinstance(fig, Figure) else fig.bbox.width / fig.dpi
    width = ax.get_position().width * fig_width
    if width < 1.25 * len(tiers):
        ax.tick_params(axis="x", labelrotation=25)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")


def _workflow_colors(n: int) -> list[tuple[float, float, float]]:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N)[:3] for i in range(n)]


# --- Gantt -----------------------------------------------------------------------------
def gantt(
    trace: Trace,
    workflows: Sequence[int] | None = None,
    *,
    max_workflows: int = 8,
    transfers: bool = True,
    labels: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Gantt chart of workflow instances' tasks on the nodes that ran them.

    One row per node (ids as y tick labels), grouped by tier with the continuum
    running from devices at the bottom to the cloud at the top. Each executed task is
    one horizontal bar from its ``start`` to its ``end``, coloured by workflow
    instance; a task that failed is hatched and drawn up to its failure, one still
    running at the horizon is hatched and drawn up to the horizon, and an execution
    cut short by a checkpoint (a running task that migrated) has a dashed outline and
    is followed by the task's bar on its new node. Tasks that overlap
    in time on one node are stacked in thinner lanes within the node's row.

    Args:
        trace: The run's trace.
        workflows: Workflow instance ids to draw; None picks the first
            ``max_workflows`` instances (by arrival) that executed at least one task.
        max_workflows: How many instances to pick when ``workflows`` is None.
        transfers: Also draw each data transfer between two different nodes as a
            thin line from (transfer start, source node) to (transfer end, target
            node), including the workflow's input from its origin device.
        labels: Write the task name inside bars wide enough to hold it.
        ax: Axes to draw on; None creates a new figure.

    Returns:
        The axes. Bars are in ``ax.containers``, one ``BarContainer`` per workflow,
        with one bar per executed task.
    """
    data = figure_data(trace)
    ran = data.segments
    if workflows is None:
        if max_workflows < 1:
            raise ValueError(f"max_workflows must be >= 1, got {max_workflows}")
        arrival = trace.workflows.set_index("workflow")["arrival"]
        ids = pd.Series(ran["workflow"].unique())
        ids = ids.iloc[np.argsort(arrival.reindex(ids).to_numpy(), kind="stable")]
        chosen = [int(w) for w in ids[:max_workflows]]
    else:
        chosen = [int(w) for w in workflows]
        unknown = sorted(set(chosen) - set(trace.workflows["workflow"].astype(int)))
        if unknown:
            raise ValueError(f"unknown workflow id(s) {unknown}")
    ran = ran[ran["workflow"].isin(chosen)]
    if ran.empty:
        ax = _axes(ax, (10.0, 3.0))
        ax.set_title("Tasks on their nodes")
        what = "the chosen workflows" if workflows is not None else "this trace"
        return _message(ax, f"No executed tasks in {what}")
    ran = ran.assign(stop=ran["end"], open=ran["stop"].isin(["open", "failed"]),
                     checkpointed=ran["stop"].isin(STOPPED_EARLY))
    chosen = [w for w in chosen if w in set(ran["workflow"])]

    moves = pd.DataFrame()
    if transfers and len(trace.transfers):
        tr = trace.transfers
        moves = tr[tr["workflow"].isin(chosen) & (tr["source"].astype(str) != tr["target"].astype(str))]
        moves = moves[moves["end"].notna()]

    used = set(ran["node"])
    if len(moves):
        used |= set(moves["source"].astype(str)) | set(moves["target"].astype(str))
    rows = [n for n in data.rows["node"] if n in used]

    # Lanes: tasks overlapping in time on one node are stacked within its row, and a
    # row grows with its number of lanes.
    ran = ran.sort_values(["node", "start", "stop"])
    lane = pd.Series(0, index=ran.index)
    lanes_of = dict.fromkeys(rows, 1)
    for node, group in ran.groupby("node", sort=False):
        ends: list[float] = []
        for k, start, stop in zip(group.index, group["start"], group["stop"]):
            for j, busy_until in enumerate(ends):
                if busy_until <= start + 1e-12:
                    ends[j] = stop
                    break
            else:
                j = len(ends)
                ends.append(stop)
            lane[k] = j
        lanes_of[str(node)] = len(ends)
    row_height = {n: max(1.0, 0.45 * lanes_of[n]) for n in rows}
    bottom: dict[str, float] = {}
    y = 0.0
    for n in rows:
        bottom[n] = y
        y += row_height[n]
    total = y
    centre = {n: bottom[n] + row_height[n] / 2 for n in rows}
    pad = 0.1
    ran["height"] = [(row_height[n] - 2 * pad) / lanes_of[n] for n in ran["node"]]
    ran["y"] = [bottom[n] + pad + (ln + 0.5) * h for n, ln, h in zip(ran["node"], lane[ran.index], ran["height"])]

    ax = _axes(ax, (10.0, min(14.0, 2.2 + 0.34 * total)))
    names = trace.workflows.set_index("workflow")["name"].astype(str)
    colors = dict(zip(chosen, _workflow_colors(len(chosen))))
    t0, t1 = float(ran["start"].min()), float(ran["stop"].max())
    if len(moves):
        t0, t1 = min(t0, float(moves["start"].min())), max(t1, float(moves["end"].max()))
    span = (t1 - t0) or 1.0
    for wf in chosen:
        part = ran[ran["workflow"] == wf]
        color = colors[wf]
        bars = ax.barh(part["y"], part["stop"] - part["start"], left=part["start"], height=part["height"] * 0.9,
                       color=color, edgecolor="white", linewidth=0.6, label=f"#{wf} {names.get(wf, '')}")
        for bar, is_open, stopped in zip(bars, part["open"], part["checkpointed"]):
            if is_open:
                bar.set_hatch("///")
                bar.set_edgecolor("black")
            elif stopped:  # an execution cut short: migrated, lost in a crash, or a cancelled replica
                bar.set_linestyle("--")
                bar.set_edgecolor("black")
        if labels:
            for task, bar in zip(part["task"].astype(str), bars):
                if bar.get_width() > 0.06 * span and bar.get_height() >= 0.3:
                    ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                            task, ha="center", va="center", fontsize=7, color=_text_color(color),
                            clip_on=True)

    handles, legend_labels = ax.get_legend_handles_labels()
    if len(moves):
        segments = [[(s, centre[str(a)]), (e, centre[str(b)])]
                    for s, e, a, b in zip(moves["start"], moves["end"], moves["source"], moves["target"])]
        ax.add_collection(LineCollection(segments, colors=[colors[w] for w in moves["workflow"]],
                                         linewidths=1.0, alpha=0.8, zorder=3))
        handles.append(Line2D([], [], color="0.3", linewidth=1.0))
        legend_labels.append("data transfer")
    if ran["open"].any():
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///"))
        legend_labels.append("failed / unfinished")

    # Tier bands: light alternating shading with the tier's name on the right.
    tiers = trace.nodes.assign(id=trace.nodes["id"].astype(str)).set_index("id")["tier"].astype(str)
    groups: list[tuple[str, float, float]] = []
    for n in rows:
        tier, lo, hi = tiers[n], bottom[n], bottom[n] + row_height[n]
        if groups and groups[-1][0] == tier:
            groups[-1] = (tier, groups[-1][1], hi)
        else:
            groups.append((tier, lo, hi))
    for k, (tier, lo, hi) in enumerate(groups):
        if k % 2 == 0:
            ax.axhspan(lo, hi, color="0.94", zorder=0, linewidth=0)
        ax.text(1.005, (lo + hi) / 2, tier, transform=ax.get_yaxis_transform(), fontsize=8,
                va="center", ha="left", color=TIER_COLORS[Tier.parse(tier)], fontweight="bold")

    ax.set_yticks([centre[n] for n in rows], rows)
    ax.set_ylim(0, total)
    ax.set_xlim(t0 - 0.01 * span, t1 + 0.01 * span)
    ax.set_xlabel("simulated time (s)")
    ax.set_title(f"Tasks of {len(chosen)} workflow instance{'s' if len(chosen) != 1 else ''} on their nodes")
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(handles, legend_labels, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=min(5, len(handles)), fontsize=8, frameon=False)
    return ax


# --- per-tier task response time -------------------------------------------------------
_QUANTITIES = {
    "response": ("ready", "end", "task response time (s)\nend − ready"),
    "wait": ("ready", "start", "task wait (s)\nstart − ready"),
    "service": ("start", "end", "task service time (s)\nend − start"),
}


def latency_by_tier(
    trace: Trace,
    *,
    quantity: Literal["response", "wait", "service"] = "response",
    kind: Literal["box", "violin"] = "box",
    max_points: int = 300,
    log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of per-task times, grouped by the tier of the node each task ran on.

    By default the quantity is the *task response time* ``end − ready``: from the
    moment all of a task's inputs were on its node to its completion, so it includes
    queueing on that node but not the input transfers. Only tasks that completed
    count. Tiers appear in continuum order (LocalDevice … Cloud); tiers of the
    topology on which no task completed keep their slot, marked ``n=0``.

    Args:
        trace: The run's trace.
        quantity: ``response`` (end − ready), ``wait`` (start − ready) or ``service``
            (end − start).
        kind: ``box`` (box plot) or ``violin`` (its density is estimated on the
            linear values, so on a log axis the box plot reads better).
        max_points: Overlay every individual task as a jittered point when a tier has
            at most this many tasks.
        log: Logarithmic y axis; None chooses it when positive values span more than
            two orders of magnitude.
        ax: Axes to draw on; None creates a new figure.

    Returns:
        The axes; the x tick labels are the tier names.
    """
    if quantity not in _QUANTITIES:
        raise ValueError(f"quantity must be one of {list(_QUANTITIES)}, got {quantity!r}")
    if kind not in ("box", "violin"):
        raise ValueError(f"kind must be 'box' or 'violin', got {kind!r}")
    ax = _axes(ax, (7.0, 4.0))
    since, until, ylabel = _QUANTITIES[quantity]
    ax.set_title(f"Task {quantity} time per tier", pad=16)
    ex = trace.executions()
    done = ex[ex["end"].notna() & ex[since].notna() & ex[until].notna()]
    if done.empty:
        return _message(ax, "No completed tasks in this trace")
    tiers = tier_order(trace)
    values = (done[until] - done[since]).to_numpy(dtype=float)
    tier_of = done["tier"].astype(str).to_numpy()
    data = [values[tier_of == t.value] for t in tiers]
    positions = np.arange(len(tiers))
    filled = [i for i, v in enumerate(data) if len(v)]
    use_log = _auto_log(data, log)
    if use_log:
        ax.set_yscale("log")

    if kind == "box":
        show_points = [len(data[i]) <= max_points for i in filled]
        parts = ax.boxplot([data[i] for i in filled], positions=positions[filled], widths=0.55,
                           patch_artist=True, showfliers=not all(show_points), manage_ticks=False,
                           medianprops=dict(color="black", linewidth=1.4),
                           flierprops=dict(marker=".", markersize=3, alpha=0.5))
        for patch, i in zip(parts["boxes"], filled):
            patch.set_facecolor(TIER_COLORS[tiers[i]])
            patch.set_alpha(0.45)
    else:
        parts = ax.violinplot([data[i] for i in filled], positions=positions[filled], widths=0.7,
                              showmedians=True, showextrema=False)
        bodies = cast("list[Collection]", parts["bodies"])  # a list, whatever the stubs say
        for body, i in zip(bodies, filled):
            body.set_facecolor(TIER_COLORS[tiers[i]])
            body.set_alpha(0.45)
        parts["cmedians"].set_color("black")

    rng = np.random.default_rng(0)
    for i in filled:
        v = data[i]
        if len(v) <= max_points:
            x = positions[i] + rng.uniform(-0.18, 0.18, len(v))
            ax.scatter(x, v, s=9, color=TIER_COLORS[tiers[i]], alpha=0.7, linewidths=0, zorder=3)
    for i, v in enumerate(data):
        ax.text(positions[i], 1.0, f"n={len(v)}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=8, color=_MESSAGE_COLOR)

    _tier_ticks(ax, positions, tiers)
    ax.set_xlim(-0.6, len(tiers) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("tier of the node that ran the task (user → cloud)")
    ax.grid(axis="y", color="0.88", linewidth=0.6)
    ax.set_axisbelow(True)
    return ax


# --- workflow latency CDF ------------------------------------------------------------------
def latency_cdf(
    trace: TracesLike,
    *,
    by: str | None = "workload",
    log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Empirical CDF of workflow end-to-end latency (completion − arrival).

    The y value at latency x is the fraction of *submitted* workflow instances that
    completed within x, so a curve stops short of 1 when some instances failed or
    were still running at the horizon (the legend gives the count). Dotted guides
    mark the median and the 95th percentile.

    Args:
        trace: One trace, or a mapping ``label -> Trace`` to compare runs (one curve
            per run over all its workflows; ``by`` is then ignored).
        by: For a single trace, a column of :meth:`Trace.workflow_summary`
            (``workload``, ``name``, ``origin``) giving one curve per value, plus an
            ``all`` curve when there are several; None draws one curve.
        log: Logarithmic x axis; None chooses it when latencies span more than two
            orders of magnitude.
        ax: Axes to draw on; None creates a new figure.

    Returns:
        The axes; one ``Line2D`` per curve with the curve's label.
    """
    named = _named(trace)
    ax = _axes(ax, (7.0, 4.0))
    ax.set_title("Workflow end-to-end latency")
    curves: list[tuple[str, np.ndarray, int]] = []
    for label, tr in named.items():
        wf = tr.workflow_summary()
        if len(named) > 1 or by is None:
            groups = [(label or "all", wf)]
        else:
            if by not in wf.columns:
                raise ValueError(f"by={by!r} is not a workflow_summary column; try workload, name or origin")
            keys = wf[by].astype(str)
            groups = [(str(k), wf[keys == k]) for k in sorted(keys.unique())]
            if len(groups) > 1:
                groups.append(("all", wf))
        for name, g in groups:
            lat = g.loc[g["state"] == "Completed", "latency"].to_numpy(dtype=float)
            curves.append((name, np.sort(lat), len(g)))
    if not any(len(lat) for _, lat, _ in curves):
        return _message(ax, "No completed workflows in this trace")
    use_log = _auto_log([c[1] for c in curves], log)
    palette = colormaps["tab10"]
    for k, (name, lat, submitted) in enumerate(curves):
        if not len(lat):
            continue
        y = np.arange(1, len(lat) + 1) / submitted
        x = np.concatenate([[lat[0]], lat])
        y = np.concatenate([[0.0], y])
        missing = submitted - len(lat)
        detail = f"n={len(lat)}" + (f", {missing} not completed" if missing else "")
        is_all = name == "all" and len(curves) > 1
        ax.step(x, y, where="post", label=f"{name} ({detail})",
                color="black" if is_all else palette(k % 10), linewidth=2.2 if is_all else 1.6,
                linestyle="--" if is_all else "-")
    for q in (0.5, 0.95):
        ax.axhline(q, color="0.6", linestyle=":", linewidth=0.9)
        ax.text(1.0, q, f" p{int(q * 100)}", transform=ax.get_yaxis_transform(), va="center",
                ha="left", fontsize=8, color="0.4")
    if use_log:
        ax.set_xscale("log")
    else:
        ax.set_xlim(left=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("end-to-end latency (s): completion − arrival")
    ax.set_ylabel("fraction of workflows completed")
    ax.grid(color="0.9", linewidth=0.6)
    ax.legend(fontsize=8, loc="lower right")
    return ax


# --- utilisation -------------------------------------------------------------------------
def utilisation_by_tier(trace: TracesLike, *, ax: Axes | None = None) -> Axes:
    """Bar chart of per-tier utilisation (busy core-seconds / (cores × horizon)), from
    :func:`wfsim.trace.metrics.utilisation`, tiers in continuum order.

    Args:
        trace: One trace, or a mapping ``label -> Trace`` for grouped bars (one colour
            per run).
        ax: Axes to draw on; None creates a new figure.

    Returns:
        The axes; bars are in ``ax.containers`` (one container per trace), labelled
        with their value.
    """
    named = _named(trace)
    ax = _axes(ax, (7.0, 3.8))
    ax.set_title("Utilisation per tier")
    tiers: list[Tier] = []
    for tr in named.values():
        tiers += [t for t in tier_order(tr) if t not in tiers]
    tiers = [t for t in Tier if t in tiers]
    if not tiers:
        return _message(ax, "No nodes in this trace")
    positions = np.arange(len(tiers))
    width = 0.8 / len(named)
    palette = colormaps["tab10"]
    top = 0.0
    for k, (label, tr) in enumerate(named.items()):
        _, per_tier = utilisation(tr)
        values = per_tier.reindex([t.value for t in tiers]).fillna(0.0).to_numpy(dtype=float)
        top = max(top, float(values.max()))
        offset = (k - (len(named) - 1) / 2) * width
        colors = [TIER_COLORS[t] for t in tiers] if len(named) == 1 else palette(k % 10)
        bars = ax.bar(positions + offset, values, width=width * 0.92, color=colors, label=label or None,
                      edgecolor="white")
        ax.bar_label(bars, labels=[_percent(v) for v in values], fontsize=8, padding=2)
    _tier_ticks(ax, positions, tiers)
    decimals = 0 if top >= 0.1 or top == 0 else 1 if top >= 0.01 else 2
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=decimals))
    ax.set_ylim(0, min(1.0, top * 1.25) if top > 0 else 1.0)
    ax.set_ylabel("busy core-seconds /\n(cores × horizon)")
    ax.grid(axis="y", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)
    if len(named) > 1:
        ax.legend(fontsize=8)
    if top == 0:
        ax.text(0.5, 0.5, "No task ran on any node", transform=ax.transAxes, ha="center",
                va="center", color=_MESSAGE_COLOR)
    return ax


# --- all together ------------------------------------------------------------------------
def overview(trace: Trace, *, max_workflows: int = 6, fig: Figure | None = None) -> Figure:
    """One figure with the Gantt chart (top) and the per-tier response times, the
    latency CDF and the per-tier utilisation (bottom row), e.g. for a report.

    Args:
        trace: The run's trace.
        max_workflows: Workflow instances in the Gantt chart.
        fig: Figure to draw on (it should be empty); None creates one.

    Returns:
        The figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(15, 9), layout="constrained")
    axes = fig.subplot_mosaic([["gantt", "gantt", "gantt"], ["tier", "cdf", "util"]],
                              height_ratios=[1.3, 1])
    gantt(trace, max_workflows=max_workflows, ax=axes["gantt"])
    latency_by_tier(trace, ax=axes["tier"])
    latency_cdf(trace, ax=axes["cdf"])
    utilisation_by_tier(trace, ax=axes["util"])
    return fig
