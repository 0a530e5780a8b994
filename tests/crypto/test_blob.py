from __future__ import annotations

import io
import os

import pytest

from crypto.blob import BLOB_MAGIC, BlobReader, BlobWriter, iter_blob, new_file_key
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


@pytest.mark.parametrize("size", [0, 100, CHUNK])
def test_any_flipped_byte(size: int) -> None:
    key = new_file_key()
    blob = make_blob(os.urandom(size), key)
    for pos in range(0, len(blob), max(1, len(blob) // 64)):
        bad = bytearray(blob)
        bad[pos] ^= 1
        with pytest.raises(BlobError):
            list(iter_blob(io.BytesIO(bytes(bad)), key))


@pytest.mark.parametrize("cut", [1, 17, CHUNK + 16])
def test_truncated(cut: int) -> None:
    key = new_file_key()
    blob = make_blob(os.urandom(2 * CHUNK), key)
    with pytest.raises(BlobError):
        list(iter_blob(io.BytesIO(blob[:-cut]), key))


@pytest.mark.parametrize("head", [b"", b"kuager-blob/v1\n", b"kuager-blob/v2\n" + bytes(40)])
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
