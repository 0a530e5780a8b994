"""What a person sees on a page: text nodes and visible attribute values, and the
Latin-only words among them (for the check that kk and ru pages speak kk and ru).

Visible attributes: ``placeholder``, ``title``, ``alt``, ``aria-label`` and the ``value``
of buttons. Not read: tags, other attributes, ``<style>``/``<script>``, and codes shown as
codes (``<code>``, ``<kbd>``, ``<samp>``, and elements of class ``fingerprint`` or ``key``:
fingerprints, receipt codes, public keys), and text marked as another language with a
``lang`` attribute (the language switcher's "English", Tor Browser's English labels).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VISIBLE_ATTRIBUTES = ("placeholder", "title", "alt", "aria-label")
BUTTON_TYPES = ("submit", "button", "reset")
CODE_TAGS = frozenset({"code", "kbd", "samp", "style", "script"})
CODE_CLASSES = frozenset({"fingerprint", "key"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})

#: Names and codes that stay in Latin letters in every language. Each one is a proper
#: name, a format or standard, or a language's own name in the language switcher.
ALLOWED = frozenset({
    "Kuager", "Tor", "Browser", "USB", "UTC", "SHA", "age", "SVG", "Debian",
    "JPEG", "PNG", "WebP", "PDF", "MP", "MOV", "Ogg", "WebM", "WAV", "Word", "Excel",
    "PowerPoint", "OpenDocument", "onion", "Onion", "Tails", "Windows", "Linux", "QR",
    "Signal",  # the messenger, a name
    "cookie",  # the public thanks page: the word kk and ru readers know it by
})

_LETTERS = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[A-Za-z]+")
#: A file name as a person gave it (``акт.pdf``): a name, not a word of the page.
_FILE_NAME = re.compile(r"\S+\.[A-Za-z0-9]{1,5}")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is it a code?
        self.lang = ""

    def _in_code(self) -> bool:
        return any(self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        other_language = tag != "html" and values.get("lang", self.lang) != self.lang
        is_code = (tag in CODE_TAGS or other_language
                   or bool(CODE_CLASSES & set(values.get("class", "").split())))
        if not self._in_code() and not is_code:
            self.parts.extend(values[name] for name in VISIBLE_ATTRIBUTES if values.get(name))
            if tag == "input" and values.get("type") in BUTTON_TYPES and values.get("value"):
                self.parts.append(values["value"])
        if tag not in VOID:
            self._stack.append(is_code)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._in_code() and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return parser.parts


def latin_words(html: str, allowed: frozenset[str] = ALLOWED) -> list[str]:
    """Every word written only in Latin letters (two or more) outside the allow-list.

    A token with a digit in it is a code (``age1…``, ``SHA-256``, ``UTC+5``, a date); a
    token that is a file name is a name; neither counts."""
    found = []
    for part in visible_text(html):
        for token in part.split():
            if any(ch.isdigit() for ch in token) or _FILE_NAME.fullmatch(token.strip("()«»,;:")):
                continue
            for word in _LETTERS.findall(token):
                if len(word) > 1 and _LATIN.fullmatch(word) and word not in allowed:
                    found.append(word)
    return found
