"""The catalog's registry is collected from its subject modules, and the lists of
properties in the README are the registry's."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import wfsim.verify
from wfsim.verify import catalog
from wfsim.verify.catalog import CATALOG
from wfsim.verify.properties import Property

README = Path(__file__).resolve().parents[2] / "README.md"


def subject_modules() -> list:
    return [importlib.import_module(info.name)
            for info in pkgutil.iter_modules(catalog.__path__, f"{catalog.__name__}.")]


def seed_number(pid: str) -> int:
    return int(pid.removeprefix("P"))


# --- the registry -----------------------------------------------------------------------------------------
def test_the_registry_is_every_property_of_the_subject_modules_in_seed_order() -> None:
    defined = {id(value): (module.__name__, name) for module in subject_modules()
               for name, value in vars(module).items() if isinstance(value, Property)}
    assert len(defined) == len(CATALOG)
    assert {id(p) for p in CATALOG.values()} == set(defined)
    numbers = [seed_number(p.pid) for p in CATALOG.values()]
    assert numbers == sorted(numbers)
    for p in CATALOG.values():  # where it is defined, under the name it is exported as
        module, name = defined[id(p)]
        assert getattr(catalog, name) is p and name in catalog.__all__
        assert module.rsplit(".", 1)[1] != "common"


def test_every_public_name_is_importable_from_the_packages() -> None:
    for name in catalog.__all__:
        assert getattr(catalog, name) is not None
        assert name in dir(catalog)
    assert wfsim.verify.CATALOG is CATALOG
    assert wfsim.verify.check_catalog is catalog.check_catalog


def test_the_catalog_modules_have_short_docstrings() -> None:
    for path in Path(catalog.__file__).parent.glob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert 0 < len(doc.splitlines()) <= 30, path.name


# --- the published lists ----------------------------------------------------------------------------------
def readme_row(p: Property) -> str:
    """The README table's row of a property: reST literals as Markdown ones, pipes escaped."""
    return f"| {p.pid} | `{p.name}` | " + p.description.replace("``", "`").replace("|", "\\|") + " |"


def test_the_readme_table_is_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    header = "| Id | Property | Checks |\n|----|----------|--------|\n"
    assert text.count(header) == 1
    rows = text.split(header, 1)[1].split("\n\n", 1)[0].splitlines()
    expected = [readme_row(p) for p in CATALOG.values()]
    assert rows == expected, "README.md's property table should read:\n" + header + "\n".join(expected)


def test_the_readme_sample_output_lists_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    sample = text.split("$ wfsim verify results/q\n", 1)[1].split("\n$ ", 1)[0]
    listed = re.findall(r"^(P\d+)\s+(\S+)\s+(?:true|false|inconclusive|not_applicable)\s", sample, flags=re.MULTILINE)
    assert listed == [(p.pid, p.name) for p in CATALOG.values()]

