"""The anomaly measures objectives can use, on a real run of the shipped spectrum:
``stale_read_rate`` is the run's own stale-read rate and ``anomaly_weighted_p95``
the p95 inflated by the failed workflows and stale reads."""

from __future__ import annotations

import math
from pathlib import Path

from wfsim.experiments.building import build_simulation
from wfsim.experiments.loading import load_config
from wfsim.experiments.scenarios import flat_metrics
from wfsim.tuning.objectives import derive, measure_keys

SPECTRUM = Path(__file__).resolve().parents[2] / "experiments" / "consistency-spectrum.yaml"


def test_the_measures_read_the_runs_consistency_metrics() -> None:
    config = load_config(SPECTRUM, ["duration=8", "faults.0.start=2", "faults.0.duration=4",
                                    "consistency.strategy={name: fixed, params: {level: Eventual}}"])
    sim = build_simulation(config, SPECTRUM.parent, str(SPECTRUM))
    metrics = sim.run().metrics
    stale = metrics["consistency"]["stale_reads"]
    assert stale["reads"] > 0 and stale["stale"] > 0  # eventual reads across a partition go stale
    m = derive(flat_metrics(metrics))
    assert m["stale_read_rate"] == stale["rate"]
    wf = metrics["workflows"]
    good = (1 - wf["failed"] / wf["submitted"]) * (1 - stale["rate"])
    assert math.isclose(m["anomaly_weighted_p95"], metrics["latency"]["p95"] / good)
    assert {"stale_read_rate", "anomaly_weighted_p95"} <= set(measure_keys(sim.topology))
