"""The public submission site: the form, its receipt page and their static files. Nothing else.

Tor forwards only to this app's port. It has no route that reads, lists or counts stored
reports, and it never trusts Accept-Language (Tor Browser always sends English).
Limits are global, because behind Tor every visitor arrives from 127.0.0.1: a budget of
submissions per hour for everyone together and a maximum request size (see docs/TOR.md).

The form is short by default (:class:`ShortReportForm`: what happened, when, where, an
optional contact, files), for a reporter who may be frightened, on a phone, over a slow
Tor circuit. The monitor can switch the full monitor form on in Settings (``meta``
key :data:`FULL_FORM_KEY`, inside the encrypted store). Either way ``POST /`` takes the
fields CONTRACT.md names (title, rights, acts ...), shown or not.
"""

from __future__ import annotations

import secrets
import threading
import time

import sqlcipher3
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.exchange import inbox
from app.records import codes, intake, reports
from app.store import meta
from app.store.store import Store
from app.web import held
from app.web.db import get_db, get_store, group_commit, writing
from app.web.forms import (
    MultiCheckboxField,
    PublicReportForm,
    _choices,
    _strip_nfc,
    validate_iso_date,
)

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


#: ``meta`` key: "1" when the public site shows the full monitor form (Settings).
FULL_FORM_KEY = "public_full_form"

#: The precision a date written as a day, a month or a year alone implies.
_PRECISION = {10: "day", 7: "month", 4: "year"}
TITLE_LENGTH = 80


def full_form(conn: sqlcipher3.Connection) -> bool:
    """True when the monitor switched the full field set on for the public site."""
    return meta.get(conn, FULL_FORM_KEY) == "1"


def set_full_form(conn: sqlcipher3.Connection, enabled: bool) -> None:
    meta.set(conn, FULL_FORM_KEY, "1" if enabled else "0")


class ShortReportForm(FlaskForm):
    """What happened, when, where, an optional contact and files; nothing else is asked.

    ``title``, ``rights`` and ``acts`` are not shown but are taken when posted (CONTRACT.md
    names them for ``POST /``): the codes are checked against the lists as on the full form.
    """

    description = TextAreaField(
        _l("What happened?"),
        filters=[_strip_nfc],
        validators=[DataRequired(_l("Describe what happened.")), Length(max=200_000)],
    )
    occurred_on = StringField(
        _l("When did it happen?"), filters=[_strip_nfc], validators=[validate_iso_date]
    )
    region = SelectField(
        _l("Region"), choices=_choices(codes.REGIONS, blank=True), default="",
        validators=[Optional()],
    )
    place = StringField(_l("Place"), filters=[_strip_nfc], validators=[Length(max=300)])
    contact = StringField(
        _l("How to contact you (optional)"),
        filters=[_strip_nfc],
        validators=[Optional(), Length(max=300)],
    )
    attachments = MultipleFileField(_l("Photos, video or documents (optional)"))
    save = SubmitField(_l("Send report"))
    # Not on the page; accepted from a client that sends them (CONTRACT.md).
    title = StringField(_l("Title"), filters=[_strip_nfc], validators=[Length(max=300)])
    rights = MultiCheckboxField(_l("Rights affected"), choices=_choices(codes.RIGHTS))
    acts = MultiCheckboxField(_l("What was done"), choices=_choices(codes.ACTS))

    #: Fields the page does not show: their errors are listed above the form.
    UNSHOWN = ("title", "rights", "acts")

    def grow_requested(self) -> bool:
        return False  # no repeatable groups on the short form

    def report_data(self) -> dict[str, object]:
        """The form as the full form's data, so ``reports.body_from_form`` makes a body
        of the same shape (a coordinator's import checks every field's type)."""
        occurred = self.occurred_on.data or ""
        return {
            "title": self.title.data or title_from(self.description.data or ""),
            "description": self.description.data,
            "occurred_on": occurred,
            "occurred_precision": _PRECISION.get(len(occurred), "unknown"),
            "ended_on": "",
            "region": self.region.data or "unknown",
            "place": self.place.data,
            "abroad_country": "",
            "rights": self.rights.data,
            "acts": self.acts.data,
            "victims": [],
            "perpetrators": [],
            "legal": [],
            "sources": [],
            "links": "",
            "sensitivity": "normal",
            "may_publish": False,  # the reporter was not asked: nothing is published
            "withhold_names": True,
            "contact": self.contact.data,
        }


