"""Judging an experiment before it runs.

An input that can only fail is refused up front rather than run: a workload whose
arrival window is empty or in which nothing arrives, a task that no node may host
from one of its workload's origins, and a run too large for memory. Each check
raises one :class:`~wfsim.experiments.errors.ConfigError` naming the file, the field
and what is allowed. :func:`~wfsim.experiments.building.build_simulation` calls them,
so ``wfsim validate`` and ``wfsim run`` refuse the same inputs:

* :func:`check_windows` on the config, before anything is built;
* :func:`check_node_count` before a topology is built;
* :func:`check_size` and :func:`check_placement` on the built simulation, before it runs.

The size estimate is expected arrivals × tasks per workflow × trace events per task,
plus the rounds of rebalancing and autoscaling on a run stopped at ``until``, against
``limits.max_events``; the figures it converts into memory were measured on real runs
(see the constants).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx

from wfsim.experiments.errors import ConfigError
from wfsim.model.enums import Tier
from wfsim.model.topology import Topology
from wfsim.model.workflow import Task, Workflow
from wfsim.workloads.arrivals import ArrivalProcess
from wfsim.workloads.generators import GENERATOR_TASKS

if TYPE_CHECKING:
    from wfsim.engine.simulation import Simulation
    from wfsim.experiments.schema import ExperimentConfig, WorkloadConfig

#: Trace rows recorded per task execution: its four task events (placed, ready,
#: start, end), its share of transfers, link hops and workflow events. Measured
#: 6.6-8.3 on the shipped experiments (quickstart 6.8, compare-placement 6.6,
#: maintenance 8.0, campus 8.3); the estimate stays above them.
EVENTS_PER_TASK = 9

#: Peak memory per trace row: the growth of peak RSS over a run divided by the rows
#: of its trace, recorder lists and built DataFrames together. Measured on runs long
#: enough that fixed costs vanish: quickstart with ``duration: 12000`` (752 530 rows,
#: +101 MB: 140 B/row) and compare-placement with ``duration: 6000`` (787 241 rows,
#: +110 MB: 147 B/row).
BYTES_PER_EVENT = 150

#: Memory per node: building the topology and the simulation costs 2.7 KB per node
#: (``hierarchical: {devices: 100000, edge: 500}``: +271 MB), and an origin device
#: then holds about 24 KB while the run goes (its random streams and its route and
#: placement caches; quickstart with 2000 devices).
BYTES_PER_NODE = 27_000

#: Default ``limits.max_events``: about 3 GB of trace at :data:`BYTES_PER_EVENT`, or
#: 2.2 million task executions; the largest shipped run (compare-placement) records
#: 40 000 rows, the 5000-device benchmark (600 000 task executions) about 4.8 million.
DEFAULT_MAX_EVENTS = 20_000_000

#: Default ``limits.max_nodes``: about 2.7 GB at :data:`BYTES_PER_NODE`.
DEFAULT_MAX_NODES = 100_000

_RAISE = "or raise the limit: --set limits.{0}=N, or limits: {{{0}: N}} in the file"


@dataclass(frozen=True)
class SizeEstimate:
    """The expected size of one workload's part of a run.

    Attributes:
        arrivals: Expected workflow instances, over all origins.
        tasks: Tasks per instance.
        origins: How many nodes submit.
        window: Length of the arrival window in seconds.
    """

    arrivals: float
    tasks: int
    origins: int
    window: float

    @property
    def events(self) -> float:
        """Expected trace events."""
        return self.arrivals * self.tasks * EVENTS_PER_TASK


def _memory(nbytes: float) -> str:
    """``nbytes`` for people: ``'2.9 GB'``."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    raise AssertionError("unreachable")


def arrival_window(config: ExperimentConfig, workload: WorkloadConfig) -> tuple[float, float]:
    """``[start, end)`` in which ``workload``'s instances arrive and run: the
    simulation submits in ``[start, min(end, duration))`` and stops at ``until``."""
    end = config.duration if workload.end is None else min(workload.end, config.duration)
    if config.until is not None:
        end = min(end, config.until)
    return workload.start, end


