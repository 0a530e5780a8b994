"""The full-text index of the reports, written in the transaction of every write.

The index lives in the SQLCipher database beside the reports, so it is encrypted like
everything else. It sits in the store room (not in review/, which reads it) because every
room that writes a report must keep it in step, in the same transaction: records/
(create, edit, delete, attachments), exchange/ (import, purge through records) and the
store itself (retention, and the migration that builds the index of an older store).

``report_search`` is FTS5 and *contentless* (``content=''``): it holds the tokens, not a
second copy of every report; rows are deleted by rowid (``contentless_delete=1``, SQLite
3.43+). ``reports`` has a composite key ``(id, revision)`` and a text id, and FTS5 rows
are keyed by an integer rowid, so ``report_search_ids`` maps the two: one row per report
id (its latest revision), replaced when a report changes.

Columns, all tokenized by ``unicode61 remove_diacritics 2`` (case folded in every
script; Latin diacritics dropped; Cyrillic ё/й stay apart from е/и, which the folded
columns join):

* ``title``, ``body``: the words as written (``body`` is every other text of the report);
* ``title_folded``, ``body_folded``: ``fold.fold_text`` of the same, word for word, so
  phrases work across scripts;
* ``extra``: ``fold.extra_keys`` of everything (second readings of Latin ``j``,
  hyphenated names as one word); for single words, not phrases.

Reporters' contact details (``contact``) are never indexed, so no search can find a
report by them, and no snippet can show them. A change to what is indexed or to
``fold`` needs a migration that calls ``rebuild`` (app/store/migrations.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlcipher3

from app.store import fold

#: The table (a copy lives in the migration that first created it: a migration never
#: changes once shipped). For tests and tools that build an index outside a store.
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS report_search_ids (
    rowid INTEGER PRIMARY KEY,
    report_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE IF NOT EXISTS report_search USING fts5(
    title, body, title_folded, body_folded, extra,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
"""

#: Reports read per round trip by ``rebuild`` (bounded memory whatever the store holds).
BATCH = 500


# ---------------------------------------------------------------------------------------
# What of a report is indexed


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string in ``value`` (a string, a list, a dict's values), defensively."""
    if depth > 4 or value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, depth + 1)


def _rows(body: dict[str, Any], group: str) -> list[dict[str, Any]]:
    rows = body.get(group)
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def document_parts(body: dict[str, Any], attachment_names: Iterable[str] = (), *,
                   legal_label: Callable[[str], str] | None = None) -> tuple[str, str]:
    """``(title, everything else)`` of a report, as indexed. Never ``contact``; codes
    (region, rights, acts, perpetrator kinds, sensitivity) are not words of the report
    and are filtered on separately. A legal provision's code is indexed as stored (old
    reports hold free text there, such as "КоАП РК"); ``legal_label`` gives the words a
    snippet shows instead (the code list's label in the reader's language)."""
    parts: list[str] = []
    for name in ("description", "place", "abroad_country"):
        parts.extend(_strings(body.get(name)))
    for row in _rows(body, "victims"):
        parts.extend(_strings(row.get("name")))
        parts.extend(_strings(row.get("role")))
    for row in _rows(body, "perpetrators"):
        parts.extend(_strings(row.get("name")))
    for row in _rows(body, "legal"):
        code = row.get("code")
        if legal_label is not None and isinstance(code, str) and code.strip():
            parts.append(legal_label(code.strip()))
        else:
            parts.extend(_strings(code))
        parts.extend(_strings(row.get("article")))
    parts.extend(_strings(body.get("sources")))
    parts.extend(_strings(body.get("links")))
    parts.extend(_strings(list(attachment_names)))
    return " ".join(_strings(body.get("title"))), "\n".join(parts)


def document_text(body: dict[str, Any], attachment_names: Iterable[str] = ()) -> str:
    """Every indexed text of a report in one string (title first)."""
    title, rest = document_parts(body, attachment_names)
    return "\n".join(part for part in (title, rest) if part)


def parse_body(raw: str | bytes | None) -> dict[str, Any]:
    """A stored body as a dict; ``{}`` for anything that is not a JSON object."""
    try:
        document = json.loads(raw or "{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def attachment_names(conn: sqlcipher3.Connection, report_id: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT name FROM attachments WHERE report_id = ? ORDER BY added_at, id", (report_id,))]


