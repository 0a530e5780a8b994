"""Generate Kuager bundle test vectors (C2SP CCTV style): ``python crypto/vectors/generate.py``.

One file per case, named after what it tests::

    expect: success | no match | HMAC failure | payload failure | unsupported version |
            manifest failure | bad signature | unsafe name | content mismatch |
            recipient mismatch
    identity: AGE-SECRET-KEY-1...        (the key to open it with)
    device: <hex Ed25519 public key>     (the signing device)
    entry: <name> <size> <hex sha256>    (repeatable; success only, in order)
    compressed: zlib                     (when the bundle below is zlib-compressed)
    comment: ...

then an empty line and the bundle. Everything is deterministic: keys, file key, nonce,
ephemeral shares and time are fixed, so re-running reproduces the files byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import sys
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import _x25519
from crypto._manifest import _canonical
from crypto.age import _encrypt_from_parts
from crypto.bundle import MAGIC, SIGNATURE_LABEL, BundleEntry, _seal_bundle_from_parts
from crypto.device import DeviceKey
from crypto.keys import X25519Identity

HERE = Path(__file__).parent
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
COORDINATOR = X25519Identity(bytes([1]) * 32)
DEPUTY = X25519Identity(bytes([2]) * 32)
OUTSIDER = X25519Identity(bytes([3]) * 32)
DEVICE = DeviceKey.from_private_bytes(bytes([4]) * 32)
OTHER_DEVICE = DeviceKey.from_private_bytes(bytes([5]) * 32)
FILE_KEY = bytes(range(16))
NONCE = bytes(range(16, 32))
EPHEMERAL = [X25519PrivateKey.from_private_bytes(bytes([9 + i]) * 32) for i in range(4)]
REPORT = b'{"kind":"detention","place":"Almaty"}'
PHOTO = bytes(i % 251 for i in range(65536 + 3))


def _entry(name: str, data: bytes) -> BundleEntry:
    def chunks() -> Iterator[bytes]:
        return iter([data])

    return BundleEntry(name, len(data), hashlib.sha256(data).digest(), chunks)


def _seal(entries: dict[str, bytes], recipients: list[X25519Identity] | None = None) -> bytes:
    out = io.BytesIO()
    ids = recipients or [COORDINATOR]
    _seal_bundle_from_parts(
        out,
        [i.recipient() for i in ids],
        DEVICE,
        42,
        [_entry(n, d) for n, d in entries.items()],
        {"store": "training"},
        now=NOW,
        file_key=FILE_KEY,
        nonce=NONCE,
        ephemeral=EPHEMERAL[: len(ids)],
    )
    return out.getvalue()


def _public_b64() -> str:
    return base64.b64encode(DEVICE.public_bytes()).decode()


def _manifest(**changes: object) -> dict[str, object]:
    value: dict[str, object] = {
        "format": "kuager-bundle/v1",
        "device": {
            "id": DEVICE.device_id,
            "public_key": base64.b64encode(DEVICE.public_bytes()).decode(),
        },
        "sequence": 42,
        "created": int(NOW.timestamp()),
        "recipients": [str(COORDINATOR.recipient())],
        "meta": {},
        "entries": [
            {
                "name": "report.json",
                "sha256": hashlib.sha256(REPORT).hexdigest(),
                "size": len(REPORT),
            }
        ],
    }
    value.update(changes)
    return value


def _forge(
    manifest: bytes,
    tail: bytes = REPORT,
    signer: DeviceKey = DEVICE,
    magic: bytes = MAGIC,
    to: X25519Identity = COORDINATOR,
) -> bytes:
    """A correctly encrypted bundle around an arbitrary (signed) manifest."""
    out = io.BytesIO()
    stanza = _x25519.wrap_from_parts(FILE_KEY, to.recipient().public, EPHEMERAL[0])
    with _encrypt_from_parts(out, [stanza], FILE_KEY, NONCE) as writer:
        writer.write(magic + struct.pack(">I", len(manifest)) + manifest)
        writer.write(signer.sign(SIGNATURE_LABEL, manifest) + tail)
    return out.getvalue()


def _flip(data: bytes, offset: int) -> bytes:
    flipped = bytearray(data)
    flipped[offset] ^= 0x01
    return bytes(flipped)


Case = tuple[str, str, bytes, str, dict[str, bytes]]  # name, expect, bundle, comment, entries


def _sealed_cases() -> list[Case]:
    """Bundles from the real sealer, then damaged in transit."""
    one, photo = {"report.json": REPORT}, {"report.json": REPORT, "photo.jpg": PHOTO}
    sealed = _seal(photo)
    mac_at = sealed.index(b"\n--- ") + 5
    body = sealed.index(b"\n", mac_at) + 1 + 16
    wrong_mac = sealed[:mac_at] + (b"B" if sealed[mac_at] == ord("A") else b"A")
    return [
        ("success_one_entry", "success", _seal(one), "", one),
        ("success_no_entries", "success", _seal({}), "a bundle may carry no entries", {}),
        ("success_multi_chunk", "success", sealed, "entry spans two chunks", photo),
        (
            "success_two_recipients",
            "success",
            _seal(one, [DEPUTY, COORDINATOR]),
            "opened by the second recipient",
            one,
        ),
        ("no_match", "no match", _seal(one, [OUTSIDER]), "sealed to someone else", {}),
        (
            "hmac_wrong_mac",
            "HMAC failure",
            wrong_mac + sealed[mac_at + 1 :],
            "the header MAC is valid base64 but wrong",
            {},
        ),
        (
            "payload_truncated_at_chunk",
            "payload failure",
            sealed[: body + 65552],
            "cut after the first full chunk",
            {},
        ),
        ("payload_flipped_bit", "payload failure", _flip(sealed, body + 100), "", {}),
    ]


def _forged_cases() -> list[Case]:
    """Correctly encrypted bundles around a bad manifest or bad content (an insider)."""
    manifest = _canonical(_manifest())
    forged_id = _manifest(device={"id": "0" * 32, "public_key": _public_b64()})
    huge = [{"name": "big", "sha256": "00" * 32, "size": 2**41}]
    return [
        (
            "bad_signature",
            "bad signature",
            _forge(manifest, signer=OTHER_DEVICE),
            "signed by another device than the one named",
            {},
        ),
        (
            "unsupported_version",
            "unsupported version",
            _forge(_canonical(_manifest(format="kuager-bundle/v2"))),
            "",
            {},
        ),
        (
            "unsupported_magic",
            "unsupported version",
            _forge(manifest, magic=b"kuager-bundle/v2\n"),
            "",
            {},
        ),
        (
            "manifest_not_canonical",
            "manifest failure",
            _forge(manifest.replace(b'"sequence":42', b'"sequence": 42')),
            "extra space",
            {},
        ),
        (
            "manifest_device_id_mismatch",
            "manifest failure",
            _forge(_canonical(forged_id)),
            "device id not derived from the public key",
            {},
        ),
        (
            "hostile_size",
            "manifest failure",
            _forge(_canonical(_manifest(entries=huge))),
            "entry of 2 TiB",
            {},
        ),
        (
            "content_hash_mismatch",
            "content mismatch",
            _forge(manifest, tail=REPORT.upper()),
            "",
            {},
        ),
        ("content_short", "content mismatch", _forge(manifest, tail=REPORT[:-1]), "", {}),
        ("content_trailing", "content mismatch", _forge(manifest, tail=REPORT + b"!"), "", {}),
        (
            "recipient_mismatch",
            "recipient mismatch",
            _forge(manifest, to=DEPUTY),
            "re-encrypted to a key the signed manifest does not list",
            {},
        ),
    ]


def _name_cases() -> list[Case]:
    cases: list[Case] = []
    for label, name in [
        ("dotdot", ".."),
        ("slash", "a/b"),
        ("nul", "a\x00b"),
        ("absolute", "/etc"),
        ("upper", "Report"),
    ]:
        entries = [
            {"name": name, "sha256": hashlib.sha256(REPORT).hexdigest(), "size": len(REPORT)}
        ]
        bundle = _forge(_canonical(_manifest(entries=entries)))
        cases.append((f"unsafe_name_{label}", "unsafe name", bundle, f"entry name {name!r}", {}))
    return cases


def _cases() -> list[Case]:
    return _sealed_cases() + _forged_cases() + _name_cases()


def build_vectors() -> dict[str, bytes]:
    files = {}
    for name, expect, sealed, comment, entries in _cases():
        lines = [
            f"expect: {expect}",
            f"identity: {_identity(name)}",
            f"device: {DEVICE.public_bytes().hex()}",
        ]
        lines += [
            f"entry: {n} {len(d)} {hashlib.sha256(d).hexdigest()}" for n, d in entries.items()
        ]
        bundle = sealed
        if len(sealed) > 4096:
            lines.append("compressed: zlib")
            bundle = zlib.compress(sealed, 9)
        if comment:
            lines.append(f"comment: {comment}")
        files[name] = ("\n".join(lines) + "\n\n").encode() + bundle
    return files


def _identity(name: str) -> str:
    return str(DEPUTY if name == "recipient_mismatch" else COORDINATOR)


def main() -> None:
    for name, content in build_vectors().items():
        (HERE / name).write_bytes(content)
    sys.stdout.write(f"wrote {len(build_vectors())} vectors to {HERE}\n")


if __name__ == "__main__":
    main()
