"""Cross-script folding: one ASCII "skeleton" key per word, the same for Cyrillic and Latin.

A coordinator types ``Zhanaozen`` and expects the report that says ``Жаңаөзен``; a
monitor wrote ``Айгүл`` and the coordinator remembers ``Aigul``. Every word of the
indexed text and of the query is folded to a lossy key, and the keys are compared:

1. case-folded and NFC-normalised;
2. every Cyrillic letter (Russian and Kazakh ә ғ қ ң ө ұ ү һ і) and every Latin letter
   with a meaning of its own in a Kazakh Latin alphabet (2017 apostrophes, 2018 acutes,
   2021 ä ğ ı ñ ö ş ū ü) or in ISO 9 / ГОСТ 7.79-A (č š ž ŝ û â) becomes a plain
   romanisation; what is left is NFKD-decomposed and its marks dropped;
3. spellings of one sound become one spelling: ``zh j ж`` → ``zh``; ``kh h х һ`` → ``h``;
   ``sh ш щ shch sch shh s'`` → ``sh``; ``ch ч c'`` → ``ch``; ``ts tz cz ц`` and ``c``
   before e/i/y → ``ts`` (other ``c`` → ``k``); ``q қ`` → ``k``; ``gh ғ`` → ``g``;
   ``x`` → ``ks``; ``y й ы і`` → ``i``; ``w`` → ``v``; ``ph`` → ``f``; ``ь ъ`` and
   apostrophes vanish;
4. doubled letters collapse (``Zhanna`` = ``Жана``), ``ie`` → ``e`` (``Yevgeny`` =
   ``Евгений``), ``io`` after a consonant → ``e`` (``Fyodor`` = ``Фёдор`` = ``Федор``),
   then trailing vowels go while more than three letters remain (``Karaganda`` =
   ``Қарағанды``, ``Юлия`` = ``Yulia`` = ``Iuliia``; it also drops most case endings).

Latin ``j`` is ж in the Kazakh Latin alphabets (``Janaözen``) and й in German-style and
ГОСТ 7.79-B romanisations (``Julia``, ``Evgenij``): ``fold_keys`` gives both readings,
the ж reading first; ``fold_word`` gives the first. A key is only ever compared with
another key; it is never shown. docs/REVIEW.md lists every variant covered and the test
that proves it, and the collision rate measured on the project's own vocabulary.

Everything here is a table in this file: no ICU, so the portable USB build needs nothing.
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: Letters with a romanisation of their own, after case folding and NFC. Everything not
#: here goes through NFKD (so ``é`` → ``e``, ``ﬁ`` → ``fi``, fullwidth → ASCII).
_LETTERS: dict[str, str] = {
    # Russian
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Kazakh
    "ә": "a", "ғ": "g", "қ": "q", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
    "і": "i",
    # Neighbours that turn up in names (Ukrainian, Belarusian, Kyrgyz, Uzbek, Tatar)
    "є": "ye", "ї": "yi", "ґ": "g", "ў": "u", "ҳ": "h", "ҷ": "j", "ӣ": "i", "ӯ": "u",
    "җ": "zh", "ҫ": "s", "ӊ": "n", "ӈ": "n", "ҕ": "g", "ҙ": "z", "ӑ": "a", "ӗ": "e",
    # Latin letters that stand for one Cyrillic letter in a Kazakh Latin alphabet or in
    # ISO 9, where NFKD alone would lose the point (ş → s would make Shymkent ≠ Şymkent)
    "ş": "sh", "š": "sh", "ç": "ch", "č": "ch", "ž": "zh", "ŝ": "shch", "û": "yu",
    "â": "ya", "ğ": "g", "ǵ": "g", "ı": "i", "ñ": "n", "ń": "n", "ý": "u", "ä": "a",
    "ö": "o", "ü": "u", "ū": "u", "ó": "o", "á": "a", "ú": "u", "æ": "ae", "œ": "oe",
    "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ħ": "h", "ŋ": "n", "ə": "a",
}  # fmt: skip

#: Apostrophe-like characters inside a word (2017 Kazakh Latin: s' = ш, c' = ч).
_APOSTROPHES = "'’ʼ‘`´ʹʺ′"

#: Combining marks that may follow a letter inside a word (NFC leaves some uncomposed).
_MARKS = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
#: Possessive (``*+``): a run of marks that are also letters (U+0345 is both) must not be
#: split in every possible way when a match fails (that backtracking is exponential).
_PIECE = rf"[^\W_](?:[^\W_]|[{_MARKS}])*+"
#: A word: letters and digits (any script), apostrophes only between letters.
WORD_RE = re.compile(rf"{_PIECE}(?:[{_APOSTROPHES}]{_PIECE})*")
#: Words joined by hyphens (Нур-Султан, Усть-Каменогорск): folded apart and joined.
_HYPHENS = "-‐‑‒–"
COMPOUND_RE = re.compile(rf"{WORD_RE.pattern}(?:[{_HYPHENS}](?:{WORD_RE.pattern}))+")

#: Spelling rewrites on the romanised word, longest first at each position. ``j`` is
#: handled apart (two readings).
_REWRITES: tuple[tuple[str, str], ...] = (
    ("shch", "sh"), ("sch", "sh"), ("shh", "sh"), ("s'", "sh"), ("c'", "ch"),
    ("zh", "zh"), ("sh", "sh"), ("ch", "ch"), ("kh", "h"), ("gh", "g"), ("ph", "f"),
    ("ts", "ts"), ("tz", "ts"), ("cz", "ts"), ("ck", "k"),
    ("ce", "tse"), ("ci", "tsi"), ("cy", "tsi"), ("c", "k"),
    ("x", "ks"), ("q", "k"), ("w", "v"), ("y", "i"),
)  # fmt: skip
_REWRITE_RE = re.compile("|".join(re.escape(a) for a, _ in _REWRITES) + "|j|'")
_REWRITE = dict(_REWRITES)
_VOWELS = "aeiou"
_DOUBLE_RE = re.compile(r"([a-z])\1+")
_CONSONANT_IO_RE = re.compile(r"(?<=[b-df-hj-np-tv-z])io")
_NOT_KEY_RE = re.compile(r"[^a-z0-9']+")

#: Keep at least this many letters when trailing vowels are dropped.
_STEM_MIN = 3
#: Longest word folded; anything longer is cut (no real word is longer).
MAX_WORD = 64


def words(text: str) -> list[str]:
    """The words of ``text``, as written: letters and digits of any script, with
    apostrophes kept inside a word (``Jan'aözen``, ``O'Brien``) and hyphens splitting
    (``Нур-Султан`` → ``Нур``, ``Султан``), as SQLite's unicode61 tokenizer splits."""
    return WORD_RE.findall(unicodedata.normalize("NFC", text))


