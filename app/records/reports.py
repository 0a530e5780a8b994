"""Reports: the one place that turns form data into stored rows and rows into reports.

A report's full content is one JSON document (``body``); the columns beside it exist to
filter and sort. ``content_sha256`` is the hash of the canonical body, so a coordinator
can tell a re-sent report from a changed one.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

import sqlcipher3

from app.config import Config
from app.records import attachments, custody
from app.store import fulltext
from app.timeutil import utc_now

#: Fields of a report body, in the order a reader expects them.
BODY_FIELDS = (
    "title",
    "description",
    "occurred_on",
    "occurred_precision",
    "ended_on",
    "region",
    "place",
    "abroad_country",
    "rights",
    "acts",
    "victims",
    "perpetrators",
    "legal",
    "sources",
    "links",
    "sensitivity",
    "may_publish",
    "withhold_names",
    "contact",
)
_GROUPS = {
    "victims": ("name", "role", "consent", "may_name"),
    "perpetrators": ("kind", "name"),
    "legal": ("code", "article"),
}


#: What ``json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``
#: builds on every call, built once (an export or import encodes tens of thousands).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def body_from_form(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the fields a report has; drop empty rows of the repeatable groups."""
    body = {name: data.get(name) for name in BODY_FIELDS}
    for group, keys in _GROUPS.items():
        rows = [{k: row.get(k) for k in keys} for row in data.get(group) or []]
        body[group] = [
            row for row in rows if any(row.get(k) for k in keys if k not in ("consent", "may_name"))
        ]
    for name in ("rights", "acts", "sources"):
        body[name] = sorted(set(body.get(name) or []))
    for name in (
        "title",
        "description",
        "occurred_on",
        "ended_on",
        "region",
        "place",
        "abroad_country",
        "links",
        "contact",
    ):
        body[name] = body.get(name) or ""
    body["may_publish"] = bool(body.get("may_publish"))
    body["withhold_names"] = bool(body.get("withhold_names"))
    return body


def form_data(body: dict[str, Any]) -> dict[str, Any]:
    """A stored body as form data, with one empty row in each empty group."""
    data = dict(body)
    for group, keys in _GROUPS.items():
        data[group] = list(body.get(group) or []) or [dict.fromkeys(keys)]
    return data


def content_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


#: A field store's report is a draft (not exported) or ready to send (exported next time).
DRAFT, READY = "draft", "ready"


def create(
    conn: sqlcipher3.Connection,
    body: dict[str, Any],
    origin: str = "operator",
    device: str = "",
    *,
    draft: bool = False,
) -> str:
    """Insert a new report, ready to send unless ``draft`` (the caller commits, together
    with its attachments)."""
    report_id = uuid.uuid4().hex
    now = utc_now()
    conn.execute(
        "INSERT INTO reports(id, revision, origin, status, created_at, updated_at, title,"
        " occurred_on, region, body, content_sha256) VALUES (?,1,?,?,?,?,?,?,?,?,?)",
        (
            report_id,
            origin,
            DRAFT if draft else READY,
            now,
            now,
            body["title"],
            body["occurred_on"],
            body["region"],
            canonical_json(body),
            content_hash(body),
        ),
    )
    custody.record(conn, report_id, "created", device=device, detail=origin)
    refresh_head(conn, report_id)
    return report_id


def update(
    conn: sqlcipher3.Connection,
    report_id: str,
    body: dict[str, Any],
    device: str = "",
    *,
    force: bool = False,
    draft: bool | None = None,
) -> None:
    """Edit in place and count the revision up, so a re-export is a new revision.

    ``force`` counts up even when the text is unchanged (attachments were added or removed).
    ``draft`` True/False makes it a draft / ready to send; None keeps a draft a draft and
    makes anything else ready (a changed exported report is sent again).
    """
    row = latest(conn, report_id)
    if row is None:
        raise KeyError(report_id)
    if draft is None:
        draft = row["status"] == DRAFT
    if content_hash(body) == row["content_sha256"] and not force:
        if (row["status"] == DRAFT) != draft and row["exported_in"] is None:
            set_draft(conn, report_id, draft, device=device)
        return
    conn.execute(
        "UPDATE reports SET revision = revision + 1, updated_at = ?, title = ?, occurred_on = ?,"
        " region = ?, body = ?, content_sha256 = ?, status = ?, exported_in = NULL"
        " WHERE id = ? AND revision = ?",
        (
            utc_now(),
            body["title"],
            body["occurred_on"],
            body["region"],
            canonical_json(body),
            content_hash(body),
            DRAFT if draft else READY,
            report_id,
            row["revision"],
        ),
    )
    custody.record(conn, report_id, "edited", device=device)
    refresh_head(conn, report_id)


def set_draft(conn: sqlcipher3.Connection, report_id: str, draft: bool, device: str = "") -> bool:
    """Mark a report not yet exported as a draft or ready to send (no commit); False when
    there is no such report or it was already exported unchanged."""
    status = DRAFT if draft else READY
    changed = conn.execute(
        "UPDATE reports SET status = ? WHERE id = ? AND exported_in IS NULL AND status != ?",
        (status, report_id, status),
    ).rowcount
    if changed:
        custody.record(conn, report_id, "draft" if draft else "ready", device=device)
        # The list reads the status from the head; the indexed text did not change.
        refresh_head(conn, report_id, index=False)
    return bool(changed)


