"""A tiny HTTP-over-SOCKS5 client for tor's unix-socket SocksPort (no PySocks needed).

`ExtendedErrors` on the SocksPort makes tor say why an onion failed (0xF0 descriptor not
found, 0xF4 client authorisation missing, 0xF5 wrong key...).
"""

from __future__ import annotations

import http.client
import socket
import struct
from pathlib import Path


class SocksError(OSError):
    def __init__(self, code: int) -> None:
        super().__init__(f"SOCKS5 error 0x{code:02X}")
        self.code = code


def socks_connect(socks_path: Path, host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(socks_path))
        sock.sendall(b"\x05\x01\x00")  # version 5, one method: no authentication
        if _read_exact(sock, 2) != b"\x05\x00":
            raise OSError("SOCKS5 server refused 'no authentication'")
        name = host.encode("ascii")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
        reply = _read_exact(sock, 4)
        if reply[1] != 0:
            raise SocksError(reply[1])
        address_length = {1: 4, 4: 16}.get(reply[3]) or _read_exact(sock, 1)[0]
        _read_exact(sock, address_length + 2)  # bound address and port: unused
    except BaseException:
        sock.close()
        raise
    return sock


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("SOCKS5 connection closed")
        data += chunk
    return data


class OnionHTTPConnection(http.client.HTTPConnection):
    """http.client over tor: the .onion name is resolved by tor, never by us."""

    def __init__(self, socks_path: Path, host: str, timeout: float = 60) -> None:
        super().__init__(host, 80, timeout=timeout)
        self.socks_path = socks_path

    def connect(self) -> None:
        self.sock = socks_connect(self.socks_path, self.host, self.port, self.timeout or 60)


def fetch(socks_path: Path, host: str, path: str, *, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = OnionHTTPConnection(socks_path, host)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