def check_windows(config: ExperimentConfig, source: str) -> None:
    """Refuse a workload whose arrival window is empty.

    Raises:
        ConfigError: Naming the field that empties it: ``duration``, the workload's
            ``start`` or ``end``, or ``until``.
    """
    for i, w in enumerate(config.workloads):
        start, end = arrival_window(config, w)
        if start < end:
            continue
        nothing = f"nothing of workload {w.name!r} would arrive"
        if w.end is not None and w.end <= start:
            raise ConfigError(source, f"workloads[{i}].end", f"the arrival window [start, end) = "
                              f"[{start:g}, {w.end:g}) is empty: {nothing}; allowed: end > start")
        if config.duration <= start:
            if start == 0:
                raise ConfigError(source, "duration", f"the arrival window [0, duration) = [0, 0) is empty: "
                                  f"{nothing}; allowed: duration > 0")
            raise ConfigError(source, f"workloads[{i}].start", f"{start:g} is not before duration "
                              f"{config.duration:g}: {nothing}; allowed: start < duration")
        raise ConfigError(source, "until", f"{config.until:g} is not after workloads[{i}].start {start:g}: the run "
                          f"stops before anything of workload {w.name!r} arrives; allowed: until > start")


def check_node_count(nodes: int, max_nodes: int, source: str, field: str) -> None:
    """Refuse a topology of more than ``max_nodes`` nodes, before it is built.

    Raises:
        ConfigError: With the count, the memory it implies and the setting to raise.
    """
    if nodes > max_nodes:
        raise ConfigError(source, field, f"{nodes} nodes, about {_memory(nodes * BYTES_PER_NODE)} of memory, "
                          f"exceed limits.max_nodes = {max_nodes} ({_memory(max_nodes * BYTES_PER_NODE)}); "
                          f"allowed: at most {max_nodes} nodes, {_RAISE.format('max_nodes')}")


def check_generator_size(generator: str, params: dict[str, Any], max_events: int, source: str, field: str) -> None:
    """Refuse a generated workflow whose one instance alone would exceed
    ``max_events``, before it is built (``chain`` of length 1e8 would never finish).
    Parameters of the wrong type are left to the generator's own validation."""
    # Whole numbers only, as the generator's validation will accept them (1e8 is 100000000).
    sizes = {k: int(v) for k, v in params.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v == int(v)}
    tasks = GENERATOR_TASKS[generator](**sizes)
    if tasks * EVENTS_PER_TASK > max_events:
        raise ConfigError(source, field, f"generator {generator!r} would make {tasks} tasks, "
                          f"about {tasks * EVENTS_PER_TASK:.3g} trace events for one instance alone, "
                          f"more than limits.max_events = {max_events}; allowed: at most "
                          f"{max_events // EVENTS_PER_TASK} tasks, {_RAISE.format('max_events')}")


def expected_arrivals(process: ArrivalProcess, start: float, end: float, origins: Sequence[str]) -> float:
    """Expected instances from ``origins`` (node ids), each running ``process`` over
    ``[start, end)`` (:meth:`ArrivalProcess.expected <wfsim.workloads.arrivals.ArrivalProcess.expected>`)."""
    return float(sum(process.expected(start, end, origin) for origin in origins))


def estimate(sim: Simulation, config: ExperimentConfig) -> list[SizeEstimate]:
    """One :class:`SizeEstimate` per workload of a simulation built from ``config``."""
    out = []
    for w, workload in zip(config.workloads, sim.workloads):
        start, end = arrival_window(config, w)
        # The simulation's own rule for default origins (every LocalDevice, or every node).
        origins = [sim.topology.nodes[i].id for i in sim._origins(workload)]
        arrivals = expected_arrivals(workload.arrivals, start, end, origins)
        out.append(SizeEstimate(arrivals, len(_workflow(workload.workflow).tasks), len(origins), end - start))
    return out


def background_events(config: ExperimentConfig, nodes: int) -> float:
    """Events of periodic rebalancing and autoscaling over a run stopped at ``until``:
    a round every ``interval`` seconds, each visiting (and, rebalancing, recording)
    up to every node. Without ``until`` they stop with the last work, so none count."""
    if config.until is None:
        return 0.0
    rounds: float = sum(config.until / c.interval for c in (config.rebalance, config.autoscaling) if c is not None)
    return rounds * nodes


def expected_events(sim: Simulation, config: ExperimentConfig, sizes: list[SizeEstimate] | None = None) -> float:
    """Expected trace events of the whole run: every workload's, plus the periodic
    rounds on a run stopped at ``until``."""
    sizes = estimate(sim, config) if sizes is None else sizes
    return sum(s.events for s in sizes) + background_events(config, len(sim.topology.nodes))


def describe_size(events: float) -> str:
    """``'about 4.2e+04 trace events (6.3 MB)'``, for people."""
    return f"about {events:.2g} trace events ({_memory(events * BYTES_PER_EVENT)})"


