"""Autoscaling of node capacity (cores) at run time (the seed's part 3, resource-aware
execution: ``ThresholdScalingStrategy``, ``PredictiveScalingStrategy`` and the
right-sizing rule of ``suggest_resource_adjustment``).

**Strategies** (:class:`Autoscaler`) look at one node's utilisation history and return
a target core count, or None for no change:

* :class:`ThresholdScaling`: up by ``up_factor`` if the current utilisation is above
  ``up_threshold`` *and* the 5-minute average is above ``0.9 × up_threshold`` (short
  spikes do not scale); down by ``down_factor`` if it is below ``down_threshold`` *and*
  the 15-minute average is below ``1.1 × down_threshold`` (only sustained low load).
* :class:`PredictiveScaling`: ordinary least squares over the samples of the last
  ``history_window`` seconds (at least ``min_samples``), with x = sample time − now,
  extrapolated to ``now + prediction_window`` and clamped to [0, 1]. Above
  ``up_threshold`` or below ``down_threshold`` it scales so that the predicted
  utilisation lands at ``target_utilisation``: ``cores × predicted / target`` —
  a factor > 1 up and < 1 down (the seed used 1.2 for both directions, overview §6
  defect 5).
* :class:`RightSizing`: the 60-second rule: average < 0.3 → −20 %, > 0.8 → +30 %.

A scale-up target is at least one core more than now, a scale-down at least one less.

The control loop that applies them is :class:`wfsim.engine.autoscaling.AutoscalingLoop`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from wfsim.model.parameters import Tunable, param, validate_params

if TYPE_CHECKING:
    pass

#: Averaging windows of the history, seconds (the seed's 60/300/900 s report).
WINDOWS = (60.0, 300.0, 900.0)


class UtilisationHistory:
    """One node's utilisation samples ``(time, utilisation)``, oldest first, kept for
    the longest window (15 min), plus its current capacity.

    Attributes:
        samples: The samples.
        capacity: Current core capacity of the node (what targets are relative to).
    """

    def __init__(self, capacity: int, samples: Iterable[tuple[float, float]] = (),
                 keep: float = WINDOWS[-1]) -> None:
        self.capacity = capacity
        self.keep = keep
        self.samples: deque[tuple[float, float]] = deque(samples)

    def add(self, now: float, utilisation: float) -> None:
        """Append a sample and forget those older than ``keep``."""
        self.samples.append((now, utilisation))
        while self.samples and self.samples[0][0] < now - self.keep:
            self.samples.popleft()

    @property
    def current(self) -> float | None:
        """The latest sample, or None."""
        return self.samples[-1][1] if self.samples else None

    def window(self, now: float, seconds: float) -> list[tuple[float, float]]:
        """Samples taken in ``[now − seconds, now]``."""
        return [(t, u) for t, u in self.samples if now - seconds <= t <= now]

    def average(self, now: float, seconds: float) -> float | None:
        """Mean utilisation over the last ``seconds`` (None without samples)."""
        values = [u for _, u in self.window(now, seconds)]
        return sum(values) / len(values) if values else None


def _up(capacity: int, factor: float) -> int:
    return max(capacity + 1, math.ceil(capacity * factor - 1e-9))


def _down(capacity: int, factor: float) -> int:
    return max(1, min(capacity - 1, math.floor(capacity * factor + 1e-9)))


class Autoscaler(Tunable, ABC):
    """A rule from a node's utilisation history to a target core count.

    Concrete autoscalers are dataclasses whose parameters (keyword-only) are declared
    with :func:`~wfsim.model.parameters.param`; each has a ``cooldown`` the control
    loop enforces.
    """

    name = "autoscaler"
    cooldown: float

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # A config hands its ``params`` straight to the constructor
        # (``AUTOSCALERS[name](**params)``), so an unknown name is a ValueError naming
        # what is allowed, like a bad value, rather than the dataclass's TypeError.
        if not set(kwargs) <= {p.name for p in cls.parameters}:
            validate_params(cls.name, cls.parameters, kwargs)
        return super().__new__(cls)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._reason = self.name

    @abstractmethod
    def decide(self, now: float, history: UtilisationHistory) -> int | None:
        """Target cores for the node (relative to ``history.capacity``), or None."""

    def reason(self) -> str:
        """Why the last non-None decision was taken (for the decision log)."""
        return self._reason


# Parameter groups shared by autoscalers, each declared once (fields come from the
# last base first).
@dataclass(eq=False, kw_only=True)
class _Thresholds(Tunable):
    up_threshold: float = param(0.8, low=0.6, high=0.95, doc="Scale up above this utilisation")
    down_threshold: float = param(0.3, low=0.05, high=0.5, doc="Scale down below this utilisation")


@dataclass(eq=False, kw_only=True)
class _Cooldown(Tunable):
    cooldown: float = param(300.0, low=30.0, high=1800.0,
                            doc="Seconds after a change takes effect before the node may change again")


@dataclass(eq=False, kw_only=True)
class ThresholdScaling(Autoscaler, _Cooldown, _Thresholds):
    """Threshold scaling with 5-/15-minute confirmations (see the module docstring)."""

    name = "threshold"
    UP_WINDOW, DOWN_WINDOW = 300.0, 900.0

    up_factor: float = param(1.5, low=1.1, high=2.0, doc="Capacity multiplier on scale-up")
    down_factor: float = param(0.7, low=0.1, high=0.9, doc="Capacity multiplier on scale-down")
    up_confirm: float = param(0.9, low=0.8, high=1.0, doc="5-min average must exceed up_confirm × up")
    down_confirm: float = param(1.1, low=1.0, high=1.3, doc="15-min average must be below down_confirm × down")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.down_threshold < self.up_threshold:
            raise ValueError(f"{self.name}: down_threshold must be < up_threshold")

    def decide(self, now: float, history: UtilisationHistory) -> int | None:
        util = history.current
        if util is None:
            return None
        if util > self.up_threshold:
            avg = history.average(now, self.UP_WINDOW)
            if avg is not None and avg > self.up_confirm * self.up_threshold:
                self._reason = f"threshold-up util={util:.3f} avg5={avg:.3f}"
                return _up(history.capacity, self.up_factor)
        elif util < self.down_threshold:
            avg = history.average(now, self.DOWN_WINDOW)
            if avg is not None and avg < self.down_confirm * self.down_threshold:
                self._reason = f"threshold-down util={util:.3f} avg15={avg:.3f}"
                return _down(history.capacity, self.down_factor)
        return None


def ols_predict(samples: Sequence[tuple[float, float]], now: float, ahead: float) -> float:
    """The seed's least-squares prediction: x = time − now, y = utilisation; value of
    the fitted line at x = ``ahead`` (the mean if all x are equal), clamped to [0, 1]."""
    n = len(samples)
    xs = [t - now for t, _ in samples]
    ys = [u for _, u in samples]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx < 1e-12:
        value = my
    else:
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
        value = slope * ahead + (my - slope * mx)
    return min(1.0, max(0.0, value))


@dataclass(eq=False, kw_only=True)
class PredictiveScaling(Autoscaler, _Cooldown, _Thresholds):
    """Least-squares trend prediction (see the module docstring)."""

    name = "predictive"

    history_window: float = param(300.0, low=60.0, high=1800.0, doc="Seconds of history fitted")
    prediction_window: float = param(60.0, low=10.0, high=600.0, doc="Seconds ahead predicted")
    target_utilisation: float = param(0.6, low=0.3, high=0.9,
                                      doc="Utilisation the new capacity aims at for the predicted load")
    min_samples: int = param(3, low=3, high=30, doc="Fewest samples to predict from")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.down_threshold < self.target_utilisation < self.up_threshold:
            raise ValueError(f"{self.name}: need down_threshold < target_utilisation < up_threshold")

    def predict(self, now: float, history: UtilisationHistory) -> float | None:
        """Predicted utilisation at ``now + prediction_window`` (None: too few samples)."""
        samples = history.window(now, self.history_window)
        if len(samples) < self.min_samples:
            return None
        return ols_predict(samples, now, self.prediction_window)

    def decide(self, now: float, history: UtilisationHistory) -> int | None:
        predicted = self.predict(now, history)
        if predicted is None:
            return None
        cap = history.capacity
        factor = predicted / self.target_utilisation
        if predicted > self.up_threshold:
            self._reason = f"predictive-up predicted={predicted:.3f}"
            return _up(cap, factor)
        if predicted < self.down_threshold:
            self._reason = f"predictive-down predicted={predicted:.3f}"
            return _down(cap, factor)
        return None


@dataclass(eq=False, kw_only=True)
class RightSizing(Autoscaler):
    """The seed's right-sizing rule over a 60 s average: < 0.3 → −20 %, > 0.8 → +30 %."""

    name = "right_sizing"

    low: float = param(0.3, low=0.1, high=0.5, doc="Shrink below this 60 s average")
    high: float = param(0.8, low=0.6, high=0.95, doc="Grow above this 60 s average")
    down_step: float = param(0.2, low=0.05, high=0.5, doc="Fraction removed")
    up_step: float = param(0.3, low=0.05, high=0.5, doc="Fraction added")
    window: float = param(60.0, low=10.0, high=900.0, doc="Averaging window, seconds")
    cooldown: float = param(60.0, low=30.0, high=1800.0,
                            doc="Seconds after a change takes effect before the node may change again")

    def decide(self, now: float, history: UtilisationHistory) -> int | None:
        avg = history.average(now, self.window)
        if avg is None:
            return None
        if avg < self.low:
            self._reason = f"right-size-down avg={avg:.3f}"
            return _down(history.capacity, 1.0 - self.down_step)
        if avg > self.high:
            self._reason = f"right-size-up avg={avg:.3f}"
            return _up(history.capacity, 1.0 + self.up_step)
        return None


#: Strategy name (as in YAML ``autoscaling.strategy``) → class.
AUTOSCALERS: dict[str, type[Autoscaler]] = {
    cls.name: cls for cls in (ThresholdScaling, PredictiveScaling, RightSizing)
}


def make_autoscaler(strategy: str, params: dict[str, Any] | None = None) -> Autoscaler:
    """The autoscaler called ``strategy`` with ``params`` (ValueError if unknown)."""
    if strategy not in AUTOSCALERS:
        raise ValueError(f"unknown autoscaling strategy {strategy!r}; allowed: {', '.join(AUTOSCALERS)}")
    return AUTOSCALERS[strategy](**(params or {}))
