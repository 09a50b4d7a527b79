"""Experiment configs (YAML): their schema (:mod:`~wfsim.experiments.schema`),
reading and validating one (:mod:`~wfsim.experiments.loading`) and building a
simulation from it (:mod:`~wfsim.experiments.building`); results on disk:
:mod:`wfsim.trace.rundir`. Every user error is one :class:`ConfigError` naming the
file, the field and what is allowed."""

from wfsim.experiments.building import build_simulation
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import load_config, validate_config
from wfsim.experiments.schema import ExperimentConfig

__all__ = [
    "ConfigError", "ExperimentConfig", "build_simulation", "load_config", "validate_config",
]
