"""Edge autonomy: the rules an edge node decides by, and what it falls back to (the
seed's part 2, "edge autonomous decision mechanism").

**Decision rules** (:class:`DecisionRule`) read a :class:`DecisionContext` (the edge
node's metrics, its recent events, its connectivity, the time) and say whether the node
may decide on its own: :class:`ThresholdRule`, :class:`PatternRule`,
:class:`PredictionRule` (the seed declares it without behaviour: here a moving-average
or EWMA predictor) and :class:`CompositeRule` (AND/OR of rules; the seed's
``CompositeCond``, also without behaviour).

**Fallback policies** (:class:`FallbackPolicy`) choose a
:class:`~wfsim.model.enums.FallbackAction` for a request the node may neither hand to
the cloud nor decide itself: :class:`CacheFallback` (the seed's
``CacheFallbackHandler``) and :class:`FixedFallback` (always one action, so each of the
six can be chosen).

Both kinds are registered by name (:data:`DECISION_RULES`, :data:`FALLBACK_POLICIES`)
for YAML and ``wfsim params``; :func:`rule_from_config` builds a rule from its YAML
form. The engine that applies them is :mod:`wfsim.engine.autonomy`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wfsim.model.enums import ConnectivityStatus, DecisionRuleType, FallbackAction
from wfsim.model.parameters import Tunable, param, validate_params

#: The metrics an edge node keeps in its context (what rules may name): the age of
#: its last heartbeat from the cloud (s), its utilisation (allocated cores /
#: capacity), its ready queue's length, and the tasks it holds deferred.
METRICS = ("heartbeat_age", "utilisation", "queue_length", "deferred")

#: The event types in a context's recent events: a change of connectivity to that
#: status, and a task of the site ending on the edge node.
EVENT_TYPES = (*(status.value for status in ConnectivityStatus), "task_end")

#: Comparisons a threshold rule makes (the seed's ``ThresholdComparison``); equality
#: is ``|value − threshold| < epsilon``.
COMPARISONS: dict[str, Callable[[float, float, float], bool]] = {
    "GreaterThan": lambda v, t, eps: v > t,
    "LessThan": lambda v, t, eps: v < t,
    "Equal": lambda v, t, eps: abs(v - t) < eps,
    "NotEqual": lambda v, t, eps: not abs(v - t) < eps,
}


@dataclass(frozen=True)
class EdgeEvent:
    """Something an edge node noticed (the seed's ``EdgeEvent``, without payload).

    Attributes:
        event_type: One of :data:`EVENT_TYPES`.
        timestamp: When, simulated seconds.
    """

    event_type: str
    timestamp: float


@dataclass
class DecisionContext:
    """What an edge node's rules see (the seed's ``DecisionContext``).

    Attributes:
        metrics: Current values by name (:data:`METRICS`; a rule naming one that is
            missing is false).
        events: Recent events, oldest first, at most ``events.maxlen`` (the seed
            keeps 100 and drops the oldest).
        connectivity: The node's connectivity to the cloud.
        now: Simulated time of the decision.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    events: deque[EdgeEvent] = field(default_factory=lambda: deque(maxlen=100))
    connectivity: ConnectivityStatus = ConnectivityStatus.CONNECTED
    now: float = 0.0

    def note(self, event_type: str, now: float) -> None:
        """Append an event (the oldest drops out when the buffer is full)."""
        self.events.append(EdgeEvent(event_type, now))


# --- decision rules ------------------------------------------------------------------
class DecisionRule(Tunable, ABC):
    """A condition under which an edge node may decide on its own (the seed's
    ``DecisionRule`` trait). Concrete rules are dataclasses declaring their
    parameters with :func:`~wfsim.model.parameters.param`."""

    rule_type: ClassVar[DecisionRuleType]

    @abstractmethod
    def evaluate(self, context: DecisionContext) -> bool:
        """Whether the rule holds in ``context``."""

    def observe(self, context: DecisionContext) -> None:
        """Called at every connectivity check with the node's context, so rules that
        learn (a predictor) can sample it; the default ignores it."""

    @property
    def description(self) -> str:
        """One line saying what the rule checks."""
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.params().items())})"


