"""Declared tunable parameters: see :mod:`wfsim.model.parameters` (kept here while
strategies move to the dataclass convention)."""

from wfsim.model.parameters import Parameter, validate_params

__all__ = ["Parameter", "validate_params"]
