"""Serving with cheroot, never the Flask development server.

cheroot hands a request body to the application as it arrives on the socket and writes a
response as the application yields it, so neither ever lands in a temporary file (waitress,
by contrast, spools bodies over 512 KB and responses over 1 MB to plaintext temp files).
Uploads then go through ``spool.KuagerRequest`` into encrypted spools. It runs on Windows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cheroot import wsgi
from flask import Flask

#: Threads per listener: a laptop serves one operator and a handful of onion visitors.
THREADS = 8
#: Seconds a connection may sit idle mid-request. Generous because Tor circuits are slow.
SOCKET_TIMEOUT = 120


@dataclass
class Listener:
    app: Flask
    host: str
    port: int
    server: wsgi.Server = field(init=False)
    thread: threading.Thread | None = field(default=None, init=False)

    def bind(self) -> int:
        """Bind now (so the real port is known before anything is printed)."""
        self.server = wsgi.Server(
            (self.host, self.port),
            self.app,
            numthreads=THREADS,
            timeout=SOCKET_TIMEOUT,
            shutdown_timeout=2,
        )
        self.server.server_name = "kuager"
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