def title_from(description: str) -> str:
    """A title for the monitor's list: the first line of the description, cut at a word
    before :data:`TITLE_LENGTH` characters."""
    line = next((part for part in description.splitlines() if part.strip()), "")
    line = " ".join(line.split())
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH].rsplit(" ", 1)[0] or line[:TITLE_LENGTH]
    return cut.rstrip(" ,.;:—-") + "…"


def new_receipt() -> str:
    code = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(12))
    return "-".join(code[i : i + 4] for i in range(0, 12, 4))


_LOCKED_INBOX = "kuager.locked_inbox"


#: What the unlock listener returns, with the number of submissions it took in: the unlock
#: page says how many arrived while the store was locked (auth.unlock).
TAKEN_AT_UNLOCK = "inbox"


def init_locked_inbox(app: Flask, store: Store) -> None:
    """In inbox mode the form stays open while the store is locked: just before a lock,
    the recipients' public keys (and the form's kind) are kept; submissions are then sealed
    into the drop folder (``inbox.seal_to_drop``) and taken into the store at the next
    unlock. Without inbox mode nothing is kept and the form closes with the store."""
    cfg = app.config["KUAGER"]

    def keep() -> None:
        app.extensions[_LOCKED_INBOX] = None
        if store.role != "field":
            return
        conn = store.connect()
        try:
            app.extensions[_LOCKED_INBOX] = inbox.locked_inbox(conn, full_form(conn))
        finally:
            conn.close()

    def take() -> tuple[str, int]:
        app.extensions[_LOCKED_INBOX] = None
        conn = store.connect()
        try:
            return TAKEN_AT_UNLOCK, inbox.ingest_drops(conn, cfg)
        finally:
            conn.close()

    app.extensions[_LOCKED_INBOX] = None
    store.before_lock_listeners.append(keep)
    store.unlock_listeners.append(take)


def keep_locked_inbox(app: Flask, kept: inbox.LockedInbox | None) -> None:
    """What an earlier serving process kept at its lock (app/cli/serving.py): this one
    starts locked and keeps the form open with it until the next unlock."""
    app.extensions[_LOCKED_INBOX] = kept


def locked_inbox_of(app: Flask) -> inbox.LockedInbox | None:
    return app.extensions.get(_LOCKED_INBOX)


@bp.route("/", methods=["GET", "POST"])
def submit() -> ResponseReturnValue:
    store = get_store()
    kept: inbox.LockedInbox | None = None
    if not store.is_unlocked:
        kept = current_app.extensions.get(_LOCKED_INBOX)
        if kept is None or not store.exists():  # a destroyed store takes nothing more
            return render_template("public/closed.html"), 503
    elif store.role != "field":  # a coordinator's machine never takes submissions
        abort(404)
    full = kept.full_form if kept is not None else full_form(get_db())
    form: PublicReportForm | ShortReportForm = PublicReportForm() if full else ShortReportForm()
    if request.method == "GET":
        return render_template("public/form.html", form=form, full=full, held_files=[])
    # Files of a form shown again are kept (web/held.py), as on the monitor's form.
    files = held.chosen()
    if form.grow_requested() or files.removal:
        return _shown_again(form, full, files, 200)
    if files.problem is not None or not form.validate_on_submit():
        return _shown_again(form, full, files, 400)
    if not _budget().take():
        return render_template("public/busy.html"), 429
    receipt = new_receipt()
    data = form.data if isinstance(form, PublicReportForm) else form.report_data()
    body = reports.body_from_form(data)
    body["receipt"] = receipt
    cfg = current_app.config["KUAGER"]
    with held.Taken(files) as earlier:
        uploads = [*earlier, *files.uploads]
        if kept is not None:  # locked, in inbox mode: sealed without the store's key
            with writing():
                inbox.seal_to_drop(cfg, kept, body, uploads)
        elif inbox.enabled(get_db()):
            with writing():
                inbox.seal_submission(get_db(), cfg, body, uploads)
        else:  # submissions that arrive together share one fsynced commit
            intake.save_grouped(group_commit(), get_db(), cfg, body, uploads,
                                origin="public")
    session["receipt"] = receipt
    return redirect(url_for("public.thanks"), 303)


def _shown_again(form: FlaskForm, full: bool, files: held.Chosen,
                 status: int) -> ResponseReturnValue:
    kept = held.keep(files)
    return render_template("public/form.html", form=form, full=full,
                           held_files=held.listed(kept.held),
                           files_problem=kept.problem), status


@bp.route("/thanks")
def thanks() -> ResponseReturnValue:
    receipt = session.pop("receipt", None)
    if receipt is None:
        return redirect(url_for("public.submit"))
    return render_template("public/thanks.html", receipt=receipt)
