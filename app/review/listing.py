"""The review list: true totals, pages, sorting with a stable order, highlighted matches.

Each filter is a set of report ids (``filters.selection``): the filters on the columns of
``report_heads`` (narrow rows, one per report) are one condition, each filter on a code
of a repeatable field or on a tag is a ``SELECT`` from its own table's index, and the
text is the FTS5 match. When there is more than one set they are combined with
``INTERSECT``, which SQLite runs as a merge of sorted id lists: asking row by row
("does this report have the act? is it in the search?") cost a lookup per candidate, and
the planner sometimes drove an FTS5 query from every head (seconds at 100,000 reports).
The count reads only what it must (the FTS5 table alone for a search without other
filters: every indexed row has its head, both written in one transaction); a page reads
the ids of its 50 rows, by an index on the sort column or, for relevance, FTS5's bm25
over the matches then the ids of the page alone. The wide bodies are read, and the
matches highlighted, only for the rows shown. docs/REVIEW.md gives the measured times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlcipher3
from markupsafe import Markup

from app.review import filters as review_filters
from app.review import labels, query
from app.store import fulltext

PAGE_SIZE = 50

#: sort code -> ORDER BY (newest first; ties broken by id so the order never changes
#: between two page loads; each has an index on ``(column, report_id)``). Relevance is
#: bm25 (best first), ties broken by the report's row in the index (the report indexed
#: first comes first), and needs a text search.
SORTS = {
    "updated": "h.updated_at DESC, h.report_id DESC",
    "received": "h.received_at DESC, h.report_id DESC",
    "occurred": "h.occurred_start DESC, h.report_id DESC",
    "relevance": f"{query.RANK_SQL}, report_search.rowid",
}
SORT_CODES = tuple(SORTS)

#: The ids of the reports whose text matches (the search's set).
_TEXT_IDS = ("SELECT ids.report_id FROM report_search JOIN report_search_ids AS ids"
             " ON ids.rowid = report_search.rowid WHERE report_search MATCH ?")


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


def _others(chosen: review_filters.Selection) -> list[tuple[str, list[Any]]]:
    """Every set but the text's."""
    sets = []
    if chosen.heads != "1":
        sets.append((f"SELECT h.report_id FROM report_heads h WHERE {chosen.heads}",  # noqa: S608
                     chosen.heads_params))
    return sets + chosen.sets


def _intersect(sets: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    params: list[Any] = []
    for _sql, values in sets:
        params.extend(values)
    return " INTERSECT ".join(sql for sql, _values in sets), params


def _limit(limit: int | None, offset: int) -> tuple[str, list[Any]]:
    """``LIMIT ? OFFSET ?`` (a negative limit is none in SQLite)."""
    return " LIMIT ? OFFSET ?", [-1 if limit is None else max(0, limit), max(0, offset)]


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
    chosen = review_filters.selection(filters, role)
    if chosen.nothing:
        return []
    order = choose_sort(sort, chosen.match is not None)
    others = _others(chosen)
    tail, tail_params = _limit(limit, offset)
    if order == "relevance":
        if not others:
            # bm25 over the matches in FTS5 alone, then the ids of this page's rows.
            sql = (f"SELECT ids.report_id FROM (SELECT rowid, {query.RANK_SQL} AS score"  # noqa: S608
                   " FROM report_search WHERE report_search MATCH ? ORDER BY score, rowid"
                   f"{tail}) AS m JOIN report_search_ids AS ids ON ids.rowid = m.rowid"
                   " ORDER BY m.score, m.rowid")
            params: list[Any] = [chosen.match, *tail_params]
        else:
            inner, inner_params = _intersect(others)
            sql = (f"{_TEXT_IDS} AND ids.report_id IN ({inner})"
                   f" ORDER BY {SORTS['relevance']}{tail}")
            params = [chosen.match, *inner_params, *tail_params]
    elif chosen.match is None and not chosen.sets:
        # Only columns of the heads: the index on the sort column reads just the page.
        sql = (f"SELECT h.report_id FROM report_heads h WHERE {chosen.heads}"  # noqa: S608
               f" ORDER BY {SORTS[order]}{tail}")
        params = [*chosen.heads_params, *tail_params]
    else:
        text = [(_TEXT_IDS, [chosen.match])] if chosen.match is not None else []
        inner, params = _intersect(text + others)
        sql = (f"SELECT h.report_id FROM report_heads h WHERE h.report_id IN ({inner})"  # noqa: S608
               f" ORDER BY {SORTS[order]}{tail}")
        params = [*params, *tail_params]
    return [row[0] for row in conn.execute(sql, params)]


def count(conn: sqlcipher3.Connection, filters: review_filters.Filters,
          role: str | None) -> int:
    """How many reports match (exactly)."""
    chosen = review_filters.selection(filters, role)
    if chosen.nothing:
        return 0
    others = _others(chosen)
    if chosen.match is None and not chosen.sets:
        sql = f"SELECT count(*) FROM report_heads h WHERE {chosen.heads}"  # noqa: S608
        params = chosen.heads_params
    elif chosen.match is not None and not others:
        sql, params = "SELECT count(*) FROM report_search WHERE report_search MATCH ?", [
            chosen.match]
    else:
        text = [(_TEXT_IDS, [chosen.match])] if chosen.match is not None else []
        inner, params = _intersect(text + others)
        sql = f"SELECT count(*) FROM ({inner})"  # noqa: S608
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
                       offset=(number - 1) * PAGE_SIZE) if total else []
    result = Page(total, number, pages, chosen)
    result.rows = rows_for(conn, ids, filters.text if searching else "")
    return result


def rows_for(conn: sqlcipher3.Connection, ids: list[str], text: str = "") -> list[dict[str, Any]]:
    """What the list shows of each report, in the order of ``ids``."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    # The body (the wide JSON) only when a snippet is shown.
    body, join = (", r.body", " JOIN reports r ON r.id = h.report_id AND r.revision = h.revision"
                  ) if text else ("", "")
    found = {
        row["report_id"]: row
        for row in conn.execute(
            f"SELECT h.*, d.fingerprint, d.confirmed{body} FROM report_heads h{join}"  # noqa: S608
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
    mark = query.Highlighter(text) if text else None
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
        item["title_html"] = mark(row["title"]) if mark else Markup.escape(row["title"])
        item["snippet"] = _snippet(row["body"], mark) if mark else None
        out.append(item)
    return out


def _snippet(body: str, mark: query.Highlighter) -> Markup | None:
    """Where the query matched outside the title (description, names, places...)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    # A provision's code in the reader's words, never the code itself ("administrative").
    _title, rest = fulltext.document_parts(
        document, legal_label=lambda code: labels.code_label("legal", code))
    snippet = mark(rest, max_len=200)
    return snippet if "<mark>" in snippet else None
