"""Coordinator triage: status, tags, notes, possible duplicates; devices and their trust.

Everything here changes one report's review state (never its content) and commits; a
status change is written into the report's custody history with its time. Notes are the
coordinator's own: they live in ``report_notes`` (encrypted with the database) and no
export ever reads that table.
"""

from __future__ import annotations

import json
from typing import Any

import sqlcipher3

from app.messages import gettext as _
from app.records import codes, custody
from app.review import filters as review_filters
from app.review import query
from app.store import fulltext
from app.timeutil import utc_now

MAX_NOTE = 20_000


class TriageError(Exception):
    """Something the user can act on (unknown report, unknown code, empty tag)."""


def _head(conn: sqlcipher3.Connection, report_id: str) -> sqlcipher3.Row:
    row = conn.execute("SELECT * FROM report_heads WHERE report_id = ?",
                       (report_id,)).fetchone()
    if row is None:
        raise TriageError(_("no report with the id %(id)s", id=report_id[:40]))
    return row


def resolve_report(conn: sqlcipher3.Connection, given: str) -> str:
    """A report id from its id or a unique prefix of 6 or more characters."""
    text = given.strip().lower()
    if len(text) >= 6 and all(c in "0123456789abcdef" for c in text):
        rows = conn.execute("SELECT report_id FROM report_heads WHERE report_id LIKE ? || '%'"
                            " LIMIT 2", (text,)).fetchall()
        if len(rows) == 1:
            return rows[0][0]
    raise TriageError(_("no report with the id %(id)s", id=given[:40]))


def set_status(conn: sqlcipher3.Connection, report_id: str, code: str) -> bool:
    """Move a report to ``code``; False if it was there already. Commits."""
    if code not in codes.codes(codes.TRIAGE):
        raise TriageError(_("unknown status %(code)s; use one of: %(codes)s", code=code[:40],
                            codes=", ".join(c for c, _l in codes.TRIAGE)))
    head = _head(conn, report_id)
    if head["triage"] == code:
        return False
    conn.execute("UPDATE report_heads SET triage = ? WHERE report_id = ?", (code, report_id))
    custody.record(conn, report_id, "status", detail=f"{head['triage']} -> {code}")
    conn.commit()
    return True


def add_tag(conn: sqlcipher3.Connection, report_id: str, tag: str) -> bool:
    """Tag a report (case-insensitive: ``Арест`` and ``арест`` are one tag). Commits."""
    _head(conn, report_id)
    key = review_filters.normalise_tag(tag)
    if not key:
        raise TriageError(_("a tag needs at least one letter or digit"))
    label = " ".join(tag.split())[: review_filters.MAX_TAG]
    added = conn.execute(
        "INSERT OR IGNORE INTO report_tags(report_id, tag, label, added_at) VALUES (?,?,?,?)",
        (report_id, key, label, utc_now())).rowcount
    conn.commit()
    return bool(added)


def remove_tag(conn: sqlcipher3.Connection, report_id: str, tag: str) -> bool:
    _head(conn, report_id)
    removed = conn.execute("DELETE FROM report_tags WHERE report_id = ? AND tag = ?",
                           (report_id, review_filters.normalise_tag(tag))).rowcount
    conn.commit()
    return bool(removed)


def all_tags(conn: sqlcipher3.Connection) -> list[tuple[str, int]]:
    """Every tag in use (as first written) with its number of reports."""
    return [(row[0], row[1]) for row in conn.execute(
        "SELECT min(label), count(*) FROM report_tags GROUP BY tag ORDER BY tag")]


def add_note(conn: sqlcipher3.Connection, report_id: str, text: str) -> None:
    _head(conn, report_id)
    text = text.strip()[:MAX_NOTE]
    if not text:
        raise TriageError(_("the note is empty"))
    conn.execute("INSERT INTO report_notes(report_id, at, text) VALUES (?,?,?)",
                 (report_id, utc_now(), text))
    conn.commit()


def notes_of(conn: sqlcipher3.Connection, report_id: str) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(
        "SELECT seq, at, text FROM report_notes WHERE report_id = ? ORDER BY seq",
        (report_id,))]


# -- possible duplicates -----------------------------------------------------------------

#: Candidates read from the full-text index before scoring.
CANDIDATES = 40
_CANDIDATES_SQL = (
    "SELECT ids.report_id FROM report_search JOIN report_search_ids ids ON"  # noqa: S608
    " ids.rowid = report_search.rowid WHERE report_search MATCH ? ORDER BY"
    f" {query.RANK_SQL} LIMIT ?"  # constant weights
)
#: Score (0..100) from which a candidate is shown.
THRESHOLD = 55.0


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _text_of(conn: sqlcipher3.Connection, report_id: str) -> tuple[sqlcipher3.Row, str]:
    row = conn.execute(
        "SELECT h.*, r.body FROM report_heads h JOIN reports r ON r.id = h.report_id"
        " AND r.revision = h.revision WHERE h.report_id = ?", (report_id,)).fetchone()
    try:
        body = json.loads(row["body"])
    except ValueError:
        body = {}
    return row, fulltext.document_text(body if isinstance(body, dict) else {})


