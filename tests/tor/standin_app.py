"""A stand-in web app for the onion tests: answers every GET with a marker, on one port.

Run inside the test namespace: ``python standin_app.py PORT``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from wsgiref.simple_server import make_server

MARKER = b"kuager-standin-ok"


def app(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [MARKER + b" " + str(environ.get("PATH_INFO", "")).encode()]


if __name__ == "__main__":
    with make_server("127.0.0.1", int(sys.argv[1]), app) as server:
        server.serve_forever()
