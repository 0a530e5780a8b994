"""Operator pages for the exchange: recipients, export, inbox mode (field); import (coordinator).

Exported bundles are also kept in the store's ``outbox/`` folder for download. They are
ciphertext only coordinators can open, but a seized laptop still shows how many bundles it
sent and how large they were: the export page offers to delete each one from the device
once the coordinator has it.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.exchange import bundles, inbox
from app.exchange import exporter as bundle_export
from app.messages import is_disk_full
from app.records import attachments
from app.store import keyring, meta
from app.store.fsutil import random_name
from app.store.store import StoreError
from app.web import drives
from app.web.db import get_db, get_store
from app.web.forms import ConfirmForm, KuagerForm
from crypto.errors import CryptoError

bp = Blueprint("exchange", __name__, url_prefix="/exchange")


class RecipientForm(KuagerForm):
    key = StringField(
        _l("Coordinator public key (age1…)"), validators=[DataRequired(), Length(max=2000)]
    )
    label = StringField(_l("Name (for you)"), validators=[Length(max=100)])
    submit = SubmitField(_l("Add recipient"))


class ExportForm(KuagerForm):
    #: A mounted drive from ``drives.destinations`` ("" : download, or the typed folder).
    #: Checked against the drives mounted when the form comes back, not by WTForms.
    destination = RadioField(_l("Where to write the bundle"), choices=[SelectChoice("", "")],
                             default="", validate_choice=False)
    folder = StringField(
        _l("Or type a folder to write it into (this wins over the choice above)"),
        validators=[Length(max=1000)],
    )
    purge = BooleanField(
        _l("Delete the exported reports from this device once the bundle is safely written")
    )
    submit = SubmitField(_l("Seal and export"))


class InboxForm(KuagerForm):
    enabled = BooleanField(
        _l("Seal every public submission to the recipients on arrival (inbox mode)")
    )
    submit = SubmitField(_l("Save"))


class ImportForm(KuagerForm):
    bundle = FileField(_l("Bundle file"))
    submit = SubmitField(_l("Verify and import"))


def _field_only() -> None:
    if get_store().role != "field":
        abort(404)


def _outbox() -> Path:
    return current_app.config["KUAGER"].data_dir / "outbox"


#: The last folder a bundle went to ("" : downloaded), inside the encrypted store: a
#: plaintext settings file would tell a searcher where the bundles went.
LAST_DESTINATION = "export_last_destination"


def _drives() -> list[drives.Destination]:
    return drives.destinations(current_app.config.get("KUAGER_MOUNT_ROOTS"))


def _new_export_form(listed: list[drives.Destination]) -> ExportForm:
    """The export form, set to where the last bundle went: that drive if it is mounted,
    else that folder typed in (if it still exists), else a download."""
    last = meta.get(get_db(), LAST_DESTINATION) or ""
    form = ExportForm()
    if last and any(d.path == last for d in listed):
        form.destination.data = last
    elif last and Path(last).is_dir():
        form.folder.data = last
    return form


def _export_page(
    form: ExportForm | None = None, recipient_form: RecipientForm | None = None, status: int = 200,
    *, no_key: bool = False,
) -> ResponseReturnValue:
    """``no_key``: an export was asked for without a coordinator key; the page points to its
    own key form (a web user is never told to run a command)."""
    conn = get_db()
    pending = conn.execute("SELECT count(*) FROM reports WHERE exported_in IS NULL").fetchone()[0]
    waiting, _total = inbox.counts(conn)
    recipients = [
        (row, keyring.key_fingerprint(row["public_key"])) for row in keyring.list_recipients(conn)
    ]
    outbox = (
        sorted(
            (p for p in _outbox().iterdir() if bundle_export.DEFAULT_NAME.fullmatch(p.name)),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        if _outbox().is_dir()
        else []
    )
    listed = _drives()
    form = form or _new_export_form(listed)
    form.destination.choices = [SelectChoice("", ""),
                                *(SelectChoice(d.path, d.label) for d in listed)]
    return render_template(
        "exchange/export.html",
        drives=listed,
        pending=pending,
        inbox_waiting=waiting,
        recipients=recipients,
        form=form,
        recipient_form=recipient_form or RecipientForm(),
        inbox_form=InboxForm(enabled=inbox.enabled(conn)),
        idle_lock_minutes=current_app.config["KUAGER"].idle_lock_minutes,
        outbox=[p.name for p in outbox],
        no_key=no_key,
    ), status


@bp.route("/export", methods=["GET"])
def export_page() -> ResponseReturnValue:
    _field_only()
    return _export_page()


@bp.route("/recipients", methods=["POST"])
def add_recipient() -> ResponseReturnValue:
    _field_only()
    form = RecipientForm()
    if form.validate_on_submit():
        try:
            keyring.add_recipient(get_db(), form.key.data, form.label.data or "")
        except (StoreError, CryptoError) as exc:
            form.key.errors.append(str(exc))
        else:
            flash(_("Recipient added. Compare its fingerprint with the coordinator's."), "info")
            return redirect(url_for("exchange.export_page"), 303)
    return _export_page(recipient_form=form, status=400)


@bp.route("/recipients/remove", methods=["POST"])
def remove_recipient() -> ResponseReturnValue:
    _field_only()
    if not KuagerForm().validate_on_submit():
        abort(400)
    keyring.remove_recipient(get_db(), request.form.get("key", ""))
    return redirect(url_for("exchange.export_page"), 303)


@bp.route("/inbox", methods=["POST"])
def set_inbox() -> ResponseReturnValue:
    _field_only()
    form = InboxForm()
    if form.validate_on_submit():
        try:
            inbox.set_enabled(get_db(), bool(form.enabled.data))
        except ValueError:
            flash(_("Inbox mode needs at least one recipient."), "error")
    return redirect(url_for("exchange.export_page"), 303)


@bp.route("/export", methods=["POST"])
def export() -> ResponseReturnValue:
    _field_only()
    form = ExportForm()
    if not form.validate_on_submit():
        return _export_page(form, status=400)
    if not keyring.list_recipients(get_db()):
        return _export_page(form, status=400, no_key=True)
    target_dir = _target_folder(form)
    if target_dir is None:
        return _export_page(form, status=400)
    return _seal_into(form, target_dir)


def _target_folder(form: ExportForm) -> Path | None:
    """Where the bundle goes: the folder asked for, or the outbox for a download; None
    (with the reason on the form) when it cannot go there."""
    folder = (form.folder.data or "").strip()
    chosen = form.destination.data or ""
    if not folder and chosen:
        if not any(d.path == chosen for d in _drives()):
            form.destination.errors.append(
                _("This drive is no longer connected: plug it in again, or choose another."))
            return None
        folder = chosen
    if form.purge.data and not folder:
        form.purge.errors.append(
            _("Deleting after export needs a folder: a download cannot be confirmed as saved.")
        )
        return None
    target_dir = Path(folder).expanduser() if folder else _outbox()
    if folder and not target_dir.is_dir():
        form.folder.errors.append(_("This folder does not exist."))
        return None
    return target_dir


def _seal_into(form: ExportForm, target_dir: Path) -> ResponseReturnValue:
    to_folder = target_dir != _outbox()
    out = target_dir / bundle_export.default_name()
    try:
        # What an interrupted earlier export left behind (its bundle, its .part file).
        result = bundles.export_bundle(
            get_store(), out, purge=bool(form.purge.data),
            notify=lambda line: flash(line, "info"),
            names=lambda n: out if n == 1 else target_dir / bundle_export.default_name(),
        )
    except (StoreError, CryptoError, OSError) as exc:
        if is_disk_full(exc):
            raise  # the 507 page: which disk is full, and what to free
        flash(str(exc), "error")
        return _export_page(form, status=400)
    conn = get_db()
    meta.set(conn, LAST_DESTINATION, str(target_dir) if to_folder else "")
    for written in result.bundles:
        flash(_("%(num)d reports sealed into %(path)s.", num=written.report_count,
                path=written.path), "info")
    if result.drafts:
        flash(_("Drafts left on this device, not exported: %(n)d", n=result.drafts), "info")
    if to_folder or len(result.bundles) > 1:  # several bundles: the page lists them all
        return redirect(url_for("exchange.export_page"), 303)
    return redirect(url_for("exchange.download_bundle", name=out.name), 303)


@bp.route("/outbox/<name>")
def download_bundle(name: str) -> ResponseReturnValue:
    _field_only()
    path = _outbox() / name
    if not bundle_export.DEFAULT_NAME.fullmatch(name) or not path.is_file():
        abort(404)
    return send_file(
        path, mimetype="application/octet-stream", as_attachment=True, download_name=name
    )


@bp.route("/outbox/<name>/delete", methods=["POST"])
def delete_bundle(name: str) -> ResponseReturnValue:
    """Delete a sealed bundle from this device (the coordinator has it, or it went to a
    stick): the reports it carries are not touched."""
    _field_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    path = _outbox() / name
    if not bundle_export.DEFAULT_NAME.fullmatch(name) or not path.is_file():
        abort(404)
    path.unlink()
    flash(_("%(name)s deleted from this device.", name=name), "info")
    return redirect(url_for("exchange.export_page"), 303)


@bp.route("/import", methods=["GET", "POST"])
def import_page() -> ResponseReturnValue:
    if get_store().role != "coordinator":
        abort(404)
    form = ImportForm()
    lines: list[str] = []
    status = 200
    if form.validate_on_submit() and form.bundle.data:
        # Named as the person chose it; the spool path below is never shown (it would
        # show where the store lives, and mean nothing to the reader).
        name = attachments.display_name(form.bundle.data.filename)
        spool_path = current_app.config["KUAGER"].spool_dir / f"upload-{random_name()}.age"
        form.bundle.data.save(spool_path)  # the bundle is ciphertext: safe to keep as it came
        try:
            lines = bundles.import_bundle(get_store(), spool_path).summary_lines(name)
        except bundles.ImportRefused as exc:
            lines = [_("Not imported: %(name)s: %(why)s", name=name,
                       why=bundles.explain_refusal(exc))]
            status = 400
        finally:
            spool_path.unlink(missing_ok=True)
    conn = get_db()
    devices = conn.execute("SELECT * FROM devices ORDER BY first_seen").fetchall()
    gaps = bundles.missing_bundles(conn)
    return render_template(
        "exchange/import.html", form=form, lines=lines, devices=devices, gaps=gaps,
        format_ranges=bundles.format_ranges,
    ), status
