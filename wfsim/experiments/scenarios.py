"""Scenarios, replications and single runs: what batches and studies are made of.

An experiment, in the sense of a batch or a study, is a base config, a list of
:class:`Scenario` s (the config plus ``key=value`` overrides) and replications: every
scenario runs with the same replication seeds, derived from one
:class:`numpy.random.SeedSequence` (:func:`replication_seeds`). Because every random
draw of a run comes from a named stream of its seed (arrivals, work, placement, …),
scenarios compared on the same seeds see the same arrivals and work draws: common
random numbers, so their differences can be paired.

A :class:`RunSpec` is one (scenario, replication) as plain, picklable data: the
validated config as a mapping, its base directory and the seed. :func:`run_one`
executes it anywhere (this process, a worker process, a Dask worker) and returns a
:class:`RunOutcome`, recording a run that raises as failed with its error rather than
raising.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, blame_override, parse_yaml, validate_config

if TYPE_CHECKING:
    from wfsim.engine.simulation import RunResult

#: The trace levels a run can keep: everything, or only its summary metrics.
TRACE_LEVELS = ("full", "metrics")


def replication_seeds(root: int, count: int, start: int = 0) -> list[int]:
    """``count`` run seeds derived from the root seed ``root``.

    Replication ``k`` gets the first 32-bit word of the ``k``-th child of
    ``SeedSequence(root)``: independent streams, stable whatever the count (the
    first seeds of 5 replications are those of 3). ``start`` skips children, e.g.
    held-out seeds after the ones a study tuned on.

    >>> replication_seeds(2026, 3) == replication_seeds(2026, 5)[:3]
    True
    """
    children = np.random.SeedSequence(root).spawn(start + count)[start:]
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def override(key: str, value: Any) -> str:
    """The ``key=value`` override that sets ``key`` to ``value`` (a YAML scalar, or
    JSON, which is YAML, for lists, mappings and strings that would not read back).

    >>> override("placement", "heft"), override("rebalance.interval", 30), override("network", None)
    ('placement=heft', 'rebalance.interval=30', 'network=null')
    """
    if isinstance(value, str):
        try:
            plain = parse_yaml(value) == value
        except Exception:
            plain = False
        return f"{key}={value}" if plain else f"{key}={json.dumps(value)}"
    return f"{key}={json.dumps(value)}"


@dataclass(frozen=True)
class Scenario:
    """A base config plus overrides.

    Attributes:
        name: Unique within its experiment; a file-name-safe label (``placement=heft``).
        overrides: ``key.path=value`` overrides, applied after the experiment's own.
        labels: The varied keys and their values as text, for tables.
    """

    name: str
    overrides: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_values(cls, values: Mapping[str, Any], name: str | None = None) -> Scenario:
        """The scenario setting each key of ``values`` (``{"placement": "heft"}``)."""
        sets = tuple(override(k, v) for k, v in values.items())
        labels = {k: s.partition("=")[2] for k, s in zip(values, sets)}
        return cls(name or ",".join(sets) or "baseline", sets, labels)


def grid(axes: Mapping[str, Sequence[Any]]) -> list[Scenario]:
    """One scenario per combination of the values of ``axes`` (their product, the
    first key varying slowest)."""
    import itertools

    keys = list(axes)
    return [Scenario.from_values(dict(zip(keys, values))) for values in itertools.product(*axes.values())]


@dataclass(frozen=True)
class RunSpec:
    """One run of a scenario: self-contained, picklable plain data.

    Attributes:
        scenario: The scenario's name.
        replication: Its index (0, 1, …).
        seed: The run's seed.
        config: The validated config with every override applied, as a mapping.
        base_dir: Where the config's relative paths (topology, workflow, arrival
            files) resolve.
        source: The config file, for error messages.
        trace: ``"metrics"`` keeps only the summary metrics; ``"full"`` also the trace.
    """

    scenario: str
    replication: int
    seed: int
    config: Mapping[str, Any]
    base_dir: str
    source: str
    trace: str = "metrics"

    @property
    def key(self) -> str:
        """``scenario/rK``: the run's identity within its experiment."""
        return f"{self.scenario}/r{self.replication}"


@dataclass
class RunOutcome:
    """What one run produced.

    Attributes:
        scenario, replication, seed: Which run.
        status: ``"ok"`` or ``"failed"`` (the run raised).
        metrics: The summary metrics (:func:`wfsim.trace.metrics.summarize`) of an
            ``ok`` run, else None.
        error: For a failed run: the exception and its traceback.
        wall_seconds: Time to build and run it, trace and metrics included.
        inspected: What :func:`run_one`'s ``inspect`` found in the run while its
            trace was in memory (e.g. property verdicts), else None.
    """

    scenario: str
    replication: int
    seed: int
    status: str
    metrics: dict[str, Any] | None = None
    error: str | None = None
    wall_seconds: float = 0.0
    inspected: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a batch writes per run)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunOutcome:
        """The outcome :meth:`to_json` wrote."""
        return cls(**{k: data[k] for k in ("scenario", "replication", "seed", "status", "metrics", "error",
                                           "wall_seconds")}, inspected=data.get("inspected"))


