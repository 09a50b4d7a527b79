"""Experiment configuration files (YAML), validated with pydantic.

A config names a topology, workloads and strategies; :func:`load_config` reads and
validates it and :func:`build_simulation` turns it into a
:class:`~wfsim.engine.simulation.Simulation`. Every user error becomes one
:class:`ConfigError` naming the file, the field and what is allowed.

Example::

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
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator, validate_call

from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.engine.migration import MigrationSettings, RebalanceSettings
from wfsim.engine.simulation import HealthChange, Simulation
from wfsim.experiments import preflight
from wfsim.experiments.errors import ConfigError
from wfsim.model.enums import NetworkFidelity, TaskPriority, Tier
from wfsim.model.topology import Link, Node, Topology, TopologyError, hierarchical
from wfsim.model.workflow import (
    Edge,
    LocationKind,
    LocationRequirement,
    Task,
    Workflow,
    WorkflowValidationError,
)
from wfsim.policies.autoscaling import AUTOSCALERS
from wfsim.policies.parameters import validate_params
from wfsim.policies.registry import PLACEMENT_STRATEGIES, SCHEDULING_POLICIES
from wfsim.workloads.arrivals import MMPP, ArrivalProcess, Periodic, Poisson, TraceArrivals
from wfsim.workloads.generators import GENERATORS
from wfsim.workloads.workload import WorkDistribution, Workload


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
    device_tier: Literal["LocalDevice", "EdgeDevice"] = "LocalDevice"
    edge_tier: Literal["EdgeDevice", "EdgeCloud"] = "EdgeCloud"
    nodes: dict[Literal["LocalDevice", "EdgeDevice", "EdgeCloud", "RegionalCloud", "Cloud"], NodeOverride] = {}
    links: dict[Literal["device-edge", "edge-regional", "regional-cloud", "edge-cloud"], LinkOverride] = {}


class NodeConfig(_Strict):
    id: str = Field(min_length=1)
    tier: Literal["LocalDevice", "EdgeDevice", "EdgeCloud", "RegionalCloud", "Cloud"]
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
class PoissonConfig(_Strict):
    process: Literal["poisson"]
    rate: float = Field(gt=0)


class PeriodicConfig(_Strict):
    process: Literal["periodic"]
    period: float = Field(gt=0)
    phase: float = Field(0.0, ge=0)
    jitter: float = Field(0.0, ge=0)


class MMPPConfig(_Strict):
    process: Literal["mmpp"]
    rates: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]
    mean_sojourn: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]


class TraceArrivalsConfig(_Strict):
    process: Literal["trace"]
    path: str


ArrivalsConfig = Annotated[
    Union[PoissonConfig, PeriodicConfig, MMPPConfig, TraceArrivalsConfig], Field(discriminator="process")
]


class TaskFields(_Strict):
    """Task fields other than id and work: the generators' ``task`` parameter."""

    cores: int = Field(1, ge=1, strict=True)
    memory: float = Field(0.0, ge=0)
    min_cores: int | None = Field(None, ge=1, strict=True)
    min_memory: float | None = Field(None, ge=0)
    elastic: bool = False
    scalability: float = Field(1.0, ge=0, le=1)
    location: Literal["All", "Specific", "AnyOf", "PreferredOrder"] = "All"
    tiers: list[Literal["LocalDevice", "EdgeDevice", "EdgeCloud", "RegionalCloud", "Cloud"]] = []
    priority: Literal["Critical", "High", "Normal", "Low", "Background"] = "Normal"
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
    kind: Literal["constant", "exponential", "lognormal", "uniform"] = "constant"
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


class RebalanceConfig(_Strict):
    """Periodic load rebalancing through task migration (see :mod:`wfsim.engine.migration`)."""

    interval: float = Field(30.0, gt=0)
    threshold: float = Field(0.3, gt=0)
    max_concurrent: int = Field(4, ge=1, le=32, strict=True)
    overhead: float = Field(1.2, ge=1.0, le=2.0)
    benefit_weight: float = Field(1.0, ge=0.0, le=10.0)


