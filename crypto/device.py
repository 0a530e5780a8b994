"""Device signing keys (Ed25519): who wrote a bundle.

A device id is derived from the public key, so a manifest cannot claim one device's id
with another device's key. The fingerprint is what a coordinator compares over the
phone on first contact (trust on first use): thirty decimal digits in six groups,
about 100 bits, easy to read aloud in Kazakh, Russian or English.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import BadSignature, KeyFormatError

DEVICE_ID_LABEL = b"kuager.org/v1/device-id\x00"
FINGERPRINT_LABEL = b"kuager.org/v1/device-fingerprint\x00"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def device_id_for(public_key: bytes) -> str:
    """32 lower-case hex characters: SHA-256(label || public key), first 16 bytes."""
    _check_public(public_key)
    return hashlib.sha256(DEVICE_ID_LABEL + public_key).hexdigest()[:32]


def fingerprint_for(public_key: bytes) -> str:
    """Six groups of five digits, e.g. ``04219 55120 ...``: each group is five bytes of
    SHA-256(label || public key) as a big-endian integer modulo 100000."""
    _check_public(public_key)
    digest = hashlib.sha256(FINGERPRINT_LABEL + public_key).digest()
    groups = (int.from_bytes(digest[i : i + 5], "big") % 100000 for i in range(0, 30, 5))
    return " ".join(f"{g:05d}" for g in groups)


def _check_public(public_key: bytes) -> None:
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise KeyFormatError("an Ed25519 public key is 32 bytes")


def verify_signature(public_key: bytes, label: bytes, message: bytes, signature: bytes) -> None:
    """Raise BadSignature unless ``signature`` is the device's over ``label || message``."""
    _check_public(public_key)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, label + message)
    except (InvalidSignature, ValueError):
        raise BadSignature("the device signature does not verify") from None


class DeviceKey:
    """A device's Ed25519 signing key. Its ``repr`` never shows the secret."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceKey:
        if len(raw) != 32:
            raise KeyFormatError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        """The 32-byte seed: store it only inside the encrypted database."""
        return self._key.private_bytes_raw()

    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    @property
    def device_id(self) -> str:
        return device_id_for(self.public_bytes())

    def fingerprint(self) -> str:
        return fingerprint_for(self.public_bytes())

    def sign(self, label: bytes, message: bytes) -> bytes:
        """Sign ``label || message``; labels keep signatures for one purpose from being
        replayed as another."""
        return self._key.sign(label + message)

    def __repr__(self) -> str:
        return f"DeviceKey(device_id={self.device_id!r})"
