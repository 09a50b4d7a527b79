"""Kept only for :mod:`wfsim.experiments` (``loading`` and ``building``), which still
import ``validate_params`` from here; everything else imports
:mod:`wfsim.model.parameters`. Delete once those imports have moved."""

from wfsim.model.parameters import Parameter, validate_params

__all__ = ["Parameter", "validate_params"]
