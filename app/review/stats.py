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

Every count is one SQL ``GROUP BY`` over ``json_each`` of the stored report bodies (SQLCipher
carries SQLite's JSON functions), so the numbers come from the same rows the tables list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlcipher3

from app.review import filters as review_filters
from app.review.filters import Filters

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
#: The latest revision's row, joined only when a count needs the body (people, month).
_BODY_JOIN = "JOIN reports r ON r.id = h.report_id AND r.revision = h.revision"
_PRECISION = ("(SELECT coalesce(json_extract(x.body, '$.occurred_precision'), 'day') "
              "FROM reports x WHERE x.id = h.report_id AND x.revision = h.revision)")


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


#: Fields with one value per report: their SQL expression on ``h`` (and ``d``).
_SINGLE = {
    "region": "nullif(h.region, '')",
    "status": "nullif(h.triage, '')",
    "device": "d.fingerprint",
    # The month is known when the date has one and its precision is a day or a month.
    # The heads keep the date and the days it may cover, not the precision; the body is
    # read (lazily, by CASE) only where those cannot tell: a date said to be precise to
    # the year covers from 1 January, so only dates whose range starts on 1 January of
    # their own year are asked.
    "month": ("CASE WHEN h.occurred_start IS NULL OR length(h.occurred_on) < 7 THEN NULL "
              "WHEN substr(h.occurred_start, 1, 7) <> substr(h.occurred_on, 1, 7) THEN NULL "
              "WHEN substr(h.occurred_start, 6, 5) <> '01-01' "
              "THEN substr(h.occurred_on, 1, 7) "
              f"WHEN {_PRECISION} IN ('day', 'month') THEN substr(h.occurred_on, 1, 7) END"),
    # The year is known when the date is (its range is empty only for unknown dates).
    "year": "CASE WHEN h.occurred_start IS NOT NULL THEN substr(h.occurred_start, 1, 4) END",
}
#: Multi-valued fields: their facet kind (app/records/reports.py keeps one row per code).
_MULTI = ("right", "act", "perpetrator", "victim_role")


def _field_sql(name: str, people: bool) -> tuple[str, str]:
    """``(join, value expression)`` of a field; the join may be empty."""
    if name in _SINGLE:
        return "", _SINGLE[name]
    if name == "victim_role" and people:  # the person counted is the victim of the unit
        return "", "nullif(json_extract(v.value, '$.role'), '')"
    if name not in _MULTI:
        raise UnknownField(name)
    alias = f"f_{name}"
    # LEFT JOIN: a report without a value for the field gives one NULL row. ``name`` is
    # one of the fixed names above.
    return (f"LEFT JOIN report_facets {alias} ON {alias}.report_id = h.report_id "
            f"AND {alias}.kind = '{name}'", f"{alias}.code")


#: Page cache for a count or a table (SQLite's default is 2 MiB): a count reads the
#: report heads and facets of 100,000 reports (about 40 MiB of pages) with lookups between
#: them; with the default cache every lookup decrypts its page again. Per connection.
CACHE_KIB = 64 * 1024


def roomy(conn: sqlcipher3.Connection) -> None:
    """Give ``conn`` a page cache large enough for the heads and facets."""
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
    source, where, params = scope_sql(conn, scope)
    joins, values = [], []
    if people:
        joins += [_BODY_JOIN, "JOIN json_each(r.body, '$.victims') v"]
    for name in by:
        join, value = _field_sql(name, people)
        if join and join not in joins:
            joins.append(join)
        values.append(value)
    columns = ", ".join(f"{value} AS g{i}" for i, value in enumerate(values))
    groups = ", ".join(f"g{i}" for i in range(len(values)))
    # Facets hold each code once per report and a person is one element of one report,
    # so every (unit, group) pair is one joined row: count(*) counts units.
    # Every fragment is one of the fixed strings above; every value is a bound parameter.
    sql = (f"SELECT {columns}, count(*) FROM {source} {' '.join(joins)} "  # noqa: S608
           f"WHERE {where} GROUP BY {groups}")
    rows = [(tuple(row[:-1]), int(row[-1])) for row in conn.execute(sql, params)]
    first = by[0]
    if first in TIME_FIELDS:
        rows.sort(key=lambda item: tuple(_sort_key(n)(v) for n, v in zip(by, item[0],
                                                                          strict=True)))
    else:
        rows.sort(key=lambda item: (-item[1], *(_sort_key(n)(v)
                                                for n, v in zip(by, item[0], strict=True))))
    total, left_out = _totals(conn, scope, people)
    return Counts(by, unit, rows, total, left_out)


def _totals(conn: sqlcipher3.Connection, scope: Scope,
            people: bool) -> tuple[int, dict[str, int]]:
    """The units in scope, and how many the filters chose that the held-apart rules left
    out: one pass over the reports the filters chose."""
    source, where, params = scope_sql(conn, scope, held_apart=False)
    join = _BODY_JOIN if people else ""
    unit = "json_array_length(r.body, '$.victims')" if people else "1"
    kept = ["1"]
    parts, names = [], []
    if not scope.rejected_wanted:
        kept.append(f"NOT {_REJECTED}")
        parts.append(f"coalesce(sum(CASE WHEN {_REJECTED} THEN {unit} END), 0)")
        names.append("rejected")
    if not scope.include_unconfirmed:
        kept.append(_CONFIRMED)
        parts.append(f"coalesce(sum(CASE WHEN NOT {_CONFIRMED} THEN {unit} END), 0)")
        names.append("unconfirmed")
    total = f"coalesce(sum(CASE WHEN {' AND '.join(kept)} THEN {unit} END), 0)"
    sql = f"SELECT {', '.join([total, *parts])} FROM {source} {join} WHERE {where}"  # noqa: S608
    row = conn.execute(sql, params).fetchone()
    return int(row[0]), {name: int(n) for name, n in zip(names, row[1:], strict=True)}