@dataclass(eq=False)
class ThresholdRule(DecisionRule):
    """A metric compared with a threshold (the seed's ``ThresholdRule``); a missing
    metric is false."""

    name = "threshold"
    rule_type = DecisionRuleType.THRESHOLD
    metric: str = param("utilisation", choices=METRICS, doc="the metric compared")
    threshold: float = param(0.8, doc="the value it is compared with")
    comparison: str = param("LessThan", choices=tuple(COMPARISONS), doc="how it is compared")
    epsilon: float = param(1e-9, low=0.0, doc="tolerance of Equal and NotEqual")

    def evaluate(self, context: DecisionContext) -> bool:
        value = context.metrics.get(self.metric)
        if value is None:
            return False
        return COMPARISONS[self.comparison](value, self.threshold, self.epsilon)


@dataclass(eq=False)
class PatternRule(DecisionRule):
    """Every event type of ``pattern`` occurred within the last ``window`` seconds
    (the seed's ``PatternRule``: unordered containment, not a sequence).

    Attributes:
        pattern: Event types (:data:`EVENT_TYPES`), at least one.
    """

    name = "pattern"
    rule_type = DecisionRuleType.PATTERN
    window: float = param(30.0, low=0.0, doc="how far back the events may be, seconds")
    pattern: tuple[str, ...] = (ConnectivityStatus.INTERMITTENT.value,)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.pattern = tuple(self.pattern)
        unknown = [e for e in self.pattern if e not in EVENT_TYPES]
        if unknown or not self.pattern:
            raise ValueError(f"pattern: events must be a non-empty list of {', '.join(EVENT_TYPES)}; "
                             f"got {list(self.pattern)!r}")

    def evaluate(self, context: DecisionContext) -> bool:
        since = context.now - self.window
        seen = {e.event_type for e in context.events if since <= e.timestamp <= context.now}
        return all(e in seen for e in self.pattern)


@dataclass(eq=False)
class PredictionRule(DecisionRule):
    """A predicted metric compared with a threshold: the prediction is the mean of
    the last ``samples`` values (``moving_average``) or their exponentially weighted
    average with weight ``alpha`` on the newest (``ewma``; the seed's 0.9/0.1 is
    ``alpha`` 0.1), sampled at every connectivity check. False before any sample or
    when the metric is missing."""

    name = "prediction"
    rule_type = DecisionRuleType.PREDICTION
    metric: str = param("heartbeat_age", choices=METRICS, doc="the metric predicted")
    threshold: float = param(5.0, doc="the value the prediction is compared with")
    comparison: str = param("GreaterThan", choices=tuple(COMPARISONS), doc="how it is compared")
    method: str = param("ewma", choices=("ewma", "moving_average"), doc="the predictor")
    alpha: float = param(0.1, low=0.01, high=1.0, doc="ewma: weight of the newest sample")
    samples: int = param(10, low=1, high=1000, doc="moving_average: samples averaged")
    epsilon: float = param(1e-9, low=0.0, doc="tolerance of Equal and NotEqual")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._recent: deque[float] = deque(maxlen=self.samples)
        self._ewma: float | None = None

    @property
    def prediction(self) -> float | None:
        """The predicted value (None before the first sample)."""
        if self.method == "ewma":
            return self._ewma
        return sum(self._recent) / len(self._recent) if self._recent else None

    def observe(self, context: DecisionContext) -> None:
        value = context.metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self._recent.append(value)
        self._ewma = value if self._ewma is None else self.alpha * value + (1 - self.alpha) * self._ewma

    def evaluate(self, context: DecisionContext) -> bool:
        predicted = self.prediction
        if predicted is None or self.metric not in context.metrics:
            return False
        return COMPARISONS[self.comparison](predicted, self.threshold, self.epsilon)