_TierName = Literal["LocalDevice", "EdgeDevice", "EdgeCloud", "RegionalCloud", "Cloud"]


class AutoscalingConfig(_Strict):
    """Run-time autoscaling of node cores (see :mod:`wfsim.policies.autoscaling`):
    ``strategy`` (threshold | predictive | right_sizing) with its ``params``, the
    control ``interval``, which ``tiers`` scale, scale-up ``provisioning`` delays per
    tier and the capacity bounds ``min_cores`` / ``max_factor`` × initial cores."""

    strategy: str = "threshold"
    params: dict[str, Any] = {}
    interval: float = Field(10.0, gt=0)
    tiers: list[_TierName] = ["EdgeCloud", "RegionalCloud", "Cloud"]
    provisioning: dict[_TierName, Annotated[float, Field(ge=0)]] = {}
    min_cores: int = Field(1, ge=1, strict=True)
    max_factor: float = Field(4.0, ge=1.0, le=100.0)


class HealthChangeConfig(_Strict):
    """A scheduled change of a node's health (see
    :meth:`Simulation.set_health <wfsim.engine.simulation.Simulation.set_health>`):
    at ``time`` seconds, node ``node`` becomes ``status``; with ``evacuate``, a
    drained node's running and queued tasks also migrate away."""

    time: float = Field(ge=0)
    node: str = Field(min_length=1)
    status: Literal["Healthy", "Degraded", "Unhealthy", "Maintenance"]
    evacuate: bool = False


class LimitsConfig(_Strict):
    """How large a run may be (see :mod:`wfsim.experiments.preflight`): a config
    expecting more trace events or nodes is refused before anything large is built.
    The defaults correspond to about 3 GB each; raise them for a bigger machine."""

    max_events: int = Field(preflight.DEFAULT_MAX_EVENTS, ge=1)
    max_nodes: int = Field(preflight.DEFAULT_MAX_NODES, ge=1)


class ExperimentConfig(_Strict):
    """A whole experiment file."""

    name: str = "experiment"
    description: str = ""
    seed: int = Field(0, ge=0, strict=True)
    duration: float = Field(60.0, ge=0)
    until: float | None = Field(None, gt=0)
    network: Literal["fast", "shared"] = "fast"
    placement: StrategyConfig = StrategyConfig(strategy="earliest_finish_time")
    scheduling: StrategyConfig = StrategyConfig(strategy="fifo")
    topology: TopologyConfig
    workloads: list[WorkloadConfig] = Field(min_length=1)
    rebalance: RebalanceConfig | None = None
    autoscaling: AutoscalingConfig | None = None
    health: list[HealthChangeConfig] = []
    limits: LimitsConfig = LimitsConfig()


