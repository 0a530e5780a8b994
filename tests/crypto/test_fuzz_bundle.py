"""Runs the fuzz target on random and mutated inputs: only CryptoError may escape."""

from __future__ import annotations

from fuzz_bundle import SEED, TestOneInput
from hypothesis import given, settings
from hypothesis import strategies as st


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
