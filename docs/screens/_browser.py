"""What both screenshot scripts share: a served app, a real Chromium, small PNG files.

The browser is headless Chromium driven by chromedriver through the project's own stdlib
WebDriver client (``tests/browser/webdriver.py``, also used by the browser tests), so a
search can be typed and a form sent the way a person does it. Every screenshot is of the
viewport at one fixed size (``SIZE``, set through the DevTools device metrics, so the
window decorations of a headless build never change it), then reduced to a palette PNG
with Pillow: screenshots of text pages need few colours, and the files stay small enough
to commit.

Stores are throw-away (a temporary folder, a cheap KDF), filled with fictional data only,
and served on 127.0.0.1 (and ``localhost``, a second origin, for a second store: cookies
do not tell ports apart).
"""

from __future__ import annotations

import base64
import io
import logging
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402 - after the path: the script runs from anywhere

from tests.browser.webdriver import WebDriver  # noqa: E402

#: Every screenshot: width, height in CSS pixels at a device scale of 1.
SIZE = (1024, 720)
#: Colours kept in a PNG; text pages look the same with 96 and weigh a third of RGB.
COLOURS = 96
SWITCHES = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-extensions", "--hide-scrollbars", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--mute-audio", "--lang=en-GB", "--window-size=1024,720"]
#: A passphrase the setup page accepts; the stores it protects are thrown away.
PASSPHRASE = "orman jusan qymyz tulpar saryarqa"  # noqa: S105 - not a secret


class ToolMissing(RuntimeError):
    """Chromium or chromedriver is not installed (``apt-get install chromium chromium-driver``)."""


def tools() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise ToolMissing("chromium and chromedriver are needed "
                          "(apt-get install chromium chromium-driver)")
    return browser, driver


def cheap_kdf() -> None:
    """Throw-away stores need no slow KDF (the same swap as the tests' ``cheap_kdf``)."""
    from app.store import store as store_module
    from crypto import keywrap

    store_module.KDF_PROFILE = keywrap.TEST_PROFILE


@contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """The app on a loopback port in a thread; yields its base address as ``host`` names it."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def optimised_png(raw: bytes) -> bytes:
    """A palette PNG of the screenshot (no dithering: letters stay crisp)."""
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    small = image.quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


class Browser(WebDriver):
    """One Chromium session with a fixed viewport, and the few gestures the scripts need."""

    def __init__(self, work: Path) -> None:
        browser, driver = tools()
        profile = work / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        super().__init__(driver, browser, [*SWITCHES, f"--user-data-dir={profile}"],
                         work / "chromedriver.log")
        self.written: list[Path] = []
        self.size = (0, 0)
        self.resize(SIZE)

    def resize(self, size: tuple[int, int]) -> None:
        """The viewport, in CSS pixels at a device scale of 1 (so one pixel in the PNG)."""
        if size != self.size:
            self._session("POST", "/goog/cdp/execute", {
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": size[0], "height": size[1], "deviceScaleFactor": 1,
                           "mobile": False}})
            self.size = size

    def script(self, source: str, *args: Any) -> Any:
        return self._session("POST", "/execute/sync", {"script": source, "args": list(args)})

    def open(self, url: str) -> None:
        self.get(url)
        self.script("return document.readyState")

    def submit(self, css: str) -> str:
        """Click a submit button and wait for the page it leads to; returns its address."""
        before = self.current_url()
        self.click(css)
        return self.wait_for_url(before)

    def submit_same(self, css: str) -> None:
        """Click a button whose answer may come back to the same address (post, redirect)."""
        marker = "kuagerScreensOld"
        self.script(f"window.{marker} = true")
        self.click(css)
        for _ in range(600):
            if self.script(f"return document.readyState === 'complete' && !window.{marker}"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{css}: no new page")

    def choose(self, css: str) -> None:
        """Tick a box, pick an option, toggle an option of a multiple select."""
        self.click(css)

    def text(self, css: str = "body") -> str:
        """The visible text of the first element ``css`` matches ("" if none does)."""
        return str(self.script("const e = document.querySelector(arguments[0]);"
                               "return e ? e.innerText : '';", css))

    def scroll_to(self, css: str, offset: int = 8) -> None:
        found = self.script(
            "const e = document.querySelector(arguments[0]);"
            "if (!e) { return false; }"
            "window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - arguments[1]);"
            "return true;", css, offset)
        if not found:
            raise RuntimeError(f"nothing on the page matches {css}")

    def top(self) -> None:
        self.script("window.scrollTo(0, 0)")

    def shot(self, out: Path, name: str, *, scroll: str | None = None, offset: int = 8,
             size: tuple[int, int] = SIZE) -> Path:
        """Save the viewport as ``out/name`` (scrolled to ``scroll`` first, or at the top)."""
        self.resize(size)
        if scroll is None:
            self.top()
        else:
            self.scroll_to(scroll, offset)
        self.script("if (document.activeElement) { document.activeElement.blur(); }")
        raw = base64.b64decode(self._session("GET", "/screenshot"))
        target = out / name
        target.write_bytes(optimised_png(raw))
        target.chmod(0o644)  # a picture for the docs (the app's umask makes files private)
        self.written.append(target)
        print(target)
        return target


def expect(page_text: str, *words: str) -> None:
    """Stop the script (never write a misleading picture) when the page lacks a word."""
    for word in words:
        if word not in page_text:
            raise RuntimeError(f"{word!r} is not on the page:\n{page_text[:1500]}")
