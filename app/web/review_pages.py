"""Coordinator review pages: triage controls on a report, devices and their trust, and
intake (a report taken by phone or in person, written on the coordinator store).

Every page here answers 404 on a field store. The report page itself is desk's; it
reads ``review_panel`` (a template global from this module) for the triage controls.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
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

from app.records import custody, intake, reports
from app.review import triage
from app.web.db import get_db, get_store
from app.web.forms import ConfirmForm, ReportForm

bp = Blueprint("review", __name__)


def _coordinator_only() -> None:
    if get_store().role != "coordinator":
        abort(404)


def _checked() -> None:
    _coordinator_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)


def review_panel(report_id: str) -> dict[str, Any] | None:
    """What the report page shows of the coordinator's review (None on a field store)."""
    if get_store().role != "coordinator":
        return None
    conn = get_db()
    head = reports.head_of(conn, report_id)
    if head is None:
        return None
    return {
        "head": head,
        "tags": reports.tags_of(conn, report_id),
        "notes": triage.notes_of(conn, report_id),
        "duplicates": triage.duplicates(conn, report_id),
        "history": custody.history_with_claims(conn, report_id),
        "unconfirmed": bool(head["device"]) and not head["confirmed"],
    }


def init_app(app: Flask) -> None:
    app.jinja_env.globals["review_panel"] = review_panel


def _back(report_id: str) -> ResponseReturnValue:
    return redirect(url_for("desk.view_report", report_id=report_id), 303)


def _act(report_id: str, action: Any, done: str) -> ResponseReturnValue:
    _checked()
    try:
        action(get_db())
    except triage.TriageError as exc:
        flash(str(exc), "error")
    else:
        flash(done, "info")
    return _back(report_id)


@bp.route("/reports/<report_id>/status", methods=["POST"])
def set_status(report_id: str) -> ResponseReturnValue:
    code = request.form.get("status", "")
    return _act(report_id, lambda conn: triage.set_status(conn, report_id, code),
                _("Status changed."))


@bp.route("/reports/<report_id>/tags", methods=["POST"])
def add_tag(report_id: str) -> ResponseReturnValue:
    tag = request.form.get("tag", "")
    return _act(report_id, lambda conn: triage.add_tag(conn, report_id, tag), _("Tag added."))


@bp.route("/reports/<report_id>/tags/remove", methods=["POST"])
def remove_tag(report_id: str) -> ResponseReturnValue:
    tag = request.form.get("tag", "")
    return _act(report_id, lambda conn: triage.remove_tag(conn, report_id, tag),
                _("Tag removed."))


@bp.route("/reports/<report_id>/notes", methods=["POST"])
def add_note(report_id: str) -> ResponseReturnValue:
    text = request.form.get("note", "")
    return _act(report_id, lambda conn: triage.add_note(conn, report_id, text),
                _("Note saved."))


@bp.route("/reports/<report_id>/duplicates", methods=["POST"])
def decide_duplicate(report_id: str) -> ResponseReturnValue:
    other, decision = request.form.get("other", ""), request.form.get("decision", "")
    return _act(report_id, lambda conn: triage.decide_duplicate(conn, report_id, other,
                                                                decision), _("Saved."))


@bp.route("/devices")
def devices() -> ResponseReturnValue:
    _coordinator_only()
    return render_template("review/devices.html", devices=triage.devices(get_db()))


@bp.route("/devices/confirm", methods=["POST"])
def confirm_device() -> ResponseReturnValue:
    _checked()
    confirm = request.form.get("confirm") == "1"
    try:
        triage.confirm_device(get_db(), request.form.get("device", ""), confirm)
    except triage.TriageError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Device confirmed: its reports are no longer held apart.") if confirm else
              _("Confirmation withdrawn: the device's reports are held apart again."), "info")
    return redirect(url_for("review.devices"), 303)


@bp.route("/intake", methods=["GET", "POST"])
def intake_report() -> ResponseReturnValue:
    """A report received by phone or in person, written here (origin ``coordinator``)."""
    _coordinator_only()
    form = ReportForm()
    if request.method == "POST" and form.grow_requested():
        return render_template("reports/form.html", form=form, report=None)
    if form.validate_on_submit():
        body = reports.body_from_form(form.data)
        report_id = intake.save(get_db(), current_app.config["KUAGER"], body,
                                request.files.getlist("attachments"), origin="coordinator")
        flash(_("Report saved."), "info")
        return redirect(url_for("desk.view_report", report_id=report_id), 303)
    return render_template("reports/form.html", form=form, report=None), (
        400 if request.method == "POST" else 200)
