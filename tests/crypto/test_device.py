from __future__ import annotations

import re

import pytest

from crypto.device import DeviceKey, device_id_for, fingerprint_for, verify_signature
from crypto.errors import BadSignature, KeyFormatError

KEY = DeviceKey.from_private_bytes(bytes(range(32)))


def test_round_trip() -> None:
    again = DeviceKey.from_private_bytes(KEY.private_bytes())
    assert again.public_bytes() == KEY.public_bytes()
    assert again.device_id == KEY.device_id


def test_identifiers_are_stable_known_answers() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", KEY.device_id)
    assert re.fullmatch(r"(\d{5} ){5}\d{5}", KEY.fingerprint())
    assert KEY.device_id == device_id_for(KEY.public_bytes())
    assert KEY.fingerprint() == fingerprint_for(KEY.public_bytes())
    other = DeviceKey.generate()
    assert other.device_id != KEY.device_id
    assert other.fingerprint() != KEY.fingerprint()


def test_sign_and_verify_with_labels() -> None:
    sig = KEY.sign(b"label-a\x00", b"message")
    verify_signature(KEY.public_bytes(), b"label-a\x00", b"message", sig)
    for label, message in [(b"label-b\x00", b"message"), (b"label-a\x00", b"messagf")]:
        with pytest.raises(BadSignature):
            verify_signature(KEY.public_bytes(), label, message, sig)
    with pytest.raises(BadSignature):
        verify_signature(KEY.public_bytes(), b"label-a\x00", b"message", sig[:-1])


@pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33)])
def test_bad_lengths(raw: bytes) -> None:
    with pytest.raises(KeyFormatError):
        DeviceKey.from_private_bytes(raw)
    with pytest.raises(KeyFormatError):
        device_id_for(raw)


def test_repr_hides_secret() -> None:
    assert KEY.private_bytes().hex() not in repr(KEY)
    assert KEY.device_id in repr(KEY)
