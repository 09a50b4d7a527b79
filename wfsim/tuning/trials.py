"""One trial of a study, and the loop a worker runs trials in.

A trial samples a configuration (:meth:`Space.suggest <wfsim.tuning.space.Space.suggest>`),
runs it on every replication seed of the study, in this process, one after another
(:func:`~wfsim.experiments.scenarios.run_one`), and returns the mean of each
objective over the replications. Along the way it records, as user attributes:
``overrides``, each replication's seed, values and measures (``r0``, ``r1``, …) and
the worker that ran it; a configuration the experiment refuses (a strategy's check
of one parameter against another, a pre-flight check) is pruned with the reason
in ``refused``; a run that raises fails the trial with the error in ``error``.

With one objective, the running mean is reported after each replication so that a
pruner can stop a poor configuration early. With constraints, each catalog
property's count of replications on which it was false is an Optuna constraint
(``trial.set_constraint``: feasible when every count is 0).
"""

from __future__ import annotations

import collections
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.pruners import BasePruner, MedianPruner, NopPruner, SuccessiveHalvingPruner
from optuna.trial import FrozenTrial, TrialState

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.scenarios import RunOutcome, Scenario, flat_metrics, prepare_specs, run_one
from wfsim.tuning.objectives import Measures, derive, mean

if TYPE_CHECKING:
    from wfsim.engine.simulation import RunResult
    from wfsim.tuning.study import Study

#: Pruners by name: each judges the running mean over a trial's first replications.
PRUNERS: dict[str, Callable[[], BasePruner]] = {
    "median": lambda: MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    "successive_halving": lambda: SuccessiveHalvingPruner(),
    "none": lambda: NopPruner(),
}


class RunFailed(Exception):
    """A run of a trial raised; the trial fails (and counts as done)."""


@dataclass(frozen=True)
class Replication:
    """One run of a configuration: its seed, measures and objective values."""

    seed: int
    measures: dict[str, float | None]
    values: list[float]
    false: dict[str, int]  # per constraint property: 1 if its verdict was false


def replications(study: Study, overrides: Sequence[str], seeds: Sequence[int], label: str,
                 reference: Sequence[Measures] | None = None, check: bool = True) -> Iterator[Replication]:
    """Run a configuration of ``study`` on ``seeds``, one replication at a time.

    Args:
        study: The study.
        overrides: The configuration, as overrides of the experiment.
        seeds: The run seeds.
        label: Names the configuration in messages (``trial 7``, ``default``).
        reference: Measures of the reference run on each seed (for Balanced); None
            when this configuration is the reference.
        check: Check the study's constraint properties on each run's trace.

    Raises:
        ConfigError: The configuration is refused (before anything runs).
        RunFailed: A run raised.
    """
    properties = _properties(study.constraints if check else [])
    specs = prepare_specs(study.experiment, [Scenario(label, tuple(overrides))], seeds, study.file.set,
                          trace="full" if properties else "metrics", data=study.experiment_data)

    def inspect(result: RunResult) -> dict[str, Any]:
        from wfsim.verify.properties import TraceView

        view = TraceView(result.trace)
        return {"false": {p.name: int(p.check(view).verdict == "false") for p in properties}}

    for k, spec in enumerate(specs):
        outcome = run_one(spec, inspect=inspect if properties else None)
        yield _replication(outcome, study, None if reference is None else reference[k], label)


def _replication(outcome: RunOutcome, study: Study, reference: Measures | None, label: str) -> Replication:
    if outcome.status != "ok" or outcome.metrics is None:
        first = (outcome.error or "unknown error").split("\n", 1)[0]
        raise RunFailed(f"{label}: the run with seed {outcome.seed} failed: {first}")
    m = derive(flat_metrics(outcome.metrics))
    # Without a reference, the run is the reference (the experiment as written).
    return Replication(outcome.seed, m, [o.value(m, m if reference is None else reference) for o in study.objectives],
                       dict((outcome.inspected or {}).get("false", {})))


def _properties(names: Sequence[str]) -> list[Any]:
    from wfsim.verify.catalog import CATALOG

    return [CATALOG[n] for n in names]


