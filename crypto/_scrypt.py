"""The age scrypt passphrase stanza: ``-> scrypt base64(salt) log2(N)``.

wrap key = scrypt(passphrase, salt=SCRYPT_LABEL || salt, N=2**log2N, r=8, p=1).
A passphrase stanza must be the only stanza: a file anyone with the passphrase can
open must not look like it is only for a key holder. The work factor is bounded on
reading so a hostile file cannot demand hours of CPU or gigabytes of memory.
"""

from __future__ import annotations

import os
import re
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from crypto._header import FILE_KEY_SIZE, Stanza, b64decode, b64encode
from crypto.errors import HeaderError, WorkFactorTooHigh

STANZA_TYPE = "scrypt"
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
SALT_SIZE = 16
DEFAULT_WORK_FACTOR = 18  # as age: 256 MiB, about a second
MAX_WORK_FACTOR = 22  # as age's default limit on decryption (4 GiB worst case)
_ZERO_NONCE = bytes(12)
_WORK = re.compile(r"[1-9][0-9]?")


def _wrap_key(passphrase: str, salt: bytes, log_n: int) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = Scrypt(salt=SCRYPT_LABEL + salt, length=32, n=1 << log_n, r=8, p=1)
    return kdf.derive(secret)


def wrap_from_parts(file_key: bytes, passphrase: str, salt: bytes, log_n: int) -> Stanza:
    body = ChaCha20Poly1305(_wrap_key(passphrase, salt, log_n)).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza(STANZA_TYPE, (b64encode(salt).decode("ascii"), str(log_n)), body)


def wrap(file_key: bytes, passphrase: str, log_n: int = DEFAULT_WORK_FACTOR) -> Stanza:
    return wrap_from_parts(file_key, passphrase, os.urandom(SALT_SIZE), log_n)


def check(stanza: Stanza, max_work_factor: int = MAX_WORK_FACTOR) -> tuple[bytes, int]:
    """Validate the stanza's shape and cost; return (salt, log2 N)."""
    if len(stanza.args) != 2:
        raise HeaderError("scrypt stanza must have a salt and a work factor")
    salt = b64decode(stanza.args[0].encode("ascii"), "scrypt salt")
    if len(salt) != SALT_SIZE:
        raise HeaderError("scrypt salt must be 16 bytes")
    if not _WORK.fullmatch(stanza.args[1]):
        raise HeaderError("scrypt work factor must be a decimal number without leading zeros")
    log_n = int(stanza.args[1])
    if log_n > max_work_factor:
        raise WorkFactorTooHigh(f"scrypt work factor {log_n} exceeds the limit {max_work_factor}")
    if len(stanza.body) != FILE_KEY_SIZE + 16:
        raise HeaderError("scrypt stanza body must wrap a 16-byte file key")
    return salt, log_n


def unwrap(stanza: Stanza, passphrase: str, max_work_factor: int = MAX_WORK_FACTOR) -> bytes | None:
    """The file key, or None if the passphrase is wrong."""
    salt, log_n = check(stanza, max_work_factor)
    try:
        return ChaCha20Poly1305(_wrap_key(passphrase, salt, log_n)).decrypt(
            _ZERO_NONCE, stanza.body, None
        )
    except InvalidTag:
        return None
