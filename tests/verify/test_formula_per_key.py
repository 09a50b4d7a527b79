"""check_formula(per="key"): one step per attempt on a key, in call order."""

from __future__ import annotations

import dataclasses

import pytest

from wfsim.verify.catalog import check_formula
from wfsim.verify.catalog.consistency import KEY_ATOMS, key_projection
from wfsim.verify.properties import TraceView

from state_tables_support import op, with_state

ROWS = [
    op(1, "a", "write", "x", 0.0, 0.5, outcome="unknown"),
    op(2, "a", "write", "x", 0.5, 0.6, level="Sequential", requested="Linearizable", request=1, attempt=1),
    op(3, "b", "read", "y", 0.1, 0.2, None, level="Eventual"),
    op(4, "b", "read", "x", 0.7, 0.8, 2, level="Causal"),
    op(5, "c", "write", "y", 0.9, 1.0, outcome="fail", level="Causal"),
]


def test_each_key_has_its_attempts_in_call_order() -> None:
    proj = key_projection(TraceView(with_state(operations=ROWS)))
    assert proj.ids.tolist() == ["x", "y"]
    assert proj.labels(0) == ["write+unknown+linearizable@0", "write+ok+sequential+downgraded@0.5",
                              "read+ok+causal@0.7"]
    assert proj.labels(1) == ["read+ok+eventual@0.1", "write+fail+causal@0.9"]
    assert set(KEY_ATOMS) == {"read", "write", "ok", "fail", "unknown", "linearizable", "sequential", "causal",
                              "eventual", "downgraded"}


def test_a_users_formula_per_key() -> None:
    trace = with_state(operations=ROWS)
    assert check_formula(trace, "G(unknown -> X downgraded)", per="key").holds
    assert check_formula(trace, "G(downgraded -> !linearizable)", per="key").holds
    v = check_formula(trace, "G(write -> ok)", per="key")
    assert v.verdict == "false" and v.violated == 2 and v.checked == 2
    first = v.counterexamples[0]
    assert first.entity == "x" and first.step == 0
    assert [e["op"] for e in first.events] == [1, 2, 4]  # the attempts on x around the violation
    # a key is never closed: on a truncated run a liveness obligation open at the end
    # is undecided; on a finished one the recorded attempts are all there is
    assert check_formula(trace, "G(read -> F write)", per="key").verdict == "false"
    cut = dataclasses.replace(trace, manifest={**trace.manifest, "truncated": True})
    assert check_formula(cut, "G(read -> F write)", per="key").verdict == "inconclusive"


def test_an_unknown_atom_names_the_atoms() -> None:
    with pytest.raises(ValueError, match="per='key' has no atom start; its atoms: read, write"):
        check_formula(with_state(operations=ROWS), "G(start -> F ok)", per="key")
