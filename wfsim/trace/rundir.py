"""Run directories on disk: written atomically, never over a user's files, checked on read.

Layout::

    DIR/manifest.json        config, seed, versions, git revision, horizon, ``trace``
                             level, and ``files``: the size and SHA-256 of every file below
    DIR/metrics.json         summary metrics (:func:`wfsim.trace.metrics.summarize`)
    DIR/trace/schema.json    column dtypes of every table
    DIR/trace/*.parquet      the trace tables (:data:`wfsim.trace.tables.TABLES`)

A run kept at trace level ``metrics`` (``"trace": "metrics"`` in its manifest) holds the
manifest and ``metrics.json`` only; a manifest without ``trace`` is a full run's.

The rules, which every writer of results follows:

* A directory is a run only when its ``manifest.json`` says so (``format``) and lists
  its files. Writing over a run replaces only the files its manifest lists and is
  refused when anything else is inside; writing over anything else that is not an
  empty directory is refused. wfsim never deletes a file it did not write.
* Everything is written into a hidden staging directory beside ``DIR`` and renamed
  into place. Staging directories carry a marker (process and host), so one left by a
  killed process is recognised and swept by the next write to the same parent.
* Readers (:func:`check_run`) compare every listed file's size and checksum, and
  validate the manifest's fields, so a damaged run is reported, never summarised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wfsim.model.enums import TraceLevel
from wfsim.trace.tables import DECLARATIONS, TABLES

if TYPE_CHECKING:
    import pandas as pd

    from wfsim.trace.trace import Trace

#: The ``format`` a run directory's manifest declares.
RUN_FORMAT = "wfsim-run/1"
#: Marker file inside a staging directory: JSON with the writer's ``pid`` and ``host``.
STAGING_MARKER = ".wfsim-staging"
_STAGING_INFIX = ".wfsim-tmp-"
#: Suffix of the hidden temporary file :func:`write_atomically` writes first.
ATOMIC_SUFFIX = ".wfsim-tmp"
#: Column dtypes of the tables (:meth:`Trace.schema <wfsim.trace.trace.Trace.schema>`).
_SCHEMA = "trace/schema.json"
#: Files a run directory holds besides its manifest, in the order they are written.
RUN_FILES = ("metrics.json", *(f"trace/{t}.parquet" for t in TABLES), _SCHEMA)
#: The files of a run kept at trace level ``metrics``.
METRICS_RUN_FILES = ("metrics.json",)
#: Files a run saved before they existed lacks: the schema, and optional tables.
_OPTIONAL_FILES = {_SCHEMA, *(f"trace/{t.name}.parquet" for t in DECLARATIONS if t.optional)}


class RunDirectoryError(ValueError):
    """A run directory that cannot be written or read; the message names the path."""


class FileRecord(BaseModel):
    """Size and checksum of one file of a run, as the manifest lists it."""

    model_config = ConfigDict(extra="forbid")
    bytes: int = Field(ge=0, strict=True)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class RunManifest(BaseModel):
    """The fields of ``manifest.json`` that readers rely on (others are kept as written)."""

    model_config = ConfigDict(extra="allow")
    format: str
    seed: int = Field(ge=0, strict=True)
    horizon: float = Field(ge=0)
    config: dict[str, Any] | None = None
    trace: TraceLevel = TraceLevel.FULL  # runs written before trace levels kept everything
    files: dict[str, FileRecord]

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value != RUN_FORMAT:
            raise ValueError(f"is {value!r}; this wfsim reads {RUN_FORMAT!r}")
        return value

    @field_validator("horizon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be finite, got {value}")
        return value


# --- writing -----------------------------------------------------------------------
def prepare_output(out: str | Path) -> Path:
    """Check, before any work, that a run can be written to ``out``.

    Creates the missing parent directories and proves the parent writable by creating
    (and removing) a staging directory in it; sweeps stale staging directories there.

    Returns:
        ``out`` resolved.

    Raises:
        RunDirectoryError: ``out`` holds something wfsim must not replace, or its
            parent cannot be created or written.
    """
    out = _target(out)
    _check_replaceable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _staging(out):
            pass
    except OSError as exc:
        raise RunDirectoryError(f"{out}: cannot write results here ({exc.strerror or exc})") from None
    return out


def write_run(out: str | Path, trace: Trace, metrics: dict[str, Any] | None = None,
              on_file: Callable[[str], object] | None = None) -> Path:
    """Write ``trace`` (and its metrics) as a run directory, atomically.

    Args:
        out: The run directory. It may not exist yet, be empty, or be a run written
            by wfsim whose files alone are inside (they are replaced).
        trace: The trace to save; its manifest is saved with the file list and
            ``"trace": "full"`` added.
        metrics: Summary metrics; computed from the trace when ``None``.
        on_file: Called with each file's name as it is written (progress).

    Returns:
        The directory written.

    Raises:
        RunDirectoryError: ``out`` holds something else (nothing is written or removed).
        OSError: The disk refused a write; nothing is left behind.
    """
    from wfsim.trace.metrics import summarize

    if metrics is None:
        metrics = summarize(trace)
    return _write(out, {**trace.manifest, "trace": TraceLevel.FULL.value}, _payload(trace, metrics), on_file)


def write_metrics_run(out: str | Path, manifest: dict[str, Any], metrics: dict[str, Any],
                      on_file: Callable[[str], object] | None = None) -> Path:
    """Write a run kept at trace level ``metrics``: its manifest (recording
    ``"trace": "metrics"``) and ``metrics.json``, atomically, by the rules of
    :func:`write_run`.

    Args:
        out: The run directory, as for :func:`write_run`.
        manifest: The run's manifest (``RunResult.manifest``); the file list is added.
        metrics: Its summary metrics.
        on_file: Called with each file's name as it is written (progress).

    Returns:
        The directory written.

    Raises:
        RunDirectoryError, OSError: As :func:`write_run`.
    """
    return _write(out, {**manifest, "trace": TraceLevel.METRICS.value}, _metrics_payload(metrics), on_file)


def _write(out: str | Path, manifest: dict[str, Any], payload: Iterator[tuple[str, Callable[[Path], Any]]],
           on_file: Callable[[str], object] | None) -> Path:
    """Write ``payload``'s files and the manifest listing them as the run ``out``."""
    out = _target(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _staging(out) as staging:
        files = {}
        for name, write in payload:
            path = staging / name
            path.parent.mkdir(exist_ok=True)
            write(path)
            files[name] = file_record(path)
            if on_file is not None:
                on_file(name)
        manifest = {**manifest, "format": RUN_FORMAT, "files": files}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        # The marker goes last, from the renamed directory: a kill before that leaves
        # either a marked staging directory (swept later) or a run with a marker
        # (recognised as wfsim's own when the run is replaced).
        _replace(staging, out)
        (out / STAGING_MARKER).unlink()
    return out


def output_file_problem(out: Path, ours: Callable[[Path], bool], writer: str, flag: str) -> str | None:
    """Why the output file ``out`` must not be written, or None; checked before the
    work that makes it, without creating it.

    It must not be a directory, must be new or a file ``writer`` wrote (``ours``
    tells), and its directory must exist and take a new file.

    Args:
        out: The file.
        ours: Whether an existing file was written by ``writer`` (and may be replaced).
        writer: Who writes it, for the message (``wfsim report``).
        flag: The option that named it, for the message (``-o``).
    """
    if out.is_dir():
        return f"is a directory; {flag} names the file to write"
    if (out.exists() or out.is_symlink()) and not ours(out):
        return f"exists and was not written by {writer}; refusing to overwrite it (choose another {flag})"
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        return f"its directory {parent} does not exist"
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{out.name}.", suffix=ATOMIC_SUFFIX):
            pass
    except OSError as exc:
        return f"cannot write here ({exc.strerror or exc})"
    return None


def write_atomically(out: str | Path, content: str | bytes | Callable[[Path], object]) -> None:
    """Write the file ``out`` through a hidden temporary file beside it, renamed into
    place: a reader sees the old file or the new one, never part of one.

    Args:
        out: The file.
        content: Its text or bytes, or a function writing the file at the path it is
            given (``lambda p: frame.to_parquet(p)``).

    Raises:
        OSError: The write failed; nothing is left behind and ``out`` is unchanged.
    """
    out = Path(out)
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=ATOMIC_SUFFIX)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(content, (str, bytes)):
                f.write(content.encode() if isinstance(content, str) else content)
        if callable(content):
            content(tmp)
        tmp.chmod(0o666 & ~_umask())  # mkstemp's 0600 would become the file's mode
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _metrics_payload(metrics: dict[str, Any]) -> Iterator[tuple[str, Callable[[Path], Any]]]:
    yield "metrics.json", lambda p: p.write_text(json.dumps(metrics, indent=2, default=float))


