"""Catalogs, placeholders, stale strings, unwrapped template text, plurals, dates, letters.

Every check here is one a translator or developer can break by an ordinary edit; each
failure message says what to run or fix (see docs/TRANSLATING.md).
"""


from __future__ import annotations

import gettext
import re
import unicodedata
from collections import Counter
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from app import i18n
from app.records import codes

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
TEMPLATES = ROOT / "app" / "web" / "templates"
TRANSLATED = ("kk", "ru")

#: The extraction of `make translations` (Makefile); keep the two in step.
EXTRACT_KEYWORDS = ("_l", "lazy_gettext", "ngettext:1,2", "lazy_ngettext:1,2",
                    "cli_gettext", "cli_ngettext:1,2")

PLURAL_FORMS = {
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
          "(n%100<10 || n%100>=20) ? 1 : 2);",
    "kk": "nplurals=2; plural=(n != 1);",
}


def load(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def messages(locale: str) -> list[Message]:
    return [m for m in load(locale) if m.id]


def label(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


# --------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_translated(locale: str) -> None:
    missing = [label(m) for m in messages(locale)
               if not (all(m.string) if isinstance(m.string, tuple | list) else m.string)]
    assert not missing, f"{locale}: {len(missing)} untranslated: {missing[:10]}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_nothing_fuzzy(locale: str) -> None:
    fuzzy = [label(m) for m in messages(locale) if m.fuzzy]
    assert not fuzzy, f"{locale}: fuzzy entries are never shown; review them: {fuzzy[:10]}"


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_catalog_header(locale: str) -> None:
    catalog = load(locale)
    assert str(catalog.locale) == locale
    if locale in PLURAL_FORMS:
        header = dict(catalog.mime_headers)["Plural-Forms"]
        assert header == PLURAL_FORMS[locale]
        assert catalog.num_plurals == int(PLURAL_FORMS[locale][9])


def test_english_catalog_is_identity() -> None:
    """English is the source language: its msgstr are empty (gettext shows the id) or the id."""
    changed = []
    for m in messages("en"):
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        strings = (m.string,) if isinstance(m.string, str) else tuple(m.string)
        if any(text and text != ids[min(i, len(ids) - 1)] for i, text in enumerate(strings)):
            changed.append(label(m))
    assert not changed, f"en: English text changed in the catalog: {changed[:10]}"


# --------------------------------------------------------------------------- placeholders

_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrs%])")
_BRACE = re.compile(r"(?<!\{)\{(\w*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def placeholders(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for name, conversion in _PERCENT.findall(text):
        if conversion != "%":
            found[f"%({name}){conversion}" if name else f"%{conversion}"] += 1
    for name in _BRACE.findall(text):
        found["{" + name + "}"] += 1
    return found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_match(locale: str) -> None:
    wrong = []
    for m in messages(locale):
        if isinstance(m.id, str):
            pairs = [(placeholders(m.id), m.string)]
        else:
            # Every plural form gets the union: Russian form 0 also serves 21, 31, ...
            source = placeholders(m.id[0]) | placeholders(m.id[1])
            pairs = [(source, form) for form in m.string]
        for expected, text in pairs:
            if text and set(placeholders(text)) != set(expected):
                wrong.append((label(m), text))
    assert not wrong, f"{locale}: placeholders differ from the English: {wrong}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_babel_checkers_pass(locale: str) -> None:
    """Babel's own python-format and plural-count checks (``pybabel compile`` runs them)."""
    errors = [(label(m), [str(e) for e in errs]) for m, errs in load(locale).check()]
    assert not errors, f"{locale}: {errors}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("%(num)d reports", {"%(num)d"}), ("{name} and {0}", {"{name}", "{0}"}),
     ("100%% sure, %s", {"%s"}), ("{{ literal }}", set())],
)
def test_placeholder_parser(text: str, expected: set[str]) -> None:
    assert set(placeholders(text)) == expected


