"""Translated messages for every room: the web request's language, or the terminal's.

``gettext``/``ngettext`` are for code that runs both in the CLI and behind a page: inside a
request the page's language (Flask-Babel) applies; elsewhere the CLI's. ``cli_gettext`` and
``cli_ngettext`` are the CLI's own, from the same catalogs as the web pages.

The CLI's language is ``--lang`` when given, else the first of ``LC_ALL``, ``LC_MESSAGES``
and ``LANG`` that is set (``ru_RU.UTF-8`` -> ``ru``, ``kk_KZ`` -> ``kk``); anything else,
including ``C``/``POSIX``, is English. No Flask request is needed::

    from app.messages import cli_gettext as _, cli_ngettext, set_language

    set_language(args.lang)                       # once, after parsing the options
    print(_("Store created in %(path)s", path=data_dir))
    print(cli_ngettext("%(num)d report sealed", "%(num)d reports sealed", n))

Placeholders follow Flask-Babel: named ``%(name)s`` with keyword arguments, and
``cli_ngettext`` passes ``num`` itself. Extraction needs the keywords ``cli_gettext``
and ``cli_ngettext:1,2`` (``make translations``); ``_``/``ngettext`` aliases work too.
``N_`` marks a text that is translated later, where it is shown (``--help``).

The catalogs are read with the standard library's ``gettext`` from the compiled ``.mo``
files, so a Kazakh or Russian ``--help`` loads neither Babel nor Flask; only a ``.po``
newer than its ``.mo`` (a translator's edit, not yet compiled) goes through
``app.i18n.load_catalog``, which compiles it in memory.
"""

from __future__ import annotations

import errno
import gettext as stdlib_gettext
import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "N_",
    "SUPPORTED_LOCALES",
    "cli_gettext",
    "cli_language",
    "cli_ngettext",
    "cli_translator",
    "disk_full_path",
    "gettext",
    "is_disk_full",
    "ngettext",
    "resolve_language",
    "set_language",
]

#: The languages of every page and message (``app.i18n`` takes them from here).
SUPPORTED_LOCALES: tuple[str, ...] = ("kk", "ru", "en")

#: ``translations/`` next to ``app/``: the same folder as ``app.i18n.TRANSLATIONS_DIR``.
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"

_ENV_ORDER = ("LC_ALL", "LC_MESSAGES", "LANG")
_state: dict[str, str | None] = {"lang": None}


def _normalise(value: str | None) -> str | None:
    """``ru_RU.UTF-8`` -> ``ru``; ``kk-KZ`` -> ``kk``; unsupported or empty -> ``None``."""
    if not value:
        return None
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in SUPPORTED_LOCALES else None


def resolve_language(lang: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--lang`` if supported, else the locale environment, else ``en``."""
    chosen = _normalise(lang)
    if chosen:
        return chosen
    env = os.environ if environ is None else environ
    for name in _ENV_ORDER:
        value = env.get(name)
        if value:
            # The first variable that is set decides, as in POSIX (LC_ALL beats LANG).
            return _normalise(value) or "en"
    return "en"


def N_(text: str) -> str:  # gettext's usual name for a no-op marker
    """Mark ``text`` for the catalogs; it is translated where it is shown."""
    return text


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def _catalog(code: str) -> stdlib_gettext.NullTranslations:
    if code == "en":
        return stdlib_gettext.NullTranslations()
    compiled = _compiled_catalog(code)
    if compiled is not None:
        return compiled
    # A .po edited since the last compile, or no .mo (a fresh clone): Babel compiles it.
    from app.i18n import CatalogError, load_catalog

    try:
        return load_catalog(code)
    except CatalogError:
        return stdlib_gettext.NullTranslations()


def _compiled_catalog(code: str) -> stdlib_gettext.GNUTranslations | None:
    """The ``.mo`` file of ``code`` if it is at least as new as its ``.po``."""
    import struct  # GNUTranslations' own error for a truncated file

    base = TRANSLATIONS_DIR / code / "LC_MESSAGES"
    mo_path, po_path = base / f"{DOMAIN}.mo", base / f"{DOMAIN}.po"
    try:
        if po_path.is_file() and po_path.stat().st_mtime > mo_path.stat().st_mtime:
            return None
        with mo_path.open("rb") as handle:
            return stdlib_gettext.GNUTranslations(handle)
    except (OSError, ValueError, struct.error):  # missing or damaged: app.i18n says why
        return None


def cli_translator(lang: str | None = None,
                   environ: Mapping[str, str] | None = None) -> stdlib_gettext.NullTranslations:
    """The translations for ``lang`` (``--lang``) or the environment's locale."""
    return _catalog(resolve_language(lang, environ))


def set_language(lang: str | None = None) -> str:
    """Fix the CLI's language for this process (``--lang`` or environment); returns it."""
    _state["lang"] = resolve_language(lang)
    return _state["lang"]


def cli_language() -> str:
    """The language CLI messages are printed in."""
    return _state["lang"] or resolve_language(None)


def _format(text: str, variables: dict[str, Any]) -> str:
    return text % variables if variables else text


def cli_gettext(msg: str, **variables: Any) -> str:
    """``msg`` in the CLI's language, ``%(name)s`` placeholders filled from keywords."""
    return _format(_catalog(cli_language()).gettext(msg), variables)


def cli_ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The plural form for ``num`` in the CLI's language (Russian has three)."""
    variables.setdefault("num", num)
    return _format(_catalog(cli_language()).ngettext(singular, plural, num), variables)


def _in_request() -> bool:
    """Inside a Flask request? Without importing Flask: if it is not loaded, there is none."""
    flask = sys.modules.get("flask")
    return flask is not None and bool(flask.has_request_context())


def gettext(message: str, **variables: Any) -> str:
    if _in_request():
        from flask_babel import gettext as web_gettext

        return web_gettext(message, **variables)
    return cli_gettext(message, **variables)


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Plural forms (Russian has three): ``%(num)d`` is filled in, as in Flask-Babel."""
    if _in_request():
        from flask_babel import ngettext as web_ngettext

        return web_ngettext(singular, plural, num, **variables)
    return cli_ngettext(singular, plural, num, **variables)


# -- a full disk -------------------------------------------------------------------------

#: ``ENOSPC`` (no space left on the device) and ``EDQUOT`` (the user's disk quota is spent).
DISK_FULL_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None
)
#: SQLite's primary result code for "database or disk is full" (extended codes keep it in
#: the low byte).
SQLITE_FULL = 13


def _causes(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling (at most a few levels)."""
    seen: list[BaseException] = []
    while exc is not None and len(seen) < 8 and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _disk_full_cause(exc: BaseException) -> BaseException | None:
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
            return cause
        code = getattr(cause, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
            return cause
    return None


def is_disk_full(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) says a disk or quota is full: ENOSPC, EDQUOT,
    or SQLite's SQLITE_FULL. The web pages and the CLI then say so and what to free."""
    return _disk_full_cause(exc) is not None


def disk_full_path(exc: BaseException) -> str | None:
    """The file whose write failed, when the operating system named it (SQLite does not)."""
    cause = _disk_full_cause(exc)
    name = getattr(cause, "filename", None) if isinstance(cause, OSError) else None
    return os.fsdecode(name) if name else None