def delete_rows(conn: sqlcipher3.Connection, report_ids: Iterable[str]) -> list[str | None]:
    """Delete reports with their attachment and custody rows (no commit); returns the
    files to remove once the caller has committed."""
    files: list[str | None] = []
    for report_id in report_ids:
        for row in attachments.for_report(conn, report_id):
            files += [row["file_name"], row["sealed_original"], row["original_file"]]
        conn.execute("DELETE FROM attachments WHERE report_id = ?", (report_id,))
        conn.execute("DELETE FROM custody WHERE report_id = ?", (report_id,))
        conn.execute("DELETE FROM reports WHERE id = ?", (report_id,))
        forget_head(conn, report_id)
    return files


def delete(conn: sqlcipher3.Connection, cfg: Config, report_ids: Iterable[str]) -> int:
    """Remove reports, their attachments and custody rows; files go after the commit."""
    ids = list(report_ids)
    files = delete_rows(conn, ids)
    conn.commit()
    attachments.remove_files(cfg, files)
    return len(ids)


def latest(conn: sqlcipher3.Connection, report_id: str) -> sqlcipher3.Row | None:
    return conn.execute(
        "SELECT * FROM reports WHERE id = ? ORDER BY revision DESC LIMIT 1", (report_id,)
    ).fetchone()


def body_of(row: sqlcipher3.Row) -> dict[str, Any]:
    return json.loads(row["body"])


# -- report heads: the latest revision of each report, for lists and filters ------------

#: The repeatable code fields of a body, as facet kinds: (kind, body field, key in a row).
FACETS = (
    ("right", "rights", None),
    ("act", "acts", None),
    ("perpetrator", "perpetrators", "kind"),
    ("victim_role", "victims", "role"),
)


def date_bounds(value: object, precision: str) -> tuple[str, str] | None:
    """The first and last day a date may mean: ``2026-03`` (or ``2026-03-15`` said to be
    precise to the month) is 2026-03-01..2026-03-31; a year is the whole year."""
    text = value.strip() if isinstance(value, str) else ""
    if precision == "unknown" or not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        return None
    year = int(text[:4])
    if precision == "year" or len(text) == 4:
        return f"{year:04d}-01-01", f"{year:04d}-12-31"
    month = int(text[5:7])
    if not 1 <= month <= 12:
        return None
    if precision == "month" or len(text) == 7:
        last = calendar.monthrange(year, month)[1]
        return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}"
    return text, text


