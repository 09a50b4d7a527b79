"""The verification panel's histories per level, on small real runs under a
partition: each level's history as the checkers take it, its own checker's verdict,
and a weaker level's history failing a stronger checker with its counterexample
shown."""

from __future__ import annotations

import pytest
from consistency_views_support import adaptive_under_partition, eventual_under_partition

from wfsim.verify.history import check_history, from_trace
from wfsim.widgets import VerificationPanel
from wfsim.widgets.level_histories import NONE, LevelHistories, level_checker


@pytest.fixture(scope="module")
def spectrum():
    return adaptive_under_partition()


@pytest.fixture(scope="module")
def eventual():
    return eventual_under_partition()


def test_each_level_is_checked_by_its_own_checker(spectrum):
    section = LevelHistories(spectrum)
    assert set(section.histories) == {"Linearizable", "Sequential", "Causal", "Eventual"}
    for level, history in section.histories.items():
        assert list(history) == list(from_trace(spectrum, level))
    assert set(section.verdicts) == {("Linearizable", "linearizable"), ("Sequential", "sequential"),
                                     ("Causal", "causal")}
    # Raft serves Linearizable: its history is linearizable, under the partition too.
    assert section.verdicts["Linearizable", "linearizable"].verdict == "ok"
    assert level_checker("Eventual") is None and level_checker("Causal") == "causal"
    # It opens on the first level whose own check failed, else on the strongest.
    failed = [lv for (lv, _), v in section.verdicts.items() if v.verdict == "violation"]
    assert section.level.value == (failed[0] if failed else "Linearizable")
    assert section.checker.value == level_checker(section.level.value)
    assert section.detail is not None
    assert section.detail.verdict is section.verdicts[section.level.value, section.checker.value]


def test_a_weaker_levels_history_fails_a_stronger_checker_with_its_counterexample(eventual):
    panel = VerificationPanel(eventual)
    section = panel.histories
    assert section is not None and section.widget in panel.widget.children
    section.level.value = "Eventual"
    assert section.checker.value == NONE and section.detail is None
    assert "no history checker" in section.body.children[0].value
    section.checker.value = "linearizable"
    verdict = section.verdicts["Eventual", "linearizable"]
    # An independent check of the same operations agrees.
    assert verdict.verdict == check_history(from_trace(eventual, "Eventual"), "register", "linearizable").verdict
    assert verdict.verdict == "violation"
    assert section.detail is not None and section.detail.blocked is not None
    assert section.detail.canvas.draws >= 1
    assert "violation" in section.table.value


def test_a_panel_without_operations_has_no_history_section():
    from wfsim import Poisson, Simulation, Workload, chain, hierarchical

    plain = Simulation(hierarchical(devices=2, edge=1, regional=1), [Workload("w", chain(2), Poisson(1.0))],
                       duration=3.0, seed=1).run().trace
    assert VerificationPanel(plain).histories is None
