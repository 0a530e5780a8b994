"""Statistics of the coordinator store: counts by one field or cross-tabulated by two.

The counting rules (docs/REVIEW-stats.md says the same in words, and the tests check each
against an independent count):

- **Revisions count once, the latest.** Only the newest revision of each report is read.
- **Multi-valued fields count once under each value.** A report with two acts counts once
  under each act; two perpetrators of the same kind count once under that kind. A report
  that carries no value for a field counts once under ``None`` ("not recorded"), so every
  report in scope appears under at least one group of every field.
- **Dates count by what is known.** ``month`` is ``YYYY-MM`` when the report's date
  precision is ``day`` or ``month`` and the date has a month; otherwise (dated by year
  only, or date unknown) the report counts under ``None``: "month unknown". ``year`` is
  ``YYYY`` unless the precision is ``unknown`` or there is no date (``None``: "year
  unknown"). A report dated only by year so counts in its year and under "month unknown".
- **People** (``unit="people"``) count victims instead of reports: each person listed in a
  report counts once in each group of the report's values, and by ``victim_role`` under
  their own role. A report without people adds nothing.
- **Held apart unless asked**: reports from devices the coordinator has not confirmed and
  rejected reports are left out; :attr:`Counts.left_out` says how many of each (in the
  unit counted) matched the other filters but were left out. Reports written on the
  coordinator store itself have no device and are never held apart for it.

Every count is one SQL ``GROUP BY`` over one range of ``report_facts``
(app/store/migrations.py): per report, one row for the report and one per code of each
multi-valued field (or one "not recorded" row), each carrying the report's region, month,
year, triage and device, and how many people it counts. SQLite triggers on
``report_heads`` rewrite a report's rows from its latest body in the transaction of every
write, so the numbers come from the same revisions the tables list, without reading a
body or searching an index per report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlcipher3

from app.review import filters as review_filters
from app.review.filters import Filters
from app.store import migrations

__all__ = [
    "FIELDS",
    "Counts",
    "Scope",
    "UnknownField",
    "count",
    "scope_sql",
]

#: The fields one can count by, in the order the CLI's help and the page list them.
FIELDS = ("region", "right", "act", "perpetrator", "victim_role", "month", "year", "status",
          "device")
UNITS = ("reports", "people")
#: Fields whose groups are shown in time order rather than by count.
TIME_FIELDS = frozenset({"month", "year"})


class UnknownField(ValueError):
    """A ``by`` field that is not one of :data:`FIELDS`."""


@dataclass(frozen=True)
class Scope:
    """Which reports are counted: the review filters (app/review/filters.py; ``None``: all)
    and the two "held apart" switches. A status filter that asks for ``rejected`` counts
    rejected reports without ``include_rejected``."""

    filters: Filters | None = None
    include_unconfirmed: bool = False
    include_rejected: bool = False

    @property
    def rejected_wanted(self) -> bool:
        return self.include_rejected or (self.filters is not None
                                         and "rejected" in self.filters.statuses)


@dataclass
class Counts:
    """The groups of one count: ``rows`` are ``(values, count)``, one value per field."""

    fields: tuple[str, ...]
    unit: str
    rows: list[tuple[tuple[str | None, ...], int]]
    #: Units (reports or people) in scope, each counted once.
    total: int
    #: Units that matched the filters but were held apart: ``{"rejected": n,
    #: "unconfirmed": m}`` (a rejected report from an unconfirmed device is in both).
    left_out: dict[str, int] = field(default_factory=dict)

    def as_dicts(self) -> list[dict[str, Any]]:
        """``[{"region": "almaty_city", "count": 12}, ...]``: one object per group."""
        return [{**dict(zip(self.fields, values, strict=True)), "count": n}
                for values, n in self.rows]

    def matrix(self) -> tuple[list[str | None], list[str | None], dict[tuple[Any, Any], int]]:
        """A two-field count as (row values, column values, cells)."""
        if len(self.fields) != 2:
            raise ValueError("a matrix needs two fields")
        rows: list[str | None] = []
        cols: list[str | None] = []
        cells: dict[tuple[Any, Any], int] = {}
        for (a, b), n in self.rows:
            if a not in rows:
                rows.append(a)
            if b not in cols:
                cols.append(b)
            cells[(a, b)] = n
        return rows, sorted(cols, key=_sort_key(self.fields[1])), cells


# --------------------------------------------------------------------------- SQL

#: Sent by a device the coordinator confirmed, or written on this store.
_CONFIRMED = "(h.device IS NULL OR coalesce(d.confirmed, 0) = 1)"
_REJECTED = "h.triage = 'rejected'"


def scope_sql(conn: sqlcipher3.Connection, scope: Scope, *,
              held_apart: bool = True) -> tuple[str, str, list[Any]]:
    """``(FROM ..., WHERE ..., params)`` of the reports in ``scope``: their heads ``h``
    (latest revisions), the sending device ``d``; the filters, and unless ``held_apart``
    is False the rejected/unconfirmed rules."""
    del conn
    chosen = replace(scope.filters or Filters(), include_unconfirmed=True)
    source, where, params, _searching = review_filters.source(chosen, "coordinator")
    source += " LEFT JOIN devices d ON d.device_id = h.device"
    clauses = [f"({where})"]
    if held_apart:
        if not scope.rejected_wanted:
            clauses.append(f"NOT {_REJECTED}")
        if not scope.include_unconfirmed:
            clauses.append(_CONFIRMED)
    return source, " AND ".join(clauses), list(params)


#: Fields with one value per report: the column of ``report_facts`` that carries it (on
#: every row of the report, so that it can be read beside a multi-valued field's value).
_COLUMNS = {"region": "region", "month": "month", "year": "year", "status": "triage",
            "device": "device"}
#: Multi-valued fields: their rows of ``report_facts`` (one per code the report carries,
#: or one ``''`` row: not recorded).
_MULTI = ("right", "act", "perpetrator", "victim_role")
#: The row every report has once (its value is the region): for single-valued fields.
_REPORT_ROW = "region"
#: Separates the values ``group_concat`` gathers (never in a code or a device id).
_SEP = "\x1f"
_PAIR = "\x1e"
#: Sent by a device the coordinator confirmed, or written on this store (on a fact row).
_FACT_CONFIRMED = ("(a.device IS NULL OR a.device IN "
                   "(SELECT device_id FROM devices WHERE confirmed = 1))")
_FACT_REJECTED = "a.triage = 'rejected'"


#: The reports the filters chose, gathered once per count (a temporary table: in memory,
#: temp_store = MEMORY, dropped when the count is made).
_CHOSEN = "temp.stats_chosen"


def _choose(conn: sqlcipher3.Connection, scope: Scope) -> bool:
    """Gather the report ids the review filters choose (the full-text search included);
    False without filters (every report)."""
    if scope.filters is None or scope.filters.is_empty():
        return False
    chosen = replace(scope.filters, include_unconfirmed=True)
    source, where, params, _searching = review_filters.source(chosen, "coordinator")
    conn.execute(f"DROP TABLE IF EXISTS {_CHOSEN}")
    conn.execute("CREATE TEMP TABLE stats_chosen (report_id TEXT PRIMARY KEY) WITHOUT ROWID")
    # Fixed fragments from app/review/filters.py; every value is a bound parameter.
    sql = f"INSERT OR IGNORE INTO {_CHOSEN} SELECT h.report_id FROM {source} WHERE {where}"  # noqa: S608
    conn.execute(sql, params)
    return True


def _chosen_sql(chosen: bool) -> str:
    """A condition on the fact row ``a``: its report is one the filters chose. Each row of
    the range is looked up in that (small, in memory) set; the ``+`` keeps SQLite from
    turning it around and looking up each chosen report's row in the table, which reads
    pages at random."""
    return f"+a.report_id IN (SELECT report_id FROM {_CHOSEN})" if chosen else "1"  # noqa: S608


#: Page cache for a count or a table (SQLite's default is 2 MiB): a cross-tabulation of
#: two multi-valued fields looks up the second field's rows of every report, and a table
#: the body of every report; with the default cache every lookup decrypts its page again.
#: Per connection.
CACHE_KIB = 64 * 1024


def roomy(conn: sqlcipher3.Connection) -> None:
    """Give ``conn`` a page cache large enough for the facts (or the heads)."""
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


def _sort_key(name: str) -> Callable[[str | None], tuple[int, str]]:
    return lambda value: (value is None, value or "")


def count(conn: sqlcipher3.Connection, by: Sequence[str], scope: Scope | None = None, *,
          unit: str = "reports") -> Counts:
    """Counts of the reports (or people) in ``scope`` grouped by one or two fields.

    Groups come largest first; by ``month`` or ``year`` (first field) in time order, with
    the unknown group last. Raises :class:`UnknownField` for a field not in :data:`FIELDS`
    and ``ValueError`` for a unit that is neither ``reports`` nor ``people``, or for no or
    more than two fields.
    """
    scope = scope or Scope()
    by = tuple(by)
    if not 1 <= len(by) <= 2:
        raise ValueError("count by one or two fields")
    for name in by:
        if name not in FIELDS:
            raise UnknownField(name)
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    people = unit == "people"
    roomy(conn)
    fields = list(dict.fromkeys(by))  # a field asked twice is one value, shown twice
    fingerprints = dict(conn.execute("SELECT device_id, fingerprint FROM devices").fetchall())
    merged: dict[tuple[str | None, ...], int] = {}
    # Python's sqlite3 opens a transaction for the INSERT into the temporary table: the
    # count closes it again (only temporary rows were written), unless the caller's own.
    ours = not conn.in_transaction
    chosen = _choose(conn, scope)
    try:
        for raw, n in _count_rows(conn, fields, scope, people, chosen):
            key = tuple(_shown(name, raw[name], fingerprints) for name in by)
            merged[key] = merged.get(key, 0) + n
        total, left_out = _totals(conn, scope, people, chosen)
    finally:
        if chosen:
            conn.execute(f"DROP TABLE IF EXISTS {_CHOSEN}")
            if ours and conn.in_transaction:
                conn.commit()
    rows = list(merged.items())
    first = by[0]
    if first in TIME_FIELDS:
        rows.sort(key=lambda item: tuple(_sort_key(n)(v) for n, v in zip(by, item[0],
                                                                          strict=True)))
    else:
        rows.sort(key=lambda item: (-item[1], *(_sort_key(n)(v)
                                                for n, v in zip(by, item[0], strict=True))))
    return Counts(by, unit, rows, total, left_out)


def _held_apart(scope: Scope) -> list[str]:
    clauses = []
    if not scope.rejected_wanted:
        clauses.append(f"NOT {_FACT_REJECTED}")
    if not scope.include_unconfirmed:
        clauses.append(_FACT_CONFIRMED)
    return clauses


def _count_rows(conn: sqlcipher3.Connection, fields: list[str], scope: Scope,
                people: bool, chosen: bool) -> Iterator[tuple[dict[str, Any], int]]:
    """The raw groups of a count (``''`` for not recorded, device ids): one pass over the
    rows of the (first) multi-valued field, or the reports' ``region`` rows; a second
    multi-valued field is joined by report (through its index).

    The pass reads the rows in the order of their own value; a grouped value that is not
    it (a column, or the second field's value) is gathered per group with
    ``group_concat`` and counted here: SQLite would otherwise sort every row to group
    them, which costs more than the pass itself.
    """
    multi = [name for name in fields if name in _MULTI]
    if len(multi) == 2 and not people:
        yield from _count_two_lists(conn, multi, scope, chosen)
        return
    alias = dict(zip(multi, ("a", "b"), strict=False))
    a_field = multi[0] if multi else _REPORT_ROW
    source, params = "report_facts a", []
    if len(multi) == 2:
        source += (" CROSS JOIN report_facts b ON b.report_id = a.report_id"
                   " AND b.field = ?")
        params.append(multi[1])
    clauses = ["a.field = ?"]
    params.append(a_field)
    if people:
        # A person is counted under the report's values, and under their own role.
        weight = f"{alias['victim_role']}.people" if "victim_role" in alias else "a.people"
        clauses.append(f"{weight} > 0")
        total_of = f"sum({weight})"
    else:
        clauses += [f"{a}.counted = 1" for a in alias.values()]
        total_of = "count(*)"
    clauses += _held_apart(scope)
    clauses.append(_chosen_sql(chosen))
    # The rows' own value where there is one (the region on region rows): the order of
    # the primary key, so that grouping by it needs no sort.
    values = {name: f"{alias[name]}.value" if name in alias
              else "a.value" if name == a_field else f"a.{_COLUMNS[name]}"
              for name in fields}
    where = " AND ".join(clauses)
    # Every fragment is one of the fixed strings above; every value is a bound parameter.
    gathered = [name for name in fields if name != a_field]
    if not people and gathered:
        # Rows come in the order of a.value: group by it, gather the other values
        # (joined by _PAIR when two) and count them here.
        joined = " || char(30) || ".join(f"coalesce({values[name]}, '')" for name in gathered)
        sql = (f"SELECT a.value, group_concat({joined}, ?) "  # noqa: S608
               f"FROM {source} WHERE {where} GROUP BY a.value")
        for value, text in conn.execute(sql, [_SEP, *params]):
            for others, n in Counter(text.split(_SEP)).items():
                group = dict(zip(gathered, others.split(_PAIR), strict=True))
                if a_field in fields:
                    group[a_field] = value
                yield group, n
        return
    columns = ", ".join(f"{values[name]} AS g{i}" for i, name in enumerate(fields))
    groups = ", ".join(f"g{i}" for i in range(len(fields)))
    sql = (f"SELECT {columns}, {total_of} FROM {source} "  # noqa: S608
           f"WHERE {where} GROUP BY {groups}")
    for row in conn.execute(sql, params):
        yield dict(zip(fields, row[:-1], strict=True)), int(row[-1])


def _count_two_lists(conn: sqlcipher3.Connection, multi: list[str], scope: Scope,
                     chosen: bool) -> Iterator[tuple[dict[str, Any], int]]:
    """Reports by two multi-valued fields: one pass over the reports' ``region`` rows,
    which carry the codes each report counts under for every such field (migration 7);
    the reports with the same two code lists are counted once, and each such group adds
    its count under every pair of their codes."""
    first, second = (f"a.{migrations.FACT_CODE_COLUMNS[name]}" for name in multi)
    clauses = ["a.field = ?", *_held_apart(scope), _chosen_sql(chosen)]
    # Fixed fragments (the column names of migration 7, the held-apart rules). Counted
    # here: SQLite's GROUP BY would sort the 100,000 rows first.
    sql = (f"SELECT {first} || char(30) || {second} FROM report_facts a "  # noqa: S608
           f"WHERE {' AND '.join(clauses)}")
    lists = Counter(row[0] for row in conn.execute(sql, [_REPORT_ROW]))
    pairs: Counter[tuple[str, str]] = Counter()
    for text, n in lists.items():
        # A code never holds U+001E (imports refuse it); a store written before that
        # check is split at the last one, never refused.
        one, other = text.rsplit(_PAIR, 1)
        for a in one.split(_SEP):
            for b in other.split(_SEP):
                pairs[(a, b)] += n
    for (a, b), n in pairs.items():
        yield {multi[0]: a, multi[1]: b}, n


def _shown(name: str, raw: Any, fingerprints: dict[str, str]) -> str | None:
    """A group's value as counted: ``None`` for "not recorded"/"unknown", a device by its
    fingerprint (``None``: written on this store, or a device this store does not know)."""
    if name == "device":
        return fingerprints.get(raw) if raw is not None else None
    return raw or None


def _totals(conn: sqlcipher3.Connection, scope: Scope, people: bool,
            chosen: bool) -> tuple[int, dict[str, int]]:
    """The units in scope, and how many the filters chose that the held-apart rules left
    out: one pass over the reports' ``region`` rows."""
    unit = "a.people" if people else "1"
    kept = ["1", *_held_apart(scope)]
    parts, names = [], []
    if not scope.rejected_wanted:
        parts.append(f"coalesce(sum(CASE WHEN {_FACT_REJECTED} THEN {unit} END), 0)")
        names.append("rejected")
    if not scope.include_unconfirmed:
        parts.append(f"coalesce(sum(CASE WHEN NOT {_FACT_CONFIRMED} THEN {unit} END), 0)")
        names.append("unconfirmed")
    total = f"coalesce(sum(CASE WHEN {' AND '.join(kept)} THEN {unit} END), 0)"
    sql = (f"SELECT {', '.join([total, *parts])} FROM report_facts a "  # noqa: S608
           f"WHERE a.field = ? AND {_chosen_sql(chosen)}")
    row = conn.execute(sql, [_REPORT_ROW]).fetchone()
    return int(row[0]), {name: int(n) for name, n in zip(names, row[1:], strict=True)}
