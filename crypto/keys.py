"""age identities (secret keys) and recipients (public keys), and their string forms.

=================  =====================================  ==============================
kind               recipient                              identity
=================  =====================================  ==============================
X25519 (classic)   ``age1...``                            ``AGE-SECRET-KEY-1...``
ML-KEM-768+X25519  ``age1pq1...``                         ``AGE-SECRET-KEY-PQ-1...``
passphrase         :class:`ScryptRecipient`               :class:`ScryptIdentity`
=================  =====================================  ==============================

Identities never show their secret in ``repr`` (log lines, tracebacks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import _bech32, _hybrid, _scrypt, _x25519
from crypto._header import Stanza
from crypto.errors import KeyFormatError

X25519_RECIPIENT_HRP = "age"
X25519_IDENTITY_HRP = "age-secret-key-"
HYBRID_RECIPIENT_HRP = "age1pq"
HYBRID_IDENTITY_HRP = "age-secret-key-pq-"


@dataclass(frozen=True)
class X25519Recipient:
    public: bytes
    kind = "x25519"

    def __str__(self) -> str:
        return _bech32.encode(X25519_RECIPIENT_HRP, self.public)

    def _wrap(self, file_key: bytes) -> Stanza:
        return _x25519.wrap(file_key, self.public)


@dataclass(frozen=True)
class X25519Identity:
    secret: bytes = field(repr=False)

    def recipient(self) -> X25519Recipient:
        key = X25519PrivateKey.from_private_bytes(self.secret)
        return X25519Recipient(key.public_key().public_bytes_raw())

    def __str__(self) -> str:
        return _bech32.encode(X25519_IDENTITY_HRP, self.secret).upper()

    def _unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type != _x25519.STANZA_TYPE:
            return None
        return _x25519.unwrap(stanza, X25519PrivateKey.from_private_bytes(self.secret))


@dataclass(frozen=True)
class HybridRecipient:
    public: bytes = field(repr=False)
    kind = "mlkem768x25519"

    def __str__(self) -> str:
        return _bech32.encode(HYBRID_RECIPIENT_HRP, self.public)

    def _wrap(self, file_key: bytes) -> Stanza:
        return _hybrid.wrap(file_key, self.public)


@dataclass(frozen=True)
class HybridIdentity:
    seed: bytes = field(repr=False)

    def recipient(self) -> HybridRecipient:
        return HybridRecipient(_hybrid.public_bytes(self.seed))

    def __str__(self) -> str:
        return _bech32.encode(HYBRID_IDENTITY_HRP, self.seed).upper()

    def _unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type != _hybrid.STANZA_TYPE:
            return None
        return _hybrid.unwrap(stanza, self.seed)


@dataclass(frozen=True)
class ScryptRecipient:
    """Encrypt to a passphrase (must be the only recipient of a file)."""

    passphrase: str = field(repr=False)
    work_factor: int = _scrypt.DEFAULT_WORK_FACTOR
    kind = "scrypt"

    def _wrap(self, file_key: bytes) -> Stanza:
        return _scrypt.wrap(file_key, self.passphrase, self.work_factor)


@dataclass(frozen=True)
class ScryptIdentity:
    passphrase: str = field(repr=False)
    max_work_factor: int = _scrypt.MAX_WORK_FACTOR

    def _unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type != _scrypt.STANZA_TYPE:
            return None
        return _scrypt.unwrap(stanza, self.passphrase, self.max_work_factor)


Recipient = X25519Recipient | HybridRecipient | ScryptRecipient
Identity = X25519Identity | HybridIdentity | ScryptIdentity


def generate_x25519_identity() -> X25519Identity:
    return X25519Identity(X25519PrivateKey.generate().private_bytes_raw())


def generate_hybrid_identity() -> HybridIdentity:
    """A post-quantum hybrid identity: choose it for material that must stay secret for
    decades (recorded today, attacked by a future quantum computer)."""
    return HybridIdentity(os.urandom(_hybrid.SEED_SIZE))


def parse_recipient(text: str) -> X25519Recipient | HybridRecipient:
    """Parse ``age1...`` or ``age1pq1...`` (lower case, as age prints them)."""
    text = text.strip()
    if text != text.lower():
        raise KeyFormatError("recipients are written in lower case")
    hrp, data = _bech32.decode(text)
    if hrp == X25519_RECIPIENT_HRP and len(data) == 32:
        return X25519Recipient(data)
    if hrp == HYBRID_RECIPIENT_HRP and len(data) == _hybrid.PUBLIC_SIZE:
        _hybrid.public_key(data)  # refuses an invalid ML-KEM key now, not at sealing time
        return HybridRecipient(data)
    raise KeyFormatError("not an age X25519 or mlkem768x25519 recipient")


def parse_identity(text: str) -> X25519Identity | HybridIdentity:
    """Parse ``AGE-SECRET-KEY-1...`` or ``AGE-SECRET-KEY-PQ-1...``."""
    hrp, data = _bech32.decode(text.strip())
    if hrp == X25519_IDENTITY_HRP and len(data) == 32:
        return X25519Identity(data)
    if hrp == HYBRID_IDENTITY_HRP and len(data) == _hybrid.SEED_SIZE:
        return HybridIdentity(data)
    raise KeyFormatError("not an age X25519 or post-quantum identity")


def parse_identities(text: str) -> list[X25519Identity | HybridIdentity]:
    """Parse an identity file as age writes it: one key a line, ``#`` comments."""
    lines = [ln.strip() for ln in text.splitlines()]
    found = [parse_identity(ln) for ln in lines if ln and not ln.startswith("#")]
    if not found:
        raise KeyFormatError("the identity file holds no identity")
    return found
