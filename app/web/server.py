"""Serving with cheroot, never the Flask development server.

cheroot hands a request body to the application as it arrives on the socket and writes a
response as the application yields it, so neither ever lands in a temporary file (waitress,
by contrast, spools bodies over 512 KB and responses over 1 MB to plaintext temp files).
Uploads then go through ``request.KuagerRequest`` into encrypted spools. It runs on Windows.

cheroot gives each request in progress a thread of its own, and its only guard against a
client that stalls is a timeout per socket read: a client sending a byte every 59 s held a
public thread for ever, and 32 of them held them all. The public listener therefore paces
every request (``PacedConnection``): the request line and headers, and then the body, must
keep up a minimum average rate (``PUBLIC_GRACE_SECONDS`` to start, then at least
``PUBLIC_MIN_BYTES_PER_SECOND``), and no read may wait more than ``PUBLIC_SOCKET_TIMEOUT``.
A client that falls behind gets 408 and its connection is closed. Idle keep-alive
connections hold no thread (cheroot waits for them with a selector).

The listening sockets are made by ``listen`` in ``kuager serve``'s first process, which
never unlocks the store, and served by a ``Listener`` in the process that does
(app/cli/serving.py): when that process ends on lock, the sockets stay open and the next
one serves them. Once a serving process has locked (``Listener.retire``), every response
it still sends closes its connection, so no browser keeps talking to a process that is
ending.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.makefile import MakeFile, StreamReader
from flask import Flask

#: Threads per listener: the operator is one person; the public site gets more, because a
#: few slow (or deliberately slow) visitors must not occupy all of them.
OPERATOR_THREADS = 8
PUBLIC_THREADS = 32
#: Seconds a connection may sit silent mid-request. Tor circuits are slow, but a client that
#: sends nothing for a minute is gone or stalling on purpose.
SOCKET_TIMEOUT = 60
#: The public site, reached by strangers: silence for 20 s ends a request (Tor circuits
#: stall for a few seconds at worst)...
PUBLIC_SOCKET_TIMEOUT = 20
#: ...the request line and headers (a browser sends them in one packet) and the first bytes
#: of the body must come within 10 s...
PUBLIC_GRACE_SECONDS = 10.0
#: ...and from then on the request must average 2 KiB/s: a 10 MiB video still has 85
#: minutes, but holding all 32 threads costs a stalling client 64 KiB/s of real traffic.
PUBLIC_MIN_BYTES_PER_SECOND = 2048
#: Connections the kernel holds for a listener before it accepts them. cheroot's default is
#: 5: fifty visitors arriving at once (a Tor onion after a call to report) overflowed it,
#: and a client could see its connection reset before any answer.
LISTEN_BACKLOG = 128
#: Request line and headers together; a page needs a few KB. cheroot has no limit by default.
MAX_HEADER_BYTES = 64 * 1024


class _PacedSocketIO(socket.SocketIO):
    """The socket's reads, each one bounded by what is left of the request's time budget."""

    def __init__(self, sock: socket.socket, connection: PacedConnection) -> None:
        super().__init__(sock, "rb")
        self._connection = connection

    def readinto(self, buffer: Any) -> int | None:  # type: ignore[override]
        connection = self._connection
        connection.before_read()
        try:
            count = super().readinto(buffer)
        except TimeoutError:
            connection.expired = True
            raise
        connection.received += count or 0
        return count


class _PacedReader(StreamReader):
    def __init__(self, sock: socket.socket, connection: PacedConnection, bufsize: int) -> None:
        # cheroot's StreamReader builds its own SocketIO: skip to its base class.
        super(StreamReader, self).__init__(_PacedSocketIO(sock, connection), bufsize)
        self.bytes_read = 0


class _Request(cheroot_server.HTTPRequest):
    def send_headers(self) -> None:
        # A process that has locked is ending: the browser's next request must reach the
        # process that serves after it, on a new connection.
        if getattr(self.server, "kuager_retiring", False):
            self.close_connection = True
        super().send_headers()


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request


class _PacedRequest(_Request):
    def send_headers(self) -> None:
        # The socket timed out: what is left of the body can no longer be read (cheroot
        # would try, to keep the connection alive, and log a traceback).
        if getattr(self.conn, "expired", False):
            self.close_connection = True
        super().send_headers()


class PacedConnection(cheroot_server.HTTPConnection):
    """A cheroot connection whose every request must keep up a minimum rate (see above)."""

    RequestHandlerClass = _PacedRequest
    grace_seconds = PUBLIC_GRACE_SECONDS
    min_bytes_per_second = PUBLIC_MIN_BYTES_PER_SECOND

    def __init__(self, server: Any, sock: socket.socket, makefile: Any = MakeFile) -> None:
        super().__init__(server, sock, makefile)
        self.started = time.monotonic()
        self.received = 0
        self.expired = False
        if makefile is MakeFile:  # plain sockets (TLS is tor's job, never ours)
            self.rfile.close()  # not yet read from; closing it leaves the socket open
            self.rfile = _PacedReader(sock, self, self.rbufsize)

    def communicate(self) -> bool:
        # A new request: cheroot calls this once the socket has something to read.
        self.started, self.received = time.monotonic(), 0
        keep_open = super().communicate()
        return bool(keep_open) and not self.expired

    def before_read(self) -> None:
        allowed = (self.started + self.grace_seconds
                   + self.received / self.min_bytes_per_second - time.monotonic())
        if allowed <= 0:
            self.expired = True
            raise TimeoutError("timed out")  # cheroot's own words: it answers 408
        self.socket.settimeout(min(float(self.server.timeout), allowed))


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` made as cheroot makes its own (SO_REUSEADDR off
    Windows, TCP_NODELAY, not inherited by programs started later); raises ``OSError``."""
    error: OSError | None = None
    for family, kind, proto, _name, address in socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE):
        sock = wsgi.Server.prepare_socket(address, family, kind, proto, True, None)
        try:
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"no address for {host}")


