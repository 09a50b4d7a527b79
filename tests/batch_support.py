"""Helpers shared by the batch tests: a small batch of compare-placement.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = REPO / "experiments" / "compare-placement.yaml"

#: Two placements × three replications of 20 s: about half a second a run.
SMALL: dict[str, Any] = {
    "experiment": str(EXPERIMENT),
    "set": ["duration=20"],
    "grid": {"placement": ["nearest_edge", "heft"]},
    "replications": 3,
    "seed": 2026,
}


def batch_file(directory: Path, name: str = "batch.yaml", **fields: Any) -> Path:
    """Write :data:`SMALL` with ``fields`` replaced (None removes one) to ``directory/name``."""
    data = {**SMALL, **fields}
    path = directory / name
    path.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False))
    return path


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    """A runs table without what differs between equal batches (wall-clock time)."""
    return runs.drop(columns="wall_seconds").reset_index(drop=True)
