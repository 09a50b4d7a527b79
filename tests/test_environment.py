"""environment.yml mirrors pyproject.toml: same packages, same version specifiers.

pyproject's ``[project].dependencies`` and the ``test`` extra must each appear in
environment.yml's conda dependency list with an identical specifier (names compared
after PEP 503 normalisation); the conda list has nothing else apart from ``python``,
``pip`` and the ``pip:`` block installing the project itself, and its Python floor is
``requires-python``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"


def pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def project_requirements() -> dict[str, Requirement]:
    """Runtime dependencies plus the ``test`` extra, by normalised name."""
    project = pyproject()["project"]
    lines = list(project.get("dependencies", [])) + list(project.get("optional-dependencies", {}).get("test", []))
    out: dict[str, Requirement] = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in out, f"pyproject.toml lists {name!r} twice"
        out[name] = req
    return out


def conda_entries() -> tuple[dict[str, Requirement], list]:
    """Conda dependencies by normalised name, and the nested ``pip:`` blocks."""
    env = yaml.safe_load(ENVIRONMENT.read_text())
    assert isinstance(env, dict) and isinstance(env.get("dependencies"), list), \
        "environment.yml needs a top-level 'dependencies' list"
    out: dict[str, Requirement] = {}
    pip_blocks = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip_blocks.append(entry)
            continue
        try:
            req = Requirement(str(entry))
        except InvalidRequirement as exc:
            pytest.fail(f"environment.yml entry {entry!r} is not a PEP 508 requirement "
                        f"(use the same 'name>=x' form as pyproject.toml): {exc}")
        name = canonicalize_name(req.name)
        assert name not in out, f"environment.yml lists {name!r} twice"
        out[name] = req
    return out, pip_blocks


REQUIRED = sorted(project_requirements())


@pytest.mark.parametrize("name", REQUIRED)
def test_dependency_mirrored_with_same_specifier(name: str) -> None:
    expected = project_requirements()[name]
    conda, _ = conda_entries()
    assert name in conda, (
        f"{name}: required by pyproject.toml as {str(expected)!r} but missing from environment.yml"
    )
    got = conda[name]
    assert got.specifier == expected.specifier, (
        f"{name}: pyproject.toml requires {str(expected.specifier) or '(any version)'!r}, "
        f"environment.yml has {str(got.specifier) or '(any version)'!r}"
    )


def test_no_extra_conda_packages() -> None:
    conda, _ = conda_entries()
    extra = sorted(set(conda) - set(project_requirements()) - {"python", "pip"})
    assert not extra, f"environment.yml lists packages not in pyproject.toml: {extra}"
    assert "pip" in conda, "environment.yml must install pip (it installs the project with pip)"


def test_pip_block_installs_only_the_project() -> None:
    _, blocks = conda_entries()
    for block in blocks:
        assert set(block) == {"pip"}, f"environment.yml: unexpected nested entry {block!r}"
        others = [line for line in block["pip"] if line.strip() not in ("-e .", ".")]
        assert not others, f"environment.yml pip block installs more than the project: {others}"


def test_python_floor_matches_requires_python() -> None:
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    conda, _ = conda_entries()
    assert "python" in conda, "environment.yml must pin python"
    assert conda["python"].specifier == requires, (
        f"python: pyproject.toml requires-python {str(requires)!r}, "
        f"environment.yml has {str(conda['python'].specifier)!r}"
    )


def test_parsers_catch_a_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is sensitive: a changed floor and an extra package are caught."""
    env = yaml.safe_load(ENVIRONMENT.read_text())
    env["dependencies"] = [
        "numpy>=0.1" if isinstance(e, str) and canonicalize_name(Requirement(e).name) == "numpy" else e
        for e in env["dependencies"]
    ] + ["left-pad"]
    fake = tmp_path / "environment.yml"
    fake.write_text(yaml.safe_dump(env))
    monkeypatch.setitem(globals(), "ENVIRONMENT", fake)
    conda, _ = conda_entries()
    assert conda["numpy"].specifier != project_requirements()["numpy"].specifier
    assert "left-pad" in conda
