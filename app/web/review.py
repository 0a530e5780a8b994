"""Coordinator pages for a monitoring briefing: statistics (tables beside server-drawn SVG
charts), a printable briefing, and tables written to a folder the coordinator names.

Coordinator store only (404 on a field store). No script: every chart is inline SVG from
app/review/charts.py, every action a form. A table is plaintext: the form says so, asks
for a confirmation, writes only into the folder typed in (never a downloads folder, never
a browser download) and never replaces a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from app.records import codes
from app.review import charts, labels, stats, tables
from app.review import filters as review_filters
from app.review.stats import FIELDS, Scope
from app.web.db import get_db, get_store

bp = Blueprint("review_stats", __name__, url_prefix="/review")

#: The statistics a printed briefing shows, in this order.
BRIEFING_FIELDS = ("act", "right", "region", "perpetrator", "victim_role", "month")
#: Reports listed in a printed briefing at most (the count says how many matched).
BRIEFING_REPORTS = 200


def _coordinator_only() -> None:
    if get_store().role != "coordinator":
        abort(404)


def _flag(name: str) -> bool:
    return request.values.get(name) in ("1", "on", "yes")


#: The review filters this page takes (names as in app/review/filters.py and the CLI).
FILTER_NAMES = ("query", "region", "right", "act", "perpetrator", "victim_role", "from",
                "to", "status", "tag")


def _filter_args() -> list[tuple[str, str]]:
    """The filters given, as (name, value) pairs, to carry into links and forms."""
    return [(name, value) for name in FILTER_NAMES for value in request.values.getlist(name)
            if value.strip()][:200]


def _scope() -> Scope:
    chosen = review_filters.parse(request.values.getlist, role="coordinator", conn=get_db())
    return Scope(filters=chosen, include_unconfirmed=_flag("include_unconfirmed"),
                 include_rejected=_flag("include_rejected"))


def _filter_text(pairs: list[tuple[str, str]]) -> str:
    return " ".join(f"{name}={value}" for name, value in pairs)


def _unit() -> str:
    return "people" if request.values.get("count") == "people" else "reports"


def _field(name: str, default: str | None) -> str | None:
    value = request.values.get(name, "")
    return value if value in FIELDS else default


def left_out_text(left_out: dict[str, int], unit: str) -> str:
    """"Left out: 3 rejected reports, 12 reports from unconfirmed devices"."""
    parts = []
    people = unit == "people"
    if "rejected" in left_out:
        n = left_out["rejected"]
        parts.append(ngettext("%(num)d person in rejected reports",
                              "%(num)d people in rejected reports", n) if people else
                     ngettext("%(num)d rejected report", "%(num)d rejected reports", n))
    if "unconfirmed" in left_out:
        n = left_out["unconfirmed"]
        parts.append(ngettext("%(num)d person in reports from unconfirmed devices",
                              "%(num)d people in reports from unconfirmed devices", n)
                     if people else
                     ngettext("%(num)d report from unconfirmed devices",
                              "%(num)d reports from unconfirmed devices", n))
    return _("Left out: %(what)s.", what=", ".join(parts)) if parts else ""


def _chart(name: str, result: stats.Counts, unit: str) -> Markup:
    title = labels.field_title(name)
    empty = _("No reports match.")
    if name == "month":
        known = {values[0]: n for values, n in result.rows if values[0] is not None}
        return charts.timeline_chart(charts.fill_months(known), title=title, empty_text=empty,
                                     chart_id=f"chart-{name}-{unit}")
    rows = [(labels.group_label(name, values[0]), n) for values, n in result.rows]
    return charts.bar_chart(rows, title=title, empty_text=empty,
                            chart_id=f"chart-{name}-{unit}")


def _section(name: str, scope: Scope, unit: str) -> dict[str, Any]:
    result = stats.count(get_db(), [name], scope, unit=unit)
    return {
        "name": name,
        "title": labels.field_title(name),
        "rows": [(labels.group_label(name, values[0]), values[0], n)
                 for values, n in result.rows],
        "total": result.total,
        "chart": _chart(name, result, unit),
        "left_out": left_out_text(result.left_out, unit),
    }


def _cross(first: str, second: str, scope: Scope, unit: str) -> dict[str, Any]:
    result = stats.count(get_db(), [first, second], scope, unit=unit)
    rows, cols, cells = result.matrix()
    return {
        "first": labels.field_title(first), "second": labels.field_title(second),
        "cols": [labels.group_label(second, c) for c in cols],
        "rows": [(labels.group_label(first, r), [cells.get((r, c), 0) for c in cols])
                 for r in rows],
    }


def _page(template: str, **extra: Any) -> str:
    scope, unit = _scope(), _unit()
    by = _field("by", "act")
    by2 = _field("by2", None)
    if by2 == by:
        by2 = None
    section = _section(by, scope, unit)  # type: ignore[arg-type]
    pairs = _filter_args()
    context = {
        "filter_args": pairs, "given": dict(pairs), "codes": codes,
        "notes": scope.filters.notes if scope.filters else (),
        "fields": [(name, labels.field_title(name)) for name in FIELDS],
        "by": by, "by2": by2, "unit": unit, "scope": scope, "section": section,
        "cross": _cross(by, by2, scope, unit) if by2 else None,  # type: ignore[arg-type]
        "formats": [("csv", _("CSV (Excel, LibreOffice; UTF-8)")), ("xlsx", _("XLSX (Excel)")),
                    ("json", _("JSON lines (for other tools)")),
                    ("uwazi", _("Uwazi CSV import"))],
        "units": [("reports", _("Reports")), ("people", _("People (victims)"))],
        "all_reports": _flag("all_reports"),
    }
    context.update(extra)
    return render_template(template, **context)


@bp.route("/stats")
def stats_page() -> ResponseReturnValue:
    _coordinator_only()
    return _page("review/stats.html")


@bp.route("/briefing")
def briefing() -> ResponseReturnValue:
    """A page to print (or save as PDF): statistics, charts, the reports, names withheld."""
    _coordinator_only()
    scope, unit = _scope(), _unit()
    options = tables.TableOptions(scope=scope, publication=not _flag("all_reports"),
                                  filter_text=_filter_text(_filter_args()))
    selected, matched = [], 0
    for meta, body in tables.rows(get_db(), options):
        matched += 1
        if len(selected) < BRIEFING_REPORTS:
            selected.append(tables.report_row(meta, body))
    return render_template(
        "review/briefing.html",
        sections=[_section(name, scope, unit) for name in BRIEFING_FIELDS],
        reports=selected, matched=matched, unit=unit, scope=scope, filter_args=_filter_args(),

        publication=options.publication,
        description=tables.describe(options, stats.count(get_db(), ["status"], scope).left_out),
        limit=BRIEFING_REPORTS)


@bp.route("/table", methods=["POST"])
def write_table() -> ResponseReturnValue:
    """Write a table into the folder the coordinator typed, after the plaintext warning."""
    _coordinator_only()
    fmt = request.form.get("format", "")
    folder = request.form.get("folder", "").strip()
    name = request.form.get("file_name", "").strip()
    error = None
    if fmt not in tables.FORMATS:
        error = _("Choose a format.")
    elif not _flag("understood"):
        error = _("Tick the box to confirm that you know the file is plaintext.")
    elif not folder or not Path(folder).is_absolute():
        error = _("Type the full path of a folder, e.g. /media/usb/briefing.")
    elif not Path(folder).is_dir():
        error = _("There is no folder %(path)s.", path=folder)
    elif not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        error = _("Type a file name without a folder, e.g. reports-2025.csv.")
    written = None
    if error is None:
        out = Path(folder) / name
        options = tables.TableOptions(scope=_scope(), publication=not _flag("all_reports"),
                                      filter_text=_filter_text(_filter_args()))
        try:
            count = tables.write_table(get_db(), out, fmt, options)
            written = ngettext("%(num)d report written to %(path)s.",
                               "%(num)d reports written to %(path)s.", count, path=str(out))
        except tables.TableFileExists:
            error = _("%(path)s exists already; a table never replaces a file. Choose "
                      "another name.", path=str(out))
        except OSError as exc:
            error = _("The file could not be written: %(why)s", why=exc.strerror or str(exc))
    return _page("review/stats.html", table_error=error, table_written=written,
                 folder=folder, file_name=name, chosen_format=fmt), 200 if error is None else 400
