"""Running a study: :func:`tune` and what it returns.

A study session creates (or loads) the study in its storage, fails and requeues
what a killed session left running, computes the reference run that Balanced is
normalised against, queues the experiment's own configuration as the first trial,
runs trials in ``workers`` processes until ``n_trials`` count, and then evaluates
the best configuration(s) against the experiment as written on held-out seeds.
Rerunning it on the same output directory resumes the study.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import pandas as pd
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from wfsim.experiments.errors import ConfigError
from wfsim.tuning.outputs import BEST_RUN, prepare_study_dir, session_lock, write_atomically, write_json
from wfsim.tuning.samplers import make_sampler, sampler_seeds
from wfsim.tuning.storage import check_storage, claim_for, open_storage, recover
from wfsim.tuning.study import Study, load_study
from wfsim.tuning.trials import Claim, RunFailed, counts, more_to_do, replications, work, worker_info

if TYPE_CHECKING:
    from wfsim.engine.simulation import RunResult

#: Most Pareto-front trials evaluated on the held-out seeds (the first by number).
MAX_HELD_OUT_FRONT = 10


class TuneError(RuntimeError):
    """A study could not be carried out (a worker process failed); one line."""


@dataclass(frozen=True)
class BestTrial:
    """A best trial (or a member of the Pareto front).

    Attributes:
        number: The trial's number.
        values: Objective key → its mean over the tuning seeds.
        params: Optuna parameter name → value.
        overrides: The configuration as overrides of the experiment.
    """

    number: int
    values: dict[str, float]
    params: dict[str, Any]
    overrides: list[str]


@dataclass(frozen=True)
class HeldOut:
    """The best configuration(s) and the experiment as written, on held-out seeds.

    Attributes:
        seeds: The held-out seeds.
        default: Objective key → value on each seed, for the experiment as written.
        best: Trial number → objective key → value on each seed.
    """

    seeds: list[int]
    default: dict[str, list[float]]
    best: dict[int, dict[str, list[float]]]


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Attributes:
        setup: The checked study file (None for a study opened from its directory
            whose study file is no longer found: it can be shown, not re-run).
        study: The Optuna study (trials, storage, user attributes).
        trials: One row per trial (what ``trials.csv`` holds).
        best: The best trial, or the Pareto front of a multi-objective study (empty
            when no trial completed feasibly).
        held_out: The held-out comparison, if the study asked for one.
        out: The output directory, if any.
    """

    setup: Study | None
    study: optuna.Study
    trials: pd.DataFrame
    best: list[BestTrial]
    held_out: HeldOut | None = None
    out: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def rerun_best(self, seed: int | None = None, which: int = 0) -> RunResult:
        """Run a best configuration again, keeping the full trace.

        Args:
            seed: The run seed (default: the first tuning seed).
            which: Which of :attr:`best` (a Pareto front has several).
        """
        return self._rerun(self.best[which].overrides, seed)

    def rerun_trial(self, number: int, seed: int | None = None) -> RunResult:
        """Run the configuration of trial ``number`` again, keeping the full trace.

        Args:
            number: The trial's number.
            seed: The run seed (default: the first tuning seed).

        Raises:
            KeyError: No such trial.
            TuneError: The study file is not known (see :attr:`setup`).
        """
        trials = self.study.get_trials(deepcopy=False)
        found = [t for t in trials if t.number == number]
        if not found:
            raise KeyError(f"no trial {number} in study {self.study.study_name!r} (trials 0–{len(trials) - 1})")
        setup = self._setup()
        return rerun(setup, trial_overrides(setup, found[0]), setup.seeds[0] if seed is None else seed)

    def _rerun(self, overrides: Sequence[str], seed: int | None) -> RunResult:
        setup = self._setup()
        return rerun(setup, overrides, setup.seeds[0] if seed is None else seed)

    def _setup(self) -> Study:
        if self.setup is None:
            raise TuneError(f"study {self.study.study_name!r}: its study file was not found, so its runs cannot be "
                            "repeated; open it with open_study(DIR, study=FILE)")
        return self.setup

    def summary(self) -> list[str]:
        """Lines saying what the study found (what ``wfsim tune`` prints)."""
        states = self.trials["state"].value_counts() if len(self.trials) else pd.Series(dtype=int)
        parts = ", ".join(f"{int(states.get(s, 0))} {w}" for s, w in (("COMPLETE", "complete"), ("PRUNED", "pruned"),
                                                                       ("FAIL", "failed")) if states.get(s, 0))
        where = f" → {self.out}" if self.out else ""
        total = int(sum(map(counts, self.study.get_trials(deepcopy=False))))
        lines = [f"study {self.study.study_name}: {total} trials ({parts or 'none run'}){where}"]
        if not self.best:
            lines.append("no trial completed" + (" feasibly" if self.setup and self.setup.constraints else ""))
        front = len(self.best) > 1 or len(self.study.directions) > 1
        for b in self.best:
            lines.append(f"{'pareto' if front else 'best'} trial {b.number}: {_values(b.values)}   "
                         + " ".join(f"{k}={_plain(v)}" for k, v in b.params.items()))
        if self.held_out is not None:
            n = len(self.held_out.seeds)
            lines.append(f"held-out ({n} seed{'s' * (n != 1)}): default {_spread(self.held_out.default)}")
            lines += [f"    trial {number}: {_spread(values)}" for number, values in self.held_out.best.items()]
        return lines


