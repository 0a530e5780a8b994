"""Property tests: round trips under any chunking, and any single-bit flip refused."""

from __future__ import annotations

import io

import pytest
from bundle_helpers import DEVICE, entry, open_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto._stream import StreamEncryptor, decrypt_stream
from crypto.age import decrypt_bytes, encrypt_bytes
from crypto.blob import BlobWriter, iter_blob
from crypto.bundle import seal_bundle
from crypto.errors import CryptoError
from crypto.keys import generate_x25519_identity

KEY = bytes(range(32))
IDENTITY = generate_x25519_identity()
SMALL_CHUNKS = st.lists(st.binary(max_size=3000), max_size=8)


def sealed_stream(parts: list[bytes]) -> bytes:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out.write)
    for part in parts:
        enc.write(part)
    enc.finish()
    return out.getvalue()


@given(parts=st.lists(st.binary(max_size=70_000), max_size=4))
@settings(max_examples=40, deadline=None)
def test_stream_round_trip_any_chunking(parts: list[bytes]) -> None:
    sealed = sealed_stream(parts)
    assert b"".join(decrypt_stream(io.BytesIO(sealed), KEY)) == b"".join(parts)


@given(parts=SMALL_CHUNKS, data=st.data())
@settings(deadline=None)
def test_stream_any_bit_flip_refused(parts: list[bytes], data: st.DataObject) -> None:
    sealed = bytearray(sealed_stream(parts))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CryptoError):
        b"".join(decrypt_stream(io.BytesIO(bytes(sealed)), KEY))


@given(parts=SMALL_CHUNKS)
@settings(deadline=None)
def test_blob_round_trip(parts: list[bytes]) -> None:
    out = io.BytesIO()
    with BlobWriter(out, KEY) as writer:
        for part in parts:
            writer.write(part)
    assert b"".join(iter_blob(io.BytesIO(out.getvalue()), KEY)) == b"".join(parts)


@given(payload=st.binary(max_size=5000), data=st.data())
@settings(deadline=None)
def test_age_any_bit_flip_refused(payload: bytes, data: st.DataObject) -> None:
    sealed = bytearray(encrypt_bytes(payload, [IDENTITY.recipient()]))
    assert decrypt_bytes(bytes(sealed), [IDENTITY]) == payload
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CryptoError):
        decrypt_bytes(bytes(sealed), [IDENTITY])


NAMES = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@given(
    entries=st.dictionaries(NAMES, st.binary(max_size=2000), max_size=4),
    meta=st.dictionaries(st.text(max_size=10), st.text(max_size=10) | st.integers(0, 9)),
    data=st.data(),
)
@settings(max_examples=30, deadline=None)
def test_bundle_round_trip_and_bit_flip(
    entries: dict[str, bytes], meta: dict[str, object], data: st.DataObject
) -> None:
    out = io.BytesIO()
    seal_bundle(
        out, [IDENTITY.recipient()], DEVICE, 3, [entry(n, d) for n, d in entries.items()], meta
    )
    manifest, got = open_bytes(out.getvalue(), [IDENTITY])
    assert got == entries
    assert dict(manifest.meta) == meta
    sealed = bytearray(out.getvalue())
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CryptoError):
        open_bytes(bytes(sealed), [IDENTITY])
