from __future__ import annotations

import base64
import io
import os

import pytest

from crypto.age import (
    decrypt,
    decrypt_bytes,
    decrypt_with_passphrase,
    encrypt,
    encrypt_bytes,
    encrypt_with_passphrase,
)
from crypto.errors import (
    ArmorError,
    HeaderError,
    NoIdentityMatch,
    RecipientPolicyError,
    TruncatedPayload,
    UnsupportedVersion,
    WorkFactorTooHigh,
)
from crypto.keys import (
    ScryptRecipient,
    generate_hybrid_identity,
    generate_x25519_identity,
)

CHUNK = 64 * 1024


@pytest.mark.parametrize("make", [generate_x25519_identity, generate_hybrid_identity])
@pytest.mark.parametrize("size", [0, 1, CHUNK, 2 * CHUNK + 1])
def test_round_trip(make: object, size: int) -> None:
    ids = [make() for _ in range(3)]  # type: ignore[operator]
    data = os.urandom(size)
    blob = encrypt_bytes(data, [i.recipient() for i in ids])
    for identity in ids:
        assert decrypt_bytes(blob, [identity]) == data


def test_reader_and_matched_identity() -> None:
    a, b = generate_x25519_identity(), generate_x25519_identity()
    blob = encrypt_bytes(b"hello world", [a.recipient(), b.recipient()])
    d = decrypt(io.BytesIO(blob), [b])
    assert d.identity == b
    assert len(d.stanzas) == 2
    assert d.reader().read() == b"hello world"


def test_passphrase_round_trip() -> None:
    out = io.BytesIO()
    with encrypt_with_passphrase(out, "пароль", work_factor=10) as w:
        w.write(b"secret")
    assert b"".join(decrypt_with_passphrase(io.BytesIO(out.getvalue()), "пароль")) == b"secret"
    with pytest.raises(NoIdentityMatch):
        decrypt_with_passphrase(io.BytesIO(out.getvalue()), "wrong")
    with pytest.raises(WorkFactorTooHigh):
        decrypt_with_passphrase(io.BytesIO(out.getvalue()), "пароль", max_work_factor=9)


def test_passphrase_cannot_open_key_file() -> None:
    blob = encrypt_bytes(b"x", [generate_x25519_identity().recipient()])
    with pytest.raises(NoIdentityMatch):
        decrypt_with_passphrase(io.BytesIO(blob), "p")


@pytest.mark.parametrize(
    "recipients",
    [
        [],
        [generate_x25519_identity().recipient(), generate_hybrid_identity().recipient()],
        [ScryptRecipient("p", 10), generate_x25519_identity().recipient()],
        [ScryptRecipient("p", 10), ScryptRecipient("q", 10)],
    ],
)
def test_recipient_policy(recipients: list[object]) -> None:
    with pytest.raises(RecipientPolicyError):
        encrypt(io.BytesIO(), recipients)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"-----BEGIN AGE ENCRYPTED FILE-----\n", ArmorError),
        (b"age-encryption.org/v2\n", UnsupportedVersion),
        (b"", HeaderError),
        (b"age-encryption.org/v1\n--- AAAA\n", HeaderError),
        (b"age-encryption.org/v1\n-> big\n" + (b"A" * 64 + b"\n") * 300, HeaderError),
        (b"age-encryption.org/v1\n" + b"-> x\n\n" * 300 + b"--- AAAA\n", HeaderError),
        (b"age-encryption.org/v1\n-> " + b"a" * 5000 + b"\n\n", HeaderError),
    ],
)
def test_bad_headers(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decrypt(io.BytesIO(data), [generate_x25519_identity()])


def test_unsealed_on_exception() -> None:
    identity, out = generate_x25519_identity(), io.BytesIO()

    def fail() -> None:
        with encrypt(out, [identity.recipient()]) as w:
            w.write(b"partial")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    with pytest.raises(TruncatedPayload):
        decrypt_bytes(out.getvalue(), [identity])


class Pipe(io.RawIOBase):
    """A non-seekable stream, like stdin or a socket."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._src.readinto(buffer)


def armor(data: bytes, eol: bytes = b"\n") -> bytes:
    text = base64.b64encode(data)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    body = [b"-----BEGIN AGE ENCRYPTED FILE-----", *lines, b"-----END AGE ENCRYPTED FILE-----"]
    return eol.join(body) + eol


@pytest.mark.parametrize("size", [0, 47, 48, CHUNK + 1])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
@pytest.mark.parametrize("pipe", [False, True])
def test_armored_and_piped_input(size: int, eol: bytes, pipe: bool) -> None:
    identity, data = generate_x25519_identity(), os.urandom(size)
    sealed = encrypt_bytes(data, [identity.recipient()])
    for blob in (sealed, b"\n \t" + armor(sealed, eol) + b"\r\n  "):
        src = io.BufferedReader(Pipe(blob)) if pipe else io.BytesIO(blob)
        assert b"".join(decrypt(src, [identity])) == data


def test_armor_required_or_refused() -> None:
    identity = generate_x25519_identity()
    sealed = encrypt_bytes(b"x", [identity.recipient()])
    with pytest.raises(ArmorError):
        decrypt(io.BytesIO(sealed), [identity], armored=True)
    with pytest.raises(ArmorError):
        decrypt(io.BytesIO(armor(sealed)), [identity], armored=False)
