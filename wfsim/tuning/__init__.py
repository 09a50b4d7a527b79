"""Tuning strategies and settings with Optuna: studies over the declared parameters.

* :mod:`~wfsim.tuning.study` — study files: experiment, space, objectives, seeds;
* :mod:`~wfsim.tuning.space` — the search space from the parameter declarations;
* :mod:`~wfsim.tuning.objectives` — the seed's scores and named metric objectives;
* :mod:`~wfsim.tuning.samplers` — samplers by name, the seed's ε-greedy one included;
* :mod:`~wfsim.tuning.trials` — one trial (replications, pruning, constraints);
* :mod:`~wfsim.tuning.storage`, :mod:`~wfsim.tuning.outputs` — storage, workers'
  coordination and resumption; the output directory;
* :mod:`~wfsim.tuning.session` — :func:`tune`, a whole session, and its results.

::

    from wfsim import tune
    result = tune("experiments/studies/tune-placement.yaml", out="results/tune", n_trials=20)
    result.best[0].overrides          # the best configuration, as --set overrides
    result.trials                     # one row per trial
    run = result.rerun_best()         # its run again, with the full trace
    again = open_study("results/tune")  # the saved study, without running anything
"""

from __future__ import annotations

from wfsim.tuning.objectives import OptimizationObjective
from wfsim.tuning.samplers import SAMPLERS, EpsilonGreedySampler
from wfsim.tuning.session import BestTrial, HeldOut, TuneError, TuneResult, open_study, tune
from wfsim.tuning.study import Study, load_study

__all__ = ["SAMPLERS", "BestTrial", "EpsilonGreedySampler", "HeldOut", "OptimizationObjective", "Study",
           "TuneError", "TuneResult", "load_study", "open_study", "tune"]
