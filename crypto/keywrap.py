"""Wrap the 256-bit SQLCipher database key under a passphrase.

Blob layout (version 1), all of it stored in one file beside the database::

    kuager-keywrap/v1 argon2id m=<KiB> t=<iterations> p=<lanes>\\n
    salt (16 bytes) || nonce (12 bytes) || ChaCha20-Poly1305(key) (32 + 16 bytes)

The header line is the AEAD associated data, so the KDF parameters cannot be lowered
(to speed up guessing) or otherwise edited without the unwrap failing. Parameters are
bounded *before* running the KDF so a hostile blob cannot make us allocate more than 1 GiB.
The passphrase is NFC-normalised so the same words typed on different keyboards
(precomposed or combining Kazakh letters) unwrap the same key.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto.errors import KeyFileError, WrongPassphrase

MAGIC = b"kuager-keywrap/v1"
KEY_SIZE = 32
SALT_SIZE = 16
NONCE_SIZE = 12
_BODY_SIZE = SALT_SIZE + NONCE_SIZE + KEY_SIZE + 16
_HEADER = re.compile(
    rb"kuager-keywrap/v1 argon2id m=([1-9][0-9]{0,9}) t=([1-9][0-9]{0,3}) "
    rb"p=([1-9][0-9]{0,3})\n"
)
MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB, 4x production: anything above is hostile or corrupt
MAX_ITERATIONS = 16
MAX_LANES = 16


@dataclass(frozen=True)
class KdfProfile:
    """Argon2id cost parameters, named and versioned so a blob's cost is explicit."""

    name: str
    memory_kib: int
    iterations: int
    lanes: int

    def check(self) -> None:
        """Raise KeyFileError unless the parameters are within sane bounds."""
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise KeyFileError(f"refusing Argon2id memory of {self.memory_kib} KiB")
        if not 1 <= self.iterations <= MAX_ITERATIONS or not 1 <= self.lanes <= MAX_LANES:
            raise KeyFileError("refusing absurd Argon2id iterations or lanes")


# Measured on the reference laptop-class machine: about 1 s per unwrap.
ARGON2ID_V1 = KdfProfile("argon2id-v1", memory_kib=262144, iterations=3, lanes=4)
# Tests only, selected through one fixture; production code never names it.
TEST_PROFILE = KdfProfile("argon2id-test", memory_kib=64, iterations=1, lanes=1)


def _derive(passphrase: str, salt: bytes, profile: KdfProfile) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = Argon2id(
        salt=salt,
        length=KEY_SIZE,
        iterations=profile.iterations,
        lanes=profile.lanes,
        memory_cost=profile.memory_kib,
    )
    return kdf.derive(secret)


def _header(profile: KdfProfile) -> bytes:
    return (
        MAGIC
        + f" argon2id m={profile.memory_kib} t={profile.iterations} p={profile.lanes}\n".encode(
            "ascii"
        )
    )


def _wrap_key_from_parts(
    key: bytes, passphrase: str, profile: KdfProfile, salt: bytes, nonce: bytes
) -> bytes:
    if len(key) != KEY_SIZE:
        raise ValueError("the database key must be 32 bytes")
    profile.check()
    header = _header(profile)
    sealed = ChaCha20Poly1305(_derive(passphrase, salt, profile)).encrypt(nonce, key, header)
    return header + salt + nonce + sealed


def wrap_key(key: bytes, passphrase: str, profile: KdfProfile = ARGON2ID_V1) -> bytes:
    """Return a self-describing blob holding ``key`` sealed under ``passphrase``."""
    return _wrap_key_from_parts(
        key, passphrase, profile, os.urandom(SALT_SIZE), os.urandom(NONCE_SIZE)
    )


def _parse(blob: bytes) -> tuple[bytes, KdfProfile, bytes]:
    end = blob.find(b"\n", 0, 128)
    if not blob.startswith(MAGIC) or end < 0:
        raise KeyFileError("not a Kuager wrapped-key file (or an unknown version)")
    match = _HEADER.fullmatch(blob[: end + 1])
    if match is None:
        raise KeyFileError("wrapped-key header is malformed")
    if len(blob) - end - 1 != _BODY_SIZE:
        raise KeyFileError("wrapped-key file is truncated or has trailing data")
    m, t, p = (int(g) for g in match.groups())
    profile = KdfProfile("stored", memory_kib=m, iterations=t, lanes=p)
    profile.check()
    return blob[: end + 1], profile, blob[end + 1 :]


def unwrap_key(blob: bytes, passphrase: str) -> bytes:
    """Recover the key; WrongPassphrase if the passphrase (or ciphertext) is wrong,
    KeyFileError if the blob is damaged, of an unknown version, or absurdly costly."""
    header, profile, body = _parse(bytes(blob))
    salt, nonce, sealed = body[:SALT_SIZE], body[SALT_SIZE:28], body[28:]
    try:
        return ChaCha20Poly1305(_derive(passphrase, salt, profile)).decrypt(nonce, sealed, header)
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase (or the key file was altered)") from None
    except MemoryError:
        raise KeyFileError("the key file asks for more memory than this machine has") from None


def decoy_blob(profile: KdfProfile = ARGON2ID_V1) -> bytes:
    """A blob shaped like ``wrap_key``'s under ``profile`` that no passphrase opens.

    Unwrapping it costs the same KDF work as a real one and fails as a wrong passphrase
    does; its body is random, as a real ciphertext looks (used for an empty key slot).
    """
    profile.check()
    return _header(profile) + os.urandom(_BODY_SIZE)
