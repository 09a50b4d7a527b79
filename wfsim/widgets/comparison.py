"""The comparison of a batch's scenarios: means, paired differences, replications."""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from wfsim.experiments.batch import BatchResult, open_batch
from wfsim.experiments.summaries import (
    by_replication,
    metric_columns,
    paired_differences,
    summarize_runs,
    top_scenarios,
)
from wfsim.trace.rundir import read_metrics
from wfsim.trace.trace import Trace
from wfsim.viz.batches import draw_differences, draw_means, draw_replications
from wfsim.widgets.base import FigureCanvas, View
from wfsim.widgets.runs import run_widgets

#: The panels, by the label of their button.
PANELS = ("means", "differences", "replications")


class ComparisonView(View):
    """A batch's scenarios side by side, for one metric at a time.

    A metric chooser (the numeric metrics of the runs table), a scenario filter, a
    baseline chooser and three panels: (a) each scenario's mean with its 95%
    interval, the baseline marked; (b) each scenario minus the baseline, paired on
    the replication seed, with its interval and a zero line; (c) each replication's
    value as a point over the scenario's box, a replication's points linked across
    scenarios (the same seed). Below: the summary table and the failed runs (listed,
    never dropped silently). With ``trace: full`` a run can be opened in a
    :class:`~wfsim.widgets.TraceExplorer`.

    What is drawn stays small whatever the batch: the figures show per-scenario
    statistics and at most one point per run, of at most ``top`` scenarios (the
    highest or lowest means of the metric, the baseline always kept; a note says
    so). The statistics come from :mod:`wfsim.experiments.summaries` and the panels
    are drawn by :mod:`wfsim.viz.batches`, both shared with the report.

    Args:
        batch: A batch result, or the path of a batch directory.
        top: Most scenarios drawn at once.

    Attributes:
        batch: The batch shown.
        widget: The view (CSS class ``wfsim-comparison-view``).
        canvas: The figure.
        metric, scenarios, baseline, panel, order: The controls.
        table: The summary table (HTML).
        failures: The failed runs (HTML).
        note: What is left out of the figure, if anything.
        run: The run to open in a trace explorer (``trace: full`` only).
        explorer: Where the trace explorer is shown.
    """

    def __init__(self, batch: BatchResult | str | Path, *, top: int = 30) -> None:
        self.batch = _opened(batch)
        self.top = top
        runs = self.batch.runs
        metrics = [m for m in metric_columns(runs) if pd.api.types.is_numeric_dtype(runs[m])
                   and runs[m].notna().any()]
        if not metrics:
            raise ValueError("the batch has no numeric metric to compare (did every run fail?)")
        names = list(runs["scenario"].unique())
        self.canvas = FigureCanvas(figsize=(9.0, 4.0))
        self.canvas.image.add_class("wfsim-figure")
        self.metric = widgets.Dropdown(options=metrics, value=_default_metric(metrics), description="metric")
        self.scenarios = widgets.SelectMultiple(options=names, value=tuple(names), description="scenarios",
                                                rows=min(len(names), 6))
        self.baseline = widgets.Dropdown(options=names, value=_baseline(self.batch, names), description="baseline")
        self.panel = widgets.ToggleButtons(options=PANELS, value=PANELS[0])
        self.order = widgets.ToggleButtons(options=("highest", "lowest"), value="highest",
                                           tooltips=["keep the highest means", "keep the lowest means"])
        self.note = widgets.HTML()
        self.table = widgets.HTML()
        self.failures = widgets.HTML(_failures(runs))
        self.explorer = widgets.VBox()
        self.run = widgets.Dropdown(options=_traced_runs(self.batch), description="run")
        self.open_run = widgets.Button(description="open its trace", icon="search")
        self.open_run.on_click(lambda _: self.open_trace())
        for control in (self.metric, self.scenarios, self.baseline, self.panel, self.order):
            control.observe(lambda _: self.refresh(), names="value")
        traced = [widgets.HBox([self.run, self.open_run]), self.explorer] if self.run.options else []
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.metric, self.baseline]), self.scenarios]),
            widgets.HBox([self.panel, self.order]), self.note, self.canvas.image, self.table, self.failures,
            *traced])
        self.widget.add_class("wfsim-comparison-view")
        self.refresh()

    # --- what is shown ------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the statistics of the current choices, then redraw the figure
        and the table."""
        metric, baseline, chosen = self.metric.value, self.baseline.value, list(self.scenarios.value)
        runs = self.batch.runs
        summary = summarize_runs(runs[runs["scenario"].isin(chosen)], [metric])
        shown = chosen
        if len(chosen) > self.top:
            kept = set(top_scenarios(summary, metric, self.top, highest=self.order.value == "highest",
                                     keep=baseline if baseline in chosen else None))
            shown = [s for s in chosen if s in kept]
        paired = paired_differences(runs[runs["scenario"].isin([*shown, baseline])], baseline, [metric])
        self._shown = shown
        self._summary = summary[summary["scenario"].isin(shown)].reset_index(drop=True)
        self._paired = paired.reset_index(drop=True)
        self.order.layout.display = None if len(chosen) > self.top else "none"
        self.note.value = (f"<i>Showing the {len(shown)} scenarios with the {self.order.value} mean "
                           f"{html.escape(metric)} of {len(chosen)} chosen.</i>" if len(chosen) > len(shown) else "")
        self.table.value = self._table_html()
        self.canvas.draw(self._paint)

    def shown(self) -> list[str]:
        """The scenarios drawn: those chosen, at most :attr:`top` of them, in the
        batch's order."""
        return list(self._shown)

    def summary(self) -> pd.DataFrame:
        """The drawn scenarios' statistics of the chosen metric: n, mean, sd and
        95% interval (as :meth:`BatchResult.summary`)."""
        return self._summary.copy()

    def paired(self) -> pd.DataFrame:
        """The drawn scenarios minus the baseline, paired on the seed (as
        :meth:`BatchResult.paired`)."""
        return self._paired.copy()

    def _paint(self, figure: Figure) -> None:
        shown = self._shown
        figure.set_size_inches(9.0, max(2.5, 1.2 + 0.32 * max(len(shown), 1)))
        ax = figure.add_subplot()
        if not shown:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no scenario chosen", ha="center", va="center", transform=ax.transAxes)
            return
        metric, baseline = self.metric.value, self.baseline.value
        if self.panel.value == "means":
            draw_means(ax, self._summary, metric, shown, baseline)
        elif self.panel.value == "differences":
            draw_differences(ax, self._paired, metric, shown, baseline)
        else:
            draw_replications(ax, by_replication(self.batch.runs, metric)[shown], baseline, metric)

    def _table_html(self) -> str:
        summary = self._summary.drop(columns="metric").set_index("scenario")
        paired = self._paired.set_index("scenario")
        summary["difference"] = paired["mean"]
        summary["difference 95%"] = [
            "" if pd.isna(low) else f"[{low:.4g}, {high:.4g}]"
            for low, high in zip(paired["ci_low"].reindex(summary.index), paired["ci_high"].reindex(summary.index))]
        # to_html escapes every cell and label, so scenario names show as written.
        return summary.reset_index().to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="",
                                             classes="wfsim-table", border=0)

    # --- a run's trace ------------------------------------------------------------------
    def open_trace(self) -> None:
        """Open the chosen run's trace in a trace explorer below the figure."""
        scenario, replication = self.run.value
        path = self.batch.run_directory(scenario, replication)
        try:
            if path is None:
                raise FileNotFoundError("the batch kept no trace of this run")
            trace = Trace.load(path)
            metrics = read_metrics(path)
        except Exception as exc:  # a damaged or removed run: said, not raised in a callback
            message = f"cannot open {scenario} r{replication}: {type(exc).__name__}: {exc}"
            self.explorer.children = (widgets.HTML(f"<i>{html.escape(message)}</i>"),)
            return
        self.explorer.children = run_widgets(
            f"{scenario}, replication {replication} (seed {trace.manifest.get('seed')})", trace, metrics)


def _opened(batch: BatchResult | str | Path) -> BatchResult:
    return batch if isinstance(batch, BatchResult) else open_batch(batch)


def _default_metric(metrics: list[str]) -> str:
    return next((m for m in ("latency.mean", "makespan", "throughput") if m in metrics), metrics[0])


def _baseline(batch: BatchResult, names: list[str]) -> str:
    return batch.plan.baseline if batch.plan.baseline in names else names[0]


def _failures(runs: pd.DataFrame) -> str:
    failed = runs[runs["status"] != "ok"]
    if failed.empty:
        return ""
    table = failed[["scenario", "replication", "seed", "error"]].to_html(index=False, border=0, classes="wfsim-table")
    return f"<b>{len(failed)} failed run{'s' * (len(failed) != 1)}</b> (left out of the figures):{table}"


def _traced_runs(batch: BatchResult) -> list[tuple[str, tuple[str, int]]]:
    """The runs whose trace the batch kept: (label, (scenario, replication))."""
    ok = batch.runs[batch.runs["status"] == "ok"]
    return [(f"{s} r{k}", (s, int(k))) for s, k in zip(ok["scenario"], ok["replication"])
            if batch.run_directory(s, int(k)) is not None]
