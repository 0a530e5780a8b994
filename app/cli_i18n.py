"""CLI messages in Kazakh, Russian or English, from the same catalogs as the web pages.

The language is ``--lang`` when given, else the first of ``LC_ALL``, ``LC_MESSAGES`` and
``LANG`` that is set (``ru_RU.UTF-8`` -> ``ru``, ``kk_KZ`` -> ``kk``); anything else,
including ``C``/``POSIX``, is English. No Flask is needed::

    from app.cli_i18n import cli_gettext as _, cli_ngettext, set_language

    set_language(args.lang)                       # once, after parsing the options
    print(_("Store created in %(path)s", path=data_dir))
    print(cli_ngettext("%(num)d report sealed", "%(num)d reports sealed", n))

Placeholders follow Flask-Babel: named ``%(name)s`` with keyword arguments, and
``cli_ngettext`` passes ``num`` itself. Extraction needs the keywords ``cli_gettext``
and ``cli_ngettext:1,2`` (``make translations``); ``_``/``ngettext`` aliases work too.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .i18n import SUPPORTED_LOCALES, CatalogError, load_catalog

__all__ = [
    "cli_gettext",
    "cli_language",
    "cli_ngettext",
    "cli_translator",
    "resolve_language",
    "set_language",
]

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


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def _catalog(code: str) -> gettext.NullTranslations:
    if code == "en":
        return gettext.NullTranslations()
    try:
        return load_catalog(code)
    except CatalogError:
        return gettext.NullTranslations()


def cli_translator(lang: str | None = None,
                   environ: Mapping[str, str] | None = None) -> gettext.NullTranslations:
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
