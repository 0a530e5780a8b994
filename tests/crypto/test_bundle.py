from __future__ import annotations

import base64
import hashlib
import io
import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from bundle_helpers import DEVICE, entry, open_bytes

from crypto._manifest import _canonical
from crypto.age import _encrypt_from_parts
from crypto.bundle import MAGIC, SIGNATURE_LABEL, BundleEntry, open_bundle, seal_bundle
from crypto.device import DeviceKey
from crypto.errors import (
    BadSignature,
    ContentMismatch,
    CryptoError,
    ManifestError,
    NoIdentityMatch,
    PayloadError,
    RecipientMismatch,
    RecipientPolicyError,
    TruncatedPayload,
    UnsafeEntryName,
    UnsupportedBundleVersion,
)
from crypto.keys import (
    X25519Identity,
    generate_hybrid_identity,
    generate_x25519_identity,
)

CHUNK = 64 * 1024
ALICE, BOB = generate_x25519_identity(), generate_x25519_identity()
DATA = {
    "report-1.json": b'{"what": "detention"}',
    "photo.jpg": os.urandom(3 * CHUNK + 5),
    "empty.txt": b"",
}


def seal(
    entries: dict[str, bytes],
    recipients: list[X25519Identity] | None = None,
    device: DeviceKey = DEVICE,
    sequence: int = 7,
) -> bytes:
    out = io.BytesIO()
    rs = [i.recipient() for i in (recipients or [ALICE, BOB])]
    seal_bundle(
        out, rs, device, sequence, [entry(n, d) for n, d in entries.items()], {"store": "training"}
    )
    return out.getvalue()


def test_round_trip() -> None:
    manifest, got = open_bytes(seal(DATA), [BOB])
    assert got == DATA
    assert manifest.device_id == DEVICE.device_id
    assert manifest.device_public_key == DEVICE.public_bytes()
    assert manifest.fingerprint == DEVICE.fingerprint()
    assert manifest.sequence == 7
    assert manifest.meta == {"store": "training"}
    assert manifest.recipients == (str(ALICE.recipient()), str(BOB.recipient()))
    assert [e.name for e in manifest.entries] == list(DATA)
    assert abs((datetime.now(UTC) - manifest.created).total_seconds()) < 5


@pytest.mark.parametrize("sizes", [[], [0], [CHUNK], [CHUNK, CHUNK], [1, 2 * CHUNK - 1]])
def test_sizes(sizes: list[int]) -> None:
    entries = {f"e{i}": os.urandom(s) for i, s in enumerate(sizes)}
    assert open_bytes(seal(entries), [ALICE])[1] == entries


def test_hybrid_recipients() -> None:
    ids = [generate_hybrid_identity(), generate_hybrid_identity()]
    out = io.BytesIO()
    seal_bundle(out, [i.recipient() for i in ids], DEVICE, 1, [entry("a", b"x")], {})
    assert open_bytes(out.getvalue(), [ids[1]])[1] == {"a": b"x"}


def test_mixed_recipients_refused() -> None:
    with pytest.raises(RecipientPolicyError, match="mix"):
        seal_bundle(
            io.BytesIO(),
            [ALICE.recipient(), generate_hybrid_identity().recipient()],
            DEVICE,
            1,
            [],
            {},
        )


def test_wrong_recipient() -> None:
    with pytest.raises(NoIdentityMatch):
        open_bytes(seal(DATA), [generate_x25519_identity()])


@pytest.mark.parametrize("cut", [1, 16, CHUNK, len(seal(DATA)) - 200])
def test_truncated(cut: int) -> None:
    with pytest.raises(CryptoError):
        open_bytes(seal(DATA)[:-cut], [ALICE])


def test_truncated_at_chunk_boundary() -> None:
    sealed = seal(DATA)
    header_end = sealed.index(b"\n---") + 1
    header_end = sealed.index(b"\n", header_end) + 1 + 16
    with pytest.raises(TruncatedPayload):
        open_bytes(sealed[: header_end + 2 * (CHUNK + 16)], [ALICE])


