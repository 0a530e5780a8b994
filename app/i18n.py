"""Languages: Kazakh, Russian and English, one negotiation order, one place.

Modelled on SecureDrop's ``i18n.py``: the supported locales are validated when the app
starts (a missing catalog is a start-up error, not a page in the wrong language), the
locale is chosen in one explicit order, and templates get the tag for ``<html lang>``.

Negotiation order (:func:`get_locale`):

1. ``?lang=kk|ru|en`` on this request (anything else is ignored);
2. the ``kuager_lang`` cookie, set by an earlier ``?lang=``;
3. the browser's ``Accept-Language``, but only when the app trusts it: the public
   submission site behind Tor does not, because Tor Browser always asks for English;
4. the operator's default (``app.config["KUAGER_DEFAULT_LOCALE"]``, else ``ru``).

Catalogs live in the repository's ``translations/`` folder. The compiled ``.mo`` files
are built by ``make setup``/``make translations`` and by ``pip install .``; in a source
checkout without them (or with a ``.po`` newer than its ``.mo``) the ``.po`` file is
compiled in memory at start-up, so the app never silently falls back to English.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, Domain
from flask_babel import get_locale as _babel_locale
from werkzeug.wrappers import Response

from app.messages import SUPPORTED_LOCALES
from app.timeutil import to_local, utc_offset_label

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGE_NAMES",
    "LANG_COOKIE",
    "SUPPORTED_LOCALES",
    "TRANSLATIONS_DIR",
    "CatalogError",
    "format_date",
    "format_datetime",
    "format_number",
    "format_size",
    "get_locale",
    "html_lang",
    "init_app",
    "kk_sort_key",
    "lang_switch_links",
    "load_catalog",
    "nfc",
    "sort_key",
    "sorted_codes",
]

DEFAULT_LOCALE = "ru"
LANG_COOKIE = "kuager_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
DOMAIN = "messages"

#: Each language named in itself, as the switcher shows it.
LANGUAGE_NAMES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

#: ``translations/`` next to ``app/`` (in a checkout and in an installed wheel alike).
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

_EXT = "kuager_i18n"

# CLDR's Kazakh "long" date is "2026 ж. 12 қаңтар"; Kazakh monitoring reports and the
# press write "12 қаңтар 2026 ж.", the same order as Russian, so Kuager uses that.
# U+202F (narrow no-break space) before the abbreviation, as CLDR does for Russian "г.".
_DATE_PATTERNS: dict[tuple[str, str], str] = {
    ("kk", "medium"): "d MMM y\u202f'ж'.",
    ("kk", "long"): "d MMMM y\u202f'ж'.",
    ("kk", "full"): "EEEE, d MMMM y\u202f'ж'.",
}


class CatalogError(RuntimeError):
    """A supported locale has no usable catalog."""


# --------------------------------------------------------------------------- catalogs


def load_catalog(locale: str, directory: Path | None = None) -> Translations:
    """The translations of ``locale``: the ``.mo`` file, else the ``.po`` compiled in memory.

    A ``.po`` newer than its ``.mo`` wins (a translator's edit shows without a build step).
    Fuzzy entries are never used. Raises :class:`CatalogError` when there is neither file.
    """
    base = (directory or TRANSLATIONS_DIR) / locale / "LC_MESSAGES"
    mo_path, po_path = base / f"{DOMAIN}.mo", base / f"{DOMAIN}.po"
    mo_ok = mo_path.is_file()
    if po_path.is_file() and (not mo_ok or po_path.stat().st_mtime > mo_path.stat().st_mtime):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return Translations(fp=buffer, domain=DOMAIN)
    if mo_ok:
        with mo_path.open("rb") as handle:
            return Translations(fp=handle, domain=DOMAIN)
    raise CatalogError(
        f"no catalog for locale {locale!r}: expected {po_path} (run `make translations`)"
    )


class _PreloadedDomain(Domain):
    """Flask-Babel's domain, answering from catalogs loaded and checked at start-up."""

    def __init__(self, catalogs: dict[str, NullTranslations]) -> None:
        super().__init__(translation_directories=[str(TRANSLATIONS_DIR)], domain=DOMAIN)
        self._catalogs = catalogs

    def get_translations(self) -> NullTranslations:
        if not g:
            return NullTranslations()
        return self._catalogs.get(str(_babel_locale()), NullTranslations())


# --------------------------------------------------------------------------- negotiation


def _settings() -> dict[str, Any]:
    return current_app.extensions[_EXT]  # type: ignore[no-any-return]


def _valid(code: str | None) -> str | None:
    if code is None:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED_LOCALES else None


def get_locale() -> str:
    """The language of this response: ``?lang=``, cookie, Accept-Language (if trusted), default."""
    settings = _settings()
    if not has_request_context():
        return str(settings["default"])
    chosen = _valid(request.args.get("lang"))
    if chosen:
        return chosen
    remembered = _valid(request.cookies.get(LANG_COOKIE))
    if remembered:
        return remembered
    if settings["trust_accept_language"]:
        best = request.accept_languages.best_match(SUPPORTED_LOCALES)
        if best:
            return str(best)
    return str(settings["default"])


def _remember_choice() -> None:
    g.kuager_lang_choice = _valid(request.args.get("lang"))


def _set_cookie(response: Response) -> Response:
    choice = getattr(g, "kuager_lang_choice", None)
    if choice and request.cookies.get(LANG_COOKIE) != choice:
        # Plain http on 127.0.0.1 and .onion: a Secure flag would drop the cookie.
        # On the public site the cookie ends with the browser session: a year-long cookie
        # in a reporter's ordinary browser would be evidence of the visit on a seized phone.
        remember = LANG_COOKIE_MAX_AGE if _settings()["trust_accept_language"] else None
        response.set_cookie(
            LANG_COOKIE, choice, max_age=remember, path="/",
            httponly=True, samesite="Strict", secure=False,
        )
    response.vary.add("Cookie")
    if _settings()["trust_accept_language"]:
        response.vary.add("Accept-Language")
    if "Content-Language" not in response.headers:
        response.headers["Content-Language"] = get_locale()
    return response


# --------------------------------------------------------------------------- template helpers


def html_lang() -> str:
    """The BCP 47 tag for ``<html lang="…">``: ``kk``, ``ru`` or ``en``."""
    return get_locale()


def lang_switch_links() -> list[tuple[str, str, str, bool]]:
    """``(code, native name, url of this page in that language, is_current)`` per language.

    The url keeps the page's other query arguments; plain links, no JavaScript.
    """
    current = get_locale()
    links = []
    for code in SUPPORTED_LOCALES:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
        args.append(("lang", code))
        url = f"{request.script_root}{request.path}?{urlencode(args)}"
        links.append((code, LANGUAGE_NAMES[code], url, code == current))
    return links


def _locale_for(locale: str | None) -> str:
    if locale:
        return _valid(locale) or "en"
    if has_request_context() or current_app:
        try:
            return get_locale()
        except (KeyError, RuntimeError):
            return DEFAULT_LOCALE
    return DEFAULT_LOCALE


# A Kazakh month without a day puts the year first («2026 ж. қаңтар»); Russian and
# English put the month first.
_MONTH_PATTERNS = {"kk": "y\u202f'ж'. LLLL", "ru": "LLLL y\u202f'г'.", "en": "LLLL y"}
_YEAR_PATTERNS = {"kk": "y\u202f'ж'.", "ru": "y\u202f'г'.", "en": "y"}


def format_date(d: date | datetime | str | None, format: str = "long",
                locale: str | None = None) -> str:
    """``12 қаңтар 2026 ж.`` / ``12 января 2026 г.`` / ``January 12, 2026``.

    ``format`` is short, medium, long or full (or a CLDR pattern). ISO strings are
    accepted at the precision a report records them: ``2026-01-12``; ``2026-01`` gives
    the month (``2026 ж. қаңтар``, ``январь 2026 г.``, ``January 2026``); ``2026`` the year
    (``2026 ж.``, ``2026 г.``). ``None`` gives ""; anything else is returned unchanged.
    """
    if d is None:
        return ""
    loc = _locale_for(locale)
    if isinstance(d, str):
        text = d.strip()
        try:
            if len(text) == 4 and text.isdigit():
                return babel_dates.format_date(date(int(text), 1, 1),
                                               format=_YEAR_PATTERNS[loc], locale=loc)
            if len(text) == 7 and text[4] == "-":
                month = date(int(text[:4]), int(text[5:]), 1)
                shown = babel_dates.format_date(month, format=_MONTH_PATTERNS[loc], locale=loc)
                # CLDR capitalises the Kazakh stand-alone month; mid-line it is lower case.
                return shown if loc == "en" else shown.lower()
            d = date.fromisoformat(text[:10])
        except ValueError:
            return d
    if isinstance(d, datetime):
        d = d.date()
    pattern = _DATE_PATTERNS.get((loc, format), format)
    return babel_dates.format_date(d, format=pattern, locale=loc)


def format_number(n: float | int, locale: str | None = None) -> str:
    """``1 234 567`` (kk, ru: no-break space) / ``1,234,567`` (en)."""
    return babel_numbers.format_decimal(n, locale=_locale_for(locale))


def format_datetime(value: str | datetime | None, locale: str | None = None) -> str:
    """A stored UTC timestamp in this machine's local time: ``12 қаңтар 2026 ж., 09:49`` /
    ``12 января 2026 г., 09:49`` / ``January 12, 2026, 9:49 AM``. The page names the zone
    (``utc_offset_label``); the ISO text goes in ``<time datetime>``. "" for ``None``;
    anything that is not a timestamp is returned unchanged."""
    if value is None or value == "":
        return ""
    local = to_local(value)
    if local is None:
        return str(value)
    loc = _locale_for(locale)
    time_text = babel_dates.format_time(local, format="short", locale=loc)
    return f"{format_date(local.date(), 'long', loc)}, {time_text}"


#: Units of :func:`format_size`, per language (1 KB = 1024 bytes, as Windows counts).
#: Babel's CLDR units are not used: its Kazakh "MБ" mixes a Latin M into Cyrillic, and
#: its English says "512 byte".
_SIZE_UNITS: dict[str, tuple[str, ...]] = {
    "kk": ("КБ", "МБ", "ГБ", "ТБ"),
    "ru": ("КБ", "МБ", "ГБ", "ТБ"),
    "en": ("KB", "MB", "GB", "TB"),
}
_BYTES = {"kk": "{n} байт", "ru": "{n} байт", "en": "{n} bytes"}  # ru: 21 байт, 5 байт


def format_size(size: int | float | None, locale: str | None = None) -> str:
    """A file size people read: ``512 байт``, ``1,2 МБ`` (kk, ru) / ``1.2 MB`` (en).

    One decimal below 10 of a unit (``9,9 МБ``), whole units above (``15 МБ``); the
    number is formatted for the language (decimal comma, no-break space in thousands).
    """
    if size is None:
        return ""
    loc = _locale_for(locale)
    value = float(size)
    if value < 1024:
        if loc == "en" and int(value) == 1:
            return "1 byte"
        return _BYTES[loc].format(n=babel_numbers.format_decimal(int(value), locale=loc))
    units = _SIZE_UNITS[loc]
    step = 0
    while step < len(units) - 1 and value >= 1024 * 1024:
        value /= 1024
        step += 1
    value /= 1024
    unit = units[step]
    pattern = "#,##0.#" if value < 9.95 else "#,##0"
    number = babel_numbers.format_decimal(value, format=pattern, locale=loc)
    return f"{number}\u00a0{unit}"


def local_zone() -> str:
    """The zone timestamps are shown in, for the page to say: ``UTC+5``."""
    return utc_offset_label()


# --------------------------------------------------------------------------- text


def nfc(s: str) -> str:
    """Unicode NFC, for every text a person enters (form fields, file names, imports).

    ``й`` and ``ё`` typed or stored decomposed (``и`` + U+0306; macOS writes file names
    that way) become one code point, so search, sorting and de-duplication see one
    spelling. The Kazakh letters ә ғ қ ң ө ұ ү һ і have no decomposition and pass through
    unchanged.
    """
    return unicodedata.normalize("NFC", s) if s else s


KK_ALPHABET = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
_KK_RANK = {letter: index for index, letter in enumerate(KK_ALPHABET)}
_LATIN_RANK = {letter: index for index, letter in enumerate("abcdefghijklmnopqrstuvwxyz")}


def _collation_key(s: str, first: dict[str, int], second: dict[str, int]) -> tuple[Any, ...]:
    primary: list[tuple[int, int]] = []
    for char in nfc(s).casefold():
        if char.isspace() or char in "-‐–—_.,;:'\"«»()":
            primary.append((0, 0))          # separators first: "Ақ жол" before "Ақан"
        elif char.isdigit():
            primary.append((1, int(char) if char.isdecimal() else ord(char)))
        elif char in first:
            primary.append((2, first[char]))
        elif char in second:
            primary.append((3, second[char]))
        else:
            primary.append((4, ord(char)))  # anything else after the alphabets
    return (tuple(primary), s)


def kk_sort_key(s: str) -> tuple[Any, ...]:
    """Sort key in Kazakh alphabet order (а ә б в г ғ д е ё … һ … і ь э ю я), ignoring case.

    Russian words sort correctly too (Russian's alphabet is a subsequence of Kazakh's,
    ``ё`` after ``е`` rather than after ``я`` as code points would put it). Latin letters
    and other characters come after Cyrillic; ties break on the original string.
    """
    return _collation_key(s, _KK_RANK, _LATIN_RANK)


def sort_key(s: str, locale: str | None = None) -> tuple[Any, ...]:
    """Sort key for ``locale`` (default: this response's): Cyrillic first for kk/ru,
    Latin first for en; ``sorted(names, key=sort_key)``."""
    if _locale_for(locale) == "en":
        return _collation_key(s, _LATIN_RANK, _KK_RANK)
    return kk_sort_key(s)


def sorted_codes(code_list: Any, locale: str | None = None) -> list[tuple[str, str]]:
    """A code list as ``(code, label)`` pairs sorted by label in the reader's language."""
    pairs = [(code, str(label)) for code, label in code_list]
    return sorted(pairs, key=lambda pair: sort_key(pair[1], locale))


# --------------------------------------------------------------------------- set-up


def init_app(app: Flask, *, trust_accept_language: bool = True) -> None:
    """Load and check every catalog, register the locale selector, cookie and template globals.

    Raises :class:`CatalogError` (at start-up) when a supported locale has no catalog or
    the configured default is not supported.
    """
    default = app.config.get("KUAGER_DEFAULT_LOCALE", DEFAULT_LOCALE)
    if default not in SUPPORTED_LOCALES:
        raise CatalogError(
            f"KUAGER_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}, "
            f"not {default!r}"
        )
    catalogs: dict[str, NullTranslations] = {}
    for locale in SUPPORTED_LOCALES:
        Locale.parse(locale)  # Babel has CLDR data for it (dates, plurals)
        catalogs[locale] = load_catalog(locale)

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_LOCALE"] = default
    app.config["BABEL_DOMAIN"] = DOMAIN
    app.extensions[_EXT] = {
        "default": default,
        "trust_accept_language": trust_accept_language,
        "catalogs": catalogs,
    }
    babel = Babel(app, locale_selector=get_locale)
    babel.domain_instance = _PreloadedDomain(catalogs)  # type: ignore[misc]

    app.before_request(_remember_choice)
    app.after_request(_set_cookie)
    globals_: dict[str, Callable[..., Any]] = {
        "html_lang": html_lang,
        "lang_switch_links": lang_switch_links,
        "format_date": format_date,
        "format_number": format_number,
        "format_datetime": format_datetime,
        "format_size": format_size,
        "local_zone": local_zone,
        "sort_key": sort_key,
        "sorted_codes": sorted_codes,
    }
    app.jinja_env.globals.update(globals_)
    # {% trans %} blocks: whitespace collapsed, as babel.cfg extracts them (trimmed = True).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters.setdefault("format_date", format_date)
    app.jinja_env.filters.setdefault("format_number", format_number)
