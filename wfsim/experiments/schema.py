"""The schema of experiment files: pydantic models of an experiment YAML, from
:class:`ExperimentConfig` down (reading one: :mod:`wfsim.experiments.loading`;
turning one into a simulation: :mod:`wfsim.experiments.building`)."""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import typing
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from wfsim.consistency.settings import STATE_TIERS, ConsistencySettings
from wfsim.engine.autonomy import DEFAULT_TIERS as AUTONOMY_TIERS
from wfsim.engine.autonomy import AutonomySettings
from wfsim.engine.autoscaling import DEFAULT_TIERS, AutoscalingSettings
from wfsim.engine.detection import MONITORED_TIERS, DetectionSettings
from wfsim.engine.fault_tolerance import FaultToleranceSettings
from wfsim.engine.leases import LeaseSettings
from wfsim.engine.migration import MigrationSettings, RebalanceSettings
from wfsim.engine.partitions import PartitionHandlingSettings
from wfsim.experiments import preflight
from wfsim.faults.fault import END_OF, Fault
from wfsim.faults.processes import FAULT_PROCESSES, FaultProcess
from wfsim.model.enums import ConsistencyLevel, HealthStatus, NetworkFidelity, TaskPriority, Tier
from wfsim.model.parameters import Tunable
from wfsim.model.topology import LINK_DEFAULTS
from wfsim.model.workflow import LocationKind, LocationRequirement
from wfsim.policies.autonomy import FALLBACK_POLICIES
from wfsim.policies.consistency import CONSISTENCY_STRATEGIES
from wfsim.workloads.arrivals import ARRIVAL_PROCESSES, MMPP, Periodic, Poisson, TraceArrivals
from wfsim.workloads.generators import GENERATORS
from wfsim.workloads.workload import WorkDistribution


def _values(members: Iterable[Enum]) -> Any:
    """The ``Literal`` of the members' values, in the order given."""
    return Literal[tuple(member.value for member in members)]


# Enum-valued fields take their allowed values from the enums but hold plain strings,
# as YAML gives them and as run manifests record them; a bad value is told the allowed
# ones. Fields of the enum types would hold members instead, which f-strings print as
# 'Tier.CLOUD' (Python 3.11) in messages such as `wfsim validate`'s, and a Literal of
# members is listed as "<Tier.CLOUD: 'Cloud'>". A type checker cannot read a Literal
# built at run time: to it these are strings.
if TYPE_CHECKING:
    TierName: TypeAlias = str
    DeviceTierName: TypeAlias = str
    EdgeTierName: TypeAlias = str
    LinkLevel: TypeAlias = str
    LocationName: TypeAlias = str
    PriorityName: TypeAlias = str
    WorkKind: TypeAlias = str
    HealthName: TypeAlias = str
    NetworkName: TypeAlias = str
    LevelName: TypeAlias = str
