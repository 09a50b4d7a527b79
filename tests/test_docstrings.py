"""Module docstrings stay short: the detail lives on the classes and functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WFSIM = Path(__file__).resolve().parents[1] / "wfsim"
MODULES = sorted(WFSIM.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(WFSIM)) for p in MODULES])
def test_module_docstring_is_short(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False) or ""
    assert doc.count("\n") + 1 <= 40, f"{path.name}: {doc.count(chr(10)) + 1} lines"