@dataclass(eq=False)
class CompositeRule(DecisionRule):
    """All (``and``) or any (``or``) of ``rules``; an empty ``and`` holds, an empty
    ``or`` does not.

    Attributes:
        rules: The rules combined.
    """

    name = "composite"
    rule_type = DecisionRuleType.COMPOSITE
    op: str = param("and", choices=("and", "or"), doc="how the rules combine")
    rules: tuple[DecisionRule, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rules = tuple(self.rules)

    def evaluate(self, context: DecisionContext) -> bool:
        if self.op == "and":
            return all(rule.evaluate(context) for rule in self.rules)
        return any(rule.evaluate(context) for rule in self.rules)

    def observe(self, context: DecisionContext) -> None:
        for rule in self.rules:
            rule.observe(context)


#: Rule name (YAML ``autonomy.rules[].rule``) → class.
DECISION_RULES: dict[str, type[DecisionRule]] = {
    cls.name: cls for cls in (ThresholdRule, PatternRule, PredictionRule, CompositeRule)
}


class RuleConfigError(ValueError):
    """A rule's YAML form is wrong: :attr:`field` names where, :attr:`reason` what is allowed."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def rule_from_config(data: Any, where: str = "rule") -> DecisionRule:
    """A rule from its YAML form: ``{rule: NAME, params: {...}}``, plus ``pattern:
    [event types]`` for a pattern rule and ``rules: [...]`` for a composite one.

    Example:
        >>> rule = rule_from_config({"rule": "composite", "params": {"op": "or"}, "rules": [
        ...     {"rule": "pattern", "pattern": ["Degraded", "Intermittent"]}]})
        >>> [r.pattern for r in rule.rules]
        [('Degraded', 'Intermittent')]

    Raises:
        RuleConfigError: Naming the field (under ``where``) and what is allowed.
    """
    if not isinstance(data, Mapping) or "rule" not in data:
        raise RuleConfigError(where, f"must be a mapping with 'rule' (one of {', '.join(DECISION_RULES)}), "
                              f"got {data!r}")
    name = data["rule"]
    cls = DECISION_RULES.get(name)
    if cls is None:
        raise RuleConfigError(f"{where}.rule", f"unknown rule {name!r}; allowed: {', '.join(DECISION_RULES)}")
    extra = {"pattern": PatternRule, "rules": CompositeRule}
    allowed = ["rule", "params", *(k for k, c in extra.items() if c is cls)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RuleConfigError(where, f"unknown field(s) {', '.join(unknown)} for rule {name!r}; "
                              f"allowed: {', '.join(allowed)}")
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise RuleConfigError(f"{where}.params", f"must be a mapping, got {params!r}")
    try:
        kwargs: dict[str, Any] = validate_params(name, cls.parameters, params)
    except ValueError as exc:
        raise RuleConfigError(f"{where}.params", str(exc)) from None
    if cls is CompositeRule:
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            raise RuleConfigError(f"{where}.rules", f"must be a list of rules, got {rules!r}")
        kwargs["rules"] = tuple(rule_from_config(r, f"{where}.rules[{i}]") for i, r in enumerate(rules))
    if cls is PatternRule and "pattern" in data:
        pattern = data["pattern"]
        if not isinstance(pattern, list) or not pattern or not all(e in EVENT_TYPES for e in pattern):
            raise RuleConfigError(f"{where}.pattern", f"must be a non-empty list of {', '.join(EVENT_TYPES)}; "
                                  f"got {pattern!r}")
        kwargs["pattern"] = tuple(pattern)
    return cls(**kwargs)


# --- fallback policies -----------------------------------------------------------------
@dataclass(frozen=True)
class FallbackRequest:
    """A task an edge node must act on without the cloud.

    Attributes:
        workflow: The workflow definition's name.
        task: The task's id.
        cached_age: Age of the freshest cached result of this task the node holds
            that is no older than the maximum cache age, seconds; None: none fresh.
    """

    workflow: str
    task: str
    cached_age: float | None = None


class FallbackPolicy(Tunable, ABC):
    """Chooses what an edge node does with a request it can neither hand to the cloud
    nor decide itself (the seed's ``FallbackHandler``)."""

    @abstractmethod
    def choose(self, request: FallbackRequest, context: DecisionContext) -> FallbackAction:
        """The action for ``request``."""


@dataclass(eq=False)
class CacheFallback(FallbackPolicy):
    """The seed's ``CacheFallbackHandler``: a fresh cached result → ``UseCache``; else,
    while ``Intermittent``, ``Retry``; else ``ExecuteLocal``."""

    name = "cache"

    def choose(self, request: FallbackRequest, context: DecisionContext) -> FallbackAction:
        if request.cached_age is not None:
            return FallbackAction.USE_CACHE
        if context.connectivity is ConnectivityStatus.INTERMITTENT:
            return FallbackAction.RETRY
        return FallbackAction.EXECUTE_LOCAL


@dataclass(eq=False)
class FixedFallback(FallbackPolicy):
    """Always the same action (``UseCache`` without a fresh cached result executes
    locally instead)."""

    name = "fixed"
    action: str = param(FallbackAction.DEFER.value, choices=tuple(a.value for a in FallbackAction),
                        doc="the action taken")

    def choose(self, request: FallbackRequest, context: DecisionContext) -> FallbackAction:
        return FallbackAction(self.action)


#: Fallback policy name (YAML ``autonomy.fallback.policy``) → class.
FALLBACK_POLICIES: dict[str, type[FallbackPolicy]] = {cls.name: cls for cls in (CacheFallback, FixedFallback)}
