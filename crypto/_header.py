"""The age v1 header: version line, recipient stanzas and the header MAC.

Grammar (age-encryption.org/v1)::

    age-encryption.org/v1 LF
    *( "-> " type *(SP arg) LF  *(64base64 LF) short-base64 LF )   ; stanzas
    "--- " base64(HMAC-SHA-256) LF

Every encoding is canonical so a header has exactly one byte representation: base64
without padding and with zero trailing bits, body lines of exactly 64 columns except a
final shorter (possibly empty) one, LF only. The MAC covers the header up to and
including ``---`` and is keyed with HKDF(file key, info="header"), so any edit to a
stanza is detected once a stanza unwrapped.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import ArmorError, HeaderError, HeaderMacError, UnsupportedVersion

VERSION_LINE = b"age-encryption.org/v1"
HEADER_LABEL = b"header"
PAYLOAD_LABEL = b"payload"
FILE_KEY_SIZE = 16
COLUMNS = 64
_MAX_LINE = 4096  # longest legitimate line: a hybrid stanza, ~1520 bytes
_MAX_STANZAS = 256
_MAX_BODY = 16 * 1024  # base64 characters; known stanzas need 43, so 16 KiB is generous
_ARG = re.compile(rb"[\x21-\x7e]+")
_B64 = re.compile(rb"[A-Za-z0-9+/]*")


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: type, arguments and the raw (decoded) body."""

    type: str
    args: tuple[str, ...]
    body: bytes


def b64decode(data: bytes, what: str = "base64") -> bytes:
    """Strict, canonical, unpadded base64 (RFC 4648 s3.5)."""
    if not _B64.fullmatch(data) or len(data) % 4 == 1:
        raise HeaderError(f"{what} is not valid unpadded base64")
    try:
        raw = base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except binascii.Error:
        raise HeaderError(f"{what} is not valid base64") from None
    if b64encode(raw) != data:
        raise HeaderError(f"{what} is not canonical base64")
    return raw


def b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def header_mac(file_key: bytes, header: bytes) -> bytes:
    mac = chmac.HMAC(hkdf(file_key, b"", HEADER_LABEL), hashes.SHA256())
    mac.update(header)
    return mac.finalize()


def serialise_stanza(stanza: Stanza) -> bytes:
    out = b" ".join([b"->", *(a.encode("ascii") for a in (stanza.type, *stanza.args))]) + b"\n"
    body = b64encode(stanza.body)
    lines = [body[i : i + COLUMNS] for i in range(0, len(body), COLUMNS)]
    if not lines or len(lines[-1]) == COLUMNS:
        lines.append(b"")
    return out + b"".join(line + b"\n" for line in lines)


def serialise_header(stanzas: list[Stanza], file_key: bytes) -> bytes:
    """Header bytes including the MAC line."""
    head = VERSION_LINE + b"\n" + b"".join(map(serialise_stanza, stanzas)) + b"---"
    return head + b" " + b64encode(header_mac(file_key, head)) + b"\n"


def _line(src: BinaryIO) -> bytes:
    line = src.readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        raise HeaderError("header ends early or has an over-long line")
    if b"\r" in line:
        raise HeaderError("header lines must end with LF, not CRLF")
    return line[:-1]


def _stanza(first: bytes, src: BinaryIO) -> Stanza:
    words = first.split(b" ")[1:]
    if not words or not all(_ARG.fullmatch(w) for w in words):
        raise HeaderError("stanza has no type or an empty/invalid argument")
    body = bytearray()
    while True:
        line = _line(src)
        if len(line) > COLUMNS:
            raise HeaderError("stanza body line is longer than 64 columns")
        body += line
        if len(body) > _MAX_BODY:
            raise HeaderError("stanza body is implausibly large")
        if len(line) < COLUMNS:
            break
    ascii_words = [w.decode("ascii") for w in words]
    return Stanza(ascii_words[0], tuple(ascii_words[1:]), b64decode(bytes(body), "stanza body"))


def _version(src: BinaryIO) -> None:
    line = src.readline(_MAX_LINE)
    if line.lstrip().startswith(b"-----BEGIN"):
        raise ArmorError("ASCII-armored age files are not supported; use the binary file")
    if line.startswith(b"age-encryption.org/") and line != VERSION_LINE + b"\n":
        raise UnsupportedVersion("unsupported age version (only age-encryption.org/v1)")
    if line != VERSION_LINE + b"\n":
        raise HeaderError("not an age file: the version line is missing")


def parse_header(src: BinaryIO) -> tuple[list[Stanza], bytes, bytes]:
    """Read the header; return (stanzas, MAC'd bytes, MAC). Nothing is authenticated yet."""
    _version(src)
    raw = bytearray(VERSION_LINE + b"\n")
    stanzas: list[Stanza] = []
    while True:
        line = _line(src)
        if line.startswith(b"---"):
            break
        if not line.startswith(b"-> ") or len(stanzas) >= _MAX_STANZAS:
            raise HeaderError("expected a stanza ('-> ') or the MAC line ('--- ')")
        stanzas.append(_stanza(line, src))
        raw += serialise_stanza(stanzas[-1])
    if not line.startswith(b"--- ") or not stanzas:
        raise HeaderError("header MAC line is malformed or there are no stanzas")
    mac = b64decode(line[4:], "header MAC")
    if len(mac) != 32:
        raise HeaderError("header MAC has the wrong length")
    return stanzas, bytes(raw) + b"---", mac


def verify_mac(file_key: bytes, header: bytes, mac: bytes) -> None:
    if not hmac.compare_digest(header_mac(file_key, header), mac):
        raise HeaderMacError("header MAC does not verify: the header was altered")
