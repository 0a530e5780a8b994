"""Operator pages for reports: list with filters, write, view, edit, delete, download.

On a coordinator store the same list and report pages are read-only review pages;
writing and editing answer 404 there.
"""

from __future__ import annotations

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
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.records import attachments, custody, intake, reports
from app.records.codes import ACTS, REGIONS, RIGHTS, STATUSES, codes
from app.web.db import get_db, get_store
from app.web.forms import ConfirmForm, ReportForm

bp = Blueprint("desk", __name__)


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


@bp.route("/reports")
def list_reports() -> ResponseReturnValue:
    filters = {
        "region": request.args.get("region", "")
        if request.args.get("region") in codes(REGIONS)
        else "",
        "status": request.args.get("status", "")
        if request.args.get("status") in codes(STATUSES)
        else "",
        "right": request.args.get("right", "")
        if request.args.get("right") in codes(RIGHTS)
        else "",
        "act": request.args.get("act", "") if request.args.get("act") in codes(ACTS) else "",
        "text": request.args.get("q", "")[:200],
    }
    rows = reports.search(get_db(), **filters)
    return render_template(
        "reports/list.html",
        rows=rows,
        filters=filters,
        role=get_store().role,
        lock_form=ConfirmForm(),
    )


@bp.route("/reports/new", methods=["GET", "POST"])
def new_report() -> ResponseReturnValue:
    _field_only()
    form = ReportForm()
    if request.method == "POST" and form.grow_requested():
        return render_template("reports/form.html", form=form, report=None)
    if form.validate_on_submit():
        body = reports.body_from_form(form.data)
        report_id = intake.save(
            get_db(), current_app.config["KUAGER"], body, request.files.getlist("attachments")
        )
        flash(_("Report saved."), "info")
        return redirect(url_for("desk.view_report", report_id=report_id), 303)
    return render_template("reports/form.html", form=form, report=None), (
        400 if request.method == "POST" else 200
    )


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
    form = (
        ReportForm()
        if request.method == "POST"
        else ReportForm(data=reports.form_data(reports.body_of(row)))
    )
    if request.method == "POST" and form.grow_requested():
        return render_template("reports/form.html", form=form, report=row)
    if form.validate_on_submit():
        intake.save(
            get_db(),
            current_app.config["KUAGER"],
            reports.body_from_form(form.data),
            request.files.getlist("attachments"),
            report_id=report_id,
        )
        flash(_("Changes saved."), "info")
        return redirect(url_for("desk.view_report", report_id=report_id), 303)
    return render_template("reports/form.html", form=form, report=row), (
        400 if request.method == "POST" else 200
    )


@bp.route("/reports/<report_id>/delete", methods=["POST"])
def delete_report(report_id: str) -> ResponseReturnValue:
    _field_only()
    _report_or_404(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reports.delete(get_db(), current_app.config["KUAGER"], [report_id])
    flash(_("The report and its attachments were deleted."), "info")
    return redirect(url_for("desk.list_reports"), 303)


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


@bp.route("/reports/<report_id>/attachments/<attachment_id>/delete", methods=["POST"])
def delete_attachment(report_id: str, attachment_id: str) -> ResponseReturnValue:
    _field_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    conn = get_db()
    row = conn.execute(
        "SELECT * FROM attachments WHERE id = ? AND report_id = ?", (attachment_id, report_id)
    ).fetchone()
    if row is None:
        abort(404)
    conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))
    reports.update(conn, report_id, reports.body_of(_report_or_404(report_id)), force=True)
    conn.commit()
    attachments.remove_files(
        current_app.config["KUAGER"], [row["file_name"], row["sealed_original"]]
    )
    flash(_("Attachment deleted."), "info")
    return redirect(url_for("desk.view_report", report_id=report_id), 303)