def _rows_for(conn: sqlcipher3.Connection, sql: str,
              report_ids: list[str]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` (a fixed query with ``{marks}`` in ``report_id IN ({marks})``)
    for ``report_ids``, ``BATCH`` ids a query (SQLite's limit on bound values)."""
    for start in range(0, len(report_ids), BATCH):
        chunk = report_ids[start : start + BATCH]
        yield from conn.execute(sql.format(marks=", ".join("?" * len(chunk))), chunk)


def attachment_names_of(conn: sqlcipher3.Connection,
                        report_ids: list[str]) -> dict[str, list[str]]:
    """``attachment_names`` of many reports (only those with attachments are keys)."""
    names: dict[str, list[str]] = {}
    for report_id, name in _rows_for(
            conn, "SELECT report_id, name FROM attachments WHERE report_id IN ({marks})"
            " ORDER BY report_id, added_at, id", report_ids):
        names.setdefault(report_id, []).append(name)
    return names


# ---------------------------------------------------------------------------------------
# Writing the index (the caller's transaction; the caller commits with the report)


def _entry(body: dict[str, Any], names: Iterable[str]) -> tuple[str, str, str, str, str]:
    """The five columns of a report's entry: the texts as written, then folded."""
    title, rest = document_parts(body, names)
    return (title, rest, *fold.index_columns(title, rest))


_INSERT = ("INSERT INTO report_search(rowid, title, body, title_folded, body_folded, extra)"
           " VALUES (?,?,?,?,?,?)")


def write(
    conn: sqlcipher3.Connection,
    report_id: str,
    body: dict[str, Any],
    names: Iterable[str] = (),
) -> None:
    """Index (or re-index) a report from ``body`` and its attachment ``names``."""
    conn.execute("INSERT OR IGNORE INTO report_search_ids(report_id) VALUES (?)", (report_id,))
    (rowid,) = conn.execute(
        "SELECT rowid FROM report_search_ids WHERE report_id = ?", (report_id,)
    ).fetchone()
    conn.execute("DELETE FROM report_search WHERE rowid = ?", (rowid,))
    conn.execute(_INSERT, (rowid, *_entry(body, names)))


def _rowids(conn: sqlcipher3.Connection, report_ids: list[str]) -> dict[str, int]:
    return dict(_rows_for(conn, "SELECT report_id, rowid FROM report_search_ids"
                                " WHERE report_id IN ({marks})", report_ids))


def write_many(conn: sqlcipher3.Connection, documents: dict[str, dict[str, Any]]) -> None:
    """``write`` for many reports at once (an import's, a rebuild's): ``{report id:
    body}``, the attachment names read from the store. A statement per step for all of
    them, and no delete for a report that had no entry."""
    if not documents:
        return
    report_ids = list(documents)
    known = _rowids(conn, report_ids)
    conn.executemany("DELETE FROM report_search WHERE rowid = ?",
                     [(rowid,) for rowid in known.values()])
    new = [report_id for report_id in report_ids if report_id not in known]
    conn.executemany("INSERT INTO report_search_ids(report_id) VALUES (?)",
                     [(report_id,) for report_id in new])
    rowids = {**known, **_rowids(conn, new)}
    names = attachment_names_of(conn, report_ids)
    conn.executemany(_INSERT, [
        (rowids[report_id], *_entry(body, names.get(report_id, [])))
        for report_id, body in documents.items()
    ])


def remove(conn: sqlcipher3.Connection, report_id: str) -> None:
    """Forget a report. Deleted tokens stay in FTS5's segments (encrypted) until they are
    merged; ``INSERT INTO report_search(report_search) VALUES ('optimize')`` rewrites them."""
    row = conn.execute(
        "SELECT rowid FROM report_search_ids WHERE report_id = ?", (report_id,)
    ).fetchone()
    if row is not None:
        conn.execute("DELETE FROM report_search WHERE rowid = ?", (row[0],))
        conn.execute("DELETE FROM report_search_ids WHERE rowid = ?", (row[0],))


def reindex(conn: sqlcipher3.Connection, report_id: str) -> None:
    """Index a report from what is stored: its latest revision and attachment names
    (after its attachments changed); forget it when no revision is stored (yet: an import
    writes a new report's attachments before the report, and indexes it then)."""
    row = conn.execute(
        "SELECT body FROM reports WHERE id = ? ORDER BY revision DESC LIMIT 1", (report_id,)
    ).fetchone()
    if row is None:
        remove(conn, report_id)
        return
    write(conn, report_id, parse_body(row[0]), attachment_names(conn, report_id))


def rebuild(conn: sqlcipher3.Connection) -> int:
    """Empty the index and index the latest revision of every report (no commit: the
    caller's transaction, a migration's); the number indexed."""
    conn.execute("INSERT INTO report_search(report_search) VALUES ('delete-all')")
    conn.execute("DELETE FROM report_search_ids")
    done, after = 0, ""
    while True:
        rows = conn.execute(
            "SELECT r.id, r.body FROM reports r"
            " WHERE r.id > ? AND r.revision = (SELECT max(x.revision) FROM reports x"
            " WHERE x.id = r.id) ORDER BY r.id LIMIT ?",
            (after, BATCH),
        ).fetchall()
        if not rows:
            return done
        write_many(conn, {report_id: parse_body(raw) for report_id, raw in rows})
        done += len(rows)
        after = rows[-1][0]


def count(conn: sqlcipher3.Connection) -> int:
    """Reports in the index (equal to the reports stored, when the index is in step)."""
    return conn.execute("SELECT count(*) FROM report_search_ids").fetchone()[0]
