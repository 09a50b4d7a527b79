"""Which consistency level each replicated-state operation asks for (the seed's
``ConsistencyStrategy``): fixed, per data type, per operation kind, or adapted to the
store's :class:`~wfsim.model.enums.SystemHealth`.

A strategy answers :meth:`ConsistencyStrategy.level_for` for a key, an operation
(``"read"`` or ``"write"``) and the current health. Key floors and the per-request
timeout fallback chain are the store's, applied after the strategy has chosen
(:class:`~wfsim.consistency.store.ReplicatedStore`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wfsim.model.enums import ConsistencyLevel, SystemHealth, key_type
from wfsim.model.parameters import Tunable, param

#: The levels as YAML and the tuner name them, strongest first.
LEVELS: tuple[str, ...] = tuple(level.value for level in ConsistencyLevel)


def parse_levels(levels: Mapping[str, Any], what: str) -> dict[str, ConsistencyLevel]:
    """A ``prefix → level`` mapping with every level parsed.

    Raises:
        ValueError: For a level that is not one, naming ``what`` and the prefix.
    """
    parsed = {}
    for prefix, level in levels.items():
        try:
            parsed[str(prefix)] = ConsistencyLevel.parse(level)
        except ValueError as exc:
            raise ValueError(f"{what}.{prefix}: {exc}") from None
    return parsed


class ConsistencyStrategy(Tunable, ABC):
    """Chooses the consistency level of each operation."""

    @abstractmethod
    def level_for(self, key: str, f: str, health: SystemHealth) -> ConsistencyLevel:
        """The level for operation ``f`` (``"read"``/``"write"``) on ``key`` while the
        store is ``health``."""

    @abstractmethod
    def levels(self) -> frozenset[ConsistencyLevel]:
        """Every level :meth:`level_for` may return (the store runs their protocols)."""


@dataclass(eq=False)
class FixedLevel(ConsistencyStrategy):
    """Every operation at one level.

    Example:
        >>> FixedLevel("Causal").level_for("order:1", "read", SystemHealth.HEALTHY).value
        'Causal'
    """

    name = "fixed"
    level: str = param(ConsistencyLevel.LINEARIZABLE.value, choices=LEVELS, doc="the level of every operation")

    def level_for(self, key: str, f: str, health: SystemHealth) -> ConsistencyLevel:
        return ConsistencyLevel(self.level)

    def levels(self) -> frozenset[ConsistencyLevel]:
        return frozenset({ConsistencyLevel(self.level)})


@dataclass(eq=False)
class DataTypeDriven(ConsistencyStrategy):
    """The seed's ``DataTypeDrivenStrategy``: a level per data type (the key's prefix,
    :func:`key_type`), the same for reads and writes; other types get ``default``.

    Attributes:
        types: Data type → level (YAML: ``types: {payment: Linearizable, cart: Eventual}``).

    Example:
        >>> s = DataTypeDriven(default="Eventual", types={"payment": "Linearizable"})
        >>> [s.level_for(k, "write", SystemHealth.HEALTHY).value for k in ("payment:7", "cart:7")]
        ['Linearizable', 'Eventual']
    """

    name = "data_type"
    default: str = param(ConsistencyLevel.CAUSAL.value, choices=LEVELS, doc="level of a data type not listed")
    types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._levels = parse_levels(self.types, "types")
        self.types = {prefix: level.value for prefix, level in self._levels.items()}

    def level_for(self, key: str, f: str, health: SystemHealth) -> ConsistencyLevel:
        return self._levels.get(key_type(key), ConsistencyLevel(self.default))

    def levels(self) -> frozenset[ConsistencyLevel]:
        return frozenset({ConsistencyLevel(self.default), *self._levels.values()})


@dataclass(eq=False)
class ExplicitContext(ConsistencyStrategy):
    """The seed's ``ExplicitConsistencyContext``: one level for reads, another for
    writes (a session's own level, :attr:`Session.level
    <wfsim.consistency.protocols.base.Session.level>`, overrides both)."""

    name = "explicit"
    read: str = param(ConsistencyLevel.EVENTUAL.value, choices=LEVELS, doc="level of reads")
    write: str = param(ConsistencyLevel.CAUSAL.value, choices=LEVELS, doc="level of writes")

    def level_for(self, key: str, f: str, health: SystemHealth) -> ConsistencyLevel:
        return ConsistencyLevel(self.read if f == "read" else self.write)

    def levels(self) -> frozenset[ConsistencyLevel]:
        return frozenset({ConsistencyLevel(self.read), ConsistencyLevel(self.write)})


@dataclass(eq=False)
class AdaptiveConsistency(ConsistencyStrategy):
    """The seed's ``AdaptiveConsistencyStrategy``: the level follows the store's
    health (Healthy → Linearizable, Degraded → Sequential, Critical → Causal,
    Emergency → Eventual by default), for reads and writes alike.

    Example:
        >>> AdaptiveConsistency().level_for("k", "read", SystemHealth.CRITICAL).value
        'Causal'
    """

    name = "adaptive"
    healthy: str = param(ConsistencyLevel.LINEARIZABLE.value, choices=LEVELS, doc="level while Healthy")
    degraded: str = param(ConsistencyLevel.SEQUENTIAL.value, choices=LEVELS, doc="level while Degraded")
    critical: str = param(ConsistencyLevel.CAUSAL.value, choices=LEVELS, doc="level while Critical")
    emergency: str = param(ConsistencyLevel.EVENTUAL.value, choices=LEVELS, doc="level while Emergency")

    def level_for(self, key: str, f: str, health: SystemHealth) -> ConsistencyLevel:
        return ConsistencyLevel(getattr(self, health.name.lower()))

    def levels(self) -> frozenset[ConsistencyLevel]:
        return frozenset(ConsistencyLevel(getattr(self, h.name.lower())) for h in SystemHealth)


#: Strategy name (YAML ``consistency.strategy.name``) → class.
CONSISTENCY_STRATEGIES: dict[str, type[ConsistencyStrategy]] = {
    cls.name: cls for cls in (FixedLevel, DataTypeDriven, ExplicitContext, AdaptiveConsistency)}
