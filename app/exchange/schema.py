"""The shape every document inside a bundle must have, checked before anything is stored.

A bundle's signature proves which device sent it, not that the device is honest: a
stolen or hostile device can sign anything. Every field is checked for type and range
here, so a malformed document is refused with a reason (``ImportRefused``) instead of
crashing the import or reaching the coordinator's pages in an unexpected shape.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from app.exchange.staging import ImportRefused
from app.messages import gettext as _
from app.records.reports import BODY_FIELDS

_HEX32 = re.compile(r"[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ENTRY = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_TEXT_FIELDS = frozenset(BODY_FIELDS) - {"rights", "acts", "sources", "victims",
                                         "perpetrators", "legal", "may_publish",
                                         "withhold_names"}
_ROW_FLAGS = frozenset({"consent", "may_name"})
_MAX_TEXT = 1_000_000
_MAX_ITEMS = 1000
_MAX_SIZE = 1 << 50
#: A report document is four levels deep; Python's parser recurses once a level and would
#: raise RecursionError (not a refusal) on a crafted ``[[[[...]]]]`` (finding 6).
MAX_DEPTH = 32
#: Bytes other than brackets, deleted before counting; brackets then become +1 / -1.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = tuple(1 if b in b"[{" else -1 for b in range(256))
_DEPTH_CHUNK = 64 * 1024


def _bad(what: str) -> ImportRefused:
    return ImportRefused(_("a report in the bundle is malformed (%(what)s)", what=what))


def _text(value: Any, what: str, limit: int = _MAX_TEXT, *, single_line: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(what)
    if single_line and _CONTROL.search(value):
        raise _bad(what)
    return value


def _count(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_SIZE:
        raise _bad(what)
    return value


def _match(pattern: re.Pattern[str], value: Any, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _bad(what)
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) > _MAX_ITEMS:
        raise _bad(what)
    return value


#: The fields of a row that hold a code.
_ROW_CODES = ("role", "kind", "code")
#: How each field of a body is checked (``_check_body``): looked up once per field.
_KIND = {**dict.fromkeys(_TEXT_FIELDS | {"receipt"}, "text"),
         **dict.fromkeys(("rights", "acts", "sources"), "codes"),
         **dict.fromkeys(("victims", "perpetrators", "legal"), "rows"),
         **dict.fromkeys(("may_publish", "withhold_names"), "flag")}


def _check_row(row: Any, name: str) -> None:
    # Consent flags are booleans; every other field of a row is text (tables, statistics
    # and the briefing read it as text).
    if not isinstance(row, dict) or not all(
            v is None or isinstance(v, bool if k in _ROW_FLAGS else str)
            for k, v in row.items()):
        raise _bad(name)
    # A row's code (a role, a perpetrator's kind, a law) is one line: the statistics join
    # codes with control characters.
    for key in _ROW_CODES:
        if isinstance(row.get(key), str) and _CONTROL.search(row[key]):
            raise _bad(name)


def _check_body(body: Any) -> None:
    if not isinstance(body, dict):
        raise _bad("body")
    for name, value in body.items():
        kind = _KIND.get(name)
        if kind == "text":  # _text(value, name), inline: the most common field by far
            if not isinstance(value, str) or len(value) > _MAX_TEXT:
                raise _bad(name)
        elif kind == "codes":
            for code in _list(value, name):
                _text(code, name, 100, single_line=True)
        elif kind == "rows":
            for row in _list(value, name):
                _check_row(row, name)
        elif kind == "flag":
            if not isinstance(value, bool):
                raise _bad(name)
        else:
            raise _bad(name)


def check_report(report: Any, *, origin: str | None = None) -> dict[str, Any]:
    if not isinstance(report, dict):
        raise _bad("report")
    _match(_HEX32, report.get("id"), "id")
    if type(report.get("revision")) is not int or report["revision"] < 1:
        raise _bad("revision")
    if report.get("origin") not in ("operator", "public") or (
            origin is not None and report["origin"] != origin):
        raise _bad("origin")
    for name in ("created_at", "updated_at"):
        _text(report.get(name), name, 40, single_line=True)
    _check_body(report.get("body"))
    return report


def check_attachment(item: Any, *, in_bundle: bool) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _bad("attachment")
    _text(item.get("name"), "attachment name", 1000)
    _text(item.get("media_type"), "media type", 200, single_line=True)
    _count(item.get("size"), "size")
    _count(item.get("original_size"), "original size")
    _match(_HEX64, item.get("sha256"), "sha256")
    _match(_HEX64, item.get("original_sha256"), "original sha256")
    if not isinstance(item.get("metadata_removed"), bool):
        raise _bad("metadata_removed")
    if in_bundle:
        _match(_ENTRY, item.get("entry"), "entry")
        if item.get("original_entry") is not None:
            _match(_ENTRY, item["original_entry"], "original entry")
    return item


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw``, counted without parsing it.

    Exact for valid JSON; for anything else a number that ``loads`` never trusts alone
    (json.loads refuses it next). Linear in time and bounded in memory: the escape pairs
    go first (``\\\\`` then ``\\"``), so every quote left opens or closes a string, and the
    text is then read in chunks, outside strings only. (A regex that skipped strings took
    quadratic time on a crafted entry of ``"`` and ``\\"`` pairs: 39 s for 32 KB.)
    """
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    depth = deepest = 0
    inside = False  # within a string at the start of the chunk
    for start in range(0, len(text), _DEPTH_CHUNK):
        parts = text[start:start + _DEPTH_CHUNK].split(b'"')
        outside = b"".join(parts[1 if inside else 0::2]).translate(None, _NOT_BRACKETS)
        inside ^= len(parts) % 2 == 0  # an odd number of quotes in this chunk
        if outside:
            levels = list(itertools.accumulate(map(_STEP.__getitem__, outside),
                                               initial=depth))
            deepest, depth = max(deepest, *levels), levels[-1]
    return deepest


