"""Strategy comparisons: ``wfsim compare``, a batch of the ``--vary`` product.

Every variant runs with every seed, so variants see the same arrivals and work draws
(common random numbers); the table reports the mean over seeds (± the standard
deviation when there are several). It is a batch (:mod:`~wfsim.experiments.batch`)
kept in memory::

    wfsim compare experiments/compare-placement.yaml \\
        --vary placement=nearest_edge,earliest_finish_time,heft --seeds 1 2 3
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wfsim.experiments.batch import BatchResult, run_batch, warm_up
from wfsim.experiments.batchfile import plan_variants
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.loading import parse_yaml
from wfsim.experiments.scenarios import grid


def parse_vary(items: Sequence[str], source: str) -> dict[str, list[Any]]:
    """``["placement=a,b", "network=fast,shared"]`` → ``{"placement": ["a", "b"], …}``."""
    vary: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ConfigError(source, None, f"--vary {item!r} must look like key.path=value1,value2")
        vary[key] = [parse_yaml(v) for v in values.split(",")]
    return vary


def compare(path: str | Path, vary: dict[str, list[Any]], seeds: Sequence[int], overrides: Sequence[str] = (),
            *, workers: int | None = None, progress: bool = False) -> BatchResult:
    """Run every combination of ``vary`` values with every seed.

    Args:
        path: The experiment file.
        vary: Config paths and the values to try (their product is run).
        seeds: Seeds, the same for every variant.
        overrides: ``key=value`` overrides applied to every variant first.
        workers: Worker processes (default: one per CPU; 1: this process).
        progress: Show a progress bar.

    Returns:
        The batch: ``.runs`` has one row per (variant, seed), the varied keys as
        columns; ``.markdown("sd")`` is the table ``wfsim compare`` prints.

    Raises:
        ConfigError: a variant is not a valid config (checked before anything runs).
    """
    warm_up(workers)
    plan = plan_variants(path, grid(vary), seeds, overrides)
    return run_batch(plan, workers=workers, progress=progress)
