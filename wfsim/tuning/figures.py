"""The data of a study's figures, shared by the study widget and the report.

Plain frames computed from an :class:`optuna.Study` through Optuna's public API: the
completed trials' objective values with the Pareto front (:func:`trial_values`,
the front being ``study.best_trials``), the optimisation history with its best so
far (:func:`history`), the parameter importances (:func:`importances`) and the
parallel-coordinates positions (:func:`parallel_coordinates`). The figures only
draw them, with :mod:`wfsim.viz.studies`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from wfsim.viz.studies import ParallelCoordinates


def objective_names(study: optuna.Study) -> list[str]:
    """The study's objective names: its ``metric_names``, else those a study run by
    :func:`~wfsim.tuning.tune` recorded (its ``study`` user attribute), else
    ``value`` (one objective) or ``objective 0``, ``objective 1``, …
    """
    if study.metric_names:
        return list(study.metric_names)
    recorded = [key for objective in (study.user_attrs.get("study") or {}).get("objectives") or ()
                for key in objective]
    n = len(study.directions)
    if len(recorded) == n:
        return recorded
    return ["value"] if n == 1 else [f"objective {i}" for i in range(n)]


def directions(study: optuna.Study, names: Sequence[str]) -> dict[str, str]:
    """Objective name → ``minimize`` or ``maximize``, in the study's order."""
    return {name: direction.name.lower() for name, direction in zip(names, study.directions, strict=True)}


def feasible(trial: FrozenTrial) -> bool:
    """Whether ``trial`` met its constraints (a trial without constraints does)."""
    return all(v <= 0 for v in trial.constraints.values())


def trial_values(study: optuna.Study, names: Sequence[str]) -> pd.DataFrame:
    """The completed trials: ``number``, one column per objective (``names``, in the
    study's order), ``feasible``, and ``front`` (a best trial: ``study.best_trials``,
    the Pareto front of a multi-objective study, feasible trials only).

    Raises:
        ValueError: ``names`` does not name each of the study's objectives.
    """
    if len(names) != len(study.directions):
        raise ValueError(f"{len(names)} objective names for {len(study.directions)} objectives")
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = {t.number for t in study.best_trials} if done else set()
    rows = [{"number": t.number, **dict(zip(names, t.values)), "feasible": feasible(t), "front": t.number in best}
            for t in done]
    return pd.DataFrame(rows, columns=["number", *names, "feasible", "front"])


def history(study: optuna.Study, names: Sequence[str], objective: str) -> pd.DataFrame:
    """The optimisation history of one objective: ``number``, ``value``,
    ``feasible`` and ``best`` (the best feasible value so far, in the objective's
    direction; NaN before the first feasible trial), by trial number."""
    index = list(names).index(objective)
    values = trial_values(study, names)
    frame = pd.DataFrame({"number": values["number"], "value": values[objective].astype(float),
                          "feasible": values["feasible"]})
    counted = frame["value"].where(frame["feasible"])
    if study.directions[index] == StudyDirection.MAXIMIZE:
        frame["best"] = counted.cummax()
    else:
        frame["best"] = counted.cummin()
    return frame


def importances(study: optuna.Study, names: Sequence[str], objective: str) -> pd.Series:
    """How much each parameter mattered to ``objective``: Optuna's
    :func:`~optuna.importance.get_param_importances` (PED-ANOVA: which parameters
    the trials that did best have in common), normalised to sum to 1, highest first.

    Raises:
        ValueError: Fewer than two completed trials (nothing to compare), or Optuna
            cannot assess them (e.g. no parameter varied).
    """
    index = list(names).index(objective)
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2:
        raise ValueError(f"importances need at least 2 completed trials; the study has {len(done)}")
    # PED-ANOVA asks which parameters lead to *low* target values: a maximised
    # objective is negated so that its importances are those of doing well.
    sign = -1.0 if study.directions[index] == StudyDirection.MAXIMIZE else 1.0
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "PedAnovaImportanceEvaluator computes the importances", UserWarning)
            # "Some regimes … have less than 2 trials": true of any small study, and
            # printed once per parameter; the figure's caption says how many trials.
            warnings.filterwarnings("ignore", "Some regimes for parameter", UserWarning)
            found = optuna.importance.get_param_importances(study, target=lambda t: sign * t.values[index])
    except RuntimeError as exc:  # Optuna raises it when the parameters cannot be assessed
        raise ValueError(str(exc)) from None
    return pd.Series(found, name=objective, dtype=float)


def parallel_coordinates(study: optuna.Study, names: Sequence[str], objective: str) -> ParallelCoordinates:
    """The completed trials' parameters and ``objective`` for a parallel-coordinates plot
    (:func:`wfsim.viz.studies.draw_parallel_coordinates`)."""
    index = list(names).index(objective)
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    params = list(dict.fromkeys(p for t in done for p in t.params))
    numbers = [t.number for t in done]
    positions = pd.DataFrame(index=pd.Index(numbers, name="number"), columns=params, dtype=float)
    ticks: dict[str, list[tuple[float, str]]] = {}
    for param in params:
        tried = [(t.number, t.params[param], t.distributions[param]) for t in done if param in t.params]
        distribution = tried[-1][2]
        if isinstance(distribution, CategoricalDistribution):
            choices = distribution.choices
            span = max(len(choices) - 1, 1)
            positions.loc[[n for n, _, _ in tried], param] = [choices.index(v) / span for _, v, _ in tried]
            ticks[param] = [(k / span, str(c)) for k, c in enumerate(choices)]
            continue
        log = isinstance(distribution, FloatDistribution | IntDistribution) and distribution.log
        scaled = [math.log(v) if log else float(v) for _, v, _ in tried]
        low, high = min(scaled), max(scaled)
        spread = high - low
        positions.loc[[n for n, _, _ in tried], param] = [(v - low) / spread if spread else 0.5 for v in scaled]
        raw = [v for _, v, _ in tried]
        ticks[param] = [(0.0, f"{min(raw):.3g}"), (1.0, f"{max(raw):.3g}")] if spread else [(0.5, f"{raw[0]:.3g}")]
    values = pd.Series([t.values[index] for t in done], index=positions.index, name=objective, dtype=float)
    return ParallelCoordinates(positions, ticks, values)
