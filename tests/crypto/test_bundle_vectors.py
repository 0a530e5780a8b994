"""Our bundle vectors in crypto/vectors/: each opens as its ``expect:`` line says, and
the committed generator reproduces every file byte for byte."""

from __future__ import annotations

import hashlib
import importlib.util
import zlib
from pathlib import Path
from types import ModuleType

import pytest
from bundle_helpers import open_bytes

from crypto.errors import (
    BadSignature,
    ContentMismatch,
    CryptoError,
    HeaderError,
    HeaderMacError,
    ManifestError,
    NoIdentityMatch,
    PayloadError,
    RecipientMismatch,
    UnsafeEntryName,
    UnsupportedBundleVersion,
)
from crypto.keys import parse_identity

VECTORS = Path(__file__).parents[2] / "crypto" / "vectors"
EXPECT: dict[str, type[CryptoError]] = {
    "no match": NoIdentityMatch,
    "HMAC failure": HeaderMacError,
    "header failure": HeaderError,
    "payload failure": PayloadError,
    "unsupported version": UnsupportedBundleVersion,
    "manifest failure": ManifestError,
    "bad signature": BadSignature,
    "unsafe name": UnsafeEntryName,
    "content mismatch": ContentMismatch,
    "recipient mismatch": RecipientMismatch,
}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vector_files() -> list[Path]:
    return sorted(p for p in VECTORS.iterdir() if p.is_file() and p.suffix != ".py")


def test_generator_reproduces_committed_files() -> None:
    built = generator().build_vectors()
    assert sorted(built) == [p.name for p in vector_files()]
    for path in vector_files():
        assert built[path.name] == path.read_bytes(), f"{path.name} is stale: rerun generate.py"


@pytest.mark.parametrize("path", vector_files(), ids=lambda p: p.name)
def test_vector(path: Path) -> None:
    head, _, body = path.read_bytes().partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    identity = parse_identity(meta["identity"][0])
    expect = meta["expect"][0]
    if expect != "success":
        with pytest.raises(EXPECT[expect]):
            open_bytes(body, [identity])
        return
    manifest, got = open_bytes(body, [identity])
    assert manifest.device_public_key.hex() == meta["device"][0]
    listed = [line.split(" ") for line in meta.get("entry", [])]
    assert [(e.name, str(e.size), e.sha256.hex()) for e in manifest.entries] == [
        tuple(x) for x in listed
    ]
    assert {n: hashlib.sha256(d).hexdigest() for n, d in got.items()} == {
        n: h for n, _, h in listed
    }
