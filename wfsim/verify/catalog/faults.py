"""Failure detection (P20), partition safety (P21) and leases (P22), over the
``detections``, ``faults``, ``writes``, ``leases`` and ``recoveries`` tables and
the settings the manifest records (``detection``, ``partition_handling``).  Each
property is ``not_applicable`` on runs without its subsystem.

P21's "after healing, conflicts are merged by the resolver" is about replicated state:
:mod:`~wfsim.verify.catalog.consistency` checks it (``resolution-merge``); "Failed
nodes serve no reads" needs reads, which are not recorded.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from wfsim.model.enums import NodeState, PartitionHandlingStrategy, Tier
from wfsim.trace.outages import fault_nodes, link_outages, node_outages, partition_spans
from wfsim.verify.catalog.common import as_str, config, fmt, node_findings
from wfsim.verify.properties import Findings, Invariant, TraceView, records

_HEALTHY, _PARTITIONED, _FAILED = NodeState.HEALTHY.value, NodeState.PARTITIONED.value, NodeState.FAILED.value
#: Slack for comparing simulated times computed along different paths.
_EPS = 1e-9


# --- P20: failure detection ---------------------------------------------------------------------------------


def _has_detection(view: TraceView) -> bool:
    return bool(len(view.trace.detections)) or bool(config(view, "detection"))


def _thresholds(view: TraceView) -> tuple[int, int]:
    """``partitioned_after`` and ``failed_after``: the run's, or the seed's 1 and 3."""
    cfg = config(view, "detection")
    return int(cfg.get("partitioned_after", 1)), int(cfg.get("failed_after", 3))


def _detections(view: TraceView) -> pd.DataFrame:
    """``detections`` as ``time, node, state, missed``, by node then time (stable)."""
    d = view.trace.detections
    return pd.DataFrame({"time": d["time"].to_numpy(dtype=float), "node": as_str(d["node"]),
                         "state": as_str(d["state"]), "missed": d["missed"].to_numpy(dtype=np.int64)}).sort_values(
        ["node", "time"], kind="stable").reset_index(drop=True)


def _detection_states(view: TraceView) -> Findings:
    partitioned_after, failed_after = _thresholds(view)
    d = _detections(view)
    before = d.groupby("node", sort=False)["state"].shift().fillna(_HEALTHY)
    legal = {(_HEALTHY, _PARTITIONED), (_PARTITIONED, _FAILED), (_PARTITIONED, _HEALTHY), (_FAILED, _HEALTHY)}
    if failed_after <= partitioned_after:  # one missed check may reach both thresholds at once
        legal.add((_HEALTHY, _FAILED))
    moves = list(zip(before, d["state"]))
    bad_move = np.array([a != b and (a, b) not in legal for a, b in moves], dtype=bool)
    need = d["state"].map({_HEALTHY: 0, _PARTITIONED: partitioned_after, _FAILED: failed_after})
    bad_count = ((d["state"] == _HEALTHY) & (d["missed"] != 0)) | (d["missed"] < need.fillna(0))
    unknown = ~d["state"].isin([_HEALTHY, _PARTITIONED, _FAILED])
    bad = bad_move | (bad_count | unknown).to_numpy()
    rows = d[bad]
    why = np.where(unknown[bad], "the detector never marks a node " + rows["state"],
                   np.where(bad_move[bad], "went " + before[bad] + " -> " + rows["state"] + " (not a detector move)",
                            rows["state"] + " after " + rows["missed"].astype(str) + " missed checks (Healthy needs 0, "
                            f"Partitioned ≥ {partitioned_after}, Failed ≥ {failed_after})"))
    return Findings(len(d), node_findings(view, rows, rows["node"] + " " + why + " at t=" + fmt(rows["time"])))


DETECTION_STATES = Invariant(
    "P20", "detection-states", "P20, overview §3; part 2 §5 F1; seed l.3997–4530 (detect_failures)",
    """The failure detector moves each node Healthy → Partitioned → Failed and back to
    Healthy only, after enough missed checks.

    Per node over its ``detections`` rows (Healthy before the first): Healthy →
    Partitioned, Partitioned → Failed, Partitioned or Failed → Healthy (Healthy →
    Failed only when ``failed_after ≤ partitioned_after``); a Healthy row has 0 missed
    checks, a Partitioned one at least ``partitioned_after``, a Failed one at least
    ``failed_after`` (the manifest's ``detection`` settings, else the seed's 1 and 3);
    the detector never marks a node Degraded.  Counts the state changes.
    """,
    _detection_states, unit="state changes", applies=_has_detection,
)


def _graph(view: TraceView) -> nx.Graph:
    links = view.trace.links
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(view.trace.nodes["id"].astype(str))
    graph.add_weighted_edges_from(zip(links["a"].astype(str), links["b"].astype(str),
                                      links["latency"].to_numpy(dtype=float)), weight="latency")
    return graph


def _monitor(view: TraceView) -> str | None:
    """The node receiving heartbeats: the run's ``detection.monitor``, else the first
    Cloud node in topology order."""
    named = config(view, "detection").get("monitor")
    if named:
        return str(named)
    nodes = view.trace.nodes
    clouds = nodes.loc[nodes["tier"].astype(str) == Tier.CLOUD.value, "id"].astype(str)
    return clouds.iloc[0] if len(clouds) else None


def _monitored(view: TraceView) -> set[str]:
    """The nodes that heartbeat: those of the run's ``detection.tiers`` (else every
    tier but LocalDevice), the monitor excepted."""
    nodes = view.trace.nodes
    tiers = config(view, "detection").get("tiers")
    wanted = ({Tier.parse(t).value for t in tiers} if tiers
              else {t.value for t in Tier} - {Tier.LOCAL_DEVICE.value})
    ids = nodes.loc[nodes["tier"].astype(str).isin(wanted), "id"].astype(str)
    return set(ids) - {_monitor(view)}


def _detection_completeness(view: TraceView) -> Findings:
    cfg = config(view, "detection")
    _, failed_after = _thresholds(view)
    base = float(cfg["timeout"]) + failed_after * float(cfg["check_period"])
    monitor = _monitor(view)
    graph = _graph(view)
    # The last heartbeat sent before a crash may still be on its way: one route's latency.
    flight = (nx.single_source_dijkstra_path_length(graph, monitor, weight="latency")
              if monitor in graph else {})
    crashes = node_outages(view.trace)
    crashes = crashes[crashes["node"].isin(_monitored(view))].reset_index(drop=True)
    bound = base + crashes["node"].map(flight).fillna(0.0).to_numpy(dtype=float)
    lasted = (crashes["end"] - crashes["start"]).to_numpy(dtype=float)
    judged = lasted > bound + _EPS
    crashes, bound = crashes[judged].reset_index(drop=True), bound[judged]
    if not len(crashes):
        return Findings(0, Findings.empty_violations())
    d = _detections(view).sort_values("time", kind="stable")
    d["node"] = d["node"].astype(str)  # one key dtype on both sides, even when empty
    crashes = crashes.assign(bound=bound, _row=np.arange(len(crashes)), node=crashes["node"].astype(str)).sort_values(
        "start", kind="stable")
    # The detector's state when it crashed, and its first Failed mark since.
    before = pd.merge_asof(crashes, d.rename(columns={"time": "start"})[["start", "node", "state"]],
                           on="start", by="node")
    failed = d[d["state"] == _FAILED].rename(columns={"time": "marked"})[["marked", "node"]]
    after = pd.merge_asof(crashes, failed.assign(start=failed["marked"]), on="start", by="node",
                          direction="forward")
    seen = before.assign(marked=after["marked"].to_numpy()).sort_values("_row")
    late = ~(seen["state"] == _FAILED) & ~(seen["marked"] <= seen["start"] + seen["bound"] + _EPS)
    late_rows = seen[late]
    found = [{"time": start, "node": node,
              "why": f"{node} crashed at t={start:.6g} and stayed down "
                     f"{'past the horizon' if still else f'until t={end:.6g}'}, but was marked Failed "
                     + (f"first at t={marked:.6g}" if marked <= end else "never") + f"; the bound is {limit:.6g} s"}
             for node, start, end, still, marked, limit in zip(
                 late_rows["node"].tolist(), late_rows["start"].to_numpy().tolist(),
                 late_rows["end"].to_numpy().tolist(), late_rows["open"].to_numpy().tolist(),
                 late_rows["marked"].to_numpy().tolist(), late_rows["bound"].to_numpy().tolist())]
    rows = pd.DataFrame(found, columns=["time", "node", "why"])
    return Findings(len(crashes), node_findings(view, rows, rows["why"]))


def _judges_completeness(view: TraceView) -> bool:
    cfg = config(view, "detection")
    return _has_detection(view) and "timeout" in cfg and "check_period" in cfg


DETECTION_COMPLETENESS = Invariant(
    "P20", "detection-completeness", "P20, overview §3; part 2 §5 F2; seed l.3997–4530 (detect_failures)",
    """Every crash that lasts long enough is detected: the node is marked Failed within
    ``timeout + failed_after × check_period`` of crashing.

    From the ``faults`` table's crash and recover rows (:func:`wfsim.trace.outages.node_outages`):
    each crash of a monitored node (of the ``detection.tiers``, else every tier but
    LocalDevice; not the monitor) that lasts longer than the bound has a Failed row
    of that node within it (or the node was Failed already), the bound being the
    manifest's ``detection.timeout + failed_after × check_period`` plus the route
    latency from the node to the monitor (a heartbeat sent just before the crash may
    still arrive).  ``not_applicable`` when the manifest does not record the timeout
    and check period (the bound is unknown) or no crash lasted that long.  Counts
    the crashes judged.
    """,
    _detection_completeness, unit="crashes", applies=_judges_completeness,
)


def _touched(view: TraceView) -> set[str]:
    """Nodes some fault reached: named by it (crashed, in a partition, an end of a
    downed or slowed link, a device handed over), or cut off from the monitor by it
    (behind a crashed node, a downed link or a partition's boundary)."""
    trace = view.trace
    graph = _graph(view)
    monitor = _monitor(view)
    ids = list(graph.nodes)
    touched: set[str] = set()

    def cut(nodes: frozenset[str] = frozenset(), edges: list[tuple[str, str]] | None = None) -> None:
        rest = graph.copy()
        rest.remove_nodes_from(nodes)
        rest.remove_edges_from(edges or [])
        reached = nx.node_connected_component(rest, monitor) if monitor in rest else set()
        touched.update(set(ids) - reached)

    for node in set(node_outages(trace)["node"]):
        cut(frozenset({node}))
    for (_, _), span in partition_spans(trace).groupby(["partition", "start"]):
        inside = set(span["node"])
        cut(edges=[(a, b) for a, b in graph.edges if (a in inside) != (b in inside)])
        touched.update(inside)
    outages = link_outages(trace)
    f = trace.faults
    slowed = f[f["kind"].astype(str).isin(["spike", "spike_end"])]["target"].astype(str)
    links = dict(zip(trace.links["link"].astype(str), zip(trace.links["a"].astype(str), trace.links["b"].astype(str))))
    for link in set(outages["link"]) | set(slowed):
        a, b = links.get(link) or tuple(link.split("~", 1) + [""])[:2]
        touched.update({a, b})
        cut(edges=[(a, b)])
    handed = f[f["kind"].astype(str) == "handover"]
    for target in handed["target"].astype(str):
        touched.update(fault_nodes(target, None, ids))
    return touched


def _detection_accuracy(view: TraceView) -> Findings:
    spared = sorted(_monitored(view) - _touched(view))
    d = _detections(view)
    rows = d[(d["state"] == _FAILED) & d["node"].isin(spared)]
    explanation = (rows["node"] + " was marked Failed at t=" + fmt(rows["time"])
                   + " though no fault reached it (no crash, partition or link fault on its way to the monitor)")
    return Findings(len(spared), node_findings(view, rows, explanation))


DETECTION_ACCURACY = Invariant(
    "P20", "detection-accuracy", "P20, overview §3; part 2 §5 F3; seed l.3997–4530 (detect_failures)",
    """A monitored node no fault reached is never marked Failed.

    A fault reaches the nodes it names (a crash, the nodes of a partition, the ends
    of a link that went down or was slowed, a device handed over) and the nodes it
    cuts off from the monitor (in the topology, those no longer connected to it
    without the crashed node, the downed link or the partition's boundary links).
    Every other monitored node keeps heartbeating on reliable links, and none of its
    ``detections`` rows is Failed.  A heartbeat delayed by congestion alone may still
    cost a node a Partitioned mark (a false suspicion, measured, not a violation);
    three checks in a row of it are.  Counts the nodes no fault reached.
    """,
    _detection_accuracy, unit="nodes spared", applies=_has_detection,
)


# --- P21: partition safety ----------------------------------------------------------------------------------


def _strategy(view: TraceView) -> str | None:
    """The run's ``partition_handling.strategy`` (None when the manifest has none)."""
    named = config(view, "partition_handling").get("strategy")
    return PartitionHandlingStrategy(named).value if named else None


def _writes(view: TraceView) -> pd.DataFrame:
    w = view.trace.writes
    return pd.DataFrame({"time": w["time"].to_numpy(dtype=float), "node": as_str(w["node"]),
                         "key": as_str(w["key"]), "workflow": w["workflow"].to_numpy(),
                         "accepted": w["accepted"].to_numpy(dtype=bool), "state": as_str(w["state"]),
                         "side": w["side"].astype(object).where(w["side"].notna(), "(none)").astype(str).to_numpy()})


def _has_writes(view: TraceView) -> bool:
    return bool(len(view.trace.writes))


def _partitioned_count(view: TraceView, times: np.ndarray, side: str) -> np.ndarray:
    """How many nodes the detector held Partitioned just after (``side="right"``) or
    just before (``"left"``) each of ``times``."""
    d = _detections(view).sort_values("time", kind="stable")
    previous = d.groupby("node", sort=False)["state"].shift().fillna(_HEALTHY)
    delta = (d["state"] == _PARTITIONED).astype(int) - (previous == _PARTITIONED).astype(int)
    level = np.r_[0, np.cumsum(delta.to_numpy())]
    at: np.ndarray = np.searchsorted(d["time"].to_numpy(dtype=float), times, side=side)  # type: ignore[call-overload]
    return np.asarray(level[at])


def _write_gate(view: TraceView) -> Findings:
    strategy = _strategy(view)
    w = _writes(view)
    accepted = w["accepted"].to_numpy()
    on_failed = accepted & (w["state"] == _FAILED).to_numpy()
    strict = strategy in (PartitionHandlingStrategy.READ_ONLY.value, PartitionHandlingStrategy.REJECT_WRITES.value)
    on_partitioned = accepted & strict & (w["state"] == _PARTITIONED).to_numpy()
    during = np.zeros(len(w), dtype=bool)
    if strategy == PartitionHandlingStrategy.REJECT_WRITES.value and len(w):
        t = w["time"].to_numpy()
        # At the instant of a detector change the write may have come just before it.
        during = accepted & (_partitioned_count(view, t, "left") > 0) & (_partitioned_count(view, t, "right") > 0)
    bad = on_failed | on_partitioned | during
    rows = w[bad]
    why = np.where(on_failed[bad], "while Failed",
                   np.where(on_partitioned[bad], f"while Partitioned under {strategy}",
                            f"while another node was Partitioned, under {strategy}"))
    explanation: pd.Series = (rows["node"] + " accepted a write of " + rows["key"] + " at t=" + fmt(rows["time"])
                              + " " + why)
    return Findings(len(w), node_findings(view, rows, explanation))


WRITE_GATE = Invariant(
    "P21", "write-gate", "P21, overview §3; part 2 §5 F4; seed l.3997–4530 (can_write)",
    """No write is accepted where the partition-handling strategy refuses it.

    Each accepted ``writes`` row: never on a node the detector holds Failed; under
    ReadOnly or RejectWrites (the manifest's ``partition_handling.strategy``) never
    on a Partitioned node; under RejectWrites never while any node is Partitioned
    (by the ``detections`` rows; at the instant of a change the write counts as just
    before or just after it).  Without a recorded strategy only the Failed clause is
    judged.  Counts the writes.
    """,
    _write_gate, unit="writes", applies=_has_writes,
)


def _leader_only(view: TraceView) -> bool:
    return _has_writes(view) and _strategy(view) == PartitionHandlingStrategy.LEADER_ONLY.value


def _single_writer_side(view: TraceView) -> Findings:
    w = _writes(view)
    w = w[w["accepted"]]
    cuts = np.unique(view.trace.faults["time"].to_numpy(dtype=float))
    edges = np.r_[-np.inf, cuts, np.inf]
    w = w.assign(window=np.searchsorted(cuts, w["time"].to_numpy(), side="right"))
    sides = w.groupby("window")["side"].nunique()
    found = []
    for key, group in w[w["window"].isin(sides.index[sides > 1])].groupby("window", sort=True):
        window = int(key)  # type: ignore[arg-type]  # pandas-stubs type a group key as any scalar
        named = list(dict.fromkeys(group["side"]))
        second = group[group["side"] == named[1]].iloc[0]
        lo, hi = edges[window], edges[window + 1]
        found.append({
            "entity_kind": "cluster", "entity": f"writes in [{lo:.6g}, {hi:.6g})", "time": second["time"],
            "step": None, "workflow": second["workflow"],
            "explanation": f"sides {', '.join(named)} all accepted writes between faults at t={lo:.6g} and "
                           f"t={hi:.6g} under LeaderOnly (first of {named[1]}: {second['node']} at "
                           f"t={second['time']:.6g})",
            "events": records(group.assign(table="writes")[["table", "time", "node", "key", "side"]].head(20)),
        })
    frame = pd.DataFrame(found, columns=["entity_kind", "entity", "time", "step", "workflow", "explanation",
                                         "events"])
    return Findings(len(sides), frame)


SINGLE_WRITER_SIDE = Invariant(
    "P21", "single-writer-side", "P21, overview §3; part 2 §5 F5; seed l.3997–4530 (is_in_leader_partition)",
    """Under LeaderOnly, at most one side of a partition accepts writes at any time.

    The run's fault events (``faults`` rows) cut it into windows in which the
    partitions stand still; in each window the accepted ``writes`` all name one
    ``side`` (the first node of the writer's connected component).
    ``not_applicable`` unless the manifest's ``partition_handling.strategy`` is
    LeaderOnly.  Counts the windows with accepted writes.
    """,
    _single_writer_side, unit="windows with writes", applies=_leader_only,
)


# --- P22: leases --------------------------------------------------------------------------------------------


def _lease_replay(view: TraceView) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Replay the ``leases`` rows per resource: the violations of mutual exclusion,
    and each holding as ``resource, holder, start, end`` (it ends at its expiry or
    at the release, revoke or expire that ends it first)."""

    def build() -> tuple[list[dict[str, Any]], pd.DataFrame]:
        le = view.trace.leases
        rows = pd.DataFrame({"time": le["time"].to_numpy(dtype=float), "resource": as_str(le["resource"]),
                             "holder": as_str(le["holder"]), "event": as_str(le["event"]),
                             "expires": le["expires"].to_numpy(dtype=float)})
        rows = rows.sort_values(["resource", "time"], kind="stable").reset_index(drop=True)
        bad: list[dict[str, Any]] = []
        held: list[dict[str, Any]] = []
        for resource, group in rows.groupby("resource", sort=False):
            holder: str | None = None
            since = expires = 0.0
            for k, (t, who, event, until) in enumerate(zip(group["time"], group["holder"], group["event"],
                                                           group["expires"])):
                live = holder is not None and expires > t + _EPS
                problem = None
                if event == "acquire" and live and holder != who:
                    problem = f"{who} acquired {resource} at t={t:.6g} while {holder} held it until t={expires:.6g}"
                elif event == "renew" and live and holder != who:
                    problem = f"{who} renewed {resource} at t={t:.6g} while {holder} held it until t={expires:.6g}"
                elif event == "renew" and not live:
                    problem = (f"{who} renewed {resource} at t={t:.6g} after its lease ended" if holder in (who, None)
                               else f"{who} renewed {resource} at t={t:.6g}, a lease {holder} held")
                    problem += " (a renewal never revives a lease)"
                if problem:
                    bad.append({"entity_kind": "resource", "entity": str(resource), "time": t, "step": None,
                                "workflow": np.nan, "explanation": problem,
                                "events": records(group.iloc[max(0, k - 10):k + 3].assign(table="leases")[
                                    ["table", "time", "resource", "holder", "event", "expires"]])})
                if event in ("acquire", "renew"):
                    if holder != who or not live:
                        if holder is not None:
                            held.append({"resource": resource, "holder": holder, "start": since,
                                         "end": min(expires, t)})
                        since = t
                    holder, expires = who, until
                elif event in ("release", "revoke", "expire") and holder == who:
                    held.append({"resource": resource, "holder": holder, "start": since, "end": min(expires, t)})
                    holder = None
            if holder is not None:
                held.append({"resource": resource, "holder": holder, "start": since, "end": expires})
        return bad, pd.DataFrame(held, columns=["resource", "holder", "start", "end"])

    return view.cached("lease_replay", build)


def _has_leases(view: TraceView) -> bool:
    return bool(len(view.trace.leases))


def _lease_exclusive(view: TraceView) -> Findings:
    bad, _ = _lease_replay(view)
    le = view.trace.leases
    granted = int(le["event"].astype(str).isin(["acquire", "renew"]).sum())
    frame = pd.DataFrame(bad, columns=["entity_kind", "entity", "time", "step", "workflow", "explanation", "events"])
    return Findings(granted, frame)


LEASE_EXCLUSIVE = Invariant(
    "P22", "lease-exclusive", "P22, overview §3; part 2 §5 F10; seed l.3997–4530 (LeaseManager)",
    """At most one unexpired lease per resource, and an ended lease is never revived.

    Replaying each resource's ``leases`` rows in time order: an ``acquire`` or
    ``renew`` (both granted) never comes while another holder's lease is unexpired,
    and a ``renew`` never comes after the lease expired (its ``expires`` passed) or
    was released, revoked or expired (the seed's ``renew_lease`` extends even an
    expired lease).  Counts the granted acquisitions and renewals.
    """,
    _lease_exclusive, unit="leases granted", applies=_has_leases,
)


def _failovers(view: TraceView) -> pd.DataFrame:
    r = view.trace.recoveries
    rows = r[(r["action"].astype(str) == "Failover") & (r["phase"].astype(str) == "start")]
    return pd.DataFrame({"time": rows["time"].to_numpy(dtype=float), "node": as_str(rows["node"])})


def _has_failovers(view: TraceView) -> bool:
    return bool(len(_failovers(view)))


def _failover_after_lease(view: TraceView) -> Findings:
    _, held = _lease_replay(view)
    f = _failovers(view)
    both = f.merge(held, left_on="node", right_on="holder")
    live = both[(both["start"] <= both["time"] + _EPS) & (both["time"] < both["end"] - _EPS)]
    explanation: pd.Series = (live["node"] + " was failed over at t=" + fmt(live["time"]) + " while its lease on "
                   + live["resource"] + " was live until t=" + fmt(live["end"]) + " (not revoked, not expired)")
    return Findings(len(f), node_findings(view, live, explanation))


FAILOVER_AFTER_LEASE = Invariant(
    "P22", "failover-after-lease", "P22, overview §3; part 2 §5 F11; seed l.3997–4530 (LeaseBasedRecoveryHandler)",
    """A failed node is failed over only once its leases are revoked or expired.

    At the start of each ``Failover`` recovery of a node, none of the node's leases
    (replayed from ``leases``: from its acquisition until it expires or is released,
    revoked or expired) is live.  ``not_applicable`` on runs without failovers.
    Counts the failovers.
    """,
    _failover_after_lease, unit="failovers", applies=_has_failovers,
)
