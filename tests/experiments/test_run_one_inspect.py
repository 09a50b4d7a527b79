"""run_one's ``inspect``: what a caller reads from a run's trace before it is dropped."""

from __future__ import annotations

from pathlib import Path

from wfsim.experiments.scenarios import RunOutcome, Scenario, prepare_specs, run_one

REPO = Path(__file__).resolve().parents[2]


def _spec() -> object:
    (spec,) = prepare_specs(REPO / "experiments" / "quickstart.yaml", [Scenario("base")], [3], ["duration=10"],
                            trace="full")
    return spec


def test_inspect_sees_the_trace_and_its_result_is_kept() -> None:
    outcome = run_one(_spec(), inspect=lambda result: {"tasks": len(result.trace.executions())})
    assert outcome.status == "ok"
    assert outcome.inspected == {"tasks": outcome.metrics["tasks"]["executed"]}
    assert RunOutcome.from_json(outcome.to_json()) == outcome


def test_an_inspect_that_raises_fails_the_run() -> None:
    def broken(result: object) -> dict:
        raise RuntimeError("cannot inspect")

    outcome = run_one(_spec(), inspect=broken)
    assert outcome.status == "failed" and outcome.inspected is None
    assert outcome.error.startswith("RuntimeError: cannot inspect")


def test_records_written_before_inspect_still_load() -> None:
    old = {k: v for k, v in run_one(_spec()).to_json().items() if k != "inspected"}
    assert RunOutcome.from_json(old).inspected is None
