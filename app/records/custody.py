"""Chain of custody: who created, edited, exported or imported a report, and when.

The record travels inside the bundle with the report, so a coordinator can tell a
first-hand entry from a public submission and see every device a report passed through.
"""

from __future__ import annotations

import re
from typing import Any

import sqlcipher3
from flask_babel import lazy_gettext as _l

from app.messages import gettext as _
from app.records import codes
from app.timeutil import utc_now

#: What each stored event code means, in the reader's language. Codes travel in bundles
#: and stay English in the database; only the page translates them.
EVENTS: codes.CodeList = (
    ("created", _l("Created")),
    ("edited", _l("Edited")),
    ("draft", _l("Marked as a draft")),
    ("ready", _l("Marked ready to export")),
    ("exported", _l("Exported")),
    ("received", _l("Submission received")),
    ("imported", _l("Imported")),
    ("status", _l("Status changed")),
    ("linked", _l("Linked with another report")),
)

#: ``created`` events name where the report was written.
_ORIGIN_DETAILS: codes.CodeList = (
    ("operator", _l("written by the monitor")),
    ("public", _l("sent through the public form")),
    ("coordinator", _l("written by the coordinator")),
)
_BUNDLE = re.compile(r"bundle (\d{1,12})")
_STATUS = re.compile(r"([a-z_]{1,40}) -> ([a-z_]{1,40})")
_LINKED = re.compile(r"same incident as ([0-9a-f]{1,64})")
_SEALED_ON_ARRIVAL = "public form, sealed on arrival"


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


def _detail_text(event: str, detail: str) -> str:
    """The stored detail (``bundle 5``, ``public``, ``new -> verified`` ...) as words."""
    if event == "created" and detail in codes.codes(_ORIGIN_DETAILS):
        return codes.label(_ORIGIN_DETAILS, detail)
    if match := _BUNDLE.fullmatch(detail):
        return _("in bundle %(seq)s", seq=match.group(1))
    if detail == _SEALED_ON_ARRIVAL:
        return _("through the public form, sealed on arrival")
    if (match := _STATUS.fullmatch(detail)) and all(
            code in codes.codes(codes.TRIAGE) for code in match.groups()):
        return "\u2192".join(codes.label(codes.TRIAGE, code) for code in match.groups())
    if match := _LINKED.fullmatch(detail):
        return _("the same incident as report %(id)s", id=match.group(1)[:12])
    return detail  # a detail from an older version or another device: shown as it came


def describe(entry: dict[str, Any]) -> dict[str, Any]:
    """One custody entry for a page: ``event_label`` and ``detail_label`` in the reader's
    language next to the stored fields (an unknown event code is shown as it is)."""
    event = str(entry.get("event", ""))
    known = event in codes.codes(EVENTS)
    return {**entry, "event_label": codes.label(EVENTS, event) if known else event,
            "detail_label": _detail_text(event, str(entry.get("detail") or ""))}


def described(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [describe(entry) for entry in entries]
