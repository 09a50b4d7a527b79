"""A batch's output directory: its manifest, a record per run, the tables.

Layout::

    DIR/batch.json            the manifest (:data:`BATCH_FORMAT`): the batch (its file, the
                              experiment's path and SHA-256, overrides, scenarios, root seed
                              and seeds, trace level, baseline), versions and git revision,
                              each session that ran it, and the SHA-256 of the tables
    DIR/runs/I-rK.json        the RunOutcome of scenario I (its index), replication K:
                              written atomically as the run finishes
    DIR/traces/I-rK/          its run directory, with ``trace: full``
    DIR/results.csv           one row per run (and results.parquet)
    DIR/summary.csv           per scenario and metric: n, mean, sd, 95% interval
    DIR/summary.md            the tables ``wfsim batch`` prints

DIR must be new, empty, or a batch directory wfsim wrote for the same batch (the
same experiment content, overrides, scenarios and trace level; its seeds may grow,
e.g. more replications). A run with a record is done, so running the batch again
runs only what is missing. Nothing wfsim did not write is replaced or removed: other
files in DIR are left alone, and a table changed since wfsim wrote it is refused.
One batch at a time writes a directory (a lock, released when its process ends).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from wfsim.experiments.batchfile import BatchPlan
from wfsim.experiments.errors import ConfigError
from wfsim.experiments.scenarios import RunOutcome, Scenario
from wfsim.trace.manifest import git_revision, package_versions
from wfsim.trace.rundir import ATOMIC_SUFFIX, write_atomically

#: The ``format`` of a batch manifest.
BATCH_FORMAT = "wfsim-batch/1"
MANIFEST = "batch.json"
#: Held (``flock``) by the process writing the directory.
LOCK = ".wfsim-batch.lock"
_RUN = re.compile(r"^(\d+)-r(\d+)\.json$")


def run_name(scenario: int, replication: int) -> str:
    """The file-system name of a run: ``3-r0`` (scenario names go in the manifest)."""
    return f"{scenario}-r{replication}"


class BatchDirectory:
    """An open batch directory, locked by this process until :meth:`close`.

    Attributes:
        path: The directory.
        done: The runs recorded so far: ``(scenario index, replication)`` → outcome.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], lock: int, done: dict[tuple[int, int], RunOutcome]):
        self.path = path
        self.done = done
        self._manifest = manifest
        self._lock = lock

    @classmethod
    def open(cls, out: str | Path, plan: BatchPlan) -> BatchDirectory:
        """Check ``out`` for ``plan``, lock it and write its manifest (proving it writable).

        Raises:
            ConfigError: ``out`` holds something else (other files, another batch, a
                table changed since written, a damaged record), another process is
                writing it, or it cannot be written; nothing is changed then.
        """
        path = Path(out).absolute()
        _manifest_of(path)  # before writing anything: never a lock file in a stranger's directory
        try:
            path.mkdir(parents=True, exist_ok=True)
            lock = _lock(path)
        except OSError as exc:
            raise ConfigError(str(path), None, f"cannot write the batch here ({exc.strerror or exc})") from None
        try:
            old = _manifest_of(path)  # again, now that no other batch can be writing it
            if old is not None:
                _check_same(path, old, plan)
                _check_tables(path, old)
            done = _records(path, plan)
            _sweep(path)
            manifest = _manifest(plan, old)
            try:
                (path / "runs").mkdir(exist_ok=True)
                write_atomically(path / MANIFEST, _json(manifest))
            except OSError as exc:
                raise ConfigError(str(path), None, f"cannot write the batch here ({exc.strerror or exc})") from None
        except BaseException:
            os.close(lock)
            raise
        return cls(path, manifest, lock, done)

    def start(self, to_run: int) -> None:
        """Record a session that is about to run ``to_run`` runs."""
        self._manifest["sessions"].append({
            "started": _now(), "command": sys.argv[0] if sys.argv else None, "to_run": to_run,
            "versions": package_versions(), "git_revision": git_revision()})
        with self._writing("its manifest"):
            write_atomically(self.path / MANIFEST, _json(self._manifest))

    def trace_dir(self, scenario: int, replication: int) -> str:
        """Where the run directory of a run with ``trace: full`` goes."""
        return str(self.path / "traces" / run_name(scenario, replication))

    def record(self, scenario: int, replication: int, outcome: RunOutcome) -> None:
        """Write the record of a finished run, atomically."""
        with self._writing("a run's record"):
            write_atomically(self.path / "runs" / f"{run_name(scenario, replication)}.json",
                             json.dumps(outcome.to_json(), indent=1, default=float))
        self.done[scenario, replication] = outcome

    def write_tables(self, runs: pd.DataFrame, summary: pd.DataFrame, text: str) -> None:
        """Write ``results.csv``/``.parquet``, ``summary.csv`` and ``summary.md``, each atomically.

        The manifest accepts the old and the new content of each while they are
        replaced, so that an interruption leaves tables it still recognises as its own.
        """
        contents = {"results.csv": runs.to_csv(index=False).encode(), "results.parquet": _parquet(runs),
                    "summary.csv": summary.to_csv(index=False).encode(), "summary.md": (text + "\n").encode()}
        outputs = self._manifest.setdefault("outputs", {})
        for name, data in contents.items():
            outputs[name] = [*outputs.get(name, [])[-1:], _sha256(data)]
        with self._writing("the tables"):
            write_atomically(self.path / MANIFEST, _json(self._manifest))
            for name, data in contents.items():
                write_atomically(self.path / name, data)
                outputs[name] = outputs[name][-1:]
            write_atomically(self.path / MANIFEST, _json(self._manifest))

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """A failed write as a user error: the disk is full, the directory went away."""
        try:
            yield
        except OSError as exc:
            raise ConfigError(str(self.path), None, f"cannot write {what} ({exc.strerror or exc}); the runs "
                              "recorded so far are kept: run the batch again to go on") from None

    def close(self) -> None:
        """Release the lock."""
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1


