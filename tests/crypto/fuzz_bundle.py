"""Fuzz targets for the bundle reader: age header and STREAM, bundle layout, manifest.

Three targets, each deeper than the last; the only acceptable failure is a CryptoError:

* ``TestOneInput``: ``data`` as a bundle file, raw and spliced onto a valid prefix (the
  age header, STREAM and HMAC parsers);
* ``TestPlaintext``: ``data`` as the *plaintext* of a correctly encrypted age file (the
  bundle magic, lengths, manifest and signature checks: past the AEAD that random bytes
  never get through);
* ``TestSignedManifest``: ``data`` as a manifest that the device key signs, followed by
  the seed's entries (the manifest's canonical-JSON parser and every field check: past
  the signature).

Run with atheris installed:  python tests/crypto/fuzz_bundle.py [corpus_dir]
In pytest, ``test_fuzz_bundle.py`` runs them under hypothesis and for a bounded time
(``KUAGER_FUZZ_SECONDS``, default 10) on mutations of valid seeds.
"""

from __future__ import annotations

import contextlib
import io
import struct
import sys

from bundle_helpers import DEVICE, MemorySink, entry

from crypto.age import decrypt, encrypt
from crypto.bundle import MAGIC, SIGNATURE_LABEL, open_bundle, padme, seal_bundle
from crypto.errors import CryptoError
from crypto.keys import X25519Identity

IDENTITY = X25519Identity(bytes(range(1, 33)))


def _seed() -> bytes:
    out = io.BytesIO()
    entries = [entry("report-1.json", b'{"report": {}}'), entry("att-1", b"hello" * 10)]
    seal_bundle(out, [IDENTITY.recipient()], DEVICE, 1, entries, {"k": "v"}, pad=padme)
    return out.getvalue()


SEED = _seed()
#: The seed's plaintext: magic, length, manifest, signature, entries (with padding).
PLAINTEXT = b"".join(decrypt(io.BytesIO(SEED), [IDENTITY]))
_LENGTH = struct.unpack(">I", PLAINTEXT[len(MAGIC) : len(MAGIC) + 4])[0]
#: The seed's manifest, and the entry bytes that follow its signature.
MANIFEST = PLAINTEXT[len(MAGIC) + 4 : len(MAGIC) + 4 + _LENGTH]
ENTRIES = PLAINTEXT[len(MAGIC) + 4 + _LENGTH + 64 :]


def _open(bundle: bytes) -> None:
    with contextlib.suppress(CryptoError):
        open_bundle(io.BytesIO(bundle), [IDENTITY], MemorySink())


def _sealed(plaintext: bytes) -> bytes:
    out = io.BytesIO()
    with encrypt(out, [IDENTITY.recipient()]) as writer:
        writer.write(plaintext)
    return out.getvalue()


def TestOneInput(data: bytes) -> None:
    """Open ``data`` as a bundle, raw and spliced onto a valid header/prefix."""
    for candidate in (data, SEED[: len(data) % (len(SEED) + 1)] + data):
        _open(candidate)


def TestPlaintext(data: bytes) -> None:
    """``data`` as the plaintext of a valid age file to our identity."""
    _open(_sealed(data))


def TestSignedManifest(data: bytes) -> None:
    """``data`` as a manifest the device signs, then the seed's entries."""
    plaintext = (MAGIC + struct.pack(">I", len(data)) + data
                 + DEVICE.sign(SIGNATURE_LABEL, data) + ENTRIES)
    _open(_sealed(plaintext))


TARGETS = {"file": (TestOneInput, SEED), "plaintext": (TestPlaintext, PLAINTEXT),
           "manifest": (TestSignedManifest, MANIFEST)}


def main() -> None:  # pragma: no cover - needs atheris, not a test dependency
    import atheris

    target = TARGETS[sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1] in TARGETS
                     else "file"][0]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    main()
