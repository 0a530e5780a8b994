"""Security headers for every response, in one place (mirrored in deploy/nginx/).

Also the operator side's peer check: the operator pages answer loopback clients only,
unless ``kuager serve --allow-non-loopback`` named one address to serve on; even then a
client from the network may not claim a loopback ``Host`` (the Host check alone would let a
LAN client in with ``Host: 127.0.0.1``).
"""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, abort, current_app, request

#: No script source at all; nothing from another origin. Styles and images only from us
#: (``data:`` images for the QR code of the onion address).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Every page may show report data, and a shared or seized browser keeps its cache.
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
}


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


#: Host names that mean "this machine" (the auth gate's list, without ports).
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def is_loopback(address: str | None) -> bool:
    """A loopback IP address (IPv4-mapped IPv6 too); names and garbage are not."""
    try:
        ip = ipaddress.ip_address((address or "").strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


def _request_host() -> str:
    host = request.host
    return host if host.endswith("]") else host.rsplit(":", 1)[0]


def refuse_network_clients() -> None:
    """Operator pages: a client that is not on this machine gets 400, unless allowed.

    With ``KUAGER_ALLOW_NON_LOOPBACK`` (``--allow-non-loopback``) a network client is
    admitted only under the served address's own name, never a loopback one.
    """
    if is_loopback(request.remote_addr):
        return
    if not current_app.config.get("KUAGER_ALLOW_NON_LOOPBACK") or (
            _request_host().lower() in LOOPBACK_NAMES):
        abort(400)


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    if app.config.get("KUAGER_SIDE") == "operator":
        app.before_request(refuse_network_clients)
