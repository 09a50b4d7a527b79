"""A notebook as a report: executed with parameters by papermill, exported by nbconvert.

The notebook runs on a temporary copy (the original is never written), with its own
directory as the working directory, so relative paths in it work as in Jupyter. The
export uses nbconvert's JupyterLab template without its scripts: the page loads
nothing from a CDN (no require.js, MathJax, Mermaid or widget manager), so LaTeX in
Markdown cells shows as its source, widgets as their text form, and Mermaid diagrams
as code. Images are embedded.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from wfsim.report.build import GENERATOR, ReportError, check_output
from wfsim.trace.rundir import write_atomically

#: The nbconvert template (in ``wfsim/report/templates``): JupyterLab's, without scripts.
TEMPLATE = "notebook.html.j2"


def parse_parameters(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` arguments as notebook parameters, the values read as YAML scalars
    (``3`` an int, ``0.5`` a float, ``true`` a bool, ``null`` None); any other value
    (text, or a YAML list or mapping) is passed as the text given.

    >>> parse_parameters(["n=3", "rate=0.5", "name=edge", "label=a: b"])
    {'n': 3, 'rate': 0.5, 'name': 'edge', 'label': 'a: b'}

    Raises:
        ReportError: An item without ``=`` or with an empty key.
    """
    found: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ReportError(f"-p {item}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        found[key.strip()] = value if isinstance(value, (str, int, float, bool)) or value is None else text
    return found


def notebook_report(notebook: str | Path, parameters: Mapping[str, Any], out: str | Path, *,
                    title: str | None = None) -> Path:
    """Execute ``notebook`` with ``parameters`` and write it as one HTML file.

    Args:
        notebook: The ``.ipynb`` file; it needs a cell tagged ``parameters`` to take any.
        parameters: Values for names its ``parameters`` cell assigns.
        out: The HTML file: new, or a report wfsim wrote (replaced atomically).
        title: The page title (default: the notebook's name).

    Returns:
        ``out``.

    Raises:
        ReportError: ``out`` cannot be written; the notebook is missing or unreadable,
            declares no such parameter, or a cell failed (naming the cell and the error).
    """
    import nbformat
    import papermill

    out = check_output(out)
    notebook = Path(notebook)
    if not notebook.is_file():
        raise ReportError(f"{notebook}: no such notebook")
    try:
        original = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
        declared = papermill.inspect_notebook(notebook)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"{notebook}: not a readable notebook ({exc})") from None
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        allowed = ", ".join(declared) if declared else "none (no cell is tagged 'parameters')"
        raise ReportError(f"{notebook}: unknown parameter {', '.join(map(repr, unknown))}; it takes: {allowed}")
    with tempfile.TemporaryDirectory(prefix="wfsim-report-") as scratch:
        executed = Path(scratch) / notebook.name
        try:
            papermill.execute_notebook(notebook, executed, parameters=dict(parameters), cwd=notebook.parent,
                                       progress_bar=False, log_output=False, kernel_manager_class=_quiet_kernels())
        except papermill.PapermillExecutionError as exc:
            raise ReportError(f"{notebook}: {_cell_name(original, exc.source)} failed: {exc.ename}: "
                              f"{exc.evalue}") from None
        except Exception as exc:  # a kernel that cannot start, a notebook papermill refuses
            raise ReportError(f"{notebook}: could not be executed ({type(exc).__name__}: {exc})") from None
        html = export(nbformat.read(executed, as_version=4), title or notebook.stem)  # type: ignore[no-untyped-call]
    write_atomically(out, html)
    return out


def export(nb: Any, title: str) -> str:
    """An executed notebook as a self-contained HTML page carrying wfsim's generator mark."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    # Without the widget manager a widget's output would render as nothing: its still
    # (the views put one in image/png) or its text shows instead.
    shown = Config({"NbConvertBase": {"display_data_priority": [
        "text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"]}})
    with resources.as_file(resources.files("wfsim.report") / "templates") as templates:
        exporter = HTMLExporter(  # type: ignore[no-untyped-call]
            config=shown, template_name="lab", template_file=TEMPLATE, embed_images=True,
            extra_template_paths=[str(templates)])
        html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title},
                                                              "wfsim_generator": GENERATOR})
    return str(html)


def _quiet_kernels() -> type:
    """A kernel manager whose kernels' own stderr goes nowhere: ipykernel logs warnings
    there (e.g. about TCP without encryption) that would break a user error's one line;
    what the cells print reaches the notebook over the kernel's channels all the same."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]  # async, as the class's own
            kw.setdefault("stderr", subprocess.DEVNULL)
            await super().start_kernel(**kw)

    return QuietKernelManager


def _cell_name(nb: Any, source: str) -> str:
    """``cell 4 (print(x))``: the failed cell by its place in the notebook as written."""
    for index, cell in enumerate(nb.cells, start=1):
        if cell.source == source:
            first = source.strip().splitlines()[0] if source.strip() else ""
            return f"cell {index} ({first[:60]})"
    return "a cell"
