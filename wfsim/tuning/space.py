"""The search space of a study, built from the declared parameters.

A study's ``space:`` names strategies and settings groups; their parameters come from
their declarations (:mod:`wfsim.model.parameters`, as ``wfsim params`` lists them)::

    space:
      placement: {strategy: [hybrid_dynamic, heft], params: {latency_weight: {low: 0.2, high: 0.8}}}
      scheduling: priority                       # a fixed strategy
      rebalance: {interval: {low: 10, high: 120}, max_concurrent: [2, 4, 8], overhead: 1.5}
      faults: [{mttr: {low: 10, high: 300}}, all]  # the experiment's fault processes, in order
      consistency:                               # a settings group with a strategy of its own
        strategy: {name: [adaptive, data_type], params: {types: {order: [Linearizable, Causal]}}}
        timeout_linearizable: {low: 0.1, high: 1.0}

Under a strategy axis (``placement``, ``scheduling``, ``autoscaling``), ``strategy``
is one name (fixed) or a list (a categorical dimension ``placement.strategy``; each
strategy's parameters are then dimensions of their own, sampled only when it is
chosen). ``params`` lists the parameters to tune or fix (a parameter declared by
none of the strategies is refused); without ``params``, every parameter of the named
strategies is tuned, and without ``strategy`` either, the experiment's own strategy
is kept and nothing of it tuned. A settings group (``rebalance``; ``autoscaling``'s
other keys) lists its parameters, or is ``all``; naming a group the experiment lacks
switches it on. ``faults`` is a list, an entry per fault process of the experiment
(in its order, possibly fewer), each like a settings group. A group's own strategy
(:data:`INNER_STRATEGIES`: ``consistency.strategy``) is an axis like ``placement``,
its name under ``name``; ``data_type``'s ``types: {prefix: choices}`` makes each
prefix's level a dimension ``types.<prefix>``.

A parameter's entry is a value (fixed), a list (categorical choices), or a mapping
``{low, high, step, log}`` narrowing its declared range (``{}``: the declared range).
Everything is checked against the declaration: a range or value outside it is
refused, naming the declared range. Bools and categoricals become categorical
dimensions; a parameter without a declared bound is tuned only when given one.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import BaseTrial

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.scenarios import override
from wfsim.experiments.tunables import TunableEntry, tunables
from wfsim.model.parameters import Parameter
from wfsim.policies.consistency import LEVELS

if TYPE_CHECKING:
    from wfsim.experiments.schema import ExperimentConfig

#: Keys of a range mapping.
_RANGE_KEYS = ("low", "high", "step", "log")
#: Word for tuning every parameter of a strategy or group.
ALL = "all"
#: The key of the experiment's list of fault processes.
FAULTS = "faults"
#: Settings groups that hold a strategy of their own: group → (its field, the field
#: naming the strategy). Their strategies are the entries under ``<group>.<field>.params``.
INNER_STRATEGIES = {"consistency": ("strategy", "name")}
#: A strategy field mapping key prefixes to levels (``data_type``'s ``types``): each
#: prefix given is a dimension ``types.<prefix>`` of its own, over the levels.
PER_PREFIX = "types"


@dataclass(frozen=True)
class Dimension:
    """One searched parameter.

    Attributes:
        name: Its Optuna parameter name: the override key, except under a strategy
            choice, where the strategy's name stands for ``params``
            (``placement.heft.insertion``).
        key: The config key a value goes to (``placement.params.insertion``).
        distribution: The Optuna distribution searched.
        parameter: The declaration.
    """

    name: str
    key: str
    distribution: BaseDistribution
    parameter: Parameter


@dataclass
class _Axis:
    """A strategy axis: the strategies searched, and per strategy its fixed values
    and dimensions."""

    axis: str
    strategies: list[str]
    named: bool  # the study names the strategy (else the experiment's is kept)
    experiment_strategy: str | None
    experiment_params: dict[str, Any]
    fixed: dict[str, dict[str, Any]] = field(default_factory=dict)
    dims: dict[str, list[Dimension]] = field(default_factory=dict)
    name_field: str = "strategy"  # the key naming the strategy beside ``params``

    @property
    def choice(self) -> str | None:
        """The name of the strategy dimension, if the strategy is searched."""
        return f"{self.axis}.{self.name_field}" if len(self.strategies) > 1 else None


@dataclass
class _Group:
    """A settings group's fixed values and dimensions."""

    key: str
    experiment_values: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)
    dims: list[Dimension] = field(default_factory=list)


