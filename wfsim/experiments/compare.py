"""Strategy comparisons: one experiment, several variants, the same seeds for all.

Every variant runs with every seed, so variants see the same arrivals and work draws
(common random numbers), and the table reports the mean over seeds (± the standard
deviation when there are several)::

    wfsim compare experiments/compare-placement.yaml \\
        --vary placement=nearest_edge,earliest_finish_time,heft --seeds 1 2 3
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from wfsim.experiments.building import build_simulation
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import apply_overrides, blame_override, parse_yaml, read_yaml, validate_config

#: Table columns: label → (metrics path, scale).
COLUMNS: dict[str, tuple[tuple[str, ...], float]] = {
    "completed": (("workflows", "completed"), 1.0),
    "latency mean (s)": (("latency", "mean"), 1.0),
    "latency p95 (s)": (("latency", "p95"), 1.0),
    "makespan (s)": (("makespan",), 1.0),
    "cost": (("cost",), 1.0),
    "energy (kWh)": (("energy_joules",), 1 / 3.6e6),
    "deadline misses": (("deadline_misses", "workflows"), 1.0),
}


def parse_vary(items: Sequence[str], source: str) -> dict[str, list[Any]]:
    """``["placement=a,b", "network=fast,shared"]`` → ``{"placement": ["a", "b"], …}``."""
    vary: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ConfigError(source, None, f"--vary {item!r} must look like key.path=value1,value2")
        vary[key] = [parse_yaml(v) for v in values.split(",")]
    return vary


def compare(path: str | Path, vary: dict[str, list[Any]], seeds: Sequence[int],
            overrides: Sequence[str] = (), progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run every combination of ``vary`` values with every seed.

    Args:
        path: The experiment file.
        vary: Config paths and the values to try (their product is run).
        seeds: Seeds, the same for every variant.
        overrides: ``key=value`` overrides applied to every variant first.
        progress: Called with a label after each run.

    Returns:
        One row per (variant, seed): the varied values, ``seed``, and the
        :data:`COLUMNS` metrics.

    Raises:
        ConfigError: a variant is not a valid config (checked before anything runs).
    """
    source = str(path)
    base = apply_overrides(read_yaml(path), list(overrides))
    keys = list(vary)
    variants = []
    for values in itertools.product(*(vary[k] for k in keys)):
        sets = [f"{k}={_yaml_scalar(v)}" for k, v in zip(keys, values)]
        with blame_override(overrides), blame_override(sets, "--vary"):
            config = validate_config(apply_overrides(base, sets, "--vary"), source)
            # Built once up front too, so that no variant fails after others have run.
            build_simulation(config, Path(path).resolve().parent, source)
        variants.append((dict(zip(keys, values)), config))
    rows = []
    for labels, config in variants:
        for seed in seeds:
            # Only the metrics are read: a run keeping nothing else takes less memory and time.
            sim = build_simulation(config, Path(path).resolve().parent, source, seed=seed, trace="metrics")
            metrics = sim.run().metrics
            if progress:
                progress(", ".join(f"{k}={v}" for k, v in labels.items()) + f", seed={seed}")
            rows.append({**{k: str(v) for k, v in labels.items()}, "seed": seed,
                         **{name: _get(metrics, where) * scale if _get(metrics, where) is not None else None
                            for name, (where, scale) in COLUMNS.items()}})
    return pd.DataFrame(rows)


def summary_table(results: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean over seeds per variant, and the standard deviation where there are several."""
    numeric = [c for c in COLUMNS if c in results]
    grouped = results.groupby(list(keys), sort=False)[numeric]
    mean, std = grouped.mean(), grouped.std()
    return pd.concat([mean, std.add_suffix(" sd")], axis=1)


def markdown(results: pd.DataFrame, keys: Sequence[str]) -> str:
    """The comparison as a Markdown table: mean ± sd over seeds."""
    table = summary_table(results, keys)
    numeric = [c for c in COLUMNS if c in results]
    header = [*keys, *numeric]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in table.iterrows():
        labels = index if isinstance(index, tuple) else (index,)
        cells = [str(x) for x in labels]
        for col in numeric:
            mean, sd = row[col], row.get(f"{col} sd")
            cell = "n/a" if pd.isna(mean) else f"{mean:.4g}"
            if not pd.isna(mean) and sd is not None and not pd.isna(sd) and sd > 0:
                cell += f" ± {sd:.2g}"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _get(metrics: dict[str, Any], where: tuple[str, ...]) -> Any:
    value: Any = metrics
    for key in where:
        value = value[key]
    return value


def _yaml_scalar(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
