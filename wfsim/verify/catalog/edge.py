"""Edge autonomy (P19), over the ``connectivity`` and ``decisions`` tables: who decides
at each autonomy level, the level each connectivity calls for, and the age of cached
answers.  ``not_applicable`` on runs without edge autonomy.

The clause "the connectivity label matches the heartbeat-age bands" needs the times
the cloud's heartbeats reached each edge node, which the trace does not record; the
engine's tests check it (``tests/engine/test_edge_autonomy.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfsim.model.enums import ConnectivityStatus, EdgeAutonomyLevel, autonomy_level
from wfsim.verify.catalog.common import as_str, config, fmt, node_findings
from wfsim.verify.properties import Findings, Invariant, TraceView

#: Levels each connectivity status may give: the mapping at a decision accuracy below
#: and above the gate (only ``Connected`` depends on it).
_ALLOWED_LEVELS = {status.value: {autonomy_level(status, accuracy).value for accuracy in (0.0, 1.0)}
                   for status in ConnectivityStatus}


def _has_autonomy(view: TraceView) -> bool:
    return bool(len(view.trace.connectivity) or len(view.trace.decisions))


def _decisions_with_level(view: TraceView, exact: bool = True) -> pd.DataFrame:
    """Each decision with its node's connectivity and level then: the last
    ``connectivity`` row at (``exact``) or strictly before it; ``None`` before the
    first."""
    k, c = view.trace.decisions, view.trace.connectivity
    left = pd.DataFrame({"time": k["time"].to_numpy(dtype=float), "node": as_str(k["node"]),
                         "workflow": k["workflow"].to_numpy(), "task": as_str(k["task"]),
                         "decider": as_str(k["decider"]),
                         "action": k["action"].astype(object).where(k["action"].notna(), None).to_numpy(),
                         "staleness": k["staleness"].to_numpy(dtype=float), "_row": np.arange(len(k))})
    right = pd.DataFrame({"time": c["time"].to_numpy(dtype=float), "node": as_str(c["node"]),
                          "status": as_str(c["status"]), "level": as_str(c["level"])})
    if not len(left):
        return left.assign(status=None, level=None)
    left["node"], right["node"] = left["node"].astype(str), right["node"].astype(str)  # one key dtype
    merged = pd.merge_asof(left.sort_values("time", kind="stable"), right.sort_values("time", kind="stable"),
                           on="time", by="node", allow_exact_matches=exact)
    return merged.sort_values("_row").reset_index(drop=True)


def _refused(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per decision: a local one while FullyDependent, a cloud one while the node
    must decide alone (FullyAutonomous, or Disconnected and not FullyDependent)."""
    level, status = d["level"].to_numpy(dtype=object), d["status"].to_numpy(dtype=object)
    dependent = level == EdgeAutonomyLevel.FULLY_DEPENDENT.value
    known = np.array([isinstance(x, str) for x in level], dtype=bool)
    alone = (level == EdgeAutonomyLevel.FULLY_AUTONOMOUS.value) | (
        (status == ConnectivityStatus.DISCONNECTED.value) & known & ~dependent)
    return dependent & (d["decider"] == "local").to_numpy(), alone & (d["decider"] == "cloud").to_numpy()


def _who_decides(view: TraceView) -> Findings:
    d = _decisions_with_level(view)
    local_when_dependent, cloud_when_alone = _refused(d)
    # At the instant of a connectivity change the decision may have come just before it.
    before = _refused(_decisions_with_level(view, exact=False))
    local_when_dependent &= before[0]
    cloud_when_alone &= before[1]
    wrong = local_when_dependent | cloud_when_alone
    bad = d[wrong]
    why = np.where(local_when_dependent[wrong], "decided locally while FullyDependent",
                   "deferred to the cloud while " + bad["status"].astype(str) + " at level " + bad["level"].astype(str))
    explanation = (bad["node"] + " " + why + " (" + bad["workflow"].astype(str) + "/" + bad["task"] + " at t="
                   + fmt(bad["time"]) + ")")
    return Findings(len(d), node_findings(view, bad, explanation))


