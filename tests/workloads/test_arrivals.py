"""Tests of wfsim.workloads.arrivals against closed-form statistics.

Every statistical check uses a fixed seed (so the suite is deterministic) and a
tolerance derived from the sample size, stated next to it: a band of four standard
errors, which a correct implementation leaves with probability < 1e-4 per check.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.workloads.arrivals import ARRIVAL_PROCESSES, MMPP, Periodic, Poisson, TraceArrivals


def draw(process, start: float, end: float, seed: int = 0, origin: str = "") -> np.ndarray:
    return np.fromiter(process.times(np.random.default_rng(seed), start, end, origin), dtype=float)


def dispersion(times: np.ndarray, end: float, window: float) -> float:
    """Index of dispersion (variance / mean) of counts in consecutive windows."""
    counts = np.bincount((times // window).astype(int), minlength=int(end / window))[: int(end / window)]
    return float(counts.var(ddof=1) / counts.mean())


# --- Poisson -----------------------------------------------------------------------
def test_poisson_count_gaps_and_cv() -> None:
    rate, horizon = 5.0, 20_000.0
    times = draw(Poisson(rate), 0.0, horizon, seed=1)
    n = len(times)
    # N(T) ~ Poisson(λT): standard deviation sqrt(λT) ≈ 316, band ±4σ.
    assert abs(n - rate * horizon) <= 4 * math.sqrt(rate * horizon)
    assert times.min() >= 0.0 and times.max() < horizon and np.all(np.diff(times) > 0)
    gaps = np.diff(np.concatenate([[0.0], times]))
    # Gap mean 1/λ with standard error (1/λ)/sqrt(n) (exponential: sd = mean).
    assert abs(gaps.mean() - 1 / rate) <= 4 * (1 / rate) / math.sqrt(n)
    # Sample CV of exponential gaps: delta method gives Var(CV) ≈ (1/n)[(μ4−σ⁴)/(4σ²μ²)
    # − μ3/μ³ + σ⁴/μ⁴] = (1/n)(8/4 − 2 + 1) = 1/n, so the standard error is 1/sqrt(n).
    cv = gaps.std(ddof=1) / gaps.mean()
    assert abs(cv - 1.0) <= 4 / math.sqrt(n)
    # Counts in unit windows: index of dispersion 1; for K Poisson windows the sample
    # ratio has standard error ≈ sqrt(2/(K−1)).
    k = int(horizon / 10.0)
    assert abs(dispersion(times, horizon, 10.0) - 1.0) <= 4 * math.sqrt(2 / (k - 1))


def test_poisson_respects_window_start() -> None:
    times = draw(Poisson(2.0), 100.0, 200.0, seed=3)
    assert len(times) > 0 and times.min() >= 100.0 and times.max() < 200.0


# --- Periodic ----------------------------------------------------------------------
def test_periodic_exact_times_with_phase() -> None:
    assert draw(Periodic(2.0, phase=0.5), 10.0, 20.0).tolist() == [10.5, 12.5, 14.5, 16.5, 18.5]
    assert draw(Periodic(1.0), 0.0, 3.0).tolist() == [0.0, 1.0, 2.0]  # end excluded
    assert draw(Periodic(5.0, phase=6.0), 0.0, 5.0).tolist() == []


@given(
    period=st.floats(0.01, 10.0), phase_frac=st.floats(0.0, 3.0), jitter_frac=st.floats(0.0, 1.0),
    start=st.floats(0.0, 100.0), seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=80, deadline=None)
def test_periodic_jitter_within_bounds_and_ordered(period, phase_frac, jitter_frac, start, seed) -> None:
    phase, jitter = phase_frac * period, jitter_frac * period
    end = start + 50 * period
    times = draw(Periodic(period, phase=phase, jitter=jitter), start, end, seed=seed)
    nominal = start + phase + np.arange(len(times)) * period
    offsets = times - nominal
    assert np.all(offsets >= 0.0)
    if jitter > 0:
        assert np.all(offsets < jitter + 1e-9 * max(1.0, end))
    else:
        assert np.all(offsets == 0.0)
    assert np.all(np.diff(times) > 0), "jitter never reorders arrivals"
    assert np.all((times >= start) & (times < end))
    # every nominal slot whose jittered time is < end is produced: the next one isn't
    assert len(times) <= math.ceil((end - start - phase) / period) + 1


# --- MMPP --------------------------------------------------------------------------
def mmpp_idc(m: MMPP, window: float | None) -> float:
    """Closed-form index of dispersion of counts of a two-state MMPP over a window of
    length t (t=None: the limit t → ∞). With leave rates a = 1/s0, b = 1/s1:
    IDC(∞) = 1 + 2ab(r0 − r1)² / ((a + b)²(r0 b + r1 a)),
    IDC(t) = 1 + (IDC(∞) − 1)(1 − (1 − e^{−(a+b)t}) / ((a+b)t))."""
    (r0, r1), (s0, s1) = m.rates, m.mean_sojourn
    a, b = 1 / s0, 1 / s1
    inf = 1 + 2 * a * b * (r0 - r1) ** 2 / ((a + b) ** 2 * (r0 * b + r1 * a))
    if window is None:
        return inf
    x = (a + b) * window
    return 1 + (inf - 1) * (1 - (1 - math.exp(-x)) / x)


def test_mmpp_mean_rate_closed_form() -> None:
    m = MMPP((1.0, 20.0), (10.0, 2.0))
    assert m.mean_rate == pytest.approx((1 * 10 + 20 * 2) / 12)
    assert MMPP((3.0, 3.0), (1.0, 7.0)).mean_rate == pytest.approx(3.0)
    assert MMPP((0.0, 4.0), (3.0, 1.0)).mean_rate == pytest.approx(1.0)


def test_mmpp_long_run_rate_and_burstiness() -> None:
    m = MMPP((1.0, 20.0), (10.0, 2.0))
    horizon, window = 40_000.0, 20.0
    times = draw(m, 0.0, horizon, seed=7)
    assert np.all(np.diff(times) > 0) and times.min() >= 0 and times.max() < horizon
    # Var N(T) → IDC(∞)·λ̄T for an MMPP (≈ 41× the Poisson variance here); band ±4σ.
    sd_rate = math.sqrt(mmpp_idc(m, None) * m.mean_rate * horizon) / horizon
    assert abs(len(times) / horizon - m.mean_rate) <= 4 * sd_rate
    # Bursty: counts in 20 s windows are far more dispersed than Poisson's (IDC 1).
    # 2000 autocorrelated windows of a heavy-tailed count: the sample IDC is checked
    # against the closed form within 20 % (observed spread across seeds: ~5 %).
    idc = dispersion(times, horizon, window)
    assert idc > 10
    assert idc == pytest.approx(mmpp_idc(m, window), rel=0.2)


def test_mmpp_with_equal_rates_is_poisson() -> None:
    m = MMPP((4.0, 4.0), (1.0, 2.0))
    horizon = 10_000.0
    times = draw(m, 0.0, horizon, seed=5)
    assert abs(len(times) - 4.0 * horizon) <= 4 * math.sqrt(4.0 * horizon)
    k = int(horizon / 5.0)
    assert abs(dispersion(times, horizon, 5.0) - 1.0) <= 4 * math.sqrt(2 / (k - 1))


def test_mmpp_silent_calm_state() -> None:
    times = draw(MMPP((0.0, 10.0), (5.0, 5.0)), 0.0, 1000.0, seed=2)
    assert len(times) > 0 and np.all(np.diff(times) > 0)


# --- TraceArrivals -------------------------------------------------------------------
def write(tmp_path: Path, text: str, name: str = "arrivals.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_trace_without_origin_sorted_and_clipped(tmp_path: Path) -> None:
    path = write(tmp_path, "time,extra\n5.0,x\n1.5,y\n9.9,z\n0,w\n10,v\n3,u\n")
    process = TraceArrivals(path)
    assert draw(process, 0.0, 100.0).tolist() == [0.0, 1.5, 3.0, 5.0, 9.9, 10.0]
    assert draw(process, 1.5, 10.0).tolist() == [1.5, 3.0, 5.0, 9.9]  # [start, end)
    assert draw(process, 0.0, 100.0, origin="device-1").tolist() == [0.0, 1.5, 3.0, 5.0, 9.9, 10.0]


def test_trace_with_origin_column(tmp_path: Path) -> None:
    path = write(tmp_path, "origin,time\ndevice-1,4\ndevice-0,2\ndevice-1,1\ndevice-2,3\ndevice-0,0.5\n")
    process = TraceArrivals(path)
    assert draw(process, 0, 10, origin="device-0").tolist() == [0.5, 2.0]
    assert draw(process, 0, 10, origin="device-1").tolist() == [1.0, 4.0]
    assert draw(process, 0, 3.5, origin="device-2").tolist() == [3.0]
    assert draw(process, 0, 10, origin="device-9").tolist() == []


def test_trace_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match=r"nope\.csv: cannot read arrival trace"):
        draw(TraceArrivals(missing), 0, 10)
    no_time = write(tmp_path, "when,origin\n1,a\n", "no_time.csv")
    with pytest.raises(ValueError,
                       match=r"no_time\.csv: arrival trace needs a 'time' column; found \['when', 'origin'\]"):
        draw(TraceArrivals(no_time), 0, 10)
    empty = write(tmp_path, "", "empty.csv")
    with pytest.raises(ValueError, match="needs a 'time' column"):
        draw(TraceArrivals(empty), 0, 10)
    bad = write(tmp_path, "time\n1\n2\nsoon\n4\n", "bad.csv")
    with pytest.raises(ValueError, match=r"bad\.csv, line 4: column 'time' must be a number, got 'soon'"):
        draw(TraceArrivals(bad), 0, 10)
    negative = write(tmp_path, "time\n1\n-2\n", "neg.csv")
    with pytest.raises(ValueError, match=r"neg\.csv, line 3: column 'time' must be >= 0, got -2"):
        draw(TraceArrivals(negative), 0, 10)


def test_trace_error_line_number_after_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, "time\n1\n\n2\nsoon\n", "blank.csv")  # 'soon' is on line 5
    with pytest.raises(ValueError, match=r"line 5: column 'time'"):
        draw(TraceArrivals(path), 0, 10)


def test_trace_rereads_a_rewritten_file(tmp_path: Path) -> None:
    path = write(tmp_path, "time\n1\n2\n", "changing.csv")
    assert draw(TraceArrivals(path), 0, 10).tolist() == [1.0, 2.0]
    write(tmp_path, "time\n5\n", "changing.csv")
    assert draw(TraceArrivals(path), 0, 10).tolist() == [5.0]


# --- constructor validation and determinism -------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda: Poisson(0.0), lambda: Poisson(-1.0), lambda: Poisson(float("nan")),
        lambda: Periodic(0.0), lambda: Periodic(-1.0), lambda: Periodic(1.0, jitter=1.5),
        lambda: Periodic(1.0, jitter=-0.1), lambda: Periodic(1.0, phase=-1.0),
        lambda: MMPP((1.0,), (1.0, 1.0)), lambda: MMPP((1.0, 1.0), (1.0,)),
        lambda: MMPP((-1.0, 2.0), (1.0, 1.0)), lambda: MMPP((0.0, 0.0), (1.0, 1.0)),
        lambda: MMPP((1.0, 2.0), (0.0, 1.0)), lambda: MMPP((1.0, 2.0), (1.0, -3.0)),
    ],
)
def test_invalid_parameters_raise_value_error(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_registry_names() -> None:
    assert {"poisson": Poisson, "periodic": Periodic, "mmpp": MMPP, "trace": TraceArrivals} == ARRIVAL_PROCESSES


@pytest.mark.parametrize(
    "process",
    [Poisson(3.0), Periodic(1.0, phase=0.2, jitter=0.7), MMPP((0.5, 8.0), (5.0, 1.0))],
    ids=["poisson", "periodic", "mmpp"],
)
def test_same_seed_same_times(process) -> None:
    a = draw(process, 0.0, 500.0, seed=42)
    b = draw(process, 0.0, 500.0, seed=42)
    c = draw(process, 0.0, 500.0, seed=43)
    assert len(a) > 10
    np.testing.assert_array_equal(a, b)
    assert len(a) != len(c) or not np.array_equal(a, c)
