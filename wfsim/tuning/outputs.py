"""A study's output directory, like a run directory: never over a user's files.

``DIR`` holds ``study.json`` (its marker: format, study name and fingerprint), the
journal storage and its lock files, ``trials.csv``, ``best.json`` and the best
configuration's run directory ``best-run/``. A non-empty directory without the marker
is refused, and so is one holding another study (other settings); everything is
checked writable before the study starts, and files are replaced atomically. wfsim
deletes nothing here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wfsim.experiments.errors import ConfigError
from wfsim.trace.rundir import prepare_output

#: The marker file, and the ``format`` it declares.
MARKER, FORMAT = "study.json", "wfsim-study/1"
#: The best configuration's run directory.
BEST_RUN = "best-run"


def prepare_study_dir(out: str | Path, name: str, fingerprint: str) -> Path:
    """Check, before any work, that the study ``name`` can be written to ``out``
    (new, empty, or this study's directory), and mark it as the study's.

    Returns:
        ``out`` as an absolute path.

    Raises:
        ConfigError: ``out`` holds something else, or cannot be written.
        RunDirectoryError: ``out/best-run`` holds something wfsim must not replace.
    """
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise ConfigError(str(out), None, "exists and is not a directory; refusing to replace it")
    marker = out / MARKER
    if out.is_dir() and any(out.iterdir()):
        try:
            found = json.loads(marker.read_text(encoding="utf-8"))
            ours = found.get("format") == FORMAT
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise ConfigError(str(out), None, "exists, is not empty and is not a wfsim study directory; refusing "
                              "to write into it (choose another --out)")
        if found.get("fingerprint") != fingerprint or found.get("name") != name:
            raise ConfigError(str(out), None, f"holds the study {found.get('name')!r} with other settings (the "
                              "experiment, space, objectives, replications, seed or constraints differ); choose "
                              "another --out to start a new study")
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(marker, json.dumps({"format": FORMAT, "name": name, "fingerprint": fingerprint}, indent=2))
        prepare_output(out / BEST_RUN)
    except OSError as exc:
        raise ConfigError(str(out), None, f"cannot write the study here ({exc.strerror or exc})") from None
    return out


@contextlib.contextmanager
def session_lock(out: Path) -> Iterator[None]:
    """Hold ``out`` for one ``wfsim tune`` at a time (its workers included).

    Raises:
        ConfigError: Another ``wfsim tune`` holds it.
    """
    fd = os.open(out / "tune.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ConfigError(str(out), None, "another wfsim tune is running this study; let it finish (or stop "
                                  "it) first") from None
            raise
        yield
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file beside it, renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any new file
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON, atomically."""
    write_atomically(path, json.dumps(data, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