else:
    TierName = _values(Tier)
    DeviceTierName = _values([Tier.LOCAL_DEVICE, Tier.EDGE_DEVICE])
    EdgeTierName = _values([Tier.EDGE_DEVICE, Tier.EDGE_CLOUD])
    LinkLevel = Literal[tuple(LINK_DEFAULTS)]
    # Listed in this order (not the enum's) since error messages have always listed them so.
    LocationName = _values([LocationKind.ALL, LocationKind.SPECIFIC, LocationKind.ANY_OF,
                            LocationKind.PREFERRED_ORDER])
    PriorityName = Literal[tuple(p.name.title() for p in TaskPriority)]  # Critical … Background
    WorkKind = Literal[WorkDistribution.KINDS]
    HealthName = _values(HealthStatus)
    NetworkName = _values(NetworkFidelity)
    LevelName = _values(ConsistencyLevel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- topology --------------------------------------------------------------------
class NodeOverride(_Strict):
    """Per-tier overrides of the hierarchical builder's node defaults."""

    cores: int | None = Field(None, ge=1, strict=True)
    speed: float | None = Field(None, gt=0)
    memory: float | None = Field(None, ge=0)
    price: float | None = Field(None, ge=0)
    idle_power: float | None = Field(None, ge=0)
    busy_power: float | None = Field(None, ge=0)
    region: str | None = None


class LinkOverride(_Strict):
    latency: float | None = Field(None, ge=0)
    bandwidth: float | None = Field(None, gt=0)


class HierarchicalConfig(_Strict):
    devices: int = Field(10, ge=0, strict=True)
    edge: int = Field(2, ge=1, strict=True)
    regional: int = Field(1, ge=0, strict=True)
    device_tier: DeviceTierName = Tier.LOCAL_DEVICE.value
    edge_tier: EdgeTierName = Tier.EDGE_CLOUD.value
    nodes: dict[TierName, NodeOverride] = {}
    links: dict[LinkLevel, LinkOverride] = {}


class NodeConfig(_Strict):
    id: str = Field(min_length=1)
    tier: TierName
    cores: int = Field(1, ge=1, strict=True)
    speed: float = Field(1e9, gt=0)
    memory: float = Field(4 * 2**30, ge=0)
    price: float = Field(0.0, ge=0)
    idle_power: float = Field(0.0, ge=0)
    busy_power: float = Field(0.0, ge=0)
    region: str | None = None


class LinkConfig(_Strict):
    a: str
    b: str
    latency: float = Field(0.001, ge=0)
    bandwidth: float = Field(125e6, gt=0)


class TopologyConfig(_Strict):
    """Exactly one of ``hierarchical``, ``nodes`` (+ ``links``) or ``file``."""

    hierarchical: HierarchicalConfig | None = None
    nodes: list[NodeConfig] | None = None
    links: list[LinkConfig] = []
    file: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TopologyConfig:
        forms = [self.hierarchical is not None, self.nodes is not None, self.file is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of 'hierarchical', 'nodes' (with 'links') or 'file'")
        return self


# --- workloads -------------------------------------------------------------------
class ArrivalProcessConfig(_Strict):
    """Base of the ``arrivals:`` models. ``process`` is the name under which the
    process class is registered in :data:`~wfsim.workloads.arrivals.ARRIVAL_PROCESSES`
    (each model restricts it to its class's ``name``); the other fields are that
    class's arguments, by name."""

    process: str

    def arguments(self, base: Path) -> dict[str, Any]:
        """Keyword arguments for the process class: every field but ``process``.

        Args:
            base: The directory that relative paths in the entry are relative to.
        """
        return {name: getattr(self, name) for name in type(self).model_fields if name != "process"}


class PoissonConfig(ArrivalProcessConfig):
    process: Literal[Poisson.name]  # type: ignore[valid-type]
    rate: float = Field(gt=0)


class PeriodicConfig(ArrivalProcessConfig):
    process: Literal[Periodic.name]  # type: ignore[valid-type]
    period: float = Field(gt=0)
    phase: float = Field(0.0, ge=0)
    jitter: float = Field(0.0, ge=0)


class MMPPConfig(ArrivalProcessConfig):
    process: Literal[MMPP.name]  # type: ignore[valid-type]
    rates: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]
    mean_sojourn: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]


class TraceArrivalsConfig(ArrivalProcessConfig):
    process: Literal[TraceArrivals.name]  # type: ignore[valid-type]
    path: str

    def arguments(self, base: Path) -> dict[str, Any]:
        # The file is named relative to the experiment file, not the working directory.
        return {"path": str(base / self.path)}


ArrivalsConfig = Annotated[
    PoissonConfig | PeriodicConfig | MMPPConfig | TraceArrivalsConfig, Field(discriminator="process")
]


def _check_arrivals() -> None:
    # One model per registered process: a process registered without a model could
    # never be chosen, and a model without a process could never be built.
    models = {get_args(m.model_fields["process"].annotation)[0] for m in get_args(get_args(ArrivalsConfig)[0])}
    if models != set(ARRIVAL_PROCESSES):
        raise TypeError(f"ArrivalsConfig has models for {sorted(models)}, but the arrival processes registered in "
                        f"wfsim.workloads.arrivals.ARRIVAL_PROCESSES are {sorted(ARRIVAL_PROCESSES)}")


_check_arrivals()


