from __future__ import annotations

import os

import pytest

from crypto.errors import CryptoError, KeyFileError, WrongPassphrase
from crypto.keywrap import ARGON2ID_V1, KdfProfile, _wrap_key_from_parts, unwrap_key, wrap_key

KEY = bytes(range(32))


@pytest.mark.parametrize("passphrase", ["correct horse", "", "Қазақстан ұлы дала", "x" * 1000])
def test_round_trip(kdf_profile: KdfProfile, passphrase: str) -> None:
    assert unwrap_key(wrap_key(KEY, passphrase, kdf_profile), passphrase) == KEY


def test_nfc_normalisation(kdf_profile: KdfProfile) -> None:
    composed, decomposed = "\u0419", "\u0418\u0306"  # Cyrillic Й, precomposed and combining
    assert unwrap_key(wrap_key(KEY, composed, kdf_profile), decomposed) == KEY


def test_wrong_passphrase(kdf_profile: KdfProfile) -> None:
    with pytest.raises(WrongPassphrase):
        unwrap_key(wrap_key(KEY, "right", kdf_profile), "wrong")


def test_fresh_salt_and_nonce(kdf_profile: KdfProfile) -> None:
    assert wrap_key(KEY, "p", kdf_profile) != wrap_key(KEY, "p", kdf_profile)


def test_deterministic_known_answer(kdf_profile: KdfProfile) -> None:
    blob = _wrap_key_from_parts(KEY, "p", kdf_profile, bytes(16), bytes(12))
    assert blob.startswith(b"kuager-keywrap/v1 argon2id m=64 t=1 p=1\n")
    assert blob == _wrap_key_from_parts(KEY, "p", kdf_profile, bytes(16), bytes(12))
    assert len(blob) == len(b"kuager-keywrap/v1 argon2id m=64 t=1 p=1\n") + 76


def test_every_bit_flip_is_refused(kdf_profile: KdfProfile) -> None:
    blob = wrap_key(KEY, "p", kdf_profile)
    for i in range(len(blob)):
        for bit in (0, 7):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            with pytest.raises(CryptoError):
                unwrap_key(bytes(bad), "p")


def test_lowered_parameters_are_refused(kdf_profile: KdfProfile) -> None:
    blob = wrap_key(KEY, "p", KdfProfile("x", 128, 1, 1))
    with pytest.raises(WrongPassphrase):  # header is associated data
        unwrap_key(blob.replace(b"m=128", b"m=64"), "p")


@pytest.mark.parametrize(
    "header",
    [
        b"kuager-keywrap/v1 argon2id m=4194305 t=1 p=1\n",  # > 4 GiB
        b"kuager-keywrap/v1 argon2id m=1048577 t=1 p=1\n",  # > 1 GiB, 4x production
        b"kuager-keywrap/v1 argon2id m=64 t=17 p=1\n",
        b"kuager-keywrap/v1 argon2id m=256 t=1 p=17\n",
        b"kuager-keywrap/v1 argon2id m=99999999999 t=1 p=1\n",
        b"kuager-keywrap/v1 argon2id m=64 t=65 p=1\n",
        b"kuager-keywrap/v1 argon2id m=64 t=1 p=65\n",
        b"kuager-keywrap/v1 argon2id m=8 t=1 p=4\n",  # memory below 8 * lanes
        b"kuager-keywrap/v1 argon2id m=064 t=1 p=1\n",  # non-canonical number
        b"kuager-keywrap/v1 argon2id m=64 t=0 p=1\n",
        b"kuager-keywrap/v2 argon2id m=64 t=1 p=1\n",
        b"kuager-keywrap/v1 scrypt m=64 t=1 p=1\n",
        b"garbage",
        b"",
    ],
)
def test_damaged_or_absurd_blob(header: bytes) -> None:
    with pytest.raises(KeyFileError):
        unwrap_key(header + os.urandom(76), "p")


@pytest.mark.parametrize("cut", [1, 40, 75])
def test_truncated(kdf_profile: KdfProfile, cut: int) -> None:
    with pytest.raises(KeyFileError):
        unwrap_key(wrap_key(KEY, "p", kdf_profile)[:-cut], "p")


def test_trailing_data(kdf_profile: KdfProfile) -> None:
    with pytest.raises(KeyFileError):
        unwrap_key(wrap_key(KEY, "p", kdf_profile) + b"\0", "p")


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33)])
def test_key_length(kdf_profile: KdfProfile, key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_key(key, "p", kdf_profile)


def test_production_profile_is_costly() -> None:
    assert ARGON2ID_V1.memory_kib >= 262144
    assert ARGON2ID_V1.iterations >= 3