def _manifest_of(path: Path) -> dict[str, Any] | None:
    """The manifest of the batch directory ``path``; None when it is new or empty."""
    if not path.exists():
        if path.is_symlink():
            raise ConfigError(str(path), None, "is a broken symbolic link; refusing to replace it")
        return None
    if not path.is_dir():
        raise ConfigError(str(path), None, "exists and is not a directory; refusing to replace it")
    try:
        entries = [p.name for p in path.iterdir() if p.name != LOCK and not _temporary(p.name)]
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot list it ({exc.strerror or exc})") from None
    if not entries:
        return None
    if MANIFEST not in entries:
        raise ConfigError(str(path), None, "exists, is not empty and is not a wfsim batch directory (no "
                          f"{MANIFEST}); refusing to write into it (choose another --out)")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(str(path / MANIFEST), None, f"not a readable batch manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BATCH_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ConfigError(str(path / MANIFEST), "format", f"is {found!r}; this wfsim writes {BATCH_FORMAT!r}")
    return manifest


def read_batch(path: str | Path) -> tuple[BatchPlan, dict[tuple[int, int], RunOutcome], dict[str, Any]]:
    """The plan of a saved batch, as its manifest records it, its run records, and the
    manifest itself (versions, git revision, sessions, the tables' checksums).

    The plan holds no run specs: it describes what was run (scenarios, seeds,
    baseline, trace level), not how to run it again.

    Raises:
        ConfigError: ``path`` is not a readable batch directory, or a record is damaged.
    """
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(str(path), None, "is not a directory; expected a batch directory written by wfsim batch")
    if not (path / MANIFEST).is_file():
        raise ConfigError(str(path), None, f"is not a wfsim batch directory (no {MANIFEST}); expected one written "
                          "by wfsim batch")
    manifest = _manifest_of(path)
    assert manifest is not None  # it has a manifest
    try:
        plan = BatchPlan(
            source=str(manifest["source"]), experiment=manifest["experiment"]["path"],
            experiment_sha256=manifest["experiment"]["sha256"], overrides=tuple(manifest["set"]),
            scenarios=tuple(Scenario(s["name"], tuple(s["overrides"]), dict(s["labels"]))
                            for s in manifest["scenarios"]),
            root_seed=manifest["root_seed"], seeds=tuple(int(seed) for seed in manifest["seeds"]),
            trace=manifest["trace"], baseline=manifest["baseline"], specs=(), spec=manifest.get("spec"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(str(path / MANIFEST), None, f"not a complete batch manifest (no {exc})") from None
    return plan, _records(path, plan), manifest


def _identity(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What a batch is, as its manifest records it: what its runs depend on."""
    return {"experiment content": manifest["experiment"]["sha256"], "overrides for every scenario": manifest["set"],
            "scenarios": [(s["name"], s["overrides"]) for s in manifest["scenarios"]],
            "trace level": manifest["trace"]}


def _check_same(path: Path, old: dict[str, Any], plan: BatchPlan) -> None:
    new = _manifest(plan, None)
    try:
        was, now = _identity(old), _identity(new)
        old_seeds = list(old["seeds"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(str(path / MANIFEST), None, f"not a complete batch manifest (no {exc})") from None
    differs = [f"{what}" for what in now if _plain(was[what]) != _plain(now[what])]
    if old_seeds != list(plan.seeds[: len(old_seeds)]):
        differs.append(f"seeds ({_short(old_seeds)} there, {_short(plan.seeds)} here; more replications "
                       "may be added, no other change)")
    if differs:
        raise ConfigError(str(path), None, f"holds a different batch; what differs: {'; '.join(differs)}; "
                          "refusing to mix them (choose another --out)")


def _check_tables(path: Path, old: Mapping[str, Any]) -> None:
    recorded = old.get("outputs", {})
    for name in ("results.csv", "results.parquet", "summary.csv", "summary.md"):
        file = path / name
        if file.is_file() and _sha256(file.read_bytes()) not in recorded.get(name, []):
            raise ConfigError(str(file), None, "changed since wfsim wrote it (or not written by wfsim); refusing "
                              "to replace it, as the changes may be yours (move it away)")


def _records(path: Path, plan: BatchPlan) -> dict[tuple[int, int], RunOutcome]:
    done = {}
    for file in sorted((path / "runs").glob("*.json")):
        match = _RUN.match(file.name)
        if match is None:
            continue
        i, k = int(match[1]), int(match[2])
        if i >= len(plan.scenarios) or k >= len(plan.seeds):
            continue
        try:
            outcome = RunOutcome.from_json(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ConfigError(str(file), None, f"not a readable run record ({exc!r}); move it away to run that "
                              "run again") from None
        expected = (plan.scenarios[i].name, k, plan.seeds[k])
        if (outcome.scenario, outcome.replication, outcome.seed) != expected or outcome.status not in ("ok", "failed"):
            raise ConfigError(str(file), None, f"records scenario {outcome.scenario!r}, replication "
                              f"{outcome.replication}, seed {outcome.seed}, status {outcome.status!r}; this batch's "
                              f"run there is {expected[0]!r}, replication {k}, seed {expected[2]}, status ok or "
                              "failed; move it away to run that run again")
        done[i, k] = outcome
    return done


def _manifest(plan: BatchPlan, old: Mapping[str, Any] | None) -> dict[str, Any]:
    """The manifest of ``plan``, keeping an earlier manifest's history."""
    new = {
        "format": BATCH_FORMAT,
        "source": plan.source,
        "spec": plan.spec,
        "experiment": {"path": plan.experiment, "sha256": plan.experiment_sha256},
        "set": list(plan.overrides),
        "scenarios": [{"index": i, "name": s.name, "overrides": list(s.overrides), "labels": dict(s.labels),
                       "runs": f"runs/{i}-r*.json"}
                      for i, s in enumerate(plan.scenarios)],
        "baseline": plan.baseline,
        "root_seed": plan.root_seed,
        "seeds": list(plan.seeds),
        "trace": plan.trace,
        "created": _now(),
        "versions": package_versions(),
        "git_revision": git_revision(),
        "sessions": [],
        "outputs": {},
    }
    if old is not None:  # the same batch (checked): keep when and by what it was begun, and what it wrote
        new.update({k: old[k] for k in ("created", "versions", "git_revision", "sessions", "outputs") if k in old})
    return new


def _lock(path: Path) -> int:
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(str(path), None, f"another wfsim batch (process {holder}) is writing it; wait for it "
                          "to finish or choose another --out") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _sweep(path: Path) -> None:
    """Remove the temporary files of atomic writes that a killed batch left (locked: ours)."""
    for directory in (path, path / "runs"):
        with contextlib.suppress(OSError):
            for file in directory.iterdir():
                if _temporary(file.name):
                    file.unlink(missing_ok=True)


def _temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(ATOMIC_SUFFIX)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _short(seeds: Any) -> str:
    seeds = list(seeds)
    return f"[{', '.join(map(str, seeds[:4]))}{', …' if len(seeds) > 4 else ''}] ({len(seeds)})"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def opened(out: str | Path, plan: BatchPlan) -> Iterator[BatchDirectory]:
    """:meth:`BatchDirectory.open`, closed on exit."""
    directory = BatchDirectory.open(out, plan)
    try:
        yield directory
    finally:
        directory.close()
