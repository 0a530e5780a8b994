"""Padmé (Nikitin et al., PETS 2019): sizes rounded up so that at most O(log log n) bits
of a length leak. Used for bundles (crypto/bundle.py) and attachment files at rest
(crypto/blob.py)."""

from __future__ import annotations


def padme(length: int, minimum: int = 0) -> int:
    """``length`` rounded up to its Padmé bucket (at most 12 % more, much less for large
    sizes), and never below ``minimum``."""
    length = max(length, minimum, 1)
    exponent = length.bit_length() - 1
    size_bits = exponent.bit_length()
    mask = (1 << (exponent - size_bits)) - 1
    return (length + mask) & ~mask
