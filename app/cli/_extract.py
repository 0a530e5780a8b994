"""The catalogs' extractor for ``app/cli`` (babel.cfg): gettext calls, and help texts.

Besides what Babel's own Python extractor finds (``_``, ``cli_gettext``, ``N_`` …), it
takes what click shows on a help page: the docstring of every function made a command
or group (``@command(...)``, ``@….command(...)``, ``@….group(...)``), cleaned as click
cleans it, and every ``help="…"`` given as a literal. ``app/cli/help.py`` looks them up
when it draws the page.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Iterator
from typing import IO, Any

from babel.messages.extract import extract_python

_MAKERS = frozenset({"command", "group"})


def extract(fileobj: IO[bytes], keywords: Iterable[str], comment_tags: list[str],
            options: dict[str, Any]) -> Iterator[tuple[int, str | None, Any, list[str]]]:
    source = fileobj.read()
    fileobj.seek(0)
    for lineno, funcname, messages, comments in extract_python(
            fileobj, [*keywords, "N_"], comment_tags, options):
        # N_ is this extractor's own keyword: Babel's caller knows only its -k list.
        yield lineno, None if funcname == "N_" else funcname, messages, comments
    yield from help_texts(source.decode(options.get("encoding", "utf-8")))


def help_texts(source: str) -> Iterator[tuple[int, None, str, list[str]]]:
    """(line, None, text, []) for each command docstring and literal ``help=``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(map(_makes_command, node.decorator_list)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.lineno, None, doc, []
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if (keyword.arg == "help" and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)):
                    yield value.lineno, None, inspect.cleandoc(value.value), []


def _makes_command(decorator: ast.expr) -> bool:
    if not isinstance(decorator, ast.Call):
        return False
    func = decorator.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name in _MAKERS
