"""Every page at a phone's width (390 CSS px), in Kazakh, Russian and English, script off.

For each page the driver (not the page: script stays off, tests/browser/nojs.py) checks that
``document.documentElement.scrollWidth`` is at most 390 (no sideways scrolling) and that no
button, field or button-styled link sticks out of the screen or out of a box that cuts it
off. The stores hold what makes pages wide: long titles, a file with a long name, a
recipient with its fingerprint, a bundle in the outbox, an imported report and its device.
Screenshots go to test-artifacts/screenshots/phone-*.png for a person to look at.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Config
from app.store import keyring
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.browser.nojs import PHONE_WIDTH, Browser, serve
from tests.conftest import PASSPHRASE, csrf_token, report_form
from tests.test_desk import _jpeg_with_gps
from tests.test_exchange import init, listing, run

LANGS = ("kk", "ru", "en")
LONG_TITLE = ("Алматы қаласындағы бейбіт жиналысқа қатысқан белсенділерді әкімшілік "
              "жауапкершілікке тарту және олардың телефондарын тінту")
LONG_FILE = "Әкімшілік-құқық-бұзушылық-туралы-хаттама-2026-жылғы-8-наурыз-көшірмесі.pdf"


def _post_report(client: FlaskClient, title: str, *, draft: bool) -> str:
    data = report_form(title=title, attachments=[
        (io.BytesIO(_jpeg_with_gps()), "пикет.jpg"), (io.BytesIO(b"%PDF-1.4 not real"), LONG_FILE)])
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["draft" if draft else "save"] = "1"
    data["contact"] = "signal: aigul.42 · telegram: @aigul_kz_2026"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return str(response.headers["Location"]).rsplit("/", 1)[-1]


@pytest.fixture
def world(app: Flask, config: Config, field_store: Store, tmp_path: Path) -> dict[str, Any]:
    """A field store with reports, a recipient and a bundle; a coordinator that imported it."""
    coordinator = tmp_path / "coordinator"
    conn = field_store.connect()
    keyring.add_recipient(conn, init(coordinator, "coordinator"),
                          "Үйлестіруші, Алматы кеңсесі (негізгі кілт)")
    conn.close()
    client = app.test_client()
    draft = _post_report(client, LONG_TITLE, draft=True)
    _post_report(client, "Дайын хабарлама: Жаңаөзен", draft=False)
    # One bundle kept in the outbox (listed on the export page), one written to a folder.
    token = csrf_token(client, "/exchange/export")
    assert client.post("/exchange/export", data={"csrf_token": token, "folder": ""}
                       ).status_code == 303
    _post_report(client, "Дайын хабарлама: Ақтөбе", draft=False)
    usb = tmp_path / "usb"
    usb.mkdir()
    token = csrf_token(client, "/exchange/export")
    assert client.post("/exchange/export", data={"csrf_token": token, "folder": str(usb)}
                       ).status_code == 303
    bundles = [*sorted((config.data_dir / "outbox").iterdir()), *usb.iterdir()]
    assert len(bundles) == 2
    for bundle in bundles:
        assert run("import", str(bundle), "--data", str(coordinator)).exit_code == 0
    imported = listing(coordinator)[0]
    attachment = client.get(f"/reports/{draft}").get_data(as_text=True)
    attachment_id = attachment.split(f"/reports/{draft}/attachments/", 1)[1].split('"', 1)[0]
    return {"draft": draft, "attachment": attachment_id.split("/", 1)[0],
            "coordinator": coordinator, "imported": imported["id"]}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    driver = Browser.start(tmp_path)
    driver.phone()
    try:
        yield driver
    finally:
        driver.quit()


def _check(browser: Browser, url: str | None, name: str, problems: list[str]) -> None:
    """Measure the page at ``url`` (None: the page the browser is on)."""
    if url is not None:
        browser.get(url)
    measured = browser.layout()
    assert measured["clientWidth"] == PHONE_WIDTH, measured  # the emulation took
    if measured["scrollWidth"] > PHONE_WIDTH:
        problems.append(f"{name}: {measured['scrollWidth']} px wide; {measured['wide']}")
    problems.extend(f"{name}: cut off: {html}" for html in measured["cut"])
    browser.screenshot(f"phone-{name}")


@pytest.mark.slow
def test_every_page_fits_a_phone(browser: Browser, world: dict[str, Any], *, app: Flask,
                                 public_app: Flask, field_store: Store, tmp_path: Path) -> None:
    problems: list[str] = []
    draft, attachment = world["draft"], world["attachment"]
    field_pages = {
        "list": "/reports", "new": "/reports/new", "view": f"/reports/{draft}",
        "edit": f"/reports/{draft}/edit", "delete": f"/reports/{draft}/delete",
        "delete-file": f"/reports/{draft}/attachments/{attachment}/delete",
        "export": "/exchange/export", "settings": "/settings/", "onion": "/onion",
        "missing": "/no-such-page",
    }
    coordinator = Store(Config(data_dir=world["coordinator"], default_locale="en"))
    coordinator.unlock(PASSPHRASE)
    coordinator_app = create_operator_app(coordinator.config, coordinator, {"TESTING": True})
    coordinator_pages = {
        "coord-list": "/reports", "coord-view": f"/reports/{world['imported']}",
        "import": "/exchange/import", "coord-settings": "/settings/", "devices": "/devices",
        "stats": "/review/stats", "intake": "/intake",
    }
    fresh = Store(Config(data_dir=tmp_path / "fresh", default_locale="en"))
    setup_app = create_operator_app(fresh.config, fresh, {"TESTING": True})

    for server_app, pages in ((app, field_pages), (coordinator_app, coordinator_pages)):
        for base in serve(server_app):
            for lang in LANGS:
                for name, path in pages.items():
                    _check(browser, f"{base}{path}?lang={lang}", f"{name}-{lang}", problems)
    for base in serve(setup_app):
        for lang in LANGS:
            _check(browser, f"{base}/setup?lang={lang}", f"setup-{lang}", problems)
    for base in serve(public_app):
        for lang in LANGS:
            _check(browser, f"{base}/?lang={lang}", f"public-{lang}", problems)
            browser.type('[name="description"]', "Телефоннан жіберілген қысқа хабарлама.")
            assert browser.follow('[name="save"]').split("#")[0].endswith("/thanks")
            _check(browser, None, f"thanks-{lang}", problems)  # shown once: not reloaded
        field_store.lock()
        for lang in LANGS:
            _check(browser, f"{base}/?lang={lang}", f"public-closed-{lang}", problems)
    for base in serve(app):
        for lang in LANGS:
            _check(browser, f"{base}/unlock?lang={lang}", f"unlock-{lang}", problems)
    assert not problems, "\n".join(problems)