# --- loading ---------------------------------------------------------------------
#: Deepest nesting of YAML collections accepted. A real config nests about six
#: levels (``workloads[0].workflow.task.tiers``); PyYAML composes nested collections
#: recursively, so without a bound a deeply nested file ends in a RecursionError.
MAX_YAML_DEPTH = 64
#: Most values a YAML file may expand to. Aliases (``*name``) repeat a part without
#: copying it, so a few hundred bytes can stand for billions of values; a real config
#: has a few hundred.
MAX_YAML_VALUES = 1_000_000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e9`` and ``2.0e9`` as floats (YAML 1.2) rather
    than strings (YAML 1.1 wants ``2.0e+9``), refusing duplicate keys (PyYAML keeps
    the last one silently) and collections nested deeper than :data:`MAX_YAML_DEPTH`."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels; allowed: at most {MAX_YAML_DEPTH}",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None and _expanded_size(node, {}) > MAX_YAML_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"expands to more than {MAX_YAML_VALUES} values through its aliases; allowed: at most "
                f"{MAX_YAML_VALUES}", node.start_mark)
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        first: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # ``<<: *base`` merges may be overridden by the keys beside them
            key = self.construct_object(key_node, deep=True)
            try:
                mark = first.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if mark is not key_node.start_mark:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {mark.line + 1}); allowed: each key once "
                    "per mapping", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values ``node`` stands for once its aliases are expanded (more than
    :data:`MAX_YAML_VALUES` for one that contains itself)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_YAML_VALUES + 1  # while counting: a node met again inside itself is endless
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes)
        if size > MAX_YAML_VALUES:
            break
    sizes[id(node)] = size
    return size


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
                |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """Parse YAML text with the project's loader."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "[key]" or (item in ("poisson", "periodic", "mmpp", "trace")
                                 and parts and parts[-1].endswith("arrivals")):
            continue  # pydantic's markers (dict key, union tag), not fields the user wrote
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, raising :class:`ConfigError` for a missing file or bad YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "not UTF-8 text") from None
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), None, f"invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), None, "expected a YAML mapping at the top level")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str], flag: str = "--set") -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (``workloads.0.arrivals.rate=2``); values are
    parsed as YAML scalars. Errors name the override (``--set KEY=VALUE``, or ``flag``).
    Returns a new dict."""
    data = copy.deepcopy(data)
    for item in overrides:
        source = f"{flag} {item}"
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(source, None, "must look like key.path=value")
        try:
            value = parse_yaml(raw)
        except yaml.YAMLError:
            value = raw
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(source, ".".join(parts[: depth + 1]), f"no list item {part!r} (have {len(node)})")
                node = node[int(part)]
            elif isinstance(node, dict):
                if depth == 0 and part in ("placement", "scheduling") and isinstance(node.get(part), str):
                    node[part] = {"strategy": node[part]}  # the short form `placement: heft` gains params
                node = node.setdefault(part, {})
            else:
                raise ConfigError(source, ".".join(parts[:depth]), "is not a mapping or list")
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(source, key, f"no list item {last!r} (have {len(node)})")
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(source, ".".join(parts[:-1]), "is not a mapping or list")
    return data


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed where pydantic found an unknown field at ``loc``."""
    annotation: Any = model
    for item in loc[:-1]:
        annotation = _resolve(annotation, item)
        if annotation is None:
            return []
    annotation = _resolve(annotation, None)
    return list(annotation.model_fields) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _resolve(annotation: Any, item: Any) -> Any:
    # Step from a type into the type at ``item`` (a field name, list index or dict key).
    while True:
        args = [a for a in get_args(annotation) if a is not type(None)]
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = args[0]
        elif origin in (Union, UnionType) and len(args) == 1:
            annotation = args[0]
        elif origin in (Union, UnionType):
            tagged = [a for a in args if _tag(a) == item]
            return tagged[0] if tagged else None
        elif origin in (list, tuple) and isinstance(item, int):
            return args[0]
        elif origin is dict and item is not None:
            return args[1]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if item is None:
                return annotation
            field = annotation.model_fields.get(item)
            return None if field is None else field.annotation
        else:
            return annotation if item is None else None


def _tag(model: Any) -> Any:
    field = getattr(model, "model_fields", {}).get("process")
    return get_args(field.annotation)[0] if field is not None and get_args(field.annotation) else None


def _message(err: dict[str, Any], model: type[BaseModel] | None = None) -> str:
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        allowed = _allowed_fields(model, err["loc"]) if model is not None else []
        return "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if err["type"] == "missing":
        return "required field is missing"
    if "input" in err and err["type"] not in ("model_attributes_type", "model_type"):
        message += f" (got {_shorten(repr(err['input']))})"
    return message


def _shorten(text: str, limit: int = 200) -> str:
    """``text``, cut to ``limit`` characters: an error line stays one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_config(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate a config mapping; the first problem becomes a :class:`ConfigError`."""
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(source, _field_path(err["loc"]), _message(err, ExperimentConfig)) from None
    for field, registry in (("placement", PLACEMENT_STRATEGIES), ("scheduling", SCHEDULING_POLICIES)):
        chosen: StrategyConfig = getattr(config, field)
        if chosen.strategy not in registry:
            raise ConfigError(source, f"{field}.strategy",
                              f"unknown strategy {chosen.strategy!r}; allowed: {', '.join(registry)}")
        try:
            validate_params(chosen.strategy, registry[chosen.strategy].parameters, chosen.params)
        except ValueError as exc:
            raise ConfigError(source, f"{field}.params", str(exc)) from None
    if config.autoscaling is not None:
        chosen_scaler = config.autoscaling
        if chosen_scaler.strategy not in AUTOSCALERS:
            raise ConfigError(source, "autoscaling.strategy",
                              f"unknown strategy {chosen_scaler.strategy!r}; allowed: {', '.join(AUTOSCALERS)}")
        try:
            AUTOSCALERS[chosen_scaler.strategy](**chosen_scaler.params)
        except ValueError as exc:
            raise ConfigError(source, "autoscaling.params", str(exc)) from None
    return config


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read, override and validate a config file; an error the overrides caused names
    the override (see :func:`blame_override`)."""
    overrides = overrides or []
    data = read_yaml(path)
    with blame_override(overrides, without=lambda: validate_config(data, str(path))):
        return validate_config(apply_overrides(data, overrides), str(path))


@contextlib.contextmanager
def blame_override(overrides: Sequence[str], flag: str = "--set",
                   without: Callable[[], object] | None = None) -> Iterator[None]:
    """Re-raise a :class:`ConfigError` that the overrides caused as an error of the
    override, e.g. ``--set workloads.0.arrivals.rate=0: workloads[0].arrivals.rate: …``.

    Args:
        overrides: The ``key=value`` overrides in force.
        flag: How the user gave them (``--set``, ``--vary``).
        without: The same step without the overrides. When given, an error it raises
            too is the file's and is left alone; one it does not raise is blamed on
            the override that set the failing field (or lies within or above it), or
            on all of them. Without it, the field alone decides.
    """
    try:
        yield
    except ConfigError as exc:
        if not overrides:
            raise
        caused = False  # known only when the step can be tried without the overrides
        if without is not None:
            try:
                without()
                caused = True
            except ConfigError as plain:
                caused = str(plain) != str(exc)
            if not caused:
                raise
        field = re.sub(r"\[(\d+)\]", r".\1", exc.field or "")
        for item in reversed(overrides):  # the last override of a field is the one in force
            key = item.partition("=")[0]
            if field and (field == key or field.startswith(key + ".") or key.startswith(field + ".")):
                raise ConfigError(f"{flag} {item}", exc.field, exc.message) from None
        if caused:
            raise ConfigError(" ".join(f"{flag} {item}" for item in overrides), exc.field, exc.message) from None
        raise


# --- building --------------------------------------------------------------------
def build_topology(config: TopologyConfig, base: Path, source: str, max_nodes: int | None = None) -> Topology:
    """The topology a config describes; with ``max_nodes``, one of more nodes is
    refused (a :class:`ConfigError`) before it is built."""
    try:
        if config.hierarchical is not None:
            h = config.hierarchical
            if max_nodes is not None:
                nodes = 1 + h.regional + h.edge + h.devices  # the cloud, then each level
                preflight.check_node_count(nodes, max_nodes, source, "topology.hierarchical")
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
                err = exc.errors()[0]
                raise ConfigError(str(path), _field_path(err["loc"]), _message(err, TopologyConfig)) from None
            if inner.file is not None:
                raise ConfigError(str(path), "file", "a topology file cannot point to another file")
            return build_topology(inner, path.parent, str(path), max_nodes)
        if max_nodes is not None:
            preflight.check_node_count(len(config.nodes or ()), max_nodes, source, "topology.nodes")
        nodes = [Node(**{**n.model_dump(), "tier": Tier.parse(n.tier)}) for n in config.nodes or []]
        links = [Link(**l.model_dump()) for l in config.links]
        return Topology(nodes, links)
    except TopologyError as exc:
        raise ConfigError(source, "topology", str(exc)) from None


def _arrivals(config: Any, base: Path) -> ArrivalProcess:
    if isinstance(config, PoissonConfig):
        return Poisson(config.rate)
    if isinstance(config, PeriodicConfig):
        return Periodic(config.period, config.phase, config.jitter)
    if isinstance(config, MMPPConfig):
        return MMPP(tuple(config.rates), tuple(config.mean_sojourn))
    return TraceArrivals(str(base / config.path))


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
                    err = exc.errors()[0]
                    raise ConfigError(source, f"{field}.task.{_field_path(err['loc'])}",
                                      _message(err, TaskFields)) from None
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
                err = exc.errors()[0]
                raise ConfigError(source, f"{field}.{_field_path(err['loc'])}", _message(err)) from None
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


def build_simulation(config: ExperimentConfig, base_dir: str | Path = ".", source: str = "<config>",
                     seed: int | None = None) -> Simulation:
    """A ready-to-run simulation for ``config``; relative paths resolve against ``base_dir``.

    An input that can only fail, or a run too large for ``config.limits``, is refused
    here, before anything large is built (:mod:`wfsim.experiments.preflight`).
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
            arrivals = _arrivals(w.arrivals, base)
            work = WorkDistribution(w.work.kind, w.work.cv, w.work.spread)
        except ValueError as exc:
            raise ConfigError(source, f"{field}.arrivals", str(exc)) from None
        if isinstance(arrivals, TraceArrivals):
            try:
                next(iter(arrivals.times(None, 0.0, float("inf"))), None)  # type: ignore[arg-type]
            except ValueError as exc:
                raise ConfigError(source, f"{field}.arrivals.path", str(exc)) from None
        workloads.append(Workload(w.name, workflow, arrivals, w.origins, work, w.start, w.end))
    placement_cls = PLACEMENT_STRATEGIES[config.placement.strategy]
    params = validate_params(config.placement.strategy, placement_cls.parameters, config.placement.params)
    scheduling_cls = SCHEDULING_POLICIES[config.scheduling.strategy]
    scheduling_params = validate_params(config.scheduling.strategy, scheduling_cls.parameters,
                                        config.scheduling.params)
    settings: dict[str, Any] = {}
    if config.rebalance is not None:
        r = config.rebalance
        settings["migration"] = MigrationSettings(r.max_concurrent, r.overhead, r.benefit_weight)
        settings["rebalance"] = RebalanceSettings(r.interval, r.threshold)
    if config.autoscaling is not None:
        a = config.autoscaling
        settings["autoscaling"] = AutoscalingSettings(
            AUTOSCALERS[a.strategy](**a.params), interval=a.interval, min_cores=a.min_cores,
            max_factor=a.max_factor, tiers=tuple(a.tiers), provisioning=dict(a.provisioning))
    health = []
    for i, change in enumerate(config.health):
        try:
            topology.index_of(change.node)
        except ValueError as exc:
            raise ConfigError(source, f"health[{i}].node", str(exc)) from None
        health.append(HealthChange(change.time, change.node, change.status, change.evacuate))
    dumped = config.model_dump(mode="json")
    if config.rebalance is None:
        dumped.pop("rebalance", None)  # manifests of runs without it stay as they were
    if config.autoscaling is None:
        dumped.pop("autoscaling", None)
    if not config.health:
        dumped.pop("health", None)
    if config.limits == LimitsConfig():
        dumped.pop("limits", None)  # limits change no result: manifests stay as they were
    sim = Simulation(
        topology, workloads,
        placement=placement_cls(**params),
        scheduling=functools.partial(scheduling_cls, **scheduling_params),
        network=NetworkFidelity(config.network),
        seed=config.seed,
        duration=config.duration,
        until=config.until,
        config=dumped,
        **settings,
        health=health,
    )
    preflight.check_size(sim, config, source)
    preflight.check_placement(sim, config, source)
    return sim
