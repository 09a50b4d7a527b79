"""The conformance suite: every registered strategy through the same checks.

Registering a strategy (a name in :mod:`wfsim.policies.registry`) enrols it here: it
must construct with its defaults and with every categorical choice; its declared
ranges must be exactly what Python and a YAML config accept; it must complete every
workflow of a mixed workload on a small continuum and honour location requirements;
the same object reused must give the same trace; every random draw must come from the
run's named streams (so another run seed changes it); and the whole property catalog
must hold on its run. A consistency strategy runs the same continuum with replicated
state: two state clients beside the workflows, at the levels it chooses.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
from typing import Any

import numpy as np
import pytest

from wfsim import Periodic, Simulation, Tier, Workload, chain, hierarchical
from wfsim.consistency.settings import ConsistencySettings
from wfsim.engine.autoscaling import AutoscalingSettings
from wfsim.engine.randomness import RandomStreams
from wfsim.experiments.building import build_simulation
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import validate_config
from wfsim.model.parameters import Parameter
from wfsim.policies.registry import AUTOSCALERS, CONSISTENCY_STRATEGIES, PLACEMENT_STRATEGIES, SCHEDULING_POLICIES
from wfsim.trace.trace import Trace
from wfsim.verify.catalog import check_catalog

from sim_support import continuum_run

REGISTRIES = {"placement": PLACEMENT_STRATEGIES, "scheduling": SCHEDULING_POLICIES, "autoscaling": AUTOSCALERS,
              "consistency": CONSISTENCY_STRATEGIES}
ALL = [pytest.param(axis, name, id=f"{axis}:{name}") for axis, registry in REGISTRIES.items() for name in registry]


def run(axis: str, strategy: Any, seed: int = 3, duration: float = 20.0):
    """The mixed continuum run of :func:`continuum_run` with ``strategy`` on its axis
    (the other axes at their defaults)."""
    if axis == "placement":
        return continuum_run(strategy, seed=seed, duration=duration)
    if axis == "scheduling":
        return continuum_run(None, seed=seed, duration=duration, scheduling=strategy)
    if axis == "consistency":
        return continuum_run(None, seed=seed, duration=duration, consistency=stateful(strategy))
    settings = AutoscalingSettings(strategy, interval=2.0, provisioning={"EdgeCloud": 1.0})
    return continuum_run(None, seed=seed, duration=duration, autoscaling=settings)


def stateful(strategy: Any) -> ConsistencySettings:
    """Replicated state with ``strategy`` and two state clients issuing operations."""
    return ConsistencySettings(strategy=strategy, clients=2, client_rate=1.0)


def make(axis: str, name: str, **params: Any) -> Any:
    """The strategy object (scheduling: a factory of per-node queues)."""
    cls = REGISTRIES[axis][name]
    if axis == "scheduling":
        cls(**params)  # construct once, so bad values fail here
        return lambda: cls(**params)
    return cls(**params)


def digest(trace: Trace) -> str:
    h = hashlib.sha256()
    for table in ("task_events", "workflow_events", "transfers", "migrations", "allocations", "states", "operations"):
        frame = getattr(trace, table)
        h.update(frame.to_csv(index=False).encode())
    return h.hexdigest()


# --- construction -----------------------------------------------------------------------
@pytest.mark.parametrize("axis, name", ALL)
def test_constructs_with_defaults_and_every_categorical_choice(axis: str, name: str) -> None:
    cls = REGISTRIES[axis][name]
    made = cls()
    assert {p.name: getattr(made, p.name) for p in cls.parameters} == {p.name: p.default for p in cls.parameters}
    assert all(p.doc for p in cls.parameters), "every parameter says what it does"
    for p in cls.parameters:
        for choice in p.choices or ():
            assert getattr(cls(**{p.name: choice}), p.name) == choice


def _outside(p: Parameter) -> list[Any]:
    """Values just outside the declared range (and of the wrong type)."""
    if p.kind == "bool":
        return [1, "true", None]
    if p.kind == "categorical":
        return ["no-such-choice", None]
    out: list[Any] = ["1", None, True]
    step = 1 if p.kind == "int" else None
    if p.low is not None:
        out.append(p.low - step if step else math.nextafter(p.low, -math.inf))
    if p.high is not None:
        out.append(p.high + step if step else math.nextafter(p.high, math.inf))
    if p.kind == "int":
        out.append((p.low if p.low is not None else p.default) + 0.5)
    return out


def _inside(p: Parameter) -> list[Any]:
    if p.kind == "bool":
        return [True, False]
    if p.kind == "categorical":
        return list(p.choices or ())
    return [v for v in (p.low, p.high, p.default) if v is not None]


def _python_accepts(axis: str, name: str, params: dict[str, Any]) -> bool:
    try:
        make(axis, name, **params)
    except ValueError:
        return False
    return True


def _yaml_accepts(axis: str, name: str, params: dict[str, Any]) -> bool:
    section = {"strategy": name, "params": params}
    data: dict[str, Any] = {"seed": 1, "duration": 1,
                            "topology": {"hierarchical": {"devices": 2, "edge": 1, "regional": 1}},
                            "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2},
                                           "arrivals": {"process": "poisson", "rate": 1.0}}]}
    data[axis] = {"strategy": {"name": name, "params": params}} if axis == "consistency" else section
    try:
        build_simulation(validate_config(data, "conformance.yaml"), source="conformance.yaml")
    except ConfigError as exc:
        assert f": {axis}." in str(exc), exc  # refused for the strategy's sake, nothing else
        return False
    return True


@pytest.mark.parametrize("axis, name", ALL)
def test_declared_ranges_are_what_python_and_yaml_accept(axis: str, name: str) -> None:
    for p in REGISTRIES[axis][name].parameters:
        for value in _inside(p):
            python = _python_accepts(axis, name, {p.name: value})
            assert python == _yaml_accepts(axis, name, {p.name: value}), (p.name, value)
        assert _python_accepts(axis, name, {p.name: p.default}), p.name
        for value in _outside(p):
            assert not _python_accepts(axis, name, {p.name: value}), (p.name, value)
            assert not _yaml_accepts(axis, name, {p.name: value}), (p.name, value)


# --- behaviour on a run -------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], Any]:
    """One run per registered strategy, with the strategy object kept for reuse."""
    return {}


def _first_run(runs: dict, axis: str, name: str) -> tuple[Any, Any]:
    if (axis, name) not in runs:
        strategy = make(axis, name)
        runs[axis, name] = strategy, run(axis, strategy)
    return runs[axis, name]


#: Where each task of MIXED may run: its location requirement (a preference is no
#: requirement: a strategy may rank PreferredOrder tiers its own way).
REQUIRED = {"sense": {Tier.LOCAL_DEVICE}, "filter": {Tier.EDGE_CLOUD}, "model": {Tier.REGIONAL_CLOUD, Tier.CLOUD},
            "alert": {Tier.EDGE_CLOUD, Tier.CLOUD}, "store": set(Tier)}


@pytest.mark.parametrize("axis, name", ALL)
def test_completes_every_workflow_and_honours_locations(runs, axis: str, name: str) -> None:
    """Every workflow completes, except that a strategy placing on some tiers only (its
    ``scope``) fails a task whose requirement excludes them all, with that reason;
    every task runs where its requirement allows, a device's on its own device."""
    strategy, result = _first_run(runs, axis, name)
    scope = strategy.scope() if axis == "placement" else None
    wf = result.trace.workflow_summary()
    assert len(wf) > 10 and wf["state"].isin(["Completed", "Failed"]).all()
    excluded = {task for task, tiers in REQUIRED.items() if scope is not None and not tiers & scope}
    refused = {f"no feasible node for task {task!r}" for task in excluded}
    assert set(wf.loc[wf["state"] == "Failed", "reason"].astype(str)) <= refused
    if not excluded:
        assert (wf["state"] == "Completed").all()
    ex = result.trace.executions().dropna(subset=["node"])
    mixed = ex[ex["workflow"].isin(result.trace.workflows.query("workload == 'mixed'")["workflow"])]
    for task, tier in zip(mixed["task"].astype(str), mixed["tier"].astype(str)):
        assert Tier(tier) in REQUIRED[task], (task, tier)
    origins = result.trace.workflows.set_index("workflow")["origin"].astype(str)
    sense = mixed[mixed["task"].astype(str) == "sense"]
    assert (sense["node"].astype(str).values == origins.loc[sense["workflow"]].values).all()


