"""Names a package exports but imports only on first use (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(namespace: dict[str, Any], where: dict[str, str]) -> tuple[Callable[[str], Any],
                                                                          Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for the names in ``where``.

    Args:
        namespace: The package's ``globals()``; a name loaded once is stored there,
            so later look-ups do not come back here.
        where: Name → module that defines it (absolute, or relative to the package
            with a leading dot).

    Example::

        __getattr__, __dir__ = lazy_exports(globals(), {"Simulation": "wfsim.engine"})
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
