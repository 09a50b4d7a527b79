"""Run manifests: what produced a result (config, seed, versions, git revision)."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("wfsim", "simpy", "numpy", "pandas", "pyarrow", "networkx", "pydantic")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a run depends on."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_revision(path: str | Path | None = None) -> str | None:
    """The git commit of the working tree at ``path`` (default: this package's
    source), with ``-dirty`` when it has uncommitted changes; None outside git."""
    cwd = Path(path) if path else Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}-dirty" if dirty else rev


def run_manifest(seed: int, config: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest for one run."""
    return {
        "seed": seed,
        "config": config,
        "versions": package_versions(),
        "git_revision": git_revision(),
        "command": sys.argv[0] if sys.argv else None,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
