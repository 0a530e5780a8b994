"""Kuager cryptography: pure functions over bytes and streams (see README.md).

Public API; everything in ``crypto._*`` modules is private.
"""

from crypto.blob import BlobReader, BlobWriter, iter_blob, new_file_key
from crypto.errors import (
    BlobError,
    CryptoError,
    KeyFileError,
    WrongPassphrase,
)
from crypto.keywrap import ARGON2ID_V1, TEST_PROFILE, KdfProfile, unwrap_key, wrap_key

__all__ = [
    "ARGON2ID_V1",
    "TEST_PROFILE",
    "BlobError",
    "BlobReader",
    "BlobWriter",
    "CryptoError",
    "KdfProfile",
    "KeyFileError",
    "WrongPassphrase",
    "iter_blob",
    "new_file_key",
    "unwrap_key",
    "wrap_key",
]
