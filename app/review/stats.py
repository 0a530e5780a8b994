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
from dataclasses import dataclass, field
from typing import Any

import sqlcipher3

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
    """Which reports are counted: the review filters and the two "held apart" switches.

    ``where``/``params`` is one SQL condition on the latest revision, aliased ``r`` (with the
    sending device aliased ``d``), as the review filters produce it; empty means all.
    """

    where: str = ""
    params: tuple[Any, ...] = ()
    include_unconfirmed: bool = False
    include_rejected: bool = False


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

_PRECISION = "coalesce(json_extract(r.body, '$.occurred_precision'), 'day')"
_LATEST = "r.revision = (SELECT max(x.revision) FROM reports x WHERE x.id = r.id)"


def _has_column(conn: sqlcipher3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def _confirmed_sql(conn: sqlcipher3.Connection) -> str:
    """Reports written here, or sent by a device the coordinator confirmed."""
    if _has_column(conn, "devices", "confirmed"):
        return "(r.source_device IS NULL OR coalesce(d.confirmed, 0) = 1)"
    return "r.source_device IS NULL"  # no device has ever been confirmed


def scope_sql(conn: sqlcipher3.Connection, scope: Scope, *,
              held_apart: bool = True) -> tuple[str, str, list[Any]]:
    """``(FROM ..., WHERE ..., params)`` of the reports in ``scope`` (latest revisions,
    filters, and unless ``held_apart`` is False the rejected/unconfirmed rules)."""
    source = "reports r LEFT JOIN devices d ON d.device_id = r.source_device"
    where = [_LATEST]
    params: list[Any] = []
    if scope.where:
        where.append(f"({scope.where})")
        params += list(scope.params)
    if held_apart:
        if not scope.include_rejected:
            where.append("r.status <> 'rejected'")
        if not scope.include_unconfirmed:
            where.append(_confirmed_sql(conn))
    return source, " AND ".join(where), params


#: Fields with one value per report: their SQL expression on ``r`` (and ``d``).
_SINGLE = {
    "region": "nullif(r.region, '')",
    "status": "nullif(r.status, '')",
    "device": "d.fingerprint",
    "month": (f"CASE WHEN {_PRECISION} IN ('day', 'month') AND r.occurred_on GLOB "
              "'[0-9][0-9][0-9][0-9]-[0-9][0-9]*' THEN substr(r.occurred_on, 1, 7) END"),
    "year": (f"CASE WHEN {_PRECISION} <> 'unknown' AND r.occurred_on GLOB "
             "'[0-9][0-9][0-9][0-9]*' THEN substr(r.occurred_on, 1, 4) END"),
}
#: Multi-valued fields: (alias, JSON array, value of one element).
_MULTI = {
    "right": ("j_right", "$.rights", "j_right.value"),
    "act": ("j_act", "$.acts", "j_act.value"),
    "perpetrator": ("j_perp", "$.perpetrators", "json_extract(j_perp.value, '$.kind')"),
    "victim_role": ("j_role", "$.victims", "json_extract(j_role.value, '$.role')"),
}


def _field_sql(name: str, people: bool) -> tuple[str, str]:
    """``(join, value expression)`` of a field; the join may be empty."""
    if name in _SINGLE:
        return "", _SINGLE[name]
    if name == "victim_role" and people:  # the person counted is the victim of the unit
        return "", "nullif(json_extract(v.value, '$.role'), '')"
    if name not in _MULTI:
        raise UnknownField(name)
    alias, path, value = _MULTI[name]
    # LEFT JOIN ... ON: a report with no (non-empty) value still gives one NULL row.
    return (f"LEFT JOIN json_each(r.body, '{path}') {alias} ON coalesce({value}, '') <> ''",
            value)


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
    source, where, params = scope_sql(conn, scope)
    joins, values = [], []
    if people:
        joins.append("JOIN json_each(r.body, '$.victims') v")
    for name in by:
        join, value = _field_sql(name, people)
        if join and join not in joins:
            joins.append(join)
        values.append(value)
    unit_id = "r.id || ':' || v.key" if people else "r.id"
    columns = ", ".join(f"{value} AS g{i}" for i, value in enumerate(values))
    groups = ", ".join(f"g{i}" for i in range(len(values)))
    # Every fragment is one of the fixed strings above; every value is a bound parameter.
    sql = (f"SELECT {columns}, count(DISTINCT {unit_id}) FROM {source} {' '.join(joins)} "  # noqa: S608
           f"WHERE {where} GROUP BY {groups}")
    rows = [(tuple(row[:-1]), int(row[-1])) for row in conn.execute(sql, params)]
    first = by[0]
    if first in TIME_FIELDS:
        rows.sort(key=lambda item: tuple(_sort_key(n)(v) for n, v in zip(by, item[0],
                                                                          strict=True)))
    else:
        rows.sort(key=lambda item: (-item[1], *(_sort_key(n)(v)
                                                for n, v in zip(by, item[0], strict=True))))
    return Counts(by, unit, rows, _total(conn, scope, people), _left_out(conn, scope, people))


def _units(people: bool) -> str:
    return ("coalesce(sum(json_array_length(r.body, '$.victims')), 0)" if people
            else "count(*)")


def _total(conn: sqlcipher3.Connection, scope: Scope, people: bool) -> int:
    source, where, params = scope_sql(conn, scope)
    sql = f"SELECT {_units(people)} FROM {source} WHERE {where}"  # noqa: S608
    return int(conn.execute(sql, params).fetchone()[0])


def _left_out(conn: sqlcipher3.Connection, scope: Scope, people: bool) -> dict[str, int]:
    source, where, params = scope_sql(conn, scope, held_apart=False)
    left: dict[str, int] = {}
    if not scope.include_rejected:
        sql = f"SELECT {_units(people)} FROM {source} WHERE {where} AND r.status = 'rejected'"  # noqa: S608
        left["rejected"] = int(conn.execute(sql, params).fetchone()[0])
    if not scope.include_unconfirmed:
        sql = (f"SELECT {_units(people)} FROM {source} WHERE {where} "  # noqa: S608
               f"AND NOT {_confirmed_sql(conn)}")
        left["unconfirmed"] = int(conn.execute(sql, params).fetchone()[0])
    return left
