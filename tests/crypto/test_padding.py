"""Padded bundles: the size tells only a Padmé bucket (FORMAT.md 3.1; issue 11, item 7)."""

from __future__ import annotations

import io
import os

import pytest
from bundle_helpers import DEVICE, entry, open_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.age import decrypt
from crypto.bundle import MIN_PADDED, PADDING_ENTRY, padme, seal_bundle
from crypto.keys import generate_x25519_identity

ALICE = generate_x25519_identity()


def sealed(sizes: list[int], padded: bool) -> bytes:
    out = io.BytesIO()
    entries = [entry(f"e{i}", os.urandom(n)) for i, n in enumerate(sizes)]
    seal_bundle(out, [ALICE.recipient()], DEVICE, 1, entries, {"k": "v"},
                pad=padme if padded else None)
    return out.getvalue()


@given(st.integers(min_value=0, max_value=1 << 40))
def test_padme_rounds_up_by_at_most_twelve_percent(length: int) -> None:
    padded = padme(length)
    assert padded >= max(length, MIN_PADDED)
    assert padded <= max(length, MIN_PADDED) * 1.12
    assert padme(padded) == padded  # a bucket boundary is its own bucket


def test_padme_buckets_are_coarse() -> None:
    assert len({padme(n) for n in range(1_000_000, 1_100_000)}) < 10


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200_000), max_size=4))
def test_padded_bundles_land_on_a_bucket_and_open_unchanged(sizes: list[int]) -> None:
    data = sealed(sizes, padded=True)
    manifest, staged = open_bytes(data, [ALICE])
    pad = staged.pop(PADDING_ENTRY)
    assert pad == bytes(len(pad))
    assert sorted(staged) == sorted(f"e{i}" for i in range(len(sizes)))
    assert manifest.entries[-1].name == PADDING_ENTRY
    # The whole payload (magic, manifest, signature, entries) is exactly one bucket.
    payload = b"".join(decrypt(io.BytesIO(data), [ALICE]))
    assert len(payload) == padme(len(payload))


def test_bundles_of_different_content_in_one_bucket_have_one_size() -> None:
    sizes = {len(sealed([n], padded=True)) for n in (0, 1_000, 20_000, 50_000)}
    assert len(sizes) == 1
    unpadded = {len(sealed([n], padded=False)) for n in (0, 1_000, 20_000, 50_000)}
    assert len(unpadded) == 4


@pytest.mark.parametrize("n", [0, 1, 70_000, 1_000_000, 3_333_333])
def test_padded_payload_is_exactly_a_bucket(n: int) -> None:
    data = sealed([n], padded=True)
    payload = b"".join(decrypt(io.BytesIO(data), [ALICE]))
    assert len(payload) == padme(len(payload)) and len(payload) >= n
