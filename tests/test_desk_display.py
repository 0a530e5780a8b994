"""What the desk shows around a report: custody entries in the reader's language, times in
the machine's local zone (named on the page), sizes people read (issue 14, friction)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import i18n, timeutil
from app.records import custody
from tests import desk_world
from tests.test_exchange import listing

NBSP = "\u00a0"


@pytest.fixture
def almaty_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's zone set to UTC+5 (a POSIX rule: no zone database needed)."""
    monkeypatch.setenv("TZ", "<+05>-5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("size", "locale", "expected"), [
    (0, "en", "0 bytes"), (1, "en", "1 byte"), (512, "ru", "512 байт"),
    (1023, "kk", f"1{NBSP}023 байт"), (1024, "en", f"1{NBSP}KB"),
    (1_250_000, "ru", f"1,2{NBSP}МБ"), (1_250_000, "kk", f"1,2{NBSP}МБ"),
    (1_250_000, "en", f"1.2{NBSP}MB"), (15 * 1024 * 1024, "ru", f"15{NBSP}МБ"),
    (10 * 1024 * 1024 - 1, "en", f"10{NBSP}MB"), (3 * 1024**3, "kk", f"3{NBSP}ГБ"),
    (5 * 1024**5, "en", f"5,120{NBSP}TB"), (None, "en", ""),
])
def test_format_size(size: int | None, locale: str, expected: str) -> None:
    assert i18n.format_size(size, locale) == expected


def test_size_units_are_in_one_script() -> None:
    """Babel's Kazakh "MБ" hides a Latin M among Cyrillic letters: ours never does."""
    for locale in ("kk", "ru"):
        shown = i18n.format_size(3 * 1024**4, locale) + i18n.format_size(2 * 1024**2, locale)
        assert not any("a" <= ch.lower() <= "z" for ch in shown), shown


@pytest.mark.usefixtures("almaty_time")
@pytest.mark.parametrize(("locale", "expected"), [
    ("kk", "12 қаңтар 2026\u202fж., 08:49"),
    ("ru", "12 января 2026\u202fг., 08:49"),
    ("en", "January 12, 2026, 8:49\u202fAM"),
])
def test_format_datetime_in_local_time(locale: str, expected: str) -> None:
    assert i18n.format_datetime("2026-01-12T03:49:01Z", locale) == expected
    assert timeutil.utc_offset_label() == "UTC+5"


def test_format_datetime_leaves_what_is_not_a_time() -> None:
    assert i18n.format_datetime(None, "ru") == ""
    assert i18n.format_datetime("вчера", "ru") == "вчера"


def test_offset_label(monkeypatch: pytest.MonkeyPatch) -> None:
    for rule, label in (("UTC0", "UTC"), ("<+0530>-5:30", "UTC+5:30"), ("<-03>3", "UTC\u22123")):
        monkeypatch.setenv("TZ", rule)
        time.tzset()
        assert timeutil.utc_offset_label() == label
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("entry", "en", "ru"), [
    ({"event": "created", "detail": "operator"}, "Created · written by the monitor",
     "Создано · записано правозащитником-монитором"),
    ({"event": "created", "detail": "public"}, "Created · sent through the public form",
     "Создано · отправлено через публичную форму"),
    ({"event": "exported", "detail": "bundle 5"}, "Exported · in bundle 5",
     "Экспортировано · в пакете 5"),
    ({"event": "imported", "detail": "bundle 12"}, "Imported · in bundle 12",
     "Импортировано · в пакете 12"),
    ({"event": "received", "detail": "public form, sealed on arrival"},
     "Submission received · through the public form, sealed on arrival",
     "Сообщение получено · через публичную форму, запечатано при поступлении"),
    ({"event": "status", "detail": "new -> verified"}, "Status changed · New→Verified",
     "Статус изменён · Новое→Проверено"),
    ({"event": "edited", "detail": ""}, "Edited", "Изменено"),
    ({"event": "future_event", "detail": "what it said"}, "future_event · what it said",
     "future_event · what it said"),
])
def test_custody_entries_are_described(public_app, entry: dict[str, str], en: str,  # type: ignore[no-untyped-def]
                                       ru: str) -> None:
    for lang, expected in (("en", en), ("ru", ru)):
        with public_app.test_request_context(f"/?lang={lang}"):
            shown = custody.describe({"at": "2026-01-12T03:49:01Z", "device": "", **entry})
            assert " · ".join(filter(None, (shown["event_label"], shown["detail_label"]))) \
                == expected


@pytest.mark.usefixtures("almaty_time")
def test_report_page_custody_translated_in_local_time(tmp_path: Path) -> None:
    world = desk_world.build(tmp_path)
    page = world.field.get(f"/reports/{world.exported_id}?lang=ru").get_data(as_text=True)
    custody_part = page.split('class="custody"', 1)[1].split("</ul>", 1)[0]
    assert "Создано" in custody_part and "Экспортировано" in custody_part
    assert "в пакете 1" in custody_part
    for raw in ("created", "exported", "bundle 1", "operator"):
        assert raw not in custody_part.replace('datetime="', ""), raw
    assert "UTC+5" in page
    # The stored instant in <time datetime>, the local time as text.
    stamp = custody_part.split('<time datetime="', 1)[1].split('"', 1)[0]
    local = timeutil.to_local(stamp)
    assert local is not None
    assert f">{i18n.format_datetime(stamp, 'ru')}</time>" in custody_part
    assert f"{local:%H:%M}" in custody_part
    assert stamp.endswith("Z") and stamp not in custody_part.replace(f'"{stamp}"', "")
    # Sizes of attachments: human-readable, never a count of bytes.
    sizes = [a["size"] for r in listing(world.field_dir) if r["id"] == world.exported_id
             for a in r["attachments"]]
    assert max(sizes) > 10 * 1024 and min(sizes) < 1024
    for size in sizes:
        assert f'class="meta">{i18n.format_size(size, "ru")} ·' in page
    assert re.search(f"class=\"meta\">\\d+(,\\d)?{NBSP}КБ ·", page)
    assert "bytes" not in page

    coordinator = world.coordinator.get(f"/reports/{world.exported_id}?lang=kk")
    text = coordinator.get_data(as_text=True)
    assert "Импортталды" in text and "№1 пакетте" in text
    devices = world.coordinator.get("/exchange/import?lang=ru").get_data(as_text=True)
    assert "UTC+5" in devices and "T" not in devices.split("<time", 1)[1].split(">", 2)[1]
