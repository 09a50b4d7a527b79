"""Batches: every run of a plan, in parallel, kept as it finishes, resumable.

:func:`run_batch` executes a :class:`~wfsim.experiments.batchfile.BatchPlan` in
worker processes (:mod:`~wfsim.experiments.workers`), in this process
(``workers=1``) or on a Dask cluster (``dask=ADDRESS``), and streams each outcome to
the output directory (:mod:`~wfsim.experiments.batchdir`) as it arrives, replication
by replication so that an interrupted batch has comparable scenarios. Running it
again runs only the runs without a record (and, with ``retry_failed``, the failed
ones). :func:`batch` is the same from Python, returning a :class:`BatchResult`::

    import wfsim
    result = wfsim.batch("experiments/placement-batch.yaml", replications=3, workers=2)
    result.summary()        # per scenario and metric: n, mean, sd, 95% interval
    result.paired()         # each scenario minus the baseline, paired on the seed

A saved batch directory opens again without running anything: ``open_batch(DIR)``.

On Dask every run is a task calling :func:`~wfsim.experiments.scenarios.run_one`;
the workers need the same wfsim installed, and with ``trace: full`` the output
directory on a file system they share, since each writes its run's trace there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wfsim.experiments.batchdir import BatchDirectory, opened, read_batch, run_name
from wfsim.experiments.batchfile import BatchPlan, load_plan
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.scenarios import RunOutcome, RunSpec, flat_metrics, run_one
from wfsim.experiments.summaries import markdown, metric_columns, paired_differences, summarize_runs

#: Columns of the runs table before the scenario's labels and after them (then the metrics).
_LEADING = ("scenario",)
_TRAILING = ("replication", "seed", "status", "error", "wall_seconds")


@dataclass
class BatchResult:
    """The runs of a batch and their summaries.

    Attributes:
        plan: What was run.
        runs: One row per run, scenario by scenario: ``scenario``, the scenario's
            labels (its varied keys), ``replication``, ``seed``, ``status`` (ok or
            failed), ``error`` (the first line), ``wall_seconds``, then the flat
            metrics (:func:`~wfsim.experiments.scenarios.flat_metrics`).
        out: The batch directory (None: kept in memory only).
        manifest: The directory's ``batch.json``, for a batch opened with
            :func:`open_batch` (its provenance: versions, git revision, sessions).
    """

    plan: BatchPlan
    runs: pd.DataFrame
    out: Path | None = None
    manifest: dict[str, Any] | None = None

    def summary(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Per scenario and metric: n, mean, sd and 95% interval
        (:func:`~wfsim.experiments.summaries.summarize_runs`)."""
        return summarize_runs(self.runs, metrics)

    def paired(self, baseline: str | None = None, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Each scenario minus ``baseline`` (default: the plan's), paired on the seed
        (:func:`~wfsim.experiments.summaries.paired_differences`)."""
        return paired_differences(self.runs, baseline or self.plan.baseline, metrics)

    @property
    def failed(self) -> pd.DataFrame:
        """The runs that failed."""
        return self.runs[self.runs["status"] != "ok"]

    def markdown(self, cell: str = "ci") -> str:
        """The summary as a Markdown table (``cell``: ``"ci"`` or ``"sd"``, see
        :func:`~wfsim.experiments.summaries.markdown`)."""
        return markdown(self.summary(), _labels(self.plan), cell, count="n" if cell == "ci" else None)

    def run_directory(self, scenario: str | int, replication: int) -> Path | None:
        """The run directory of a run kept with ``trace: full`` (None when the batch
        kept only metrics, is in memory only, or that run has no trace).

        Args:
            scenario: The scenario's name or index.
            replication: The replication's index.
        """
        if self.out is None:
            return None
        index = scenario if isinstance(scenario, int) else self.plan.names.index(scenario)
        path = self.out / "traces" / run_name(index, replication)
        return path if (path / "manifest.json").is_file() else None

    def report(self) -> str:
        """What ``wfsim batch`` prints and writes to ``summary.md``: the means with
        their intervals, then (with several scenarios) the paired differences."""
        n = len(self.plan.seeds)
        text = [f"Mean [95% interval] over {n} replication{'s' * (n != 1)} (failed runs left out):", "",
                self.markdown()]
        if len(self.plan.scenarios) > 1:
            text += ["", f"Difference from {self.plan.baseline}, paired on the seed: mean [95% interval]:", "",
                     markdown(self.paired(), _labels(self.plan), "diff", count="pairs")]
        return "\n".join(text)


def batch(source: str | Path | Mapping[str, Any], out: str | Path | None = None, *,
          replications: int | None = None, seed: int | None = None, seeds: Sequence[int] | None = None,
          overrides: Sequence[str] = (), trace: str | None = None, workers: int | None = None,
          dask: Any = None, retry_failed: bool = False, progress: bool = False) -> BatchResult:
    """Run a batch file or an experiment config; the Python side of ``wfsim batch``.

    Args:
        source: A batch file or experiment config: its path, or its content as a
            mapping (relative paths resolve from the working directory).
        out: The batch directory to write (and resume); None keeps the results in
            memory only.
        replications, seed, seeds, overrides, trace: Replace the file's choices
            (see :func:`~wfsim.experiments.batchfile.load_plan`).
        workers, dask, retry_failed, progress: See :func:`run_batch`.

    Raises:
        ConfigError: A user error (the file, an override, the output directory).
    """
    warm_up(workers, dask)
    plan = load_plan(source, replications=replications, seed=seed, seeds=seeds, overrides=overrides, trace=trace)
    return run_batch(plan, out, workers=workers, dask=dask, retry_failed=retry_failed, progress=progress)


def open_batch(path: str | Path) -> BatchResult:
    """A batch directory written by ``wfsim batch`` (or :func:`batch` with ``out``),
    as a :class:`BatchResult`, without running anything.

    Runs not recorded yet (an interrupted batch) are missing from ``runs``.

    Example::

        result = open_batch("results/placement")
        result.summary()

    Raises:
        ConfigError: ``path`` is not a batch directory, or a record is damaged.
    """
    plan, outcomes, manifest = read_batch(path)
    return BatchResult(plan, runs_table(plan, outcomes), Path(path).absolute(), manifest)


def warm_up(workers: int | None, dask: Any = None) -> None:
    """Start the local worker server, if the batch will use it, while it is planned."""
    if dask is None and (workers or os.cpu_count() or 1) > 1:
        from wfsim.experiments import workers as worker_processes

        worker_processes.warm_up()


def run_batch(plan: BatchPlan, out: str | Path | None = None, *, workers: int | None = None, dask: Any = None,
              retry_failed: bool = False, progress: bool = False) -> BatchResult:
    """Run every run of ``plan`` without a record in ``out``.

    Args:
        plan: The batch.
        out: Its directory (checked and locked before anything runs); None: no files.
        workers: Worker processes (default: one per CPU); 1 runs in this process.
        dask: A Dask scheduler address (``tcp://host:8786``) or ``distributed.Client``
            to run on instead.
        retry_failed: Also run again the runs recorded as failed.
        progress: Show a progress bar (done, failed, remaining) on stderr.

    Raises:
        ConfigError: ``out`` cannot hold this batch, ``trace: full`` without
            ``out``, or the Dask cluster cannot be reached or was lost (the runs
            that finished are kept).
    """
    if plan.trace == "full" and out is None:
        raise ConfigError(plan.source, "trace", "full keeps every run's trace in the batch directory; give one "
                          "(--out) or use trace: metrics")
    # Connected first, so that an unreachable cluster leaves no batch directory behind.
    with _connected(dask) if isinstance(dask, str) else contextlib.nullcontext(dask) as client:
        if out is None:
            return _run(plan, None, workers, client, retry_failed, progress)
        with opened(out, plan) as directory:
            return _run(plan, directory, workers, client, retry_failed, progress)


def _run(plan: BatchPlan, directory: BatchDirectory | None, workers: int | None, dask: Any, retry_failed: bool,
         progress: bool) -> BatchResult:
    from tqdm.auto import tqdm

    outcomes = dict(directory.done) if directory else {}
    todo = [spec for spec in sorted(plan.specs, key=lambda s: (s.replication, plan.index(s)[0]))
            if plan.index(spec) not in outcomes or (retry_failed and outcomes[plan.index(spec)].status != "ok")]
    if directory:
        directory.start(len(todo))
    jobs = [(spec, directory.trace_dir(*plan.index(spec)) if directory and plan.trace == "full" else None)
            for spec in todo]
    rerun = {plan.index(spec) for spec in todo}
    failed = sum(o.status != "ok" for key, o in outcomes.items() if key not in rerun)
    remaining = len(todo)
    with tqdm(total=len(plan.specs), initial=len(plan.specs) - len(todo), desc="batch", unit="run",
              disable=not progress, leave=False) as bar:
        for spec, outcome in _execute(jobs, workers, dask):
            if directory:
                directory.record(*plan.index(spec), outcome)
            outcomes[plan.index(spec)] = outcome
            failed += outcome.status != "ok"
            remaining -= 1
            bar.set_postfix(failed=failed, remaining=remaining, refresh=False)
            bar.update(1)
    result = BatchResult(plan, runs_table(plan, outcomes), directory.path if directory else None)
    if directory:
        directory.write_tables(result.runs, result.summary(metric_columns(result.runs) or None), result.report())
    return result


def _execute(jobs: list[tuple[RunSpec, str | None]], workers: int | None,
             dask: Any) -> Iterator[tuple[RunSpec, RunOutcome]]:
    """Each job's outcome, as it finishes."""
    if dask is not None:
        yield from _on_dask(jobs, dask)
        return
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        for spec, trace_dir in jobs:
            yield spec, run_one(spec, trace_dir)
        return
    from wfsim.experiments.workers import WorkerPool

    with WorkerPool(workers) as pool:
        for index, outcome in pool.run(jobs):
            yield jobs[index][0], outcome


def _on_dask(jobs: list[tuple[RunSpec, str | None]], client: Any) -> Iterator[tuple[RunSpec, RunOutcome]]:
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    futures = {client.submit(run_one, spec, trace_dir, pure=False): spec for spec, trace_dir in jobs}
    for future in as_completed(futures, loop=client.loop):
        spec = futures[future]
        try:
            outcome = future.result()
        except KilledWorker as exc:  # this run killed the workers that ran it
            outcome = RunOutcome(spec.scenario, spec.replication, spec.seed, "failed", error=f"KilledWorker: {exc}")
        except (FutureCancelledError, OSError) as exc:
            raise ConfigError("dask", None, f"lost the cluster ({type(exc).__name__}: {exc}); the runs that "
                              "finished are kept: run the batch again to go on") from None
        yield spec, outcome


@contextlib.contextmanager
def _connected(address: str) -> Iterator[Any]:
    """A client of the Dask scheduler at ``address``, closed on exit."""
    import socket

    from distributed import Client
    from distributed.comm.addressing import parse_address, parse_host_port

    # A TCP address is tried first: a Client that cannot connect reports it once,
    # then again with a traceback when it is collected.
    try:
        scheme, location = parse_address(address)
        if scheme == "tcp":
            socket.create_connection(parse_host_port(location), timeout=10).close()
        client = Client(address, timeout="20s", set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"--dask {address}", None, f"cannot connect to the Dask scheduler ({exc}); allowed: "
                          "a scheduler address such as tcp://host:8786") from None
    try:
        yield client
    finally:
        client.close()


def runs_table(plan: BatchPlan, outcomes: Mapping[tuple[int, int], RunOutcome]) -> pd.DataFrame:
    """One row per run recorded (scenario by scenario): see :attr:`BatchResult.runs`."""
    keys = _label_columns(plan)
    rows = []
    for (i, k), outcome in sorted(outcomes.items()):
        labels = plan.scenarios[i].labels
        rows.append({"scenario": outcome.scenario, **{column: labels.get(key) for key, column in keys.items()},
                     "replication": k, "seed": outcome.seed, "status": outcome.status,
                     "error": outcome.error.splitlines()[0] if outcome.error else None,
                     "wall_seconds": outcome.wall_seconds, **flat_metrics(outcome.metrics or {})})
    columns = [*_LEADING, *keys.values(), *_TRAILING]
    metrics = dict.fromkeys(c for row in rows for c in row if c not in columns)
    return pd.DataFrame(rows, columns=[*columns, *metrics])


def _label_columns(plan: BatchPlan) -> dict[str, str]:
    """The scenarios' label keys → their columns (renamed where a key is taken)."""
    keys = dict.fromkeys(k for s in plan.scenarios for k in s.labels)
    return {k: k if k not in (*_LEADING, *_TRAILING) else f"set:{k}" for k in keys}


def _labels(plan: BatchPlan) -> dict[str, dict[str, str]]:
    """What names each scenario in a table: its labels, and its name unless the
    grid made it from them."""
    named = any(s.name != ",".join(s.overrides) for s in plan.scenarios)
    return {s.name: {**({"scenario": s.name} if named or not s.labels else {}), **s.labels}
            for s in plan.scenarios}
