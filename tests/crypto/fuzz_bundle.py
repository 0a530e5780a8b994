"""Fuzz target for the bundle reader (age header, STREAM, manifest parsers).

Run with atheris installed:  python tests/crypto/fuzz_bundle.py [corpus_dir]
``test_fuzz_bundle_random_inputs`` runs the same target under hypothesis in pytest.
The only acceptable failure is a CryptoError; anything else is a bug.
"""

from __future__ import annotations

import contextlib
import io
import sys

from bundle_helpers import DEVICE, MemorySink, entry

from crypto.bundle import open_bundle, seal_bundle
from crypto.errors import CryptoError
from crypto.keys import X25519Identity

IDENTITY = X25519Identity(bytes(range(1, 33)))


def _seed() -> bytes:
    out = io.BytesIO()
    seal_bundle(out, [IDENTITY.recipient()], DEVICE, 1, [entry("a.txt", b"hello")], {"k": "v"})
    return out.getvalue()


SEED = _seed()


def TestOneInput(data: bytes) -> None:
    """Open ``data`` as a bundle, raw and spliced onto a valid header/prefix."""
    for candidate in (data, SEED[: len(data) % (len(SEED) + 1)] + data):
        with contextlib.suppress(CryptoError):
            open_bundle(io.BytesIO(candidate), [IDENTITY], MemorySink())


def main() -> None:  # pragma: no cover - needs atheris, not a test dependency
    import atheris

    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    main()
