"""Arrival processes: when workflow instances are submitted.

Each process yields absolute arrival times in ``[start, end)``, drawing from the
generator it is given, so a run's arrivals depend only on its seed and the stream name.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, cast

import numpy as np

_BATCH = 256  # draws per numpy call: amortises call overhead, same values as one by one


class ArrivalProcess(ABC):
    """Produces arrival times."""

    name: ClassVar[str]

    @abstractmethod
    def times(self, rng: np.random.Generator, start: float, end: float, origin: str = "") -> Iterator[float]:
        """Arrival times in ``[start, end)``, increasing.

        Args:
            rng: The stream to draw from.
            start, end: The arrival window in seconds.
            origin: The submitting node (used by trace-driven arrivals).
        """

    @abstractmethod
    def expected(self, start: float, end: float, origin: str = "") -> float:
        """Expected number of arrivals from ``origin`` in ``[start, end)`` (run sizes
        are judged from it before anything is built)."""

    def none_expected(self, start: float) -> str:
        """Why a non-empty window may expect no arrival (for the error that refuses it)."""
        return "the process expects none"


@dataclass(frozen=True)
class Poisson(ArrivalProcess):
    """Poisson arrivals: exponential gaps with mean ``1 / rate``."""

    rate: float
    name: ClassVar[str] = "poisson"

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"poisson rate must be > 0, got {self.rate}")

    def expected(self, start: float, end: float, origin: str = "") -> float:
        return self.rate * max(0.0, end - start)

    def times(self, rng: np.random.Generator, start: float, end: float, origin: str = "") -> Iterator[float]:
        t = start
        scale = 1.0 / self.rate
        while True:
            for gap in rng.exponential(scale, _BATCH).tolist():
                t += gap
                if t >= end:
                    return
                yield t


@dataclass(frozen=True)
class Periodic(ArrivalProcess):
    """One arrival every ``period`` seconds from ``start + phase``, each shifted by a
    uniform jitter in ``[0, jitter)`` (drawn independently, never reordering)."""

    period: float
    phase: float = 0.0
    jitter: float = 0.0
    name: ClassVar[str] = "periodic"

    def __post_init__(self) -> None:
        if not self.period > 0:
            raise ValueError(f"periodic period must be > 0, got {self.period}")
        if not 0 <= self.jitter <= self.period:
            raise ValueError(f"periodic jitter must be in [0, period], got {self.jitter}")
        if self.phase < 0:
            raise ValueError(f"periodic phase must be >= 0, got {self.phase}")

    def expected(self, start: float, end: float, origin: str = "") -> float:
        # Jitter only delays an arrival, so this counts every one that may fall inside.
        return max(0, math.ceil((max(0.0, end - start) - self.phase) / self.period))

    def none_expected(self, start: float) -> str:
        return f"the first periodic arrival comes at start + phase = {start + self.phase:g}"

    def times(self, rng: np.random.Generator, start: float, end: float, origin: str = "") -> Iterator[float]:
        k = 0
        while True:
            t = start + self.phase + k * self.period
            if self.jitter:
                t += rng.uniform(0.0, self.jitter)
            if t >= end:
                return
            yield t
            k += 1


@dataclass(frozen=True)
class MMPP(ArrivalProcess):
    """Bursty arrivals: a two-state Markov-modulated Poisson process.

    The process alternates between a calm state (rate ``rates[0]``) and a burst state
    (``rates[1]``); it leaves state ``i`` after an exponential time with mean
    ``mean_sojourn[i]``. It starts in the calm state.
    """

    rates: tuple[float, float]
    mean_sojourn: tuple[float, float]
    name: ClassVar[str] = "mmpp"

    def __post_init__(self) -> None:
        if len(self.rates) != 2 or len(self.mean_sojourn) != 2:
            raise ValueError("mmpp needs two rates and two mean sojourn times")
        if min(self.rates) < 0 or max(self.rates) <= 0:
            raise ValueError(f"mmpp rates must be >= 0 with one > 0, got {self.rates}")
        if min(self.mean_sojourn) <= 0:
            raise ValueError(f"mmpp mean sojourn times must be > 0, got {self.mean_sojourn}")

    @property
    def mean_rate(self) -> float:
        """Long-run arrival rate."""
        (r0, r1), (s0, s1) = self.rates, self.mean_sojourn
        return (r0 * s0 + r1 * s1) / (s0 + s1)

    def expected(self, start: float, end: float, origin: str = "") -> float:
        return self.mean_rate * max(0.0, end - start)

    def times(self, rng: np.random.Generator, start: float, end: float, origin: str = "") -> Iterator[float]:
        t, state = start, 0
        switch = t + rng.exponential(self.mean_sojourn[0])
        while t < end:
            rate = self.rates[state]
            nxt = t + rng.exponential(1.0 / rate) if rate > 0 else np.inf
            if nxt < switch:
                t = nxt
                if t < end:
                    yield t
            else:
                # Memorylessness lets the pending gap be redrawn in the new state.
                t, state = switch, 1 - state
                switch = t + rng.exponential(self.mean_sojourn[state])


@dataclass(frozen=True)
class TraceArrivals(ArrivalProcess):
    """Arrival times replayed from a CSV file.

    The file has a ``time`` column (seconds) and optionally an ``origin`` column; when
    present, each origin replays only its own rows. Times outside the window are
    skipped. Errors name the file, line and column.
    """

    path: str
    name: ClassVar[str] = "trace"

    def times(self, rng: np.random.Generator, start: float, end: float, origin: str = "") -> Iterator[float]:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise ValueError(f"{self.path}: cannot read arrival trace ({exc.strerror})") from None
        rows = _read_trace(self.path, stat.st_mtime_ns, stat.st_size)
        has_origin = any(o is not None for _, o in rows)
        selected = sorted(t for t, o in rows if not has_origin or o == origin)
        for t in selected:
            if start <= t < end:
                yield t

    def expected(self, start: float, end: float, origin: str = "") -> float:
        no_rng = cast(np.random.Generator, None)  # a trace draws nothing
        return float(sum(1 for _ in self.times(no_rng, start, end, origin)))

    def none_expected(self, start: float) -> str:
        return f"{self.path} has no time in it for these origins"


@functools.lru_cache(maxsize=16)
def _read_trace(path: str, mtime_ns: int, size: int) -> tuple[tuple[float, str | None], ...]:
    # Cached per (path, modification time, size): one read per run, yet a file
    # rewritten between runs is read again.
    file = Path(path)
    try:
        handle = file.open(newline="")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read arrival trace ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "time" not in reader.fieldnames:
            raise ValueError(f"{path}: arrival trace needs a 'time' column; found {reader.fieldnames}")
        rows = []
        for row in reader:
            line = reader.line_num
            try:
                t = float(row["time"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: column 'time' must be a number, got {row['time']!r}") from None
            if not t >= 0:
                raise ValueError(f"{path}, line {line}: column 'time' must be >= 0, got {t}")
            rows.append((t, row.get("origin")))
    return tuple(rows)


#: The arrival processes by name: an experiment's ``arrivals: {process: NAME, ...}``
#: builds the class registered here, passing the entry's other fields. A new process
#: also needs its ``arrivals:`` model in :mod:`wfsim.experiments.schema` (checked on
#: import).
ARRIVAL_PROCESSES: dict[str, type[ArrivalProcess]] = {
    cls.name: cls for cls in (Poisson, Periodic, MMPP, TraceArrivals)
}
