"""Reports: the one place that turns form data into stored rows and rows into reports.

A report's full content is one JSON document (``body``); the columns beside it exist to
filter and sort. ``content_sha256`` is the hash of the canonical body, so a coordinator
can tell a re-sent report from a changed one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

import sqlcipher3

from app.config import Config
from app.records import attachments, custody
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


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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


def search(
    conn: sqlcipher3.Connection,
    *,
    region: str = "",
    status: str = "",
    right: str = "",
    act: str = "",
    text: str = "",
    limit: int = 500,
) -> list[sqlcipher3.Row]:
    """Latest revision of each report matching every given filter, newest first."""
    where, args = ["r.revision = (SELECT max(revision) FROM reports WHERE id = r.id)"], []
    if region:
        where.append("r.region = ?")
        args.append(region)
    if status:
        where.append("r.status = ?")
        args.append(status)
    for name, value in (("rights", right), ("acts", act)):
        if value:
            # ``name`` is one of two fixed field names, never input.
            where.append(f"EXISTS (SELECT 1 FROM json_each(r.body, '$.{name}') WHERE value = ?)")  # noqa: S608
            args.append(value)
    if text:
        where.append("(r.title LIKE ? OR json_extract(r.body, '$.description') LIKE ?)")
        args += [f"%{text}%", f"%{text}%"]
    # Only the fixed fragments above are joined; every value is a bound parameter.
    conditions = " AND ".join(where)
    sql = f"SELECT r.* FROM reports r WHERE {conditions} ORDER BY r.updated_at DESC LIMIT ?"  # noqa: S608
    return conn.execute(sql, (*args, limit)).fetchall()


def as_json(conn: sqlcipher3.Connection, row: sqlcipher3.Row) -> dict[str, Any]:
    """The ``reports list --json`` object of a report (see docs/CLI.md)."""
    body = body_of(row)
    files = attachments.for_report(conn, row["id"])
    return {
        "id": row["id"],
        "revision": row["revision"],
        "status": row["status"],
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
    }
