from __future__ import annotations

import io
import os

import pytest

from crypto._stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, StreamEncryptor, decrypt_stream
from crypto.errors import PayloadError, TamperedPayload, TrailingData, TruncatedPayload

KEY = bytes(range(32))
SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 5]


def seal(data: bytes, step: int = 4096) -> bytes:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out.write)
    for i in range(0, len(data), step):
        enc.write(data[i : i + step])
    enc.finish()
    return out.getvalue()


def open_all(sealed: bytes) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(sealed), KEY))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", [1000, CHUNK_SIZE, 3 * CHUNK_SIZE])
def test_round_trip(size: int, step: int) -> None:
    data = os.urandom(size)
    sealed = seal(data, step)
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert len(sealed) == size + 16 * chunks  # exact multiples: no extra empty chunk
    assert open_all(sealed) == data


@pytest.mark.parametrize("size", SIZES[1:])
def test_truncation_is_refused(size: int) -> None:
    sealed = seal(os.urandom(size))
    for cut in {1, 16, len(sealed) - ENCRYPTED_CHUNK_SIZE, len(sealed)}:
        if 0 < cut <= len(sealed):
            with pytest.raises(PayloadError):
                open_all(sealed[:-cut])


def test_truncation_at_chunk_boundary_is_named() -> None:
    sealed = seal(os.urandom(2 * CHUNK_SIZE + 10))
    with pytest.raises(TruncatedPayload):
        open_all(sealed[: 2 * ENCRYPTED_CHUNK_SIZE])


def test_reordered_chunks() -> None:
    sealed = seal(os.urandom(3 * CHUNK_SIZE))
    step = ENCRYPTED_CHUNK_SIZE
    a, b, c = (sealed[i : i + step] for i in range(0, len(sealed), step))
    for bad in (b + a + c, a + a + c, a + c):
        with pytest.raises(TamperedPayload):
            open_all(bad)


@pytest.mark.parametrize("extra", [b"\0", os.urandom(17), os.urandom(ENCRYPTED_CHUNK_SIZE)])
def test_trailing_data(extra: bytes) -> None:
    with pytest.raises(PayloadError):
        open_all(seal(os.urandom(100)) + extra)


def test_empty_final_chunk_after_full_chunk() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out.write)
    enc.write(os.urandom(CHUNK_SIZE))
    enc._seal(enc._buf, last=False)  # force the full chunk out as non-final
    enc._buf.clear()
    enc.finish()
    with pytest.raises(TrailingData):
        open_all(out.getvalue())


@pytest.mark.parametrize("size", [0, 100, CHUNK_SIZE, CHUNK_SIZE + 100])
def test_flipped_bits(size: int) -> None:
    sealed = seal(os.urandom(size))
    for pos in {0, len(sealed) // 2, len(sealed) - 1}:
        bad = bytearray(sealed)
        bad[pos] ^= 0x40
        with pytest.raises(PayloadError):
            open_all(bytes(bad))


def test_no_chunks() -> None:
    with pytest.raises(TruncatedPayload):
        open_all(b"")


def test_write_after_finish() -> None:
    enc = StreamEncryptor(KEY, lambda _b: None)
    enc.finish()
    with pytest.raises(ValueError, match="after finish"):
        enc.write(b"x")
