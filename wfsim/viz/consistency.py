"""The consistency spectrum of a run: what each level cost and gave.

Figure data (plain DataFrames, computed once per trace and kept by
:func:`~wfsim.viz.data.figure_data`, then narrowed by a :class:`Selection` of levels,
keys and a time window) and the figures drawn from them, shared by the
``ConsistencyView`` widget, reports and notebooks:

* :func:`attempt_latencies` / :func:`draw_latency` — latency of the ``ok`` attempts
  per level served (or requested);
* :func:`read_staleness`, :func:`staleness_by_level` / :func:`draw_staleness` — the
  stale-read share and the staleness age per level (reads judged by
  :func:`wfsim.trace.metrics.staleness`);
* :func:`health_spans` / :func:`draw_health` — the store's health as a step band,
  the state the thresholds gave (observed) above the state in force;
* :func:`downgrades` / :func:`draw_downgrades` — attempts after a timeout, by their
  from → to levels, over time;
* :func:`outcomes_by_level` / :func:`draw_outcomes` — ok, fail and unknown attempts
  per level;
* :func:`level_summary` — per level: attempts, latency and staleness side by side;
* :func:`consistency_overview` — all of them in one figure.

Every function reads the ``operations`` and ``health`` tables only; on a run without
them the frames are empty and the figures say so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from wfsim.model.events import LEVELS, OUTCOMES, SYSTEM_HEALTH
from wfsim.trace.metrics import staleness
from wfsim.trace.trace import Trace
from wfsim.viz.data import figure_data, successors

__all__ = ["HEALTH_COLORS", "LEVEL_COLORS", "OUTCOME_COLORS", "Selection", "attempt_latencies",
           "consistency_overview", "downgrades", "draw_downgrades", "draw_health", "draw_latency", "draw_outcomes",
           "draw_staleness", "health_spans", "key_type_of", "level_summary", "operations_frame", "outcomes_by_level",
           "read_staleness", "staleness_by_level"]

#: One colour per level, strongest (cool) to weakest (warm).
LEVEL_COLORS: dict[str, str] = dict(zip(LEVELS, ("#2e86ab", "#76b041", "#f3a712", "#e4572e")))
#: One colour per store health state, best first.
HEALTH_COLORS: dict[str, str] = dict(zip(SYSTEM_HEALTH, ("#d4edda", "#f39c12", "#d35400", "#8e0000")))
#: One colour per attempt outcome.
OUTCOME_COLORS: dict[str, str] = dict(zip(OUTCOMES, ("#76b041", "#c0392b", "#95a5a6")))

_MESSAGE_COLOR = "0.45"


def key_type_of(keys: pd.Series) -> pd.Series:
    """The data type of each key: the part before its first ``:`` (the whole key
    without one), as the floors and the data-type strategy read it."""
    return keys.astype(str).str.split(":", n=1).str[0]


@dataclass(frozen=True)
class Selection:
    """Which operations a view shows.

    Attributes:
        levels: Levels shown (by the level served); None: every level.
        key: A key, or a data type written ``order:*``; None: every key.
        start: Earliest invocation shown (s).
        end: Latest invocation shown (s).
    """

    levels: Collection[str] | None = None
    key: str | None = None
    start: float = -np.inf
    end: float = np.inf

    def apply(self, frame: pd.DataFrame, time: str = "call", level: str = "level") -> pd.DataFrame:
        """The rows of ``frame`` (columns ``key``, ``time`` and ``level``) selected."""
        keep = (frame[time].to_numpy(dtype=float) >= self.start) & (frame[time].to_numpy(dtype=float) <= self.end)
        if self.levels is not None:
            keep &= frame[level].isin(list(self.levels)).to_numpy()
        if self.key is not None:
            if self.key.endswith(":*"):
                keep &= (key_type_of(frame["key"]) == self.key[:-2]).to_numpy()
            else:
                keep &= (frame["key"].astype(str) == self.key).to_numpy()
        return frame[keep]


def _operations(trace: Trace) -> pd.DataFrame:
    """The ``operations`` table with plain-string columns, and ``latency``."""
    o = trace.operations
    return pd.DataFrame({
        "op": o["op"].to_numpy(dtype=np.int64), "request": o["request"].to_numpy(dtype=np.int64),
        "attempt": o["attempt"].to_numpy(dtype=np.int64), "client": o["client"].astype(str).to_numpy(),
        "node": o["node"].astype(str).to_numpy(), "key": o["key"].astype(str).to_numpy(),
        "f": o["f"].astype(str).to_numpy(), "value": o["value"].astype(object).to_numpy(),
        "output": o["output"].astype(object).to_numpy(), "requested": o["requested"].astype(str).to_numpy(),
        "level": o["level"].astype(str).to_numpy(), "call": o["call"].to_numpy(dtype=float),
        "ret": o["ret"].to_numpy(dtype=float), "outcome": o["outcome"].astype(str).to_numpy(),
        "reason": o["reason"].astype(object).to_numpy(),
        "latency": (o["ret"] - o["call"]).to_numpy(dtype=float),
    })


def operations_frame(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """Every attempt (the ``operations`` table, strings as ``str``, with ``latency =
    ret − call``), in invocation order, selected."""
    ops = figure_data(trace).layer("consistency.operations", _operations)
    return ops if selection is None else selection.apply(ops)


# --- latency -----------------------------------------------------------------------
def attempt_latencies(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """The ``ok`` attempts: ``op, request, attempt, client, key, f, requested, level,
    call, latency`` (seconds from invocation to return)."""
    ops = operations_frame(trace, selection)
    ok = ops[ops["outcome"] == "ok"]
    return ok[["op", "request", "attempt", "client", "key", "f", "requested", "level", "call", "latency"]]


def draw_latency(ax: Axes, latencies: pd.DataFrame, by: str = "level", kind: str = "box") -> Axes:
    """One box (or violin) of ``ok`` attempt latency per level, strongest on the left;
    each level's count in brackets.

    Args:
        ax: Where to draw.
        latencies: :func:`attempt_latencies`.
        by: ``"level"`` (served) or ``"requested"``.
        kind: ``"box"`` or ``"violin"``.
    """
    if by not in ("level", "requested"):
        raise ValueError(f"by must be 'level' or 'requested', got {by!r}")
    groups = [latencies.loc[latencies[by] == level, "latency"].to_numpy(dtype=float) for level in LEVELS]
    present = [k for k, g in enumerate(groups) if len(g)]
    ax.set_title(f"Latency of ok attempts, by level {'served' if by == 'level' else 'requested'}", fontsize=10)
    if not present:
        return _message(ax, "no ok attempt")
    data = [groups[k] for k in present]
    if kind == "violin":
        parts = ax.violinplot(data, positions=present, showmedians=True)
        for body, k in zip(cast(list, parts["bodies"]), present):
            body.set_facecolor(LEVEL_COLORS[LEVELS[k]])
    else:
        boxes = ax.boxplot(data, positions=present, widths=0.6, showfliers=False, patch_artist=True,
                           medianprops={"color": "black"})
        for box, k in zip(boxes["boxes"], present):
            box.set_facecolor(LEVEL_COLORS[LEVELS[k]])
    ax.set_xticks(range(len(LEVELS)), [f"{level} ({len(g)})" for level, g in zip(LEVELS, groups)], fontsize=7,
                  rotation=20, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(LEVELS) - 0.4)
    ax.set_ylabel("seconds (ret − call)")
    ax.grid(axis="y", alpha=0.3)
    return ax


# --- staleness ---------------------------------------------------------------------
def read_staleness(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """Every ``ok`` read judged against the writes acknowledged before it
    (:func:`wfsim.trace.metrics.staleness`), selected."""
    reads = figure_data(trace).layer("consistency.staleness", staleness)
    return reads if selection is None else selection.apply(reads)


def staleness_by_level(reads: pd.DataFrame) -> pd.DataFrame:
    """Per level served (every level, strongest first): ``reads, stale, stale_share``
    and the staleness of the stale reads in seconds (``age_mean, age_p95, age_max``)
    and in versions (``versions_mean``)."""
    rows = []
    for level in LEVELS:
        mine = reads[reads["level"] == level]
        stale = mine[mine["stale"].to_numpy(dtype=bool)]
        age = stale["staleness"].to_numpy(dtype=float)
        rows.append({"level": level, "reads": len(mine), "stale": len(stale),
                     "stale_share": len(stale) / len(mine) if len(mine) else np.nan,
                     "age_mean": age.mean() if len(age) else np.nan,
                     "age_p95": float(np.quantile(age, 0.95)) if len(age) else np.nan,
                     "age_max": age.max() if len(age) else np.nan,
                     "versions_mean": stale["versions"].to_numpy(dtype=float).mean() if len(stale) else np.nan})
    return pd.DataFrame(rows).set_index("level")


def draw_staleness(ax: Axes, reads: pd.DataFrame) -> Axes:
    """Per level: a bar of the stale-read share (left axis, labelled ``stale/reads``)
    and, over it, the staleness age of each stale read (right axis, seconds)."""
    table = staleness_by_level(reads)
    ax.set_title("Stale reads and their age, by level served", fontsize=10)
    if not table["reads"].sum():
        return _message(ax, "no ok read")
    x = np.arange(len(LEVELS))
    share = table["stale_share"].fillna(0.0).to_numpy(dtype=float)
    ax.bar(x, share, width=0.6, color=[LEVEL_COLORS[level] for level in LEVELS], alpha=0.6)
    for k, (stale, n) in enumerate(zip(table["stale"], table["reads"])):
        ax.text(k, share[k], f"{stale}/{n}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0.0, max(1.0, float(share.max()) * 1.15))
    ax.set_ylabel("stale-read share")
    ax.set_xticks(x, LEVELS, fontsize=7, rotation=20, ha="right", rotation_mode="anchor")
    ages = ax.twinx()
    stale = reads[reads["stale"].to_numpy(dtype=bool)]
    position = stale["level"].map({level: k for k, level in enumerate(LEVELS)}).to_numpy(dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(stale))  # fixed: the same picture each draw
    ages.scatter(position + jitter, stale["staleness"].to_numpy(dtype=float), s=8, color="black", alpha=0.5)
    ages.set_ylabel("staleness of a stale read (s)")
    ages.set_ylim(bottom=0.0)
    return ax


# --- health ------------------------------------------------------------------------
def _health_spans(trace: Trace) -> pd.DataFrame:
    h = trace.health.sort_values("time", kind="stable")
    times = h["time"].to_numpy(dtype=float)
    end = successors(times, max(trace.horizon, times[-1] if len(times) else 0.0))
    parts = []
    for row, column in (("observed", "observed"), ("in force", "health")):
        state = h[column].astype(str).to_numpy()
        change = np.r_[True, state[1:] != state[:-1]] if len(state) else np.zeros(0, dtype=bool)
        first = np.flatnonzero(change)
        last = np.r_[first[1:], len(state)][:len(first)] - 1
        parts.append(pd.DataFrame({"row": row, "state": state[first], "start": times[first], "end": end[last]}))
    return pd.concat(parts, ignore_index=True)


def health_spans(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """The store's health as intervals: ``row`` (``observed``: what the thresholds
    gave at each check; ``in force``: after hysteresis), ``state``, ``start, end``
    (a state holds from its check to the next change, the last to the horizon);
    clipped to the selection's window."""
    spans: pd.DataFrame = figure_data(trace).layer("consistency.health", _health_spans)
    if selection is None:
        return spans
    spans = spans[(spans["end"] >= selection.start) & (spans["start"] <= selection.end)]
    return spans.assign(start=spans["start"].clip(lower=selection.start), end=spans["end"].clip(upper=selection.end))