def run_one(spec: RunSpec, trace_dir: str | None = None,
            inspect: Callable[[RunResult], Mapping[str, Any]] | None = None) -> RunOutcome:
    """Build and run ``spec``; an exception makes a failed outcome, not an error.

    Args:
        spec: The run.
        trace_dir: With ``spec.trace == "full"``, where to write the run directory
            (:func:`wfsim.trace.rundir.write_run`, atomically); None keeps nothing.
        inspect: Called with the finished run before it is dropped (a study checks
            the property catalog on its trace); what it returns becomes the outcome's
            ``inspected``, and what it raises fails the run like the run's own errors.
    """
    from wfsim.experiments.building import build_simulation

    wall = time.perf_counter()
    inspected = None
    try:
        config = validate_config(dict(spec.config), spec.source)
        sim = build_simulation(config, spec.base_dir, spec.source, seed=spec.seed, trace=spec.trace)
        result = sim.run()
        metrics = result.metrics
        if inspect is not None:
            inspected = dict(inspect(result))
        if trace_dir is not None and result.trace is not None:
            from wfsim.trace.rundir import write_run

            write_run(trace_dir, result.trace, metrics)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(exc)).strip() + "\n\n" + traceback.format_exc()
        return RunOutcome(spec.scenario, spec.replication, spec.seed, "failed", error=error,
                          wall_seconds=time.perf_counter() - wall)
    return RunOutcome(spec.scenario, spec.replication, spec.seed, "ok", metrics=metrics,
                      wall_seconds=time.perf_counter() - wall, inspected=inspected)


def prepare_specs(config_path: str | Path, scenarios: Iterable[Scenario], seeds: Sequence[int],
                  overrides: Sequence[str] = (), trace: str = "metrics",
                  data: dict[str, Any] | None = None,
                  scenario_flag: Callable[[Scenario], str] | None = None) -> list[RunSpec]:
    """Every (scenario, seed) of an experiment as a :class:`RunSpec`, each scenario's
    config validated and built once first, so that a bad one is refused before
    anything runs.

    Args:
        config_path: The base experiment config.
        scenarios: Its scenarios.
        seeds: The replication seeds, the same for every scenario.
        overrides: ``key=value`` overrides for every scenario, applied first.
        trace: The trace level of every run (:data:`TRACE_LEVELS`).
        data: The config's content if already read (else read from ``config_path``).
        scenario_flag: How the user gave a scenario's overrides, for error messages
            (default ``scenario NAME:``; ``wfsim compare`` says ``--vary``).

    Raises:
        ConfigError: A scenario is not a valid config (named by its override).
    """
    from wfsim.experiments.building import build_simulation
    from wfsim.experiments.loading import read_yaml

    if trace not in TRACE_LEVELS:
        raise ConfigError(str(config_path), "trace", f"must be one of {', '.join(TRACE_LEVELS)}, not {trace!r}")
    source = str(config_path)
    base_dir = str(Path(config_path).resolve().parent)
    base = apply_overrides(read_yaml(config_path) if data is None else data, list(overrides))
    specs = []
    for scenario in scenarios:
        flag = scenario_flag(scenario) if scenario_flag else f"scenario {scenario.name}:"
        with blame_override(overrides), blame_override(scenario.overrides, flag):
            raw = apply_overrides(base, list(scenario.overrides), flag)
            config = validate_config(raw, source)
            build_simulation(config, base_dir, source)  # refused now rather than after other runs
        specs += [RunSpec(scenario.name, k, seed, raw, base_dir, source, trace) for k, seed in enumerate(seeds)]
    return specs


def flat_metrics(metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """The scalar metrics of a run as one flat mapping, keys joined by dots
    (``latency.p95``, ``workflows.completed``, ``utilisation.per_tier.Cloud``); the
    per-node and per-link breakdowns are left out.

    >>> flat_metrics({"latency": {"mean": 1.5}, "cost": 2, "bytes_per_link": {"a~b": 1.0}})
    {'latency.mean': 1.5, 'cost': 2.0}
    """
    out: dict[str, float | None] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if k not in _BREAKDOWNS:
                    walk(f"{prefix}{k}.", v)
        elif value is None or isinstance(value, (int, float)):
            out[prefix[:-1]] = None if value is None else float(value)

    walk("", metrics)
    return out


#: Per-node and per-link breakdowns: too many columns for a table of runs.
_BREAKDOWNS = frozenset({"per_node", "bytes_per_link", "time_per_node", "unavailable_seconds"})