# --------------------------------------------------------------------------- stale catalog


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Message ids the code uses now, extracted as `make translations` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    argv = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "--no-location",
            "--omit-header", "--sort-output", "--add-comments=Translators:"]
    for keyword in EXTRACT_KEYWORDS:
        argv += ["-k", keyword]
    argv += ["-o", str(pot), str(ROOT / "app")]
    CommandLineInterface().run(argv)
    with pot.open("rb") as handle:
        return {label(m) for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_catalog_not_stale(locale: str, extracted: set[str]) -> None:
    have = {label(m) for m in messages(locale)}
    missing = sorted(extracted - have)
    unused = sorted(have - extracted)
    assert not missing, f"{locale}: run `make translations`; the code uses {missing[:10]}"
    assert not unused, f"{locale}: run `make translations`; no longer used: {unused[:10]}"


def test_extraction_finds_code_lists(extracted: set[str]) -> None:
    assert {"Abai Region", "Criminal Code", "Freedom of peaceful assembly"} <= extracted


# --------------------------------------------------------------------------- templates

#: Visible words that are the same in every language.
ALLOWED_TEXT = frozenset({"Қазақша", "Русский", "English", "Kuager", "Tor", "age"})
#: Elements whose content is code, commands or data, never prose.
NOT_PROSE = frozenset({"script", "style", "code", "kbd", "samp", "pre"})
VISIBLE_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "value", "label"})
_TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.DOTALL)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in NOT_PROSE:
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in NOT_PROSE and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check(data)

    def _check(self, text: str) -> None:
        text = text.strip()
        if any(ch.isalpha() for ch in text) and text not in ALLOWED_TEXT:
            self.found.append(text)


def unwrapped_text(source: str) -> list[str]:
    source = _TRANS_BLOCK.sub(" ", source)
    collector = _TextCollector()
    collector.feed(_JINJA.sub("", source))
    collector.close()
    return collector.found


TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_text_is_wrapped(template: Path) -> None:
    found = unwrapped_text(template.read_text(encoding="utf-8"))
    assert not found, f"wrap in {{{{ _(...) }}}}: {found}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [("<p>Save</p>", ["Save"]),
     ('<input placeholder="Name">', ["Name"]),
     ("<p>{{ _('Save') }}</p>", []),
     ("<p>{% trans %}Hello {{ who }}{% endtrans %}</p>", []),
     ("<a>Қазақша</a> · <b>{{ n }}</b> 2026", []),
     ("{# a comment #}<script>var x = 'text';</script>", []),
     ("<pre><code>kuager serve --onion</code></pre><p>Run it</p>", ["Run it"])],
)
def test_unwrapped_text_detector(source: str, expected: list[str]) -> None:
    assert unwrapped_text(source) == expected


def test_templates_exist() -> None:
    assert TEMPLATE_FILES, "no templates found"


# --------------------------------------------------------------------------- plurals


@pytest.mark.parametrize(
    ("locale", "n", "index", "cldr"),
    [("ru", 0, 2, "many"), ("ru", 1, 0, "one"), ("ru", 2, 1, "few"), ("ru", 5, 2, "many"),
     ("ru", 11, 2, "many"), ("ru", 21, 0, "one"), ("ru", 22, 1, "few"), ("ru", 111, 2, "many"),
     ("kk", 0, 1, "other"), ("kk", 1, 0, "one"), ("kk", 2, 1, "other"),
     ("kk", 21, 1, "other")],
)
def test_plural_rule(locale: str, n: int, index: int, cldr: str) -> None:
    assert gettext.c2py(load(locale).plural_expr)(n) == index
    assert Locale.parse(locale).plural_form(n) == cldr