class TrialObjective:
    """The objective function Optuna calls for each trial.

    Args:
        study: The study.
        reference: Measures of the reference run on each tuning seed (for Balanced).
        on_start: Called first thing (releases the worker's claim on the study).
        worker: Who runs the trials (host, process, output directory), recorded
            on each so that a trial left running by a killed process is recognised.
    """

    def __init__(self, study: Study, reference: Sequence[Measures] | None, on_start: Callable[[], None],
                 worker: Mapping[str, Any]) -> None:
        if study.needs_reference and reference is None:
            raise ValueError(f"study {study.name!r}: Balanced needs the reference run, which is not in its storage")
        self.study = study
        self.reference = reference
        self.on_start = on_start
        self.worker = dict(worker)

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        self.on_start()
        trial.set_user_attr("worker", self.worker)
        overrides = self.study.space.suggest(trial)
        trial.set_user_attr("overrides", overrides)
        single = len(self.study.objectives) == 1
        false: collections.Counter[str] = collections.Counter()
        runs: list[list[float]] = []
        try:
            for k, rep in enumerate(replications(self.study, overrides, self.study.seeds, f"trial {trial.number}",
                                                 self.reference)):
                runs.append(rep.values)
                false.update(rep.false)
                trial.set_user_attr(f"r{k}", {"seed": rep.seed, "values": rep.values, "measures": rep.measures})
                if single and k + 1 < len(self.study.seeds):
                    trial.report(mean([r[0] for r in runs]), k)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned after {k + 1} replication(s)")
        except ConfigError as exc:
            trial.set_user_attr("refused", str(exc))
            raise optuna.TrialPruned(f"configuration refused: {exc}") from None
        except RunFailed as exc:
            trial.set_user_attr("error", str(exc))
            raise
        finally:
            for name in self.study.constraints:
                if runs:
                    trial.set_constraint(name, float(false[name]))
        means = [mean(column) for column in zip(*runs)]
        return means[0] if single else means


# --- what counts, and the worker loop --------------------------------------------------
def counts(trial: FrozenTrial) -> bool:
    """Whether ``trial`` counts towards the study's trials: it finished (complete,
    pruned, or failed with an error of its own), runs, or waits. A trial failed
    without an error was interrupted; it is retried (:func:`retry`) instead."""
    return trial.state != TrialState.FAIL or "error" in trial.user_attrs


def more_to_do(study: optuna.Study, n_trials: int) -> bool:
    """Whether a worker should start a trial: one waits (queued or retried), or
    fewer than ``n_trials`` count."""
    trials = study.get_trials(deepcopy=False)
    return any(t.state == TrialState.WAITING for t in trials) or sum(map(counts, trials)) < n_trials


def retry(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue an interrupted trial's parameters again, once (user attribute ``retry_of``)."""
    if any(t.user_attrs.get("retry_of") == trial.number for t in study.get_trials(deepcopy=False)):
        return
    study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})


class Claim:
    """What a worker holds while it decides to start a trial and creates it, so that
    workers together start exactly ``n_trials``: a no-op for one worker on its own
    storage; see :mod:`wfsim.tuning.storage` for the shared ones."""

    def acquire(self) -> None:
        """Wait for the claim."""

    def release(self) -> None:
        """Let go of it (if held)."""


def work(study: Study, storage: optuna.storages.BaseStorage, claim: Claim, sampler: optuna.samplers.BaseSampler,
         n_trials: int, worker: Mapping[str, Any], after_trial: Callable[[], None] | None = None) -> None:
    """Run trials of ``study`` until ``n_trials`` count.

    Args:
        study: The study (already created in ``storage`` under its name).
        storage: The shared storage.
        claim: This worker's claim on the study.
        sampler: This worker's sampler.
        n_trials: How many trials the study is to have in all.
        worker: Recorded on each trial (:class:`TrialObjective`).
        after_trial: Called after each trial (progress).
    """
    optuna_study = optuna.load_study(study_name=study.name, storage=storage, sampler=sampler,
                                     pruner=PRUNERS[study.pruner]())
    objective = TrialObjective(study, optuna_study.user_attrs.get("reference"), claim.release, worker)
    while True:
        claim.acquire()
        try:
            if not more_to_do(optuna_study, n_trials):
                return
            optuna_study.optimize(objective, n_trials=1, catch=(RunFailed,))
        finally:
            claim.release()
        if after_trial is not None:
            after_trial()


def worker_info(out: str | None, index: int) -> dict[str, Any]:
    """Who runs a trial: host, process id, output directory and worker index."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "out": out, "index": index}