def _overlap(a: sqlcipher3.Row, b: sqlcipher3.Row) -> bool:
    if not a["occurred_start"] or not b["occurred_start"]:
        return False
    return a["occurred_start"] <= b["occurred_end"] and b["occurred_start"] <= a["occurred_end"]


def similarity(a: set[str], b: set[str]) -> float:
    """0..100: the mean of the Jaccard index and the containment of the smaller set (a
    short re-telling inside a long report still scores high)."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return 50.0 * common / len(a | b) + 50.0 * common / min(len(a), len(b))


def duplicates(conn: sqlcipher3.Connection, report_id: str) -> list[dict[str, Any]]:
    """Reports that may tell the same incident: candidates from the index (the title's
    and description's words, any of them), scored by ``similarity`` of their folded
    words (70 at most) plus 15 for the same region and 15 for
    overlapping dates; decided pairs are left out unless linked (``same``)."""
    from app.store import fold

    head, text = _text_of(conn, report_id)
    words = list(dict.fromkeys(w for w in fold.words(text) if len(w) > 3))[:24]
    decided = {}
    for first, second, decision in conn.execute(
            "SELECT first, second, decision FROM report_links WHERE first = ? OR second = ?",
            (report_id, report_id)):
        decided[second if first == report_id else first] = decision
    found: dict[str, dict[str, Any]] = {}
    if words:
        expression = " OR ".join(f'"{fold.fold_word(w)}"' for w in words if fold.fold_word(w))
        if expression:
            match = "{title_folded body_folded} : (" + expression + ")"
            rows = conn.execute(_CANDIDATES_SQL, (match, CANDIDATES + 1))
            mine = set(fold.fold_text(text).split())
            for (other,) in rows:
                if other == report_id or decided.get(other) == "dismissed":
                    continue
                other_head, other_text = _text_of(conn, other)
                score = similarity(mine, set(fold.fold_text(other_text).split()))
                score = 0.7 * score + (15 if other_head["region"] == head["region"] else 0) + (
                    15 if _overlap(head, other_head) else 0)
                if score >= THRESHOLD or decided.get(other) == "same":
                    found[other] = {"id": other, "title": other_head["title"],
                                    "score": round(score), "linked": decided.get(other) == "same",
                                    "device": other_head["device"]}
    for other, decision in decided.items():
        if decision == "same" and other not in found:
            other_head, _t = _text_of(conn, other)
            found[other] = {"id": other, "title": other_head["title"], "score": None,
                            "linked": True, "device": other_head["device"]}
    return sorted(found.values(), key=lambda d: (not d["linked"], -(d["score"] or 0), d["id"]))


def decide_duplicate(conn: sqlcipher3.Connection, report_id: str, other_id: str,
                     decision: str) -> None:
    """``same``: one incident told twice; ``dismissed``: not a duplicate; ``undo``."""
    _head(conn, report_id)
    _head(conn, other_id)
    if report_id == other_id or decision not in ("same", "dismissed", "undo"):
        raise TriageError(_("unknown decision"))
    first, second = _pair(report_id, other_id)
    conn.execute("DELETE FROM report_links WHERE first = ? AND second = ?", (first, second))
    if decision != "undo":
        conn.execute("INSERT INTO report_links(first, second, decision, at) VALUES (?,?,?,?)",
                     (first, second, decision, utc_now()))
        if decision == "same":
            for one, two in ((report_id, other_id), (other_id, report_id)):
                custody.record(conn, one, "linked", detail=f"same incident as {two}")
    conn.commit()


# -- devices -----------------------------------------------------------------------------


def devices(conn: sqlcipher3.Connection) -> list[dict[str, Any]]:
    """Every device that sent a bundle: ``kuager devices list --json`` objects."""
    rows = conn.execute(
        "SELECT d.device_id, d.fingerprint, d.confirmed, d.confirmed_at, d.first_seen,"
        " (SELECT count(*) FROM bundles b WHERE b.device_id = d.device_id) AS bundles,"
        " (SELECT count(*) FROM report_heads h WHERE h.device = d.device_id) AS reports"
        " FROM devices d ORDER BY d.first_seen, d.device_id").fetchall()
    return [{"fingerprint": r["fingerprint"], "confirmed": bool(r["confirmed"]),
             "first_seen": r["first_seen"], "bundles": r["bundles"], "reports": r["reports"],
             "device_id": r["device_id"], "confirmed_at": r["confirmed_at"]} for r in rows]


def confirm_device(conn: sqlcipher3.Connection, given: str, confirmed: bool = True) -> str:
    """Mark a device confirmed (its fingerprint was compared with the monitor); returns
    its fingerprint. ``confirmed=False`` withdraws the confirmation."""
    device_id = review_filters.resolve_device(conn, given)
    if device_id is None:
        raise TriageError(_("no device has the fingerprint %(fp)s", fp=given[:60]))
    conn.execute("UPDATE devices SET confirmed = ?, confirmed_at = ? WHERE device_id = ?",
                 (int(confirmed), utc_now() if confirmed else None, device_id))
    conn.commit()
    return conn.execute("SELECT fingerprint FROM devices WHERE device_id = ?",
                        (device_id,)).fetchone()[0]
