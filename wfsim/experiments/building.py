"""Building what an experiment config describes: its topology, workflows and
arrivals, and the ready-to-run :class:`~wfsim.engine.simulation.Simulation`."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError, validate_call

from wfsim.consistency.settings import ConsistencySettings
from wfsim.consistency.store import StateError, replica_nodes
from wfsim.engine.autonomy import AutonomySettings
from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.engine.detection import DetectionSettings
from wfsim.engine.fault_tolerance import FaultToleranceSettings
from wfsim.engine.leases import LeaseSettings
from wfsim.engine.migration import MigrationSettings, RebalanceSettings
from wfsim.engine.partitions import PartitionHandlingSettings
from wfsim.engine.simulation import HealthChange, Simulation
from wfsim.experiments import preflight
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import read_yaml, validation_error
from wfsim.experiments.schema import (
    ArrivalProcessConfig,
    ExperimentConfig,
    FaultConfig,
    LimitsConfig,
    ScheduledFaultConfig,
    TaskFields,
    TopologyConfig,
    WorkflowConfig,
)
from wfsim.faults.fault import FaultTargetError
from wfsim.faults.processes import FAULT_PROCESSES, FaultProcess
from wfsim.model.enums import NetworkFidelity, Tier, TraceLevel
from wfsim.model.parameters import Tunable
from wfsim.model.topology import Link, Node, Topology, TopologyError, hierarchical
from wfsim.model.workflow import Edge, Task, Workflow, WorkflowValidationError
from wfsim.policies.autonomy import FALLBACK_POLICIES, RuleConfigError, rule_from_config
from wfsim.policies.autoscaling import AUTOSCALERS
from wfsim.policies.consistency import CONSISTENCY_STRATEGIES, ConsistencyStrategy
from wfsim.policies.registry import PLACEMENT_STRATEGIES, SCHEDULING_POLICIES
from wfsim.workloads.arrivals import ARRIVAL_PROCESSES, ArrivalProcess, TraceArrivals
from wfsim.workloads.generators import GENERATORS
from wfsim.workloads.workload import WorkDistribution, Workload


def build_topology(config: TopologyConfig, base: Path, source: str, max_nodes: int | None = None) -> Topology:
    """The topology a config describes; with ``max_nodes``, one of more nodes is
    refused (a :class:`ConfigError`) before it is built."""
    try:
        if config.hierarchical is not None:
            h = config.hierarchical
            if max_nodes is not None:
                count = 1 + h.regional + h.edge + h.devices  # the cloud, then each level
                preflight.check_node_count(count, max_nodes, source, "topology.hierarchical")
            return hierarchical(
                h.devices, h.edge, h.regional, device_tier=h.device_tier, edge_tier=h.edge_tier,
                nodes={t: o.model_dump(exclude_none=True) for t, o in h.nodes.items()},
                links={k: o.model_dump(exclude_none=True) for k, o in h.links.items()},
            )
        if config.file is not None:
            path = base / config.file
            try:
                data = read_yaml(path)
            except ConfigError as exc:
                raise ConfigError(source, "topology.file", f"{path}: {exc.message}") from None
            try:
                inner = TopologyConfig.model_validate(data)
            except ValidationError as exc:
                raise validation_error(exc, str(path), TopologyConfig) from None
            if inner.file is not None:
                raise ConfigError(str(path), "file", "a topology file cannot point to another file")
            return build_topology(inner, path.parent, str(path), max_nodes)
        if max_nodes is not None:
            preflight.check_node_count(len(config.nodes or ()), max_nodes, source, "topology.nodes")
        nodes = [Node(**{**n.model_dump(), "tier": Tier.parse(n.tier)}) for n in config.nodes or []]
        links = [Link(**link.model_dump()) for link in config.links]
        return Topology(nodes, links)
    except TopologyError as exc:
        raise ConfigError(source, "topology", str(exc)) from None


def build_arrivals(config: ArrivalProcessConfig, base: Path) -> ArrivalProcess:
    """The arrival process a workload's ``arrivals`` entry describes: the class
    registered under its ``process``, given the entry's other fields (relative paths
    resolved against ``base``).

    Raises:
        ValueError: From the class, for arguments it refuses.
    """
    return ARRIVAL_PROCESSES[config.process](**config.arguments(base))


def build_workflow(config: WorkflowConfig, base: Path, source: str, field: str,
                   max_events: int = preflight.DEFAULT_MAX_EVENTS) -> Workflow:
    """The workflow a workload's ``workflow`` entry describes (a generated one is
    refused before it is built if one instance alone would exceed ``max_events``)."""
    try:
        if config.generator is not None:
            generator = GENERATORS[config.generator]
            params = dict(config.model_extra or {})
            if "task" in params:
                try:
                    params["task"] = TaskFields.model_validate(params["task"]).task_kwargs()
                except ValidationError as exc:
                    raise validation_error(exc, source, TaskFields, f"{field}.task.") from None
            accepted = [p for p in inspect.signature(generator).parameters if p not in ("task", "workflow")]
            accepted += ["input_bytes", "result_bytes", "deadline", "task"]
            unknown = sorted(set(params) - set(accepted))
            if unknown:
                raise ConfigError(source, field, f"generator {config.generator!r} has no parameter(s) "
                                  f"{', '.join(unknown)}; allowed: {', '.join(accepted)}")
            preflight.check_generator_size(config.generator, params, max_events, source, field)
            try:
                return validate_call(generator)(**params)
            except ValidationError as exc:
                raise validation_error(exc, source, prefix=f"{field}.") from None
        if config.model_extra:
            raise ConfigError(source, field, f"unknown field(s) {', '.join(sorted(config.model_extra))}")
        if config.wfcommons is not None:
            from wfsim.workloads.wfcommons import load_wfformat

            return load_wfformat(base / config.wfcommons)
        tasks = [Task(t.id, work=t.work, **t.task_kwargs()) for t in config.tasks or []]
        return Workflow(field, tasks, [Edge(*e) for e in config.edges])
    except ConfigError:
        raise
    except (WorkflowValidationError, ValueError, TypeError) as exc:
        raise ConfigError(source, field, str(exc)) from None
    except OSError as exc:
        raise ConfigError(source, field, str(exc)) from None


def build_faults(configs: list[FaultConfig], topology: Topology, source: str) -> list[FaultProcess]:
    """The fault processes of a config's ``faults:`` list, their targets checked
    against ``topology``.

    Raises:
        ConfigError: Naming ``faults[i].<field>`` and what is allowed.
    """
    out = []
    for i, entry in enumerate(configs):
        cls = FAULT_PROCESSES[entry.process]
        args = {}
        for f in dataclasses.fields(cls):
            value = getattr(entry, f.name)
            if isinstance(value, tuple) and value and isinstance(value[0], ScheduledFaultConfig):
                value = tuple(item.fault() for item in value)
            args[f.name] = value
        try:
            process = cls(**args)
            process.check(topology)
        except FaultTargetError as exc:
            raise ConfigError(source, f"faults[{i}].{exc.field}", str(exc).partition(": ")[2]) from None
        except ValueError as exc:
            raise ConfigError(source, f"faults[{i}]", str(exc)) from None
        out.append(process)
    return out


T = TypeVar("T", bound=Tunable)


def _settings_of(group: Any, settings: type[T], **more: Any) -> T:
    """The ``settings`` made from the values of its declared parameters in a config
    group, and the fields given in ``more``."""
    return settings(**more, **{p.name: getattr(group, p.name) for p in settings.parameters})


def _fault_settings(config: ExperimentConfig, topology: Topology, source: str) -> dict[str, Any]:
    """The ``detection``, ``leases`` and ``partition_handling`` settings ``config``
    gives, their node ids checked against ``topology``."""
    d, le, ph = config.detection, config.leases, config.partition_handling
    if d is None:
        for name, group in (("leases", le), ("partition_handling", ph)):
            if group is not None:
                raise ConfigError(source, name, "needs a detection: group (it acts on the failure detector's beliefs)")
        if config.fault_tolerance is not None and config.fault_tolerance.notice == "detector":
            raise ConfigError(source, "fault_tolerance.notice", "'detector' needs a detection: group (losses are "
                              "noticed when the failure detector suspects their node); allowed without it: immediate")
        return {}
    for field, given in (("detection.monitor", [d.monitor] if d.monitor is not None else []),
                         ("leases.candidates", le.candidates or [] if le is not None else []),
                         ("partition_handling.members", ph.members or [] if ph is not None else [])):
        for node in given:
            try:
                topology.index_of(node)
            except ValueError as exc:
                raise ConfigError(source, field, str(exc)) from None

    def ids(names: list[str] | None) -> tuple[str, ...] | None:
        return None if names is None else tuple(names)

    makers: dict[str, Callable[[], Tunable]] = {
        "detection": lambda: _settings_of(d, DetectionSettings, monitor=d.monitor, tiers=tuple(d.tiers))}
    if le is not None:
        makers["leases"] = lambda: _settings_of(le, LeaseSettings, resources=tuple(le.resources),
                                                candidates=ids(le.candidates))
    if ph is not None:
        makers["partition_handling"] = lambda: _settings_of(ph, PartitionHandlingSettings, members=ids(ph.members))
    out: dict[str, Any] = {}
    for name, make in makers.items():
        try:
            out[name] = make()
        except ValueError as exc:
            raise ConfigError(source, name, str(exc)) from None
    return out
def _autonomy(group: Any, topology: Topology, source: str) -> AutonomySettings:
    """The autonomy settings of a config's ``autonomy:`` group (its fallback policy and
    rules built by name), for a topology with a cloud and edge nodes to govern."""
    if not topology.nodes_of(Tier.CLOUD):
        raise ConfigError(source, "autonomy", "the topology has no Cloud-tier node to send heartbeats")
    if not topology.nodes_of(*(Tier.parse(t) for t in group.tiers)):
        raise ConfigError(source, "autonomy.tiers", f"the topology has no node of the tiers {group.tiers}")
    try:
        fallback = FALLBACK_POLICIES[group.fallback.policy].from_params(group.fallback.params)
    except ValueError as exc:
        raise ConfigError(source, "autonomy.fallback.params", str(exc)) from None
    try:
        rules = tuple(rule_from_config(r, f"autonomy.rules[{i}]") for i, r in enumerate(group.rules))
    except RuleConfigError as exc:
        raise ConfigError(source, exc.field, exc.reason) from None
    try:
        return _settings_of(group, AutonomySettings, tiers=tuple(group.tiers), fallback=fallback, rules=rules)
    except ValueError as exc:  # the one check of a parameter against another
        raise ConfigError(source, "autonomy.degraded_fraction", str(exc).removeprefix("autonomy: ")) from None


def consistency_strategy(name: str, params: dict[str, Any]) -> ConsistencyStrategy:
    """The level strategy ``name`` with ``params``: its declared parameters, and the
    fields it has beside them (``data_type``'s ``types``).

    Raises:
        ValueError: For an unknown parameter or a bad value, naming what is allowed.
    """
    cls = CONSISTENCY_STRATEGIES[name]
    declared = {p.name for p in cls.parameters}
    extra = {f.name for f in dataclasses.fields(cls)} - declared  # type: ignore[arg-type]
    unknown = sorted(set(params) - declared - extra)
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join([*(p.name for p in cls.parameters), *sorted(extra)]) or 'none'}")
    more = {k: v for k, v in params.items() if k in extra}
    for key, value in more.items():
        if not isinstance(value, dict):
            raise ValueError(f"{name}: {key} must be a mapping (prefix: level), got {value!r}")
    strategy = cls.from_params({k: v for k, v in params.items() if k not in extra})
    return cls(**strategy.params(), **more) if more else strategy


def _consistency(group: Any, config: ExperimentConfig, topology: Topology, source: str) -> ConsistencySettings:
    """The settings of a config's ``consistency:`` group (its strategy built by name),
    its replicas placed on ``topology`` once to check they can be."""
    if config.fault_tolerance is not None:
        raise ConfigError(source, "consistency", "cannot be combined with fault_tolerance (replicated task copies "
                          "would write their state keys once per copy); remove one of the two groups")
    try:
        strategy = consistency_strategy(group.strategy.name, group.strategy.params)
    except ValueError as exc:
        raise ConfigError(source, "consistency.strategy.params", str(exc)) from None
    for i, node in enumerate(group.nodes):
        try:
            topology.index_of(node)
        except ValueError as exc:
            raise ConfigError(source, f"consistency.nodes[{i}]", str(exc)) from None
    try:
        settings = _settings_of(group, ConsistencySettings, strategy=strategy, floors=dict(group.floors),
                                nodes=tuple(group.nodes), tiers=tuple(group.tiers))
    except ValueError as exc:  # a parameter against another: named by the first one the message names
        message = str(exc).removeprefix("consistency: ")
        names = {p.name for p in ConsistencySettings.parameters}
        field = next((w for w in re.findall(r"\w+", message) if w in names), None)
        raise ConfigError(source, "consistency" + (f".{field}" if field else ""), message) from None
    try:
        replica_nodes(topology, settings)
    except StateError as exc:
        raise ConfigError(source, "consistency.tiers", str(exc).removeprefix("consistency: ")) from None
    return settings


def build_simulation(config: ExperimentConfig, base_dir: str | Path = ".", source: str = "<config>",
                     seed: int | None = None, trace: TraceLevel | str = "full") -> Simulation:
    """A ready-to-run simulation for ``config``; relative paths resolve against ``base_dir``.

    An input that can only fail, or a run too large for ``config.limits``, is refused
    here, before anything large is built (:mod:`wfsim.experiments.preflight`).
    ``seed`` replaces the config's; ``trace`` is the run's trace level (see
    :class:`~wfsim.engine.simulation.Simulation`).
    """
    base = Path(base_dir)
    if seed is not None:
        config = config.model_copy(update={"seed": seed})
    preflight.check_windows(config, source)
    topology = build_topology(config.topology, base, source, config.limits.max_nodes)
    workloads = []
    for i, w in enumerate(config.workloads):
        field = f"workloads[{i}]"
        workflow = build_workflow(w.workflow, base, source, f"{field}.workflow", config.limits.max_events)
        if w.origins is not None:
            missing = [o for o in w.origins if o not in topology.index]
            if missing:
                raise ConfigError(source, f"{field}.origins", f"unknown node(s) {missing}")
        try:
            arrivals = build_arrivals(w.arrivals, base)
            work = WorkDistribution(w.work.kind, w.work.cv, w.work.spread)
        except ValueError as exc:
            raise ConfigError(source, f"{field}.arrivals", str(exc)) from None
        if isinstance(arrivals, TraceArrivals):
            try:
                next(iter(arrivals.times(None, 0.0, float("inf"))), None)  # type: ignore[arg-type]
            except ValueError as exc:
                raise ConfigError(source, f"{field}.arrivals.path", str(exc)) from None
        workloads.append(Workload(w.name, workflow, arrivals, w.origins, work, w.start, w.end))
    try:
        placement = PLACEMENT_STRATEGIES[config.placement.strategy].from_params(config.placement.params)
    except ValueError as exc:
        raise ConfigError(source, "placement.params", str(exc)) from None
    scheduling_cls = SCHEDULING_POLICIES[config.scheduling.strategy]
    try:
        scheduling_cls.from_params(config.scheduling.params)
    except ValueError as exc:
        raise ConfigError(source, "scheduling.params", str(exc)) from None
    settings: dict[str, Any] = {}
    if config.rebalance is not None:
        r = config.rebalance
        settings["migration"] = _settings_of(r, MigrationSettings)
        settings["rebalance"] = _settings_of(r, RebalanceSettings)
    if config.autoscaling is not None:
        a = config.autoscaling
        settings["autoscaling"] = _settings_of(
            a, AutoscalingSettings, autoscaler=AUTOSCALERS[a.strategy].from_params(a.params),
            tiers=tuple(a.tiers), provisioning=dict(a.provisioning))
    if config.autonomy is not None:
        settings["autonomy"] = _autonomy(config.autonomy, topology, source)
    if config.fault_tolerance is not None:
        settings["fault_tolerance"] = _settings_of(config.fault_tolerance, FaultToleranceSettings)
    if config.consistency is not None:
        settings["consistency"] = _consistency(config.consistency, config, topology, source)
    health = []
    for i, change in enumerate(config.health):
        try:
            topology.index_of(change.node)
        except ValueError as exc:
            raise ConfigError(source, f"health[{i}].node", str(exc)) from None
        health.append(HealthChange(change.time, change.node, change.status, change.evacuate))
    settings.update(_fault_settings(config, topology, source))
    faults = build_faults(config.faults, topology, source)
    dumped = config.model_dump(mode="json")
    for group in ("detection", "leases", "partition_handling"):
        if getattr(config, group) is None:
            dumped.pop(group, None)
    if config.rebalance is None:
        dumped.pop("rebalance", None)  # manifests of runs without it stay as they were
    if config.autoscaling is None:
        dumped.pop("autoscaling", None)
    if config.autonomy is None:
        dumped.pop("autonomy", None)
    if config.fault_tolerance is None:
        dumped.pop("fault_tolerance", None)
    if config.consistency is None:
        dumped.pop("consistency", None)
    if not config.health:
        dumped.pop("health", None)
    if not config.faults:
        dumped.pop("faults", None)
    if config.limits == LimitsConfig():
        dumped.pop("limits", None)  # limits change no result: manifests stay as they were
    try:
        sim = Simulation(
            topology, workloads,
            placement=placement,
            scheduling=functools.partial(scheduling_cls, **config.scheduling.params),
            network=NetworkFidelity(config.network),
            seed=config.seed,
            duration=config.duration,
            until=config.until,
            config=dumped,
            **settings,
            health=health,
            trace=trace,
            faults=faults,
        )
    except StateError as exc:  # the store refused what the config asks (no protocol serves a level)
        raise ConfigError(source, "consistency", str(exc).removeprefix("consistency: ")) from None
    preflight.check_size(sim, config, source)
    preflight.check_placement(sim, config, source)
    return sim
