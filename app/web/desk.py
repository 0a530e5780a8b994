"""Operator pages for reports: list with filters, write, view, edit, delete, download.

On a coordinator store the same list and report pages are read-only review pages;
writing and editing answer 404 there.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app.records import attachments, custody, intake, reports
from app.review import filters as review_filters
from app.review import listing, triage
from app.review.saved import SavedFilters
from app.web import held
from app.web.db import get_db, get_store
from app.web.forms import ConfirmForm, ReportForm

bp = Blueprint("desk", __name__)


@bp.app_template_filter("custody")
def _custody_filter(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    """Custody entries with their event and detail in the reader's language."""
    return custody.described(entries)


def _field_only() -> None:
    if get_store().role != "field":
        abort(404)


def _report_or_404(report_id: str):  # type: ignore[no-untyped-def]
    row = reports.latest(get_db(), report_id)
    if row is None:
        abort(404)
    return row


@bp.route("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("desk.list_reports"))


#: Form fields of the filters (repeatable ones may be given several times).
FILTER_FIELDS = ("q", "region", "right", "act", "perpetrator", "victim_role", "from", "to",
                 "status", "tag", "device", "sensitivity", "origin")
_SAVED = "kuager.saved_filters"


def _saved() -> SavedFilters[review_filters.Filters]:
    saved = current_app.extensions.get(_SAVED)
    if saved is None:
        saved = current_app.extensions[_SAVED] = SavedFilters()
    return saved


def _owner() -> str:
    """A random id for this browser session: saved filters answer only to it."""
    if "review_owner" not in session:
        session["review_owner"] = secrets.token_urlsafe(16)
    return session["review_owner"]


def _parse_filters(source: MultiDict[str, str]) -> review_filters.Filters:
    conn = get_db()
    return review_filters.parse(source.getlist, role=get_store().role, conn=conn)


def _redirect_to(filters: review_filters.Filters) -> ResponseReturnValue:
    if filters.is_empty() and not filters.notes:
        return redirect(url_for("desk.list_reports"), 303)
    return redirect(url_for("desk.list_reports", f=_saved().put(_owner(), filters)), 303)


@bp.route("/reports/search", methods=["POST"])
def search_reports() -> ResponseReturnValue:
    """The filter form: kept in server memory, then a redirect to an opaque id (the words
    searched for never enter a URL, a title or the browser's history)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.form.get("clear"):
        return redirect(url_for("desk.list_reports"), 303)
    return _redirect_to(_parse_filters(request.form))


@bp.route("/reports")
def list_reports() -> ResponseReturnValue:
    if any(name in request.args for name in FILTER_FIELDS):
        # An old bookmark or a hand-made URL: take its filters, and leave the URL behind.
        return _redirect_to(_parse_filters(request.args))
    conn = get_db()
    role = get_store().role
    filter_id = request.args.get("f", "")
    chosen = _saved().get(_owner(), filter_id) if filter_id else None
    expired = bool(filter_id) and chosen is None
    chosen = chosen or review_filters.Filters()
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    result = listing.page(conn, chosen, role, number=number, sort=request.args.get("sort"))
    notes = list(chosen.notes)
    if chosen.text.strip():
        notes += review_filters.text_notes(chosen.text)
    if expired:
        notes.append(_("This search has expired; the list shows every report."))
    store_empty = result.total == 0 and (
        conn.execute("SELECT 1 FROM report_heads LIMIT 1").fetchone() is None)
    return render_template(
        "reports/list.html",
        page=result,
        rows=result.rows,
        filters=chosen,
        filter_id=filter_id if chosen is not None and not expired else "",
        notes=notes,
        store_empty=store_empty,
        sorts=listing.SORT_CODES,
        devices=triage.devices(conn) if role == "coordinator" else [],
        status_codes=review_filters.status_codes(role),
        role=role,
        lock_form=ConfirmForm(),
    )


def _form_page(form: ReportForm, report: object, files: held.Chosen | None,
               status: int) -> ResponseReturnValue:
    """The report form, listing the files already chosen (held) and, when editing, the
    files already attached."""
    attached = (attachments.for_report(get_db(), report["id"])  # type: ignore[index]
                if report is not None else [])
    return render_template(
        "reports/form.html", form=form, report=report, attached=attached,
        held_files=held.listed(files.held) if files else [],
        files_problem=files.problem if files else None,
    ), status


def _save_report(form: ReportForm, files: held.Chosen, report_id: str | None) -> str:
    """Save the form with its files: those held from an earlier post, then the new ones,
    through the same intake as any upload."""
    taken = held.Taken(files)
    with taken as earlier:
        saved = intake.save(
            get_db(), current_app.config["KUAGER"], reports.body_from_form(form.data),
            [*earlier, *files.uploads], report_id=report_id, draft=bool(form.draft.data),
        )
    if taken.missing:
        flash(held.missing_message(taken.missing), "error")
    return saved


def _post_report_form(form: ReportForm,
                      report: object) -> tuple[ResponseReturnValue | None, held.Chosen]:
    """A POST of the report form: the page shown again (a button that adds or removes,
    a field that needs attention, too many files) with its files kept, or None and the
    files to save."""
    files = held.chosen()
    if form.grow_requested() or files.removal:
        return _form_page(form, report, held.keep(files), 200), files
    if files.problem is None and form.validate_on_submit():
        return None, files
    return _form_page(form, report, held.keep(files), 400), files


@bp.route("/reports/new", methods=["GET", "POST"])
def new_report() -> ResponseReturnValue:
    _field_only()
    form = ReportForm()
    if request.method == "GET":
        return _form_page(form, None, None, 200)
    shown, files = _post_report_form(form, None)
    if shown is not None:
        return shown
    report_id = _save_report(form, files, None)
    flash(_("Saved as a draft: it stays on this device until you mark it ready.")
          if form.draft.data else _("Report saved. It will go with the next export."),
          "info")
    return redirect(url_for("desk.view_report", report_id=report_id), 303)


@bp.route("/reports/<report_id>")
def view_report(report_id: str) -> ResponseReturnValue:
    row = _report_or_404(report_id)
    conn = get_db()
    return render_template(
        "reports/view.html",
        row=row,
        body=reports.body_of(row),
        files=attachments.for_report(conn, report_id),
        history=custody.history(conn, report_id),
        role=get_store().role,
        confirm=ConfirmForm(),
    )


@bp.route("/reports/<report_id>/edit", methods=["GET", "POST"])
def edit_report(report_id: str) -> ResponseReturnValue:
    _field_only()
    row = _report_or_404(report_id)
    if request.method == "GET":
        return _form_page(ReportForm(data=reports.form_data(reports.body_of(row))), row,
                          None, 200)
    form = ReportForm()
    shown, files = _post_report_form(form, row)
    if shown is not None:
        return shown
    _save_report(form, files, report_id)
    flash(_("Saved as a draft: it stays on this device until you mark it ready.")
          if form.draft.data else _("Changes saved."), "info")
    return redirect(url_for("desk.view_report", report_id=report_id), 303)


@bp.route("/reports/<report_id>/delete", methods=["GET", "POST"])
def delete_report(report_id: str) -> ResponseReturnValue:
    """GET (or a POST without ``confirmed``): a page naming what will be deleted; only
    its own button, which sends ``confirmed=1``, deletes."""
    _field_only()
    row = _report_or_404(report_id)
    if request.method == "POST" and not ConfirmForm().validate_on_submit():
        abort(400)
    if request.method == "GET" or request.form.get("confirmed") != "1":
        return render_template(
            "reports/confirm_delete.html", row=row, body=reports.body_of(row),
            files=attachments.for_report(get_db(), report_id), attachment=None,
        )
    reports.delete(get_db(), current_app.config["KUAGER"], [report_id])
    flash(_("The report and its attachments were deleted."), "info")
    return redirect(url_for("desk.list_reports"), 303)


@bp.route("/reports/<report_id>/ready", methods=["POST"])
def mark_ready(report_id: str) -> ResponseReturnValue:
    """A draft becomes ready to send (from the list or the report page)."""
    _field_only()
    _report_or_404(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    conn = get_db()
    if reports.set_draft(conn, report_id, False):
        conn.commit()
        flash(_("Ready to export: it will go with the next export."), "info")
    if request.form.get("from_list"):
        return redirect(url_for("desk.list_reports", status="draft"), 303)
    return redirect(url_for("desk.view_report", report_id=report_id), 303)


@bp.route("/reports/<report_id>/attachments/<attachment_id>", methods=["GET", "POST"])
def download(report_id: str, attachment_id: str) -> ResponseReturnValue:
    """Always a download (never rendered in our origin); active files warn first.

    A file that runs code when opened (``attachments.is_active``: .html, .svg, .exe, .docm
    ...) gets a page that says so before anything is sent; its button POSTs here (CSRF
    checked). The browser is given no type to guess an extension from.
    """
    row = (
        get_db()
        .execute(
            "SELECT * FROM attachments WHERE id = ? AND report_id = ?", (attachment_id, report_id)
        )
        .fetchone()
    )
    if row is None:
        abort(404)
    if request.method == "GET" and attachments.is_active(row["name"], row["media_type"]):
        return render_template("reports/download.html", file=row, report_id=report_id)
    cfg = current_app.config["KUAGER"]
    chunks: Iterator[bytes] = attachments.read_chunks(cfg, row["file_name"], row["file_key"])
    response = Response(chunks, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"attachment\"; filename*=UTF-8''{quote(row['name'])}"
    )
    response.headers["Content-Length"] = str(row["size"])
    # Old Internet Explorer and Edge: "Save" only, never "Open" straight from the browser.
    response.headers["X-Download-Options"] = "noopen"
    return response


@bp.route("/reports/<report_id>/attachments/<attachment_id>/delete", methods=["GET", "POST"])
def delete_attachment(report_id: str, attachment_id: str) -> ResponseReturnValue:
    """As :func:`delete_report`: confirm on a page that names the file, then delete."""
    _field_only()
    if request.method == "POST" and not ConfirmForm().validate_on_submit():
        abort(400)
    conn = get_db()
    row = conn.execute(
        "SELECT * FROM attachments WHERE id = ? AND report_id = ?", (attachment_id, report_id)
    ).fetchone()
    if row is None:
        abort(404)
    report = _report_or_404(report_id)
    if request.method == "GET" or request.form.get("confirmed") != "1":
        return render_template(
            "reports/confirm_delete.html", row=report, body=reports.body_of(report),
            files=[row], attachment=row,
        )
    conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))
    reports.update(conn, report_id, reports.body_of(report), force=True)
    conn.commit()
    attachments.remove_files(
        current_app.config["KUAGER"], [row["file_name"], row["sealed_original"]]
    )
    flash(_("Attachment deleted."), "info")
    return redirect(url_for("desk.view_report", report_id=report_id), 303)
