"""Settings: passphrase change, duress, lockout, retention, fingerprint, the public form's
fields, and crypto-erase."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from app.store import device, keyring, retention
from app.store.store import BadPassphrase, StoreError
from app.web import public
from app.web.db import get_db, get_store
from app.web.forms import (
    ChangePassphraseForm,
    DuressClearForm,
    DuressForm,
    LockoutForm,
    RetentionForm,
    WipeForm,
)

bp = Blueprint("settings", __name__, url_prefix="/settings")

class PublicFieldsForm(FlaskForm):
    """Which form the public site shows (field store). No passphrase asked: it changes the
    questions a reporter sees, not what is stored or who can read it."""

    full = BooleanField(_l("Show the full report form on the public site (rights, acts, "
                           "people, perpetrators, legal provisions, sources)"))
    submit = SubmitField(_l("Save the public form"))


#: The confirmation word for a wipe, in every language, so a slip of the hand cannot erase.
WIPE_WORDS = frozenset({"yes", "иә", "да"})


def _page(status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    """The settings page; ``forms`` replaces the empty form of the section that was posted."""
    store = get_store()
    conn = get_db()
    role = store.role
    keys = [(key, keyring.key_fingerprint(key)) for key in keyring.public_keys(conn)]
    fingerprint = device.fingerprint(conn) if role == "field" else ""
    lockout = store.lockout()
    lockout_form = forms.get("lockout_form") or LockoutForm(
        data={"wipe_after": lockout.wipe_after or None, "show_remaining": lockout.show_remaining})
    retention_form = forms.get("retention_form") or RetentionForm(
        data={"days": retention.days(conn)})
    return render_template(
        "settings.html",
        role=role,
        fingerprint=fingerprint,
        public_keys=keys,
        passphrase_form=forms.get("passphrase_form") or ChangePassphraseForm(),
        duress_form=forms.get("duress_form") or DuressForm(),
        duress_clear_form=forms.get("duress_clear_form") or DuressClearForm(),
        lockout_form=lockout_form,
        retention_form=retention_form,
        public_form=forms.get("public_form") or PublicFieldsForm(
            data={"full": role == "field" and public.full_form(conn)}),
        wipe_form=forms.get("wipe_form") or WipeForm(),
    ), status


def _passphrase_given(form: LockoutForm | RetentionForm) -> bool:
    """The form's passphrase is right (counted and throttled as any try is)."""
    try:
        get_store().check_passphrase(form.current.data)
    except BadPassphrase:
        form.current.errors.append(_("Wrong passphrase."))
        return False
    return True


@bp.route("/")
def index() -> ResponseReturnValue:
    return _page()


@bp.route("/passphrase", methods=["POST"])
def change_passphrase() -> ResponseReturnValue:
    form = ChangePassphraseForm()
    if form.validate_on_submit():
        try:
            get_store().change_passphrase(form.current.data, form.passphrase.data)
        except BadPassphrase:
            form.current.errors.append(_("Wrong passphrase."))
        except StoreError as exc:  # translated; e.g. the duress passphrase was given
            form.passphrase.errors.append(str(exc))
        else:
            flash(_("Passphrase changed; the store has a new key."), "info")
            return redirect(url_for("settings.index"), 303)
    return _page(400, passphrase_form=form)


@bp.route("/duress", methods=["POST"])
def set_duress() -> ResponseReturnValue:
    form = DuressForm()
    if form.validate_on_submit():
        try:
            get_store().set_duress(form.current.data, form.duress.data)
        except BadPassphrase:
            form.current.errors.append(_("Wrong passphrase."))
        except StoreError:
            form.duress.errors.append(_("The duress passphrase must differ from the "
                                        "passphrase."))
        else:
            flash(_("Duress passphrase set."), "info")
            return redirect(url_for("settings.index"), 303)
    return _page(400, duress_form=form)


@bp.route("/duress/clear", methods=["POST"])
def clear_duress() -> ResponseReturnValue:
    form = DuressClearForm()
    if form.validate_on_submit():
        try:
            get_store().clear_duress(form.current.data)
        except BadPassphrase:
            form.current.errors.append(_("Wrong passphrase."))
        else:
            flash(_("Duress passphrase removed."), "info")
            return redirect(url_for("settings.index"), 303)
    return _page(400, duress_clear_form=form)


@bp.route("/lockout", methods=["POST"])
def lockout() -> ResponseReturnValue:
    form = LockoutForm()
    if form.validate_on_submit() and _passphrase_given(form):
        get_store().set_lockout(form.wipe_after.data or 0,
                                show_remaining=bool(form.show_remaining.data))
        flash(_("Lockout saved."), "info")
        return redirect(url_for("settings.index"), 303)
    return _page(400, lockout_form=form)


@bp.route("/retention", methods=["POST"])
def retention_days() -> ResponseReturnValue:
    form = RetentionForm()
    if form.validate_on_submit() and _passphrase_given(form):
        conn = get_db()
        retention.set_days(conn, form.days.data or None)
        retention.apply(conn, get_store().config.files_dir)
        flash(_("Retention saved."), "info")
        return redirect(url_for("settings.index"), 303)
    return _page(400, retention_form=form)


@bp.route("/public-form", methods=["POST"])
def public_fields() -> ResponseReturnValue:
    if get_store().role != "field":  # only a field store serves the public site
        abort(404)
    form = PublicFieldsForm()
    if form.validate_on_submit():
        public.set_full_form(get_db(), bool(form.full.data))
        flash(_("The public site now shows the full report form.") if form.full.data
              else _("The public site now shows the short form."), "info")
        return redirect(url_for("settings.index"), 303)
    return _page(400, public_form=form)


@bp.route("/wipe", methods=["POST"])
def wipe() -> ResponseReturnValue:
    form = WipeForm()
    store = get_store()
    if form.validate_on_submit():
        if form.confirm.data.strip().lower() not in WIPE_WORDS:
            form.confirm.errors.append(_("Type yes to confirm."))
        else:
            try:
                store.check_passphrase(form.passphrase.data)
            except BadPassphrase:
                form.passphrase.errors.append(_("Wrong passphrase."))
            else:
                store.wipe()
                flash(_("The store was destroyed. Nothing in it can be recovered."), "info")
                return redirect(url_for("auth.setup"), 303)
    return _page(400, wipe_form=form)
