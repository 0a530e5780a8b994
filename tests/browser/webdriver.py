"""A small W3C WebDriver client for chromedriver (stdlib only; no selenium to install).

Enough to type into a form, press a button and read the page, in a real Chromium.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebDriver:
    """chromedriver on a loopback port, one Chromium session with the given switches."""

    def __init__(self, chromedriver: str, chromium: str, args: list[str], log: Path) -> None:
        self.port = _free_port()
        self._log = open(log, "wb")  # noqa: SIM115 (closed in quit)
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(200):  # bounded: chromedriver starts in well under a second
            try:
                self._call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as exc:
            with exc:
                raise RuntimeError(exc.read().decode(errors="replace")) from None

    def _session(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self._session("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        found = self._session("POST", "/element", {"using": "css selector", "value": css})
        if ELEMENT not in found:
            raise RuntimeError(f"{css}: {found}")
        return str(found[ELEMENT])

    def type(self, css: str, text: str) -> None:
        self._session("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self._session("POST", f"/element/{self.find(css)}/click", {})

    def wait_for_url(self, changed_from: str) -> str:
        """After a click that submits a form: wait (bounded) for the next page's address."""
        for _ in range(600):
            url = self.current_url()
            if url != changed_from and self._session("POST", "/execute/sync", {
                    "script": "return document.readyState", "args": []}) == "complete":
                return url
            time.sleep(0.05)
        raise TimeoutError(f"still on {changed_from}")

    def source(self) -> str:
        return str(self._session("GET", "/source"))

    def current_url(self) -> str:
        return str(self._session("GET", "/url"))

    def title(self) -> str:
        return str(self._session("GET", "/title"))

    def quit(self) -> None:
        try:
            self._session("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self._log.close()
