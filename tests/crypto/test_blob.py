from __future__ import annotations

import io
import os

import pytest

from crypto._padding import padme
from crypto.blob import (
    BLOB_MAGIC,
    MIN_PADDED,
    BlobReader,
    BlobWriter,
    iter_blob,
    new_file_key,
)
from crypto.errors import BlobError

CHUNK = 64 * 1024
SIZES = [0, 1, CHUNK, 2 * CHUNK, 2 * CHUNK + 3]


def make_blob(data: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    with BlobWriter(out, key) as w:
        for i in range(0, len(data), 10_000):
            assert w.write(data[i : i + 10_000]) == len(data[i : i + 10_000])
    return out.getvalue()


@pytest.mark.parametrize("size", SIZES)
def test_round_trip(size: int) -> None:
    key, data = new_file_key(), os.urandom(size)
    blob = make_blob(data, key)
    assert blob.startswith(BLOB_MAGIC)
    assert b"".join(iter_blob(io.BytesIO(blob), key)) == data


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("n", [1, 7, 100_000, -1])
def test_reader(size: int, n: int) -> None:
    key, data = new_file_key(), os.urandom(size)
    reader = BlobReader(io.BytesIO(make_blob(data, key)), key)
    got = bytearray()
    while chunk := reader.read(n):
        got += chunk
    assert bytes(got) == data


def test_reader_with_buffered_wrapper() -> None:
    key, data = new_file_key(), os.urandom(3 * CHUNK)
    reader = io.BufferedReader(BlobReader(io.BytesIO(make_blob(data, key)), key))
    assert reader.read() == data


def test_wrong_key() -> None:
    blob = make_blob(b"secret", new_file_key())
    with pytest.raises(BlobError):
        list(iter_blob(io.BytesIO(blob), new_file_key()))


def _stream_end(blob: bytes) -> int:
    """Where the STREAM ends and the padding starts (from the length in the header)."""
    start = len(BLOB_MAGIC) + 16
    return start + 8 + int.from_bytes(blob[start : start + 8], "big")


@pytest.mark.parametrize("size", [0, 100, CHUNK])
def test_any_flipped_byte(size: int) -> None:
    """Every byte of the header, the length and the STREAM is checked; the padding after
    it carries nothing."""
    key = new_file_key()
    data = os.urandom(size)
    blob = make_blob(data, key)
    end = _stream_end(blob)
    for pos in [*range(0, end, max(1, end // 64)), end - 1]:
        bad = bytearray(blob)
        bad[pos] ^= 1
        with pytest.raises(BlobError):
            list(iter_blob(io.BytesIO(bytes(bad)), key))
    padding = bytearray(blob)
    for pos in range(end, len(blob)):
        padding[pos] ^= 0xFF
    assert b"".join(iter_blob(io.BytesIO(bytes(padding)), key)) == data


@pytest.mark.parametrize("size", SIZES)
def test_sizes_on_disk_are_padme_buckets(size: int) -> None:
    """A file's size on disk is the Padmé bucket of what it holds (at least 4 KiB): files
    whose contents differ by a few bytes have the same size."""
    key = new_file_key()
    blob = make_blob(os.urandom(size), key)
    assert len(blob) == padme(len(blob), MIN_PADDED) >= MIN_PADDED
    assert len(blob) <= max(MIN_PADDED, 1.12 * (_stream_end(blob)))
    assert len(make_blob(os.urandom(size + 5), key)) == len(blob) or size in (0, 1)


def test_two_photos_a_few_bytes_apart_look_alike() -> None:
    key = new_file_key()
    sizes = {len(make_blob(os.urandom(n), key)) for n in range(200_000, 200_400)}
    assert len(sizes) == 1


@pytest.mark.parametrize("cut", [1, 17, CHUNK + 16])
def test_truncated(cut: int) -> None:
    key = new_file_key()
    blob = make_blob(os.urandom(2 * CHUNK), key)
    end = _stream_end(blob)
    with pytest.raises(BlobError):
        list(iter_blob(io.BytesIO(blob[: end - cut]), key))


@pytest.mark.parametrize("length", [0, 1, 17])
def test_a_changed_length_is_detected(length: int) -> None:
    key = new_file_key()
    blob = bytearray(make_blob(os.urandom(3 * CHUNK), key))
    start = len(BLOB_MAGIC) + 16
    true = int.from_bytes(blob[start : start + 8], "big")
    for wrong in (length, true - 1 - length, true + 1 + length):
        blob[start : start + 8] = wrong.to_bytes(8, "big")
        with pytest.raises(BlobError):
            list(iter_blob(io.BytesIO(bytes(blob)), key))


def test_version_1_files_are_still_read() -> None:
    """Files written before padding (v1: no length, no padding) open as before."""
    from crypto._stream import StreamEncryptor
    from crypto.blob import BLOB_MAGIC_V1, _payload_key

    key, nonce, data = new_file_key(), os.urandom(16), os.urandom(2 * CHUNK + 9)
    out = bytearray(BLOB_MAGIC_V1 + nonce)
    stream = StreamEncryptor(_payload_key(key, nonce), out.extend)
    stream.write(data)
    stream.finish()
    assert b"".join(iter_blob(io.BytesIO(bytes(out)), key)) == data
    with pytest.raises(BlobError):
        list(iter_blob(io.BytesIO(bytes(out[:-1])), key))


@pytest.mark.parametrize("head", [b"", b"kuager-blob/v1\n", b"kuager-blob/v2\n" + bytes(40),
                                  b"kuager-blob/v3\n" + bytes(40)])
def test_bad_header(head: bytes) -> None:
    with pytest.raises(BlobError):
        list(iter_blob(io.BytesIO(head), new_file_key()))


def test_exception_in_block_does_not_seal() -> None:
    key, out = new_file_key(), io.BytesIO()

    def write_then_fail() -> None:
        with BlobWriter(out, key) as w:
            w.write(b"partial")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    with pytest.raises(BlobError):
        list(iter_blob(io.BytesIO(out.getvalue()), key))


def test_file_key_is_random() -> None:
    assert len(new_file_key()) == 32
    assert new_file_key() != new_file_key()
