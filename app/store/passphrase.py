"""Passphrase strength, judged on the server (the browser may run no script at all).

The passphrase is the only thing between a seized laptop and every report on it. The
store's Argon2id costs an attacker about a second per guess on a laptop, far less on a
rack of GPUs; so a passphrase must need about 2^60 guesses (``MIN_BITS``) from an attacker
who knows how people choose them. The estimate is zxcvbn's (dictionaries, names, dates,
keyboard walks, l33t, repeats), which knows English only, with what a guesser in
Kazakhstan would add: Kazakh, Russian and English common words (the word lists shipped in
``wordlists/``, most common first), Kazakh and Russian given names and surnames (in
Cyrillic and in Latin letters), Kazakhstani place names, and Cyrillic typed as keyboard
walks (``йцукен`` is ``qwerty``). The bar: ``guesses_log10 * log2(10) >= 60``, i.e.
zxcvbn's guesses >= 2^60.

``suggest`` makes a diceware-style passphrase: six words drawn with ``secrets.choice``
from one 2,048-word list, 6 x 11 = 66 bits of entropy. A draw that zxcvbn would judge
below the bar (it ranks words by frequency, so a phrase of very common words scores
lower) is drawn again, so what is offered is always accepted; that rejection removes a
small fraction of the 2^66 phrases (measured in ``tests/test_seizure_store.py``), less
than a bit.
"""

from __future__ import annotations

import math
import secrets
import threading
import unicodedata
from functools import cache
from pathlib import Path

from app.messages import gettext as _

MIN_BITS = 60
MIN_LENGTH = 12
#: zxcvbn's own limit (its cost grows fast with length); a longer passphrase is judged on
#: its first 72 characters, which can only underestimate it.
_CHECKED_LENGTH = 72
WORDS_PER_SUGGESTION = 6
LANGUAGES = ("kk", "ru", "en")
WORDLIST_DIR = Path(__file__).with_name("wordlists")

#: Common Cyrillic choices zxcvbn's English password list cannot know.
_COMMON_CYRILLIC = (
    "пароль", "парольпароль", "кұпиясөз", "құпиясөз", "секрет", "админ", "привет",
    "любовь", "люблютебя", "солнышко", "мойпароль", "қазақстан", "казахстан",
)

#: The Russian (ЙЦУКЕН) layout on the keys of QWERTY: a walk on one is a walk on the other.
_RU_KEYS = dict(zip("йцукенгшщзхъфывапролджэячсмитьбю", "qwertyuiop[]asdfghjkl;'zxcvbnm,.",
                    strict=True))
#: Cyrillic to Latin as people type names in Latin letters (Қайрат -> qairat).
_TRANSLIT = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e",
    "ё": "e", "ж": "zh", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l",
    "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}
#: Second spellings: k for қ, j for ж, y for й and ы, ya/yu.
_TRANSLIT_ALT = {**_TRANSLIT, "қ": "k", "ж": "j", "й": "y", "я": "ya", "ю": "yu", "х": "h"}

_zxcvbn_lock = threading.Lock()


def wordlist(lang: str) -> list[str]:
    """The shipped list for ``lang``: lowercase, one word a line, most common first."""
    if lang not in LANGUAGES:
        raise ValueError(f"no word list for {lang!r}")
    return _read(f"words_{lang}.txt")


@cache
def _read(name: str) -> list[str]:
    text = (WORDLIST_DIR / name).read_text(encoding="utf-8")
    return [unicodedata.normalize("NFC", w.strip()) for w in text.splitlines() if w.strip()]


def _latin(word: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in word)


@cache
def _install_dictionaries() -> None:
    """Add the lists above to zxcvbn's ranked dictionaries (once per process)."""
    from zxcvbn import matching

    names = _read("names_kk.txt") + _read("names_ru.txt")
    places = _read("places_kz.txt")
    latin = [_latin(w, t) for w in names + places for t in (_TRANSLIT, _TRANSLIT_ALT)]
    matching.add_frequency_lists({
        "kuager_words_kk": wordlist("kk"),
        "kuager_words_ru": wordlist("ru"),
        "kuager_words_en": wordlist("en"),
        "kuager_names": names,
        "kuager_places": places,
        "kuager_latin_names_places": list(dict.fromkeys(latin)),
        "kuager_common_cyrillic": list(_COMMON_CYRILLIC),
    })


def _plain(text: str) -> str:
    """``text`` as a guesser would try it: compatibility forms folded (fullwidth and
    mathematical letters), invisible format characters (zero-width space, soft hyphen)
    dropped, and one separator between every character (``p-a-s-s``) taken out."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text)
                     if unicodedata.category(ch) != "Cf")
    gaps = folded[1::2]
    if len(folded) >= 5 and len(set(gaps)) == 1 and not gaps[0].isalnum():
        folded = folded[::2]
    return folded


def estimate_bits(passphrase: str) -> float:
    """log2 of the guesses zxcvbn (with the lists above) needs; the least of the readings."""
    from zxcvbn import zxcvbn

    _install_dictionaries()
    text = unicodedata.normalize("NFC", passphrase)[:_CHECKED_LENGTH]
    if not text:
        return 0.0
    lowered = text.lower()
    readings = {text, _latin(lowered, _RU_KEYS), _latin(lowered, _TRANSLIT)}
    plain = _plain(text)
    readings |= {plain, _latin(plain.lower(), _TRANSLIT)} if plain else set()
    inputs = ["kuager", "куәгер", "куагер", "kuәger"]
    with _zxcvbn_lock:  # zxcvbn keeps the user inputs in a module-level dictionary
        guesses_log10 = min(zxcvbn(r, user_inputs=inputs)["guesses_log10"] for r in readings)
    return guesses_log10 * math.log2(10)


def weakness(passphrase: str) -> str | None:
    """Why ``passphrase`` is too weak (a translated message), or None if it will do."""
    text = unicodedata.normalize("NFC", passphrase)
    if len(text) < MIN_LENGTH:
        return _("Use at least 12 characters; six random words are strong and easy to "
                 "remember.")
    bits = estimate_bits(text)
    if bits < MIN_BITS:
        return _("This passphrase would be guessed too soon (about %(bits)d bits; %(need)d "
                 "are needed). Use six random words: the setup page and 'kuager passphrase "
                 "suggest' offer some.", bits=int(bits), need=MIN_BITS)
    return None


def suggest(lang: str = "en", words: int = WORDS_PER_SUGGESTION) -> str:
    """Six random words from the ``lang`` list, separated by spaces; always strong enough."""
    pool = wordlist(lang)
    while True:
        candidate = " ".join(secrets.choice(pool) for _ in range(words))
        if estimate_bits(candidate) >= MIN_BITS:
            return candidate


def suggestion_bits(lang: str = "en", words: int = WORDS_PER_SUGGESTION) -> float:
    """The entropy of a suggestion before the rare redraw: words x log2(list size)."""
    return words * math.log2(len(set(wordlist(lang))))
