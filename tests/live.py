"""A real ``kuager serve`` in a subprocess and a small HTTP client for it (stdlib only).

Used where the test client would hide what matters: real sockets, cheroot's buffering,
temporary files, the printed URLs.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

PASSPHRASE = "correct horse battery staple"


def kuager(
    *args: str, data: Path, stdin: str = PASSPHRASE + "\n", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


class Server:
    """``kuager serve`` started with the passphrase on stdin; stopped with SIGTERM."""

    def __init__(self, data: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "--data",
                str(data),
                "serve",
                "--port",
                "0",
                "--no-browser",
                *extra,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(PASSPHRASE + "\n")
        self.proc.stdin.close()
        self.urls: list[str] = []

    def read_urls(self, count: int) -> list[str]:
        assert self.proc.stdout
        while len(self.urls) < count:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(
                    "serve exited: " + (self.proc.stderr.read() if self.proc.stderr else "")
                )
            self.urls.append(line.strip())
        return self.urls

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def end(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, wait, close the pipes: a process a test started itself."""
    proc.terminate()
    proc.wait(timeout=20)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def kill_serve(proc: subprocess.Popen[str]) -> int:
    """SIGKILL ``kuager serve`` as a crash would: the serving process first (the one that
    holds the store open, app/cli/serving.py), then the first process; its return code."""
    if proc.poll() is None:
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            children = []
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30)


class Browser:
    """Cookies, CSRF tokens and multipart forms, with redirects reported, not followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect()
        )

    def request(
        self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read()

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request(path)

    def csrf(self, path: str) -> str:
        status, _headers, page = self.get(path)
        assert status == 200, (path, status)
        match = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        assert match, path
        return match.group(1).decode()

    def post(
        self,
        path: str,
        fields: Iterable[tuple[str, str]],
        files: Iterable[tuple[str, str, bytes]] = (),
    ) -> tuple[int, dict[str, str], bytes]:
        boundary = "----kuager" + secrets.token_hex(8)
        parts: list[bytes] = []
        for name, value in fields:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + value.encode()
                + b"\r\n"
            )
        for name, filename, content in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(
            path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )


def report_fields(title: str, description: str, csrf: str) -> list[tuple[str, str]]:
    return [
        ("csrf_token", csrf),
        ("title", title),
        ("description", description),
        ("occurred_on", "2026-01-12"),
        ("occurred_precision", "day"),
        ("region", "almaty_city"),
        ("place", "Алматы"),
        ("rights", "assembly"),
        ("acts", "detention_administrative"),
        ("sensitivity", "normal"),
        ("save", "1"),
    ]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
