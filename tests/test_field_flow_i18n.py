"""The 2026-12 translation review: terms kept consistent, the strings it found wrong stay fixed.

Each check names a term the review found mixed (translations/GLOSSARY.md now fixes one
word per concept), so a later edit that brings the old word back fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _messages(locale: str) -> dict[str, Message]:
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}


def _strings(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def _all_strings(locale: str) -> list[str]:
    return [s for m in _messages(locale).values() for s in _strings(m)]


@pytest.mark.parametrize(
    ("locale", "banned", "why"),
    [
        ("kk", "команда", "command is «пәрмен»"),
        ("kk", "зақымдал", "damaged is «бүлінген»"),
        ("kk", "дала құрылғы", "field device is «далалық құрылғы»"),
        ("kk", "жария сайт", "the public site is «ашық сайт»"),
        ("kk", "ішіне", "after a file path: «файлына»"),
        ("kk", "ішінен", "after a file path: «файлынан»"),
        ("kk", "қолма-қол", "«қолма-қол» reads as 'in cash'"),
        ("kk", "құлыптаулы", "locked is «құлыпталған»"),
        ("kk", "атын атау", "tautology: «атын жария ету»"),
        ("ru", "редакция", "revision is «версия»"),
        ("ru", "Убрать", "remove is «Удалить»"),
        ("ru", "обратно", "calque of 'read back'"),
        ("ru", "Степень", "«Уровень» agrees with the options"),
    ],
)
def test_inconsistent_term_is_gone(locale: str, banned: str, why: str) -> None:
    hits = [s for s in _all_strings(locale) if banned in s]
    assert not hits, f"{locale}: {why}: {hits}"


@pytest.mark.parametrize("locale", ["kk", "ru"])
def test_monitor_is_never_bare_where_a_screen_could_be_meant(locale: str) -> None:
    text = " ".join(_strings(_messages(locale)[
        "new device %(id)s, fingerprint %(fp)s: confirm it with the monitor"]))
    assert ("құрылғы иесімен" if locale == "kk" else "владельцем устройства") in text


def test_kazakh_destroy_differs_from_delete() -> None:
    kk = _messages("kk")
    for msgid in ("Destroy everything now", "Destroy the store",
                  "The store was destroyed. Nothing in it can be recovered.",
                  "Type yes to destroy every report in this store"):
        assert "біржола" in kk[msgid].string, msgid
    assert "біржола" not in kk["Delete"].string


@pytest.mark.parametrize(("locale", "word"), [("kk", "«иә»"), ("ru", "«да»")])
def test_wipe_word_is_in_the_page_language(locale: str, word: str) -> None:
    from app.web.settings import WIPE_WORDS

    assert word.strip("«»") in WIPE_WORDS
    messages = _messages(locale)
    for msgid in ("Type yes to confirm", "Type yes to confirm.",
                  "Type yes to destroy every report in this store"):
        assert word in messages[msgid].string and "yes" not in messages[msgid].string


@pytest.mark.parametrize(
    ("locale", "msgid", "expected"),
    [
        ("kk", "Delayed detention (after the event)", "Оқиғадан кейін ұстау"),
        ("ru", "Delayed detention (after the event)", "Задержание после события (постфактум)"),
        ("kk", "Liberty and security of person", "Жеке бас бостандығы мен оған қол сұғылмаушылық"),
        ("kk", "House arrest", "Үйқамақ"),
        ("kk", "Refusal of an assembly notification", "Бейбіт жиналыс өткізуден бас тарту"),
        ("ru", "Refusal of an assembly notification", "Отказ в проведении мирного собрания"),
        ("ru", "Contact", "Контакты"),
        ("ru", "Name (for you)", "Название (для себя)"),
        ("kk", "The victim told me", "Зардап шеккен адамның өзі айтты"),
    ],
)
def test_review_correction_kept(locale: str, msgid: str, expected: str) -> None:
    assert _messages(locale)[msgid].string == expected


def test_key_label_column_is_not_a_persons_name() -> None:
    template = (ROOT / "app/web/templates/exchange/export.html").read_text()
    assert '_("Name")' not in template and '_("Name (for you)")' in template
