"""Reading ASCII-armored age files (c2sp.org/age, "ASCII armor"), streaming.

Strict, like the reference: optional whitespace around the armor; the exact BEGIN and
END lines; LF or CRLF line ends; standard padded base64 in lines of exactly 64
columns, the last one 1-64 columns and the only one allowed padding; canonical
encoding; nothing but whitespace after END. Each full line decodes on its own (64 is a
multiple of 4), so memory stays constant. Writing armor is not implemented.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import BinaryIO

from crypto.errors import ArmorError

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
COLUMNS = 64
_WHITESPACE = b" \t\r\n"
_MAX_LEADING = 4096
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


class _Prefixed(io.RawIOBase):
    """``head`` (already read while sniffing) followed by the rest of ``src``."""

    def __init__(self, head: bytes, src: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            memoryview(buffer).cast("B")[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return int(self._src.readinto(buffer))  # type: ignore[attr-defined]


def sniff(src: BinaryIO, armored: bool | None) -> BinaryIO:
    """Return a binary age stream: ``src`` itself, or the decoding of its armor.

    ``armored=None`` detects armor (a file starting, after whitespace, with ``-----``)."""
    if armored is False:
        return src
    head = src.read(len(BEGIN))
    while len(head) < _MAX_LEADING and len(head.lstrip(_WHITESPACE)) < len(BEGIN):
        more = src.read(len(BEGIN))
        if not more:
            break
        head += more
    body = head.lstrip(_WHITESPACE) if armored or head.lstrip(_WHITESPACE)[:5] == b"-----" else b""
    if armored or body:
        return io.BufferedReader(_Dearmor(io.BufferedReader(_Prefixed(body, src))))
    if src.seekable():
        src.seek(-len(head), io.SEEK_CUR)
        return src
    return io.BufferedReader(_Prefixed(head, src))


def _line(src: io.BufferedReader) -> tuple[bytes, bool]:
    """(line without its end, whether it had one)."""
    raw = src.readline(COLUMNS + 3)
    if raw.endswith(b"\r\n"):
        return raw[:-2], True
    if raw.endswith(b"\n"):
        return raw[:-1], True
    if len(raw) > COLUMNS:
        raise ArmorError("armored line is longer than 64 columns")
    return raw, False


class _Dearmor(io.RawIOBase):
    def __init__(self, src: io.BufferedReader) -> None:
        super().__init__()
        self._src = src
        self._pending = memoryview(b"")
        self._done = False
        first, _ = _line(src)
        if first != BEGIN:
            raise ArmorError("armored file does not start with the age BEGIN line")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            self._pending = memoryview(self._next_line())
        n = min(len(buffer), len(self._pending))
        memoryview(buffer).cast("B")[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _next_line(self) -> bytes:
        line, ended = _line(self._src)
        if line == END:
            self._finish()
            return b""
        if not ended or not 0 < len(line) <= COLUMNS or not _BASE64_LINE.fullmatch(line):
            raise ArmorError("armored body line is empty, too long, or not base64")
        if len(line) < COLUMNS or line.endswith(b"="):
            self._expect_end()
        return _decode(line)

    def _expect_end(self) -> None:
        line, _ = _line(self._src)
        if line != END:
            raise ArmorError("a short armored line must be the last before the END line")
        self._finish()

    def _finish(self) -> None:
        self._done = True
        rest = self._src.read(_MAX_LEADING + 1)
        if len(rest) > _MAX_LEADING or rest.strip(_WHITESPACE):
            raise ArmorError("garbage after the armored END line")


def _decode(line: bytes) -> bytes:
    try:
        data = base64.b64decode(line, validate=True)
    except binascii.Error:
        raise ArmorError("armored line is not valid padded base64") from None
    if base64.b64encode(data) != line:
        raise ArmorError("armored line is not canonical base64")
    return data