@pytest.mark.parametrize(
    ("locale", "n", "expected"),
    [("ru", 0, "0 сообщений"), ("ru", 1, "1 сообщение"), ("ru", 2, "2 сообщения"),
     ("ru", 5, "5 сообщений"), ("ru", 11, "11 сообщений"), ("ru", 21, "21 сообщение"),
     ("kk", 0, "0 хабарлама"), ("kk", 1, "1 хабарлама"), ("kk", 2, "2 хабарлама"),
     ("en", 1, "1 report"), ("en", 2, "2 reports")],
)
def test_plural_message(locale: str, n: int, expected: str) -> None:
    catalog = i18n.load_catalog(locale)
    assert catalog.ngettext("%(num)d report", "%(num)d reports", n) % {"num": n} == expected


# --------------------------------------------------------------------------- catalogs load


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_po_compiles_in_memory(locale: str, tmp_path: Path) -> None:
    """A source checkout without .mo files still speaks every language."""
    target = tmp_path / locale / "LC_MESSAGES"
    target.mkdir(parents=True)
    source = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    (target / "messages.po").write_bytes(source.read_bytes())
    catalog = i18n.load_catalog(locale, tmp_path)
    expected = {"kk": "Абай облысы", "ru": "область Абай", "en": "Abai Region"}[locale]
    assert catalog.gettext("Abai Region") == expected


def test_missing_catalog_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(i18n.CatalogError, match="make translations"):
        i18n.load_catalog("kk", tmp_path)


# --------------------------------------------------------------------------- dates, numbers


@pytest.mark.parametrize(
    ("locale", "fmt", "expected"),
    [("kk", "long", "12 қаңтар 2026 ж."), ("ru", "long", "12 января 2026 г."),
     ("en", "long", "January 12, 2026"), ("kk", "medium", "12 қаң. 2026 ж."),
     ("ru", "short", "12.01.2026"), ("kk", "full", "дүйсенбі, 12 қаңтар 2026 ж."),
     ("ru", "full", "понедельник, 12 января 2026 г.")],
)
def test_format_date(locale: str, fmt: str, expected: str) -> None:
    text = i18n.format_date(date(2026, 1, 12), fmt, locale=locale)
    # CLDR keeps the year and "ж."/"г." together with a narrow no-break space.
    assert text.replace("\u202f", " ") == expected
    if locale != "en" and fmt != "short":
        assert "\u202f" in text


@pytest.mark.parametrize("value", ["2026-01-12", date(2026, 1, 12)])
def test_format_date_accepts_iso_strings(value: str | date) -> None:
    assert i18n.format_date(value, locale="ru").startswith("12 января 2026")


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [("kk", "2026-01", "2026 ж. қаңтар"), ("ru", "2026-01", "январь 2026 г."),
     ("en", "2026-01", "January 2026"), ("kk", "2026", "2026 ж."), ("ru", "2026", "2026 г."),
     ("en", "2026", "2026")],
)
def test_format_date_partial_precision(locale: str, value: str, expected: str) -> None:
    assert i18n.format_date(value, locale=locale).replace("\u202f", " ") == expected


@pytest.mark.parametrize(("value", "expected"),
                         [(None, ""), ("2026-13", "2026-13"), ("soon", "soon")])
def test_format_date_leaves_unknown_values(value: str | None, expected: str) -> None:
    assert i18n.format_date(value, locale="kk") == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("kk", "1\xa0234\xa0567,5"), ("ru", "1\xa0234\xa0567,5"), ("en", "1,234,567.5")],
)
def test_format_number(locale: str, expected: str) -> None:
    assert i18n.format_number(1234567.5, locale=locale) == expected


# --------------------------------------------------------------------------- letters

KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"


@pytest.mark.parametrize("letter", KAZAKH_LETTERS)
def test_nfc_keeps_kazakh_letters(letter: str) -> None:
    assert i18n.nfc(letter) == letter
    assert len(i18n.nfc(letter)) == 1