def test_flipped_bits_everywhere() -> None:
    sealed = seal({"a": os.urandom(CHUNK + 10)}, [ALICE])
    for pos in range(0, len(sealed), 997):
        bad = bytearray(sealed)
        bad[pos] ^= 0x01
        with pytest.raises(CryptoError):
            open_bytes(bytes(bad), [ALICE])


def _body_offset(sealed: bytes) -> int:
    return sealed.index(b"\n", sealed.index(b"\n---") + 1) + 1 + 16


def test_reordered_duplicated_dropped_chunks() -> None:
    sealed = seal({"a": os.urandom(3 * CHUNK)}, [ALICE])
    off, step = _body_offset(sealed), CHUNK + 16
    head, body = sealed[:off], sealed[off:]
    c = [body[i : i + step] for i in range(0, len(body), step)]
    for bad in (c[1] + c[0] + c[2], c[0] + c[0] + c[1] + c[2], c[0] + c[2], c[0] + c[1]):
        with pytest.raises(PayloadError):
            open_bytes(head + bad, [ALICE])


def forge(
    body: bytes, signature_key: DeviceKey = DEVICE, tail: bytes = b"", magic: bytes = MAGIC
) -> bytes:
    """A correctly encrypted bundle with an arbitrary manifest (an insider forging)."""
    out = io.BytesIO()
    key = os.urandom(16)
    stanza = ALICE.recipient()._wrap(key)
    with _encrypt_from_parts(out, [stanza], key, os.urandom(16)) as w:
        w.write(magic + struct.pack(">I", len(body)) + body)
        w.write(signature_key.sign(SIGNATURE_LABEL, body) + tail)
    return out.getvalue()


def make_manifest(**changes: object) -> bytes:
    value: dict[str, object] = {
        "format": "kuager-bundle/v1",
        "device": {
            "id": DEVICE.device_id,
            "public_key": base64.b64encode(DEVICE.public_bytes()).decode(),
        },
        "sequence": 1,
        "created": 0,
        "recipients": [str(ALICE.recipient())],
        "meta": {},
        "entries": [{"name": "a", "sha256": hashlib.sha256(b"x").hexdigest(), "size": 1}],
    }
    value.update(changes)
    return _canonical(value)


def test_forged_baseline_opens() -> None:
    assert open_bytes(forge(make_manifest(), tail=b"x"), [ALICE])[1] == {"a": b"x"}


def test_bad_signature() -> None:
    with pytest.raises(BadSignature):
        open_bytes(forge(make_manifest(), DeviceKey.generate(), b"x"), [ALICE])


@pytest.mark.parametrize(
    ("tail", "error"), [(b"", ContentMismatch), (b"y", ContentMismatch), (b"xx", ContentMismatch)]
)
def test_content_disagrees(tail: bytes, error: type[CryptoError]) -> None:
    with pytest.raises(error):
        open_bytes(forge(make_manifest(), tail=tail), [ALICE])


@pytest.mark.parametrize(
    "name",
    [
        "../etc",
        "/abs",
        "a/b",
        "a\x00b",
        "..",
        ".hidden",
        "A",
        "a b",
        "x" * 129,
        "",
        "a..b",
        "name\\x",
    ],
)
def test_unsafe_names(name: str) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    body = make_manifest(entries=[{"name": name, "sha256": digest, "size": 1}])
    with pytest.raises(UnsafeEntryName):
        open_bytes(forge(body, tail=b"x"), [ALICE])
    with pytest.raises(UnsafeEntryName):
        seal({name: b"x"}) if name else seal({"\u0430": b"x"})


@pytest.mark.parametrize("size", [-1, 2**40 + 1, 2**64, "1", 1.5, True])
def test_hostile_sizes(size: object) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    body = make_manifest(entries=[{"name": "a", "sha256": digest, "size": size}])
    with pytest.raises(ManifestError):
        open_bytes(forge(body, tail=b"x"), [ALICE])


