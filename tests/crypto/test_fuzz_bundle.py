"""Runs the fuzz targets on random and mutated inputs: only CryptoError may escape.

``test_fuzz_for_a_bounded_time`` mutates the valid seeds of every target for
``KUAGER_FUZZ_SECONDS`` seconds (default 10; CI runs it as part of the suite); the
random seed is printed in any failure (``KUAGER_FUZZ_SEED`` replays it).
"""

from __future__ import annotations

import io
import os
import random
import struct
import time

import pytest
from bundle_helpers import DEVICE, MemorySink
from fuzz_bundle import (
    IDENTITY,
    MANIFEST,
    PLAINTEXT,
    SEED,
    TARGETS,
    TestOneInput,
    TestPlaintext,
    TestSignedManifest,
    _sealed,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.bundle import MAGIC, SIGNATURE_LABEL, open_bundle
from crypto.errors import ManifestError

FUZZ_SECONDS = float(os.environ.get("KUAGER_FUZZ_SECONDS", "10"))
FUZZ_SEED = int(os.environ.get("KUAGER_FUZZ_SEED") or random.SystemRandom().randrange(1 << 30))
#: Fragments that reach far into a JSON parser when spliced in.
_JSON_BITS = [b'"', b"{", b"}", b"[", b"]", b",", b":", b"-0", b"1e9", b"9" * 20, b"null",
              b"true", b"\\u0000", b"\\ud800", b'"size":', b'"name":"..",', b"\xff", b" ",
              str(1 << 53).encode(), b'"entries":[]', b'"sequence":0']


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_fuzz_bundle_random_inputs(data: bytes) -> None:
    TestOneInput(data)


@given(
    st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=4),
    st.integers(0, len(SEED)),
)
@settings(max_examples=300, deadline=None)
def test_fuzz_bundle_mutated_seed(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SEED)
    for pos, value in edits:
        data[pos] = value
    TestOneInput(bytes(data[:cut]))


@given(st.binary(max_size=2048))
@settings(max_examples=100, deadline=None)
def test_fuzz_plaintext(data: bytes) -> None:
    TestPlaintext(PLAINTEXT[: len(data) % 64] + data)


@given(st.lists(st.tuples(st.integers(0, len(MANIFEST)), st.sampled_from(_JSON_BITS)),
                max_size=3))
@settings(max_examples=100, deadline=None)
def test_fuzz_signed_manifest(splices: list[tuple[int, bytes]]) -> None:
    data = MANIFEST
    for pos, bit in splices:
        data = data[:pos] + bit + data[pos:]
    TestSignedManifest(data)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random edits: flip, set, insert, delete, duplicate, splice a JSON fragment."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(out) + 1)
        kind = rng.randrange(6)
        if kind == 0 and out:
            out[pos % len(out)] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[pos % len(out)] = rng.randrange(256)
        elif kind == 2:
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif kind == 3:
            del out[pos : pos + rng.randint(1, 64)]
        elif kind == 4:
            out[pos:pos] = out[max(0, pos - 32) : pos]
        else:
            out[pos:pos] = rng.choice(_JSON_BITS)
    return bytes(out)


def test_fuzz_for_a_bounded_time() -> None:
    rng = random.Random(FUZZ_SEED)  # noqa: S311 - fuzzing, not secrets
    deadline = time.monotonic() + FUZZ_SECONDS
    runs = dict.fromkeys(TARGETS, 0)
    while time.monotonic() < deadline:
        name = rng.choice(list(TARGETS))
        target, seed = TARGETS[name]
        data = mutate(rng, seed)
        try:
            target(data)
        except Exception as exc:  # a bug: anything but CryptoError escaped
            raise AssertionError(f"{name} target, KUAGER_FUZZ_SEED={FUZZ_SEED}: "
                                 f"{type(exc).__name__}: {exc}") from exc
        runs[name] += 1
    assert all(runs.values()), runs  # every target ran
    if out := os.environ.get("KUAGER_RELIABILITY_FUZZ_OUT"):
        from pathlib import Path

        Path(out).write_text(f'{{"seconds": {FUZZ_SECONDS}, "seed": {FUZZ_SEED}, '
                             f'"runs": {sum(runs.values())}, "per_target": {runs!r}}}'
                             .replace("'", '"'))


def test_a_non_ascii_device_key_is_a_manifest_error() -> None:
    """Found by the bounded fuzz run: a ValueError escaped before the signature check,
    so anyone holding the coordinator's public key could make an import crash."""
    bad = MANIFEST.replace(b'"public_key":"', '"public_key":"\u00e9'.encode())
    plaintext = MAGIC + struct.pack(">I", len(bad)) + bad + DEVICE.sign(SIGNATURE_LABEL, bad)
    with pytest.raises(ManifestError):
        open_bundle(io.BytesIO(_sealed(plaintext)), [IDENTITY], MemorySink())