class Space:
    """A study's search space; build it with :func:`build_space`."""

    def __init__(self, axes: list[_Axis], groups: list[_Group], switched_on: list[str]) -> None:
        self._axes = axes
        self._groups = groups
        self._switched_on = switched_on  # top-level keys the experiment lacks

    @property
    def dimensions(self) -> list[Dimension]:
        """Every dimension, strategy choices excluded, in order."""
        return [d for a in self._axes for s in a.strategies for d in a.dims[s]] + \
            [d for g in self._groups for d in g.dims]

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna name → distribution of every dimension, strategy choices included."""
        out: dict[str, BaseDistribution] = {}
        for a in self._axes:
            if a.choice:
                out[a.choice] = CategoricalDistribution(a.strategies)
        out.update({d.name: d.distribution for d in self.dimensions})
        return out

    def suggest(self, trial: BaseTrial) -> list[str]:
        """Sample a configuration in ``trial``; returns its overrides."""
        for a in self._axes:
            strategy = trial.suggest_categorical(a.choice, a.strategies) if a.choice else a.strategies[0]
            for d in a.dims[str(strategy)]:
                _suggest(trial, d)
        for g in self._groups:
            for d in g.dims:
                _suggest(trial, d)
        return self.overrides(trial.params)

    def overrides(self, values: Mapping[str, Any]) -> list[str]:
        """The ``key=value`` overrides that apply a configuration (Optuna name →
        value, as ``trial.params`` holds it) to the experiment.

        Raises:
            KeyError: ``values`` lacks a dimension of the configuration.
        """
        out = [override(key, {}) for key in self._switched_on]
        for a in self._axes:
            strategy = values[a.choice] if a.choice else a.strategies[0]
            if a.named:
                out.append(override(f"{a.axis}.{a.name_field}", strategy))
                if strategy != a.experiment_strategy:
                    out.append(override(f"{a.axis}.params", {}))  # the experiment's are another strategy's
            out += [override(f"{a.axis}.params.{k}", v) for k, v in a.fixed[strategy].items()]
            out += [override(d.key, values[d.name]) for d in a.dims[strategy]]
        for g in self._groups:
            out += [override(f"{g.key}.{k}", v) for k, v in g.fixed.items()]
            out += [override(d.key, values[d.name]) for d in g.dims]
        return out

    def defaults(self) -> dict[str, Any] | None:
        """The experiment's own configuration as a point of the space (its values
        where it sets them, else the declared defaults), or None when it lies
        outside (its strategy is not searched, or a value is outside a narrowed
        range)."""
        point: dict[str, Any] = {}
        for a in self._axes:
            strategy = a.experiment_strategy
            if strategy not in a.strategies or strategy is None:
                return None
            if a.choice:
                point[a.choice] = strategy
            point.update({d.name: a.experiment_params.get(d.parameter.name, d.parameter.default)
                          for d in a.dims[strategy]})
        for g in self._groups:
            point.update({d.name: g.experiment_values.get(d.parameter.name, d.parameter.default) for d in g.dims})
        return point if all(_contains(self.distributions[k], v) for k, v in point.items()) else None


def _suggest(trial: BaseTrial, d: Dimension) -> Any:
    dist = d.distribution
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(d.name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(d.name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, CategoricalDistribution)
    return trial.suggest_categorical(d.name, dist.choices)


def _contains(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return any(value == c and type(value) is type(c) for c in dist.choices)
    assert isinstance(dist, IntDistribution | FloatDistribution)
    if isinstance(value, bool) or not isinstance(value, int | float) or not dist.low <= value <= dist.high:
        return False
    if dist.step is None:
        return True
    steps = (value - dist.low) / dist.step
    return math.isclose(steps, round(steps), abs_tol=1e-9)


# --- building ------------------------------------------------------------------------
def build_space(space: Mapping[str, Any], experiment: ExperimentConfig, source: str) -> Space:
    """The search space a study's ``space:`` describes, checked against the declarations.

    Args:
        space: The ``space:`` mapping.
        experiment: The experiment's config (its ``set`` overrides applied), for its
            strategies and values.
        source: The study file, for error messages.

    Raises:
        ConfigError: Naming the field under ``space`` and what is allowed.
    """
    entries = tunables()
    # A strategy axis of the config's top level (not the rules and fallbacks inside a group).
    strategies = {axis: {e.name: e for e in entries if e.axis == axis}
                  for axis in dict.fromkeys(e.axis for e in entries if e.key == f"{e.axis}.params")}
    groups = {key: [e for e in entries if e.axis == "settings" and e.key == key]
              for key in dict.fromkeys(e.key for e in entries if e.axis == "settings")}
    if not isinstance(space, Mapping):
        raise ConfigError(source, "space", f"must be a mapping of {', '.join(dict.fromkeys([*strategies, *groups]))}")
    axes: list[_Axis] = []
    settings: list[_Group] = []
    for key, spec in space.items():
        if key == FAULTS:
            settings += _fault_groups(spec, experiment, {e.name: e for e in entries if e.axis == FAULTS}, source)
            continue
        if key not in strategies and key not in groups:
            raise ConfigError(source, f"space.{key}", "unknown strategy axis or settings group; allowed: "
                              + ", ".join(dict.fromkeys([*strategies, *groups, FAULTS])))
        spec = {"strategy": spec} if isinstance(spec, str) and key in strategies and spec != ALL else spec
        if spec == ALL and key in groups:
            spec = {name: {} for e in groups[key] for name in _bounded(e.parameters)}
        if not isinstance(spec, Mapping):
            raise ConfigError(source, f"space.{key}", f"must be a mapping (or a strategy name, or {ALL!r}), "
                              f"got {spec!r}")
        own = {k: v for k, v in spec.items() if k in ("strategy", "params")} if key in strategies else {}
        rest = {k: v for k, v in spec.items() if k not in own}
        configured = getattr(experiment, key)
        if key in INNER_STRATEGIES and INNER_STRATEGIES[key][0] in rest:
            axes.append(_inner_axis(key, rest.pop(INNER_STRATEGIES[key][0]), entries, configured, source))
        if key in strategies and (own or key not in groups):
            axes.append(_build_axis(key, own, rest if key not in groups else {}, strategies[key], configured, source))
        if key in groups and (rest or not own):
            values = {} if configured is None else configured.model_dump()
            settings.append(_build_group(key, rest, groups[key], values, source))
    switched_on = [key for key in space if key in groups and getattr(experiment, key) is None]
    return Space(axes, settings, switched_on)


def _inner_axis(key: str, spec: Any, entries: Sequence[TunableEntry], configured: Any, source: str) -> _Axis:
    """The strategy axis of a settings group's own strategy (``space.consistency.strategy``:
    ``{name: NAME or [NAMES], params: {...}}``, or the name or names alone)."""
    from wfsim.experiments.schema import ExperimentConfig

    inner, name_field = INNER_STRATEGIES[key]
    axis = f"{key}.{inner}"
    if isinstance(spec, str | list):
        spec = {name_field: spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(source, f"space.{axis}", f"must be a mapping of {name_field} and params (or a strategy "
                          f"name, or a list of them), got {spec!r}")
    if configured is None:  # the group is switched on: its strategy is the schema's default
        group = ExperimentConfig.model_fields[key].annotation
        configured = next(t for t in typing.get_args(group) if t is not type(None)).model_fields[inner].default
    else:
        configured = getattr(configured, inner)
    own = {k: v for k, v in spec.items() if k in (name_field, "params")}
    registry = {e.name: e for e in entries if e.key == f"{axis}.params"}
    return _build_axis(axis, own, {k: v for k, v in spec.items() if k not in own}, registry, configured, source,
                       name_field)


def _fault_groups(spec: Any, experiment: ExperimentConfig, registry: Mapping[str, TunableEntry],
                  source: str) -> list[_Group]:
    """The groups of ``space.faults``: entry ``i`` tunes the parameters of the
    experiment's fault process ``i`` (a mapping like a settings group's, or ``all``)."""
    have = len(experiment.faults)
    if not isinstance(spec, list) or len(spec) > have:
        raise ConfigError(source, f"space.{FAULTS}", f"must be a list of at most {have} entries, one per fault "
                          f"process of the experiment, in its order; got {spec!r}")
    out = []
    for i, (entry, configured) in enumerate(zip(spec, experiment.faults)):
        found = registry[configured.process]
        if entry == ALL:
            entry = {name: {} for name in _bounded(found.parameters)}
        if not isinstance(entry, Mapping):
            raise ConfigError(source, f"space.{FAULTS}[{i}]", f"must be a mapping of parameters or {ALL!r}, "
                              f"got {entry!r}")
        out.append(_build_group(f"{FAULTS}.{i}", entry, [found], configured.model_dump(), source))
    return out


def _bounded(parameters: Sequence[Parameter]) -> list[str]:
    """The parameters a tuner can search without being told a range."""
    return [p.name for p in parameters if p.kind in ("bool", "categorical") or None not in (p.low, p.high)]


def _build_axis(axis: str, spec: Mapping[str, Any], extra: Mapping[str, Any], registry: Mapping[str, TunableEntry],
                configured: Any, source: str, name_field: str = "strategy") -> _Axis:
    where = f"space.{axis}"
    if extra:
        raise ConfigError(source, f"{where}.{next(iter(extra))}", f"unknown field; allowed: {name_field}, params")
    # The experiment's strategy (None: its autoscaling is off, and the schema's default applies).
    own = getattr(configured, name_field) if configured is not None else None
    named = name_field in spec
    if own is None and not named:
        raise ConfigError(source, f"{where}.{name_field}", f"the experiment has no {axis}; name the strategy")
    chosen = spec.get(name_field, own)
    names = [chosen] if isinstance(chosen, str) else chosen
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(source, f"{where}.{name_field}",
                          f"must be a strategy name or a list of them, got {chosen!r}")
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ConfigError(source, f"{where}.{name_field}",
                          f"unknown strategy {unknown[0]!r}; allowed: {', '.join(registry)}")
    if len(set(names)) != len(names):
        raise ConfigError(source, f"{where}.{name_field}", "each strategy once")
    params = spec.get("params", ALL if named else {})
    declared = {n: {p.name: p for p in registry[n].parameters} for n in names}
    experiment_params = _per_prefix(dict(configured.params) if configured is not None else {})
    if isinstance(params, Mapping) and isinstance(params.get(PER_PREFIX), Mapping):
        params = _per_prefix(params)
        for n in names:
            if PER_PREFIX in {f.name for f in dataclasses.fields(registry[n].cls)}:
                # A prefix not listed gets the strategy's ``default`` level.
                otherwise = (experiment_params if n == own else {}).get("default", declared[n]["default"].default)
                declared[n].update({k: Parameter(k, "categorical", otherwise, choices=LEVELS,
                                                 doc="the level of the keys with this prefix")
                                    for k in params if k.startswith(f"{PER_PREFIX}.")})
    params_by: dict[str, dict[str, Any]]
    if params == ALL:
        params_by = {n: {name: {} for name in _bounded(registry[n].parameters)} for n in names}
    elif isinstance(params, Mapping):
        known = set().union(*declared.values())
        unknown = [p for p in params if p not in known]
        if unknown:
            allowed = ", ".join(dict.fromkeys(p for n in names for p in declared[n])) or "none"
            raise ConfigError(source, f"{where}.params.{unknown[0]}",
                              f"unknown parameter of {', '.join(names)}; allowed: {allowed}")
        params_by = {n: {k: v for k, v in params.items() if k in declared[n]} for n in names}
    else:
        raise ConfigError(source, f"{where}.params", f"must be a mapping of parameters or {ALL!r}, got {params!r}")
    result = _Axis(axis, names, named, own, experiment_params, name_field=name_field)
    for n in names:
        result.fixed[n], result.dims[n] = {}, []
        for pname, pspec in params_by[n].items():
            name = f"{axis}.{n}.{pname}" if len(names) > 1 else f"{axis}.params.{pname}"
            found = _dimension(declared[n][pname], pspec, name, f"{axis}.params.{pname}", f"{where}.params.{pname}",
                               source, explicit=params != ALL)
            if isinstance(found, Dimension):
                result.dims[n].append(found)
            elif found is not _SKIP:
                result.fixed[n][pname] = found
    return result


def _per_prefix(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with a :data:`PER_PREFIX` mapping spread out as ``types.<prefix>`` entries."""
    inner = params.get(PER_PREFIX)
    if not isinstance(inner, Mapping):
        return dict(params)
    return {**{k: v for k, v in params.items() if k != PER_PREFIX},
            **{f"{PER_PREFIX}.{prefix}": v for prefix, v in inner.items()}}


