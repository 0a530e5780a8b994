"""Sealed bundles: signed manifest + entries inside one age file (crypto/FORMAT.md).

``seal_bundle`` writes a bundle only coordinators can read; ``open_bundle`` reads one and
proves which device wrote it and that nothing was changed, dropped or replayed *within*
the bundle (replay across bundles is the caller's sequence check, FORMAT.md section 5).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import _padding, _x25519
from crypto._chunkio import ExactReader
from crypto._header import FILE_KEY_SIZE, Stanza
from crypto._manifest import (
    MAX_ENTRIES,  # noqa: F401 - re-exported: writers split exports by it
    MAX_MANIFEST,
    Manifest,
    ManifestEntry,
    _as_json,
    _canonical,
    check_name,
    decode_manifest,
    encode_manifest,
    parse_device,
)
from crypto.age import NONCE_SIZE, AgeWriter, _encrypt_from_parts, check_recipients, decrypt
from crypto.device import SIGNATURE_SIZE, DeviceKey, verify_signature
from crypto.digest import BackgroundDigest
from crypto.errors import (
    BundleError,
    ContentMismatch,
    ManifestError,
    RecipientMismatch,
    RecipientPolicyError,
    UnsupportedBundleVersion,
)
from crypto.keys import (
    HybridIdentity,
    HybridRecipient,
    Identity,
    X25519Identity,
    X25519Recipient,
)

MAGIC = b"kuager-bundle/v1\n"
MAGIC_PREFIX = b"kuager-bundle/"
SIGNATURE_LABEL = b"kuager.org/v1/bundle-manifest\x00"
_STANZA_KIND = {"X25519": "x25519", "mlkem768x25519": "mlkem768x25519"}
BundleRecipient = X25519Recipient | HybridRecipient


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class BundleEntry:
    """One entry to seal. ``open`` returns a fresh iterator of its plaintext chunks; the
    sealer checks the bytes against ``size`` and ``sha256`` and aborts on mismatch."""

    name: str
    size: int
    sha256: bytes
    open: Callable[[], Iterable[bytes]]


#: The name of the optional entry of zero bytes that pads a bundle (FORMAT.md 3.1).
PADDING_ENTRY = "padding"
#: No padded bundle's plaintext is smaller than this (one age STREAM chunk).
MIN_PADDED = 64 * 1024


def padme(length: int) -> int:
    """Padmé (Nikitin et al., PETS 2019): round up so at most O(log log n) bits leak.

    The result is at most 12 % larger than ``length`` (much less for large sizes), and
    never below ``MIN_PADDED``.
    """
    return _padding.padme(length, MIN_PADDED)


def seal_bundle(  # noqa: PLR0917  (positional order is the published API)
    dst: BinaryIO,
    recipients: Sequence[BundleRecipient],
    device: DeviceKey,
    sequence: int,
    entries: Sequence[BundleEntry],
    meta: Mapping[str, Any],
    *,
    pad: Callable[[int], int] | None = None,
) -> Manifest:
    """Write a bundle to ``dst``; returns the signed manifest.

    With ``pad`` (e.g. ``padme``), a last entry named ``padding`` of zero bytes makes the
    plaintext exactly ``pad(unpadded size)`` bytes long (or the next size ``pad`` gives,
    when the entry itself does not fit in the difference), so the file's size tells
    only its size bucket.

    On ContentMismatch (an entry's bytes differ from its declared size/hash) the file in
    ``dst`` is left unsealed and will not decrypt: discard it."""
    return _seal_bundle_from_parts(
        dst,
        recipients,
        device,
        sequence,
        entries,
        meta,
        now=datetime.now(UTC),
        file_key=os.urandom(FILE_KEY_SIZE),
        nonce=os.urandom(NONCE_SIZE),
        ephemeral=None,
        pad=pad,
    )


def plaintext_size(manifest_length: int, entries: Sequence[BundleEntry]) -> int:
    """The payload's size: magic, length, manifest, signature and every entry's bytes."""
    return len(MAGIC) + 4 + manifest_length + SIGNATURE_SIZE + sum(e.size for e in entries)


def _zeros(size: int) -> Iterable[bytes]:
    block = bytes(min(size, 1 << 20))
    while size:
        yield block[: min(size, len(block))]
        size -= min(size, len(block))


def _zero_sha256(size: int) -> bytes:
    digest = hashlib.sha256()
    for chunk in _zeros(size):
        digest.update(chunk)
    return digest.digest()


def _padding_entry(
    entries: Sequence[BundleEntry], unpadded: int, pad: Callable[[int], int]
) -> BundleEntry:
    """The ``padding`` entry that brings the payload to a size ``pad`` gives."""
    # In the canonical manifest the entry adds ',{"name":"padding","sha256":"<64>","size":N}'.
    fixed = len(',{"name":"","sha256":"","size":}') + len(PADDING_ENTRY) + 64
    if not entries:
        fixed -= 1  # no comma before the first entry
    target = pad(unpadded)
    while True:
        size = target - unpadded - fixed - 1
        while size >= 0 and fixed + len(str(size)) + size + unpadded != target:
            size -= 1
        if size >= 0:
            return BundleEntry(PADDING_ENTRY, size, _zero_sha256(size),
                               lambda n=size: _zeros(n))
        target = pad(target + 1)


def _seal_bundle_from_parts(  # noqa: PLR0917  (mirrors seal_bundle)
    dst: BinaryIO,
    recipients: Sequence[BundleRecipient],
    device: DeviceKey,
    sequence: int,
    entries: Sequence[BundleEntry],
    meta: Mapping[str, Any],
    *,
    now: datetime,
    file_key: bytes,
    nonce: bytes,
    ephemeral: Sequence[X25519PrivateKey] | None,
    pad: Callable[[int], int] | None = None,
) -> Manifest:
    """Deterministic sealing for vectors: ``ephemeral`` fixes X25519 stanzas (hybrid
    stanzas draw HPKE randomness inside OpenSSL and cannot be fixed)."""
    _check_bundle_recipients(recipients)
    for entry in entries:
        check_name(entry.name)

    def manifest_of(listed: Sequence[BundleEntry]) -> Manifest:
        return Manifest(
            device_public_key=device.public_bytes(),
            sequence=sequence,
            created=datetime.fromtimestamp(int(now.timestamp()), UTC),
            recipients=tuple(str(r) for r in recipients),
            meta=dict(meta),
            entries=tuple(ManifestEntry(e.name, e.size, e.sha256) for e in listed),
        )

    if pad is not None:
        # The unpadded manifest's length only (validated once, below, with the padding in).
        length = len(_canonical(_as_json(manifest_of(entries))))
        entries = [*entries, _padding_entry(entries, plaintext_size(length, entries), pad)]
    manifest = manifest_of(entries)
    body = encode_manifest(manifest)
    stanzas = _stanzas(recipients, file_key, ephemeral)
    writer = _encrypt_from_parts(dst, stanzas, file_key, nonce)
    writer.write(MAGIC + struct.pack(">I", len(body)) + body)
    writer.write(device.sign(SIGNATURE_LABEL, body))
    for entry in entries:
        _write_entry(writer, entry)
    writer.close()
    return manifest


def _check_bundle_recipients(recipients: Sequence[BundleRecipient]) -> None:
    check_recipients(recipients)
    if not all(isinstance(r, X25519Recipient | HybridRecipient) for r in recipients):
        raise RecipientPolicyError("bundles are sealed to public keys, never to a passphrase")
    if len({str(r) for r in recipients}) != len(recipients):
        raise RecipientPolicyError("a recipient is listed twice")


def _stanzas(
    recipients: Sequence[BundleRecipient],
    file_key: bytes,
    ephemeral: Sequence[X25519PrivateKey] | None,
) -> list[Stanza]:
    if ephemeral is None:
        return [r._wrap(file_key) for r in recipients]
    return [
        _x25519.wrap_from_parts(file_key, r.public, e)
        for r, e in zip(recipients, ephemeral, strict=True)
    ]


#: Entries up to this size are hashed in the caller's thread: a worker thread per entry
#: cost more than the hashing itself for small reports (issue 10, item 11).
_HASH_INLINE = 1 << 20


def _digest_for(size: int) -> Any:
    """SHA-256 on a second core for a large entry (crypto/digest.py), inline for a small one."""
    return BackgroundDigest(hashlib.sha256()) if size > _HASH_INLINE else _InlineDigest()


class _InlineDigest:
    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()

    def __enter__(self) -> _InlineDigest:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


def _write_entry(writer: AgeWriter, entry: BundleEntry) -> None:
    written = 0
    with _digest_for(entry.size) as digest:
        for chunk in entry.open():
            written += len(chunk)
            if written > entry.size:
                raise ContentMismatch(f"entry {entry.name!r} is longer than its declared size")
            digest.update(chunk)
            writer.write(chunk)
        if written != entry.size or digest.digest() != entry.sha256:
            raise ContentMismatch(f"entry {entry.name!r} does not match its size or SHA-256")


def open_bundle(
    src: BinaryIO,
    identities: Sequence[Identity],
    sink: Callable[[ManifestEntry], AbstractContextManager[Writable]],
) -> Manifest:
    """Decrypt and verify a bundle, streaming each entry into ``sink(entry)``.

    Nothing reaches the sink before the manifest's signature verified and every
    manifest field passed its checks. Entry bytes then reach the sink *before* that
    entry's hash (and the end of the file) is verified, so the contract is: the caller
    stages what the sink receives (encrypted, discardable) and commits it only if
    ``open_bundle`` returns; on any CryptoError it discards everything staged.

    Raises (all CryptoError): NoIdentityMatch (not for us), HeaderError/HeaderMacError
    (damaged header), PayloadError subclasses (truncated, flipped bits, reordered or
    dropped chunks), UnsupportedBundleVersion, ManifestError (malformed or hostile
    manifest), BadSignature, UnsafeEntryName, RecipientMismatch (re-encrypted to someone
    else), ContentMismatch (entries disagree with the manifest).
    """
    decryption = decrypt(src, identities)
    plain = ExactReader(iter(decryption))
    manifest = _read_manifest(plain)
    _check_recipients(manifest, decryption.identity, decryption.stanzas)
    for entry in manifest.entries:
        _read_entry(plain, entry, sink)
    if not plain.at_end():
        raise ContentMismatch("the bundle holds more content than the manifest lists")
    return manifest


def _read_manifest(plain: ExactReader) -> Manifest:
    magic = plain.read(len(MAGIC)) if not plain.at_end() else b""
    if magic != MAGIC:
        if magic.startswith(MAGIC_PREFIX):
            raise UnsupportedBundleVersion("unsupported bundle version")
        raise BundleError("not a Kuager bundle (magic missing)")
    (length,) = struct.unpack(">I", plain.read(4))
    if not 2 <= length <= MAX_MANIFEST:
        raise ManifestError("manifest length is out of range")
    body = plain.read(length)
    signature = plain.read(SIGNATURE_SIZE)
    parsed = parse_device(body)
    verify_signature(parsed[1], SIGNATURE_LABEL, body, signature)
    return decode_manifest(body, parsed)


def _check_recipients(manifest: Manifest, identity: Identity, stanzas: list[Stanza]) -> None:
    if not isinstance(identity, X25519Identity | HybridIdentity):
        raise RecipientMismatch("bundles are never sealed to a passphrase")
    if str(identity.recipient()) not in manifest.recipients:
        raise RecipientMismatch("this bundle was re-encrypted: our key is not in its manifest")
    listed = sorted(
        "mlkem768x25519" if r.startswith("age1pq1") else "x25519" for r in manifest.recipients
    )
    if sorted(_STANZA_KIND.get(s.type, s.type) for s in stanzas) != listed:
        raise RecipientMismatch("the file's recipient stanzas differ from the signed manifest")


def _read_entry(
    plain: ExactReader,
    entry: ManifestEntry,
    sink: Callable[[ManifestEntry], AbstractContextManager[Writable]],
) -> None:
    with _digest_for(entry.size) as digest:
        with sink(entry) as out:
            for part in plain.stream(entry.size):
                chunk = _as_bytes(part)
                digest.update(chunk)
                out.write(chunk)
        if digest.digest() != entry.sha256:
            raise ContentMismatch(f"entry {entry.name!r} does not match its SHA-256")


def _as_bytes(part: memoryview) -> bytes:
    """The chunk itself when ``part`` views all of an immutable chunk (no copy)."""
    whole = part.obj
    if isinstance(whole, bytes) and len(whole) == part.nbytes:
        return whole
    return part.tobytes()