@pytest.mark.parametrize("axis, name", ALL)
def test_the_same_object_reused_gives_the_same_trace(runs, axis: str, name: str) -> None:
    strategy, result = _first_run(runs, axis, name)
    assert digest(run(axis, strategy).trace) == digest(result.trace)


@pytest.mark.parametrize("axis, name", ALL)
def test_the_whole_catalog_holds_on_its_run(runs, axis: str, name: str) -> None:
    _, result = _first_run(runs, axis, name)
    broken = [(v.name, v.counterexamples[:1]) for v in check_catalog(result.trace) if v.verdict == "false"]
    assert not broken


@pytest.mark.parametrize("axis, name", ALL)
def test_every_random_draw_comes_from_the_run_seed(monkeypatch, axis: str, name: str) -> None:
    """No generator but the run's named streams is made or drawn from while the
    strategy is built and run; so on arrivals that do not depend on the seed, the
    trace changes with the run seed exactly when the strategy drew from a stream."""
    topology = hierarchical(devices=4, edge=2, regional=1)
    workloads = [Workload("w", chain(3, work=5e8), Periodic(0.5))]
    foreign: list[str] = []

    def recorded(module: Any, attribute: str) -> None:
        original = getattr(module, attribute)

        def spy(*args: Any, **kwargs: Any) -> Any:
            foreign.append(f"{getattr(module, '__qualname__', module.__name__)}.{attribute}")
            return original(*args, **kwargs)
        monkeypatch.setattr(module, attribute, spy)

    for attribute in ("default_rng", "seed", "random", "rand", "choice", "shuffle", "permutation"):
        recorded(np.random, attribute)
    for attribute in ("random", "uniform", "choice", "choices", "shuffle", "randint", "seed", "sample"):
        recorded(random, attribute)
    recorded(random.Random, "__init__")  # a private generator, e.g. random.Random(42)

    def traced(seed: int) -> tuple[str, set[str]]:
        kwargs: dict[str, Any] = {"duration": 10.0, "seed": seed}
        strategy = make(axis, name)
        if axis == "placement":
            kwargs["placement"] = strategy
        elif axis == "scheduling":
            kwargs["scheduling"] = strategy
        elif axis == "consistency":
            kwargs["consistency"] = stateful(strategy)
        else:
            kwargs["autoscaling"] = AutoscalingSettings(strategy, interval=2.0)
        sim = Simulation(topology, copy.deepcopy(workloads), **kwargs)
        result = sim.run()
        fresh = RandomStreams(seed)
        drawn = {n for n in sim.random.names if not n.startswith(("arrivals/", "work/", "workflow/"))
                 and sim.random.stream(n).bit_generator.state != fresh.stream(n).bit_generator.state}
        return digest(result.trace), drawn

    first, streams = traced(1)
    assert not foreign, f"draws outside the run's streams: {sorted(set(foreign))}"
    assert traced(1)[0] == first
    if streams:
        assert traced(2)[0] != first, f"drew from {sorted(streams)} but the run seed changed nothing"
    else:
        assert traced(2)[0] == first, "drew from no stream, yet the trace depends on the seed"
