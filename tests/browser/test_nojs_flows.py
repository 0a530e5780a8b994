"""Issue 14's journeys in a real headless Chromium with JavaScript off (tests/browser/nojs.py).

* Deleting a report or an attachment asks first on a page that names what goes; only its
  own button deletes (and Cancel deletes nothing).
* A draft stays behind at export; "Mark ready to export" from the list sends it next time
  (the bundles are imported into a coordinator store to see what arrived).
* The short public form, in Kazakh, with a photo: the skip link, the thanks page with its
  receipt code, and the report in the store with the photo's GPS removed.
* Files chosen before "Add another person" are still there on the page it brings back (at
  a phone's width), one can be removed, and saving attaches the other, cleaned.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from app.records import attachments
from app.store import keyring
from app.store.store import Store
from tests.browser.nojs import ENTER, PHONE_WIDTH, TAB, Browser, serve
from tests.test_desk import _jpeg_with_gps
from tests.test_exchange import init, listing, run


@pytest.fixture
def operator_url(app: Flask) -> Iterator[str]:
    yield from serve(app)


@pytest.fixture
def public_url(public_app: Flask) -> Iterator[str]:
    yield from serve(public_app)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    driver = Browser.start(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


def _rows(store: Store, sql: str, *args: object) -> list[dict[str, object]]:
    conn = store.connect()
    try:
        return [dict(row) for row in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def _write(browser: Browser, base: str, title: str, button: str = "save",
           files: tuple[Path, ...] = ()) -> str:
    """A report through the operator form; returns its id (from the page's address)."""
    browser.get(f"{base}/reports/new?lang=kk")
    browser.type('[name="title"]', title)
    browser.type('[name="description"]', f"{title}: белсенді ұсталды, активиста задержали.")
    browser.type('[name="occurred_on"]', "08.03.2026")
    browser.choose('select[name="region"]', "almaty_city")
    if files:
        browser.upload('input[name="attachments"]', *files)
    address = browser.follow(f'[name="{button}"]')
    report_id = address.rstrip("/").rsplit("/", 1)[-1]
    assert len(report_id) == 32, (address, browser.source()[:2000])
    return report_id


# -- (a) deleting asks first ----------------------------------------------------------------

@pytest.mark.slow
def test_delete_confirmation_names_what_goes_and_only_its_button_deletes(
        browser: Browser, operator_url: str, field_store: Store, tmp_path: Path) -> None:
    photo = tmp_path / "пикет.jpg"
    photo.write_bytes(_jpeg_with_gps())
    protocol = tmp_path / "хаттама.txt"
    protocol.write_text("Әкімшілік құқық бұзушылық туралы хаттама", encoding="utf-8")
    title = "Пикет Абай даңғылында"
    report_id = _write(browser, operator_url, title, files=(photo, protocol))
    files = {row["name"]: row for row in _rows(
        field_store, "SELECT * FROM attachments WHERE report_id = ?", report_id)}
    assert set(files) == {"пикет.jpg", "хаттама.txt"}
    cfg = field_store.config
    doc = files["хаттама.txt"]
    on_disk = [attachments.file_path(cfg, doc["file_name"])]
    assert all(path.exists() for path in on_disk)

    attachment_link = f'a[href="/reports/{report_id}/attachments/{doc["id"]}/delete"]'
    confirm = 'form:has(input[name="confirmed"]) button[type="submit"]'
    cancel = 'form:has(input[name="confirmed"]) a'

    # The attachment's Delete opens a page naming the file and its report; nothing gone yet.
    browser.follow(attachment_link)
    page = browser.text("main")
    assert "хаттама.txt" in page and title in page
    assert "пикет.jpg" not in page  # only what will be deleted is named
    assert len(_rows(field_store, "SELECT id FROM attachments")) == 2
    # Cancel: back to the report, both files still there.
    assert browser.follow(cancel).endswith(f"/reports/{report_id}")
    assert len(_rows(field_store, "SELECT id FROM attachments")) == 2
    # Confirm: the file goes, from the store and from the disk; the photo stays.
    browser.follow(attachment_link)
    assert browser.follow(confirm).endswith(f"/reports/{report_id}")
    assert [r["name"] for r in _rows(field_store, "SELECT name FROM attachments")] == ["пикет.jpg"]
    assert not any(path.exists() for path in on_disk)
    assert "хаттама.txt" not in browser.text("main")

    # The report's Delete names the report and the file that goes with it.
    browser.follow(f'a[href="/reports/{report_id}/delete"]')
    page = browser.text("main")
    assert title in page and "пикет.jpg" in page
    assert len(_rows(field_store, "SELECT id FROM reports")) >= 1
    assert browser.follow(cancel).endswith(f"/reports/{report_id}")
    assert len(_rows(field_store, "SELECT id FROM reports")) >= 1
    photo_files = [attachments.file_path(cfg, name) for name in
                   (files["пикет.jpg"]["file_name"], files["пикет.jpg"]["sealed_original"])
                   if name]
    browser.follow(f'a[href="/reports/{report_id}/delete"]')
    assert browser.follow(confirm).split("?")[0].endswith("/reports")
    assert _rows(field_store, "SELECT id FROM reports") == []
    assert _rows(field_store, "SELECT id FROM attachments") == []
    assert not any(path.exists() for path in photo_files)
    assert title not in browser.text("main")


# -- (b) drafts stay behind -----------------------------------------------------------------

def _state(store: Store, report_id: str) -> tuple[object, object]:
    [row] = _rows(store, "SELECT status, exported_in FROM reports WHERE id = ?"
                  " ORDER BY revision DESC LIMIT 1", report_id)
    return row["status"], row["exported_in"]


def _export(browser: Browser, base: str, folder: Path) -> list[str]:
    """Export into ``folder`` from the export page; the page's messages after it."""
    browser.get(f"{base}/exchange/export?lang=kk")
    # The page offers the last destination in the field: replace it, as a person would.
    browser.driver_script("document.querySelector("
                          "'form[action=\"/exchange/export\"] [name=\"folder\"]').value = ''")
    browser.type('form[action="/exchange/export"] [name="folder"]', str(folder))
    browser.follow('form[action="/exchange/export"] [type="submit"]')
    return list(browser.driver_script(
        "return Array.from(document.querySelectorAll('.flash'), e => e.textContent.trim())"))


@pytest.mark.slow
def test_a_draft_stays_behind_until_marked_ready_from_the_list(
        browser: Browser, operator_url: str, field_store: Store, tmp_path: Path) -> None:
    coordinator = tmp_path / "coordinator"
    conn = field_store.connect()
    keyring.add_recipient(conn, init(coordinator, "coordinator"), "Үйлестіруші")
    conn.close()
    usb = tmp_path / "usb"
    usb.mkdir()

    draft = _write(browser, operator_url, "Жоба: әлі аяқталмаған", button="draft")
    ready = _write(browser, operator_url, "Дайын хабарлама")
    assert _state(field_store, draft) == ("draft", None)
    assert _state(field_store, ready)[0] == "ready"

    said = _export(browser, operator_url, usb)
    assert _state(field_store, draft) == ("draft", None)  # left behind
    assert _state(field_store, ready)[1] is not None
    # The page says how many drafts stayed behind («… жобалар: 1»).
    assert any("жоба" in line.lower() and line.endswith(": 1") for line in said), said
    [first] = sorted(usb.iterdir())
    assert run("import", str(first), "--data", str(coordinator)).exit_code == 0
    assert [r["title"] for r in listing(coordinator)] == ["Дайын хабарлама"]

    # From the list: the draft's own "Mark ready to export" button.
    browser.get(f"{operator_url}/reports?lang=kk")
    browser.follow(f'form[action="/reports/{draft}/ready"] button[type="submit"]')
    assert _state(field_store, draft) == ("ready", None)
    said = _export(browser, operator_url, usb)
    assert _state(field_store, draft)[1] is not None
    assert not any("жоба" in line.lower() for line in said), said
    [second] = sorted(set(usb.iterdir()) - {first})
    assert run("import", str(second), "--data", str(coordinator)).exit_code == 0
    assert sorted(r["title"] for r in listing(coordinator)) == [
        "Дайын хабарлама", "Жоба: әлі аяқталмаған"]


# -- (c) the short public form in Kazakh ----------------------------------------------------

@pytest.mark.slow
def test_short_public_form_in_kazakh_with_a_photo_lands_in_the_store(
        browser: Browser, public_url: str, field_store: Store, tmp_path: Path) -> None:
    photo = tmp_path / "пикет.jpg"
    photo.write_bytes(_jpeg_with_gps())
    browser.get(f"{public_url}/?lang=kk")
    html = browser.source()
    assert '<html lang="kk">' in html and "Не болды?" in html
    assert 'name="rights"' not in html and 'name="victims-0-name"' not in html
    # Keyboard: the first Tab reaches the skip link, Enter jumps past the language bar,
    # the next Tab lands in the first field.
    browser.keys(TAB)
    assert 'class="skip"' in browser.focused()
    browser.keys(ENTER)
    assert browser.current_url().endswith("#report-form")
    browser.keys(TAB)
    assert 'name="description"' in browser.focused()

    description = "Ақтөбеде бейбіт пикеттен кейін екі белсенді ұсталды."
    browser.type('[name="description"]', description)
    browser.type('[name="occurred_on"]', "8 наурыз 2026")
    browser.choose('select[name="region"]', "aktobe")
    browser.type('[name="place"]', "Ақтөбе, орталық алаң")
    browser.type('[name="contact"]', "signal: aigul.42")
    browser.upload('input[name="attachments"]', photo)
    address = browser.follow('[name="save"]')
    # (The skip link's #report-form rides along: a redirect keeps the form page's fragment.)
    assert address.split("#")[0].endswith("/thanks"), browser.source()[:3000]
    receipt = browser.text("#receipt")
    thanks = browser.text("main")
    assert "Осы қойындыны қазір жабыңыз" in thanks
    assert "Бұл сайт Сіздің құрылғыңызда ештеңе сақтаған жоқ" in thanks

    [row] = _rows(field_store, "SELECT id, origin, status, body FROM reports")
    body = json.loads(str(row["body"]))
    assert row["origin"] == "public" and row["status"] == "ready"
    assert body["description"] == description and body["receipt"] == receipt
    assert body["occurred_on"] == "2026-03-08" and body["region"] == "aktobe"
    assert body["contact"] == "signal: aigul.42"
    [stored] = _rows(field_store, "SELECT * FROM attachments WHERE report_id = ?", row["id"])
    assert stored["name"] == "пикет.jpg" and stored["metadata_removed"] == 1
    data = b"".join(attachments.read_chunks(field_store.config, str(stored["file_name"]),
                                            stored["file_key"]))
    image = Image.open(io.BytesIO(data))
    assert image.size == (64, 48) and not image.getexif().get_ifd(0x8825)
    assert b"SecretPhone" not in data
    # Shown once: the thanks page again sends the reporter back to an empty form.
    browser.get(f"{public_url}/thanks")
    assert receipt not in browser.source()


# -- (d) files chosen before "Add another person" are kept ---------------------------------

@pytest.mark.slow
def test_files_survive_add_another_person_and_one_can_be_removed(
        browser: Browser, operator_url: str, field_store: Store, tmp_path: Path) -> None:
    photo = tmp_path / "пикет.jpg"
    photo.write_bytes(_jpeg_with_gps())
    long_name = "Әкімшілік-құқық-бұзушылық-туралы-хаттама-2026-жылғы-8-наурыз-көшірмесі.pdf"
    document = tmp_path / long_name
    document.write_bytes(b"%PDF-1.4 not a real one")
    browser.phone()
    browser.get(f"{operator_url}/reports/new?lang=kk")
    browser.type('[name="title"]', "Файлдар сақталады")
    browser.type('[name="description"]', "Екі белсенді ұсталды.")
    browser.choose('select[name="region"]', "almaty_city")
    browser.upload('input[name="attachments"]', photo, document)
    browser.follow('[name="add_victim"]')
    html = browser.source()
    assert 'name="victims-1-name"' in html
    assert "пикет.jpg" in html and long_name in html
    assert "Таңдалған файлдар" in html
    assert len(browser.find_all('input[name="held_file"]')) == 2
    measured = browser.layout()  # the list fits a phone
    assert measured["scrollWidth"] <= PHONE_WIDTH and not measured["cut"], measured
    browser.screenshot("files-kept-kk")

    browser.follow('li:nth-child(2) button[name="held_remove"]')
    html = browser.source()
    assert "пикет.jpg" in html and long_name not in html
    assert browser.attribute('[name="title"]', "value") == "Файлдар сақталады"
    browser.follow('[name="save"]')
    [row] = _rows(field_store, "SELECT id FROM reports")
    [stored] = _rows(field_store, "SELECT * FROM attachments WHERE report_id = ?", row["id"])
    assert stored["name"] == "пикет.jpg" and stored["metadata_removed"] == 1
    data = b"".join(attachments.read_chunks(field_store.config, str(stored["file_name"]),
                                            stored["file_key"]))
    assert b"SecretPhone" not in data
    assert not Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    assert list(field_store.config.spool_dir.iterdir()) == []
