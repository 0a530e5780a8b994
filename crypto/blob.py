"""Encrypted attachment files at rest.

Layout, modelled on the age payload (version 2, written since 3 December 2026)::

    magic "kuager-blob/v2\n" (15 bytes) || nonce (16 bytes) || length (8 bytes, big
    endian) || STREAM(payload key) (``length`` bytes) || random padding

with ``payload key = HKDF-SHA-256(ikm=file key, salt=nonce, info=BLOB_PAYLOAD_LABEL)``.
The random per-file nonce means a file key reused by mistake still yields a fresh
STREAM key, so two files never share a (key, nonce) pair. The file key is 32 random
bytes kept (wrapped) in the encrypted database, never beside the file.

Padding: the whole file is rounded up to its Padmé bucket (``crypto._padding``, at least
``MIN_PADDED``) with random bytes after the STREAM, so that a file's size on a seized
disk says little about the attachment's (a photo found elsewhere cannot be matched to a
file by its exact size). ``length`` is written when the file is sealed; it is not under
the STREAM's tags, but any other value breaks the STREAM (a final chunk cut short, or
padding read as a chunk), so a changed length is detected like a changed byte. The
padding itself carries nothing and is not authenticated.

Version 1 (``kuager-blob/v1\n`` || nonce || STREAM, no length, no padding) is still read.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto._chunkio import ChunkReader
from crypto._padding import padme
from crypto._stream import SealedWriter, decrypt_stream
from crypto.errors import BlobError, PayloadError

BLOB_MAGIC_V1 = b"kuager-blob/v1\n"
BLOB_MAGIC = b"kuager-blob/v2\n"
BLOB_PAYLOAD_LABEL = b"kuager.org/blob/v1/payload"
FILE_KEY_SIZE = 32
NONCE_SIZE = 16
_LENGTH = struct.Struct(">Q")
#: No attachment file is smaller than this on disk (a thumbnail and a one-page note look
#: alike).
MIN_PADDED = 4096
#: Padding is written this much at a time.
_PAD_STEP = 1 << 16


def new_file_key() -> bytes:
    """A fresh random 32-byte key for one attachment file."""
    return os.urandom(FILE_KEY_SIZE)


def _payload_key(file_key: bytes, nonce: bytes) -> bytes:
    if len(file_key) != FILE_KEY_SIZE:
        raise ValueError("blob file keys are 32 bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=BLOB_PAYLOAD_LABEL)
    return hkdf.derive(file_key)


class BlobWriter(SealedWriter):
    """Write an encrypted attachment in constant memory; ``close`` seals the final chunk,
    pads the file and records the STREAM's length (``fileobj`` must be seekable).

    Used as a context manager, an exception inside the block does *not* seal the file:
    a half-written attachment stays unreadable (its length stays 0) instead of looking
    complete.
    """

    def __init__(self, fileobj: BinaryIO, key: bytes) -> None:
        self._init_from_parts(fileobj, key, os.urandom(NONCE_SIZE))

    def _init_from_parts(self, fileobj: BinaryIO, key: bytes, nonce: bytes) -> None:
        self._file = fileobj
        self._start_at = fileobj.tell()
        fileobj.write(BLOB_MAGIC + nonce + _LENGTH.pack(0))
        self._stream_at = fileobj.tell()
        self._start(_payload_key(key, nonce), fileobj.write)

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        end = self._file.tell()
        left = padme(end - self._start_at, MIN_PADDED) - (end - self._start_at)
        while left > 0:
            step = min(left, _PAD_STEP)
            self._file.write(os.urandom(step))
            left -= step
        padded_end = self._file.tell()
        self._file.seek(self._stream_at - _LENGTH.size)
        self._file.write(_LENGTH.pack(end - self._stream_at))
        self._file.seek(padded_end)


class _Limited:
    """At most ``left`` bytes of ``fileobj``: the STREAM, not the padding after it."""

    def __init__(self, fileobj: BinaryIO, left: int) -> None:
        self._file, self._left = fileobj, left

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer)[: self._left]
        n = self._file.readinto(view) or 0  # type: ignore[attr-defined]
        self._left -= n
        return n

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data


def iter_blob(fileobj: BinaryIO, key: bytes) -> Iterator[bytes]:
    """Yield authenticated plaintext chunks; BlobError on tamper, truncation or wrong key.

    The attachment is intact only if the iterator ends without error."""
    head = fileobj.read(len(BLOB_MAGIC) + NONCE_SIZE)
    if len(head) != len(BLOB_MAGIC) + NONCE_SIZE or not head.startswith(
            (BLOB_MAGIC, BLOB_MAGIC_V1)):
        raise BlobError("not a Kuager encrypted attachment (or an unknown version)")
    source: BinaryIO | _Limited = fileobj
    if head.startswith(BLOB_MAGIC):
        length = fileobj.read(_LENGTH.size)
        if len(length) != _LENGTH.size:
            raise BlobError("encrypted attachment is damaged: its header is cut short")
        source = _Limited(fileobj, _LENGTH.unpack(length)[0])
    try:
        yield from decrypt_stream(source, _payload_key(key, head[len(BLOB_MAGIC) :]))  # type: ignore[arg-type]
    except PayloadError as exc:
        raise BlobError(f"encrypted attachment is damaged or the key is wrong: {exc}") from exc


class BlobReader(ChunkReader):
    """Read-only file-like view over :func:`iter_blob` for code such as Pillow.

    Not seekable. Bytes are authentic chunk by chunk; the whole file only at EOF.
    """

    def __init__(self, fileobj: BinaryIO, key: bytes) -> None:
        super().__init__(iter_blob(fileobj, key))