@pytest.mark.parametrize(
    ("decomposed", "composed"),
    [("и\u0306", "й"), ("е\u0308", "ё"), ("И\u0306", "Й"),
     ("Қайрат Жыланбаев, Шаймерде\u0308н", "Қайрат Жыланбаев, Шаймердён")],
)
def test_nfc_composes(decomposed: str, composed: str) -> None:
    assert i18n.nfc(decomposed) == composed


def test_nfc_round_trip_of_a_kazakh_sentence() -> None:
    sentence = "Әділ сот, ғаділ қоғам, өңір, ұлт, үй, һәм іс; ёлка, йод"
    assert i18n.nfc(unicodedata.normalize("NFD", sentence)) == sentence
    assert i18n.nfc("") == ""


@pytest.mark.parametrize(
    "words",
    [
        # Kazakh letters sit after their Russian neighbours, not at the end (code points).
        ["ағаш", "әке", "бала"],
        ["гүл", "ғалым", "дала"],
        ["көл", "қала", "лақ"],
        ["нан", "ңа", "орын", "өзен", "пар"],
        ["ту", "ұлт", "үй", "фирма"],
        ["хат", "һәм", "цех"],
        ["ыстық", "іс", "ьь", "элек"],
        ["ел", "ёлка", "жол"],
    ],
)
def test_kk_sort_key_alphabet_order(words: list[str]) -> None:
    assert sorted(reversed(words), key=i18n.kk_sort_key) == words


def test_kk_sort_key_ignores_case_and_puts_unknown_last() -> None:
    words = ["Zhylanbaev", "Ұлытау облысы", "абай облысы", "Әкімдік", "Ақмола облысы"]
    assert sorted(words, key=i18n.kk_sort_key) == [
        "абай облысы", "Ақмола облысы", "Әкімдік", "Ұлытау облысы", "Zhylanbaev"]


def test_kk_sort_key_composes_first() -> None:
    assert i18n.kk_sort_key("е\u0308")[0] == i18n.kk_sort_key("ё")[0]


def test_kk_alphabet_is_complete() -> None:
    assert len(i18n.KK_ALPHABET) == 42
    assert set(KAZAKH_LETTERS.lower()) <= set(i18n.KK_ALPHABET)


def test_sort_code_labels_in_kazakh() -> None:
    catalog = i18n.load_catalog("kk")
    regions = [catalog.gettext(r) for r in ("Ulytau Region", "Abai Region", "Aktobe Region",
                                            "Akmola Region", "Almaty Region")]
    assert sorted(regions, key=i18n.kk_sort_key) == [
        "Абай облысы", "Ақмола облысы", "Ақтөбе облысы", "Алматы облысы", "Ұлытау облысы"]


def test_english_sort_puts_latin_first() -> None:
    assert sorted(["Алматы", "Almaty"], key=lambda s: i18n.sort_key(s, "en")) == [
        "Almaty", "Алматы"]


# --------------------------------------------------------------------------- code lists

CODE_LISTS = sorted(name for name in dir(codes) if name.isupper()
                    and isinstance(getattr(codes, name), tuple))


@pytest.mark.parametrize("name", CODE_LISTS)
@pytest.mark.parametrize("locale", TRANSLATED)
def test_code_list_translated_and_distinct(name: str, locale: str) -> None:
    """Every code's label is translated, and no two codes of a list read the same."""
    catalog = i18n.load_catalog(locale)
    # Outside a request a lazy label is its English msgid.
    english = {code: str(text) for code, text in getattr(codes, name)}
    labels = {code: catalog.gettext(msgid) for code, msgid in english.items()}
    untranslated = [code for code in labels if labels[code] == english[code]]
    assert not untranslated, f"{name}/{locale}: {untranslated}"
    assert len(set(labels.values())) == len(labels), f"{name}/{locale}: duplicate labels"


def test_code_lists_found() -> None:
    assert {"ACTS", "REGIONS", "RIGHTS", "STATUSES", "VICTIM_ROLES"} <= set(CODE_LISTS)