def test_duplicate_names() -> None:
    e = {"name": "a", "sha256": hashlib.sha256(b"x").hexdigest(), "size": 1}
    with pytest.raises(UnsafeEntryName):
        open_bytes(forge(make_manifest(entries=[e, e]), tail=b"xx"), [ALICE])


@pytest.mark.parametrize("changes", [{"format": "kuager-bundle/v2"}, {"format": None}])
def test_unsupported_version(changes: dict[str, object]) -> None:
    with pytest.raises(UnsupportedBundleVersion):
        open_bytes(forge(make_manifest(**changes), tail=b"x"), [ALICE])


def test_unsupported_magic() -> None:
    with pytest.raises(UnsupportedBundleVersion):
        open_bytes(forge(make_manifest(), tail=b"x", magic=b"kuager-bundle/v9\n"), [ALICE])


@pytest.mark.parametrize(
    "changes",
    [
        {"sequence": 0},
        {"created": -1},
        {"created": 253402300800},  # year 10000: a datetime cannot hold it
        {"created": 2**53 - 1},
        {"recipients": []},
        {"meta": []},
        {"extra": 1},
        {"recipients": ["age1notakey"]},
        {"recipients": [7]},
        {"recipients": ["AGE1QQQQ"]},
        {"device": {"id": "0" * 32, "public_key": "AAAA"}},
    ],
)
def test_malformed_manifest(changes: dict[str, object]) -> None:
    with pytest.raises(ManifestError):
        open_bytes(forge(make_manifest(**changes), tail=b"x"), [ALICE])


def test_non_canonical_manifest() -> None:
    body = make_manifest().replace(b'"created":0', b'"created": 0')
    with pytest.raises(ManifestError, match="canonical"):
        open_bytes(forge(body, tail=b"x"), [ALICE])


def test_re_encrypted_to_someone_else() -> None:
    mallory = generate_x25519_identity()
    body = make_manifest()
    out = io.BytesIO()
    key = os.urandom(16)
    with _encrypt_from_parts(out, [mallory.recipient()._wrap(key)], key, os.urandom(16)) as w:
        w.write(MAGIC + struct.pack(">I", len(body)) + body)
        w.write(DEVICE.sign(SIGNATURE_LABEL, body) + b"x")
    with pytest.raises(RecipientMismatch):
        open_bytes(out.getvalue(), [mallory])


def test_extra_stanza_refused() -> None:
    body = make_manifest()
    out, key = io.BytesIO(), os.urandom(16)
    stanzas = [ALICE.recipient()._wrap(key), BOB.recipient()._wrap(key)]
    with _encrypt_from_parts(out, stanzas, key, os.urandom(16)) as w:
        w.write(MAGIC + struct.pack(">I", len(body)) + body)
        w.write(DEVICE.sign(SIGNATURE_LABEL, body) + b"x")
    with pytest.raises(RecipientMismatch):
        open_bytes(out.getvalue(), [ALICE])


@pytest.mark.parametrize("data", [b"short", b"x" * 11, b"wrong-hash!"])
def test_sealer_checks_entries(data: bytes) -> None:
    def chunks() -> Iterator[bytes]:
        yield data

    bad = BundleEntry("a", 10, hashlib.sha256(b"0123456789").digest(), chunks)
    out = io.BytesIO()
    with pytest.raises(ContentMismatch):
        seal_bundle(out, [ALICE.recipient()], DEVICE, 1, [bad], {})
    with pytest.raises(CryptoError):
        open_bytes(out.getvalue(), [ALICE])


def test_nothing_handed_on_before_signature() -> None:
    calls: list[str] = []

    def sink(item: object) -> object:
        calls.append("called")
        raise AssertionError

    with pytest.raises(BadSignature):
        open_bundle(io.BytesIO(forge(make_manifest(), DeviceKey.generate(), b"x")), [ALICE], sink)  # type: ignore[arg-type]
    assert calls == []

