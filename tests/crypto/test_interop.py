"""Interoperability with the reference ``age`` binary and with pyrage (rage), both ways.

Missing tools skip, unless KUAGER_REQUIRE_SYSTEM_TOOLS=1 (CI), where they fail.
The reference tools (age 1.1, pyrage) do not know mlkem768x25519 yet: hybrid files are
covered by the CCTV vectors instead.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import threading
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

import pytest
from bundle_helpers import DEVICE, entry

from crypto.age import decrypt, decrypt_with_passphrase, encrypt, encrypt_with_passphrase
from crypto.bundle import seal_bundle
from crypto.keys import X25519Identity, generate_x25519_identity, parse_identities

CHUNK = 64 * 1024
SIZES = [0, 1, CHUNK, 2 * CHUNK, 3 * CHUNK + 7]
COUNTS = [1, 3]


def _missing(what: str) -> None:
    if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{what} is required (KUAGER_REQUIRE_SYSTEM_TOOLS=1) but missing")
    pytest.skip(f"{what} not installed")


@pytest.fixture(scope="module")
def age_bin() -> str:
    path = shutil.which("age")
    if path is None:
        _missing("the reference age binary (Debian package 'age')")
    return str(path)


@pytest.fixture(scope="module")
def pyrage() -> ModuleType:
    try:
        import pyrage
    except ImportError:
        _missing("pyrage")
    return pyrage


def identities(n: int) -> list[X25519Identity]:
    return [generate_x25519_identity() for _ in range(n)]


def our_encrypt(data: bytes, ids: list[X25519Identity]) -> bytes:
    out = io.BytesIO()
    with encrypt(out, [i.recipient() for i in ids]) as w:
        w.write(data)
    return out.getvalue()


def our_decrypt(blob: bytes, ids: list[X25519Identity]) -> bytes:
    return b"".join(decrypt(io.BytesIO(blob), ids))


def identity_file(tmp_path: Path, ids: list[X25519Identity]) -> Path:
    path = tmp_path / "keys.txt"
    path.write_text("# test identities\n" + "".join(f"{i}\n" for i in ids))
    return path


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", COUNTS)
def test_age_decrypts_ours(age_bin: str, tmp_path: Path, size: int, count: int) -> None:
    data, ids = os.urandom(size), identities(count)
    keyfile = identity_file(tmp_path, ids[-1:])
    out = subprocess.run(
        [age_bin, "-d", "-i", str(keyfile)],
        input=our_encrypt(data, ids),
        capture_output=True,
        check=True,
    )
    assert out.stdout == data


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", COUNTS)
def test_we_decrypt_age(age_bin: str, size: int, count: int) -> None:
    data, ids = os.urandom(size), identities(count)
    args = [age_bin, "-e"] + [a for i in ids for a in ("-r", str(i.recipient()))]
    out = subprocess.run(args, input=data, capture_output=True, check=True)
    assert our_decrypt(out.stdout, ids[-1:]) == data


@pytest.mark.parametrize("size", [0, CHUNK + 1])
def test_we_decrypt_age_armor(age_bin: str, size: int) -> None:
    data, ids = os.urandom(size), identities(1)
    args = [age_bin, "-e", "-a", "-r", str(ids[0].recipient())]
    out = subprocess.run(args, input=data, capture_output=True, check=True)
    assert out.stdout.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert our_decrypt(out.stdout, ids) == data


def test_age_keygen_identity_file(age_bin: str, tmp_path: Path) -> None:
    keygen = shutil.which("age-keygen")
    if keygen is None:
        _missing("age-keygen")
    text = subprocess.run([str(keygen)], capture_output=True, check=True, text=True).stdout
    ids = parse_identities(text)
    assert f"# public key: {ids[0].recipient()}" in text


def sealed_bundle(ids: list[X25519Identity]) -> bytes:
    out = io.BytesIO()
    seal_bundle(out, [i.recipient() for i in ids], DEVICE, 1, [entry("a.txt", b"hello")], {})
    return out.getvalue()


def test_age_reads_our_bundle(age_bin: str, tmp_path: Path) -> None:
    """Auditors can check a bundle's outer layer with the reference tool."""
    ids = identities(2)
    keyfile = identity_file(tmp_path, ids[1:])
    out = subprocess.run(
        [age_bin, "-d", "-i", str(keyfile)],
        input=sealed_bundle(ids),
        capture_output=True,
        check=True,
    )
    assert out.stdout.startswith(b"kuager-bundle/v1\n")
    assert out.stdout.endswith(b"hello")


def test_pyrage_reads_our_bundle(pyrage: ModuleType) -> None:
    ids = identities(1)
    plain = pyrage.decrypt(sealed_bundle(ids), [pyrage.x25519.Identity.from_str(str(ids[0]))])
    assert plain.startswith(b"kuager-bundle/v1\n")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", COUNTS)
def test_pyrage_both_ways(pyrage: ModuleType, size: int, count: int) -> None:
    data, ids = os.urandom(size), identities(count)
    theirs = [pyrage.x25519.Identity.from_str(str(i)) for i in ids]
    assert pyrage.decrypt(our_encrypt(data, ids), theirs[:1]) == data
    blob = pyrage.encrypt(data, [t.to_public() for t in theirs])
    assert our_decrypt(blob, ids[-1:]) == data


@pytest.mark.parametrize("size", [0, CHUNK])
def test_pyrage_passphrase_both_ways(pyrage: ModuleType, size: int) -> None:
    data = os.urandom(size)
    out = io.BytesIO()
    with encrypt_with_passphrase(out, "Қазақ passphrase", work_factor=12) as w:
        w.write(data)
    assert pyrage.passphrase.decrypt(out.getvalue(), "Қазақ passphrase") == data
    theirs = pyrage.passphrase.encrypt(data, "Қазақ passphrase")
    assert b"".join(decrypt_with_passphrase(io.BytesIO(theirs), "Қазақ passphrase")) == data


GIB = 1 << 30
BLOCK = os.urandom(1 << 20)


def _generate(size: int) -> tuple[list[memoryview], str]:
    """Block boundaries for a deterministic stream and its SHA-256."""
    digest = hashlib.sha256()
    parts = []
    view = memoryview(BLOCK)
    for offset in range(0, size, len(BLOCK)):
        part = view[: min(len(BLOCK), size - offset)]
        parts.append(part)
        digest.update(part)
    return parts, digest.hexdigest()


def _pump(parts: list[memoryview], sink: BinaryIO, seal: list[X25519Identity] | None) -> None:
    try:
        if seal is None:
            for part in parts:
                sink.write(part)
        else:
            with encrypt(sink, [i.recipient() for i in seal]) as w:
                for part in parts:
                    w.write(part)
    finally:
        sink.close()


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["ours-to-age", "age-to-ours"])
def test_two_gib_stream(age_bin: str, tmp_path: Path, direction: str) -> None:
    ids = identities(1)
    parts, expected = _generate(2 * GIB)
    if direction == "ours-to-age":
        args = [age_bin, "-d", "-i", str(identity_file(tmp_path, ids))]
    else:
        args = [age_bin, "-e", "-r", str(ids[0].recipient())]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    seal = ids if direction == "ours-to-age" else None
    feeder = threading.Thread(target=_pump, args=(parts, proc.stdin, seal))
    feeder.start()
    digest = hashlib.sha256()
    with proc:
        out = proc.stdout
        chunks = iter(lambda: out.read(1 << 20), b"") if seal else decrypt(out, ids)
        for chunk in chunks:
            digest.update(chunk)
        feeder.join()
    assert proc.returncode == 0
    assert digest.hexdigest() == expected
