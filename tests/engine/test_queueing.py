"""A node is a queue: M/M/1 and M/M/c mean response times against the textbook formulas.

Tolerance: the simulated mean is compared with the formula within four standard errors
estimated by the method of batch means (50 batches over the run, after dropping a
warm-up), which accounts for the autocorrelation of successive response times. The
seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wfsim import CloudOnly, Node, Poisson, Simulation, Task, Tier, Topology, WorkDistribution, Workflow, Workload


def erlang_c(c: int, offered: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``offered = λ/μ``."""
    rho = offered / c
    top = offered**c / math.factorial(c) / (1 - rho)
    bottom = sum(offered**k / math.factorial(k) for k in range(c)) + top
    return top / bottom


def mean_response_mmc(c: int, lam: float, mu: float) -> float:
    return erlang_c(c, lam / mu) / (c * mu - lam) + 1 / mu


def simulate_response_times(cores: int, lam: float, mu: float, duration: float, seed: int) -> np.ndarray:
    server = Node("server", Tier.CLOUD, cores=cores, speed=1.0)
    job = Workflow("job", [Task("serve", work=1 / mu)])
    workload = Workload("jobs", job, Poisson(lam), origins=["server"], work=WorkDistribution("exponential"))
    result = Simulation(Topology([server]), [workload], placement=CloudOnly(), duration=duration, seed=seed).run()
    wf = result.trace.workflow_summary().sort_values("arrival")
    assert (wf["state"] == "Completed").all()
    return wf["latency"].to_numpy()


def batch_mean_interval(samples: np.ndarray, batches: int = 50) -> tuple[float, float]:
    samples = samples[len(samples) // 20:]  # warm-up from an empty system
    means = np.array([b.mean() for b in np.array_split(samples, batches)])
    return float(samples.mean()), float(means.std(ddof=1) / math.sqrt(batches))


@pytest.mark.parametrize(
    ("cores", "lam", "mu", "seed"),
    [(1, 0.5, 1.0, 11), (1, 0.8, 1.0, 12), (4, 3.0, 1.0, 13), (16, 12.0, 1.0, 14)],
)
def test_mean_response_time_matches_mmc(cores: int, lam: float, mu: float, seed: int) -> None:
    expected = mean_response_mmc(cores, lam, mu)
    times = simulate_response_times(cores, lam, mu, duration=40_000 / lam, seed=seed)
    mean, stderr = batch_mean_interval(times)
    assert abs(mean - expected) <= 4 * stderr, (mean, expected, stderr)
    # The interval is informative: a few percent of the mean, not a free pass.
    assert stderr < 0.05 * expected


def test_erlang_c_reduces_to_mm1() -> None:
    lam, mu = 0.7, 1.0
    assert mean_response_mmc(1, lam, mu) == pytest.approx(1 / (mu - lam))
