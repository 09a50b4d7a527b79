"""Every ``notebooks/*.py`` (jupytext percent format) is paired with an up-to-date,
output-free ``.ipynb`` and runs top to bottom.

The ``.py`` file is the source of truth. After editing it, regenerate the notebook::

    cd notebooks && jupytext --to ipynb NAME.py      # or: jupytext --sync NAME.py

The notebooks run in a ``python3`` kernel started from this interpreter's
environment (ipykernel installs that kernelspec under ``sys.prefix/share/jupyter``),
with ``MPLBACKEND=Agg`` and ``notebooks/`` as working directory.

A notebook whose work takes minutes at full size has a cell tagged ``parameters``
(papermill's convention: ``# %% tags=["parameters"]`` in the ``.py``); CI runs it small
by inserting the values of :data:`SMALL` as a cell right after it, as papermill's
``-p name value`` does.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("jupyter_client.kernelspec")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
KERNEL = "python3"
CELL_TIMEOUT = 300

#: notebook → the parameter values CI runs it with (see the module docstring).
SMALL: dict[str, dict[str, object]] = {
    "00-quickstart": {"duration": 60.0},
    "01-continuum-and-workloads": {"devices": 8, "duration": 60.0, "mosaic_period": 30.0},
    "02-strategies-compared": {"replications": 2, "duration": 30.0, "workers": 1},
    "03-adaptive-runtime": {"duration": 120.0, "replications": 2},
    "04-verification": {"duration": 90.0},
    "05-tuning": {"n_trials": 3, "pareto_trials": 3, "replications": 1, "held_out": 1, "duration": 15.0},
    "06-report": {"duration": 15.0, "replications": 1, "n_trials": 2},
    "07-faults": {"devices": 6, "duration": 60.0, "partition_start": 15.0, "partition_length": 30.0,
                  "replications": 1, "workers": 1},
    "08-consistency": {"devices": 4, "edges": 2, "duration": 30.0, "partition_start": 10.0, "partition_length": 10.0,
                       "clients": 3, "budget": 10.0},
}


def _cells(nb) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in nb.cells]


def _read_py(path: Path):
    return jupytext.read(path, fmt="py:percent")


def test_notebooks_exist():
    assert SOURCES, f"no notebooks/*.py found in {NOTEBOOKS}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_each_notebook_has_one_parameters_cell_and_ci_sets_only_its_names(source: Path):
    nb = _read_py(source)
    tagged = [cell for cell in nb.cells if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{source.name}: expected one cell tagged 'parameters' (papermill's), found {len(tagged)}"
    assigned = set(re.findall(r"(?m)^(\w+)\s*=", tagged[0].source))
    unknown = set(SMALL.get(source.stem, {})) - assigned
    assert not unknown, f"{source.name}: SMALL sets {sorted(unknown)}, which its parameters cell does not define"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_py_is_a_paired_percent_notebook(source: Path):
    header = source.read_text(encoding="utf-8")
    assert "format_name: percent" in header, f"{source.name}: not in jupytext py:percent format"
    nb = _read_py(source)
    formats = nb.metadata.get("jupytext", {}).get("formats", "")
    assert set(formats.split(",")) == {"ipynb", "py:percent"}, (
        f"{source.name}: not paired; run `jupytext --set-formats ipynb,py:percent {source.name}`"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL, (
        f"{source.name}: the jupytext header should name the {KERNEL!r} kernelspec"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_ipynb_matches_py(source: Path):
    ipynb = source.with_suffix(".ipynb")
    fix = f"regenerate it: cd notebooks && jupytext --to ipynb {source.name}"
    assert ipynb.exists(), f"{ipynb.name} is missing; {fix}"
    paired = nbformat.read(ipynb, as_version=4)
    expected = _read_py(source)
    assert _cells(paired) == _cells(expected), f"{ipynb.name} has drifted from {source.name}; {fix}"
    with_outputs = [i for i, cell in enumerate(paired.cells)
                    if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))]
    assert not with_outputs, (
        f"{ipynb.name}: cells {with_outputs} have outputs; keep them out of the repository "
        f"(jupyter nbconvert --clear-output --inplace {ipynb.name}, or {fix})"
    )


@pytest.fixture(scope="session")
def kernel_name() -> str:
    specs = kernelspec.find_kernel_specs()
    if KERNEL not in specs:
        pytest.fail(f"no {KERNEL!r} Jupyter kernelspec for {sys.executable} (found {sorted(specs)}); "
                    f"install ipykernel in this environment: {sys.executable} -m pip install ipykernel")
    return KERNEL


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_notebook_runs(source: Path, kernel_name: str, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")           # inherited by the kernel process
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = _read_py(source)
    _inject_parameters(nb, SMALL.get(source.stem, {}))
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=CELL_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))      # drop ANSI colours
        pytest.fail(f"{source.name}: a cell failed\n{message}", pytrace=False)
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors


def _inject_parameters(nb, values: dict[str, object]) -> None:
    """Insert ``values`` as assignments after the cell tagged ``parameters``."""
    if not values:
        return
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    nb.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))


def test_small_parameters_name_real_notebooks_and_cells():
    """Every entry of SMALL names a notebook and only variables its parameters cell sets."""
    for stem, values in SMALL.items():
        source = NOTEBOOKS / f"{stem}.py"
        assert source.exists(), f"SMALL names {stem!r}, which is not a notebook"
        nb = _read_py(source)
        cells = [c.source for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(cells) == 1, f"{stem}: expected one cell tagged 'parameters'"
        assigned = set(re.findall(r"^(\w+)\s*=", cells[0], flags=re.MULTILINE))
        extra = sorted(set(values) - assigned)
        assert not extra, f"{stem}: SMALL sets {extra}, which its parameters cell does not"