def _build_group(key: str, spec: Mapping[str, Any], entries: list[TunableEntry], configured: dict[str, Any],
                 source: str) -> _Group:
    declared = {p.name: p for e in entries for p in e.parameters}
    result = _Group(key, configured)
    for pname, pspec in spec.items():
        if pname not in declared:
            allowed = ", ".join(declared) + (", strategy, params" if key == "autoscaling" else "")
            raise ConfigError(source, f"space.{key}.{pname}", f"unknown parameter; allowed: {allowed}")
        found = _dimension(declared[pname], pspec, f"{key}.{pname}", f"{key}.{pname}", f"space.{key}.{pname}",
                           source, explicit=True)
        if isinstance(found, Dimension):
            result.dims.append(found)
        elif found is not _SKIP:
            result.fixed[pname] = found
    return result


#: What :func:`_dimension` returns for a parameter it leaves alone.
_SKIP = object()


def _dimension(p: Parameter, spec: Any, name: str, key: str, field: str, source: str, explicit: bool) -> Any:
    """A :class:`Dimension` for ``p`` as ``spec`` says, a fixed value, or
    :data:`_SKIP` (an unbounded parameter tuned by default)."""
    def refuse(message: str, sub: str = "") -> ConfigError:
        return ConfigError(source, field + sub, message)

    if isinstance(spec, list):
        if not spec:
            raise refuse("an empty list of choices")
        choices = []
        for i, value in enumerate(spec):
            try:
                choices.append(p.validate(value))
            except ValueError as exc:
                raise refuse(str(exc), f"[{i}]") from None
        if len(set(map(repr, choices))) != len(choices):
            raise refuse("each choice once")
        return Dimension(name, key, CategoricalDistribution(choices), p)
    if not isinstance(spec, Mapping):
        try:
            return p.validate(spec)
        except ValueError as exc:
            raise refuse(str(exc)) from None
    if p.kind in ("bool", "categorical"):
        if spec:
            raise refuse(f"a {p.kind} parameter takes a value or a list of choices ({p.allowed()}), not a range")
        return Dimension(name, key, CategoricalDistribution(list(p.choices or (False, True))), p)
    unknown = [k for k in spec if k not in _RANGE_KEYS]
    if unknown:
        raise refuse(f"unknown field; allowed: {', '.join(_RANGE_KEYS)}", f".{unknown[0]}")
    low, high = spec.get("low", p.low), spec.get("high", p.high)
    if low is None or high is None:
        if not explicit:
            return _SKIP
        raise refuse(f"the declared range is unbounded ({p.allowed()}); give low and high")
    for bound, value in (("low", low), ("high", high)):
        if bound in spec:
            try:
                p.validate(value)
            except ValueError as exc:
                number = isinstance(value, int | float) and not isinstance(value, bool)
                raise refuse(f"{value!r} is outside the declared range: {p.allowed()}"
                             if number and (p.kind == "float" or isinstance(value, int)) else str(exc),
                             f".{bound}") from None
    if low > high:
        raise refuse(f"low {low!r} is above high {high!r}")
    step, log = spec.get("step", p.step), spec.get("log", p.log)
    if not isinstance(log, bool):
        raise refuse(f"must be true or false, got {log!r}", ".log")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int if p.kind == "int" else int | float)
                             or step <= 0):
        kind = "a whole number" if p.kind == "int" else "a number"
        raise refuse(f"must be {kind} > 0, got {step!r}", ".step")
    if log and low <= 0:
        raise refuse(f"a log scale needs low > 0, got {low!r}", ".log")
    if log and step not in (None, 1 if p.kind == "int" else None):
        raise refuse("a log scale takes no step", ".step")
    if p.kind == "int":
        return Dimension(name, key, IntDistribution(int(low), int(high), log=log, step=int(step or 1)), p)
    return Dimension(name, key, FloatDistribution(float(low), float(high), log=log,
                                                  step=None if step is None else float(step)), p)
