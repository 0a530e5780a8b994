"""Encrypted attachment files at rest.

Layout, modelled on the age payload::

    magic "kuager-blob/v1\\n" (15 bytes) || nonce (16 bytes) || STREAM(payload key)

with ``payload key = HKDF-SHA-256(ikm=file key, salt=nonce, info=BLOB_PAYLOAD_LABEL)``.
The random per-file nonce means a file key reused by mistake still yields a fresh
STREAM key, so two files never share a (key, nonce) pair. The file key is 32 random
bytes kept (wrapped) in the encrypted database, never beside the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto._chunkio import ChunkReader
from crypto._stream import SealedWriter, decrypt_stream
from crypto.errors import BlobError, PayloadError

BLOB_MAGIC = b"kuager-blob/v1\n"
BLOB_PAYLOAD_LABEL = b"kuager.org/blob/v1/payload"
FILE_KEY_SIZE = 32
NONCE_SIZE = 16


def new_file_key() -> bytes:
    """A fresh random 32-byte key for one attachment file."""
    return os.urandom(FILE_KEY_SIZE)


def _payload_key(file_key: bytes, nonce: bytes) -> bytes:
    if len(file_key) != FILE_KEY_SIZE:
        raise ValueError("blob file keys are 32 bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=BLOB_PAYLOAD_LABEL)
    return hkdf.derive(file_key)


class BlobWriter(SealedWriter):
    """Write an encrypted attachment in constant memory; ``close`` seals the final chunk.

    Used as a context manager, an exception inside the block does *not* seal the file:
    a half-written attachment stays unreadable instead of looking complete.
    """

    def __init__(self, fileobj: BinaryIO, key: bytes) -> None:
        self._init_from_parts(fileobj, key, os.urandom(NONCE_SIZE))

    def _init_from_parts(self, fileobj: BinaryIO, key: bytes, nonce: bytes) -> None:
        fileobj.write(BLOB_MAGIC + nonce)
        self._start(_payload_key(key, nonce), fileobj.write)


def iter_blob(fileobj: BinaryIO, key: bytes) -> Iterator[bytes]:
    """Yield authenticated plaintext chunks; BlobError on tamper, truncation or wrong key.

    The attachment is intact only if the iterator ends without error."""
    head = fileobj.read(len(BLOB_MAGIC) + NONCE_SIZE)
    if len(head) != len(BLOB_MAGIC) + NONCE_SIZE or not head.startswith(BLOB_MAGIC):
        raise BlobError("not a Kuager encrypted attachment (or an unknown version)")
    try:
        yield from decrypt_stream(fileobj, _payload_key(key, head[len(BLOB_MAGIC) :]))
    except PayloadError as exc:
        raise BlobError(f"encrypted attachment is damaged or the key is wrong: {exc}") from exc


class BlobReader(ChunkReader):
    """Read-only file-like view over :func:`iter_blob` for code such as Pillow.

    Not seekable. Bytes are authentic chunk by chunk; the whole file only at EOF.
    """

    def __init__(self, fileobj: BinaryIO, key: bytes) -> None:
        super().__init__(iter_blob(fileobj, key))
