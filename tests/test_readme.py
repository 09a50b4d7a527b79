"""The README's Python examples run, and print what the README says they print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```\n(.*?)```", README.read_text(), flags=re.S).group(1)
    assert first_block.split("\n")[:2] == ["make demo", "make test"]


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_block_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[index]
    exec(compile(code, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out.splitlines()
    promised = [m.group(1) for m in re.finditer(r"print\(.*\)\s+# (\w+):", code)]
    assert len(printed) >= len(promised)
    for line, word in zip(printed, promised):
        assert line.endswith(word), (line, word)


def test_the_readme_names_every_shipped_experiment() -> None:
    text = README.read_text()
    shipped = sorted(p.stem for p in (README.parent / "experiments").glob("*.yaml"))
    shipped_line = re.search(r"^experiments/ +YAML experiments \((.*)\)$", text, flags=re.M).group(1)
    assert sorted(shipped_line.split(", ")) == shipped
    assert all(f"`{name}.yaml`" in text for name in shipped)


def test_the_readme_architecture_lists_every_subpackage() -> None:
    tree = README.read_text().split("## Architecture", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"^  (\w+)/ ", tree, flags=re.M))
    packages = {p.parent.name for p in (README.parent / "wfsim").glob("*/__init__.py")}
    assert listed == packages