def _may_nest_too_deeply(raw: bytes) -> bool:
    """False when ``raw`` cannot nest deeper than ``MAX_DEPTH``: it holds no more opening
    brackets than that at all (strings included, so never an undercount). Counting is a
    pass in C; ``json_depth`` walks the document in Python and is needed only past that
    (a report with many attachments or custody events)."""
    return raw.count(b"[") + raw.count(b"{") > MAX_DEPTH


def loads(raw: bytes) -> Any:
    """``json.loads`` that refuses (``ImportRefused``) what is not JSON or nests too deeply."""
    if _may_nest_too_deeply(raw) and json_depth(raw) > MAX_DEPTH:
        raise _bad("nested too deeply")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _bad("not JSON") from None


def report_document(raw: bytes, used_entries: set[str]) -> dict[str, Any]:
    """A ``report-<id>.json`` entry, checked; each attachment entry may be used once."""
    document = loads(raw)
    if not isinstance(document, dict):
        raise _bad("document")
    check_report(document.get("report"))
    for item in _list(document.get("attachments", []), "attachments"):
        check_attachment(item, in_bundle=True)
        for name in (item["entry"], item.get("original_entry")):
            if name is not None:
                if name in used_entries:
                    raise _bad("an entry used twice")
                used_entries.add(name)
    for event in _list(document.get("custody", []), "custody"):
        if not isinstance(event, dict):
            raise _bad("custody")
        for name in ("at", "event", "device", "detail"):
            _text(event.get(name, ""), "custody", 400, single_line=True)
    return document


def envelope_document(document: Any) -> dict[str, Any]:
    """The JSON head of a sealed public submission, checked."""
    if not isinstance(document, dict):
        raise _bad("sealed submission")
    check_report(document.get("report"), origin="public")
    for item in _list(document.get("attachments", []), "attachments"):
        check_attachment(item, in_bundle=False)
    return document
