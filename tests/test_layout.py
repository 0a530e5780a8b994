"""The layout of app/ is the architecture: rooms, and who may import whom.

Read from the source files (no import is executed), lazy imports inside functions
included: they run too, only later. docs/ARCHITECTURE.md describes the same rules.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("store", "records", "exchange", "web", "cli", "tor", "review")
#: Modules at the top of app/: what every room shares, importing no room.
SHARED = {"app", "app.config", "app.i18n", "app.messages", "app.timeutil", "app.__main__"}
WEB_FRAMEWORKS = ("flask", "flask_babel", "flask_wtf", "werkzeug", "wtforms", "jinja2")
#: The ``imports:`` of each room in docs/ARCHITECTURE.md: the rooms it may import directly.
ALLOWED = {
    "store": {"shared", "crypto"},
    "records": {"store", "shared", "crypto"},
    "exchange": {"records", "store", "shared", "crypto"},
    "review": {"records", "store", "shared"},
    "web": {"review", "exchange", "records", "store", "tor", "shared", "crypto"},
    "cli": {"web", "review", "exchange", "records", "store", "tor", "shared"},
    "tor": {"shared"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _sources() -> dict[str, Path]:
    found = {}
    for top in ("app", "crypto"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _resolve(name: str) -> str:
    """``app.store.keyring.X`` -> the longest prefix that is a module of ours."""
    sources = _sources()
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in sources:
            return candidate
    return name


@cache
def imports_of(module: str) -> frozenset[str]:
    path = _sources()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            for alias in node.names:
                found.add(_resolve(f"{stem}.{alias.name}"))
    found.discard(module)
    return frozenset(found)


def closure(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for dep in imports_of(current):
            if dep in _sources() and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "crypto":
        return "crypto"
    if module in SHARED or len(parts) == 2:
        return "shared"
    return parts[1] if parts[1] in ROOMS else None


def _modules(prefix: str) -> list[str]:
    return [m for m in _sources() if m == prefix or m.startswith(prefix + ".")]


def test_every_module_is_in_a_room() -> None:
    homeless = [m for m in _sources() if room_of(m) is None]
    assert not homeless, f"modules outside the rooms {ROOMS}: {homeless}"
    top = {m for m in _modules("app") if m.count(".") == 1}
    assert top <= SHARED | {f"app.{room}" for room in ROOMS}, top - SHARED


def test_crypto_imports_nothing_from_app_and_no_web_framework() -> None:
    for module in _modules("crypto"):
        bad = [d for d in imports_of(module)
               if d.split(".")[0] == "app" or d.split(".")[0] in WEB_FRAMEWORKS]
        assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("room", ["store", "records"])
def test_core_knows_no_screen(room: str) -> None:
    """The store and the domain import nothing from the pages or the command line."""
    for module in _modules(f"app.{room}"):
        reached = {room_of(d) for d in closure(module)}
        assert not reached & {"web", "cli", "review"}, f"{module} reaches {reached}"


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_what_the_architecture_names(room: str) -> None:
    """The full-text index is written in the transaction of every write, so it sits in
    store/, below the writers: exchange/ no longer reaches into review/ for it."""
    for module in _modules(f"app.{room}"):
        rooms = {room_of(d) for d in imports_of(module) if d in _sources()} - {room}
        assert rooms <= ALLOWED[room], f"{module} imports from {rooms - ALLOWED[room]}"


def test_public_site_reaches_no_page_that_reads_reports() -> None:
    """What Tor forwards to: no desk, no review, no settings or exchange pages."""
    forbidden = {"app.web.desk", "app.web.exchange", "app.web.settings", "app.web.auth",
                 "app.web.onion_page"}
    reached = closure("app.web.public")
    assert not reached & forbidden, reached & forbidden
    assert not {m for m in reached if room_of(m) in {"review", "cli"}}


def test_shared_modules_import_no_room() -> None:
    for module in _sources():
        if room_of(module) == "shared" and module != "app.__main__":
            rooms = {room_of(d) for d in imports_of(module) if d in _sources()}
            assert rooms <= {"shared", "crypto"}, f"{module} imports from {rooms}"


def test_no_import_cycle_between_rooms() -> None:
    edges: dict[str, set[str]] = {}
    for module in _sources():
        here = room_of(module)
        for dep in imports_of(module):
            there = room_of(dep) if dep in _sources() else None
            if there and there != here and module != "app.__main__":
                edges.setdefault(here, set()).add(there)  # type: ignore[arg-type]

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    cycles = sorted((a, b) for a, targets in edges.items() for b in targets if reaches(b, a))
    assert not cycles, f"rooms that import each other (directly or around): {cycles}"


def test_no_import_cycle_between_cli_modules() -> None:
    for module in _modules("app.cli"):
        assert module not in closure(module), f"{module} imports itself around a cycle"


@pytest.mark.parametrize("package", [m for m in _modules("app")
                                     if _sources()[m].name == "__init__.py"])
def test_package_init_names_its_api_and_does_no_work(package: str) -> None:
    """app's packages (crypto/ is a library whose __init__ re-exports its API)."""
    tree = ast.parse(_sources()[package].read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring, f"{package}/__init__.py has no docstring naming its API"
    for node in tree.body[1:]:
        allowed = (
            (isinstance(node, ast.ImportFrom) and node.module == "__future__")
            or (isinstance(node, ast.Assign)
                and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__all__"])
        )
        assert allowed, f"{package}/__init__.py does work at import: line {node.lineno}"


def test_the_rules_see_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself: a core module importing a page is caught."""
    imports_of.cache_clear()
    try:
        fake = "app.records.reports"
        real = _sources()[fake]
        original = real.read_text(encoding="utf-8")
        assert "app.web.desk" not in imports_of(fake)
        imports_of.cache_clear()
        patched = tmp_path / "reports.py"
        patched.write_text(original + "\nfrom app.web import desk\n", encoding="utf-8")
        _sources()[fake] = patched
        assert "app.web.desk" in imports_of(fake)
        assert "web" in {room_of(d) for d in closure(fake)}
    finally:
        _sources()[fake] = real
        imports_of.cache_clear()
