"""Keeping the full-text index in step with the reports.

Every write of a report marks its head stale (``report_heads.indexed = 0``) in the
write's own transaction (app/records/reports.py; the records room cannot fold words, it
sits below this one), and deleting a report removes its index entry in that same
transaction. ``sync`` indexes every stale head: the coordinator's import calls it inside
the import transaction, and every search calls it before it reads, so a search never
sees an index behind the reports. A store upgraded from before the index has every head
stale: its first search builds the index (docs/REVIEW.md gives the time for 100,000).
"""

from __future__ import annotations

import json

import sqlcipher3

from app.review import query

#: Heads indexed per round trip (bounded memory whatever the store holds).
BATCH = 500


def stale_count(conn: sqlcipher3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM report_heads WHERE indexed = 0").fetchone()[0]


def sync(conn: sqlcipher3.Connection) -> int:
    """Index every stale head (no commit: the caller's transaction); the number indexed."""
    done = 0
    while True:
        rows = conn.execute(
            "SELECT h.report_id, h.revision, r.body FROM report_heads h JOIN reports r"
            " ON r.id = h.report_id AND r.revision = h.revision WHERE h.indexed = 0 LIMIT ?",
            (BATCH,),
        ).fetchall()
        if not rows:
            return done
        for report_id, _revision, body in rows:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM attachments WHERE report_id = ? ORDER BY added_at, id",
                (report_id,))]
            try:
                document = json.loads(body)
            except ValueError:
                document = {}
            query.index_document(conn, report_id, document if isinstance(document, dict)
                                 else {}, names)
            conn.execute("UPDATE report_heads SET indexed = 1 WHERE report_id = ?",
                         (report_id,))
        done += len(rows)


def ensure(conn: sqlcipher3.Connection) -> int:
    """``sync`` and commit when anything was indexed (before a search reads)."""
    if not conn.execute("SELECT 1 FROM report_heads WHERE indexed = 0 LIMIT 1").fetchone():
        return 0
    try:
        done = sync(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return done
