"""Passphrase strength, judged on the server (the browser may run no script at all).

The passphrase is the only thing between a seized laptop and every report on it: the
store's Argon2id costs an attacker about a second per guess on this hardware, so a
passphrase needs enough entropy that guessing does not finish in a lifetime. Four or
five random words or twelve varied characters are the floor.
"""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MIN_DISTINCT = 6

#: The most common choices people make, in the three languages (and keyboard walks).
_COMMON = frozenset(
    {
        "password",
        "password123",
        "qwertyuiop",
        "qwerty123456",
        "123456789012",
        "iloveyou1234",
        "йцукенгшщзхъ",
        "пароль123456",
        "парольпароль",
        "кұпиясөз1234",
        "administrator",
        "kazakhstan2026",
        "qazaqstan2026",
        "казахстан2026",
        "қазақстан2026",
        "letmeinplease",
    }
)


def weakness(passphrase: str) -> object | None:
    """Why ``passphrase`` is too weak (a translatable message), or None if it will do."""
    text = unicodedata.normalize("NFC", passphrase)
    if len(text) < MIN_LENGTH:
        return _l("Use at least 12 characters; four or five random words are easy to remember.")
    if len(set(text.lower())) < MIN_DISTINCT:
        return _l("Too many repeated characters: mix more different letters, words or digits.")
    if text.isdigit():
        return _l("Digits alone are guessed quickly: use words.")
    if text.lower() in _COMMON:
        return _l("This passphrase is one of the first that anyone would try.")
    return None
