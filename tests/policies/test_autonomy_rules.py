"""Edge decision rules and fallback policies (wfsim.policies.autonomy), against the
seed's definitions: threshold comparisons with an epsilon, unordered pattern
containment in a window, a moving-average/EWMA predictor, AND/OR composition, the
cache fallback handler's three-way choice, and their YAML form."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.model.enums import ConnectivityStatus, DecisionRuleType, FallbackAction
from wfsim.policies.autonomy import (
    DECISION_RULES,
    EVENT_TYPES,
    FALLBACK_POLICIES,
    CacheFallback,
    CompositeRule,
    DecisionContext,
    FallbackRequest,
    FixedFallback,
    PatternRule,
    PredictionRule,
    RuleConfigError,
    ThresholdRule,
    rule_from_config,
)
from wfsim.policies.registry import DECISION_RULES as REGISTERED_RULES
from wfsim.policies.registry import FALLBACK_POLICIES as REGISTERED_FALLBACKS

from test_conformance import _inside, _outside


def context(now: float = 0.0, status: ConnectivityStatus = ConnectivityStatus.CONNECTED,
            **metrics: float) -> DecisionContext:
    return DecisionContext(metrics=dict(metrics), connectivity=status, now=now)


# --- threshold -------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(value=st.floats(-1e6, 1e6), threshold=st.floats(-1e6, 1e6))
def test_threshold_comparisons_are_the_seeds(value: float, threshold: float) -> None:
    ctx = context(utilisation=value)
    expected = {"GreaterThan": value > threshold, "LessThan": value < threshold,
                "Equal": abs(value - threshold) < 1e-9, "NotEqual": not abs(value - threshold) < 1e-9}
    for comparison, truth in expected.items():
        rule = ThresholdRule(metric="utilisation", threshold=threshold, comparison=comparison)
        assert rule.evaluate(ctx) is truth, comparison


def test_threshold_equality_uses_the_epsilon_and_a_missing_metric_is_false() -> None:
    equal = ThresholdRule(metric="queue_length", threshold=3.0, comparison="Equal", epsilon=0.1)
    assert equal.evaluate(context(queue_length=3.05))
    assert not equal.evaluate(context(queue_length=3.2))
    assert not ThresholdRule(metric="queue_length", comparison="NotEqual").evaluate(context(utilisation=1.0))
    assert ThresholdRule.rule_type is DecisionRuleType.THRESHOLD


# --- pattern ---------------------------------------------------------------------------
def test_pattern_is_unordered_containment_within_the_window() -> None:
    ctx = context(now=100.0)
    for kind, t in (("Intermittent", 60.0), ("Degraded", 80.0), ("task_end", 95.0)):
        ctx.note(kind, t)
    both = PatternRule(window=30.0, pattern=("task_end", "Degraded"))  # order reversed: still holds
    assert both.evaluate(ctx)
    assert not PatternRule(window=30.0, pattern=("Degraded", "Intermittent")).evaluate(ctx)  # 40 s ago
    assert PatternRule(window=40.0, pattern=("Degraded", "Intermittent")).evaluate(ctx)
    assert not PatternRule(window=1000.0, pattern=("Disconnected",)).evaluate(ctx)


def test_the_event_buffer_drops_the_oldest() -> None:
    ctx = DecisionContext(events=deque(maxlen=100), now=200.0)
    ctx.note("Disconnected", 199.0)
    for t in range(100):
        ctx.note("task_end", 199.5 + t * 1e-3)
    assert len(ctx.events) == 100
    assert not PatternRule(window=10.0, pattern=("Disconnected",)).evaluate(ctx)


def test_a_pattern_names_known_event_types() -> None:
    with pytest.raises(ValueError, match="non-empty list of Connected"):
        PatternRule(pattern=("Offline",))
    with pytest.raises(ValueError, match="non-empty"):
        PatternRule(pattern=())
    assert set(EVENT_TYPES) >= {s.value for s in ConnectivityStatus}


# --- prediction ------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(samples=st.lists(st.floats(0, 100), min_size=1, max_size=30), alpha=st.floats(0.01, 1.0))
def test_prediction_is_the_ewma_or_moving_average_of_the_samples(samples: list[float], alpha: float) -> None:
    ewma = PredictionRule(metric="queue_length", method="ewma", alpha=alpha, threshold=50.0)
    mean = PredictionRule(metric="queue_length", method="moving_average", samples=5, threshold=50.0)
    expected = samples[0]
    for value in samples:
        for rule in (ewma, mean):
            rule.observe(context(queue_length=value))
    for value in samples[1:]:
        expected = alpha * value + (1 - alpha) * expected
    assert ewma.prediction == pytest.approx(expected)
    assert mean.prediction == pytest.approx(sum(samples[-5:]) / len(samples[-5:]))
    assert ewma.evaluate(context(queue_length=0.0)) is (ewma.prediction > 50.0)


def test_prediction_is_false_before_any_sample_or_without_the_metric() -> None:
    rule = PredictionRule(metric="heartbeat_age", threshold=-1.0)
    assert not rule.evaluate(context(heartbeat_age=5.0))
    rule.observe(context(utilisation=1.0))  # another metric: no sample
    assert rule.prediction is None
    rule.observe(context(heartbeat_age=5.0))
    assert rule.evaluate(context(heartbeat_age=5.0))
    assert not rule.evaluate(context())


# --- composite -------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), [(False, False), (False, True), (True, False), (True, True)])
def test_composite_is_and_or_of_its_rules(a: bool, b: bool) -> None:
    ctx = context(utilisation=0.5)
    rules = (ThresholdRule(metric="utilisation", threshold=0.0 if a else 1.0, comparison="GreaterThan"),
             ThresholdRule(metric="utilisation", threshold=1.0 if b else 0.0, comparison="LessThan"))
    assert CompositeRule(op="and", rules=rules).evaluate(ctx) is (a and b)
    assert CompositeRule(op="or", rules=rules).evaluate(ctx) is (a or b)
    assert CompositeRule(op="and").evaluate(ctx) and not CompositeRule(op="or").evaluate(ctx)


def test_composite_passes_samples_to_its_predictors() -> None:
    inner = PredictionRule(metric="utilisation", method="moving_average", threshold=0.5)
    rule = CompositeRule(op="or", rules=(CompositeRule(rules=(inner,)),))
    rule.observe(context(utilisation=0.75))
    assert inner.prediction == 0.75 and rule.evaluate(context(utilisation=0.0))


# --- fallbacks -------------------------------------------------------------------------
@pytest.mark.parametrize("status", list(ConnectivityStatus))
@pytest.mark.parametrize("cached", [None, 3.0])
def test_cache_fallback_is_the_seeds_handler(status: ConnectivityStatus, cached: float | None) -> None:
    chosen = CacheFallback().choose(FallbackRequest("w", "t", cached), context(status=status))
    if cached is not None:
        assert chosen is FallbackAction.USE_CACHE
    elif status is ConnectivityStatus.INTERMITTENT:
        assert chosen is FallbackAction.RETRY
    else:
        assert chosen is FallbackAction.EXECUTE_LOCAL


def test_fixed_fallback_offers_every_action() -> None:
    request = FallbackRequest("w", "t", None)
    assert [FixedFallback(action=a.value).choose(request, context()) for a in FallbackAction] == list(FallbackAction)
    with pytest.raises(ValueError, match="action must be one of Retry"):
        FixedFallback(action="Guess")


# --- registry and YAML form ----------------------------------------------------------------
def test_registries_name_every_rule_and_fallback() -> None:
    assert REGISTERED_RULES is DECISION_RULES and REGISTERED_FALLBACKS is FALLBACK_POLICIES
    assert {cls.rule_type for cls in DECISION_RULES.values()} == set(DecisionRuleType)
    for cls in (*DECISION_RULES.values(), *FALLBACK_POLICIES.values()):
        made = cls()
        assert made.params() == {p.name: p.default for p in cls.parameters}
        assert all(p.doc for p in cls.parameters)


def test_rule_from_config_builds_nested_rules() -> None:
    rule = rule_from_config({"rule": "composite", "params": {"op": "or"}, "rules": [
        {"rule": "threshold", "params": {"metric": "deferred", "threshold": 2.0, "comparison": "GreaterThan"}},
        {"rule": "pattern", "params": {"window": 5.0}, "pattern": ["Degraded"]},
        {"rule": "prediction", "params": {"method": "moving_average", "samples": 3}}]})
    assert isinstance(rule, CompositeRule) and rule.op == "or"
    threshold, pattern, prediction = rule.rules
    assert isinstance(threshold, ThresholdRule) and threshold.metric == "deferred"
    assert isinstance(pattern, PatternRule) and pattern.pattern == ("Degraded",) and pattern.window == 5.0
    assert isinstance(prediction, PredictionRule) and prediction.samples == 3


@pytest.mark.parametrize(("data", "field", "says"), [
    ({"rule": "nope"}, "r.rule", "allowed: threshold, pattern, prediction, composite"),
    ("threshold", "r", "must be a mapping with 'rule'"),
    ({"rule": "threshold", "pattern": ["Degraded"]}, "r", "allowed: rule, params"),
    ({"rule": "threshold", "params": {"metric": "cpu"}}, "r.params", "metric must be one of heartbeat_age"),
    ({"rule": "prediction", "params": {"alpha": 2.0}}, "r.params", "alpha must be in [0.01, 1.0]"),
    ({"rule": "pattern", "pattern": "Degraded"}, "r.pattern", "non-empty list of Connected"),
    ({"rule": "composite", "rules": [{"rule": "threshold", "params": {"x": 1}}]}, "r.rules[0].params",
     "unknown parameter(s) x"),
])
def test_rule_config_errors_name_the_field_and_the_allowed_values(data: object, field: str, says: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        rule_from_config(data, "r")
    assert caught.value.field == field and says in caught.value.reason


@pytest.mark.parametrize("cls", [*DECISION_RULES.values(), *FALLBACK_POLICIES.values()], ids=lambda c: c.name)
def test_declared_ranges_are_what_python_and_yaml_accept(cls: type) -> None:
    def python(params: dict) -> bool:
        try:
            cls(**params)
        except ValueError:
            return False
        return True

    def yaml(params: dict) -> bool:
        try:
            if cls in FALLBACK_POLICIES.values():
                cls.from_params(params)  # type: ignore[attr-defined]
            else:
                rule_from_config({"rule": cls.name, "params": params})  # type: ignore[attr-defined]
        except ValueError:
            return False
        return True

    for p in cls.parameters:  # type: ignore[attr-defined]
        for choice in p.choices or ():
            assert getattr(cls(**{p.name: choice}), p.name) == choice
        for value in _inside(p):
            assert python({p.name: value}) and yaml({p.name: value}), (p.name, value)
        for value in _outside(p):
            assert not python({p.name: value}) and not yaml({p.name: value}), (p.name, value)