def check_size(sim: Simulation, config: ExperimentConfig, source: str) -> None:
    """Refuse a run in which nothing arrives, or whose trace would exceed
    ``limits.max_events``.

    Raises:
        ConfigError: For a workload with no arrival in its window; or naming the
            largest workload, the estimate, the memory it implies and the setting
            that raises the limit.
    """
    sizes = estimate(sim, config)
    for i, size in enumerate(sizes):
        if size.arrivals == 0:
            start, end = arrival_window(config, config.workloads[i])
            process = sim.workloads[i].arrivals
            hint = process.none_expected(start)
            raise ConfigError(source, f"workloads[{i}].arrivals", f"no arrival falls in the arrival window "
                              f"[{start:g}, {end:g}) ({hint}): nothing of workload {config.workloads[i].name!r} "
                              f"would run; allowed: arrivals inside the window")
    background = background_events(config, len(sim.topology.nodes))
    total = expected_events(sim, config, sizes)
    limit = config.limits.max_events
    if total <= limit:
        return
    within = f"exceed limits.max_events = {limit} ({_memory(limit * BYTES_PER_EVENT)}); allowed: "
    i, big = max(enumerate(sizes), key=lambda item: item[1].events)
    if background > big.events:
        raise ConfigError(
            source, "until",
            f"rebalancing and autoscaling rounds every few seconds until {config.until:g} s, over "
            f"{len(sim.topology.nodes)} nodes, come to about {background:.3g} events, about "
            f"{_memory(total * BYTES_PER_EVENT)} of memory, {within}a smaller until or a longer rebalance or "
            f"autoscaling interval, " + _RAISE.format("max_events"))
    others = f"; {total:.3g} in all" if f"{total:.3g}" != f"{big.events:.3g}" else ""
    raise ConfigError(
        source, f"workloads[{i}]",
        f"about {big.arrivals:.3g} arrivals (over {big.window:g} s from {big.origins} origin(s)) × {big.tasks} "
        f"task(s) × {EVENTS_PER_TASK} trace events per task = {big.events:.3g} events{others}, about "
        f"{_memory(total * BYTES_PER_EVENT)} of memory, {within}a smaller run (duration, arrival rate, origins), "
        + _RAISE.format("max_events"))


def check_placement(sim: Simulation, config: ExperimentConfig, source: str) -> None:
    """Refuse a task that no node may host for one of its workload's origins.

    A task's hosts are what placement chooses from,
    :meth:`Cluster.candidates <wfsim.engine.cluster.Cluster.candidates>` at the
    start: nodes of an allowed tier, with at least its minimum cores and memory
    (provisioned capacity: autoscaling does not count), reachable over the links up
    at the start, and no LocalDevice but the origin itself.

    A task whose hosts ``health:`` all keeps drained over the workload's whole
    arrival window is refused too (every instance would fail).

    Raises:
        ConfigError: Naming the task's field and why: too many cores or too much
            memory, no node of an allowed tier, only other users' devices, or no
            route; or ``health`` with the drained hosts.
    """
    cluster = sim.cluster
    component = _components(sim.topology)
    for i, (w, workload) in enumerate(zip(config.workloads, sim.workloads)):
        drained = _drained_throughout(config, sim.topology, *arrival_window(config, w))
        origins = sim._origins(workload)
        # Whether a task has candidates depends on its origin only through what the
        # origin reaches and, as the one LocalDevice it may use, the origin node
        # itself: one origin per class stands for the others (thousands of devices
        # would otherwise each build their candidate list here).
        classes: dict[tuple, list[int]] = {}
        for o in origins:
            spec = sim.topology.nodes[o]
            classes.setdefault((component[o], spec.tier, spec.cores, spec.memory), []).append(o)
        seen: set[tuple] = set()
        for j, task in enumerate(_workflow(workload.workflow).tasks):
            key = (task.location, task.min_cores, task.min_memory)
            if key in seen:
                continue
            seen.add(key)
            hosts = {members[0]: cluster.candidates(task, members[0]) for members in classes.values()}
            stranded = [o for members in classes.values() if not hosts[members[0]] for o in members]
            for o, found in hosts.items():
                if found and drained and all(n.spec.id in drained for n in found):
                    names = ", ".join(f"{n.spec.id} ({drained[n.spec.id]})" for n in found[:4])
                    raise ConfigError(source, "health", f"task {task.id!r} of workload {w.name!r} (workloads[{i}]) "
                                      f"from origin {sim.topology.nodes[o].id!r} can run only on {names}, drained "
                                      "for its whole arrival window: every instance would fail; allowed: a health "
                                      "change that leaves one of them Healthy or Degraded in the window")
            if stranded:
                field, why = _unplaceable(sim, task, stranded[0])
                more = f" (and {len(stranded) - 1} more of {len(origins)} origins)" if len(stranded) > 1 else ""
                origin = sim.topology.nodes[stranded[0]].id
                where = _task_field(w, i, j, field) if field is not None else _route_field(config, w, i)
                raise ConfigError(source, where, f"task {task.id!r} from origin {origin!r}{more} can run on no "
                                  f"node: {why}")


