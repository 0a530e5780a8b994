"""Hostile HTTP: what a stranger on the onion can send must never cost a 5xx or a stored byte.

The first part drives both apps through Flask's test client (to see exactly which code
runs); the second talks to a real ``kuager serve --public-port`` over raw sockets:
malformed and truncated multipart, nameless parts, huge urlencoded bodies, many fields,
huge headers, non-UTF-8 bytes, slow clients. After each, nothing is stored and the server
still answers a normal request.
"""

from __future__ import annotations

import contextlib
import io
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app
from app.web.server import (
    LISTEN_BACKLOG,
    PUBLIC_GRACE_SECONDS,
    PUBLIC_SOCKET_TIMEOUT,
    PUBLIC_THREADS,
    Listener,
)
from tests.live import Browser, Server, child_env, kuager

NAMELESS_FIELD = b'--XX\r\nContent-Disposition: form-data\r\n\r\nhello\r\n--XX--\r\n'
NAMELESS_FILE = (b'--XX\r\nContent-Disposition: form-data; filename="a.txt"\r\n'
                 b"Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n")
NO_DISPOSITION = b"--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"
MULTIPART = "multipart/form-data; boundary=XX"


def _spool_files(config: Config) -> list[Path]:
    return [p for p in config.spool_dir.iterdir()] if config.spool_dir.exists() else []


@pytest.fixture
def operator_client(config: Config, field_store: Store) -> FlaskClient:
    return create_operator_app(config, field_store, {"TESTING": True}).test_client()


@pytest.mark.parametrize("body", [NAMELESS_FIELD, NAMELESS_FILE, NO_DISPOSITION],
                         ids=["field", "file", "no-disposition"])
@pytest.mark.parametrize("side", ["public", "operator"])
def test_nameless_part_is_refused_with_400_and_no_traceback(
    side: str, body: bytes, *, public_client: FlaskClient, operator_client: FlaskClient,
    config: Config, caplog: pytest.LogCaptureFixture,
) -> None:
    client = public_client if side == "public" else operator_client
    path = "/" if side == "public" else "/unlock"
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, data=body, content_type=MULTIPART)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # Werkzeug skips a part without Content-Disposition: then the CSRF token is missing.
    assert ("expired" if body is NO_DISPOSITION else "could not be read") in page
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert _spool_files(config) == []


def test_nameless_part_after_a_file_leaves_no_spool(public_app: Flask, config: Config) -> None:
    body = (b'--XX\r\nContent-Disposition: form-data; name="attachments"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * 100_000 + b"\r\n"
            + NAMELESS_FIELD)
    response = public_app.test_client().post("/", data=body, content_type=MULTIPART)
    assert response.status_code == 400
    assert _spool_files(config) == []


# -- urlencoded bodies: refused over 2 MiB before parsing, and a cap on fields ------------

URLENCODED = "application/x-www-form-urlencoded"
MIB = 1024 * 1024


class CountingBody(io.RawIOBase):
    """``size`` bytes of ``a=xxxx…`` made on demand, counting how many were read."""

    def __init__(self, size: int, pattern: bytes = b"x") -> None:
        super().__init__()
        self.size, self.pattern, self.read_bytes = size, pattern, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.read_bytes)
        if n <= 0:
            return 0
        chunk = (b"a=" + self.pattern * n)[:n] if self.read_bytes == 0 else self.pattern * n
        buffer[:n] = chunk[:n]
        self.read_bytes += n
        return n


