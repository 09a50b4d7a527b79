"""The ``wfsim`` command.

``wfsim run CONFIG --out DIR [--seed N] [--set key=value …] [--trace full|metrics] [--strict]``
    Run an experiment config and write the run directory ``DIR``
    (:mod:`wfsim.trace.rundir`: checked writable first, written atomically, never over
    a user's files); ``--trace metrics`` keeps only the manifest and ``metrics.json``.
    Failed workflows are reported; ``--strict`` makes them exit 1.
``wfsim validate CONFIG [--set …]``
    Check a config (including its topology, workflow and arrival files) without running.
``wfsim info DIR``
    Check a saved run (manifest, file sizes and checksums) and summarise it.
``wfsim compare CONFIG --vary KEY=V1,V2 [--seeds N …] [--out FILE] [--workers K]``
    Run each value (same seeds for all) in K worker processes and print a Markdown
    table of latency, makespan, throughput, cost, energy and deadline misses (mean ±
    sd); exit status 1 if a run failed (the others are tabulated).
``wfsim batch FILE --out DIR [--replications R] [--seed S] [--workers K | --dask ADDRESS] [--trace …] [--set …]``
    Run the scenarios × replications of a batch file (:mod:`wfsim.experiments.batch`) in parallel,
    each run's record written to ``DIR`` as it finishes; running it again runs only what is missing.
    Prints means with 95% intervals and paired differences from the baseline; ``--retry-failed``
    runs failed runs again; exit status 1 if any run failed.
``wfsim check-history FILE… [--model register|kv] [--consistency …] [--format …] [--jobs K]``
    Check histories (wfsim JSONL, Jepsen log, EDN; a run directory: its attempts at that level) for a
    consistency model: a JSON line per file with its ``verdict``; a user error: a line on stderr, exit 2.
``wfsim history DIR [--level L] [--format jsonl|edn] [--out FILE [--force]]``
    Write a run's replicated-state operations as a history (:func:`wfsim.verify.history.from_trace`).
``wfsim params [NAME …] [--json]``
    List the declared parameters of strategies and settings groups: kind, default,
    range or choices, doc; what a config accepts and the tuner searches.
``wfsim tune STUDY --out DIR [--n-trials N] [--workers K] [--storage URL] [--sampler NAME]``
    Tune strategies and settings with Optuna (:mod:`wfsim.tuning`); prints the best
    trial (or Pareto front) and the held-out comparison, writes ``DIR/trials.csv``,
    ``best.json`` and ``best-run``. Rerun on the same ``DIR`` to resume.
``wfsim report DIR… -o FILE.html [--title T]``, ``wfsim report --notebook NB.ipynb [-p KEY=VALUE …] -o FILE.html``
    One self-contained HTML report of runs, batches and studies (:mod:`wfsim.report`), or of a notebook.
``wfsim verify DIR [--property NAME …] [--json]``
    Check the property catalog (:mod:`wfsim.verify.catalog`) on a saved run: a verdict per property.

User errors (bad YAML, unknown field or strategy, value out of range, missing file, damaged run) exit 2 with
one line naming the file (or ``--set`` argument), field and what is allowed; SIGINT/SIGTERM exit 130/143 after cleanup.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from wfsim.engine.simulation import Simulation
    from wfsim.experiments.schema import ExperimentConfig
    from wfsim.trace.trace import Trace

# The experiments stack (and through it the simulator) is imported inside the
# commands that use it: `check-history` must start fast and needs none of it.


class UserError(Exception):
    """An error in what the user asked for; shown without a traceback."""


def _build(args: argparse.Namespace, seed: int | None = None,
           trace: str = "full") -> tuple[ExperimentConfig, Simulation]:
    from wfsim.experiments.building import build_simulation
    from wfsim.experiments.loading import blame_override, load_config

    config = load_config(args.config, args.set)
    base = Path(args.config).resolve().parent

    def without_overrides() -> object:
        return build_simulation(load_config(args.config), base, str(args.config), seed=seed)

    with blame_override(args.set, without=without_overrides):
        sim = build_simulation(config, base, str(args.config), seed=seed, trace=trace)
    return config, sim


def cmd_validate(args: argparse.Namespace) -> int:
    from wfsim.experiments.preflight import describe_size, expected_events

    config, sim = _build(args)
    n_nodes = len(sim.topology.nodes)
    print(f"{args.config}: ok — {config.name!r}: {n_nodes} nodes, {len(sim.topology.links)} links, "
          f"{len(config.workloads)} workload(s), placement {config.placement.strategy}, "
          f"network {config.network}; {describe_size(expected_events(sim, config))}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from wfsim.trace.rundir import METRICS_RUN_FILES, RUN_FILES, prepare_output, write_metrics_run, write_run

    _config, sim = _build(args, seed=args.seed, trace=args.trace)
    out = prepare_output(args.out)  # before the work: a run that cannot be saved is not started
    with tqdm(total=1, desc="simulating", leave=False, disable=args.quiet,
              bar_format="{l_bar}{bar}| [{elapsed}{postfix}]") as bar:
        result = sim.run(progress=bar)
        trace = result.trace  # None at --trace metrics
        bar.reset(total=len(RUN_FILES if trace is not None else METRICS_RUN_FILES))
        bar.set_description("writing results")

        def written(name: str) -> None:
            bar.update(1)

        try:
            if trace is not None:
                write_run(out, trace, result.metrics, on_file=written)
            else:
                write_metrics_run(out, result.manifest, result.metrics, on_file=written)
        except OSError as exc:
            raise UserError(f"{out}: cannot write results ({exc.strerror or exc})") from None
    metrics = result.metrics
    if not args.quiet:
        print(_summary(result.manifest, metrics, str(out)))
    failed = metrics["workflows"]["failed"]
    if failed:
        first = _first_failure(trace) if trace is not None else "not recorded at --trace metrics"
        print(f"wfsim: {failed} of {metrics['workflows']['submitted']} workflows failed; the first: {first}",
              file=sys.stderr)
        if args.strict:
            return 1
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from wfsim.experiments.tunables import tunables

    entries = tunables()
    if args.name:
        known = {e.name for e in entries}
        unknown = [n for n in args.name if n not in known]
        if unknown:
            raise UserError(f"unknown strategy or settings group {', '.join(map(repr, unknown))}; "
                            f"allowed: {', '.join(sorted(known))}")
        entries = [e for e in entries if e.name in args.name]
    if args.json:
        for e in entries:
            print(json.dumps({"axis": e.axis, "name": e.name, "class": e.cls.__name__, "key": e.key,
                              "parameters": [_parameter_json(p) for p in e.parameters]}))
        return 0
    for e in entries:
        print(f"{e.axis} {e.name} ({e.cls.__name__}; under {e.key}): {e.summary}")
        for p in e.parameters:
            print(f"    {p.name:<24} {p.kind:<11} default {_plain(p.default):<14} {p.allowed():<34} {p.doc}")
        if not e.parameters:
            print("    (no parameters)")
    return 0


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, (bool, str)) or value is None else str(value)


def _parameter_json(p: Any) -> dict[str, Any]:
    return {"name": p.name, "kind": p.kind, "default": p.default, "low": p.low, "high": p.high,
            "choices": None if p.choices is None else list(p.choices), "step": p.step, "log": p.log,
            "doc": p.doc}


def _first_failure(trace: Trace) -> str:
    events = trace.workflow_events
    failed = events[events["state"].astype(str) == "Failed"]
    if not len(failed):
        return "unknown"
    row = failed.iloc[0]
    return f"workflow {row['workflow']} at t={row['time']:.6g} s: {row['reason']}"


def _load_run(directory: Path) -> dict[str, Any]:
    from wfsim.trace.rundir import check_run

    return check_run(directory).model_dump()


def cmd_info(args: argparse.Namespace) -> int:
    from wfsim.trace.rundir import read_metrics

    directory = Path(args.dir)
    manifest = _load_run(directory)
    try:
        metrics = read_metrics(directory)
        text = (json.dumps({"manifest": manifest, "metrics": metrics}, indent=2) if args.json
                else _summary(manifest, metrics, str(directory)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{directory}/metrics.json: not a valid wfsim metrics record ({exc!r})") from None
    print(text)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from wfsim.experiments.compare import compare, parse_vary
    from wfsim.trace.rundir import write_atomically

    out = _writable_file(Path(args.out)) if args.out else None
    vary = parse_vary(args.vary, str(args.config))
    if args.seeds is None:
        from wfsim.experiments.loading import load_config

        args.seeds = [load_config(args.config, args.set).seed]
    result = compare(args.config, vary, args.seeds, args.set, workers=args.workers, progress=not args.quiet)
    table = result.markdown("sd")
    print(table, flush=True)  # first: the table is never lost to a failed save
    if out is not None:
        try:
            write_atomically(out, f"{COMPARE_MARKER}\n{table}\n")
        except OSError as exc:
            raise UserError(f"{out}: cannot write the table ({exc.strerror or exc}); it is printed above") from None
    return _failed_runs(result)


def cmd_batch(args: argparse.Namespace) -> int:
    from wfsim.experiments.batch import batch

    result = batch(args.file, args.out, replications=args.replications, seed=args.seed, overrides=args.set,
                   trace=args.trace, workers=args.workers, dask=args.dask, retry_failed=args.retry_failed,
                   progress=not args.quiet)
    print(result.report(), flush=True)
    return _failed_runs(result)


def _failed_runs(result: Any) -> int:
    """Report the failed runs of a batch result on stderr: 1 if there are any, else 0."""
    failed = result.failed
    if not len(failed):
        return 0
    first = failed.iloc[0]
    where = (f"; their records are in {result.out}/runs, and --retry-failed runs them again"
             if result.out is not None else "")
    print(f"wfsim: {len(failed)} of {len(result.runs)} runs failed; the first: {first['scenario']} replication "
          f"{first['replication']} (seed {first['seed']}): {first['error']}{where}", file=sys.stderr)
    return 1


#: First line of a table file written by ``compare --out``: only such a file is replaced.
COMPARE_MARKER = "<!-- written by wfsim compare -->"


def _writable_file(out: Path) -> Path:
    """Check, before the work, that ``out`` can be written (without creating it) and
    that it is new or a table wfsim wrote (never the config or anyone's notes)."""
    from wfsim.trace.rundir import output_file_problem

    problem = output_file_problem(out, _compare_table, "wfsim compare", "--out")
    if problem:
        raise UserError(f"{out}: {problem}")
    return out


def _compare_table(path: Path) -> bool:
    """Whether ``path`` is a table ``compare --out`` wrote (its first line is the marker)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().rstrip("\n") == COMPARE_MARKER
    except OSError:
        return False


def _check_history_file(path: str, options: dict[str, Any]) -> tuple[str | None, str | None]:
    """Check one history file: ``(json_line, None)``, or ``(None, error)`` for a user error.

    A module-level function so that ``--jobs`` can run it in worker processes.
    """
    from wfsim.verify.history import Budget, check_history

    budget = Budget(time_s=options["budget"], max_states=options["max_states"])
    try:
        history = path
        if (Path(path) / "manifest.json").is_file():  # a run directory: its attempts at the level checked
            history = _run_history(Path(path), options["consistency"].split("-")[0])
        verdict = check_history(history, options["model"], options["consistency"], budget, format=options["format"])
    except FileNotFoundError:
        return None, f"{path}: no such file"
    except IsADirectoryError:
        return None, f"{path}: is a directory, expected a history file"
    except OSError as exc:
        return None, f"{path}: cannot read it ({exc.strerror or exc})"
    except (ValueError, UserError) as exc:  # includes HistoryFormatError: file, line, field and reason
        return None, str(exc)
    return json.dumps({"file": path, **verdict.to_json()}, default=str), None


def _run_history(directory: Path, level: str | None) -> Any:
    """The history of a saved run's ``operations`` (at ``level``), or a user error."""
    from wfsim.trace.trace import Trace
    from wfsim.verify.history import from_trace

    _load_run(directory)
    try:
        trace = Trace.load(directory, check=False)  # just checked
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{directory}: cannot read the trace ({exc})") from None
    history = from_trace(trace, level)
    if not history.metadata["served"]:
        at = f" served at {history.metadata['level']}" if level else ""
        raise UserError(f"{directory}: the run has no replicated-state operations{at}"
                        + (" (only keys whose reads returned lists, which are no registers)"
                           if history.metadata["excluded"] else ""))
    history.metadata["source"] = str(directory)
    return history


#: What marks a history file ``wfsim history --out`` wrote: a comment opening an EDN
#: file, a member of the first event of a JSONL one (readers ignore both).
HISTORY_MARKERS = {"edn": "; written by wfsim history", "jsonl": '"written_by": "wfsim history"'}


def _history_file(path: Path) -> bool:
    """Whether ``path`` is a history ``wfsim history --out`` wrote (its first line is marked)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError:
        return False
    return first.rstrip("\n") == HISTORY_MARKERS["edn"] or HISTORY_MARKERS["jsonl"] in first


def cmd_history(args: argparse.Namespace) -> int:
    from wfsim.model.enums import ConsistencyLevel
    from wfsim.trace.rundir import output_file_problem, write_atomically
    from wfsim.verify.history import dump_edn
    from wfsim.verify.history.formats import completed_events

    out = Path(args.out) if args.out else None
    if out is not None:
        problem = output_file_problem(out, (lambda p: True) if args.force else _history_file, "wfsim history",
                                      "--out")
        if problem:
            raise UserError(f"{out}: {problem}" + (" or give --force" if "refusing" in problem else ""))
    try:
        level = None if args.level is None else ConsistencyLevel.parse(args.level).value
    except ValueError as exc:
        raise UserError(f"--level: {exc}") from None
    history = _run_history(Path(args.dir), level)
    if history.metadata["excluded"]:
        print(f"wfsim: left out {history.metadata['excluded']} operations on keys whose reads returned lists "
              f"(no registers): {', '.join(history.metadata['excluded_keys'])}", file=sys.stderr)
    if args.format == "edn":
        text = f"{HISTORY_MARKERS['edn']}\n{dump_edn(history)}"
    else:
        events = completed_events(history)
        if out is not None:
            events[0] = {**events[0], "written_by": "wfsim history"}
        text = "".join(json.dumps(event) + "\n" for event in events)
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomically(out, text)
    except OSError as exc:
        raise UserError(f"{out}: cannot write the history ({exc.strerror or exc})") from None
    return 0


def cmd_check_history(args: argparse.Namespace) -> int:
    options = {"model": args.model, "consistency": args.consistency, "format": args.format,
               "budget": args.budget, "max_states": args.max_states}
    jobs = min(args.jobs, len(args.file))
    pool = None
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(jobs)
        results = pool.map(_check_history_file, args.file, [options] * len(args.file))
    else:
        results = (_check_history_file(path, options) for path in args.file)
    failed = 0
    try:
        for line, error in results:  # in the order of the files given
            if error is None:
                print(line, flush=True)
            else:
                failed += 1
                print(f"wfsim: error: {error}", file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return 2 if failed else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from wfsim.trace.rundir import RunDirectoryError
    from wfsim.trace.trace import Trace
    from wfsim.verify.catalog import resolve
    from wfsim.verify.properties import TraceView

    names = [n for item in args.property for n in item.split(",") if n.strip()] or None
    try:
        properties = resolve(names)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None
    directory = Path(args.dir)
    _load_run(directory)
    try:
        trace = Trace.load(directory, check=False)  # just checked
    except RunDirectoryError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{directory}: cannot read the trace ({exc})") from None
    view = TraceView(trace)
    for prop in properties:
        verdict = prop.check(view)
        print(json.dumps(verdict.to_dict(), default=str) if args.json else verdict.summary(), flush=True)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from wfsim.tuning.session import tune

    result = tune(args.study, args.out, n_trials=args.n_trials, workers=args.workers, storage=args.storage,
                  sampler=args.sampler, progress=not args.quiet)
    if not args.quiet:
        print("\n".join(result.summary()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from wfsim.report import build_report, notebook_report, parse_parameters

    if args.notebook is not None:
        if args.dir:
            raise UserError("give run, batch or study directories or --notebook, not both")
        out = notebook_report(args.notebook, parse_parameters(args.parameter), args.out, title=args.title)
    elif args.parameter:
        raise UserError("-p sets a parameter of --notebook; give --notebook NB.ipynb")
    elif not args.dir:
        raise UserError("give run, batch or study directories (or --notebook NB.ipynb)")
    else:
        command = ["wfsim", "report", *args.dir, "-o", args.out, *(["--title", args.title] if args.title else [])]
        out = build_report(args.dir, args.out, title=args.title, command=command)
    if not args.quiet:
        print(f"wrote {out}")
    return 0


def _fmt(value: Any, unit: str = "", scale: float = 1.0) -> str:
    return "n/a" if value is None else f"{value * scale:.4g}{unit}"


def _summary(manifest: dict[str, Any], metrics: dict[str, Any], where: str) -> str:
    config = manifest.get("config") or {}
    wf = metrics["workflows"]
    lat = metrics["latency"]
    tiers = ", ".join(f"{k} {v:.1%}" for k, v in sorted(metrics["utilisation"]["per_tier"].items()))
    lines = [
        f"run       {config.get('name', '?')} → {where}",
        f"seed      {manifest.get('seed')}   horizon {metrics['horizon']:.4g} s   "
        f"network {manifest.get('network')}   placement {manifest.get('placement')}",
        f"workflows {wf['submitted']} submitted, {wf['completed']} completed, {wf['failed']} failed, "
        f"{wf['running']} still running",
        f"latency   mean {_fmt(lat['mean'], ' s')}  p50 {_fmt(lat['p50'], ' s')}  "
        f"p95 {_fmt(lat['p95'], ' s')}  p99 {_fmt(lat['p99'], ' s')}",
        f"makespan  {_fmt(metrics['makespan'], ' s')}   throughput {_fmt(metrics['throughput'], ' /s')}",
        f"util      {tiers}",
        f"cost      {metrics['cost']:.4g}   energy {metrics['energy_joules'] / 3.6e6:.4g} kWh   "
        f"deadline misses {metrics['deadline_misses']['workflows']} workflows, "
        f"{metrics['deadline_misses']['tasks']} tasks",
        f"versions  wfsim {manifest.get('versions', {}).get('wfsim')}, git {manifest.get('git_revision') or 'n/a'}",
    ]
    return "\n".join(lines)


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers >= ``minimum``."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return convert


_seed = _whole_number(0)
_positive_int = _whole_number(1)


class _Version(argparse.Action):
    """``--version``, looking the version up only when asked (startup stays light)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from importlib import metadata

        print(f"wfsim {metadata.version('wfsim')}")
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and status 2 like every user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"wfsim: error: {_one_line(message)} (see 'wfsim --help')\n")


