"""Where the tests find reference data with known answers.

Two roots:

* ``own``: the project's fixtures in ``tests/data`` (written by
  ``tests/data/generate.py``), always present;
* ``shared``: ``../shared/data`` next to the project (real Porcupine/Jepsen histories
  and WfCommons instances, not part of the project), absent on a fresh clone.
  ``WFSIM_SHARED_DATA`` overrides its location; pointing it at a directory that does
  not exist runs the tests as on a fresh clone.

Tests are parametrised over both (:func:`params`): the ``own`` cases always run, the
``shared`` ones skip with a reason when the data is absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
OWN = PROJECT / "tests" / "data"
SHARED = Path(os.environ.get("WFSIM_SHARED_DATA") or PROJECT.parent / "shared" / "data")


@dataclass(frozen=True)
class HistorySet:
    """A folder pair of histories with known linearizability verdicts.

    Attributes:
        id: ``"own"`` or ``"shared"`` (the test ids).
        root: The folder holding ``register`` and ``kv``.
        register: Subfolder of Jepsen text logs of one register (``verdicts.json`` inside).
        kv: Subfolder of one-EDN-map-per-line key-value logs (``verdicts.json`` inside).
        empty: An empty log in ``register`` that has no verdict.
        register_count: How many register verdicts there must be (guards a
            truncated copy), or ``None`` for one per non-empty log.
        kv_names: The kv files to check (listed here so that they show up, as
            skipped, when the data is absent).
        kv_hard: kv files a budgeted check may leave ``unknown`` (never wrong).
        cli_cases: ``(folder, file, model)`` checked through ``wfsim check-history``.
    """

    id: str
    root: Path
    register: str
    kv: str
    empty: str
    register_count: int | None
    kv_names: tuple[str, ...]
    kv_hard: frozenset[str] = frozenset()
    cli_cases: tuple[tuple[str, str, str], ...] = ()

    @property
    def present(self) -> bool:
        return self.root.is_dir()

    @property
    def skip_reason(self) -> str:
        return f"{self.id} history data not found at {self.root} (a fresh clone has no ../shared)"

    def verdicts(self, folder: str) -> dict[str, str]:
        """``file -> "linearizable" | "not-linearizable"`` of a subfolder (empty if absent)."""
        path = self.root / folder / "verdicts.json"
        if not path.is_file():
            return {}
        return dict(json.loads(path.read_text())["verdicts"])


def _own_names(folder: str) -> tuple[str, ...]:
    path = OWN / "histories" / folder / "verdicts.json"
    return tuple(sorted(json.loads(path.read_text())["verdicts"]))


OWN_HISTORIES = HistorySet(
    id="own",
    root=OWN / "histories",
    register="register",
    kv="kv",
    empty="empty.log",
    register_count=None,
    kv_names=_own_names("kv"),
    cli_cases=(
        ("register", "r05-info-ok.log", "register"),
        ("register", "r05-resurrected-bad.log", "register"),
        ("kv", "k05-info-ok.txt", "kv"),
        ("kv", "k05-lost-append-bad.txt", "kv"),
    ),
)

SHARED_HISTORIES = HistorySet(
    id="shared",
    root=SHARED / "histories",
    register="porcupine-etcd",
    kv="porcupine-kv",
    empty="etcd_095.log",  # the etcd cluster failed to start in run 95
    register_count=102,
    kv_names=("c01-ok.txt", "c01-bad.txt", "c10-ok.txt", "c10-bad.txt", "c50-ok.txt", "c50-bad.txt"),
    kv_hard=frozenset({"c50-bad.txt"}),  # a plain search runs out of memory there
    cli_cases=(
        ("porcupine-etcd", "etcd_000.log", "register"),
        ("porcupine-etcd", "etcd_016.log", "register"),
        ("porcupine-kv", "c10-ok.txt", "kv"),
        ("porcupine-kv", "c10-bad.txt", "kv"),
    ),
)

HISTORY_SETS = (OWN_HISTORIES, SHARED_HISTORIES)


@dataclass(frozen=True)
class WorkflowSet:
    """WfFormat instances with known task counts (and, for some, known answers).

    Attributes:
        id: ``"own"`` or ``"shared"``.
        root: The folder of the instances.
        tasks: ``file -> number of tasks``.
        answers: ``file -> {"critical_path_s": ..., ...}`` where worked out independently.
    """

    id: str
    root: Path
    tasks: dict[str, int]
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.root.is_dir()

    @property
    def skip_reason(self) -> str:
        return f"{self.id} WfCommons instances not found at {self.root} (a fresh clone has no ../shared)"


_OWN_ANSWERS = json.loads((OWN / "workflows" / "answers.json").read_text())

OWN_WORKFLOWS = WorkflowSet(
    id="own",
    root=OWN / "workflows",
    tasks={name: answer["tasks"] for name, answer in _OWN_ANSWERS.items()},
    answers=_OWN_ANSWERS,
)

SHARED_WORKFLOWS = WorkflowSet(
    id="shared",
    root=SHARED / "workflows" / "wfinstances",
    tasks={
        "helloworld-chain-5-chameleon.json": 5,
        "helloworld-forkjoin-10-chameleon.json": 10,
        "srasearch-chameleon-10a-001.json": 22,
        "montage-chameleon-dss-05d-001.json": 58,
    },
)

WORKFLOW_SETS = (OWN_WORKFLOWS, SHARED_WORKFLOWS)


def params(cases: Iterable[tuple[HistorySet | WorkflowSet, tuple[Any, ...]]]) -> list[Any]:
    """``pytest.param`` s for ``(data set, values)`` pairs, id'd ``set-values``, the
    cases of an absent data set marked to skip with its reason."""
    out = []
    for data, values in cases:
        marks = () if data.present else (pytest.mark.skip(reason=data.skip_reason),)
        ident = "-".join([data.id, *(str(v) for v in values)])
        out.append(pytest.param(data, *values, id=ident, marks=marks))
    return out
