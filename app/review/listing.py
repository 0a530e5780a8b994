"""The review list: true totals, pages, sorting with a stable order, highlighted matches.

One query counts and one reads the page, both over ``report_heads`` (narrow rows, one per
report) through ``filters.source``; the wide bodies are read only for the rows shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlcipher3
from markupsafe import Markup

from app.review import filters as review_filters
from app.review import query
from app.store import fulltext

PAGE_SIZE = 50

#: sort code -> ORDER BY (newest first; ties broken by id so the order never changes
#: between two page loads). Relevance is bm25 and needs a text search.
SORTS = {
    "updated": "h.updated_at DESC, h.report_id DESC",
    "received": "h.received_at DESC, h.report_id DESC",
    "occurred": "h.occurred_start DESC, h.report_id DESC",
    "relevance": f"{query.RANK_SQL}, h.report_id DESC",
}
SORT_CODES = tuple(SORTS)


@dataclass
class Page:
    total: int
    number: int
    pages: int
    sort: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def choose_sort(sort: str | None, searching: bool) -> str:
    if sort in SORTS and (sort != "relevance" or searching):
        return sort  # type: ignore[return-value]
    return "relevance" if searching else "updated"


def matching_ids(
    conn: sqlcipher3.Connection,
    filters: review_filters.Filters,
    role: str | None,
    *,
    sort: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[str]:
    """Ids of the reports that match, in list order (every one, unless ``limit``)."""
    source, condition, params, searching = review_filters.source(filters, role)
    order = SORTS[choose_sort(sort, searching)]
    sql = f"SELECT h.report_id FROM {source} WHERE {condition} ORDER BY {order}"  # noqa: S608
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = [*params, max(0, limit), max(0, offset)]
    return [row[0] for row in conn.execute(sql, params)]


def count(conn: sqlcipher3.Connection, filters: review_filters.Filters,
          role: str | None) -> int:
    source, condition, params, _searching = review_filters.source(filters, role)
    sql = f"SELECT count(*) FROM {source} WHERE {condition}"  # noqa: S608
    return conn.execute(sql, params).fetchone()[0]


def page(
    conn: sqlcipher3.Connection,
    filters: review_filters.Filters,
    role: str | None,
    *,
    number: int = 1,
    sort: str | None = None,
) -> Page:
    """One page of the list (``number`` is clamped to 1..last page)."""
    total = count(conn, filters, role)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, number), pages)
    searching = bool(filters.text.strip()) and query.build_match(filters.text)[0] is not None
    chosen = choose_sort(sort, searching)
    ids = matching_ids(conn, filters, role, sort=chosen, limit=PAGE_SIZE,
                       offset=(number - 1) * PAGE_SIZE)
    result = Page(total, number, pages, chosen)
    result.rows = rows_for(conn, ids, filters.text if searching else "")
    return result


def rows_for(conn: sqlcipher3.Connection, ids: list[str], text: str = "") -> list[dict[str, Any]]:
    """What the list shows of each report, in the order of ``ids``."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    found = {
        row["report_id"]: row
        for row in conn.execute(
            "SELECT h.*, d.fingerprint, d.confirmed, r.body FROM report_heads h"  # noqa: S608
            " JOIN reports r ON r.id = h.report_id AND r.revision = h.revision"
            f" LEFT JOIN devices d ON d.device_id = h.device WHERE h.report_id IN ({marks})",
            ids,
        )
    }
    tags: dict[str, list[str]] = {}
    for report_id, label in conn.execute(
        f"SELECT report_id, label FROM report_tags WHERE report_id IN ({marks})"  # noqa: S608
        " ORDER BY tag", ids,
    ):
        tags.setdefault(report_id, []).append(label)
    out = []
    for report_id in ids:
        row = found.get(report_id)
        if row is None:
            continue
        item = {key: row[key] for key in row.keys() if key != "body"}  # noqa: SIM118 (Row)
        item["id"] = report_id
        item["tags"] = tags.get(report_id, [])
        item["urgent"] = row["sensitivity"] == "critical"
        item["unconfirmed"] = bool(row["device"]) and not row["confirmed"]
        item["title_html"] = query.highlight(row["title"], text) if text else Markup.escape(
            row["title"])
        item["snippet"] = _snippet(row["body"], text) if text else None
        out.append(item)
    return out


def _snippet(body: str, text: str) -> Markup | None:
    """Where the query matched outside the title (description, names, places...)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    _title, rest = fulltext.document_parts(document)
    snippet = query.highlight(rest, text, max_len=200)
    return snippet if "<mark>" in snippet else None
