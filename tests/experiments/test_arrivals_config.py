"""The ``arrivals:`` entry of a workload: one schema model per arrival process
registered in ``ARRIVAL_PROCESSES``, built through that registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from wfsim.experiments import schema
from wfsim.experiments.building import build_arrivals
from wfsim.experiments.schema import ArrivalsConfig
from wfsim.workloads.arrivals import ARRIVAL_PROCESSES, MMPP, ArrivalProcess, Periodic, Poisson, TraceArrivals

#: Per process: an ``arrivals:`` entry and the process it must build (relative paths
#: resolve against the experiment's directory).
ENTRIES: dict[str, tuple[dict[str, Any], Callable[[Path], ArrivalProcess]]] = {
    "poisson": ({"rate": 2}, lambda base: Poisson(2.0)),
    "periodic": ({"period": 3.0, "phase": 1, "jitter": 0.5}, lambda base: Periodic(3.0, 1.0, 0.5)),
    "mmpp": ({"rates": [0.5, 4], "mean_sojourn": [10, 2.0]}, lambda base: MMPP((0.5, 4.0), (10.0, 2.0))),
    "trace": ({"path": "arrivals.csv"}, lambda base: TraceArrivals(str(base / "arrivals.csv"))),
}


def test_every_registered_process_is_covered() -> None:
    assert set(ENTRIES) == set(ARRIVAL_PROCESSES)


@pytest.mark.parametrize("name", ENTRIES)
def test_built_through_the_registry(name: str, tmp_path: Path) -> None:
    fields, expected = ENTRIES[name]
    entry = TypeAdapter(ArrivalsConfig).validate_python({"process": name, **fields})
    built = build_arrivals(entry, tmp_path)
    assert type(built) is ARRIVAL_PROCESSES[name]
    assert built == expected(tmp_path)


def test_a_process_without_a_schema_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ARRIVAL_PROCESSES, "bursty", Poisson)
    with pytest.raises(TypeError, match="bursty"):
        schema._check_arrivals()