AUTONOMY_DECISIONS = Invariant(
    "P19", "autonomy-decisions", "P19, overview §3; part 2 §5 A1, A2, A7; seed l.3043–3492 (EdgeAutonomyEngine)",
    """A FullyDependent edge node never decides locally; a FullyAutonomous one, or a
    Disconnected one that is not FullyDependent, never waits for the cloud.

    Each ``decisions`` row is judged at its node's connectivity and level then (its
    last ``connectivity`` row at or before the decision; a decision before the node's
    first row is not judged; at the instant of a change the decision counts as made
    just before or just after it): ``local`` is refused at level FullyDependent, and
    ``cloud`` at level FullyAutonomous or while Disconnected (the node decides by its
    rules or by a fallback action).  Counts the decisions.
    """,
    _who_decides, unit="decisions", applies=_has_autonomy,
)


def _level_mapping(view: TraceView) -> Findings:
    c = view.trace.connectivity
    rows = pd.DataFrame({"time": c["time"].to_numpy(dtype=float), "node": as_str(c["node"]),
                         "status": as_str(c["status"]), "level": as_str(c["level"])})
    fixed = config(view, "autonomy").get("level", "adaptive")
    allowed_of = _ALLOWED_LEVELS if fixed == "adaptive" else {status: {fixed} for status in _ALLOWED_LEVELS}
    ok = np.array([level in allowed_of.get(status, set())
                   for status, level in zip(rows["status"], rows["level"])], dtype=bool)
    bad = rows[~ok]
    allowed = bad["status"].map(lambda s: " or ".join(sorted(allowed_of.get(s, {"?"}))))
    explanation = bad["node"] + " is " + bad["status"] + " at level " + bad["level"] + "; the mapping gives " + allowed
    return Findings(len(rows), node_findings(view, bad, explanation))


AUTONOMY_LEVEL = Invariant(
    "P19", "autonomy-level", "P19, overview §3; part 2 §5 A3; seed l.3043–3492 (adjust_autonomy_level)",
    """Every edge node's autonomy level is the one its connectivity calls for.

    Each ``connectivity`` row's level is
    :func:`~wfsim.model.enums.autonomy_level` of its status: Degraded →
    SemiAutonomous, Intermittent → HighlyAutonomous, Disconnected → FullyAutonomous,
    Connected → SemiAutonomous or FullyDependent (the decision accuracy against the
    gate decides, which the trace does not record).  Counts the rows.

    Not checked here: that each status matches the age of the last heartbeat the node
    heard against T/4, T/2 and T (P19's band clause), as the trace does not record
    heartbeat arrivals; the engine's tests check it.  A run whose settings fix the
    level (``autonomy.level`` in the manifest is not ``adaptive``) must keep it.
    """,
    _level_mapping, unit="connectivity changes", applies=_has_autonomy,
)


def _has_cache(view: TraceView) -> bool:
    k = view.trace.decisions
    return bool((k["action"].astype(object) == "UseCache").any()) and "max_cache_age" in config(view, "autonomy")


def _cache_staleness(view: TraceView) -> Findings:
    limit = float(config(view, "autonomy")["max_cache_age"])
    d = _decisions_with_level(view)
    served = d[d["action"] == "UseCache"]
    bad = served[served["staleness"] > limit + 1e-9]
    explanation = (bad["node"] + " served " + bad["workflow"].astype(str) + "/" + bad["task"]
                   + " from a cached result " + fmt(bad["staleness"]) + " s old; the maximum age is "
                   + format(limit, "g") + " s")
    return Findings(len(served), node_findings(view, bad, explanation))


CACHE_STALENESS = Invariant(
    "P19", "cache-staleness", "P19 (fallbacks), overview §3; part 2 §5 A6; seed l.3043–3492 (CacheFallbackHandler)",
    """No cached result older than the maximum cache age is served.

    Every ``UseCache`` decision's ``staleness`` is at most the run's
    ``autonomy.max_cache_age`` (as the manifest records the settings).
    ``not_applicable`` on runs without UseCache decisions, or whose manifest does not
    record the maximum age: the bound is then unknown.  Counts the cached answers.
    """,
    _cache_staleness, unit="cached answers", applies=_has_cache,
)
