"""The store's health monitor (the seed's ``SystemHealth`` monitor, with the
hysteresis it lacks).

Every ``monitor_period`` seconds the monitor takes the share of replicas available
and the p99 latency of the latest ``window`` operations and applies the seed's
threshold rule (:func:`health_of`). Without hysteresis the result is the new state;
with hysteresis ``h``, a different result must come out of ``h + 1`` checks in a row
before it takes effect, which stops a store whose downgrades lower its own p99 from
flapping between two states. Each check is a row of the ``health`` table.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from wfsim._timers import Timers
from wfsim.consistency.settings import ConsistencySettings
from wfsim.model.enums import SystemHealth
from wfsim.model.events import SYSTEM_HEALTH

_CODE = {SystemHealth(v): i for i, v in enumerate(SYSTEM_HEALTH)}


def health_of(available: int, total: int, p99: float, settings: ConsistencySettings) -> SystemHealth:
    """The seed's rule: ``ratio = available / total``; ratio ≥ healthy_ratio and p99 <
    healthy_p99 → Healthy; else ≥ degraded_ratio and < degraded_p99 → Degraded; else ≥
    critical_ratio and < critical_p99 → Critical; else Emergency.

    Example:
        >>> s = ConsistencySettings()
        >>> [health_of(a, 10, p, s).value for a, p in ((10, 0.05), (8, 0.05), (10, 0.3), (4, 0.0))]
        ['Healthy', 'Degraded', 'Critical', 'Emergency']
    """
    ratio = available / total if total else 0.0
    for health, share, bound in ((SystemHealth.HEALTHY, settings.healthy_ratio, settings.healthy_p99),
                                 (SystemHealth.DEGRADED, settings.degraded_ratio, settings.degraded_p99),
                                 (SystemHealth.CRITICAL, settings.critical_ratio, settings.critical_p99)):
        if ratio >= share and p99 < bound:
            return health
    return SystemHealth.EMERGENCY


def p99_of(latencies: deque[float] | list[float]) -> float:
    """The seed's p99: ``sorted[floor(0.99 n)]``, 0 without samples."""
    if not latencies:
        return 0.0
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, math.floor(0.99 * len(ordered)))]


class HealthMonitor:
    """Judges the store's :class:`~wfsim.model.enums.SystemHealth` periodically.

    Args:
        settings: Thresholds, period, window and hysteresis.
        available: Returns ``(replicas available, replicas)`` now.
        timers: Where the periodic check's timer lives (a background timer).
        record: Records a ``health`` row (``time, available, total, p99, observed code,
            health code``).

    Attributes:
        health: The state in force (``Healthy`` until a check says otherwise).
        on_change: Called with the new state when it changes.
    """

    def __init__(self, settings: ConsistencySettings, available: Callable[[], tuple[int, int]],
                 timers: Timers, record: Callable[[tuple], None]) -> None:
        self.settings = settings
        self.health = SystemHealth.HEALTHY
        self.on_change: list[Callable[[SystemHealth], None]] = []
        self._available = available
        self._timers = timers
        self._record = record
        self._latencies: deque[float] = deque(maxlen=settings.window)
        self._streak = 0  # checks in a row that disagreed with the state in force
        timers.after(settings.monitor_period, self._check)

    def observe(self, latency: float) -> None:
        """An operation took ``latency`` seconds (a timed-out one: its timeout)."""
        self._latencies.append(latency)

    def _check(self) -> None:
        s = self.settings
        available, total = self._available()
        p99 = p99_of(self._latencies)
        observed = health_of(available, total, p99, s)
        if observed is self.health:
            self._streak = 0
        else:
            self._streak += 1
            if self._streak > s.hysteresis:
                self._streak = 0
                self.health = observed
                for callback in self.on_change:
                    callback(observed)
        self._record((self._timers.env.now, available, total, p99, _CODE[observed], _CODE[self.health]))
        self._timers.after(s.monitor_period, self._check)
