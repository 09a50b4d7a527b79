"""A study's trials: history, Pareto front, importances, parallel coordinates, re-runs."""

from __future__ import annotations

import html
import time
from pathlib import Path

import ipywidgets as widgets
import optuna
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from wfsim.tuning import figures
from wfsim.tuning.session import TuneResult, best_trials, open_study, trials_frame
from wfsim.tuning.study import Study
from wfsim.viz.studies import draw_history, draw_importances, draw_parallel_coordinates, draw_pareto
from wfsim.widgets.base import FigureCanvas, View
from wfsim.widgets.runs import run_widgets


class StudyExplorer(View):
    """A study's trials, and any trial's run again with its full trace.

    Panels (one drawn at a time): the optimisation history of an objective (each
    completed trial's value, the line the best feasible value so far); the Pareto
    front of a multi-objective study (two objectives chosen among them, the front
    being Optuna's ``study.best_trials`` over all objectives, infeasible trials
    crossed); the parameter importances for an objective (Optuna's PED-ANOVA; a
    study with fewer than two completed trials gets a message); parallel
    coordinates (each parameter's axis from its lowest to its highest value tried,
    categories as codes labelled with their choices, lines coloured by the
    objective; a line passes by the axis of a conditional parameter its trial
    lacks). The data come from :mod:`wfsim.tuning.figures` and the panels are drawn
    by :mod:`wfsim.viz.studies`, both shared with the report.

    Choosing a completed trial and pressing *re-run* runs its configuration again
    with the full trace (:meth:`TuneResult.rerun_trial`) and shows its headline
    metrics and a :class:`~wfsim.widgets.TraceExplorer` below; the status line says
    it is running and shows any error.

    What is drawn stays small whatever the study: points per trial in the history
    and front, one bar per parameter, and at most
    :data:`~wfsim.viz.studies.MAX_LINES` lines in parallel coordinates (a seeded
    sample then, with the best trials always drawn).

    Args:
        study: A :func:`~wfsim.tune` result, an Optuna study, or the path of a study
            directory (:func:`~wfsim.tuning.open_study`).
        setup: The study file of an Optuna study, to name its objectives and re-run
            its trials (without it, trials cannot be re-run).

    Attributes:
        result: The study shown, as a :class:`~wfsim.tuning.TuneResult`.
        names: The objectives' names.
        widget: The view (CSS class ``wfsim-study-explorer``).
        canvas: The figure.
        panel, objective, x, y: The controls of the figure (``x``, ``y``: the
            Pareto front's objectives).
        trial, rerun, status: The trial to re-run, its button, what happened.
        run_output: Where the re-run is shown.
    """

    def __init__(self, study: TuneResult | optuna.Study | str | Path, setup: Study | None = None) -> None:
        self.result = _opened(study, setup)
        self.study = self.result.study
        setup = self.result.setup
        self.names = [o.key for o in setup.objectives] if setup else figures.objective_names(self.study)
        self.values = figures.trial_values(self.study, self.names)
        multi = len(self.names) > 1
        self.canvas = FigureCanvas(figsize=(9.0, 4.5))
        self.canvas.image.add_class("wfsim-figure")
        panels = ["history", *(["pareto front"] if multi else []), "importances", "parallel coordinates"]
        self.panel = widgets.ToggleButtons(options=panels, value=panels[0])
        self.objective = widgets.Dropdown(options=self.names, value=self.names[0], description="objective")
        self.x = widgets.Dropdown(options=self.names, value=self.names[0], description="x")
        self.y = widgets.Dropdown(options=self.names, value=self.names[min(1, len(self.names) - 1)],
                                  description="y")
        axes = widgets.HBox([self.x, self.y])
        axes.layout.display = None if len(self.names) > 2 else "none"  # two objectives: nothing to choose
        for control in (self.panel, self.objective, self.x, self.y):
            control.observe(lambda _: self.refresh(), names="value")
        self.trial = widgets.Dropdown(options=self._trial_options(), description="trial")
        self.rerun = widgets.Button(description="re-run with its trace", icon="play",
                                    disabled=not self.trial.options)
        self.rerun.on_click(lambda _: self.rerun_trial())
        self.status = widgets.HTML()
        self.run_output = widgets.VBox()
        self.widget = widgets.VBox([self.panel, widgets.HBox([self.objective, axes]), self.canvas.image,
                                    widgets.HBox([self.trial, self.rerun]), self.status, self.run_output])
        self.widget.add_class("wfsim-study-explorer")
        self.refresh()

    def _trial_options(self) -> list[tuple[str, int]]:
        """Completed trials, the best first, then by number."""
        rows = self.values.sort_values(["front", "number"], ascending=[False, True])
        return [(f"{int(r['number'])}{' (best)' if r['front'] else ''}: "
                 + ", ".join(f"{n} {r[n]:.4g}" for n in self.names), int(r["number"])) for _, r in rows.iterrows()]

    def refresh(self) -> None:
        """Redraw the chosen panel."""
        self.objective.layout.display = "none" if self.panel.value == "pareto front" else None
        self.canvas.draw(self._paint)

    def _paint(self, figure: Figure) -> None:
        ax = figure.add_subplot()
        if self.values.empty:
            _message(ax, "no completed trial yet")
            return
        {"history": self._history, "pareto front": self._pareto, "importances": self._importances,
         "parallel coordinates": self._parallel}[self.panel.value](ax)

    def _history(self, ax: Axes) -> None:
        name = self.objective.value
        draw_history(ax, figures.history(self.study, self.names, name), name)

    def _pareto(self, ax: Axes) -> None:
        draw_pareto(ax, self.values, self.x.value, self.y.value, figures.directions(self.study, self.names))

    def _importances(self, ax: Axes) -> None:
        try:
            found = figures.importances(self.study, self.names, self.objective.value)
        except ValueError as exc:
            _message(ax, f"no importances: {exc}")
            return
        draw_importances(ax, found)

    def _parallel(self, ax: Axes) -> None:
        data = figures.parallel_coordinates(self.study, self.names, self.objective.value)
        draw_parallel_coordinates(ax, data, keep=set(self.values.loc[self.values["front"], "number"]))

    # --- re-running a trial -------------------------------------------------------------
    def rerun_trial(self) -> None:
        """Run the chosen trial again with its full trace and show it below."""
        number = self.trial.value
        self.status.value = f"running trial {number}…"
        began = time.perf_counter()
        try:
            run = self.result.rerun_trial(number)
            assert run.trace is not None  # a re-run keeps the full trace
            self.run_output.children = run_widgets(f"trial {number}, seed {run.trace.manifest.get('seed')}",
                                                   run.trace, run.metrics)
        except Exception as exc:  # a callback's error goes to the status line, not a lost traceback
            self.status.value = f"<span style='color:#b00'>trial {number}: {html.escape(type(exc).__name__)}: " \
                                f"{html.escape(str(exc))}</span>"
            return
        self.status.value = f"trial {number} re-run in {time.perf_counter() - began:.1f} s"


def _opened(study: TuneResult | optuna.Study | str | Path, setup: Study | None) -> TuneResult:
    if isinstance(study, TuneResult):
        return study
    if isinstance(study, optuna.Study):
        trials = trials_frame(setup, study) if setup else None
        return TuneResult(setup, study, trials if trials is not None else study.trials_dataframe(),
                          best_trials(setup, study) if setup else [])
    return open_study(study)


def _message(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
