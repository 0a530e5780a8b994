"""Retention: exported reports (not purged) deleted automatically after N days.

Off by default. The setting lives in the encrypted database (``meta.retention_days``) and
is applied each time the store is unlocked: every report whose export (``exports``) is
older than N days goes, with its attachments' rows and files, its custody record, its head
(and what hangs on it) and its full-text entry, the way ``records.reports.delete`` removes
a report (the store cannot import the domain, so the same deletes are spelt out here).
Drafts and reports never exported stay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlcipher3

from app.store import fulltext, meta
from app.store.fsutil import fsync_dir

KEY = "retention_days"

#: What ``records.reports.forget_head`` removes beside a report: (table, column).
_BESIDE = (("report_heads", "report_id"), ("report_facets", "report_id"),
           ("report_tags", "report_id"), ("report_notes", "report_id"),
           ("report_links", "first"), ("report_links", "second"))


def days(conn: sqlcipher3.Connection) -> int | None:
    raw = meta.get(conn, KEY)
    return int(raw) if raw else None


def set_days(conn: sqlcipher3.Connection, value: int | None) -> None:
    """Keep exported reports ``value`` days (None: forever)."""
    if value is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (KEY,))
        conn.commit()
    else:
        meta.set(conn, KEY, str(int(value)))


def expired(conn: sqlcipher3.Connection, now: datetime | None = None) -> list[str]:
    """Ids of exported reports whose export is older than the retention period."""
    keep = days(conn)
    if keep is None:
        return []
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=keep)).strftime("%Y-%m-%dT%H:%M:%S")
    rows = conn.execute(
        "SELECT DISTINCT r.id FROM reports r JOIN exports e ON e.sequence = r.exported_in "
        "WHERE r.exported_in IS NOT NULL AND substr(e.created_at, 1, 19) < ?",
        (cutoff,),
    ).fetchall()
    return [row[0] for row in rows]


def apply(conn: sqlcipher3.Connection, files_dir: Path, now: datetime | None = None) -> int:
    """Delete the expired reports in one transaction, then their files; returns how many."""
    ids = expired(conn, now)
    if not ids:
        return 0
    files: list[str] = []
    for report_id in ids:
        for row in conn.execute(
            "SELECT file_name, sealed_original, original_file FROM attachments "
            "WHERE report_id = ?", (report_id,)
        ):
            files += [name for name in row if name]
        conn.execute("DELETE FROM attachments WHERE report_id = ?", (report_id,))
        conn.execute("DELETE FROM custody WHERE report_id = ?", (report_id,))
        conn.execute("DELETE FROM reports WHERE id = ?", (report_id,))
        for table, column in _BESIDE:  # fixed names from the tuple above, never input
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (report_id,))  # noqa: S608
        fulltext.remove(conn, report_id)
    conn.commit()
    for name in files:
        (files_dir / name).unlink(missing_ok=True)
    fsync_dir(files_dir)
    return len(ids)
