"""The age X25519 recipient stanza: ``-> X25519 base64(ephemeral share)``.

wrap key = HKDF-SHA-256(ikm=shared secret, salt=ephemeral share || recipient,
info=X25519_LABEL); body = ChaCha20-Poly1305(wrap key, zero nonce, file key).
An all-zero shared secret (low-order or identity share) is refused as a header error:
it would make the wrap key public.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto._header import FILE_KEY_SIZE, Stanza, b64decode, b64encode, hkdf
from crypto.errors import HeaderError

STANZA_TYPE = "X25519"
X25519_LABEL = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)
WRAPPED_SIZE = FILE_KEY_SIZE + 16


def public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes_raw()


def _shared(secret: X25519PrivateKey, share: bytes) -> bytes:
    try:
        return secret.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:
        raise HeaderError("X25519 share is a low-order point (all-zero shared secret)") from None


def wrap_from_parts(file_key: bytes, recipient: bytes, ephemeral: X25519PrivateKey) -> Stanza:
    share = public_bytes(ephemeral.public_key())
    shared = _shared(ephemeral, recipient)
    wrap_key = hkdf(shared, share + recipient, X25519_LABEL)
    body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza(STANZA_TYPE, (b64encode(share).decode("ascii"),), body)


def wrap(file_key: bytes, recipient: bytes) -> Stanza:
    return wrap_from_parts(file_key, recipient, X25519PrivateKey.generate())


def check(stanza: Stanza) -> bytes:
    """Validate the stanza's shape; return the ephemeral share."""
    if len(stanza.args) != 1:
        raise HeaderError("X25519 stanza must have exactly one argument")
    share = b64decode(stanza.args[0].encode("ascii"), "X25519 share")
    if len(share) != 32:
        raise HeaderError("X25519 share must be 32 bytes")
    if len(stanza.body) != WRAPPED_SIZE:
        raise HeaderError("X25519 stanza body must wrap a 16-byte file key")
    return share


def unwrap(stanza: Stanza, secret: X25519PrivateKey) -> bytes | None:
    """The file key, or None if this stanza is for someone else."""
    share = check(stanza)
    recipient = public_bytes(secret.public_key())
    wrap_key = hkdf(_shared(secret, share), share + recipient, X25519_LABEL)
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
    except InvalidTag:
        return None
