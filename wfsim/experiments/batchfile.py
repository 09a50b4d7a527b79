"""Batch files: an experiment, its scenarios and replications, as a :class:`BatchPlan`.

A batch file (YAML) names a base experiment and what to run of it::

    experiment: compare-placement.yaml    # relative to this file (or the config inline)
    set: [duration=120]                   # overrides for every scenario (optional)
    grid: {placement: [nearest_edge, heft]}           # scenarios: the product (optional)
    scenarios:                            # and/or a list (optional)
      - {name: heft-shared, set: {placement: heft, network: shared}}
    replications: 5                       # seeds from SeedSequence(seed) ...
    seed: 2026                            # ... (default: the experiment's seed)
    # seeds: [1, 2, 3]                    # or explicit seeds
    trace: metrics                        # or full: keep every run's trace
    baseline: placement=nearest_edge      # for paired differences (default: the first)

``set`` (here and in a scenario) is a mapping of ``key.path: value`` or a list of
``key.path=value``. With neither ``grid`` nor ``scenarios`` there is one scenario,
``baseline``; a plain experiment config (no ``experiment:`` key) is such a batch.
:func:`load_plan` reads either, applies the command line's choices, and checks every
scenario before anything runs (:func:`~wfsim.experiments.scenarios.prepare_specs`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, blame_override, read_yaml, validate_config, validation_error
from wfsim.experiments.scenarios import (
    TRACE_LEVELS,
    RunSpec,
    Scenario,
    grid,
    override,
    prepare_specs,
    replication_seeds,
)


def _as_overrides(value: Any) -> Any:
    if isinstance(value, Mapping):
        return [override(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return value
    raise PydanticCustomError("overrides", "must be a mapping of key.path: value or a list of key.path=value")


def _well_formed(items: list[str]) -> list[str]:
    for item in items:
        key, sep, _ = item.partition("=")
        if not sep or not key:
            raise PydanticCustomError("override", "{item} must look like key.path=value", {"item": repr(item)})
    return items


def _file_or_config(value: Any) -> Any:
    if (isinstance(value, str) and value) or isinstance(value, dict):
        return value
    raise PydanticCustomError("experiment", "must be an experiment config file (relative to the batch file) "
                              "or an experiment config mapping")


#: ``set:``: a mapping ``key.path: value`` or a list of ``key.path=value``, read as the list.
Overrides = Annotated[list[str], BeforeValidator(_as_overrides), AfterValidator(_well_formed)]


class ScenarioEntry(BaseModel):
    """One scenario of a batch file's ``scenarios:`` list."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    set: Overrides = Field(default_factory=list)


class BatchFile(BaseModel):
    """A batch file, as written (the module docstring shows one)."""

    model_config = ConfigDict(extra="forbid")
    experiment: Annotated[Any, AfterValidator(_file_or_config)]
    set: Overrides = Field(default_factory=list)
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    scenarios: list[ScenarioEntry] = Field(default_factory=list)
    replications: int | None = Field(None, ge=1, strict=True)
    seed: int | None = Field(None, ge=0, strict=True)
    seeds: list[Annotated[int, Field(ge=0, strict=True)]] | None = Field(None, min_length=1)
    trace: Literal["full", "metrics"] = "metrics"
    baseline: str | None = None


@dataclass(frozen=True)
class BatchPlan:
    """Everything a batch runs, checked: what :func:`~wfsim.experiments.batch.run_batch` executes.

    Attributes:
        source: What the user named: the batch file, or the experiment config.
        experiment: The experiment config file (None for a config given as a mapping
            or inline in the batch file).
        experiment_sha256: The SHA-256 of its bytes (of its canonical JSON for a mapping).
        overrides: ``key=value`` overrides for every scenario.
        scenarios: The scenarios, in order; names are unique.
        root_seed: The root of the replication seeds (None: explicit seeds).
        seeds: The replication seeds, the same for every scenario.
        trace: ``"metrics"`` or ``"full"``.
        baseline: The scenario the others are compared with.
        specs: One run per (scenario, replication), scenario by scenario.
        spec: The batch file's content as written (None for a plain config).
    """

    source: str
    experiment: str | None
    experiment_sha256: str
    overrides: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    root_seed: int | None
    seeds: tuple[int, ...]
    trace: str
    baseline: str
    specs: tuple[RunSpec, ...]
    spec: dict[str, Any] | None = None

    def index(self, spec: RunSpec) -> tuple[int, int]:
        """``(scenario index, replication)`` of one of :attr:`specs`."""
        return self.names.index(spec.scenario), spec.replication

    @property
    def names(self) -> list[str]:
        """The scenarios' names, in order."""
        return [s.name for s in self.scenarios]


