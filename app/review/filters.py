"""The review filters in one place: what a coordinator (or a monitor) asks for, turned into
SQL over ``report_heads`` (alias ``h``). The list page, ``kuager reports list --json`` and
the statistics all use this module, so one filter means one thing everywhere.

A filter option given several times means "any of these values"; different options must
all hold. Values that are not codes of their list are dropped with a note for the user
(never an error). Dates: a report is inside ``from..to`` when the days it may cover
overlap the range: "March 2026" covers 2026-03-01..2026-03-31, "2026" the whole year, a
report with an end date runs to its end; a report whose date is unknown is outside every
date range.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

import sqlcipher3

from app.messages import gettext as _
from app.records import codes
from app.records.reports import date_bounds
from app.review import query

#: Longest tag kept (a tag is a word or two, not a note).
MAX_TAG = 60
#: Values per option: more is a pasted list, not a filter.
MAX_VALUES = 50


@dataclass(frozen=True)
class Filters:
    """Every filter of the review pages; empty means "no filter on this"."""

    text: str = ""
    regions: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    acts: tuple[str, ...] = ()
    perpetrators: tuple[str, ...] = ()
    victim_roles: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    statuses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: device ids (resolved from fingerprints by ``parse``)
    devices: tuple[str, ...] = ()
    sensitivities: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    #: False: reports of unconfirmed devices are left out (statistics and tables).
    include_unconfirmed: bool = True
    #: Notes for the user about what was ignored (already translated).
    notes: tuple[str, ...] = field(default=(), compare=False)

    def is_empty(self) -> bool:
        return all(not getattr(self, f.name) for f in fields(self)
                   if f.name not in ("include_unconfirmed", "notes"))

    def without_notes(self) -> Filters:
        return replace(self, notes=())


#: option name (web form and CLI) -> (dataclass field, code list or None, facet kind)
OPTIONS: dict[str, tuple[str, Any, str | None]] = {
    "region": ("regions", codes.REGIONS, None),
    "right": ("rights", codes.RIGHTS, "right"),
    "act": ("acts", codes.ACTS, "act"),
    "perpetrator": ("perpetrators", codes.PERPETRATORS, "perpetrator"),
    "victim_role": ("victim_roles", codes.VICTIM_ROLES, "victim_role"),
    "sensitivity": ("sensitivities", codes.SENSITIVITY, None),
    "origin": ("origins", codes.ORIGINS, None),
}
#: ``--origin field`` is the stored code ``operator`` (written on a field device).
ORIGIN_ALIASES = {"field": "operator"}


def status_codes(role: str | None) -> codes.CodeList:
    """A coordinator store triages; a field store has its export workflow."""
    return codes.TRIAGE if role == "coordinator" else codes.STATUSES


def normalise_tag(tag: str) -> str:
    """Tags compare without regard to letter case in any script (and NFC, spaces)."""
    text = " ".join(unicodedata.normalize("NFC", tag).split())[:MAX_TAG]
    return text.casefold()


def _clean_tag(tag: str) -> str:
    return " ".join(unicodedata.normalize("NFC", tag).split())[:MAX_TAG]


def _digits(text: str) -> str:
    return re.sub(r"\s+", "", text)


def resolve_device(conn: sqlcipher3.Connection, given: str) -> str | None:
    """A device id from its fingerprint (spaces optional), its id or an id prefix of 8+."""
    text = _digits(given).lower()
    if re.fullmatch(r"\d{30}", text):
        row = conn.execute("SELECT device_id FROM devices WHERE replace(fingerprint, ' ', '') = ?",
                           (text,)).fetchone()
        return row[0] if row else None
    if re.fullmatch(r"[0-9a-f]{8,32}", text):
        rows = conn.execute("SELECT device_id FROM devices WHERE device_id LIKE ? || '%'",
                            (text,)).fetchall()
        return rows[0][0] if len(rows) == 1 else None
    return None


def _date(value: str, end: bool) -> str | None:
    """YYYY-MM-DD (or YYYY-MM / YYYY: the month's or year's first or last day)."""
    text = value.strip()
    bounds = date_bounds(text, "day")
    if bounds is None:
        return None
    try:
        date.fromisoformat(bounds[1] if end else bounds[0])
    except ValueError:
        return None
    return bounds[1] if end else bounds[0]


def parse(  # noqa: PLR0912 - one branch per kind of option, read top to bottom
    getlist: Callable[[str], Iterable[str]],
    *,
    role: str | None,
    conn: sqlcipher3.Connection | None = None,
    include_unconfirmed: bool = True,
) -> Filters:
    """Filters from options (``getlist("region")`` -> the values given); unknown values
    are dropped with a note. ``conn`` resolves device fingerprints."""
    notes: list[str] = []
    values: dict[str, Any] = {}

    def given(name: str) -> list[str]:
        out = []
        for raw in getlist(name) or ():
            value = str(raw).strip()
            if value and value not in out:
                out.append(value)
        if len(out) > MAX_VALUES:
            notes.append(_("Only the first %(num)d values of a filter were used.", num=MAX_VALUES))
        return out[:MAX_VALUES]

    for option, (name, code_list, _kind) in OPTIONS.items():
        known = codes.codes(code_list)
        kept = []
        for raw in given(option):
            value = ORIGIN_ALIASES.get(raw, raw) if option == "origin" else raw
            if value in known:
                kept.append(value)
            else:
                notes.append(_("Unknown value ignored: %(option)s = %(value)s",
                               option=option, value=value[:40]))
        values[name] = tuple(dict.fromkeys(kept))
    known_status = codes.codes(status_codes(role))
    statuses = []
    for value in given("status"):
        if value in known_status:
            statuses.append(value)
        else:
            notes.append(_("Unknown value ignored: %(option)s = %(value)s",
                           option="status", value=value[:40]))
    values["statuses"] = tuple(statuses)
    values["tags"] = tuple(dict.fromkeys(t for t in (normalise_tag(v) for v in given("tag")) if t))
    devices = []
    for value in given("device"):
        device_id = resolve_device(conn, value) if conn is not None else None
        if device_id is None:
            notes.append(_("No device has this fingerprint: %(value)s", value=value[:40]))
            devices.append("?")  # matches nothing: asked for one device, show none of others
        else:
            devices.append(device_id)
    values["devices"] = tuple(dict.fromkeys(devices))
    for option, name, end in (("from", "date_from", False), ("to", "date_to", True)):
        dates = given(option)
        parsed = _date(dates[0], end) if dates else ""
        if parsed is None:
            notes.append(_("A date was ignored: write it as YYYY-MM-DD (%(value)s)",
                           value=dates[0][:20]))
            parsed = ""
        values[name] = parsed
    if values["date_from"] and values["date_to"] and values["date_from"] > values["date_to"]:
        notes.append(_("The start date is after the end date: no report can match."))
    texts = given("query") or given("q")
    values["text"] = " ".join(texts)[: query.MAX_QUERY_CHARS + 1]
    return Filters(**values, include_unconfirmed=include_unconfirmed, notes=tuple(notes))


def from_dict(data: dict[str, Any], **kwargs: Any) -> Filters:
    """``parse`` over a plain dict (values a string or a list of strings)."""

    def getlist(name: str) -> list[str]:
        value = data.get(name)
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    return parse(getlist, **kwargs)


def text_notes(text: str) -> list[str]:
    """What the full-text search says about the query, translated."""
    messages = {
        query.NOTE_EMPTY: _("Nothing to search for: type a word (letters or digits)."),
        query.NOTE_LONG % {"count": query.MAX_QUERY_CHARS}: _(
            "The search is too long: only its first %(num)d characters were used.",
            num=query.MAX_QUERY_CHARS),
        query.NOTE_TERMS % {"count": query.MAX_TERMS}: _(
            "Only the first %(num)d words or phrases were searched for.", num=query.MAX_TERMS),
        query.NOTE_QUOTE: _(
            "A quotation mark was not closed: the phrase runs to the end of the search."),
    }
    return [messages.get(note, note) for note in query.build_match(text)[1]]


def _in(column: str, values: Iterable[str], params: list[Any]) -> str:
    items = list(values)
    params.extend(items)
    return f"{column} IN ({', '.join('?' * len(items))})"


@dataclass(frozen=True)
class _Piece:
    """One filter as SQL: a condition over ``report_heads h``, or (``table`` set) a
    condition over ``table`` under ``alias`` whose rows name the reports that match."""

    condition: str
    params: tuple[Any, ...]
    table: str = ""
    alias: str = ""
    #: The condition may hold for several rows of one report (several codes asked for).
    repeats: bool = False

    def exists(self) -> str:
        # Fixed fragments of this module (table, alias, condition with placeholders).
        return (f"EXISTS (SELECT 1 FROM {self.table} {self.alias} WHERE {self.condition}"  # noqa: S608
                f" AND {self.alias}.report_id = h.report_id)")

    def ids(self) -> str:
        distinct = "DISTINCT " if self.repeats else ""
        return (f"SELECT {distinct}{self.alias}.report_id FROM {self.table} {self.alias}"  # noqa: S608
                f" WHERE {self.condition}")


def _pieces(filters: Filters, role: str | None) -> list[_Piece]:
    """Every filter but the text, in a fixed order. Only fixed fragments are joined;
    every value is a bound parameter."""
    pieces: list[_Piece] = []

    def add(condition: str, params: list[Any], table: str = "", alias: str = "",
            repeats: bool = False) -> None:
        pieces.append(_Piece(condition, tuple(params), table, alias, repeats))

    for option, (name, _codes, kind) in OPTIONS.items():
        wanted = getattr(filters, name)
        if not wanted:
            continue
        params: list[Any] = []
        if kind is None:
            column = {"region": "h.region", "sensitivity": "h.sensitivity",
                      "origin": "h.origin"}[option]
            add(_in(column, wanted, params), params)
        else:
            params.append(kind)
            inner = _in("x.code", wanted, params)
            add(f"x.kind = ? AND {inner}", params, "report_facets", "x", len(wanted) > 1)
    if filters.statuses:
        params = []
        column = "h.triage" if role == "coordinator" else "h.status"
        add(_in(column, filters.statuses, params), params)
    if filters.tags:
        params = []
        add(_in("t.tag", filters.tags, params), params, "report_tags", "t",
            len(filters.tags) > 1)
    if filters.devices:
        params = []
        add(_in("h.device", filters.devices, params), params)
    if filters.date_from:
        add("h.occurred_end >= ?", [filters.date_from])
    if filters.date_to:
        add("h.occurred_start <= ?", [filters.date_to])
    if not filters.include_unconfirmed:
        add("(h.device IS NULL OR h.device IN"
            " (SELECT device_id FROM devices WHERE confirmed = 1))", [])
    return pieces


def where(filters: Filters, role: str | None) -> tuple[str, list[Any]]:
    """The SQL condition over ``report_heads h`` (without the text search) and its
    parameters. Only fixed fragments are joined; every value is a bound parameter."""
    clauses: list[str] = []
    params: list[Any] = []
    for piece in _pieces(filters, role):
        clauses.append(piece.exists() if piece.table else piece.condition)
        params.extend(piece.params)
    return (" AND ".join(clauses) or "1"), params


@dataclass(frozen=True)
class Selection:
    """The reports that match ``filters``, in the pieces the list combines (the same
    reports as ``source``; tests/review/test_listing.py compares the two):

    * ``heads``: the condition over ``report_heads h`` of the filters on its columns
      (``"1"`` when there is none), with ``heads_params``;
    * ``sets``: one ``SELECT`` of report ids per filter on another table (a code of a
      repeatable field, a tag), each of which must hold;
    * ``match``: the FTS5 expression of the text (``None``: no text search);
    * ``nothing``: a text with nothing searchable in it: no report matches.
    """

    heads: str
    heads_params: list[Any]
    sets: list[tuple[str, list[Any]]]
    match: str | None
    nothing: bool = False


def selection(filters: Filters, role: str | None) -> Selection:
    heads: list[str] = []
    heads_params: list[Any] = []
    sets: list[tuple[str, list[Any]]] = []
    for piece in _pieces(filters, role):
        if piece.table:
            sets.append((piece.ids(), list(piece.params)))
        else:
            heads.append(piece.condition)
            heads_params.extend(piece.params)
    match = None
    if filters.text.strip():
        match = query.build_match(filters.text)[0]
        if match is None:
            return Selection("0", [], [], None, nothing=True)
    return Selection(" AND ".join(heads) or "1", heads_params, sets, match)


def source(filters: Filters, role: str | None) -> tuple[str, str, list[Any], bool]:
    """``(FROM clause, WHERE condition, parameters, searching?)`` for a query over the
    heads that match ``filters``, the full-text search included (alias ``h``; when
    searching, ``report_search`` is joined for ``query.RANK_SQL``). A text with nothing
    searchable in it matches nothing."""
    condition, params = where(filters, role)
    if not filters.text.strip():
        return "report_heads h", condition, params, False
    expression, _notes = query.build_match(filters.text)
    if expression is None:
        return "report_heads h", "0", [], False
    joined = ("report_search JOIN report_search_ids AS ids ON ids.rowid = report_search.rowid"
              " JOIN report_heads h ON h.report_id = ids.report_id")
    return joined, f"report_search MATCH ? AND {condition}", [expression, *params], True
