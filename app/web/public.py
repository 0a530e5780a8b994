"""The public submission site: the form, its receipt page and their static files. Nothing else.

Tor forwards only to this app's port. It has no route that reads, lists or counts stored
reports, and it never trusts Accept-Language (Tor Browser always sends English).
Limits are global, because behind Tor every visitor arrives from 127.0.0.1: a budget of
submissions per hour for everyone together and a maximum request size (see docs/TOR.md).
"""

from __future__ import annotations

import secrets
import threading
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from app.exchange import inbox
from app.records import intake, reports
from app.web.db import get_db, get_store, writing
from app.web.forms import PublicReportForm

bp = Blueprint("public", __name__)

_RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read back over a phone


class SubmissionBudget:
    """At most ``per_hour`` submissions in any sliding hour, from everyone together."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._times: list[float] = []
        self._lock = threading.Lock()

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times = [t for t in self._times if now - t < 3600]
            if len(self._times) >= self.per_hour:
                return False
            self._times.append(now)
            return True


def _budget() -> SubmissionBudget:
    app = current_app
    if "kuager.budget" not in app.extensions:
        app.extensions["kuager.budget"] = SubmissionBudget(
            app.config["KUAGER"].public_submissions_per_hour
        )
    return app.extensions["kuager.budget"]


def new_receipt() -> str:
    code = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(12))
    return "-".join(code[i : i + 4] for i in range(0, 12, 4))


@bp.route("/", methods=["GET", "POST"])
def submit() -> ResponseReturnValue:
    store = get_store()
    if not store.is_unlocked:
        return render_template("public/closed.html"), 503
    if store.role != "field":  # a coordinator's machine never takes submissions
        abort(404)
    form = PublicReportForm()
    if request.method == "POST" and form.grow_requested():
        return render_template("public/form.html", form=form)
    if form.validate_on_submit():
        if not _budget().take():
            return render_template("public/busy.html"), 429
        receipt = new_receipt()
        body = reports.body_from_form(form.data)
        body["receipt"] = receipt
        cfg = current_app.config["KUAGER"]
        uploads = request.files.getlist("attachments")
        with writing():
            if inbox.enabled(get_db()):
                inbox.seal_submission(get_db(), cfg, body, uploads)
            else:
                intake.save(get_db(), cfg, body, uploads, origin="public")
        session["receipt"] = receipt
        return redirect(url_for("public.thanks"), 303)
    return render_template("public/form.html", form=form), (
        400 if request.method == "POST" else 200
    )


@bp.route("/thanks")
def thanks() -> ResponseReturnValue:
    receipt = session.pop("receipt", None)
    if receipt is None:
        return redirect(url_for("public.submit"))
    return render_template("public/thanks.html", receipt=receipt)
