"""A CSV that HURIDOCS' Uwazi imports ("Import CSV" of a template), so that reviewed cases
can move into an organisation's Uwazi collection.

Uwazi's CSV import matches columns to template properties by name (the property's name,
lower case, no spaces; order does not matter), needs a ``title`` column, takes select and
multi-select values by their thesaurus label (values it does not know are added to the
thesaurus), separates several values with ``|`` and reads dates as ``YYYY-MM-DD`` or
``YYYY``. Its first line must be the column names, so this file has no header block: the
filters and the consent rule are printed by the command and the page instead (see
docs/REVIEW-stats.md for the template to create and the mapping).

The consent rule, the publication filter and the scope are those of app/review/tables.py.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from app.review import tables

__all__ = ["COLUMNS", "uwazi_row", "write_csv"]

#: (Uwazi property name, Uwazi property type): the template to create in Uwazi.
COLUMNS = (
    ("title", "title"),
    ("kuager_id", "text"),
    ("description", "markdown"),
    ("date_of_incident", "date"),
    ("date_precision", "select"),
    ("end_date", "date"),
    ("region", "select"),
    ("place", "text"),
    ("rights_affected", "multiselect"),
    ("acts", "multiselect"),
    ("perpetrators", "multiselect"),
    ("perpetrator_names", "text"),
    ("victim_roles", "multiselect"),
    ("people_affected", "text"),
    ("number_of_people", "numeric"),
    ("legal_provisions", "text"),
    ("sources", "multiselect"),
    ("status", "select"),
)


class _Labels(tables.Labels):
    def __call__(self, list_name: str, code: str) -> str:
        # "|" separates values in Uwazi: a label must not contain one.
        return super().__call__(list_name, code).replace("|", "/")

    def many(self, list_name: str, codes: list[str]) -> str:
        seen: list[str] = []
        for code in codes:
            if code and self(list_name, code) not in seen:
                seen.append(self(list_name, code))
        return "|".join(seen)


def _date(value: str) -> str:
    """``YYYY-MM-DD`` or ``YYYY`` as Uwazi reads them; a month-only date becomes the
    first day of its month (the ``date_precision`` column says it is a month)."""
    if len(value) == 7:
        return value + "-01"
    return value if len(value) in (4, 10) else ""


def uwazi_row(meta: dict[str, Any], body: dict[str, Any],
              label: _Labels | None = None) -> dict[str, str]:
    label = label or _Labels()
    row = tables.report_row(meta, body, label)
    _label, _many = label, label.many
    victims = body.get("victims") or []
    names = [label.withheld if body.get("withhold_names") else p["name"].strip()
             for p in body.get("perpetrators") or [] if (p.get("name") or "").strip()]
    precision = body.get("occurred_precision") or ""
    return {
        "title": row["title"] or row["id"],
        "kuager_id": row["id"],
        "description": row["description"],
        "date_of_incident": _date(body.get("occurred_on") or ""),
        "date_precision": _label("precision", precision) if precision else "",
        "end_date": _date(body.get("ended_on") or ""),
        "region": _label("region", body.get("region") or "") if body.get("region") else "",
        "place": row["place"],
        "rights_affected": _many("right", body.get("rights") or []),
        "acts": _many("act", body.get("acts") or []),
        "perpetrators": _many("perpetrator",
                              [p.get("kind") or "" for p in body.get("perpetrators") or []]),
        "perpetrator_names": tables.SEP.join(names),
        "victim_roles": _many("victim_role", [v.get("role") or "" for v in victims]),
        "people_affected": row["victims"],
        "number_of_people": str(len(victims)),
        "legal_provisions": row["legal"],
        "sources": _many("source", body.get("sources") or []),
        "status": _label("status", meta.get("status") or ""),
    }


def row_maker() -> Callable[[dict[str, Any], dict[str, Any]], dict[str, str]]:
    """``uwazi_row`` with labels looked up once for the whole file."""
    label = _Labels()

    def make(meta: dict[str, Any], body: dict[str, Any]) -> dict[str, str]:
        return uwazi_row(meta, body, label)
    return make


def write_csv(cells: Iterator[dict[str, str]], fh: TextIO, options: tables.TableOptions,
              left: dict[str, int]) -> int:
    """The Uwazi CSV of ``cells`` (``uwazi_row``s), streamed; ``left`` (what was held
    apart) is not written: Uwazi reads the first line as column names."""
    del left, options
    writer = csv.writer(fh)
    writer.writerow([name for name, _type in COLUMNS])
    count = 0
    for row in cells:
        writer.writerow([tables.neutralise(row[name]) for name, _type in COLUMNS])
        count += 1
    return count
