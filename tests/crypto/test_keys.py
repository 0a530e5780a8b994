from __future__ import annotations

import pytest

from crypto import _bech32
from crypto.errors import KeyFormatError
from crypto.keys import (
    HybridIdentity,
    HybridRecipient,
    X25519Identity,
    X25519Recipient,
    generate_hybrid_identity,
    generate_x25519_identity,
    parse_identities,
    parse_identity,
    parse_recipient,
)

# From the CCTV hybrid vectors and age's documentation.
PQ_IDENTITY = "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG"


@pytest.mark.parametrize("make", [generate_x25519_identity, generate_hybrid_identity])
def test_string_round_trip(make: object) -> None:
    identity = make()  # type: ignore[operator]
    assert parse_identity(str(identity)) == identity
    assert parse_recipient(str(identity.recipient())) == identity.recipient()
    assert str(identity).startswith("AGE-SECRET-KEY-")
    assert str(identity.recipient()).startswith("age1")


def test_prefixes() -> None:
    x, h = generate_x25519_identity(), generate_hybrid_identity()
    assert isinstance(parse_recipient(str(x.recipient())), X25519Recipient)
    assert isinstance(parse_recipient(str(h.recipient())), HybridRecipient)
    assert str(h.recipient()).startswith("age1pq1")
    assert str(h).startswith("AGE-SECRET-KEY-PQ-1")


def test_known_hybrid_identity() -> None:
    identity = parse_identity(PQ_IDENTITY)
    assert isinstance(identity, HybridIdentity)
    assert str(identity) == PQ_IDENTITY
    assert len(identity.recipient().public) == 1216


def test_secrets_hidden_in_repr() -> None:
    x = generate_x25519_identity()
    assert x.secret.hex() not in repr(x)
    assert str(x) not in repr(x)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "age1",
        "age1qqqqqqqqqqqqqqq",
        "AGE1" + "Q" * 58,
        PQ_IDENTITY.lower().replace("pq-1h", "pq-1H"),  # mixed case
        PQ_IDENTITY[:-1] + "Q",  # checksum
        PQ_IDENTITY[:-2] + "bx",  # invalid character b
        "x" * 5000,
        "Қ1qqqqqqqq",
    ],
)
def test_bad_strings(text: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_recipient(text)
    with pytest.raises(KeyFormatError):
        parse_identity(text)


def test_identity_is_not_a_recipient() -> None:
    with pytest.raises(KeyFormatError):
        parse_recipient(str(generate_x25519_identity()))
    with pytest.raises(KeyFormatError):
        parse_identity(str(generate_x25519_identity().recipient()))


def test_identity_file() -> None:
    a, b = generate_x25519_identity(), generate_hybrid_identity()
    text = f"# created: today\n# public key: {a.recipient()}\n{a}\n\n{b}\n"
    assert parse_identities(text) == [a, b]
    with pytest.raises(KeyFormatError):
        parse_identities("# nothing\n")


@pytest.mark.parametrize("data", [b"", b"\x00", bytes(range(32)), bytes(1216)])
def test_bech32_round_trip(data: bytes) -> None:
    assert _bech32.decode(_bech32.encode("age", data)) == ("age", data)


def test_bech32_bip173_vector() -> None:
    assert _bech32.decode("A12UEL5L") == ("a", b"")
    assert X25519Identity(bytes(32)) == parse_identity(str(X25519Identity(bytes(32))))
