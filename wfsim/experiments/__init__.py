"""Experiment configs (YAML) and building simulations from them (results on disk:
:mod:`wfsim.trace.rundir`)."""

from wfsim.experiments.config import (
    ConfigError,
    ExperimentConfig,
    build_simulation,
    load_config,
    validate_config,
)

__all__ = [
    "ConfigError", "ExperimentConfig", "build_simulation", "load_config", "validate_config",
]
