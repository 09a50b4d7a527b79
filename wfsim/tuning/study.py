"""Study files: what to tune, on which experiment, for what, and how.

::

    experiment: compare-placement.yaml   # relative to this file
    set: [duration=120]                  # overrides of the experiment, as --set
    space:                               # what to tune (wfsim.tuning.space)
      placement: {strategy: [hybrid_dynamic, heft], params: {latency_weight: {low: 0.0, high: 1.0}}}
      rebalance: {interval: {low: 10, high: 120}}
    objective: Balanced                  # a score; or objectives: [latency.p95: minimize, cost: minimize]
    replications: 3                      # runs per trial, the same seeds for every trial
    seed: 2026                           # root of the run seeds and the samplers' seeds
    constraints: all                     # catalog properties that must not be false (a list, or none)
    sampler: tpe                         # wfsim.tuning.samplers.SAMPLERS
    pruner: median                       # median | successive_halving | none
    n_trials: 30
    held_out: 5                          # seeds after the tuning ones: best vs the experiment as written

:func:`load_study` reads and checks one (the experiment, the space against the
declarations, objectives, constraints and sampler) before anything runs; errors name
the file and the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, blame_override, read_yaml, validate_config, validation_error
from wfsim.experiments.scenarios import replication_seeds
from wfsim.experiments.schema import ExperimentConfig
from wfsim.tuning.objectives import Objective, measure_keys, parse_objectives
from wfsim.tuning.samplers import check_sampler
from wfsim.tuning.space import Space, build_space
from wfsim.tuning.trials import PRUNERS


class StudyFile(BaseModel):
    """The fields of a study file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    experiment: str = Field(min_length=1)
    name: str | None = Field(None, min_length=1)
    set: list[str] = []
    space: dict[str, Any]
    objective: str | None = None
    objectives: list[dict[str, str]] | None = None
    replications: int = Field(1, ge=1, strict=True)
    seed: int = Field(0, ge=0, strict=True)
    constraints: Literal["all", "none"] | list[str] = "none"
    sampler: str = "tpe"
    pruner: str | None = None
    n_trials: int = Field(20, ge=1, strict=True)
    held_out: int = Field(0, ge=0, strict=True)


@dataclass(frozen=True)
class Study:
    """A checked study file, with everything it refers to resolved.

    Attributes:
        file: The study file's fields.
        source: The study file (for messages).
        name: The study's name in its storage (``name:``, else the file's stem).
        experiment: The experiment file.
        experiment_data: Its content as read (before ``set``).
        config: The experiment with ``set`` applied, validated.
        space: The search space.
        objectives: What is optimised.
        constraints: Names of the catalog properties that must not be false.
        pruner: ``median``, ``successive_halving`` or ``none``.
    """

    file: StudyFile
    source: str
    name: str
    experiment: Path
    experiment_data: dict[str, Any]
    config: ExperimentConfig
    space: Space
    objectives: list[Objective]
    constraints: list[str]
    pruner: str

    @property
    def seeds(self) -> list[int]:
        """The run seeds of every trial's replications."""
        return replication_seeds(self.file.seed, self.file.replications)

    @property
    def held_out_seeds(self) -> list[int]:
        """The seeds after the tuning ones, for the held-out comparison."""
        return replication_seeds(self.file.seed, self.file.held_out, start=self.file.replications)

    @property
    def directions(self) -> list[str]:
        """Optuna's direction of each objective."""
        return [o.direction for o in self.objectives]

    @property
    def needs_reference(self) -> bool:
        """Whether an objective is normalised against the experiment as written."""
        return any(o.needs_reference for o in self.objectives)

    def fingerprint(self) -> str:
        """What makes two study files the same study: the experiment (with ``set``),
        the space, objectives, replications, seed and constraints; not the sampler,
        pruner, trial count or held-out seeds, which a resumed study may change."""
        identity = {"experiment": self.config.model_dump(mode="json"), "space": self.file.space,
                    "objectives": [(o.key, o.direction) for o in self.objectives],
                    "replications": self.file.replications, "seed": self.file.seed, "constraints": self.constraints}
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """The study as JSON-ready data (recorded with its results)."""
        return {**self.file.model_dump(mode="json"), "name": self.name, "source": self.source,
                "experiment": str(self.experiment), "objectives": [{o.key: o.direction} for o in self.objectives],
                "constraints": self.constraints, "pruner": self.pruner, "seeds": self.seeds,
                "held_out_seeds": self.held_out_seeds}


def load_study(study: str | Path | Mapping[str, Any], *, base: str | Path | None = None,
               n_trials: int | None = None, sampler: str | None = None) -> Study:
    """Read and check a study.

    Args:
        study: A study file, or its content as a mapping.
        base: Where the mapping's ``experiment`` is relative to (default: the
            working directory); a file's is relative to the file.
        n_trials, sampler: Replace the file's (``wfsim tune --n-trials/--sampler``).

    Raises:
        ConfigError: Naming the study file (or the flag) and the field, or the
            experiment file for an error of the experiment.
    """
    if isinstance(study, Mapping):
        source, data, folder = "<study>", dict(study), Path(base or ".")
    else:
        source, data, folder = str(study), read_yaml(study), Path(study).parent
    try:
        file = StudyFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source, StudyFile) from None
    if n_trials is not None:
        file = file.model_copy(update={"n_trials": n_trials})
    experiment = folder / file.experiment
    experiment_data = read_yaml(experiment)
    flag = f"{source}: set"
    with blame_override(file.set, flag, without=lambda: validate_config(experiment_data, str(experiment))):
        config = validate_config(apply_overrides(experiment_data, file.set, flag), str(experiment))
    topology = _check_runnable(config, experiment, file.set, flag)
    space = build_space(file.space, config, source)
    try:
        objectives = parse_objectives(file.objective, file.objectives, measure_keys(topology))
    except ValueError as exc:
        raise ConfigError(source, None, str(exc)) from None
    chosen = sampler or file.sampler
    try:
        check_sampler(chosen, len(objectives))
    except ValueError as exc:
        raise (ConfigError(f"--sampler {sampler}", None, str(exc)) if sampler
               else ConfigError(source, "sampler", str(exc))) from None
    if sampler:
        file = file.model_copy(update={"sampler": sampler})
    pruner = file.pruner or ("median" if len(objectives) == 1 else "none")
    if pruner not in PRUNERS:
        raise ConfigError(source, "pruner", f"unknown pruner {pruner!r}; allowed: {', '.join(PRUNERS)}")
    if pruner != "none" and len(objectives) > 1:
        raise ConfigError(source, "pruner", f"{pruner} pruning needs a single objective (Optuna reports one "
                          "intermediate value per step); use none")
    return Study(file, source, file.name or (Path(source).stem if source != "<study>" else "study"), experiment,
                 experiment_data, config, space, objectives, _constraints(file.constraints, source), pruner)


def _check_runnable(config: ExperimentConfig, experiment: Path, overrides: Sequence[str], flag: str) -> Any:
    """Build the experiment once (pre-flight checks included); its topology."""
    from wfsim.experiments.building import build_simulation

    with blame_override(overrides, flag):
        return build_simulation(config, experiment.resolve().parent, str(experiment)).topology


def _constraints(given: str | list[str], source: str) -> list[str]:
    from wfsim.verify.catalog import resolve

    if given == "none":
        return []
    try:
        return [p.name for p in resolve(None if given == "all" else given)]
    except KeyError as exc:
        raise ConfigError(source, "constraints", exc.args[0]) from None