def _one_line(message: object) -> str:
    """``message`` with control characters escaped, so a user error stays one line
    whatever the arguments held (a newline or carriage return in a file name)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wfsim", description="Workflow simulation on the edge-cloud continuum.")
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run an experiment config and write its results")
    run.add_argument("config", help="experiment YAML file")
    run.add_argument("--out", required=True,
                     help="output directory: new, empty, or an earlier run (replaced atomically)")
    run.add_argument("--seed", type=_seed, help="override the config's seed (>= 0)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field, e.g. --set workloads.0.arrivals.rate=2 (repeatable)")
    run.add_argument("--trace", type=_trace_level, default="full", metavar="{full,metrics}",
                     help="what the run directory keeps: the trace and metrics (full, the default) or the "
                          "metrics alone (metrics: less memory and time; no 'wfsim verify')")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    run.add_argument("--strict", action="store_true", help="exit with status 1 if any workflow failed")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check a config without running it")
    validate.add_argument("config")
    validate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    validate.set_defaults(func=cmd_validate)

    info = sub.add_parser("info", help="summarise a saved run")
    info.add_argument("dir")
    info.add_argument("--json", action="store_true", help="print manifest and metrics as JSON")
    info.set_defaults(func=cmd_info)
    comparison = sub.add_parser("compare", help="run variants of a config on the same seeds and tabulate")
    comparison.add_argument("config")
    comparison.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2",
                            help="config field and values to compare, e.g. placement=heft,nearest_edge "
                                 "(repeatable: the product is run)")
    comparison.add_argument("--seeds", type=_seed, nargs="+",
                            help="seeds, the same for every variant (default: the config's seed)")
    comparison.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override applied to every variant")
    comparison.add_argument("--out", help="also write the Markdown table to this file")
    comparison.add_argument("--workers", type=_positive_int, metavar="K",
                            help="run in K worker processes (default: one per CPU; 1: in this process)")
    comparison.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    comparison.set_defaults(func=cmd_compare)

    batching = sub.add_parser(
        "batch", help="run the scenarios and replications of a batch file, resumably",
        description="Run every scenario of FILE (a batch file, or an experiment config: one scenario) with "
                    "every replication seed, in parallel, writing each run's record to DIR as it finishes; "
                    "print the means with 95%% intervals and the differences from the baseline paired on the "
                    "seed. Running it again runs only what is missing. Exit status 1 if any run failed.")
    batching.add_argument("file", metavar="FILE", help="batch file or experiment config (YAML)")
    batching.add_argument("--out", required=True, metavar="DIR",
                          help="batch directory: new, empty, or this batch's (resumed)")
    batching.add_argument("--replications", type=_positive_int, metavar="R",
                          help="replications, seeds derived from --seed (replaces the file's)")
    batching.add_argument("--seed", type=_seed, metavar="S",
                          help="root seed of the replications (default: the file's, else the experiment's)")
    where = batching.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="K",
                       help="run in K worker processes (default: one per CPU; 1: in this process)")
    where.add_argument("--dask", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler is ADDRESS, e.g. tcp://host:8786 (with "
                            "--trace full, DIR must be on a file system its workers share)")
    batching.add_argument("--trace", choices=["full", "metrics"],
                          help="keep every run's trace under DIR/traces (full) or only its metrics (default: "
                               "the file's, else metrics)")
    batching.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="override for every scenario, after the file's (repeatable)")
    batching.add_argument("--retry-failed", action="store_true", help="also run again the runs that failed")
    batching.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    batching.set_defaults(func=cmd_batch)

    history = sub.add_parser(
        "check-history", help="check operation histories for a consistency model",
        description="Check each history file; print one JSON line per file checked, in the order given, with "
                    "its 'verdict' (ok, violation or unknown). A file that cannot be read or parsed gets one "
                    "'wfsim: error: FILE[:LINE]: field: reason' line on stderr instead; the other files are "
                    "still checked, and the exit status is then 2 (otherwise 0, whatever the verdicts).")
    history.add_argument("file", nargs="+", metavar="FILE",
                         help="history file (wfsim JSONL, Jepsen log, EDN), or a run directory: its attempts served "
                              "at the level checked")
    history.add_argument("--model", choices=["register", "kv"], default="register",
                         help="sequential specification (default: register)")
    history.add_argument("--consistency", default="linearizable",
                         choices=["linearizable", "sequential", "causal", "causal-cm", "causal-ccv"],
                         help="consistency level (default: linearizable; causal = causal memory)")
    history.add_argument("--format", choices=["jsonl", "jepsen", "porcupine-edn", "edn"],
                         help="file format (default: detected from the content)")
    history.add_argument("--budget", type=_positive, default=60.0, metavar="SECONDS",
                         help="time budget per file, parsing included; past it the verdict is 'unknown' "
                              "(default: 60)")
    history.add_argument("--max-states", type=_positive_int, default=5_000_000,
                         help="memoised search states before 'unknown' (default: 5000000)")
    history.add_argument("--jobs", type=_positive_int, default=1, metavar="K",
                         help="check up to K files at once in separate processes (default: 1)")
    history.set_defaults(func=cmd_check_history)

    exported = sub.add_parser(
        "history", help="write a run's replicated-state operations as a history (JSONL or Jepsen EDN)",
        description="Write the operations of a saved run (one per attempt; 'wfsim check-history' checks them) "
                    "to stdout, or atomically to --out. An existing --out is replaced only if 'wfsim history' "
                    "wrote it, or with --force. Keys whose reads returned lists (siblings, CRDT sets) are no "
                    "registers and are left out, with a note on stderr.")
    exported.add_argument("dir", metavar="DIR", help="run directory written by 'wfsim run'")
    exported.add_argument("--level", metavar="L",
                          help="only the attempts served at this level (Linearizable, Sequential, Causal, Eventual)")
    exported.add_argument("--format", choices=["jsonl", "edn"], default="jsonl",
                          help="wfsim JSONL (default) or a Jepsen EDN vector")
    exported.add_argument("--out", metavar="FILE", help="write this file instead of stdout")
    exported.add_argument("--force", action="store_true", help="replace --out even if wfsim did not write it")
    exported.set_defaults(func=cmd_history)

    params = sub.add_parser("params", help="list the declared parameters of strategies and settings groups")
    params.add_argument("name", nargs="*", metavar="NAME",
                        help="strategy or settings group, e.g. heft or rebalance (default: all)")
    params.add_argument("--json", action="store_true", help="one JSON object per strategy or group")
    params.set_defaults(func=cmd_params)

    tuning = sub.add_parser("tune", help="tune strategies and settings with Optuna (a study file)")
    tuning.add_argument("study", help="study YAML file (experiment, space, objectives, replications, seed)")
    tuning.add_argument("--out", required=True,
                        help="output directory: new, empty, or this study's (the study resumes)")
    tuning.add_argument("--n-trials", type=_positive_int, metavar="N", help="trials in all (default: the file's)")
    tuning.add_argument("--workers", type=_positive_int, default=1, metavar="K",
                        help="worker processes running trials at once (default: 1)")
    tuning.add_argument("--storage", metavar="URL",
                        help="postgresql://USER@HOST:PORT/DB for workers on many machines (default: a journal file "
                             "in --out)")
    tuning.add_argument("--sampler", metavar="NAME", help="tpe, random, cmaes, gp, nsga2, qmc or epsilon_greedy "
                                                          "(default: the file's)")
    tuning.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    tuning.set_defaults(func=cmd_tune)

    reporting = sub.add_parser(
        "report", help="write a self-contained HTML report of runs, batches and studies, or of a notebook",
        description="Write one HTML file with everything embedded: a section per run, batch or study directory "
                    "(scenario, metrics, figures, verdicts, comparisons, trials) and the manifest that reproduces "
                    "each; or, with --notebook, the notebook executed with the -p parameters (papermill) and "
                    "exported (nbconvert). An existing -o is replaced only if wfsim report wrote it.")
    reporting.add_argument("dir", nargs="*", metavar="DIR", help="run, batch or study directory")
    reporting.add_argument("-o", "--out", required=True, metavar="FILE.html", help="the HTML file to write")
    reporting.add_argument("--title", help="the report's title")
    reporting.add_argument("--notebook", metavar="NB.ipynb", help="report a notebook run with parameters instead")
    reporting.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                           help="a notebook parameter, VALUE read as a YAML scalar (repeatable)")
    reporting.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    reporting.set_defaults(func=cmd_report)

    verify = sub.add_parser("verify", help="check the property catalog on a saved run")
    verify.add_argument("dir", help="run directory written by 'wfsim run'")
    verify.add_argument("--property", action="append", default=[], metavar="NAME",
                        help="property name or seed id, e.g. lifecycle or P2 (repeatable; default: all)")
    verify.add_argument("--json", action="store_true", help="one JSON object per property")
    verify.set_defaults(func=cmd_verify)
    return parser


def _trace_level(text: str) -> str:
    """An argparse ``type`` accepting a :class:`~wfsim.model.enums.TraceLevel` value."""
    from wfsim.model.enums import TraceLevel  # here: the parser is built for every command

    try:
        return TraceLevel.parse(text).value
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that every cleanup runs."""


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wfsim`` command; returns the exit status."""
    parser = make_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        status: int = args.func(args)
        sys.stdout.flush()  # a full disk under redirected output is reported here, not at exit
        return status
    except _user_errors() as exc:
        print(f"wfsim: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wfsim: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("wfsim: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except BrokenPipeError:
        # The reader went away (``wfsim verify DIR | head``): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        if exc.filename is not None:
            raise  # not the output: the commands turn their own file errors into user errors
        # Writing the output failed (``wfsim params > /dev/full``); what is buffered is lost.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"wfsim: error: cannot write the output ({exc.strerror or exc})", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)


def _user_errors() -> tuple[type[Exception], ...]:
    # Evaluated only when an exception reaches main(): a module never imported cannot
    # have raised its error, and startup stays light for quick commands.
    found: list[type[Exception]] = [UserError]
    for module, name in (("wfsim.experiments.errors", "ConfigError"), ("wfsim.trace.rundir", "RunDirectoryError"),
                         ("wfsim.tuning.session", "TuneError"), ("wfsim.report.build", "ReportError")):
        if module in sys.modules:
            found.append(getattr(sys.modules[module], name))
    return tuple(found)


if __name__ == "__main__":
    sys.exit(main())