def post_stream(client: FlaskClient, path: str, body: CountingBody, *, declared: bool
                ) -> tuple[int, str]:
    """POST ``body`` as it comes, with its Content-Length or (like chunked) without one."""
    environ = EnvironBuilder(path=path, method="POST", content_type=URLENCODED,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
    environ["wsgi.input"] = body
    if declared:
        environ["CONTENT_LENGTH"] = str(body.size)
    else:  # what cheroot does for a chunked body: no length, the server ends the stream
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    app_iter, status, _headers = run_wsgi_app(client.application, environ)
    try:
        return int(status.split()[0]), b"".join(app_iter).decode()
    finally:
        getattr(app_iter, "close", lambda: None)()


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fails the test if the urlencoded parser is ever called."""
    from app.web import request as request_module

    calls: list[int] = []

    def refuse(*_args: object, **_kwargs: object) -> list[tuple[str, str]]:
        calls.append(1)
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(request_module, "parse_qsl", refuse)
    return calls


@pytest.mark.parametrize("side", ["public", "operator"])
def test_16_mib_urlencoded_body_is_refused_unread(
    side: str, *, public_client: FlaskClient, operator_client: FlaskClient,
    no_parsing: list[int],
) -> None:
    client = public_client if side == "public" else operator_client
    body = CountingBody(16 * MIB)
    status, page = post_stream(client, "/" if side == "public" else "/unlock", body,
                               declared=True)
    assert status == 413, page[:3000]
    assert "larger than this site accepts" in page
    assert body.read_bytes == 0
    assert no_parsing == []


def test_urlencoded_body_of_unknown_length_is_read_only_to_the_limit(
    public_client: FlaskClient, no_parsing: list[int]
) -> None:
    body = CountingBody(16 * MIB)
    status, _page = post_stream(public_client, "/", body, declared=False)
    assert status == 413, _page[:3000]
    assert body.read_bytes <= 2 * MIB + 64 * 1024
    assert no_parsing == []


def test_too_many_urlencoded_fields_are_refused_before_parsing(
    public_client: FlaskClient, no_parsing: list[int]
) -> None:
    body = "&".join(f"f{i}=1" for i in range(5000)).encode()
    assert len(body) < 2 * MIB
    response = public_client.post("/", data=body, content_type=URLENCODED)
    assert response.status_code == 413
    assert no_parsing == []


def test_small_urlencoded_form_is_still_parsed(operator_client: FlaskClient) -> None:
    response = operator_client.post("/unlock", data={"passphrase": "wrong", "csrf_token": "x"})
    assert response.status_code == 400  # parsed: the CSRF token was read and found wrong
    assert "expired" in response.get_data(as_text=True)


# -- a real server over raw sockets ----------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    data = tmp_path_factory.mktemp("hostile") / "store"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    env = child_env(KUAGER_PUBLIC_SUBMISSIONS_PER_HOUR="100000")
    with Server(data, "--public-port", "0", env=env) as server:
        _operator, public = server.read_urls(2)
        yield LiveSite(server, data, urlsplit(public).port or 0)


@dataclass
class LiveSite:
    server: Server
    data: Path
    port: int

    def connect(self, timeout: float = 30.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def exchange(self, raw: bytes, timeout: float = 30.0) -> bytes:
        """Send ``raw`` as it is, then read what the server answers until it closes."""
        with self.connect(timeout) as sock:
            # The server may answer and close before it has read everything (413, 431).
            with contextlib.suppress(OSError):
                sock.sendall(raw)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            return _read_all(sock)

    def status_of(self, raw: bytes) -> int:
        answer = self.exchange(raw)
        assert answer.startswith(b"HTTP/1.1 "), answer[:200]
        return int(answer[9:12])

    def stored(self) -> int:
        """Reports in the store, read while the server runs (the CLI opens it too)."""
        listing = kuager("reports", "list", "--json", data=self.data)
        assert listing.returncode == 0, listing.stderr
        return len(listing.stdout.splitlines())

    def still_serving(self) -> None:
        browser = Browser(f"http://127.0.0.1:{self.port}/")
        status, _headers, page = browser.get("/")
        assert status == 200 and b"csrf_token" in page


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(ConnectionError, TimeoutError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_stalling_clients_do_not_hold_every_public_thread(live: LiveSite) -> None:
    """More trickling clients than threads: a normal visitor still gets the form."""
    count, deadline = PUBLIC_THREADS + 8, time.monotonic() + 60  # bounded: 40 sockets, 60 s
    stallers = [live.connect(timeout=5) for _ in range(count)]
    closed_by_server: list[float] = []
    answers: list[bytes] = []

    def trickle(sock: socket.socket) -> None:
        started = time.monotonic()
        try:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while time.monotonic() < deadline:
                sock.sendall(b"X")  # one byte of a header line a second: never finished
                readable, _w, _x = select.select([sock], [], [], 1.0)
                if readable:
                    answers.append(sock.recv(65536)[:12])
                    break  # the server answered (408) or closed the connection
        except OSError:
            pass  # reset by the server: closed too
        else:
            if time.monotonic() >= deadline:
                return
        closed_by_server.append(time.monotonic() - started)

    threads = [threading.Thread(target=trickle, args=(s,), daemon=True) for s in stallers]
    for thread in threads:
        thread.start()
    time.sleep(2)  # every public thread is now busy with a staller
    started = time.monotonic()
    live.still_serving()
    waited = time.monotonic() - started
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    for sock in stallers:
        sock.close()
    print(f"{count} stalling clients: a normal GET waited {waited:.1f} s; "
          f"{len(closed_by_server)} stallers closed by the server, after "
          f"{min(closed_by_server, default=0):.1f}-{max(closed_by_server, default=0):.1f} s")
    assert len(closed_by_server) == count
    assert set(answers) <= {b"HTTP/1.1 408", b""}
    assert max(closed_by_server) < PUBLIC_GRACE_SECONDS + PUBLIC_SOCKET_TIMEOUT


@pytest.mark.slow
def test_a_body_that_stalls_is_cut_off_and_nothing_is_stored(live: LiveSite) -> None:
    before = live.stored()
    head = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
            b"Content-Type: multipart/form-data; boundary=XX\r\n\r\n"
            b'--XX\r\nContent-Disposition: form-data; name="attachments"; filename="a"\r\n'
            b"\r\n" + b"x" * 5000)
    with live.connect(timeout=PUBLIC_GRACE_SECONDS + PUBLIC_SOCKET_TIMEOUT + 10) as sock:
        sock.sendall(head)  # ...and then nothing more
        answer = _read_all(sock)
    # 400 from the app (Werkzeug: "client disconnected") or 408 from cheroot; never a 5xx.
    assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 408"), answer[:300]
    assert live.stored() == before
    live.still_serving()


def _post(body: bytes, content_type: str = MULTIPART, *, extra: bytes = b"",
          length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: " + content_type.encode() + b"\r\n"
            b"Content-Length: " + str(size).encode() + b"\r\n" + extra + b"\r\n" + body)


_FILE_PART = (b'--XX\r\nContent-Disposition: form-data; name="attachments"; filename="a.bin"\r\n'
              b"Content-Type: application/octet-stream\r\n\r\n")

HOSTILE_REQUESTS = {
    "nameless field": _post(NAMELESS_FIELD),
    "nameless file": _post(NAMELESS_FILE),
    "no boundary": _post(NAMELESS_FIELD, "multipart/form-data"),
    "wrong boundary": _post(NAMELESS_FIELD, "multipart/form-data; boundary=YY"),
    "truncated multipart": _post(_FILE_PART + b"x" * 1000, length=50_000),
    "unterminated multipart": _post(_FILE_PART + b"x" * 1000),
    "garbage multipart": _post(b"\x00\xff" * 5000),
    "header without colon": _post(b"--XX\r\nno colon here\r\n\r\nv\r\n--XX--\r\n"),
    "16 MiB urlencoded declared": _post(b"a=" + b"x" * 1000, URLENCODED, length=16 * MIB),
    "5000 urlencoded fields": _post("&".join(f"f{i}=1" for i in range(5000)).encode(),
                                    URLENCODED),
    "5000 multipart parts": _post(b"".join(b'--XX\r\nContent-Disposition: form-data; '
                                           b'name="f"\r\n\r\n1\r\n' for _ in range(5000))
                                  + b"--XX--\r\n"),
    "non-UTF-8 urlencoded": _post(b"title=\xff\xfe%FF&csrf_token=\xc3\x28", URLENCODED),
    "non-UTF-8 field and filename": _post(
        b'--XX\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\n\xc3\x28\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="attachments"; filename="\xff.jpg"\r\n'
        b"\r\n\xff\xd8\xff\r\n--XX--\r\n"),
    "non-UTF-8 header": _post(b"", URLENCODED, extra=b"X-Name: \xff\xfe\xc3\x28\r\n"),
    "huge header": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (200 * 1024)
                    + b"\r\n\r\n"),
    "many headers": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n"),
    "huge request line": b"GET /" + b"a" * (200 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "not HTTP": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500,
    "chunked without end": (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked"
                            b"\r\nContent-Type: " + URLENCODED.encode() + b"\r\n\r\n"
                            b"5\r\na=123\r\nzz\r\n"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE_REQUESTS))
def test_hostile_request_gets_no_5xx_and_stores_nothing(live: LiveSite, name: str) -> None:
    files_before = sorted(p.name for p in (live.data / "files").iterdir())
    answer = live.exchange(HOSTILE_REQUESTS[name])
    # An answer below 500 (a GET within the limits may well get its 200), or the
    # connection closed without one: never a 5xx.
    status = int(answer[9:12]) if answer.startswith(b"HTTP/1.") else None
    assert status is None or status < 500, (name, answer[:300])
    assert sorted(p.name for p in (live.data / "files").iterdir()) == files_before
    assert [p.name for p in (live.data / "spool").iterdir()] == []
    live.still_serving()


@pytest.mark.slow
def test_after_the_hostile_requests_nothing_is_stored_and_the_log_is_clean(
        live: LiveSite) -> None:
    for name in sorted(HOSTILE_REQUESTS):  # in case this test runs alone
        live.exchange(HOSTILE_REQUESTS[name])
    live.still_serving()
    assert live.stored() == 0
    assert [p.name for p in (live.data / "spool").iterdir()] == []
    live.server.stop()
    log = live.server.proc.stderr.read() if live.server.proc.stderr else ""
    assert "Traceback" not in log, log[-3000:]


def test_fifty_visitors_arriving_at_once_are_all_queued_by_the_kernel() -> None:
    """The listen backlog holds a crowd: with cheroot's default of 5, connections past the
    sixth wait for SYN retransmits (or are reset) while no worker has accepted yet."""

    app = Flask("backlog")
    app.config.update(KUAGER_SIDE="public", MAX_CONTENT_LENGTH=1024)
    listener = Listener(app, "127.0.0.1", 0)
    port = listener.bind()  # listening, but nothing accepts: only the kernel's queue counts
    sockets: list[socket.socket] = []
    try:
        for _ in range(50):
            sock = socket.socket()
            sock.settimeout(0.5)
            sockets.append(sock)
            sock.connect(("127.0.0.1", port))  # times out once the queue is full
        assert LISTEN_BACKLOG >= 50
    finally:
        for sock in sockets:
            sock.close()
        # bind() started cheroot's worker threads (not daemons): stop them, or the test
        # run never exits.
        listener.stop()
