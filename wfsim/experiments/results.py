"""Run results on disk, written atomically.

Layout of a run directory::

    DIR/manifest.json        config, seed, versions, git revision, horizon
    DIR/metrics.json         summary metrics
    DIR/trace/*.parquet      the trace tables

Everything is first written to a hidden sibling directory and renamed into place, so
an interrupted write never leaves a half-written ``DIR``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from wfsim.trace.trace import Trace


def write_run(out: str | Path, trace: Trace, metrics: dict[str, Any]) -> Path:
    """Write a run directory atomically, replacing an existing one.

    Returns:
        The directory written.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        trace.save(staging)
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, retired / "run")
            os.replace(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def read_metrics(directory: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a run directory."""
    return json.loads((Path(directory) / "metrics.json").read_text())


def is_run_directory(directory: str | Path) -> bool:
    """Whether ``directory`` looks like a run written by :func:`write_run`."""
    d = Path(directory)
    return (d / "manifest.json").is_file() and (d / "metrics.json").is_file() and (d / "trace").is_dir()
