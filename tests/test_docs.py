"""The documents point at real things: every test named in THREAT_MODEL.md exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THREAT_MODEL = ROOT / "docs" / "THREAT_MODEL.md"


def _references() -> list[tuple[str, str | None]]:
    """(file, test) pairs; ``::name`` after a file, or a bare ``::name`` for the file before."""
    refs: list[tuple[str, str | None]] = []
    for cell in re.findall(r"`([^`]+)`", THREAT_MODEL.read_text(encoding="utf-8")):
        match = re.fullmatch(r"(tests/[\w/]+\.py)?(?:::(\w+))?", cell)
        if not match or not any(match.groups()):
            continue
        path, name = match.groups()
        if path is None:
            path = refs[-1][0]
        refs.append((path, name))
    return refs


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


REFS = _references()


def test_threat_model_names_tests() -> None:
    assert len(REFS) >= 30


@pytest.mark.parametrize(("path", "name"), REFS, ids=[f"{p}::{n}" for p, n in REFS])
def test_referenced_test_exists(path: str, name: str | None) -> None:
    target = ROOT / path
    assert target.is_file(), path
    if name is not None:
        assert name in _functions(target), f"{path} has no {name}"


def test_readme_starts_with_run_and_test() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^\s+(make \w+)", text, flags=re.MULTILINE)
    assert commands[:2] == ["make run", "make test"]
