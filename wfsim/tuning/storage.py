"""Where a study lives, and how its workers share it.

* By default, Optuna's journal file ``DIR/study.journal`` (:class:`JournalStorage`
  over :class:`JournalFileBackend`): an append-only log with a lock file, safe for
  the worker processes of one machine.
* ``--storage postgresql://USER@HOST:PORT/DB`` (:class:`RDBStorage`), for workers on
  many machines; trials whose process stopped sending heartbeats are failed and
  retried by the others. ``sqlite:///FILE`` is accepted for one worker only:
  SQLite locks the whole file per write, and concurrent worker processes fail with
  "database is locked".

Workers start exactly ``n_trials`` between them: each holds a :class:`Claim` while it
counts the trials and creates its next one (a lock file in ``DIR``, or a PostgreSQL
advisory lock, which holds across machines). A trial left running by a killed
process is failed when the study is next started (:func:`recover`) and its
parameters queued again, so rerunning the same command resumes the study.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage, InMemoryStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from wfsim.experiments.errors import ConfigError
from wfsim.tuning.trials import Claim, retry

#: The journal file in a study directory.
JOURNAL = "study.journal"
#: Seconds between a PostgreSQL worker's heartbeats, and without one before its trial is failed.
HEARTBEAT_SECONDS, GRACE_SECONDS = 10, 60
_SCHEMES = ("postgresql", "postgresql+psycopg2", "postgresql+psycopg", "sqlite")


def check_storage(url: str | None, workers: int) -> None:
    """Refuse a storage URL that cannot serve ``workers`` worker processes.

    Raises:
        ConfigError: Naming ``--storage`` and what is allowed.
    """
    if url is None:
        return
    scheme = url.partition(":")[0].lower()
    if scheme not in _SCHEMES or "://" not in url:
        raise ConfigError(f"--storage {_shown(url)}", None, "unsupported storage; allowed: "
                          "postgresql://USER@HOST:PORT/DB (workers on many machines), sqlite:///FILE (one worker), "
                          "or no --storage (a journal file in --out)")
    if scheme == "sqlite" and workers > 1:
        raise ConfigError(f"--storage {_shown(url)}", None, f"SQLite cannot serve {workers} worker processes (each "
                          "write locks the whole database, so concurrent workers fail with 'database is locked'); "
                          "omit --storage for the journal file in --out, or use postgresql://")


def open_storage(url: str | None, out: Path | None) -> BaseStorage:
    """The storage of a study: ``url``'s database, else the journal file in ``out``,
    else (no output directory) memory.

    Raises:
        ConfigError: The database cannot be reached.
    """
    if url is None:
        return InMemoryStorage() if out is None else JournalStorage(JournalFileBackend(str(out / JOURNAL)))
    kwargs: dict[str, Any] = {}
    if not url.startswith("sqlite"):
        kwargs = {"heartbeat_interval": HEARTBEAT_SECONDS, "grace_period": GRACE_SECONDS,
                  "heartbeat_stale_trial_callback": retry}
    given = url
    if url.partition(":")[0].lower() == "postgresql":
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; wfsim installs psycopg2.
        url = "postgresql+psycopg2:" + url.partition(":")[2]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)  # the heartbeat, stable since Optuna 2.8
            return RDBStorage(url, **kwargs)
    except Exception as exc:  # sqlalchemy's and the driver's errors, whatever their class
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())  # the driver's words, not the wrapper's
        raise ConfigError(f"--storage {_shown(given)}", None, f"cannot open the storage ({reason[:300]})") from None


def _shown(url: str) -> str:
    """``url`` without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def claim_for(storage: BaseStorage, out: Path | None, study_name: str) -> Claim:
    """The claim the workers of a study share on ``storage``."""
    if isinstance(storage, RDBStorage) and storage.engine.dialect.name == "postgresql":
        return AdvisoryClaim(storage, study_name)
    return FileClaim(out / "claim.lock") if out is not None else Claim()


class FileClaim(Claim):
    """An exclusive ``flock`` on a file: the workers of one machine."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryClaim(Claim):
    """A PostgreSQL session advisory lock keyed by the study's name: workers on any
    machine using the database."""

    def __init__(self, storage: RDBStorage, study_name: str) -> None:
        self._engine = storage.engine
        self._key = int.from_bytes(hashlib.sha256(f"wfsim-tune:{study_name}".encode()).digest()[:8], "big",
                                   signed=True)
        self._connection: Any = None

    def acquire(self) -> None:
        from sqlalchemy import text

        connection = self._engine.connect()
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self._key})
        self._connection = connection

    def release(self) -> None:
        if self._connection is not None:
            from sqlalchemy import text

            connection, self._connection = self._connection, None
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            finally:
                connection.close()


def recover(study: optuna.Study, out: Path | None, journal: bool) -> list[int]:
    """Fail the trials left running by processes of this study that were killed, and
    queue every interrupted trial's parameters again.

    A running trial is known dead when the study is in a journal file in ``out``
    (only the caller, which holds the directory's lock, and its workers use it), or
    when its worker recorded this host and ``out``. Others (PostgreSQL workers
    elsewhere) are failed by the heartbeat when they stop beating.

    Returns:
        The numbers of the trials queued again.
    """
    import socket

    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker") or {}
        if journal or (worker.get("host") == host and worker.get("out") == (str(out) if out else None)):
            study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
    retried = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if "error" not in t.user_attrs and not any(u.user_attrs.get("retry_of") == t.number
                                                   for u in study.get_trials(deepcopy=False)):
            retry(study, t)
            retried.append(t.number)
    return retried
