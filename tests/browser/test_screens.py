"""A real browser renders the report form and the error page in Kazakh, Russian and English.

Headless Debian Chromium is driven through its command line (``--dump-dom``,
``--screenshot``), no WebDriver. The app is served by werkzeug on 127.0.0.1 in a
thread. Screenshots go to ``test-artifacts/screenshots/`` (git-ignored) for a person to
look at: every Kazakh letter must show, nothing English must be left on the page.
"""


from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio")
LANGS = ("kk", "ru", "en")

#: Words each page must show in its language (from the catalogs, not the English source).
EXPECTED = {
    ("form", "kk"): ("Абай облысы", "Бейбіт жиналыс бостандығы", "Хабарламаны сақтау"),
    ("form", "ru"): ("область Абай", "Свобода мирных собраний", "Сохранить сообщение"),
    ("form", "en"): ("Abai Region", "Freedom of peaceful assembly", "Save report"),
    ("public", "kk"): ("Оқиға туралы хабарлау", "Ұлытау облысы"),
    ("public", "ru"): ("Сообщить о нарушении", "область Ұлытау"),
    ("public", "en"): ("Report an incident", "Ulytau Region"),
    ("error", "kk"): ("Мұнда бет жоқ.", "Қате 404"),
    ("error", "ru"): ("Такой страницы нет.", "Ошибка 404"),
    ("error", "en"): ("There is no page here.", "Error 404"),
}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium()


def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def operator_url(app: Flask) -> Iterator[str]:
    yield from serve(app)


@pytest.fixture
def public_url(public_app: Flask) -> Iterator[str]:
    yield from serve(public_app)


def run(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    result = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def check_page(browser: str, tmp_path: Path, url: str, page: str, lang: str) -> None:
    dom = run(browser, tmp_path, "--dump-dom", url).stdout
    match = re.search(r"<html[^>]*\blang=\"([^\"]+)\"", dom)
    assert match, dom[:300]
    assert match.group(1) == lang
    for text in EXPECTED[page, lang]:
        assert text in dom, f"{page}/{lang}: {text!r} not on the page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{page}-{lang}.png"
    shot.unlink(missing_ok=True)
    run(browser, tmp_path, f"--screenshot={shot}", "--window-size=1024,1600", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000, "the screenshot looks empty"


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_report_form(browser: str, operator_url: str, tmp_path: Path, lang: str) -> None:
    check_page(browser, tmp_path, f"{operator_url}/reports/new?lang={lang}", "form", lang)


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_error_page(browser: str, operator_url: str, tmp_path: Path, lang: str) -> None:
    check_page(browser, tmp_path, f"{operator_url}/no-such-page?lang={lang}", "error", lang)


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_public_form(browser: str, public_url: str, tmp_path: Path, lang: str) -> None:
    check_page(browser, tmp_path, f"{public_url}/?lang={lang}", "public", lang)
