"""A real headless Chromium with JavaScript turned off, as a reporter on Tor Browser's
"Safest" level or a careful monitor has it, driven through ``webdriver.WebDriver``.

Pages never run script (``--blink-settings=scriptEnabled=false``; :func:`Browser.check_no_script`
proves it on a page that would change itself). The test driver still reads the page through
DevTools (WebDriver's "execute script" runs outside the page's own script switch): that is
how it measures layout, never how a page works.
"""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path
from typing import Any

from tests.browser.test_screens import (
    SCREENSHOTS,
    chromium,
    serve,  # noqa: F401 - one server helper
)
from tests.browser.webdriver import ELEMENT, WebDriver
from tests.conftest import require_tool

SWITCHES = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-extensions", "--no-first-run", "--disable-background-networking",
            "--disable-sync", "--hide-scrollbars", "--window-size=1024,1400",
            "--blink-settings=scriptEnabled=false"]

TAB, ENTER = "\ue004", "\ue007"

#: A phone's CSS width (the review's mobile screens: 390 px).
PHONE_WIDTH = 390

#: What the driver measures on a page: its width and every control that does not fit.
_MEASURE = """
const root = document.documentElement, width = root.clientWidth, cut = [];
const controls = 'button, input:not([type=hidden]), select, textarea, a.button';
for (const el of document.querySelectorAll(controls)) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;  // not rendered
  let clipped = r.left < -0.5 || r.right > width + 0.5;
  for (let up = el.parentElement; up && !clipped; up = up.parentElement) {
    if (getComputedStyle(up).overflowX === 'visible') continue;
    const box = up.getBoundingClientRect();  // a scroll or hidden box cuts what leaves it
    clipped = r.left < box.left - 0.5 || r.right > box.right + 0.5;
  }
  if (clipped) cut.push(el.outerHTML.slice(0, 160));
}
const wide = [];
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.right > width + 0.5 && wide.length < 5) wide.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
}
return {scrollWidth: root.scrollWidth, clientWidth: width, cut: cut, wide: wide};
"""




class Browser(WebDriver):
    """``WebDriver`` plus what these tests need: lists, attributes, uploads, layout."""

    @classmethod
    def start(cls, tmp_path: Path) -> Browser:
        """Chromium with script off; skips (fails under CI) when it is not installed."""
        browser = chromium()
        driver = shutil.which("chromedriver") or require_tool("chromedriver")
        profile = tmp_path / "chromium-profile"
        profile.mkdir(exist_ok=True)
        started = cls(driver, browser, [*SWITCHES, f"--user-data-dir={profile}"],
                      tmp_path / "chromedriver.log")
        started.check_no_script()
        return started

    def driver_script(self, script: str, *args: Any) -> Any:
        """Run ``script`` from the test driver (DevTools), whatever the page may run."""
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def check_no_script(self) -> None:
        """A page that rewrites itself with script is left as written: script is off."""
        self.get("data:text/html,<p id=p>static</p><script>p.textContent='ran'</script>")
        text = self.driver_script("return document.getElementById('p').textContent")
        assert text == "static", "JavaScript is on in the browser under test"

    def cdp(self, command: str, params: dict[str, Any]) -> Any:
        return self._session("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def phone(self, width: int = PHONE_WIDTH, height: int = 844) -> None:
        """Emulate a phone screen ``width`` CSS pixels wide (the page's viewport meta counts,
        as on a phone); it stays for every page after."""
        self.cdp("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})

    def find_all(self, css: str) -> list[str]:
        found = self._session("POST", "/elements", {"using": "css selector", "value": css})
        return [str(item[ELEMENT]) for item in found]

    def text(self, css: str) -> str:
        return str(self._session("GET", f"/element/{self.find(css)}/text"))

    def attribute(self, css: str, name: str) -> str | None:
        value = self._session("GET", f"/element/{self.find(css)}/attribute/{name}")
        return None if value is None else str(value)

    def upload(self, css: str, *paths: Path) -> None:
        """Choose files in an ``<input type=file>`` (chromedriver runs on this machine)."""
        self._session("POST", f"/element/{self.find(css)}/value",
                      {"text": "\n".join(str(path) for path in paths)})

    def choose(self, select: str, value: str) -> None:
        self.click(f'{select} option[value="{value}"]')

    def follow(self, css: str) -> str:
        """Click a link or a submit button and wait (bounded) for the next page, even when it
        has the same address (a redirect back to the form's page); returns its address."""
        self.driver_script("document.documentElement.dataset.leaving = '1'")
        self.click(css)
        for _ in range(600):
            if self.driver_script(
                    "return document.readyState === 'complete'"
                    " && !document.documentElement.dataset.leaving"):
                return self.current_url()
            time.sleep(0.05)
        raise TimeoutError(f"no new page after clicking {css}")

    def keys(self, *keys: str) -> None:
        """Press keys (WebDriver key codes: TAB, ENTER below), one after the other."""
        steps = []
        for key in keys:
            steps += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        self._session("POST", "/actions", {"actions": [
            {"type": "key", "id": "keyboard", "actions": steps}]})

    def focused(self) -> str:
        """The focused element's outer HTML (its start)."""
        return str(self.driver_script("return document.activeElement.outerHTML.slice(0, 200)"))

    def layout(self) -> dict[str, Any]:
        return dict(self.driver_script(_MEASURE))

    def screenshot(self, name: str) -> None:
        """The whole page, for a person to look at (git-ignored, as test_screens.py's)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = self.cdp("Page.captureScreenshot", {"format": "png",
                                                   "captureBeyondViewport": True})
        (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
