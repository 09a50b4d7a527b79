"""Experiment configs (YAML), building simulations from them, and results on disk."""

from wfsim.experiments.config import (
    ConfigError,
    ExperimentConfig,
    build_simulation,
    load_config,
    validate_config,
)
from wfsim.experiments.results import read_metrics, write_run

__all__ = [
    "ConfigError", "ExperimentConfig", "build_simulation", "load_config", "read_metrics",
    "validate_config", "write_run",
]
