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

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from app.records import codes
from app.review import charts, labels, stats, tables
from app.review import filters as review_filters
from app.review.stats import FIELDS, Scope
from app.web import desk
from app.web.db import get_db, get_store
from app.web.forms import ConfirmForm

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


#: Page settings that may stay in a URL (field names and switches, never what was
#: searched for): the filters themselves live in server memory under ``f`` (W6).
SETTINGS = ("by", "by2", "count", "include_unconfirmed", "include_rejected", "all_reports")


def _chosen() -> tuple[review_filters.Filters, str, list[str]]:
    """The filters of this page (those of the report list, by the same opaque id), the id
    and notes for the user."""
    filter_id = request.values.get("f", "")
    chosen = desk._saved().get(desk._owner(), filter_id) if filter_id else None
    notes: list[str] = []
    if filter_id and chosen is None:
        notes.append(_("This search has expired; the list shows every report."))
        filter_id = ""
    chosen = chosen or review_filters.Filters()
    notes += list(chosen.notes)
    if chosen.text.strip():
        notes += review_filters.text_notes(chosen.text)
    return chosen, filter_id, notes


def _scope() -> Scope:
    return Scope(filters=_chosen()[0], include_unconfirmed=_flag("include_unconfirmed"),
                 include_rejected=_flag("include_rejected"))


def filter_text(chosen: review_filters.Filters) -> str:
    """The filters in words, for a table's header block and the briefing."""
    parts = []
    if chosen.text.strip():
        parts.append(_("search: %(text)s", text=chosen.text.strip()))
    for option, (name, code_list, _kind) in review_filters.OPTIONS.items():
        values = getattr(chosen, name)
        if values:
            shown = ", ".join(labels.text(dict(code_list).get(v, v)) for v in values)
            parts.append(f"{labels.field_title(option)}: {shown}")
    if chosen.statuses:
        parts.append(f"{labels.field_title('status')}: " + ", ".join(
            labels.code_label("status", v) for v in chosen.statuses))
    if chosen.tags:
        parts.append(_("tags: %(tags)s", tags=", ".join(chosen.tags)))
    if chosen.devices:
        parts.append(_("devices: %(num)s", num=len(chosen.devices)))
    if chosen.date_from or chosen.date_to:
        parts.append(f"{chosen.date_from or '…'} – {chosen.date_to or '…'}")
    return "; ".join(parts)


def _settings(**overrides: str | None) -> dict[str, str]:
    values = {name: request.values.get(name, "") for name in SETTINGS}
    values.update({k: v or "" for k, v in overrides.items()})
    return {k: v for k, v in values.items() if v}


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
    chosen, filter_id, notes = _chosen()
    context = {
        "filter_id": filter_id, "filters": chosen, "codes": codes, "notes": notes,
        "status_codes": codes.TRIAGE,
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
    if any(name in request.args for name in desk.FILTER_FIELDS):
        # A hand-made URL with filters: keep them in memory and leave the URL behind.
        return _remember(request.args)
    return _page("review/stats.html")


def _remember(source: Any) -> ResponseReturnValue:
    chosen = review_filters.parse(source.getlist, role="coordinator", conn=get_db())
    filter_id = (desk._saved().put(desk._owner(), chosen)
                 if not chosen.is_empty() or chosen.notes else None)
    return redirect(url_for("review_stats.stats_page", f=filter_id, **_settings()), 303)


@bp.route("/stats", methods=["POST"])
def stats_filter() -> ResponseReturnValue:
    """The page's form: filters into server memory, then the page by an opaque id."""
    _coordinator_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _remember(request.form)


@bp.route("/briefing")
def briefing() -> ResponseReturnValue:
    """A page to print (or save as PDF): statistics, charts, the reports, names withheld."""
    _coordinator_only()
    scope, unit = _scope(), _unit()
    options = tables.TableOptions(scope=scope, publication=not _flag("all_reports"),
                                  filter_text=filter_text(scope.filters or
                                                          review_filters.Filters()))
    selected, matched = [], 0
    for meta, body in tables.rows(get_db(), options):
        matched += 1
        if len(selected) < BRIEFING_REPORTS:
            selected.append(tables.report_row(meta, body))
    return render_template(
        "review/briefing.html",
        sections=[_section(name, scope, unit) for name in BRIEFING_FIELDS],
        reports=selected, matched=matched, unit=unit, scope=scope,
        filter_id=_chosen()[1],

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
        scope = _scope()
        options = tables.TableOptions(scope=scope, publication=not _flag("all_reports"),
                                      filter_text=filter_text(scope.filters or
                                                              review_filters.Filters()))
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