def occurrence_range(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The days an incident may cover: from its start date (with its precision) to the
    end of its end date, if that is later. ``(None, None)`` when the date is unknown."""
    start = date_bounds(body.get("occurred_on"), str(body.get("occurred_precision") or "day"))
    if start is None:
        return None, None
    end = date_bounds(body.get("ended_on"), "day")
    return start[0], max(start[1], end[1]) if end else start[1]


def _facets(body: dict[str, Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for kind, name, key in FACETS:
        for item in body.get(name) or []:
            value = item.get(key) if key and isinstance(item, dict) else item
            if isinstance(value, str) and value:
                found.add((kind, value))
    return found


_HEAD_UPSERT = (
    "INSERT INTO report_heads(report_id, revision, title, occurred_on, occurred_start,"
    " occurred_end, region, sensitivity, origin, status, device, received_at, updated_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(report_id) DO UPDATE SET revision = excluded.revision,"
    " title = excluded.title, occurred_on = excluded.occurred_on,"
    " occurred_start = excluded.occurred_start, occurred_end = excluded.occurred_end,"
    " region = excluded.region, sensitivity = excluded.sensitivity,"
    " origin = excluded.origin, status = excluded.status, device = excluded.device,"
    " updated_at = excluded.updated_at"
)


def _head_values(row: Any, body: dict[str, Any]) -> tuple[Any, ...]:
    start, end = occurrence_range(body)
    return (
        row["id"],
        row["revision"],
        row["title"],
        row["occurred_on"],
        start,
        end,
        row["region"],
        str(body.get("sensitivity") or "normal"),
        row["origin"],
        row["status"],
        row["source_device"],
        row["imported_at"] or row["created_at"],
        row["updated_at"],
    )


def refresh_head(conn: sqlcipher3.Connection, report_id: str, *, index: bool = True) -> None:
    """Point the report's head at its latest revision and index that revision's text with
    its attachment names (in the caller's transaction: the list, the filters and the
    search see the write when it commits, and never half of it).

    The coordinator's triage and tags stay. ``index=False`` when only the status changed.
    """
    row = latest(conn, report_id)
    if row is None:
        forget_head(conn, report_id)
        return
    body = body_of(row)
    conn.execute(_HEAD_UPSERT, _head_values(row, body))
    conn.execute("DELETE FROM report_facets WHERE report_id = ?", (report_id,))
    conn.executemany(
        "INSERT INTO report_facets(kind, code, report_id) VALUES (?,?,?)",
        [(kind, code, report_id) for kind, code in sorted(_facets(body))],
    )
    if index:
        fulltext.write(conn, report_id, body, fulltext.attachment_names(conn, report_id))


def write_heads(conn: sqlcipher3.Connection,
                latest_rows: Iterable[tuple[Any, dict[str, Any]]]) -> None:
    """``refresh_head`` for many reports at once, from rows the caller has just written:
    ``(row, parsed body)`` with the columns of ``reports`` by name, each the report's
    latest revision (the last given for a report wins). One statement per table instead
    of four per report, and no body read back and parsed again (an import's 10,000). The
    full-text index is written too, in the caller's transaction, with the attachment
    names already recorded."""
    heads: dict[str, tuple[Any, dict[str, Any]]] = {}
    for row, body in latest_rows:
        heads[row["id"]] = (row, body)
    if not heads:
        return
    conn.executemany(_HEAD_UPSERT, [_head_values(row, body) for row, body in heads.values()])
    conn.executemany("DELETE FROM report_facets WHERE report_id = ?", [(i,) for i in heads])
    conn.executemany(
        "INSERT INTO report_facets(kind, code, report_id) VALUES (?,?,?)",
        [(kind, code, report_id) for report_id, (_row, body) in heads.items()
         for kind, code in sorted(_facets(body))],
    )
    fulltext.write_many(conn, {report_id: body for report_id, (_row, body) in heads.items()})


def forget_head(conn: sqlcipher3.Connection, report_id: str) -> None:
    """Remove everything kept beside a deleted report: head, facets, coordinator triage,
    and its full-text entry (in the caller's transaction, so no word of it outlives it)."""
    for table, column in (
        ("report_heads", "report_id"),
        ("report_facets", "report_id"),
        ("report_tags", "report_id"),
        ("report_notes", "report_id"),
        ("report_links", "first"),
        ("report_links", "second"),
    ):
        # Fixed names from the tuple above, never input.
        conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (report_id,))  # noqa: S608
    fulltext.remove(conn, report_id)


def search(
    conn: sqlcipher3.Connection,
    *,
    region: str = "",
    status: str = "",
    right: str = "",
    act: str = "",
    limit: int = 500,
) -> list[sqlcipher3.Row]:
    """Latest revision of each report matching every given filter, newest first (a plain
    lookup for code that needs no full-text search; app/review/listing.py is the list)."""
    where, args = ["1"], []
    if region:
        where.append("h.region = ?")
        args.append(region)
    if status:
        where.append("h.status = ?")
        args.append(status)
    for kind, value in (("right", right), ("act", act)):
        if value:
            where.append(
                "EXISTS (SELECT 1 FROM report_facets f WHERE f.kind = ? AND f.code = ?"
                " AND f.report_id = h.report_id)"
            )
            args += [kind, value]
    conditions = " AND ".join(where)
    sql = (
        "SELECT r.* FROM report_heads h JOIN reports r ON r.id = h.report_id"  # noqa: S608
        f" AND r.revision = h.revision WHERE {conditions}"
        " ORDER BY h.updated_at DESC, h.report_id DESC LIMIT ?"
    )
    return conn.execute(sql, (*args, limit)).fetchall()


def tags_of(conn: sqlcipher3.Connection, report_id: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT label FROM report_tags WHERE report_id = ? ORDER BY tag", (report_id,))]


def head_of(conn: sqlcipher3.Connection, report_id: str) -> sqlcipher3.Row | None:
    return conn.execute(
        "SELECT h.*, d.fingerprint, d.confirmed FROM report_heads h"
        " LEFT JOIN devices d ON d.device_id = h.device WHERE h.report_id = ?",
        (report_id,),
    ).fetchone()


def as_json(
    conn: sqlcipher3.Connection, row: sqlcipher3.Row, role: str | None = None
) -> dict[str, Any]:
    """The ``reports list --json`` object of a report (see docs/CLI.md). ``status`` is the
    coordinator's triage on a coordinator store, the field workflow on a field store."""
    body = body_of(row)
    files = attachments.for_report(conn, row["id"])
    head = head_of(conn, row["id"])
    status = row["status"]
    if role == "coordinator" and head is not None:
        status = head["triage"]
    device = head["device"] if head is not None else row["source_device"]
    return {
        "id": row["id"],
        "revision": row["revision"],
        "status": status,
        **({"draft": row["status"] == DRAFT} if row["source_device"] is None else {}),
        "origin": row["origin"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        **body,
        "attachments": [
            {
                "name": f["name"],
                "sha256": f["sha256"],
                "size": f["size"],
                "media_type": f["media_type"],
                "metadata_removed": bool(f["metadata_removed"]),
                "original_sha256": f["original_sha256"],
                "original_size": f["original_size"],
            }
            for f in files
        ],
        "source_device": row["source_device"],
        "tags": tags_of(conn, row["id"]),
        "device": (head["fingerprint"] or device) if head is not None and device else None,
        "device_confirmed": bool(head["confirmed"]) if head is not None and device else None,
    }