def compounds(text: str) -> list[list[str]]:
    """Hyphenated groups of words in ``text`` (``Нур-Султан`` → ``[["Нур", "Султан"]]``)."""
    if not any(hyphen in text for hyphen in _HYPHENS):
        return []  # most texts: the scan of COMPOUND_RE costs more than folding them
    text = unicodedata.normalize("NFC", text)
    return [WORD_RE.findall(m.group(0)) for m in COMPOUND_RE.finditer(text)]


#: ``str.translate`` table of the letters above and of the apostrophes.
_TRANSLATE = str.maketrans({**_LETTERS, **dict.fromkeys(_APOSTROPHES, "'")})


def _romanise(word: str) -> str:
    """Case-folded, letter by letter to ASCII; apostrophes kept for the s'/c' rules."""
    out = unicodedata.normalize("NFC", word.casefold()).translate(_TRANSLATE)
    if not out.isascii():
        decomposed = unicodedata.normalize("NFKD", out)
        out = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NOT_KEY_RE.sub("", out)


#: What each spelling rule rewrites to, for each reading of Latin ``j``.
_REWRITE_TO = {j: {**_REWRITE, "j": j, "'": ""} for j in ("zh", "i")}


def _spell(romanised: str, j: str) -> str:
    """One pass of the spelling rules; ``j`` is what a Latin j stands for."""
    table = _REWRITE_TO[j]
    key = _REWRITE_RE.sub(lambda match: table[match.group(0)], romanised)
    key = _DOUBLE_RE.sub(r"\1", key)
    key = key.replace("ie", "e")
    key = _CONSONANT_IO_RE.sub("e", key)
    key = _DOUBLE_RE.sub(r"\1", key)
    # Trailing vowels go while more than _STEM_MIN letters remain.
    return key[: max(len(key.rstrip(_VOWELS)), _STEM_MIN)]


def _key(romanised: str, j: str) -> str:
    key = _spell(romanised, j)
    for _ in range(8):  # the rules are applied until nothing changes: fold(fold(w)) == fold(w)
        again = _spell(key, j)
        if again == key:
            break
        key = again
    return key


def fold_keys(word: str) -> list[str]:
    """Every reading of ``word``: the ж reading of Latin ``j`` first, then the й reading
    when the word has a ``j``; ``[]`` when nothing of the word can be folded (a word in
    a script other than Latin or Cyrillic)."""
    return list(_fold_keys(word[:MAX_WORD]))


@functools.lru_cache(maxsize=1 << 16)
def _fold_keys(word: str) -> tuple[str, ...]:
    """Cached: a report's words repeat, and indexing folds every one of them."""
    romanised = _romanise(word)
    first = _key(romanised, "zh")
    if not first:
        return ()
    if "j" in romanised:
        second = _key(romanised, "i")
        if second and second != first:
            return (first, second)
    return (first,)


def fold_word(word: str) -> str:
    """The key of one word: ASCII ``[a-z0-9]``, ``""`` when nothing can be folded."""
    keys = fold_keys(word)
    return keys[0] if keys else ""


def fold_text(text: str) -> str:
    """The keys of the words of ``text``, space-separated, in order (words that fold to
    nothing are left out)."""
    return " ".join(key for key in map(fold_word, words(text)) if key)


def extra_keys(text: str) -> str:
    """Keys that ``fold_text`` does not give: the й reading of words with a Latin ``j``
    (``Julia``), and each hyphenated group folded as one word (``Нур-Султан`` →
    ``nursultan``, found by ``Nursultan``). Not in word order: not for phrases."""
    extra: list[str] = []
    for word in words(text):
        extra.extend(fold_keys(word)[1:])
    for group in compounds(text):
        extra.extend(fold_keys("".join(group)))
    return " ".join(dict.fromkeys(extra))


def index_columns(title: str, rest: str) -> tuple[str, str, str]:
    """``(fold_text(title), fold_text(rest), extra_keys(title + "\n" + rest))``, the
    folded columns of a report's full-text entry, with the words of each text found and
    folded once (indexing an import's 10,000 reports did it three times)."""
    folded: list[str] = []
    extra: list[str] = []
    for text in (title, rest):
        keys = [fold_keys(word) for word in words(text)]
        folded.append(" ".join(k[0] for k in keys if k))
        for k in keys:
            extra.extend(k[1:])
    for text in (title, rest):
        for group in compounds(text):
            extra.extend(fold_keys("".join(group)))
    return folded[0], folded[1], " ".join(dict.fromkeys(extra))
