"""Fixtures for crypto/ tests. The only place the cheap KDF profile is selected."""

from __future__ import annotations

import pytest

from crypto.keywrap import TEST_PROFILE, KdfProfile


@pytest.fixture
def kdf_profile() -> KdfProfile:
    """Argon2id at toy cost: tests stay fast, production code cannot reach this."""
    return TEST_PROFILE
