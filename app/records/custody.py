"""Chain of custody: who created, edited, exported or imported a report, and when.

The record travels inside the bundle with the report, so a coordinator can tell a
first-hand entry from a public submission and see every device a report passed through.
"""

from __future__ import annotations

from typing import Any

import sqlcipher3

from app.timeutil import utc_now


def record(
    conn: sqlcipher3.Connection,
    report_id: str,
    event: str,
    *,
    device: str = "",
    detail: str = "",
    at: str | None = None,
    claimed_by: str = "",
) -> None:
    """``claimed_by``: the device whose bundle carried this event (a claim of that device);
    empty for what this store itself recorded."""
    conn.execute(
        "INSERT INTO custody(report_id, at, event, device, detail, claimed_by)"
        " VALUES (?,?,?,?,?,?)",
        (report_id, at or utc_now(), event, device, detail, claimed_by),
    )


def record_many(
    conn: sqlcipher3.Connection,
    events: list[tuple[str, str]],
    *,
    device: str = "",
    detail: str = "",
    at: str | None = None,
) -> None:
    """``record`` for many ``(report_id, event)`` at once (one statement, same time)."""
    when = at or utc_now()
    conn.executemany(
        "INSERT INTO custody(report_id, at, event, device, detail) VALUES (?,?,?,?,?)",
        [(report_id, when, event, device, detail) for report_id, event in events],
    )


def history(conn: sqlcipher3.Connection, report_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT at, event, device, detail FROM custody WHERE report_id = ? ORDER BY seq",
        (report_id,),
    ).fetchall()
    return [dict(row) for row in rows]


def history_with_claims(conn: sqlcipher3.Connection, report_id: str) -> list[dict[str, Any]]:
    """The history as the review page shows it: each event with the device that claims it
    (``claimed_by``, its fingerprint in ``claimed_fingerprint``)."""
    rows = conn.execute(
        "SELECT c.at, c.event, c.device, c.detail, c.claimed_by, d.fingerprint"
        " AS claimed_fingerprint FROM custody c LEFT JOIN devices d"
        " ON d.device_id = c.claimed_by WHERE c.report_id = ? ORDER BY c.seq",
        (report_id,),
    ).fetchall()
    return [dict(row) for row in rows]
