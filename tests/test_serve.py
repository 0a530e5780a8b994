"""``kuager serve`` as a real process: printed URLs, two listeners, clean failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.live import Browser, Server, child_env, end, kuager


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
        end(proc)


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


BUSY = {
    "en": "is already in use by another program",
    "ru": "уже занят другой программой",
    "kk": "басқа бағдарлама пайдаланып тұр",
}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_with_busy_port(data: Path, option: str, lang: str) -> tuple[int, str, str, int]:
    """``kuager serve`` while a socket holds the port ``option`` asks for; (status, stdout,
    stderr, the busy port). A server left running fails the test by the timeout."""
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = int(busy.getsockname()[1])
        ports = (["--port", str(taken)] if option == "--port"
                 else ["--port", str(_free_port()), "--public-port", str(taken)])
        result = subprocess.run(
            [sys.executable, "-m", "app", "--data", str(data), "serve", "--no-browser", *ports],
            input="correct horse battery staple\n", capture_output=True, text=True, timeout=60,
            env=child_env(LANG=f"{lang}_KZ.UTF-8" if lang != "en" else "C.UTF-8",
                          LC_ALL="", LC_MESSAGES=""), check=False)
    return result.returncode, result.stdout, result.stderr, taken


@pytest.fixture(scope="module")
def field_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("serve") / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    return data


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("option", ["--public-port", "--port"])
def test_a_busy_port_is_one_error_line_and_nothing_keeps_running(
        field_store: Path, option: str, lang: str) -> None:
    """Issue 14: with the public port busy, serve printed the error but kept running (the
    operator listener's threads), its port answering nothing."""
    status, out, err, taken = _serve_with_busy_port(field_store, option, lang)
    assert status == 1
    assert out == ""  # no URL of a server that is not serving
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert BUSY[lang] in err and str(taken) in err and option in err


def test_the_terminal_says_when_the_public_form_keeps_the_store_unlocked(
        tmp_path: Path) -> None:
    """Started with the passphrase on standard input and the public form open (not in
    inbox mode), the store never locks itself: the terminal says so, as every operator
    page does; with the operator site alone it does not."""
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    warning = "automatic lock is off while the public form is open"
    with Server(data, "--public-port", "0") as server:
        server.read_urls(2)
        server.stop()
        assert server.proc.stderr is not None
        assert warning in server.proc.stderr.read()
    with Server(data) as server:
        server.read_urls(1)
        server.stop()
        assert server.proc.stderr is not None
        assert warning not in server.proc.stderr.read()
