"""P19 (edge autonomy) over hand-written ``connectivity`` and ``decisions`` tables:
true where the edge node decides as its level allows, false at the decision that
does not; the level mapping against the seed's table written out here."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from wfsim.model.events import AUTONOMY_LEVELS, CONNECTIVITY_STATES
from wfsim.verify.catalog import check_catalog
from wfsim.verify.catalog.edge import _level_mapping
from wfsim.verify.properties import NOT_APPLICABLE, TraceView

from fault_tables_support import base_trace, with_tables

NAN = float("nan")
OUTAGE = [(1.0, "edge-0", "Connected", "FullyDependent"), (5.0, "edge-0", "Disconnected", "FullyAutonomous"),
          (9.0, "edge-0", "Connected", "SemiAutonomous"), (2.0, "edge-1", "Degraded", "SemiAutonomous")]
DECIDED = [(2.0, "edge-0", 0, "t0", "cloud", None, 1.0, NAN), (6.0, "edge-0", 1, "t0", "local", None, 0.0, NAN),
           (7.0, "edge-0", 2, "t0", "fallback", "UseCache", NAN, 3.0),
           (10.0, "edge-0", 3, "t1", "local", None, 1.0, NAN),
           (0.5, "edge-1", 4, "t0", "local", None, NAN, NAN)]  # before edge-1's first row: not judged
CONFIG = {"autonomy": {"max_cache_age": 5.0}}


def verdicts(trace):
    return {v.name: v for v in check_catalog(trace, ["P19"])}


def test_a_run_without_edge_autonomy_is_not_applicable():
    assert {v.verdict for v in verdicts(base_trace()).values()} == {NOT_APPLICABLE}


def test_decisions_that_follow_the_levels_hold():
    got = verdicts(with_tables(connectivity=OUTAGE, decisions=DECIDED, config=CONFIG))
    assert {name: v.verdict for name, v in got.items()} == {
        "autonomy-decisions": "true", "autonomy-level": "true", "cache-staleness": "true"}
    checked = [got[name].checked for name in ("autonomy-decisions", "autonomy-level", "cache-staleness")]
    assert checked == [5, 4, 1]


@pytest.mark.parametrize("row, why", [
    ((2.0, "edge-0", 0, "t0", "local", None, 1.0, NAN), "decided locally while FullyDependent"),
    ((6.0, "edge-0", 1, "t0", "cloud", None, 1.0, NAN), "deferred to the cloud while Disconnected"),
])
def test_a_decision_its_level_forbids_is_the_counterexample(row, why):
    decided = [row if r[:2] == row[:2] else r for r in DECIDED]
    got = verdicts(with_tables(connectivity=OUTAGE, decisions=decided, config=CONFIG))["autonomy-decisions"]
    assert got.verdict == "false" and got.violated == 1
    cex = got.first
    assert (cex.entity_kind, cex.entity, cex.time) == ("node", "edge-0", row[0]) and why in cex.explanation
    assert any(e["table"] == "connectivity" for e in cex.events)   # the node's records around it


def test_a_stale_cached_answer_breaks_the_bound_and_an_unknown_bound_is_not_judged():
    stale = [r if r[5] != "UseCache" else (*r[:7], 8.0) for r in DECIDED]
    got = verdicts(with_tables(connectivity=OUTAGE, decisions=stale, config=CONFIG))["cache-staleness"]
    assert got.verdict == "false" and "8 s old; the maximum age is 5 s" in got.first.explanation
    assert verdicts(with_tables(connectivity=OUTAGE, decisions=stale, config={}))["cache-staleness"].verdict == \
        NOT_APPLICABLE


#: The seed's adjust_autonomy_level table (part 2 §2), written out: Connected depends
#: on the decision accuracy against the gate.
SEED_TABLE = {"Connected": {"SemiAutonomous", "FullyDependent"}, "Degraded": {"SemiAutonomous"},
              "Intermittent": {"HighlyAutonomous"}, "Disconnected": {"FullyAutonomous"}}


def test_the_level_mapping_is_the_seeds_table():
    pairs = list(itertools.product(CONNECTIVITY_STATES, AUTONOMY_LEVELS))
    rows = [(float(k), f"edge-{k % 2}", status, level) for k, (status, level) in enumerate(pairs)]
    got = verdicts(with_tables(connectivity=rows))["autonomy-level"]
    wrong = [(status, level) for status, level in pairs if level not in SEED_TABLE[status]]
    assert got.checked == 16 and got.verdict == "false"
    # One counterexample per node is shown; every wrong row is found.
    found = _level_mapping(TraceView(with_tables(connectivity=rows))).violations
    assert sorted(found["explanation"].str.extract(r"is (\w+) at level (\w+)").itertuples(index=False,
                                                                                          name=None)) == sorted(wrong)


def test_a_decision_at_the_instant_of_a_change_may_precede_it():
    # edge-0 turns Disconnected at t=5: a cloud decision at 5 may have come just before.
    at_change = [(5.0, "edge-0", 0, "t0", "cloud", None, 1.0, NAN)]
    got = verdicts(with_tables(connectivity=OUTAGE, decisions=at_change))["autonomy-decisions"]
    assert got.verdict == "true" and got.checked == 1


def test_settings_recorded_at_the_manifests_top_level_count_too():
    stale = [(7.0, "edge-0", 2, "t0", "fallback", "UseCache", NAN, 8.0)]
    trace = with_tables(connectivity=OUTAGE, decisions=stale)
    trace = dataclasses.replace(trace, manifest={**trace.manifest, "autonomy": {"max_cache_age": 5.0}})
    assert verdicts(trace)["cache-staleness"].verdict == "false"