class _Server(wsgi.Server):
    """cheroot's server over a socket made beforehand (``listen``), when it is given one."""

    inherited: socket.socket | None = None
    kuager_retiring = False

    def bind(self, family: int, type: int, proto: int = 0) -> socket.socket:
        if self.inherited is None:
            return super().bind(family, type, proto)
        self.socket = self.inherited
        self.bind_addr = self.resolve_real_bind_addr(self.socket)
        return self.socket


#: Seconds a serving process that has locked still gives the requests it is answering
#: (a public submission arriving over Tor) before it ends; the operator's are short.
RETIRE_SECONDS = {"public": 30.0, "operator": 2.0}


@dataclass
class Listener:
    app: Flask
    host: str
    port: int
    #: The listening socket, made beforehand by ``listen``; None: bound here.
    sock: socket.socket | None = None
    server: wsgi.Server = field(init=False)
    thread: threading.Thread | None = field(default=None, init=False)

    def bind(self) -> int:
        """Bind now (so the real port is known before anything is printed)."""
        public = self.app.config["KUAGER_SIDE"] == "public"
        self.server = _Server((self.host, self.port), self.app,
                              numthreads=PUBLIC_THREADS if public else OPERATOR_THREADS,
                              timeout=PUBLIC_SOCKET_TIMEOUT if public else SOCKET_TIMEOUT,
                              shutdown_timeout=2)
        self.server.inherited = self.sock
        self.server.server_name = "kuager"
        self.server.max_request_header_size = MAX_HEADER_BYTES
        self.server.request_queue_size = LISTEN_BACKLOG
        self.server.ConnectionClass = PacedConnection if public else _Connection
        # A little above the app's own limit, so that the app's clear 413 page answers a
        # declared Content-Length, and cheroot stops an endless chunked body.
        self.server.max_request_body_size = self.app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024
        self.server.prepare()
        self.port = self.server.bind_addr[1]
        return self.port

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.server.serve, name=f"kuager-{self.port}", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.stop()

    def retire(self) -> None:
        """From now on every response closes its connection (the process is ending)."""
        self.server.kuager_retiring = True

    def stop_retired(self) -> None:
        """Stop taking connections; give requests under way ``RETIRE_SECONDS``."""
        self.server.shutdown_timeout = RETIRE_SECONDS[self.app.config["KUAGER_SIDE"]]
        self.server.stop()

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"
