"""The user-error type of experiment configs, shared by the config loader and the
pre-flight checks (:mod:`wfsim.experiments.preflight`)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A user error in a configuration: names the file, the field and what is allowed."""

    def __init__(self, source: str, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + message)
