"""Tests of wfsim.workloads.generators (workflow shapes) and WorkDistribution.

Statistical checks use fixed seeds and four-standard-error bands computed from the
sample size and the distribution's closed-form moments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.model import LocationKind, LocationRequirement, TaskPriority, Tier, Workflow
from wfsim.workloads.generators import (
    GENERATOR_TASKS,
    GENERATORS,
    chain,
    diamond,
    fork_join,
    layered_random,
    order_processing,
)
from wfsim.workloads.workload import WorkDistribution


def ids(wf: Workflow, indices) -> list[str]:
    return [wf.tasks[i].id for i in indices]


def edge_set(wf: Workflow) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in wf.edges}


# --- fixed shapes --------------------------------------------------------------------
@pytest.mark.parametrize("length", [1, 2, 5])
def test_chain(length: int) -> None:
    wf = chain(length, work=7.0, data_bytes=3.0)
    assert [t.id for t in wf.tasks] == [f"t{i}" for i in range(length)]
    assert edge_set(wf) == {(f"t{i}", f"t{i + 1}") for i in range(length - 1)}
    assert ids(wf, wf.roots) == ["t0"] and ids(wf, wf.sinks) == [f"t{length - 1}"]
    assert all(e.nbytes == 3.0 for e in wf.edges) and all(t.work == 7.0 for t in wf.tasks)
    assert wf.critical_path_length() == pytest.approx(7.0 * length)


@pytest.mark.parametrize("width", [1, 4])
def test_fork_join(width: int) -> None:
    wf = fork_join(width, data_bytes=11.0)
    branches = {f"branch{i}" for i in range(width)}
    assert len(wf) == width + 2 and len(wf.edges) == 2 * width
    assert edge_set(wf) == {("fork", b) for b in branches} | {(b, "join") for b in branches}
    assert ids(wf, wf.roots) == ["fork"] and ids(wf, wf.sinks) == ["join"]
    assert {e.nbytes for e in wf.edges} == {11.0}


def test_diamond() -> None:
    wf = diamond(data_bytes=0.0, name="d", deadline=5.0)
    assert wf.name == "d" and wf.deadline == 5.0
    assert edge_set(wf) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}
    assert ids(wf, wf.roots) == ["a"] and ids(wf, wf.sinks) == ["d"]
    assert {e.nbytes for e in wf.edges} == {0.0}


@pytest.mark.parametrize("generator", [chain, fork_join, diamond, layered_random])
def test_task_passthrough(generator) -> None:
    loc = LocationRequirement.specific(Tier.CLOUD)
    wf = generator(task={"cores": 3, "priority": TaskPriority.LOW, "memory": 5.0, "location": loc},
                   input_bytes=9.0, result_bytes=4.0)
    assert all(t.cores == 3 and t.priority is TaskPriority.LOW and t.memory == 5.0 and t.location == loc
               for t in wf.tasks)
    assert (wf.input_bytes, wf.result_bytes) == (9.0, 4.0)


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="chain length"):
        chain(0)
    with pytest.raises(ValueError, match="fork_join width"):
        fork_join(0)
    with pytest.raises(ValueError, match="layers >= 1 and width >= 1"):
        layered_random(0, 3)
    with pytest.raises(ValueError, match="layers >= 1 and width >= 1"):
        layered_random(3, 0)
    with pytest.raises(ValueError, match="edge_probability"):
        layered_random(edge_probability=1.5)


def test_order_processing() -> None:
    wf = order_processing(data_bytes=100.0)
    assert [t.id for t in wf.tasks] == ["fetch_order", "process_payment", "update_order", "reply"]
    assert edge_set(wf) == {("fetch_order", "process_payment"), ("process_payment", "update_order"),
                            ("update_order", "reply")}
    assert wf.input_bytes == 100.0 and {e.nbytes for e in wf.edges} == {100.0}
    pay = wf.tasks[wf.index["process_payment"]]
    assert pay.location == LocationRequirement.specific(Tier.CLOUD) and pay.priority is TaskPriority.CRITICAL
    assert pay.work == 2 * wf.tasks[0].work
    fetch = wf.tasks[0]
    assert fetch.location.kind is LocationKind.PREFERRED_ORDER
    assert fetch.location.tiers == (Tier.EDGE_CLOUD, Tier.REGIONAL_CLOUD, Tier.CLOUD)
    assert fetch.state_keys == {"order:<id>"}
    assert order_processing(input_bytes=1.0).input_bytes == 1.0


def test_registry() -> None:
    assert {"chain": chain, "fork_join": fork_join, "diamond": diamond,
                          "layered_random": layered_random, "order_processing": order_processing} == GENERATORS


# --- layered_random ---------------------------------------------------------------
def layers_of(wf: Workflow) -> list[list[str]]:
    out: dict[int, list[str]] = {}
    for t in wf.tasks:
        level, _ = t.id[1:].split("_")
        out.setdefault(int(level), []).append(t.id)
    return [out[k] for k in sorted(out)]


def signature(wf: Workflow) -> tuple:
    return tuple((t.id, t.work) for t in wf.tasks), tuple(wf.edges)


@given(layers=st.integers(1, 8), width=st.integers(1, 6), p=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**32 - 1), cv=st.sampled_from([0.0, 0.7]))
@settings(max_examples=60, deadline=None)
def test_layered_random_shape(layers: int, width: int, p: float, seed: int, cv: float) -> None:
    wf = layered_random(layers, width, edge_probability=p, seed=seed, work_cv=cv, data_bytes=5.0)
    levels = layers_of(wf)
    assert len(levels) == layers
    assert all(1 <= len(level) <= width for level in levels)
    level_of = {tid: k for k, level in enumerate(levels) for tid in level}
    # edges only between consecutive layers; every later task has a parent
    assert all(level_of[e.target] == level_of[e.source] + 1 for e in wf.edges)
    assert ids(wf, wf.roots) == levels[0]
    assert set(levels[-1]) <= set(ids(wf, wf.sinks))
    # consecutive layers are connected: every task after the first layer has a parent
    # in the previous layer (earlier-layer tasks may end up without children)
    for k in range(1, layers):
        assert all(any(level_of[wf.tasks[q].id] == k - 1 for q in wf.predecessors[wf.index[t]])
                   for t in levels[k])
    assert {e.nbytes for e in wf.edges} <= {5.0}
    if p == 1.0:
        assert edge_set(wf) == {(a, b) for k in range(layers - 1) for a in levels[k] for b in levels[k + 1]}
    if p == 0.0:
        assert len(wf.edges) == sum(len(level) for level in levels[1:])
    assert signature(layered_random(layers, width, edge_probability=p, seed=seed, work_cv=cv,
                                    data_bytes=5.0)) == signature(wf)
    if cv == 0:
        assert all(t.work == 1e9 for t in wf.tasks)
    else:
        assert all(t.work > 0 for t in wf.tasks)


def test_layered_random_differs_across_seeds() -> None:
    shapes = {signature(layered_random(6, 5, seed=s, work_cv=0.3)) for s in range(20)}
    assert len(shapes) == 20


def test_layered_random_work_cv_mean() -> None:
    # Lognormal work with mean `work`: the sample mean over n tasks has standard error
    # cv·work/sqrt(n); band ±4σ. The sample CV is checked loosely (±15 %).
    work, cv = 2e9, 0.5
    wf = layered_random(600, 8, edge_probability=0.0, seed=3, work=work, work_cv=cv)
    values = np.array([t.work for t in wf.tasks])
    n = len(values)
    assert n > 2000
    assert abs(values.mean() - work) <= 4 * cv * work / math.sqrt(n)
    assert values.std(ddof=1) / values.mean() == pytest.approx(cv, rel=0.15)


# --- WorkDistribution --------------------------------------------------------------
N = 200_000


def sd_of_sample_sd(sigma: float, mu4: float, n: int) -> float:
    """Delta-method standard error of the sample standard deviation:
    Var(s²) ≈ (μ4 − σ⁴)/n, so SE(s) ≈ sqrt((μ4 − σ⁴)/n) / (2σ)."""
    return math.sqrt((mu4 - sigma**4) / n) / (2 * sigma)


def test_exponential_multipliers() -> None:
    m = WorkDistribution("exponential").multipliers(np.random.default_rng(1), N)
    assert m.shape == (N,) and np.all(m >= 0)
    # Exp(1): mean 1, sd 1, central fourth moment 9.
    assert abs(m.mean() - 1) <= 4 / math.sqrt(N)
    assert abs(m.std(ddof=1) - 1) <= 4 * sd_of_sample_sd(1.0, 9.0, N)


@pytest.mark.parametrize("cv", [0.25, 0.5, 1.0])
def test_lognormal_multipliers(cv: float) -> None:
    m = WorkDistribution("lognormal", cv=cv).multipliers(np.random.default_rng(2), N)
    # Mean-one lognormal with s = σ² = ln(1 + cv²): raw moments E[X^k] = e^{k(k−1)s/2},
    # central fourth moment e^{6s} − 4e^{3s} + 6e^{s} − 3, standard deviation cv.
    s = math.log1p(cv**2)
    mu4 = math.exp(6 * s) - 4 * math.exp(3 * s) + 6 * math.exp(s) - 3
    assert np.all(m > 0)
    assert abs(m.mean() - 1) <= 4 * cv / math.sqrt(N)
    assert abs(m.std(ddof=1) - cv) <= 4 * sd_of_sample_sd(cv, mu4, N)


def test_lognormal_zero_cv_is_constant() -> None:
    m = WorkDistribution("lognormal", cv=0.0).multipliers(np.random.default_rng(0), 100)
    np.testing.assert_allclose(m, 1.0)


@pytest.mark.parametrize("spread", [0.0, 0.3, 1.0])
def test_uniform_multipliers(spread: float) -> None:
    m = WorkDistribution("uniform", spread=spread).multipliers(np.random.default_rng(3), N)
    assert np.all((m >= 1 - spread) & (m <= 1 + spread))
    # U[1−h, 1+h]: sd h/sqrt(3)
    assert abs(m.mean() - 1) <= 4 * (spread / math.sqrt(3)) / math.sqrt(N) + 1e-12
    if spread:
        assert m.min() < 1 - 0.99 * spread and m.max() > 1 + 0.99 * spread


def test_constant_and_invalid() -> None:
    assert WorkDistribution().multipliers(np.random.default_rng(0), 10) is None
    with pytest.raises(ValueError, match="must be one of"):
        WorkDistribution("gamma")
    with pytest.raises(ValueError, match="cv must be >= 0"):
        WorkDistribution("lognormal", cv=-1)
    with pytest.raises(ValueError, match=r"spread must be in \[0, 1\]"):
        WorkDistribution("uniform", spread=1.5)


@settings(max_examples=40, deadline=None)
@given(length=st.integers(1, 30), width=st.integers(1, 8), layers=st.integers(1, 8), seed=st.integers(0, 99))
def test_generator_tasks_bound_what_each_generator_makes(length: int, width: int, layers: int, seed: int) -> None:
    params = {"chain": {"length": length}, "fork_join": {"width": width},
              "layered_random": {"layers": layers, "width": width, "seed": seed}}
    assert set(GENERATOR_TASKS) == set(GENERATORS)
    for name, generator in GENERATORS.items():
        made = len(generator(**params.get(name, {})).tasks)
        bound = GENERATOR_TASKS[name](**params.get(name, {}))
        assert made <= bound if name == "layered_random" else made == bound, name
