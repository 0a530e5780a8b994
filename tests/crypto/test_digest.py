"""BackgroundDigest gives exactly the hash of what it was fed, in order, for any chunking."""

from __future__ import annotations

import hashlib
import zlib

from hypothesis import given
from hypothesis import strategies as st

from crypto.digest import BackgroundDigest


@given(st.lists(st.binary(max_size=200_000), max_size=40))
def test_same_as_hashlib(chunks: list[bytes]) -> None:
    with BackgroundDigest(hashlib.sha256()) as digest:
        for chunk in chunks:
            digest.update(chunk)
        assert digest.digest() == hashlib.sha256(b"".join(chunks)).digest()


def test_reused_buffers_are_copied_not_shared() -> None:
    buffer = bytearray(b"a" * 70_000)
    digest = BackgroundDigest(hashlib.sha256())
    digest.update(buffer)
    buffer[:] = b"b" * 70_000  # the caller reuses its buffer at once
    digest.update(memoryview(buffer))
    assert digest.digest() == hashlib.sha256(b"a" * 70_000 + b"b" * 70_000).digest()


def test_any_hasher_shape_and_early_close() -> None:
    class Crc:
        def __init__(self) -> None:
            self.value = 0

        def update(self, data: bytes) -> None:
            self.value = zlib.crc32(data, self.value)

        def digest(self) -> bytes:
            return self.value.to_bytes(4, "big")

    digest = BackgroundDigest(Crc())
    digest.update(b"x" * 3_000_000)
    assert digest.digest() == zlib.crc32(b"x" * 3_000_000).to_bytes(4, "big")
    abandoned = BackgroundDigest(hashlib.sha256())
    abandoned.update(b"partial")
    abandoned.close()
    abandoned.close()