class TaskFields(_Strict):
    """Task fields other than id and work: the generators' ``task`` parameter."""

    cores: int = Field(1, ge=1, strict=True)
    memory: float = Field(0.0, ge=0)
    min_cores: int | None = Field(None, ge=1, strict=True)
    min_memory: float | None = Field(None, ge=0)
    elastic: bool = False
    scalability: float = Field(1.0, ge=0, le=1)
    location: LocationName = LocationKind.ALL.value
    tiers: list[TierName] = []
    priority: PriorityName = TaskPriority.NORMAL.name.title()
    deadline: float | None = Field(None, gt=0)
    state_keys: list[str] = []

    def task_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~wfsim.model.workflow.Task`."""
        return dict(
            cores=self.cores, memory=self.memory, min_cores=self.min_cores, min_memory=self.min_memory,
            elastic=self.elastic, scalability=self.scalability,
            location=LocationRequirement(LocationKind(self.location), tuple(Tier.parse(x) for x in self.tiers)),
            priority=TaskPriority.parse(self.priority), deadline=self.deadline,
            state_keys=frozenset(self.state_keys),
        )


class TaskConfig(TaskFields):
    id: str = Field(min_length=1)
    work: float = Field(1e9, ge=0)


class WorkflowConfig(BaseModel):
    """``generator: NAME`` plus its parameters, ``wfcommons: FILE``, or inline
    ``tasks`` and ``edges``."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    generator: Literal[tuple(GENERATORS)] | None = None  # type: ignore[valid-type]
    wfcommons: str | None = None
    tasks: list[TaskConfig] | None = None
    edges: list[tuple[str, str] | tuple[str, str, float]] = []

    @model_validator(mode="after")
    def _one_form(self) -> WorkflowConfig:
        forms = [self.generator is not None, self.wfcommons is not None, self.tasks is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of 'generator', 'wfcommons' or 'tasks' (with 'edges')")
        return self


class WorkDistributionConfig(_Strict):
    kind: WorkKind = "constant"
    cv: float = Field(1.0, ge=0)
    spread: float = Field(0.5, ge=0, le=1)


class WorkloadConfig(_Strict):
    name: str = Field(min_length=1)
    workflow: WorkflowConfig
    arrivals: ArrivalsConfig
    origins: list[str] | None = Field(None, min_length=1)
    work: WorkDistributionConfig = WorkDistributionConfig()
    start: float = Field(0.0, ge=0)
    end: float | None = Field(None, gt=0)


# --- strategies ------------------------------------------------------------------
class StrategyConfig(_Strict):
    strategy: str
    params: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"strategy": value} if isinstance(value, str) else value


def _declared(name: str, doc: str, *groups: type[Tunable], base: type[BaseModel] = _Strict) -> Any:
    """A schema model whose fields are the declared parameters of ``groups``: their
    types, defaults and ranges come from the declarations (no int for a float is
    refused, no string for a number accepted, as in Python)."""
    fields: dict[str, Any] = {}
    for group in groups:
        for p in group.parameters:
            if p.kind == "categorical":
                fields[p.name] = (Literal[tuple(p.choices or ())], p.default)
            else:
                kind = {"int": int, "float": float, "bool": bool}[p.kind]
                fields[p.name] = (kind, Field(p.default, ge=p.low, le=p.high, strict=True))
    return create_model(name, __base__=base, __doc__=doc, __module__=__name__, **fields)


class _AutoscalingGroup(_Strict):
    strategy: str = "threshold"
    params: dict[str, Any] = {}
    tiers: list[TierName] = [tier.value for tier in DEFAULT_TIERS]
    provisioning: dict[TierName, Annotated[float, Field(ge=0)]] = {}


class _DetectionGroup(_Strict):
    monitor: str | None = Field(None, min_length=1)
    tiers: list[TierName] = [tier.value for tier in MONITORED_TIERS]


class _LeasesGroup(_Strict):
    resources: list[Annotated[str, Field(min_length=1)]] = Field(["leader"], min_length=1)
    candidates: list[str] | None = Field(None, min_length=1)


class _PartitionHandlingGroup(_Strict):
    members: list[str] | None = Field(None, min_length=1)
class FallbackConfig(_Strict):
    """An edge node's fallback policy (:data:`~wfsim.policies.autonomy.FALLBACK_POLICIES`)
    and its ``params``; a bare name is the policy with its defaults."""

    policy: Literal[tuple(FALLBACK_POLICIES)] = "cache"  # type: ignore[valid-type]
    params: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"policy": value} if isinstance(value, str) else value


class _AutonomyGroup(_Strict):
    tiers: list[EdgeTierName] = [tier.value for tier in AUTONOMY_TIERS]
    fallback: FallbackConfig = FallbackConfig()
    rules: list[dict[str, Any]] = []


class ConsistencyStrategyConfig(_Strict):
    """The level strategy of the ``consistency:`` group
    (:data:`~wfsim.policies.consistency.CONSISTENCY_STRATEGIES`) and its ``params``
    (``data_type`` also takes ``types: {prefix: level}``); a bare name is the strategy
    with its defaults."""

    name: Literal[tuple(CONSISTENCY_STRATEGIES)] = "adaptive"  # type: ignore[valid-type]
    params: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class _ConsistencyGroup(_Strict):
    strategy: ConsistencyStrategyConfig = ConsistencyStrategyConfig()
    floors: dict[str, LevelName] = {}
    nodes: list[Annotated[str, Field(min_length=1)]] = []
    tiers: list[TierName] = Field([tier.value for tier in STATE_TIERS], min_length=1)


if TYPE_CHECKING:
    RebalanceConfig: TypeAlias = Any
    AutoscalingConfig: TypeAlias = Any
    DetectionConfig: TypeAlias = Any
    LeasesConfig: TypeAlias = Any
    PartitionHandlingConfig: TypeAlias = Any
    AutonomyConfig: TypeAlias = Any
    FaultToleranceConfig: TypeAlias = Any
    ConsistencyConfig: TypeAlias = Any
else:
    RebalanceConfig = _declared(
        "RebalanceConfig", "Periodic load rebalancing through task migration: the parameters of "
        ":class:`~wfsim.engine.migration.RebalanceSettings` and :class:`~wfsim.engine.migration.MigrationSettings`.",
        RebalanceSettings, MigrationSettings)
    AutoscalingConfig = _declared(
        "AutoscalingConfig", "Run-time autoscaling of node cores: ``strategy`` with its ``params``, which "
        "``tiers`` scale, scale-up ``provisioning`` delays per tier, and the parameters of "
        ":class:`~wfsim.engine.autoscaling.AutoscalingSettings`.", AutoscalingSettings, base=_AutoscalingGroup)
    DetectionConfig = _declared(
        "DetectionConfig", "Heartbeat failure detection and recovery: the ``monitor`` node, the ``tiers`` "
        "monitored and the parameters of :class:`~wfsim.engine.detection.DetectionSettings`.", DetectionSettings,
        base=_DetectionGroup)
    LeasesConfig = _declared(
        "LeasesConfig", "Leadership leases with failover (needs ``detection``): the ``resources``, their "
        "``candidates`` and the parameters of :class:`~wfsim.engine.leases.LeaseSettings`.", LeaseSettings,
        base=_LeasesGroup)
    PartitionHandlingConfig = _declared(
        "PartitionHandlingConfig", "The partition write gate (needs ``detection``): the ``strategy``, the "
        "``members`` LeaderOnly counts; see :class:`~wfsim.engine.partitions.PartitionHandlingSettings`.",
        PartitionHandlingSettings, base=_PartitionHandlingGroup)
    AutonomyConfig = _declared(
        "AutonomyConfig", "Edge autonomy: which ``tiers`` are autonomous edge nodes, their ``fallback`` "
        "policy, their decision ``rules`` (``{rule: NAME, params: {...}}``, see "
        ":func:`~wfsim.policies.autonomy.rule_from_config`), and the parameters of "
        ":class:`~wfsim.engine.autonomy.AutonomySettings`.", AutonomySettings, base=_AutonomyGroup)
    FaultToleranceConfig = _declared(
        "FaultToleranceConfig", "How tasks survive node crashes: the parameters of "
        ":class:`~wfsim.engine.fault_tolerance.FaultToleranceSettings`.", FaultToleranceSettings)
    ConsistencyConfig = _declared(
        "ConsistencyConfig", "Replicated state: the level ``strategy`` (``{name, params}``), key ``floors`` "
        "(``{prefix: level}``), the replica ``nodes`` (``replication: Custom``) or ``tiers``, and the parameters "
        "of :class:`~wfsim.consistency.settings.ConsistencySettings`.", ConsistencySettings, base=_ConsistencyGroup)


class HealthChangeConfig(_Strict):
    """A scheduled change of a node's health (see
    :meth:`Simulation.set_health <wfsim.engine.simulation.Simulation.set_health>`):
    at ``time`` seconds, node ``node`` becomes ``status``; with ``evacuate``, a
    drained node's running and queued tasks also migrate away."""

    time: float = Field(ge=0)
    node: str = Field(min_length=1)
    status: HealthName
    evacuate: bool = False


class ScheduledFaultConfig(_Strict):
    """One fault of the ``schedule`` process (a :class:`~wfsim.faults.fault.Fault`):
    ``{kind: crash, targets: [edge-0], start: 30, end: 90}``; no ``end``: it never ends."""

    kind: Literal[tuple(END_OF)]  # type: ignore[valid-type]
    targets: list[str] = Field(min_length=1)
    start: float = Field(ge=0)
    end: float | None = None
    name: str = ""
    factor: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ScheduledFaultConfig:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) must be >= start ({self.start})")
        return self

    def fault(self) -> Fault:
        """The fault this entry describes."""
        return Fault(self.kind, tuple(self.targets), self.start, math.inf if self.end is None else self.end,
                     self.name, self.factor)


def _fault_model(cls: type[FaultProcess]) -> Any:
    """The ``faults:`` entry of a fault process: ``process: <name>``, its declared
    parameters and its target fields (``nodes``, ``site``, …, as the class declares them)."""
    declared = {p.name for p in cls.parameters}
    hints = typing.get_type_hints(cls)
    targets: dict[str, Any] = {"process": (Literal[cls.name], ...)}
    for f in dataclasses.fields(cls):
        if f.name not in declared:
            annotation = tuple[ScheduledFaultConfig, ...] if hints[f.name] == tuple[Fault, ...] else hints[f.name]
            targets[f.name] = (annotation, f.default)
    base = create_model(f"{cls.__name__}Targets", __base__=_Strict, __module__=__name__, **targets)
    return _declared(f"{cls.__name__}Config", f"The ``{cls.name}`` fault process "
                     f"(:class:`~{cls.__module__}.{cls.__name__}`).", cls, base=base)


if TYPE_CHECKING:
    FaultConfig: TypeAlias = Any
else:
    # One model per registered process, told apart by ``process``.
    FaultConfig = Annotated[functools.reduce(operator.or_, map(_fault_model, FAULT_PROCESSES.values())),
                            Field(discriminator="process")]


class LimitsConfig(_Strict):
    """How large a run may be (see :mod:`wfsim.experiments.preflight`): a config
    expecting more trace events or nodes is refused before anything large is built.
    The defaults correspond to about 3 GB each; raise them for a bigger machine."""

    max_events: int = Field(preflight.DEFAULT_MAX_EVENTS, ge=1)
    max_nodes: int = Field(preflight.DEFAULT_MAX_NODES, ge=1)


class ExperimentConfig(_Strict):
    """A whole experiment file: a topology, workloads and strategies. Example::

        name: quickstart
        seed: 42
        duration: 120            # arrival window, seconds
        network: fast            # fast | shared
        placement: earliest_finish_time
        topology:
          hierarchical: {devices: 20, edge: 4, regional: 2}
        workloads:
          - name: sensors
            workflow: {generator: chain, length: 3, work: 2.0e9, data_bytes: 1.0e6}
            arrivals: {process: poisson, rate: 0.1}
            work: {kind: exponential}
        health:                  # optional: node health changes at run time
          - {time: 30, node: edge-0, status: Maintenance, evacuate: true}   # empty edge-0 ...
          - {time: 90, node: edge-0, status: Healthy}       # ... and bring it back
        detection: {period: 1.0, timeout: 3.0}   # optional: heartbeats, suspicion, recovery
        partition_handling: {strategy: LeaderOnly}   # optional, needs detection
        leases: {resources: [leader], duration: 10}  # optional, needs detection
        faults:                  # optional: fault processes (wfsim.faults), drawn from the seed
          - {process: crashes, mtbf: 600, mttr: 30, tiers: [EdgeCloud]}
          - {process: partitions, site: edge-1, start: 40, duration: 20}
        consistency:             # optional: replicated state for the tasks' state_keys
          strategy: {name: data_type, params: {default: Causal, types: {payment: Linearizable}}}
          floors: {payment: Sequential}
          timeout_linearizable: 0.8
    """

    name: str = "experiment"
    description: str = ""
    seed: int = Field(0, ge=0, strict=True)
    duration: float = Field(60.0, ge=0)
    until: float | None = Field(None, gt=0)
    network: NetworkName = NetworkFidelity.FAST.value
    placement: StrategyConfig = StrategyConfig(strategy="earliest_finish_time")
    scheduling: StrategyConfig = StrategyConfig(strategy="fifo")
    topology: TopologyConfig
    workloads: list[WorkloadConfig] = Field(min_length=1)
    rebalance: RebalanceConfig | None = None
    autoscaling: AutoscalingConfig | None = None
    autonomy: AutonomyConfig | None = None
    fault_tolerance: FaultToleranceConfig | None = None
    health: list[HealthChangeConfig] = []
    detection: DetectionConfig | None = None
    leases: LeasesConfig | None = None
    partition_handling: PartitionHandlingConfig | None = None
    faults: list[FaultConfig] = []
    consistency: ConsistencyConfig | None = None
    limits: LimitsConfig = LimitsConfig()

