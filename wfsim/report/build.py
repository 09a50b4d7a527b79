"""Building a report: detect each source's kind, collect its parts, render the
template, write the HTML file atomically.

The output is checked before any work (:func:`check_output`): a new file, or a report
wfsim wrote earlier (it carries :data:`MARKER` in its head); never anyone else's file.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import jinja2

from wfsim.report.document import Part, number
from wfsim.trace.rundir import output_file_problem, write_atomically

#: The ``generator`` every report declares in its head; only such a file is replaced.
GENERATOR = "wfsim report"
#: The mark in any attribute order (nbconvert rewrites the head of notebook reports).
_MARK = re.compile('<meta\\s[^>]*(name="generator"\\s[^>]*content="{0}"|content="{0}"\\s[^>]*name="generator")'
                   .format(re.escape(GENERATOR)).encode())
#: Bytes of an existing file searched for the marker (it is in the head).
_HEAD_BYTES = 8192
#: The file that marks each kind of source directory, and the kind.
KINDS = {"manifest.json": "run", "batch.json": "batch", "study.json": "study"}


class ReportError(ValueError):
    """A report that cannot be built as asked; the message names the path."""


def check_output(out: str | Path) -> Path:
    """Check, before the work, that the report ``out`` can be written: new, or a
    report wfsim wrote; its directory exists and is writable.

    Raises:
        ReportError: Naming ``out`` and why not.
    """
    out = Path(out)
    problem = output_file_problem(out, written_by_wfsim, "wfsim report", "-o")
    if problem:
        raise ReportError(f"{out}: {problem}")
    return out


def written_by_wfsim(path: Path) -> bool:
    """Whether the file ``path`` is a report wfsim wrote (its head carries :data:`MARKER`)."""
    try:
        with path.open("rb") as f:
            return _MARK.search(f.read(_HEAD_BYTES)) is not None
    except OSError:
        return False


def source_kind(path: Path) -> str:
    """``run``, ``batch`` or ``study``: what the directory ``path`` holds, by its marker file.

    Raises:
        ReportError: ``path`` is missing, not a directory, or none of the three.
    """
    expected = "expected a run, batch or study directory written by wfsim"
    if not path.exists():
        raise ReportError(f"{path}: no such directory; {expected}")
    if not path.is_dir():
        raise ReportError(f"{path}: not a directory; {expected}")
    for marker, kind in KINDS.items():
        if (path / marker).is_file():
            return kind
    raise ReportError(f"{path}: not a wfsim run, batch or study directory (it has no {', '.join(KINDS)}); "
                      f"{expected}")


def _parts_of(kind: str) -> Callable[[Path, str | None], tuple[Part, list[Part]]]:
    # Imported by kind: a report of runs needs neither Optuna nor the batch machinery.
    if kind == "run":
        from wfsim.report.run import run_part
        return run_part
    if kind == "batch":
        from wfsim.report.batch import batch_part
        return batch_part
    from wfsim.report.study import study_part
    return study_part


def build_report(sources: Sequence[str | Path], out: str | Path, *, title: str | None = None,
                 command: Sequence[str] | None = None) -> Path:
    """Write one self-contained HTML design-review report of run, batch and study
    directories: a section per source, then the manifest that reproduces each.

    Example::

        from wfsim.report import build_report
        build_report(["results/run", "results/batch", "results/tune"], "review.html")

    Args:
        sources: Run, batch or study directories, in the order of their sections.
        out: The HTML file: new, or a report wfsim wrote (replaced atomically).
        title: The report's title (default: the single source's, else a generic one).
        command: The command that built it, for the manifest (default: ``sys.argv``).

    Returns:
        ``out``.

    Raises:
        ReportError: ``out`` cannot be written, or a source is not a run, batch or study.
        RunDirectoryError, ConfigError: A source is damaged (naming what is wrong).
    """
    out = check_output(out)
    if not sources:
        raise ReportError("no source directories given; expected run, batch or study directories")
    paths = [Path(s) for s in sources]
    kinds = [source_kind(p) for p in paths]  # every source recognised before the work
    sections, manifests = [], []
    for path, kind in zip(paths, kinds):
        part, provenance = _parts_of(kind)(path, None)
        sections.append(part)
        manifests += provenance
    title = title or (sections[0].title if len(sections) == 1 else f"wfsim report: {len(sections)} sources")
    created = datetime.now(UTC).isoformat(timespec="seconds")
    manifests.append(Part("This report", facts=[
        ("wfsim", _version()), ("python", sys.version.split()[0]), ("created", created),
        ("command", shlex.join(sys.argv if command is None else command)),
        ("sources", " ".join(str(p) for p in paths))]))
    parts = [*sections, Part("Manifest", notes=[
        "What reproduces each source: seeds, package versions, git revision, configuration and file checksums."],
        parts=manifests)]
    number(parts)
    html = render(title=title, parts=parts, created=created)
    write_atomically(out, html)
    return out


def render(*, title: str, parts: Sequence[Part], created: str) -> str:
    """The report's HTML (autoescaped: text from traces and configs stays text)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("wfsim.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=False)
    template = env.get_template("report.html.j2")
    return template.render(title=title, parts=parts, created=created, version=_version(), generator=GENERATOR)


def _version() -> str:
    try:
        return metadata.version("wfsim")
    except metadata.PackageNotFoundError:
        return "unknown"