def _drained_throughout(config: ExperimentConfig, topology: Topology, start: float, end: float) -> dict[str, str]:
    """Nodes that ``health:`` keeps Unhealthy or Maintenance over all of ``[start,
    end)``, with that status: drained by a change at or before ``start`` and not
    brought back before ``end``."""
    from wfsim.engine.simulation import parse_health
    from wfsim.model.enums import DRAINED

    status: dict[str, str] = {}
    for change in sorted(config.health, key=lambda c: c.time):
        drains = parse_health(change.status) in DRAINED
        if change.time <= start:
            if drains:
                status[change.node] = change.status
            else:
                status.pop(change.node, None)
        elif change.time < end and not drains:
            status.pop(change.node, None)
    return status


def _components(topology: Topology) -> list[int]:
    """Per node, the number of its connected component over the links up now."""
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(range(len(topology.nodes)))
    graph.add_edges_from((topology.index[link.a], topology.index[link.b])
                         for link, up in zip(topology.links, topology.link_up) if up)
    component = [0] * len(topology.nodes)
    for k, members in enumerate(nx.connected_components(graph)):
        for v in members:
            component[v] = k
    return component


def _unplaceable(sim: Simulation, task: Task, origin: int) -> tuple[str | None, str]:
    """Why ``task`` has no candidate from ``origin``: the task field to blame (None
    for the topology or origins) and the reason with what is allowed."""
    # The candidates of the same task shrunk to nothing: what location, privacy and
    # routes allow, whatever its size.
    hosts = sim.cluster.candidates(dataclasses.replace(task, cores=1, memory=0.0, min_cores=1, min_memory=0.0),
                                   origin)
    min_cores, min_memory = task.min_cores, task.min_memory
    size = "min_cores" if min_cores < task.cores else "cores"
    mem = "min_memory" if min_memory < task.memory else "memory"
    if hosts:
        cores = max(n.spec.cores for n in hosts)
        most = max(n.spec.memory for n in hosts)
        if min_cores > cores:
            return size, (f"it needs {min_cores} cores to start and the largest node it may run on has "
                          f"{cores}; allowed: {size} <= {cores}")
        if min_memory > most:
            return mem, (f"it needs {_memory(min_memory)} of memory to start and the largest node it may "
                         f"run on has {_memory(most)}; allowed: {mem} <= {most:g}")
        return size, (f"no node it may run on has both {min_cores} cores and {_memory(min_memory)} of "
                      f"memory; allowed: a smaller {size} or {mem}")
    location = task.location
    wanted = ", ".join(t.value for t in location.tiers) or "any"
    allowed = [n for n in sim.topology.nodes if location.allows(n.tier)]
    if not allowed:
        present = ", ".join(t.value for t in Tier if sim.topology.nodes_of(t))
        return "location", (f"location {location.kind.value} [{wanted}] and the topology has no node of "
                            f"{'that tier' if len(location.tiers) == 1 else 'those tiers'}; allowed: {present}")
    shared = [n.id for n in allowed if n.tier is not Tier.LOCAL_DEVICE]
    if not shared:
        return "location", (f"location {location.kind.value} [{wanted}] allows only LocalDevice nodes, and local "
                            f"devices are private (a task runs on its own origin device, never another user's), "
                            f"and the origin's tier is {sim.topology.nodes[origin].tier.value}; allowed: a tier "
                            f"other than LocalDevice, or LocalDevice origins")
    shown = ", ".join(shared[:5]) + (f", … ({len(shared)} nodes)" if len(shared) > 5 else "")
    return None, (f"no route (over the links up at the start) reaches any node it may run on ({shown}); "
                  f"allowed: links connecting the origin to them")


def _route_field(config: ExperimentConfig, w: WorkloadConfig, i: int) -> str:
    """The config field to blame for a missing route: the chosen origins, else the links."""
    if w.origins is not None:
        return f"workloads[{i}].origins"
    return "topology.file" if config.topology.file is not None else "topology.links"


def _task_field(w: WorkloadConfig, i: int, j: int, attr: str) -> str:
    """The config field that sets ``attr`` of task ``j`` of workload ``i``."""
    base = f"workloads[{i}].workflow"
    if w.workflow.tasks is not None:
        return f"{base}.tasks[{j}].{attr}"
    if "task" in (w.workflow.model_extra or {}):
        return f"{base}.task.{attr}"
    return base  # a generator's own tasks or a WfCommons file: the message names the task


def _workflow(workflow: object) -> Workflow:
    # A config always builds one Workflow per workload (never a per-instance factory).
    assert isinstance(workflow, Workflow)
    return workflow
