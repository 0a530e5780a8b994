"""Report text never reaches the browser profile on disk (issue 11, finding 1).

A real headless Chromium, driven through chromedriver, writes a report with marker words in
Kazakh and Russian, views it and the list, searches the list (one query that finds the report,
one that finds nothing), and quits. Then every file of the profile folder
(which the test chooses, on disk, so that it can be read afterwards) is searched for the
markers in UTF-8 and UTF-16-LE.

* With the switches ``kuager serve`` uses (``app.cli.browser.chromium_argv``: incognito, no
  sync ...), nothing of the report is found.
* With an everyday (non-private) profile, the fallback when no private browser can be
  started, the pages themselves still keep report text out of it: generic titles (History),
  ``autocomplete="off"`` (the autofill table, and the form state Chromium saves for
  session restore), opaque ids in every address.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.cli.browser import chromium_argv
from tests.browser.test_screens import chromium, serve
from tests.browser.webdriver import WebDriver
from tests.conftest import require_tool

#: Marker words, one per field, that appear nowhere else.
MARKERS = {
    "title": "Жаңаөзенқұпиятақырып",
    "description": "Секретноеописаниеинцидента",
    "place": "Шұғылақалашықмекен",
    "victims-0-name": "Айгүлжасырынесім",
    "contact": "Тайныйконтактжурналиста",
}
#: Typed into the list page's search box only: what a monitor searches for is as telling as
#: what they write.
SEARCH_MARKER = "Іздеуқұпиясөзжасырын"
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-extensions", "--window-size=1024,1600"]


@pytest.fixture
def url(app: Flask) -> Iterator[str]:
    yield from serve(app)


def _launcher_switches(profile: Path) -> list[str]:
    """What ``kuager serve`` passes, minus the program and the address."""
    return chromium_argv("chromium", profile, "about:blank")[1:-1]


def _drive(driver: WebDriver, base: str) -> None:
    driver.get(f"{base}/reports/new?lang=kk")
    for name, text in MARKERS.items():
        driver.type(f'[name="{name}"]', text)
    driver.type('[name="occurred_on"]', "2026-01-12")
    driver.click('select[name="region"] option[value="almaty_city"]')
    driver.click('input[name="rights"][value="assembly"]')
    form_url = driver.current_url()
    driver.click('[name="save"]')
    driver.wait_for_url(form_url)
    page = driver.source()
    assert MARKERS["title"] in page, re.findall(r'class="error"[^>]*>([^<]*)', page)
    assert MARKERS["contact"] in page  # the view page
    assert MARKERS["title"] not in driver.title()
    report_url = driver.current_url()
    assert not any(marker in report_url for marker in MARKERS.values())
    driver.get(f"{base}/reports?lang=ru")
    assert MARKERS["title"] in driver.source()
    driver.get(report_url)  # and back again, as a monitor does
    assert MARKERS["description"] in driver.source()
    for query, finds in ((MARKERS["place"], True), (SEARCH_MARKER, False)):
        driver.get(f"{base}/reports?lang=kk")
        list_url = driver.current_url()
        driver.type('input[name="q"]', query)
        driver.click('form.filters button[type="submit"]')
        driver.wait_for_url(list_url)
        assert query not in driver.current_url()  # an opaque id, never the words
        results = driver.source()
        assert query in results  # echoed in the search box of the page itself
        assert (MARKERS["title"] in results) is finds


def _found_in(profile: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(profile.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        for name, marker in [*MARKERS.items(), ("q", SEARCH_MARKER)]:
            for encoding in ("utf-8", "utf-16-le"):
                if marker.encode(encoding) in data:
                    found.append((str(path.relative_to(profile)), f"{name}/{encoding}"))
    return found


def _run(tmp_path: Path, url: str, switches: list[str]) -> list[tuple[str, str]]:
    browser = chromium()
    driver_path = shutil.which("chromedriver") or require_tool("chromedriver")
    profile = tmp_path / "profile"
    profile.mkdir()
    driver = WebDriver(driver_path, browser, [*HEADLESS, *switches],
                       tmp_path / "chromedriver.log")
    try:
        _drive(driver, url)
    finally:
        driver.quit()
    files = [path for path in profile.rglob("*") if path.is_file()]
    assert files, "Chromium wrote nothing: the test would prove nothing"
    return _found_in(profile)


@pytest.mark.slow
def test_private_profile_of_serve_keeps_no_report_text(tmp_path: Path, url: str) -> None:
    switches = _launcher_switches(tmp_path / "profile")
    assert "--incognito" in switches
    assert _run(tmp_path, url, switches) == []


@pytest.mark.slow
def test_everyday_profile_keeps_no_report_text_either(tmp_path: Path, url: str) -> None:
    switches = [s for s in _launcher_switches(tmp_path / "profile") if s != "--incognito"]
    assert _run(tmp_path, url, switches) == []
