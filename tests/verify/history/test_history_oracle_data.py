"""Verdicts on the Porcupine test histories must match their published ``verdicts.json``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from wfsim.verify.history import Budget, check_history, load_history

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "histories"
EXPECTED = {"linearizable": "ok", "not-linearizable": "violation"}


def _cases(folder: str) -> list[tuple[str, str]]:
    path = DATA / folder / "verdicts.json"
    if not path.is_file():
        return []
    return sorted(json.loads(path.read_text())["verdicts"].items())


needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared history data not found at {DATA}")


@needs_data
def test_every_etcd_history_gets_its_verdict() -> None:
    cases = _cases("porcupine-etcd")
    assert len(cases) == 102
    start = time.perf_counter()
    wrong = []
    for name, expected in cases:
        history = load_history(DATA / "porcupine-etcd" / name, format="jepsen")
        assert len(history) > 0, name
        verdict = check_history(history, model="register", consistency="linearizable", budget=30)
        if verdict.verdict != EXPECTED[expected]:
            wrong.append((name, expected, verdict.verdict, verdict.reason))
    assert not wrong
    # Porcupine checks these in a few seconds; keep us in the same league.
    assert time.perf_counter() - start < 30


@needs_data
def test_empty_etcd_095_is_not_a_case() -> None:
    # The etcd cluster failed to start in run 95: the log is empty and has no verdict.
    path = DATA / "porcupine-etcd" / "etcd_095.log"
    if not path.exists():
        pytest.skip("etcd_095.log absent")
    assert "etcd_095.log" not in dict(_cases("porcupine-etcd"))
    assert len(load_history(path)) == 0


@needs_data
@pytest.mark.parametrize("name", ["c01-ok.txt", "c01-bad.txt", "c10-ok.txt", "c10-bad.txt", "c50-ok.txt", "c50-bad.txt"])
def test_kv_history_gets_its_verdict(name: str) -> None:
    expected = dict(_cases("porcupine-kv"))[name]
    history = load_history(DATA / "porcupine-kv" / name)  # format auto-detected
    budget = Budget(time_s=10, max_states=2_000_000) if name == "c50-bad.txt" else Budget(time_s=60)
    verdict = check_history(history, model="kv", consistency="linearizable", budget=budget)
    if name == "c50-bad.txt":
        assert verdict.verdict != "ok"  # may be unknown within a small budget, never ok
    else:
        assert verdict.verdict == EXPECTED[expected]
    if expected == "linearizable":
        # Weaker levels accept whatever linearizability accepts.
        for level in ("sequential", "causal"):
            assert check_history(history, "kv", level, budget=30).verdict == "ok"
    if verdict.verdict == "violation":
        cex = verdict.counterexample
        assert cex is not None and cex.blocked is not None and cex.blocked not in cex.prefix
        assert verdict.to_json()["counterexample"]["key"] == cex.key


@needs_data
def test_violation_counterexample_is_consistent() -> None:
    """The reported prefix replays legally, and the blocked op follows none of it."""
    from wfsim.verify.history.model import RegisterModel

    history = load_history(DATA / "porcupine-etcd" / "etcd_000.log")
    verdict = check_history(history, "register", "linearizable")
    cex = verdict.counterexample
    assert verdict.verdict == "violation" and cex is not None
    model, state = RegisterModel(), None
    ops = {op.id: op for op in history}
    for i in cex.prefix:
        legal, state = model.step(state, ops[i])
        assert legal
    assert state == cex.state
    assert set(cex.operations) >= set(cex.prefix) | {cex.blocked}
    json.dumps(verdict.to_json())
