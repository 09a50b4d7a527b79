"""ComparisonView on a real batch: its bars are the batch's summaries, its points the
runs; a metric change redraws; failed runs are listed; names are escaped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from wfsim.experiments.batch import BatchResult, run_batch
from wfsim.experiments.batchfile import load_plan
from wfsim.widgets import ComparisonView

from batch_support import EXPERIMENT

EDGE = "<b>edge</b>"


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    """Two placements × three replications of 10 s with their traces; the heft run of
    replication 1 fails (its config is broken after the plan's checks)."""
    plan = load_plan({"experiment": str(EXPERIMENT), "set": ["duration=10"], "replications": 3, "seed": 2026,
                      "trace": "full", "scenarios": [{"name": EDGE, "set": ["placement=nearest_edge"]},
                                                     {"name": "heft", "set": ["placement=heft"]}]})
    specs = list(plan.specs)
    specs[4] = dataclasses.replace(specs[4], config={**specs[4].config, "duration": -1})
    out = tmp_path_factory.mktemp("kept") / "out"
    return run_batch(dataclasses.replace(plan, specs=tuple(specs)), out, workers=1)


def bars(view: ComparisonView) -> pd.DataFrame:
    """What the error-bar panel draws: per scenario (its tick label), the mean and the
    interval's ends."""
    ax = view.canvas.figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    rows = []
    for container in ax.containers:
        assert isinstance(container, ErrorbarContainer)
        point, _, (segments,) = container.lines
        for x, y, ((low, _), (high, _)) in zip(point.get_xdata(), point.get_ydata(), segments.get_segments()):
            rows.append({"scenario": labels[int(y)], "mean": x, "ci_low": low, "ci_high": high,
                         "colour": point.get_color()})
    return pd.DataFrame(rows).set_index("scenario").sort_values("scenario", key=lambda s: s.map(labels.index))


def test_the_mean_bars_are_the_summary(kept: BatchResult) -> None:
    view = ComparisonView(kept)
    assert view.panel.value == "means" and view.metric.value == "latency.mean"
    expected = kept.summary(["latency.mean"]).set_index("scenario")
    drawn = bars(view)
    assert list(drawn.index) == [EDGE, "heft"]
    assert list(drawn.pop("colour")) == ["tab:red", "tab:blue"]  # the baseline marked
    pd.testing.assert_frame_equal(drawn, expected[["mean", "ci_low", "ci_high"]], check_names=False)
    assert expected.loc["heft", "n"] == 2  # the failed run is left out...


def test_failed_runs_are_listed_and_names_escaped(kept: BatchResult) -> None:
    view = ComparisonView(kept)
    assert "1 failed run" in view.failures.value and "duration" in view.failures.value
    for text in (view.table.value, view.failures.value):
        assert "&lt;b&gt;edge&lt;/b&gt;" in text or "heft" in text
        assert "<b>edge</b>" not in text
    assert "&lt;b&gt;edge&lt;/b&gt;" in view.table.value
    assert view.canvas.figure.axes[0].get_yticklabels()[0].get_text() == EDGE  # plain text in the figure


def test_the_difference_bars_are_the_paired_differences(kept: BatchResult) -> None:
    view = ComparisonView(kept)
    assert view.baseline.value == EDGE  # the plan's baseline: its first scenario
    view.panel.value = "differences"
    expected = kept.paired(metrics=["latency.mean"]).set_index("scenario")
    drawn = bars(view).drop(columns="colour")
    assert list(drawn.index) == ["heft"]  # the baseline minus itself is not drawn
    pd.testing.assert_frame_equal(drawn, expected[["mean", "ci_low", "ci_high"]], check_names=False)
    assert expected.loc["heft", "n"] == 2  # the pairs where both runs succeeded
    ticks = {t.get_text(): t.get_color() for t in view.canvas.figure.axes[0].get_yticklabels()}
    assert ticks == {EDGE: "tab:red", "heft": "black"}  # the baseline named in red, though not drawn
    view.baseline.value = "heft"
    flipped = bars(view)
    assert flipped.loc[EDGE, "mean"] == pytest.approx(-expected.loc["heft", "mean"])


def test_replications_are_points_linked_by_seed(kept: BatchResult) -> None:
    view = ComparisonView(kept)
    view.metric.value = "throughput"
    view.panel.value = "replications"
    ax = view.canvas.figure.axes[0]
    linked = [line for line in ax.lines if line.get_marker() == "o"]
    runs = kept.runs.set_index(["replication", "scenario"])["throughput"]
    assert len(linked) == 3  # one line per replication
    for k, line in enumerate(linked):
        assert list(line.get_ydata()) == [0, 1]
        expected = [runs.get((k, EDGE)), runs.get((k, "heft"))]
        np.testing.assert_array_equal(line.get_xdata(), np.array(expected, dtype=float))
    assert np.isnan(linked[1].get_xdata()[1])  # the failed run is a gap, not a zero


def test_a_metric_change_redraws(kept: BatchResult) -> None:
    view = ComparisonView(kept)
    draws, image = view.canvas.draws, view.canvas.image.value
    view.metric.value = "cost"
    assert view.canvas.draws == draws + 1 and view.canvas.image.value != image
    assert "cost" in view.canvas.figure.axes[0].get_xlabel()
    assert bars(view).loc["heft", "mean"] == kept.summary(["cost"]).set_index("scenario").loc["heft", "mean"]


def test_a_crowded_batch_shows_its_top_scenarios_and_says_so(kept: BatchResult) -> None:
    view = ComparisonView(kept, top=1)
    view.baseline.value = "heft"
    assert view.shown() == [EDGE, "heft"]  # the highest mean latency, and the baseline kept
    view.order.value = "lowest"
    assert view.shown() == ["heft"]
    assert "Showing the 1 scenarios with the lowest mean latency.mean of 2 chosen" in view.note.value
    view.scenarios.value = (EDGE,)
    assert view.shown() == [EDGE] and view.note.value == ""


def test_a_batch_directory_opens_and_its_runs_traces_too(kept: BatchResult) -> None:
    assert kept.out is not None
    view = ComparisonView(str(kept.out))
    pd.testing.assert_frame_equal(bars(view), bars(ComparisonView(kept)))
    assert "wfsim-comparison-view" in view.widget._dom_classes
    assert "wfsim-figure" in view.canvas.image._dom_classes
    labels = [label for label, _ in view.run.options]
    assert len(labels) == 5 and "heft r1" not in labels  # the failed run kept no trace
    view.run.value = ("heft", 2)
    view.open_trace()
    head = view.explorer.children[0].value
    seed = kept.plan.seeds[2]
    latency = kept.runs.set_index(["scenario", "replication"]).loc[("heft", 2), "latency.mean"]
    assert f"seed {seed}" in head and f"{latency:.4g}" in head
    assert "wfsim-trace-explorer" in view.explorer.children[1]._dom_classes  # the run's trace, explorable


def test_a_batch_without_traces_offers_no_run(kept: BatchResult) -> None:
    view = ComparisonView(BatchResult(kept.plan, kept.runs))  # in memory only
    assert view.run.options == () and view.explorer not in view.widget.children


def test_a_missing_directory_is_said(tmp_path: Path) -> None:
    from wfsim.experiments.errors import ConfigError

    with pytest.raises(ConfigError, match="not a directory"):
        ComparisonView(tmp_path / "missing")
