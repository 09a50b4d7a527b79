"""Reading experiment files: the hardened YAML loader, ``--set`` overrides and
whom to blame for an error, validation against :mod:`~wfsim.experiments.schema`,
and the shaping of pydantic's errors into one :class:`ConfigError` line."""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.schema import ExperimentConfig, StrategyConfig
from wfsim.faults.processes import FAULT_PROCESSES
from wfsim.policies.autoscaling import AUTOSCALERS
from wfsim.policies.registry import PLACEMENT_STRATEGIES, SCHEDULING_POLICIES
from wfsim.workloads.arrivals import ARRIVAL_PROCESSES

# --- YAML ------------------------------------------------------------------------
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
                    self.peek_event().start_mark)  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
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
    return yaml.load(text, Loader=_Loader)  # safe: _Loader is a SafeLoader subclass


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


# --- overrides -------------------------------------------------------------------
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
                if depth == 1 and parts[0] == "consistency" and part == "strategy" and isinstance(node.get(part), str):
                    node[part] = {"name": node[part]}  # likewise `strategy: adaptive` in the consistency group
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


# --- validation ------------------------------------------------------------------
def validate_config(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate a config mapping; the first problem becomes a :class:`ConfigError`."""
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source, ExperimentConfig) from None
    for field, registry in (("placement", PLACEMENT_STRATEGIES), ("scheduling", SCHEDULING_POLICIES)):
        chosen: StrategyConfig = getattr(config, field)
        if chosen.strategy not in registry:
            raise ConfigError(source, f"{field}.strategy",
                              f"unknown strategy {chosen.strategy!r}; allowed: {', '.join(registry)}")
        try:  # constructed, so checks of one parameter against another run here too
            registry[chosen.strategy].from_params(chosen.params)
        except ValueError as exc:
            raise ConfigError(source, f"{field}.params", str(exc)) from None
    if config.autoscaling is not None:
        chosen_scaler = config.autoscaling
        if chosen_scaler.strategy not in AUTOSCALERS:
            raise ConfigError(source, "autoscaling.strategy",
                              f"unknown strategy {chosen_scaler.strategy!r}; allowed: {', '.join(AUTOSCALERS)}")
        try:
            AUTOSCALERS[chosen_scaler.strategy].from_params(chosen_scaler.params)
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


# --- error messages --------------------------------------------------------------
def validation_error(exc: ValidationError, source: str, model: type[BaseModel] | None = None,
                     prefix: str = "") -> ConfigError:
    """The :class:`ConfigError` for the first problem pydantic found: one line naming
    the field as the user wrote it and what is allowed.

    Args:
        exc: What pydantic raised.
        source: The file (or override) to name.
        model: The model validated, which lists the allowed names of an unknown
            field; None for a validated function call.
        prefix: Where the validated part sits in the file, e.g.
            ``workloads[0].workflow.``.
    """
    err = exc.errors()[0]
    return ConfigError(source, prefix + _field_path(err["loc"]), _message(err, model))


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif (item == "[key]" or (item in ARRIVAL_PROCESSES and parts and parts[-1].endswith("arrivals"))
              or (item in FAULT_PROCESSES and parts[-2:] == ["faults", parts[-1]] and parts[-1].startswith("["))):
            continue  # pydantic's markers (dict key, union tag), not fields the user wrote
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _message(err: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    message: str = err["msg"]
    if err["type"] == "extra_forbidden":
        allowed = _allowed_fields(model, err["loc"]) if model is not None else []
        return "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if err["type"] == "missing":
        return "required field is missing"
    if "input" in err and err["type"] not in ("model_attributes_type", "model_type"):
        message += f" (got {_shorten(repr(err['input']))})"
    return message


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
        if origin is Annotated or (origin in (Union, UnionType) and len(args) == 1):
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


def _shorten(text: str, limit: int = 200) -> str:
    """``text``, cut to ``limit`` characters: an error line stays one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
