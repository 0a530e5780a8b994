"""A read-only, non-seekable file object over an iterator of byte chunks."""

from __future__ import annotations

import io
from collections.abc import Iterator

from crypto.errors import ContentMismatch


class ChunkReader(io.RawIOBase):
    """``read(n)`` / ``readinto`` over chunks, for code (Pillow, zipfile) needing a file."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        memoryview(buffer).cast("B")[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class ExactReader:
    """Exact-length reads over a chunk iterator, without copying more than needed.

    Running out early raises ContentMismatch: used for bundle plaintext whose lengths
    come from the manifest."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def _fill(self) -> bool:
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._view = memoryview(chunk)
        return True

    def stream(self, size: int) -> Iterator[memoryview]:
        while size:
            if not self._fill():
                raise ContentMismatch("the bundle ends before the content the manifest lists")
            part, self._view = self._view[:size], self._view[size:]
            size -= len(part)
            yield part

    def read(self, size: int) -> bytes:
        return b"".join(self.stream(size))

    def at_end(self) -> bool:
        return not self._fill()
