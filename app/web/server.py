"""Serving with cheroot, never the Flask development server.

cheroot hands a request body to the application as it arrives on the socket and writes a
response as the application yields it, so neither ever lands in a temporary file (waitress,
by contrast, spools bodies over 512 KB and responses over 1 MB to plaintext temp files).
Uploads then go through ``request.KuagerRequest`` into encrypted spools. It runs on Windows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cheroot import wsgi
from flask import Flask

#: Threads per listener: the operator is one person; the public site gets more, because a
#: few slow (or deliberately slow) visitors must not occupy all of them.
OPERATOR_THREADS = 8
PUBLIC_THREADS = 32
#: Seconds a connection may sit silent mid-request. Tor circuits are slow, but a client that
#: sends nothing for a minute is gone or stalling on purpose.
SOCKET_TIMEOUT = 60
#: Request line and headers together; a page needs a few KB. cheroot has no limit by default.
MAX_HEADER_BYTES = 64 * 1024


@dataclass
class Listener:
    app: Flask
    host: str
    port: int
    server: wsgi.Server = field(init=False)
    thread: threading.Thread | None = field(default=None, init=False)

    def bind(self) -> int:
        """Bind now (so the real port is known before anything is printed)."""
        public = self.app.config["KUAGER_SIDE"] == "public"
        self.server = wsgi.Server((self.host, self.port), self.app,
                                  numthreads=PUBLIC_THREADS if public else OPERATOR_THREADS,
                                  timeout=SOCKET_TIMEOUT, shutdown_timeout=2)
        self.server.server_name = "kuager"
        self.server.max_request_header_size = MAX_HEADER_BYTES
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

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"