def _payload(trace: Trace, metrics: dict[str, Any]) -> Iterator[tuple[str, Callable[[Path], Any]]]:
    yield from _metrics_payload(metrics)
    for name in TABLES:
        yield f"trace/{name}.parquet", _parquet_writer(getattr(trace, name))
    yield _SCHEMA, lambda p: p.write_text(json.dumps(trace.schema(), indent=1))


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    return lambda p: frame.to_parquet(p, index=False)


def _replace(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    if not any(out.iterdir()):
        os.replace(staging, out)  # POSIX rename replaces an empty directory
        return
    # A previous run (checked by the caller): move it aside under a marker first, so a
    # kill between the two renames leaves something the next write sweeps.
    with _staging(out, kind="old") as retired:
        os.replace(out, retired / "run")
        os.replace(staging, out)


@contextlib.contextmanager
def _staging(out: Path, kind: str = "new") -> Iterator[Path]:
    """A marked hidden directory beside ``out``, removed on exit (whatever happens)."""
    _sweep(out.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}{_STAGING_INFIX}{kind}-", dir=out.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would become the run's mode
        (staging / STAGING_MARKER).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sweep(parent: Path) -> None:
    """Remove staging directories in ``parent`` left by wfsim processes that died."""
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(".") and _STAGING_INFIX in p.name]
    except OSError:
        return
    host = socket.gethostname()
    for path in candidates:
        try:
            marker = json.loads((path / STAGING_MARKER).read_text())
            pid, writer_host = int(marker["pid"]), marker["host"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or still being created: leave it
        if writer_host == host and not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _target(out: str | Path) -> Path:
    """Where a run for ``out`` goes: ``out`` itself, or what a symbolic link there
    points to (the link is kept; a dangling one is refused by the check)."""
    out = Path(out).absolute()
    return out.resolve() if out.is_symlink() and out.exists() else out


def _check_replaceable(out: Path) -> None:
    if not out.exists():
        if out.is_symlink():
            raise RunDirectoryError(f"{out}: is a broken symbolic link; refusing to replace it")
        return
    if not out.is_dir():
        raise RunDirectoryError(f"{out}: exists and is not a directory; refusing to replace it")
    try:
        entries = list(out.iterdir())
    except OSError as exc:
        raise RunDirectoryError(f"{out}: cannot list it ({exc.strerror or exc})") from None
    if not entries:
        return
    try:
        manifest = _read_manifest(out)
    except RunDirectoryError:
        raise RunDirectoryError(f"{out}: exists, is not empty and is not a wfsim run directory; "
                                "refusing to overwrite it (choose another --out)") from None
    foreign = sorted(set(_files_under(out)) - set(manifest.files) - {"manifest.json", STAGING_MARKER})
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise RunDirectoryError(f"{out}: holds files wfsim did not write ({shown}); refusing to overwrite "
                                "the run (move them away or choose another --out)")
    problems = _damage(out, manifest)
    if problems:
        raise RunDirectoryError(f"{out}: a wfsim run whose files changed since it was written ("
                                + "; ".join(problems) + "); refusing to overwrite it, as the changes may be "
                                "yours (move it away or choose another --out)")


def _files_under(directory: Path) -> list[str]:
    """Every entry below ``directory`` as a relative POSIX path (directories that
    hold something are implied by their files; empty ones are listed)."""
    out = []
    for path in directory.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                out.append(path.relative_to(directory).as_posix() + "/")
        else:
            out.append(path.relative_to(directory).as_posix())
    return out


# --- reading -----------------------------------------------------------------------
def check_run(directory: str | Path) -> RunManifest:
    """Check a run directory: its manifest, and every file's presence, size and checksum.

    The manifest must list every file of its trace level: :data:`RUN_FILES` (but those
    of runs saved before some existed), or :data:`METRICS_RUN_FILES` for a run kept at
    level ``metrics``.

    Returns:
        The validated manifest.

    Raises:
        RunDirectoryError: Naming every problem found (missing, truncated, altered
            files; invalid manifest fields).
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    problems = _damage(directory, manifest)
    # Trace.load reads a run without the schema, and gives an optional table that
    # a run saved before it existed lacks empty.
    expected = RUN_FILES if manifest.trace is TraceLevel.FULL else METRICS_RUN_FILES
    unlisted = [name for name in expected if name not in _OPTIONAL_FILES and name not in manifest.files]
    if unlisted:
        problems.append("manifest.json: files: does not list " + ", ".join(unlisted))
    if problems:
        raise RunDirectoryError(f"{directory}: damaged run: " + "; ".join(problems))
    return manifest


def _damage(directory: Path, manifest: RunManifest) -> list[str]:
    """What differs from the manifest's record of each file: missing, truncated, altered."""
    problems = []
    for name, expected in manifest.files.items():
        path = directory / name
        if not _inside(directory, path):
            problems.append(f"{name}: lies outside the run directory")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        else:
            size = path.stat().st_size
            if size != expected.bytes:
                what = "truncated" if size < expected.bytes else "grown"
                problems.append(f"{name}: {what} ({size} bytes, {expected.bytes} written)")
            elif _sha256(path) != expected.sha256:
                problems.append(f"{name}: altered since it was written (checksum differs)")
    return problems


def _read_manifest(directory: Path) -> RunManifest:
    path = directory / "manifest.json"
    if not directory.is_dir():
        what = "not a directory" if directory.exists() else "no such directory"
        raise RunDirectoryError(f"{directory}: not a wfsim run directory ({what})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirectoryError(f"{directory}: not a wfsim run directory (no manifest.json)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RunDirectoryError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(data, dict):
        raise RunDirectoryError(f"{path}: not a wfsim run manifest (a JSON {type(data).__name__}, "
                                "not an object)")
    if "format" not in data:
        raise RunDirectoryError(f"{directory}: not a wfsim run directory (manifest.json has no 'format'; "
                                "runs written before wfsim 0.2 carry no checksums: run them again)")
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        raise RunDirectoryError(f"{path}: {field}: {err['msg']}{got}") from None


def _inside(directory: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def file_record(path: Path) -> dict[str, Any]:
    """A file's size and SHA-256, as a manifest records them: ``{"bytes", "sha256"}``."""
    return {"bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_metrics(directory: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a run directory (check it first with :func:`check_run`)."""
    metrics: dict[str, Any] = json.loads((Path(directory) / "metrics.json").read_text())
    return metrics
