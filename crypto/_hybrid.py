"""age's post-quantum hybrid stanza: ``-> mlkem768x25519 base64(enc)``.

HPKE (RFC 9180) base mode with KEM MLKEM768-X25519, HKDF-SHA-256 and ChaCha20-Poly1305,
info = HYBRID_LABEL, sealing the 16-byte file key: enc is 1120 bytes (ML-KEM-768
ciphertext then X25519 share), the body 32 bytes. An identity is a 32-byte seed expanded
with SHAKE256 to 96 bytes: the ML-KEM-768 seed (d || z) then the X25519 scalar. The
recipient is the ML-KEM-768 encapsulation key (1184 bytes) then the X25519 key.
Security holds if *either* ML-KEM-768 or X25519 stays unbroken.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto._header import FILE_KEY_SIZE, Stanza, b64decode, b64encode
from crypto.errors import HeaderError, KeyFormatError

STANZA_TYPE = "mlkem768x25519"
HYBRID_LABEL = b"age-encryption.org/mlkem768x25519"
SEED_SIZE = 32
MLKEM_PUBLIC_SIZE = 1184
PUBLIC_SIZE = MLKEM_PUBLIC_SIZE + 32
ENC_SIZE = 1088 + 32
_SUITE = (hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def _suite() -> hpke.Suite:
    return hpke.Suite(*_SUITE)


def expand_seed(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, X25519PrivateKey]:
    if len(seed) != SEED_SIZE:
        raise KeyFormatError("a hybrid identity seed is 32 bytes")
    shake = hashes.Hash(hashes.SHAKE256(96))
    shake.update(seed)
    full = shake.finalize()
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(full[:64]),
        X25519PrivateKey.from_private_bytes(full[64:]),
    )


def private_key(seed: bytes) -> hpke.MLKEM768X25519PrivateKey:
    return hpke.MLKEM768X25519PrivateKey(*expand_seed(seed))


def public_bytes(seed: bytes) -> bytes:
    pq, classic = expand_seed(seed)
    return pq.public_key().public_bytes_raw() + classic.public_key().public_bytes_raw()


def public_key(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    if len(raw) != PUBLIC_SIZE:
        raise KeyFormatError("a hybrid recipient is 1216 bytes")
    try:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM_PUBLIC_SIZE]),
            X25519PublicKey.from_public_bytes(raw[MLKEM_PUBLIC_SIZE:]),
        )
    except ValueError:
        raise KeyFormatError("the hybrid recipient's ML-KEM key is invalid") from None


def wrap(file_key: bytes, recipient: bytes) -> Stanza:
    """HPKE randomness comes from OpenSSL; vectors fix it by pinning the file key only."""
    sealed = _suite().encrypt(file_key, public_key(recipient), info=HYBRID_LABEL)
    enc, body = sealed[:ENC_SIZE], sealed[ENC_SIZE:]
    return Stanza(STANZA_TYPE, (b64encode(enc).decode("ascii"),), body)


def check(stanza: Stanza) -> bytes:
    if len(stanza.args) != 1:
        raise HeaderError("mlkem768x25519 stanza must have exactly one argument")
    enc = b64decode(stanza.args[0].encode("ascii"), "mlkem768x25519 enc")
    if len(enc) != ENC_SIZE:
        raise HeaderError("mlkem768x25519 enc must be 1120 bytes")
    if len(stanza.body) != FILE_KEY_SIZE + 16:
        raise HeaderError("mlkem768x25519 stanza body must wrap a 16-byte file key")
    return enc


def unwrap(stanza: Stanza, seed: bytes) -> bytes | None:
    """The file key, or None if this stanza is for someone else."""
    enc = check(stanza)
    pq, classic = expand_seed(seed)
    try:
        classic.exchange(X25519PublicKey.from_public_bytes(enc[-32:]))
    except ValueError:
        raise HeaderError("hybrid X25519 share is low-order (all-zero shared secret)") from None
    try:
        return _suite().decrypt(
            enc + stanza.body, hpke.MLKEM768X25519PrivateKey(pq, classic), info=HYBRID_LABEL
        )
    except InvalidTag:
        return None