def _values(values: Mapping[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in values.items())


def _plain(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _spread(values: Mapping[str, Sequence[float]]) -> str:
    def one(xs: Sequence[float]) -> str:
        return f"{statistics.fmean(xs):.4g}" + (f" ± {statistics.stdev(xs):.2g}" if len(xs) > 1 else "")
    return "  ".join(f"{k} {one(xs)}" for k, xs in values.items())


# --- the session -----------------------------------------------------------------------
def tune(study: str | Path | Mapping[str, Any], out: str | Path | None = None, *, n_trials: int | None = None,
         workers: int = 1, storage: str | None = None, sampler: str | None = None,
         progress: bool = False) -> TuneResult:
    """Run (or resume) a study.

    Args:
        study: A study file (:mod:`wfsim.tuning.study`), or its content as a mapping
            (``experiment`` then relative to the working directory).
        out: The output directory: the journal storage (unless ``storage``),
            ``trials.csv``, ``best.json`` and ``best-run/``. None keeps the study
            in memory (or in ``storage``) and writes nothing.
        n_trials: Trials in all, replacing the file's ``n_trials``.
        workers: Worker processes running trials at once.
        storage: A database URL (``postgresql://…``) instead of the journal file.
        sampler: Replaces the file's ``sampler``.
        progress: Show a progress bar.

    Returns:
        The study's trials, best trial(s) and held-out comparison.

    Raises:
        ConfigError: The study, its experiment, ``out`` or ``storage`` is refused
            (before anything runs).
        RunDirectoryError: ``out/best-run`` holds something wfsim must not replace.
        TuneError: A worker process failed.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trials are summarised, not logged one by one
    if workers < 1:
        raise ConfigError("--workers", None, f"must be >= 1, got {workers}")
    check_storage(storage, workers)
    if workers > 1 and out is None and storage is None:
        raise ConfigError("--workers", None, "worker processes share the study through a journal file in an output "
                          "directory or a --storage database; give one")
    setup = load_study(study, n_trials=n_trials, sampler=sampler)
    database = open_storage(storage, None) if storage is not None else None  # reachable before DIR is made
    out_dir = prepare_study_dir(out, setup.name, setup.fingerprint()) if out is not None else None
    timings: dict[str, float] = {}
    with session_lock(out_dir) if out_dir is not None else contextlib.nullcontext():
        store = database or open_storage(None, out_dir)
        claim = claim_for(store, out_dir, setup.name)
        started = time.perf_counter()
        seeds = _start(setup, store, claim, out_dir, storage, workers)
        timings["start"] = time.perf_counter() - started
        started = time.perf_counter()
        _run(setup, store, claim, out_dir, storage, seeds, progress)
        timings["trials"] = time.perf_counter() - started
        result = _collect(setup, optuna.load_study(study_name=setup.name, storage=store), out_dir, timings)
    return result


def open_study(path: str | Path, *, study: str | Path | None = None, storage: str | None = None) -> TuneResult:
    """A study directory written by ``wfsim tune`` (or :func:`tune` with ``out``), as a
    :class:`TuneResult`, without running anything.

    Its trials come from the study's storage; ``best`` and ``held_out`` from
    ``best.json``. To re-run trials the study file is needed: ``study``, else the
    file the study was run from if it is still there and describes the same study
    (else :attr:`TuneResult.setup` is None).

    Args:
        path: The study directory.
        study: The study file, if it has moved.
        storage: The database URL, for a study run with ``--storage``.

    Example::

        result = open_study("results/tune")
        result.trials, result.best

    Raises:
        ConfigError: ``path`` is not a study directory, ``study`` is another study's
            file, or the storage cannot be read.
    """
    import json

    from wfsim.tuning.outputs import FORMAT, MARKER

    out = Path(path).absolute()
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
        assert isinstance(marker, dict) and marker.get("format") == FORMAT
        name, fingerprint = str(marker["name"]), marker["fingerprint"]
    except (OSError, ValueError, AssertionError, KeyError):
        raise ConfigError(str(out), None, f"is not a wfsim study directory (no readable {MARKER}); expected one "
                          "written by wfsim tune") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_storage(storage, 1)
    store = open_storage(storage, None) if storage is not None else open_storage(None, out)
    try:
        loaded = optuna.load_study(study_name=name, storage=store)
    except KeyError:
        raise ConfigError(storage or str(out), None, f"holds no study named {name!r}") from None
    setup = _setup_of(loaded, fingerprint, study)
    trials = trials_frame(setup, loaded) if setup is not None else _read_csv(out / "trials.csv")
    best, held = _read_best(out / "best.json")
    return TuneResult(setup, loaded, trials, best, held, out)


def _setup_of(study: optuna.Study, fingerprint: str, file: str | Path | None) -> Study | None:
    """The study file of ``study``: ``file`` (checked), else its recorded source if
    that still describes the same study."""
    recorded = (study.user_attrs.get("study") or {}).get("source")
    candidate = file if file is not None else recorded
    if candidate is None or (file is None and not Path(candidate).is_file()):
        return None
    try:
        setup = load_study(candidate)
    except ConfigError:
        if file is not None:
            raise
        return None
    if setup.fingerprint() != fingerprint:
        if file is not None:
            raise ConfigError(str(file), None, f"describes another study than {study.study_name!r} (its experiment, "
                              "space, objectives, replications, seed or constraints differ)")
        return None
    return setup


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return pd.DataFrame()


def _read_best(path: Path) -> tuple[list[BestTrial], HeldOut | None]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        best = [BestTrial(int(b["number"]), dict(b["values"]), dict(b["params"]), list(b["overrides"]))
                for b in data.get("best") or []]
        held = data.get("held_out")
        return best, None if not held else HeldOut(
            list(held["seeds"]), dict(held["default"]), {int(k): v for k, v in held["best"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return [], None  # a study interrupted before its end has no best.json yet


def _start(setup: Study, storage: optuna.storages.BaseStorage, claim: Claim, out: Path | None, url: str | None,
           workers: int) -> list[int]:
    """Create or load the study, recover it, record this session; the sampler seeds."""
    claim.acquire()
    try:
        study = optuna.create_study(storage=storage, study_name=setup.name, load_if_exists=True,
                                    directions=[StudyDirection[d.upper()] for d in setup.directions])
        attrs = study.user_attrs
        if "fingerprint" not in attrs:
            for key, value in _study_attrs(setup).items():
                study.set_user_attr(key, value)
        elif attrs["fingerprint"] != setup.fingerprint():
            raise ConfigError(f"--storage {url}" if url else str(out), None,
                              f"holds a study named {setup.name!r} with other settings; give this study another "
                              "name (name: in the study file) or another storage")
        recover(study, out, journal=url is None and out is not None)
        if setup.needs_reference and "reference" not in attrs:
            study.set_user_attr("reference", [r.measures for r in replications(
                setup, [], setup.seeds, "the experiment as written (the reference)", check=False)])
        if not study.get_trials(deepcopy=False):
            defaults = setup.space.defaults()
            if defaults is not None:
                study.enqueue_trial(defaults, user_attrs={"defaults": True})
        session = sum(key.startswith("session.") for key in study.user_attrs)
        seeds = sampler_seeds(setup.file.seed, session, workers)
        study.set_user_attr(f"session.{session}", {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "workers": workers, "sampler": setup.file.sampler,
            "sampler_seeds": seeds, "n_trials": setup.file.n_trials, "pruner": setup.pruner,
            **{k: v for k, v in worker_info(str(out) if out else None, 0).items() if k in ("host", "pid")}})
        return seeds
    except RunFailed as exc:
        raise ConfigError(str(setup.experiment), None, str(exc)) from None
    finally:
        claim.release()


def _study_attrs(setup: Study) -> dict[str, Any]:
    from importlib import metadata

    return {"fingerprint": setup.fingerprint(), "study": setup.describe(), "seed": setup.file.seed,
            "seeds": setup.seeds, "held_out_seeds": setup.held_out_seeds,
            "versions": {"wfsim": metadata.version("wfsim"), "optuna": optuna.__version__,
                         "python": sys.version.split()[0]}}


def _run(setup: Study, storage: optuna.storages.BaseStorage, claim: Claim, out: Path | None, url: str | None,
         seeds: list[int], progress: bool) -> None:
    """Run the trials: in this process for one worker, else in worker processes."""
    from tqdm.auto import tqdm

    study = optuna.load_study(study_name=setup.name, storage=storage)
    total = setup.file.n_trials

    def finished() -> int:
        return sum(counts(t) and t.state.is_finished() for t in study.get_trials(deepcopy=False))

    with tqdm(total=total, initial=min(finished(), total), desc="tuning", unit="trial", leave=False,
              disable=not progress) as bar:
        def refresh() -> None:
            bar.n = min(finished(), total)
            bar.refresh()

        if not more_to_do(study, total):
            return  # a finished study: no worker to start
        if len(seeds) == 1:
            work(setup, storage, claim, make_sampler(setup.file.sampler, seeds[0]), total,
                 worker_info(str(out) if out else None, 0), after_trial=refresh)
            return
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks or connections
        processes = [context.Process(target=_worker_main, name=f"wfsim-tune-{k}",
                                     args=(setup, url, str(out) if out else None, seed, k))
                     for k, seed in enumerate(seeds)]
        try:
            for p in processes:
                p.start()
            while any(p.is_alive() for p in processes):
                time.sleep(0.5)
                refresh()
        finally:
            for p in processes:
                if p.is_alive():
                    p.terminate()  # Ctrl-C or SIGTERM here: their trials are recovered next time
                p.join()
        failed = [(k, p.exitcode) for k, p in enumerate(processes) if p.exitcode != 0]
        if failed:
            raise TuneError(f"worker {failed[0][0]} exited with status {failed[0][1]} (its error is above); "
                            "rerun the same command to resume the study")


def _worker_main(setup: Study, url: str | None, out: str | None, seed: int, index: int) -> None:
    """A worker process: run trials until the study has its ``n_trials``."""
    _die_with_parent()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    out_dir = Path(out) if out else None
    storage = open_storage(url, out_dir)
    try:
        work(setup, storage, claim_for(storage, out_dir, setup.name), make_sampler(setup.file.sampler, seed),
             setup.file.n_trials, worker_info(out, index))
    except Exception as exc:
        print(f"wfsim: error: worker {index}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (a killed ``wfsim tune``
    leaves no worker behind); elsewhere a no-op."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- the results -----------------------------------------------------------------------
def _collect(setup: Study, study: optuna.Study, out: Path | None, timings: dict[str, float]) -> TuneResult:
    best = best_trials(setup, study)
    held = held_out(setup, best) if setup.file.held_out and best else None
    result = TuneResult(setup, study, trials_frame(setup, study), best, held, out, timings)
    if out is not None:
        write_atomically(out / "trials.csv", result.trials.to_csv(index=False))
        write_json(out / "best.json", best_json(result))
        if best:
            from wfsim.trace.rundir import write_run

            run = result.rerun_best()
            assert run.trace is not None  # rerun keeps the full trace
            write_run(out / BEST_RUN, run.trace, run.metrics)
    return result


def best_trials(setup: Study, study: optuna.Study) -> list[BestTrial]:
    """The best feasible trial, or the Pareto front (by trial number)."""
    if len(setup.objectives) == 1:
        try:
            found = [study.best_trial]
        except ValueError:  # no completed (feasible) trial
            found = []
    else:
        found = sorted(study.best_trials, key=lambda t: t.number)
    return [BestTrial(t.number, dict(zip((o.key for o in setup.objectives), t.values or ())), dict(t.params),
                      trial_overrides(setup, t)) for t in found]


def held_out(setup: Study, best: Sequence[BestTrial]) -> HeldOut:
    """The experiment as written and the best configuration(s) on the held-out seeds
    (Balanced normalised against the former, seed by seed)."""
    seeds = setup.held_out_seeds
    keys = [o.key for o in setup.objectives]
    default = list(replications(setup, [], seeds, "the experiment as written (held out)", check=False))
    reference = [r.measures for r in default]
    found: dict[int, dict[str, list[float]]] = {}
    done: dict[tuple[str, ...], dict[str, list[float]]] = {}  # a front often holds one configuration twice
    for b in best[:MAX_HELD_OUT_FRONT]:
        if tuple(b.overrides) not in done:
            runs = list(replications(setup, b.overrides, seeds, f"trial {b.number} (held out)", reference,
                                     check=False))
            done[tuple(b.overrides)] = {k: [r.values[i] for r in runs] for i, k in enumerate(keys)}
        found[b.number] = done[tuple(b.overrides)]
    return HeldOut(seeds, {k: [r.values[i] for r in default] for i, k in enumerate(keys)}, found)


def rerun(setup: Study, overrides: Sequence[str], seed: int) -> RunResult:
    """Run a configuration of ``setup`` once with its full trace."""
    from wfsim.experiments.building import build_simulation
    from wfsim.experiments.loading import validate_config
    from wfsim.experiments.scenarios import Scenario, prepare_specs

    (spec,) = prepare_specs(setup.experiment, [Scenario("best", tuple(overrides))], [seed], setup.file.set,
                            trace="full", data=setup.experiment_data)
    sim = build_simulation(validate_config(dict(spec.config), spec.source), spec.base_dir, spec.source, seed=seed)
    return sim.run()


def trial_overrides(setup: Study, trial: FrozenTrial) -> list[str]:
    """A trial's configuration as overrides of the experiment: as recorded when it
    ran, else derived from its parameters."""
    return list(trial.user_attrs.get("overrides") or setup.space.overrides(trial.params))


def trials_frame(setup: Study, study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, objective values, parameters, feasibility
    and constraint counts, per-replication values, why it was pruned or failed,
    ``retry_of``, seconds and overrides."""
    keys = [o.key for o in setup.objectives]
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        row.update(dict(zip(keys, t.values or [None] * len(keys))))
        row.update(t.params)
        if setup.constraints:
            row["feasible"] = all(v <= 0 for v in t.constraints.values()) if t.constraints else None
            row.update({f"false.{name}": t.constraints.get(name) for name in setup.constraints})
        for k in range(setup.file.replications):
            rep = t.user_attrs.get(f"r{k}")
            row.update({f"{key}@r{k}": None if rep is None else rep["values"][i] for i, key in enumerate(keys)})
        row["reason"] = _reason(t)
        row["retry_of"] = t.user_attrs.get("retry_of")
        row["seconds"] = t.duration.total_seconds() if t.duration is not None else None
        row["overrides"] = " ".join(t.user_attrs.get("overrides") or [])
        rows.append(row)
    return pd.DataFrame(rows)


def _reason(t: FrozenTrial) -> str:
    for key in ("refused", "error"):
        if key in t.user_attrs:
            return f"{key}: {t.user_attrs[key]}"
    if t.state == TrialState.PRUNED:
        return "pruned by the pruner"
    if t.state == TrialState.FAIL:
        return "interrupted (retried)"
    return "defaults (the experiment's values, else the declared defaults)" if t.user_attrs.get("defaults") else ""


def best_json(result: TuneResult) -> dict[str, Any]:
    """What ``best.json`` holds."""
    attrs = result.study.user_attrs
    held = result.held_out
    return {
        "format": "wfsim-tune/1",
        "study": attrs.get("study"),
        "versions": attrs.get("versions"),
        "sessions": {k: v for k, v in attrs.items() if k.startswith("session.")},
        "trials": {s: int((result.trials["state"] == s).sum()) if len(result.trials) else 0
                   for s in ("COMPLETE", "PRUNED", "FAIL")},
        "best": [b.__dict__ for b in result.best],
        "held_out": None if held is None else {"seeds": held.seeds, "default": held.default,
                                               "best": {str(k): v for k, v in held.best.items()}},
    }

