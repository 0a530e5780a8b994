"""The public C2SP CCTV age vectors, one test per file (armored files included)."""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from pathlib import Path

import pytest

from crypto.age import decrypt
from crypto.errors import (
    ArmorError,
    CryptoError,
    HeaderError,
    HeaderMacError,
    NoIdentityMatch,
    PayloadError,
)
from crypto.keys import Identity, ScryptIdentity, parse_identity

EXPECT: dict[str, type[CryptoError] | None] = {
    "success": None,
    "no match": NoIdentityMatch,
    "HMAC failure": HeaderMacError,
    "header failure": HeaderError,
    "payload failure": PayloadError,
    "armor failure": ArmorError,
}
KNOWN_KEYS = {
    "expect",
    "payload",
    "identity",
    "passphrase",
    "armored",
    "file key",
    "comment",
    "compressed",
}


#: Vendored copy, with its licence and provenance: tests/vectors/README.md.
VENDORED = Path(__file__).parents[1] / "vectors" / "age"


def vectors_dir() -> Path:
    env = os.environ.get("KUAGER_VECTORS_DIR")
    return Path(env) if env else VENDORED


def vector_files() -> list[Path]:
    d = vectors_dir()
    return (
        sorted(p for p in d.iterdir() if p.is_file() and p.name != "README.md")
        if d.is_dir()
        else []
    )


def parse_vector(path: Path) -> tuple[dict[str, list[str]], bytes]:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return meta, body


@pytest.mark.parametrize("path", vector_files(), ids=lambda p: p.name)
def test_vector(path: Path) -> None:
    meta, body = parse_vector(path)
    if set(meta) - KNOWN_KEYS:
        pytest.skip(f"unknown keys {set(meta) - KNOWN_KEYS}: the README says to ignore the file")
    identities: list[Identity] = [parse_identity(s) for s in meta.get("identity", [])]
    identities += [ScryptIdentity(p) for p in meta.get("passphrase", [])]
    armored = meta.get("armored") == ["yes"]
    expected = EXPECT[meta["expect"][0]]
    released = hashlib.sha256()

    def run() -> None:
        for chunk in decrypt(io.BytesIO(body), identities, armored=armored or None):
            released.update(chunk)

    if expected is None:
        run()
    else:
        with pytest.raises(expected):
            run()
    if "payload" in meta:
        assert released.hexdigest() == meta["payload"][0]


def test_vendored_vectors_are_all_there() -> None:
    """A fresh clone runs every vector: none may be skipped for want of the files."""
    vendored = sorted(p.name for p in VENDORED.iterdir())
    assert len(vendored) == 143
    assert {p.split("_")[0] for p in vendored} >= {"x25519", "scrypt", "stream", "hmac",
                                                   "header", "armor", "hybrid"}
