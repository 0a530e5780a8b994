"""Full-text search: what a user types turned into a MATCH expression that SQLite can
never read as an operator, run over the index, and the matches shown.

The index itself (``report_search``, its columns, what of a report it holds, and its
writing in the transaction of every write) is app/store/fulltext.py.

Query language (``build_match``): words are ANDed; every word also matches as a word
prefix (``Жаңа`` finds ``Жаңаөзенде``); ``"quoted words"`` are a phrase of whole words,
``"…"*`` makes its last word a prefix; ``Нур-Султан`` is the phrase ``Нур Султан`` or
the one word ``Nursultan``. Nothing else is syntax: ``AND OR NOT NEAR ( ) - ^ : *`` and
column names are words or nothing. Every word reaches SQLite inside a double-quoted FTS5
string (``"`` doubled) and folded keys are ``[a-z0-9]`` only.

"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import sqlcipher3
from markupsafe import Markup, escape

from app.store import fold

#: bm25 weights, in column order: a hit in the title counts most, a folded (cross-script)
#: hit a little less than the same hit as written.
WEIGHTS = (10.0, 1.0, 8.0, 0.8, 0.5)
RANK_SQL = "bm25(report_search, {})".format(", ".join(str(w) for w in WEIGHTS))

_SEARCH_SQL = (
    "SELECT ids.report_id FROM report_search JOIN report_search_ids AS ids"  # noqa: S608
    " ON ids.rowid = report_search.rowid WHERE report_search MATCH ?"  # constant weights
    f" ORDER BY {RANK_SQL}, ids.report_id"
)

_AS_WRITTEN = "{title body}"
_FOLDED = "{title_folded body_folded}"
_FOLDED_ANY = "{title_folded body_folded extra}"

#: Only this much of what was typed is read (a pasted page is not a query).
MAX_QUERY_CHARS = 2000
#: At most this many words or phrases are searched for; each becomes a handful of FTS5
#: clauses, and no useful search has more.
MAX_TERMS = 16
#: A phrase longer than this is cut to its first words.
MAX_PHRASE_WORDS = 12
#: Plain words shorter than this match as whole words only (``a`` is not a prefix of
#: everything).
MIN_PREFIX = 2
#: Folded keys shorter than this are never prefixes (``aaaa`` folds to ``a``).
MIN_KEY_PREFIX = 3

#: Notes for the user, in English: the caller shows them through gettext.
NOTE_EMPTY = "Nothing to search for: type a word (letters or digits)."
NOTE_LONG = "The search is too long: only its first %(count)d characters were used."
NOTE_TERMS = "Only the first %(count)d words or phrases were searched for."
NOTE_QUOTE = "A quotation mark was not closed: the phrase runs to the end of the search."

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f]")
_QUOTES = '"“”„«»'  # typographic quotes open and close phrases too


@dataclass(frozen=True)
class Term:
    """One thing to find: a word (``len(words) == 1``), a phrase, or a hyphenated name."""

    words: tuple[str, ...]
    prefix: bool
    compound: bool = False


# ---------------------------------------------------------------------------------------
# What the user typed


def _clean(user_query: str) -> str:
    text = unicodedata.normalize("NFC", _CONTROL_RE.sub(" ", user_query))
    for quote in _QUOTES[1:]:
        text = text.replace(quote, '"')
    return text


def _plain_terms(chunk: str) -> Iterator[Term]:
    """Words and hyphenated names outside quotes; a ``*`` right after one is allowed."""
    pattern = re.compile(rf"(?:{fold.COMPOUND_RE.pattern})|(?:{fold.WORD_RE.pattern})")
    for match in pattern.finditer(chunk):
        parts = tuple(fold.WORD_RE.findall(match.group(0)))
        starred = chunk[match.end() : match.end() + 1] == "*"
        if len(parts) > 1:
            yield Term(parts[:MAX_PHRASE_WORDS], prefix=True, compound=True)
        else:
            yield Term(parts, prefix=starred or len(parts[0]) >= MIN_PREFIX)


def parse(user_query: str) -> tuple[list[Term], list[str]]:
    """The terms of a query, and notes for the user. Never raises."""
    notes: list[str] = []
    text = _clean(user_query)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(NOTE_LONG % {"count": MAX_QUERY_CHARS})
    terms: list[Term] = []
    pos = 0
    while pos < len(text):
        start = text.find('"', pos)
        if start < 0:
            terms.extend(_plain_terms(text[pos:]))
            break
        terms.extend(_plain_terms(text[pos:start]))
        end = text.find('"', start + 1)
        if end < 0:
            notes.append(NOTE_QUOTE)
            end = len(text)
        phrase = tuple(fold.words(text[start + 1 : end]))[:MAX_PHRASE_WORDS]
        starred = text[end + 1 : end + 2] == "*"
        if phrase:
            terms.append(Term(phrase, prefix=starred))
        pos = end + 1
    terms = list(dict.fromkeys(terms))
    if len(terms) > MAX_TERMS:
        terms = terms[:MAX_TERMS]
        notes.append(NOTE_TERMS % {"count": MAX_TERMS})
    if not terms:
        notes.append(NOTE_EMPTY)
    return terms, notes


def _string(text: str, prefix: bool) -> str:
    """An FTS5 string: never an operator, whatever ``text`` holds."""
    return '"' + text.replace('"', '""') + '"' + ("*" if prefix else "")


def _key_prefix(key: str, prefix: bool) -> bool:
    return prefix and len(key) >= MIN_KEY_PREFIX


def _clause(term: Term) -> str:
    """``(as written OR folded)`` for one term."""
    written = _string(" ".join(term.words), term.prefix)
    options = [f"{_AS_WRITTEN} : {written}"]
    keys = [fold.fold_keys(word) for word in term.words]
    if len(term.words) == 1:
        if keys[0]:
            folded = " OR ".join(_string(key, _key_prefix(key, term.prefix)) for key in keys[0])
            options.append(f"{_FOLDED_ANY} : ({folded})")
    elif all(keys):
        readings = [tuple(k[0] for k in keys), tuple(k[-1] for k in keys)]
        for reading in dict.fromkeys(readings):
            last = _key_prefix(reading[-1], term.prefix)
            options.append(f"{_FOLDED} : {_string(' '.join(reading), last)}")
        if term.compound:
            joined = fold.fold_keys("".join(term.words))
            options.extend(f"{_FOLDED_ANY} : {_string(k, _key_prefix(k, True))}" for k in joined)
    return "(" + " OR ".join(options) + ")"


def build_match(user_query: str) -> tuple[str | None, list[str]]:
    """The FTS5 MATCH expression for what the user typed (``None`` when nothing
    searchable is left), and notes to show. Never raises."""
    terms, notes = parse(user_query)
    if not terms:
        return None, notes
    return " AND ".join(_clause(term) for term in terms), notes


def search(
    conn: sqlcipher3.Connection, user_query: str, limit: int | None = None
) -> tuple[list[str], list[str]]:
    """Report ids matching ``user_query``, best first (bm25), and the notes."""
    expression, notes = build_match(user_query)
    if expression is None:
        return [], notes
    sql = _SEARCH_SQL
    params: tuple[object, ...] = (expression,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (max(0, int(limit)),)
    return [row[0] for row in conn.execute(sql, params)], notes


# ---------------------------------------------------------------------------------------
# Showing where it matched


#: Letters (ASCII, Latin-1 and Extended-A, Cyrillic) that decompose to nothing else and
#: are no combining mark: a word made only of them is its own ``_plain`` once case-folded.
_SIMPLE = frozenset(c for c in map(chr, range(0x530))
                    if unicodedata.normalize("NFKD", c) == c and not unicodedata.combining(c))


def _plain(word: str) -> str:
    """What unicode61 with remove_diacritics compares: case-folded, marks dropped."""
    folded = word.casefold()
    if _SIMPLE.issuperset(folded):  # most words: nothing to decompose, no mark to drop
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Highlighter:
    """``highlight`` for one query over many texts (the rows of a page): the query is
    parsed once, and each distinct word of the texts is compared once. Lives as long as
    the page it serves (what it remembers is report text)."""

    def __init__(self, query: str) -> None:
        self._written: list[tuple[str, bool]] = []
        self._keys: list[tuple[str, bool]] = []
        for term in parse(query)[0]:
            for i, word in enumerate(term.words):
                last = len(term.words) == 1 or i == len(term.words) - 1
                prefix = (term.prefix if last else False) or term.compound
                self._written.append((_plain(word), prefix))
                self._keys.extend((key, _key_prefix(key, prefix)) for key in fold.fold_keys(word))
            if term.compound:
                joined = fold.fold_keys("".join(term.words))
                self._keys.extend((key, _key_prefix(key, True)) for key in joined)
        self._written = [(w, p) for w, p in self._written if w]
        self._keys = [(k, p) for k, p in self._keys if k]
        self._seen: dict[str, bool] = {}

    def _compare(self, token: str) -> bool:
        plain = _plain(token)
        for written, prefix in self._written:
            if plain.startswith(written) if prefix else plain == written:
                return True
        for token_key in fold.fold_keys(token):
            for key, prefix in self._keys:
                if token_key.startswith(key) if prefix else token_key == key:
                    return True
        return False

    def matches(self, token: str) -> bool:
        known = self._seen.get(token)
        if known is None:
            known = self._seen[token] = self._compare(token)
        return known

    def __call__(self, text: str, max_len: int = 240) -> Markup:
        """As ``highlight``; only the words up to the end of the snippet are compared."""
        text = " ".join(_CONTROL_RE.sub(" ", text).split())
        max_len = max(20, max_len)
        spans: list[tuple[int, int]] = []
        start, window = 0, len(text)
        for match in fold.WORD_RE.finditer(text):
            if match.start() >= window:
                break
            if not self.matches(match.group(0)):
                continue
            spans.append(match.span())
            if len(spans) == 1 and len(text) > max_len:
                start = max(0, spans[0][0] - max_len // 4)
                if start:
                    space = text.find(" ", start, spans[0][0])
                    start = space + 1 if space >= 0 else start
                window = min(len(text), start + max_len)
        end = min(len(text), start + max_len)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start and (not spans or space >= spans[0][1]) else end
        out = [Markup("…")] if start else []
        pos = start
        for first, last in spans:
            if last <= start or first >= end:
                continue
            a, b = max(first, start), min(last, end)
            out += [escape(text[pos:a]), Markup("<mark>"), escape(text[a:b]), Markup("</mark>")]
            pos = b
        out.append(escape(text[pos:end]))
        if end < len(text):
            out.append(Markup("…"))
        return Markup("").join(out)


def highlight(text: str, query: str, max_len: int = 240) -> Markup:
    """An HTML-escaped snippet of ``text`` of at most about ``max_len`` characters around
    the first match of ``query``, with every matching word in ``<mark>``; cross-script
    matches are marked too (words compared by their folded keys). Phrases are marked
    word by word. For many texts and one query, use one ``Highlighter``."""
    return Highlighter(query)(text, max_len)
