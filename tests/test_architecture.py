"""The house's layering: which room of wfsim may import which, stated once in ``LAYERS``.

A room is a subpackage or top-level module of ``wfsim`` (``wfsim`` itself is the
package's ``__init__``, the public facade).  Every import in ``wfsim/`` is checked:
module-level and function-local, absolute and relative, and ``importlib.import_module``
with a literal name.  Imports under ``if TYPE_CHECKING:`` are checked separately, so a
room may type against a room it must not run, when ``TYPE_CHECKING_ONLY`` says so.
A violation reads ``file:line: room imports room``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wfsim"

#: Any room may be imported.
ANY = frozenset({"*"})

#: room → the rooms it may import besides itself (and besides ``SHARED``).
LAYERS: dict[str, frozenset[str]] = {
    "model": frozenset(),
    "workloads": frozenset({"model"}),
    "faults": frozenset({"model"}),
    "trace": frozenset({"model"}),
    "policies": frozenset({"model"}),
    "consistency": frozenset({"model", "trace", "policies"}),
    "engine": frozenset({"model", "workloads", "faults", "trace", "policies", "consistency"}),
    "verify": frozenset({"model", "trace"}),
    "viz": frozenset({"model", "trace"}),
    "experiments": frozenset({"model", "workloads", "faults", "trace", "policies", "consistency", "engine", "verify",
                              "viz"}),
    "tuning": frozenset({"model", "workloads", "faults", "trace", "policies", "consistency", "engine", "verify", "viz",
                         "experiments"}),
    "widgets": frozenset({"model", "workloads", "faults", "trace", "policies", "consistency", "engine", "verify", "viz",
                          "experiments", "tuning"}),
    "report": frozenset({"model", "trace", "verify", "viz", "experiments", "tuning"}),
    "cli": ANY,
    "wfsim": ANY,
    "_lazy": frozenset(),  # a leaf: it imports no room, so every room may use it
    "_timers": frozenset(),  # a leaf too (SimPy only)
}

#: Rooms every room may import.
SHARED = frozenset({"_lazy", "_timers"})

#: Extra rooms a room may import under ``if TYPE_CHECKING:`` only (for annotations).
TYPE_CHECKING_ONLY: dict[str, frozenset[str]] = {
    # Protocols are handed the engine's network and nodes, and type against them.
    "consistency": frozenset({"engine"}),
}


@dataclass(frozen=True)
class Import:
    """One import of a wfsim module by a file of wfsim."""

    path: Path
    line: int
    source: str
    target: str
    type_checking: bool

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.source} imports {self.target}"


def module_name(path: Path) -> str:
    """``wfsim/verify/catalog/__init__.py`` → ``wfsim.verify.catalog``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    """The room of a wfsim module: ``wfsim.verify.catalog`` → ``verify``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def is_module(name: str) -> bool:
    """Whether ``name`` (``wfsim.x.y``) is a module or package in the source tree."""
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _targets(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The absolute names of the wfsim modules an import statement or call imports."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        for alias in node.names:
            # ``from wfsim import _lazy`` imports the module wfsim._lazy, not the facade.
            submodule = f"{origin}.{alias.name}"
            yield submodule if origin.startswith("wfsim") and is_module(submodule) else origin
    elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
          and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        yield node.args[0].value


def _imports_in(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """The import statements and calls under ``tree``, in line order, each with
    whether it sits in the body of an ``if TYPE_CHECKING:`` (its ``else`` runs)."""
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).split(".")[-1] == "TYPE_CHECKING":
            typing_only.update(id(inner) for child in node.body for inner in ast.walk(child))
    found = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom, ast.Call))]
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
        yield node, id(node) in typing_only


@functools.cache
def imports() -> tuple[Import, ...]:
    """Every import of a wfsim module by a file of wfsim, between different rooms."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, type_checking in _imports_in(tree):
            for target in dict.fromkeys(_targets(node, module, path.name == "__init__.py")):
                if (target == "wfsim" or target.startswith("wfsim.")) and room(target) != room(module):
                    found.append(Import(path, node.lineno, room(module), room(target), type_checking))
    return tuple(found)


def allowed(source: str, target: str, type_checking: bool) -> bool:
    """Whether room ``source`` may import room ``target``."""
    may = LAYERS[source] | SHARED | (TYPE_CHECKING_ONLY.get(source, frozenset()) if type_checking else frozenset())
    return "*" in may or target in may


def violations(type_checking: bool) -> list[str]:
    return [str(i) for i in imports() if i.type_checking == type_checking
            and not allowed(i.source, i.target, type_checking)]


def test_every_room_is_in_the_table() -> None:
    rooms = {room(module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert rooms == set(LAYERS), "add the new room to LAYERS (and the rooms it may import)"
    for source, targets in {**LAYERS, **TYPE_CHECKING_ONLY}.items():
        assert targets == ANY or targets <= set(LAYERS), (source, targets - set(LAYERS))


def test_runtime_imports_follow_the_layering() -> None:
    found = violations(type_checking=False)
    print("\n".join(found))
    assert not found, "imports against the layering:\n" + "\n".join(found)


def test_type_checking_imports_follow_the_layering() -> None:
    found = violations(type_checking=True)
    print("\n".join(found))
    assert not found, "imports under TYPE_CHECKING against the layering:\n" + "\n".join(found)


def test_the_type_checking_allowances_are_still_used() -> None:
    """An allowance no import uses any more is deleted, so the table stays tight."""
    used = {(i.source, i.target) for i in imports() if i.type_checking}
    stale = {(source, target) for source, targets in TYPE_CHECKING_ONLY.items() for target in targets
             if (source, target) not in used}
    assert not stale, f"delete these from TYPE_CHECKING_ONLY: {sorted(stale)}"


def test_the_shared_rooms_are_leaves() -> None:
    assert all(not LAYERS[name] for name in SHARED)
    assert not [str(i) for i in imports() if i.source in SHARED]


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Function-local, relative, ``importlib`` and TYPE_CHECKING imports are all found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "if TYPE_CHECKING:\n"
        "    from wfsim.engine.cluster import Cluster\n"
        "else:\n"
        "    from ..trace import metrics\n"
        "def f():\n"
        "    from wfsim.policies.load_balancing import STRATEGIES\n"
        "    return importlib.import_module('wfsim.experiments.config')\n"
    )
    tree = ast.parse(source)
    got = [(target, tc) for node, tc in _imports_in(tree)
           for target in _targets(node, "wfsim.verify.catalog", is_package=True) if target.startswith("wfsim")]
    assert got == [("wfsim.engine.cluster", True), ("wfsim.verify.trace", False),
                   ("wfsim.policies.load_balancing", False), ("wfsim.experiments.config", False)]