def draw_health(ax: Axes, spans: pd.DataFrame) -> Axes:
    """Two step bands over time: the observed health above the health in force."""
    ax.set_title("Store health over time", fontsize=10)
    if spans.empty:
        return _message(ax, "no health check")
    for y, row in enumerate(("in force", "observed")):
        mine = spans[spans["row"] == row]
        ax.broken_barh(list(zip(mine["start"], mine["end"] - mine["start"])), (y - 0.4, 0.8),
                       facecolors=[HEALTH_COLORS.get(s, "0.5") for s in mine["state"]], edgecolor="0.3", linewidth=0.3)
    ax.set_yticks([0, 1], ["in force", "observed"])
    ax.set_ylim(-0.6, 1.6)
    ax.set_xlim(float(spans["start"].min()), float(spans["end"].max()))
    ax.set_xlabel("time (s)")
    ax.legend(handles=[Patch(facecolor=c, edgecolor="0.3", label=s) for s, c in HEALTH_COLORS.items()],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return ax


# --- downgrades --------------------------------------------------------------------
def downgrades(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """Attempts after a timeout (``attempt > 0``): ``op, request, attempt, client,
    node, key, f, call`` (when it was tried), ``from`` (the previous attempt's level),
    ``to`` (its own), ``transition`` (``from → to``) and ``outcome``; selected by the
    level tried."""
    ops = operations_frame(trace)
    previous = ops[["request", "attempt", "level"]].assign(attempt=ops["attempt"] + 1)
    later = ops[ops["attempt"] > 0].merge(previous.rename(columns={"level": "from"}), on=["request", "attempt"],
                                          how="left")
    out = later.rename(columns={"level": "to"})
    out = out.assign(transition=out["from"].astype(str) + " → " + out["to"])
    out = out[["op", "request", "attempt", "client", "node", "key", "f", "call", "from", "to", "transition",
               "outcome"]]
    return out if selection is None else selection.apply(out, level="to")


def draw_downgrades(ax: Axes, moves: pd.DataFrame) -> Axes:
    """Each downgrade as a mark at the time it was tried, one row per from → to pair
    (strongest pair on top), coloured by the level it went to, hollow when that
    attempt did not return ``ok``."""
    ax.set_title("Downgrades over time (a timed-out attempt tried one level down)", fontsize=10)
    if moves.empty:
        return _message(ax, "no downgrade")
    order = [f"{a} → {b}" for a, b in zip(LEVELS, LEVELS[1:])]
    rows = [t for t in order if t in set(moves["transition"])]
    y = moves["transition"].map({t: k for k, t in enumerate(rows)}).to_numpy(dtype=float)
    colors = [LEVEL_COLORS.get(level, "0.3") for level in moves["to"]]
    ok = (moves["outcome"] == "ok").to_numpy()
    ax.scatter(moves["call"].to_numpy()[ok], y[ok], marker="v", s=28, c=[c for c, o in zip(colors, ok) if o])
    ax.scatter(moves["call"].to_numpy()[~ok], y[~ok], marker="v", s=28, facecolors="none",
               edgecolors=[c for c, o in zip(colors, ok) if not o])
    ax.set_yticks(range(len(rows)), [f"{t}  ({int((moves['transition'] == t).sum())})" for t in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    return ax


# --- outcomes ----------------------------------------------------------------------
def outcomes_by_level(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """Attempts per level served (rows, strongest first) and outcome (columns
    ``ok, fail, unknown``), selected."""
    ops = operations_frame(trace, selection)
    counts = pd.crosstab(pd.Categorical(ops["level"], categories=LEVELS),
                         pd.Categorical(ops["outcome"], categories=OUTCOMES), dropna=False)
    counts.index.name, counts.columns.name = "level", None
    return counts.reindex(index=list(LEVELS), columns=list(OUTCOMES), fill_value=0).astype(np.int64)


def draw_outcomes(ax: Axes, counts: pd.DataFrame) -> Axes:
    """Stacked horizontal bars: each level's attempts by outcome."""
    ax.set_title("Attempts by outcome, per level served", fontsize=10, pad=18)
    if not counts.to_numpy().sum():
        return _message(ax, "no operation")
    y = np.arange(len(counts))
    left = np.zeros(len(counts))
    for outcome in counts.columns:
        width = counts[outcome].to_numpy(dtype=float)
        ax.barh(y, width, left=left, color=OUTCOME_COLORS.get(str(outcome), "0.5"), label=str(outcome))
        left += width
    ax.set_yticks(y, list(counts.index), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("attempts")
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncols=len(counts.columns),
              borderaxespad=0.0)
    return ax


# --- per level ---------------------------------------------------------------------
def level_summary(trace: Trace, selection: Selection | None = None) -> pd.DataFrame:
    """Per level served (strongest first; those selected): ``attempts``, ``ok``,
    the latency of the ok attempts (``latency_mean``, ``latency_p95``, seconds),
    ``reads`` (ok), ``stale_share`` and ``staleness_mean`` (seconds, over the stale
    reads): the cost and the gain of each level side by side."""
    ops = operations_frame(trace, selection)
    ok = ops[ops["outcome"] == "ok"]
    stale = staleness_by_level(read_staleness(trace, selection))
    chosen = set(LEVELS if selection is None or selection.levels is None else selection.levels)
    rows = []
    for level in (lv for lv in LEVELS if lv in chosen):
        mine = ok.loc[ok["level"] == level, "latency"].to_numpy(dtype=float)
        rows.append({"level": level, "attempts": int((ops["level"] == level).sum()), "ok": len(mine),
                     "latency_mean": mine.mean() if len(mine) else np.nan,
                     "latency_p95": float(np.quantile(mine, 0.95)) if len(mine) else np.nan,
                     "reads": int(stale["reads"][level]), "stale_share": stale.at[level, "stale_share"],
                     "staleness_mean": stale.at[level, "age_mean"]})
    return pd.DataFrame(rows, columns=["level", "attempts", "ok", "latency_mean", "latency_p95", "reads",
                                       "stale_share", "staleness_mean"])


# --- all of them -------------------------------------------------------------------
def consistency_overview(trace: Trace, selection: Selection | None = None, *, by: str = "level",
                         fig: Figure | None = None) -> Figure:
    """Latency, staleness, outcomes per level; health and downgrades over time."""
    if fig is None:
        fig = plt.figure(figsize=(12.0, 8.0), layout="constrained")
    grid = fig.add_gridspec(3, 3, height_ratios=(1.3, 0.8, 1.0))
    draw_latency(fig.add_subplot(grid[0, 0]), attempt_latencies(trace, selection), by=by)
    draw_staleness(fig.add_subplot(grid[0, 1]), read_staleness(trace, selection))
    draw_outcomes(fig.add_subplot(grid[0, 2]), outcomes_by_level(trace, selection))
    health = draw_health(fig.add_subplot(grid[1, :]), health_spans(trace, selection))
    moves = draw_downgrades(fig.add_subplot(grid[2, :]), downgrades(trace, selection))
    # One time axis for the two timelines: the selection's window within the run.
    window = selection or Selection()
    start, end = max(window.start, 0.0), min(window.end, max(trace.horizon, 0.0))
    if end > start:
        for ax in (health, moves):
            if ax.get_xticks().size:  # not a message
                ax.set_xlim(start, end)
    return fig


def _message(ax: Axes, text: str) -> Axes:
    """Show ``text`` in the middle of an otherwise empty axes."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=_MESSAGE_COLOR, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
