"""Every strategy declares its parameters once (wfsim.model.parameters): Python
construction accepts exactly what YAML accepts, the load-balancing rules are classes one
can find by name, and the engine's objects have what wfsim.policies.views promises
(tests/test_architecture.py keeps wfsim.policies from importing wfsim.engine)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from wfsim import Poisson, Simulation, Workload, chain, hierarchical
from wfsim.engine.executor import WorkflowRun
from wfsim.model.parameters import Parameter, validate_params
from wfsim.policies import load_balancing, views
from wfsim.policies.execution_modes import AdaptiveFlow, EdgeOnly, HybridDynamic, HybridExecution, HybridStatic
from wfsim.policies.load_aware import LoadAware
from wfsim.policies.load_balancing import LB_STRATEGIES, LBResponseTime, LoadBalancer
from wfsim.policies.registry import AUTOSCALERS, PLACEMENT_STRATEGIES, SCHEDULING_POLICIES

REGISTERED: dict[str, type] = {
    **{f"placement/{n}": c for n, c in PLACEMENT_STRATEGIES.items()},
    **{f"scheduling/{n}": c for n, c in SCHEDULING_POLICIES.items()},
    **{f"autoscaling/{n}": c for n, c in AUTOSCALERS.items()},
}


def bad_values(p: Parameter) -> list[Any]:
    """Values YAML refuses for ``p``."""
    if p.kind == "bool":
        return ["yes", 1]
    if p.kind == "categorical":
        return ["no-such-choice"]
    out: list[Any] = ["many", None]
    if p.low is not None:
        out.append(p.low - 1)
    if p.high is not None:
        out.append(p.high + 1)
    if p.kind == "int":
        out.append(p.default + 0.5)
    return out


CASES = [(key, p.name, value) for key, cls in REGISTERED.items() for p in cls.parameters
         for value in bad_values(p)]


@pytest.mark.parametrize("key, name, value", CASES, ids=[f"{k}.{n}={v!r}" for k, n, v in CASES])
def test_python_refuses_what_yaml_refuses_with_the_same_message(key: str, name: str, value: Any) -> None:
    cls = REGISTERED[key]
    with pytest.raises(ValueError) as yaml:
        validate_params(cls.name, cls.parameters, {name: value})
    with pytest.raises(ValueError) as python:
        cls(**{name: value})
    assert str(python.value) == str(yaml.value)



def test_load_balancer_alpha_is_capped_from_python_too() -> None:
    """The declaration says [0.01, 0.5]; the constructor used to accept up to 1."""
    for cls in (LoadBalancer, LBResponseTime):
        with pytest.raises(ValueError, match=r"alpha must be in \[0.01, 0.5\], got 0.9"):
            cls(alpha=0.9)
    assert LoadBalancer("response_time", alpha=0.5).alpha == 0.5


def test_autoscalers_refuse_unknown_names_like_yaml() -> None:
    for name, cls in AUTOSCALERS.items():
        with pytest.raises(ValueError) as yaml:
            validate_params(name, cls.parameters, {"nope": 1})
        with pytest.raises(ValueError) as python:
            cls(nope=1)
        assert str(python.value) == str(yaml.value)


def test_load_balancing_rules_are_explicit_classes_found_by_name() -> None:
    source = Path(load_balancing.__file__).read_text()
    affinity = {"session_affinity", "sticky_session_timeout", "session_key"}
    own = {"consistent_hashing": {"virtual_nodes", "hash_finalizer"}, "response_time": {"alpha"},
           "adaptive": {"w_cpu", "w_memory", "w_io", "w_network"}}
    for rule in LB_STRATEGIES:
        cls = PLACEMENT_STRATEGIES[f"lb_{rule}"]
        assert f"\nclass {cls.__name__}(" in source
        assert getattr(load_balancing, cls.__name__) is cls
        assert inspect.getsource(cls).startswith("@dataclass")
        assert cls.strategy == rule and cls().strategy == rule
        assert {p.name for p in cls.parameters} == affinity | own.get(rule, set())
    assert {p.name for p in LoadBalancer.parameters} == (
        {"strategy"} | affinity | set().union(*own.values()))


def test_each_mode_accepts_only_its_own_parameters() -> None:
    assert [p.name for p in EdgeOnly.parameters] == ["edge_tiers"]
    assert HybridStatic.parameters == ()
    data_aware = [p.name for p in HybridDynamic.parameters]
    migration = ["slowdown_factor", "failure_threshold", "recent_samples", "min_samples", "cooloff"]
    assert [p.name for p in AdaptiveFlow.parameters] == data_aware + migration
    assert [p.name for p in HybridExecution.parameters] == ["mode", "edge_tiers", *data_aware, *migration]
    with pytest.raises(TypeError):
        HybridStatic(edge_tiers="edge")
    with pytest.raises(TypeError):
        EdgeOnly(latency_weight=0.5)
    # The mode is one of the declared choices, from Python as from YAML.
    with pytest.raises(ValueError, match="mode must be one of"):
        HybridExecution("cloud_only")


def members(protocol: type) -> set[str]:
    """The public members a Protocol of wfsim.policies.views declares (with its bases there)."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass.__module__ == views.__name__:
            names |= {n for n in (*vars(klass), *getattr(klass, "__annotations__", {})) if not n.startswith("_")}
    return names


def test_engine_objects_have_what_the_views_promise() -> None:
    sim = Simulation(hierarchical(devices=2, edge=1, regional=0), [Workload("w", chain(2), Poisson(1.0))],
                     duration=2, seed=1)
    sim.run()
    node = sim.nodes[0]
    run = WorkflowRun(0, chain(2), "w", 0, 0.0, None)
    assert {"index", "capacity", "resize", "target"} <= members(views.ScalableNodeView)
    for obj, protocol in ((sim.cluster, views.ClusterView), (node, views.ScalableNodeView),
                          (sim.network, views.NetworkView), (run, views.RunView), (node.queue, views.QueueView),
                          (sim.env, views.Clock)):
        missing = {m for m in members(protocol) if not hasattr(obj, m)}
        assert not missing, (protocol.__name__, missing)


def test_load_aware_evaluator_is_bound_by_the_simulation() -> None:
    topo = hierarchical(devices=2, edge=1, regional=0)
    plain = Simulation(topo, [], duration=1)
    assert plain.load_aware is None
    sim = Simulation(topo, [], scheduling=LoadAware, duration=1)
    assert sim.load_aware is not None
    assert all(n.queue.evaluator is sim.load_aware for n in sim.nodes)
    assert sim.load_aware.members == [n.queue for n in sim.nodes]
    # Two simulations never share an evaluator.
    assert Simulation(topo, [], scheduling=LoadAware, duration=1).load_aware is not sim.load_aware