def load_plan(source: str | Path | Mapping[str, Any], *, replications: int | None = None, seed: int | None = None,
              seeds: Sequence[int] | None = None, overrides: Sequence[str] = (),
              trace: str | None = None) -> BatchPlan:
    """The plan of a batch file or a plain experiment config (a path, or its content).

    Args:
        source: The file, or its content as a mapping (relative paths then resolve
            from the working directory).
        replications, seed: Replace the file's choice of seeds: ``replications``
            seeds derived from ``seed`` (each defaulting to the file's, then to 1
            replication and the experiment's seed).
        seeds: Explicit seeds instead.
        overrides: ``key=value`` overrides for every scenario, after the file's.
        trace: Replaces the file's trace level.

    Raises:
        ConfigError: The file, an override or a scenario is invalid (checked before
            anything runs), naming the file, the field and what is allowed.
    """
    where = "<config>" if isinstance(source, Mapping) else str(source)
    raw = dict(source) if isinstance(source, Mapping) else read_yaml(source)
    if trace is not None and trace not in TRACE_LEVELS:
        raise ConfigError(where, "trace", f"must be one of {', '.join(TRACE_LEVELS)}, not {trace!r}")
    config_path = where  # the config's relative paths resolve beside it ("<config>": from here)
    experiment: str | None = None  # the experiment's file, when it has one
    if "experiment" not in raw:  # a plain experiment config: one scenario
        file, data = BatchFile(experiment=raw), raw
        experiment = None if isinstance(source, Mapping) else where
    else:
        file = _validated(raw, where)
        if isinstance(file.experiment, str):
            base = Path(where).parent if not isinstance(source, Mapping) else Path()
            config_path = experiment = str(base / file.experiment)
            data = _read_experiment(experiment, where)
        else:  # the config itself, inline
            data = file.experiment
    scenarios = _scenarios(file, where)
    baseline = file.baseline or scenarios[0].name
    if baseline not in [s.name for s in scenarios]:
        raise ConfigError(where, "baseline", f"no scenario {baseline!r}; allowed: "
                          + ", ".join(s.name for s in scenarios))
    every = [*file.set, *overrides]
    with blame_override(file.set, f"{where}: set"), blame_override(overrides):
        overridden = apply_overrides(apply_overrides(data, file.set, f"{where}: set"), list(overrides))
        seed_of_experiment = validate_config(overridden, config_path).seed
    if seeds is None and replications is None and seed is None and file.seeds is not None:
        seeds = file.seeds
    root = None
    if seeds is None:
        root = next(s for s in (seed, file.seed, seed_of_experiment) if s is not None)
        seeds = replication_seeds(root, replications or file.replications or 1)
    trace = trace or file.trace
    specs = prepare_specs(config_path, scenarios, seeds, every, trace, data, _flag(where, file))
    return BatchPlan(where, experiment, _sha256(experiment, data), tuple(every), tuple(scenarios), root,
                     tuple(seeds), trace, baseline, tuple(specs), raw if "experiment" in raw else None)


def plan_variants(config: str | Path, scenarios: Sequence[Scenario], seeds: Sequence[int],
                  overrides: Sequence[str] = (), flag: str = "--vary") -> BatchPlan:
    """The plan of ``scenarios`` of the experiment ``config`` on explicit ``seeds``
    (``wfsim compare``: its ``--vary`` product); errors in a scenario name ``flag``."""
    data = read_yaml(config)
    specs = prepare_specs(config, scenarios, seeds, overrides, "metrics", data, lambda s: flag)
    return BatchPlan(str(config), str(config), _sha256(str(config), data), tuple(overrides), tuple(scenarios),
                     None, tuple(seeds), "metrics", scenarios[0].name, tuple(specs))


def _validated(raw: dict[str, Any], where: str) -> BatchFile:
    try:
        file = BatchFile.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, where, BatchFile) from None
    if file.seeds is not None and (file.replications is not None or file.seed is not None):
        raise ConfigError(where, "seeds", "give either seeds or replications and seed, not both")
    if file.seeds is not None and len(set(file.seeds)) < len(file.seeds):
        twice = sorted({s for s in file.seeds if file.seeds.count(s) > 1})
        raise ConfigError(where, "seeds", f"each seed once; repeated: {', '.join(map(str, twice))}")
    return file


def _read_experiment(experiment: str, where: str) -> dict[str, Any]:
    if not Path(experiment).is_file():
        what = "is not a file" if Path(experiment).exists() else "no such file"
        raise ConfigError(where, "experiment", f"{experiment}: {what}; allowed: an experiment config file, "
                          "relative to the batch file")
    data = read_yaml(experiment)
    if "experiment" in data:
        raise ConfigError(where, "experiment", f"{experiment} is a batch file; allowed: an experiment config")
    return data


def _scenarios(file: BatchFile, where: str) -> list[Scenario]:
    scenarios = grid(file.grid) if file.grid else []
    for entry in file.scenarios:
        labels = {item.partition("=")[0]: item.partition("=")[2] for item in entry.set}
        scenarios.append(Scenario(entry.name, tuple(entry.set), labels))
    if not scenarios:
        return [Scenario("baseline")]
    seen: dict[str, int] = {}
    from_grid = len(scenarios) - len(file.scenarios)
    for i, scenario in enumerate(scenarios):
        if scenario.name in seen:
            field = f"scenarios[{i - from_grid}].name" if i >= from_grid else "grid"
            raise ConfigError(where, field, f"{scenario.name!r} names two scenarios; allowed: a name "
                              f"not already taken ({', '.join(seen)})")
        seen[scenario.name] = i
    return scenarios


def _flag(where: str, file: BatchFile) -> Callable[[Scenario], str]:
    listed = {entry.name: i for i, entry in enumerate(file.scenarios)}

    def flag(scenario: Scenario) -> str:
        if scenario.name in listed:
            return f"{where}: scenarios[{listed[scenario.name]}] ({scenario.name}): set"
        return f"{where}: grid:"
    return flag


def _sha256(experiment: str | None, data: Mapping[str, Any]) -> str:
    if experiment is not None:
        return hashlib.sha256(Path(experiment).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
