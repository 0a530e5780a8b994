"""age v1 files (age-encryption.org/v1), streaming both ways in constant memory.

Recipient policy: one file holds either only X25519 recipients, or only post-quantum
``mlkem768x25519`` recipients, or exactly one passphrase. Mixing classic and hybrid
recipients is refused (RecipientPolicyError): the file would be only as strong as its
classic stanza, silently defeating the reason a coordinator chose a hybrid key. Reading,
we accept any mix age allows, as the reference implementation does.

Decryption releases plaintext chunk by chunk before the end is verified: the file is
authentic only once iteration finishes without error. Hold released plaintext back.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from crypto import _hybrid, _scrypt, _x25519
from crypto._armor import sniff
from crypto._chunkio import ChunkReader
from crypto._header import (
    FILE_KEY_SIZE,
    PAYLOAD_LABEL,
    Stanza,
    hkdf,
    parse_header,
    serialise_header,
    verify_mac,
)
from crypto._stream import SealedWriter, decrypt_stream
from crypto.errors import HeaderError, NoIdentityMatch, RecipientPolicyError
from crypto.keys import Identity, Recipient, ScryptIdentity, ScryptRecipient

NONCE_SIZE = 16


def check_recipients(recipients: Sequence[Recipient]) -> None:
    """Raise RecipientPolicyError unless the list follows the policy in the module doc."""
    kinds = {r.kind for r in recipients}
    if not recipients:
        raise RecipientPolicyError("a file needs at least one recipient")
    if "scrypt" in kinds and len(recipients) > 1:
        raise RecipientPolicyError("a passphrase must be the only recipient of a file")
    if len(kinds) > 1:
        raise RecipientPolicyError(
            "refusing to mix post-quantum (age1pq1...) and classic (age1...) recipients: "
            "the file would only be as strong as the classic key; use hybrid keys for all"
        )


class AgeWriter(SealedWriter):
    """Writes an age file to ``dst``; ``close`` seals the final chunk.

    As a context manager an exception in the block leaves the file unsealed, so a
    partial file never decrypts as if complete."""

    def __init__(self, dst: BinaryIO, stanzas: list[Stanza], file_key: bytes, nonce: bytes) -> None:
        dst.write(serialise_header(stanzas, file_key) + nonce)
        self._start(hkdf(file_key, nonce, PAYLOAD_LABEL), dst.write)


def _encrypt_from_parts(
    dst: BinaryIO, stanzas: list[Stanza], file_key: bytes, nonce: bytes
) -> AgeWriter:
    return AgeWriter(dst, stanzas, file_key, nonce)


def encrypt(dst: BinaryIO, recipients: Sequence[Recipient]) -> AgeWriter:
    """Start an age file to ``recipients``; use as ``with encrypt(f, rs) as w: w.write(..)``."""
    check_recipients(recipients)
    file_key = os.urandom(FILE_KEY_SIZE)
    return AgeWriter(dst, [r._wrap(file_key) for r in recipients], file_key, os.urandom(NONCE_SIZE))


def encrypt_with_passphrase(
    dst: BinaryIO, passphrase: str, work_factor: int = _scrypt.DEFAULT_WORK_FACTOR
) -> AgeWriter:
    return encrypt(dst, [ScryptRecipient(passphrase, work_factor)])


class Decryption:
    """An opened age file: header verified, payload not yet. Iterate for plaintext chunks.

    ``identity`` is the identity that unwrapped the file key; ``stanzas`` the header's
    recipient stanzas (for callers that check who else can read the file)."""

    def __init__(
        self, src: BinaryIO, identities: Sequence[Identity], armored: bool | None = None
    ) -> None:
        src = sniff(src, armored)
        stanzas, header, mac = parse_header(src)
        _check_stanzas(stanzas, identities)
        self.stanzas = stanzas
        self.identity, file_key = _unwrap(stanzas, identities)
        verify_mac(file_key, header, mac)
        nonce = src.read(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise HeaderError("the payload nonce is missing or short")
        self._chunks = decrypt_stream(src, hkdf(file_key, nonce, PAYLOAD_LABEL))

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def reader(self) -> ChunkReader:
        """A file-like view of the plaintext (authentic only once EOF is reached)."""
        return ChunkReader(self._chunks)


def _check_stanzas(stanzas: list[Stanza], identities: Sequence[Identity]) -> None:
    limit = min(
        (i.max_work_factor for i in identities if isinstance(i, ScryptIdentity)),
        default=_scrypt.MAX_WORK_FACTOR,
    )
    for stanza in stanzas:
        if stanza.type == _x25519.STANZA_TYPE:
            _x25519.check(stanza)
        elif stanza.type == _hybrid.STANZA_TYPE:
            _hybrid.check(stanza)
        elif stanza.type == _scrypt.STANZA_TYPE:
            _scrypt.check(stanza, limit)
            if len(stanzas) != 1:
                raise HeaderError("a passphrase (scrypt) stanza must be the only stanza")


def _unwrap(stanzas: list[Stanza], identities: Sequence[Identity]) -> tuple[Identity, bytes]:
    for identity in identities:
        for stanza in stanzas:
            file_key = identity._unwrap(stanza)
            if file_key is not None:
                return identity, file_key
    raise NoIdentityMatch("none of the given keys can open this file (wrong recipient?)")


def decrypt(
    src: BinaryIO, identities: Sequence[Identity], *, armored: bool | None = None
) -> Decryption:
    """Open an age file: raises at once for header problems, lazily for the payload.

    ``armored``: None detects ASCII armor, True requires it, False refuses it."""
    return Decryption(src, identities, armored)


def decrypt_with_passphrase(
    src: BinaryIO, passphrase: str, max_work_factor: int = _scrypt.MAX_WORK_FACTOR
) -> Decryption:
    return Decryption(src, [ScryptIdentity(passphrase, max_work_factor)])


def encrypt_bytes(data: bytes, recipients: Sequence[Recipient]) -> bytes:
    """Small messages only: the whole ciphertext is returned in memory."""

    out = io.BytesIO()
    with encrypt(out, recipients) as writer:
        writer.write(data)
    return out.getvalue()


def decrypt_bytes(data: bytes, identities: Sequence[Identity]) -> bytes:

    return b"".join(decrypt(io.BytesIO(data), identities))
