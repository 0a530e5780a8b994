"""The age STREAM construction: ChaCha20-Poly1305 over 64 KiB chunks.

Chunk *i* is sealed with the nonce ``i`` as 11 big-endian bytes followed by a flag byte,
``0x01`` on the final chunk and ``0x00`` otherwise. The counter stops reordering,
duplication and dropping; the flag stops truncation at a chunk boundary. The final chunk
may be shorter than 64 KiB, and may be empty only when it is the only chunk (so an
attacker cannot append an empty "final" chunk after a full one).

Both directions hold at most two chunks in memory whatever the payload size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import BinaryIO, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.errors import TamperedPayload, TrailingData, TruncatedPayload

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
KEY_SIZE = 32
_LAST = b"\x01"
_NOT_LAST = b"\x00"


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (_LAST if last else _NOT_LAST)


class StreamEncryptor:
    """Incremental STREAM sealing: ``write`` plaintext, then ``finish`` exactly once.

    A full buffered chunk is only sealed as non-final once more plaintext arrives, so the
    final chunk is full (never an extra empty one) when the payload is an exact multiple
    of 64 KiB.
    """

    def __init__(self, key: bytes, sink: Callable[[bytes], object]) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("STREAM key must be 32 bytes")
        self._aead = ChaCha20Poly1305(key)
        self._sink = sink
        self._buf = bytearray()
        self._counter = 0
        self._finished = False

    def _seal(self, data: bytes | bytearray | memoryview, last: bool) -> None:
        self._sink(self._aead.encrypt(_nonce(self._counter, last), data, None))
        self._counter += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._finished:
            raise ValueError("write after finish")
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            if len(self._buf) == CHUNK_SIZE:
                self._seal(self._buf, last=False)
                self._buf.clear()
            if not self._buf and len(view) > CHUNK_SIZE:
                # Fast path: seal straight from the caller's buffer, no copy.
                self._seal(view[:CHUNK_SIZE], last=False)
                view = view[CHUNK_SIZE:]
                continue
            take = CHUNK_SIZE - len(self._buf)
            self._buf += view[:take]
            view = view[take:]
        return total

    def finish(self) -> None:
        """Seal the buffered bytes as the final chunk (empty only for an empty payload)."""
        if self._finished:
            return
        self._finished = True
        self._seal(self._buf, last=True)
        self._buf.clear()


def _read_full(src: BinaryIO, buf: bytearray) -> int:
    """Fill ``buf`` from ``src`` unless EOF comes first; pipes return short reads."""
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = src.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return int(got)


def decrypt_stream(src: BinaryIO, key: bytes) -> Iterator[bytes]:
    """Yield authenticated plaintext chunks of the STREAM read from ``src`` until EOF.

    Each chunk is released only after its tag verified, but the *payload* is authentic
    only once the iterator is exhausted without error: callers must hold released
    plaintext back until then. Raises TruncatedPayload, TamperedPayload or TrailingData.
    """
    aead = ChaCha20Poly1305(key)
    cur, nxt = bytearray(ENCRYPTED_CHUNK_SIZE), bytearray(ENCRYPTED_CHUNK_SIZE)
    n = _read_full(src, cur)
    counter = 0
    while True:
        if n == ENCRYPTED_CHUNK_SIZE:
            m = _read_full(src, nxt)
            last = m == 0
        else:
            m, last = 0, True
        sealed = memoryview(cur)[:n]
        _check_length(sealed, counter, last)
        plaintext = _try_open(aead, sealed, counter, last)
        if plaintext is None:
            yield from _diagnose(aead, sealed, counter, last)  # always raises
            return
        yield plaintext
        if last:
            return
        counter += 1
        cur, nxt, n = nxt, cur, m


def _check_length(sealed: memoryview, counter: int, last: bool) -> None:
    if len(sealed) < TAG_SIZE:
        if counter == 0 and not sealed:
            raise TruncatedPayload("the payload has no chunks")
        raise TruncatedPayload("the final chunk is shorter than its authentication tag")
    if last and counter > 0 and len(sealed) == TAG_SIZE:
        raise TrailingData("an empty final chunk follows a full chunk")


def _try_open(aead: ChaCha20Poly1305, sealed: memoryview, counter: int, last: bool) -> bytes | None:
    try:
        return aead.decrypt(_nonce(counter, last), sealed, None)
    except InvalidTag:
        return None


def _diagnose(
    aead: ChaCha20Poly1305, sealed: memoryview, counter: int, last: bool
) -> Iterator[bytes]:
    """Failure path only: a chunk that opens with the other flag is authentic, so release
    it (as age does), then name what is wrong: truncation, or data after the end."""
    if len(sealed) == ENCRYPTED_CHUNK_SIZE or not last:
        plaintext = _try_open(aead, sealed, counter, not last)
        if plaintext is not None:
            yield plaintext
            if last:
                raise TruncatedPayload(f"the payload is cut off after chunk {counter}")
            raise TrailingData(f"data follows the final chunk {counter}")
    raise TamperedPayload(f"chunk {counter} failed authentication")


class SealedWriter:
    """A file being written through STREAM: ``close`` seals the final chunk.

    As a context manager an exception inside the block leaves the file *unsealed*, so a
    half-written file never decrypts as if it were complete. Subclasses write their
    header, then call ``_start`` with the payload key and the destination's ``write``.
    """

    def _start(self, key: bytes, sink: Callable[[bytes], object]) -> None:
        self._stream = StreamEncryptor(key, sink)
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._stream.write(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.finish()
            self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
