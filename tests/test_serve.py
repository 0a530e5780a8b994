"""``kuager serve`` as a real process: printed URLs, two listeners, clean failures."""

from __future__ import annotations

import re
from pathlib import Path

from tests.live import Browser, Server, child_env, kuager


def test_prints_urls_and_separates_the_two_sites(tmp_path: Path) -> None:
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    with Server(data, "--public-port", "0") as server:
        operator_url, public_url = server.read_urls(2)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", operator_url)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", public_url) and public_url != operator_url
        operator, public = Browser(operator_url), Browser(public_url)
        assert operator.get("/reports/new")[0] == 200  # started unlocked from stdin
        status, headers, _ = public.get("/reports/new")
        # No server software or version to fingerprint (cheroot would say "Cheroot/11.1.2").
        assert status == 404 and headers.get("Server") == "kuager"
        assert public.get("/")[0] == 200
        assert operator.get("/static/style.css")[0] == 200


def test_without_passphrase_it_starts_locked(tmp_path: Path) -> None:
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--data", str(data), "serve", "--port", "0", "--no-browser"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        status, headers, _ = Browser(url).get("/reports")
        assert status == 302 and headers["Location"].startswith("/unlock")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_onion_without_tor_is_one_error_line(tmp_path: Path) -> None:
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    result = kuager(
        "serve",
        "--onion",
        "--no-browser",
        "--port",
        "0",
        data=data,
        env=child_env(KUAGER_TOR=str(tmp_path / "no-tor-here")),
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr


def test_oversized_headers_are_refused_by_the_server(tmp_path: Path) -> None:
    """cheroot has no header limit of its own: a stranger could send hundreds of MB."""
    import socket

    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    with Server(data, "--public-port", "0") as server:
        _operator, public = server.read_urls(2)
        port = int(public.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000
                         + b"\r\n\r\n")
            reply = conn.recv(200)
        assert reply.startswith(b"HTTP/1.1 4"), reply
        assert Browser(public).get("/")[0] == 200  # and the site still answers
