"""A read-only, non-seekable file object over an iterator of byte chunks."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

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


BATCH_SIZE = 1 << 20


def _immutable(chunk: bytes | memoryview) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk.obj, bytes) and chunk.nbytes == len(chunk.obj):
        return chunk.obj  # a whole view of immutable bytes: no copy needed
    return chunk.tobytes()  # the producer may reuse this buffer


def rebatch(chunks: Iterable[bytes | memoryview], size: int = BATCH_SIZE) -> Iterator[bytes]:
    """Regroup chunks into immutable ``bytes`` of about ``size``, copying at most once:
    fewer, larger calls, and safe to hand to another thread."""
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        part = _immutable(chunk)
        if not parts and len(part) >= size:
            yield part
            continue
        parts.append(part)
        total += len(part)
        if total >= size:
            yield b"".join(parts)
            parts, total = [], 0
    if parts:
        yield b"".join(parts)


class ParallelSha256:
    """SHA-256 on a helper thread so hashing overlaps encryption or decryption (both
    release the GIL); at most one batch is hashed at a time, in order."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._digest = hashlib.sha256()
        self._pool = pool
        self._pending: Future[None] | None = None

    def update(self, data: bytes) -> None:
        self._wait()
        self._pending = self._pool.submit(self._digest.update, data)

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def digest(self) -> bytes:
        self._wait()
        return self._digest.digest()
