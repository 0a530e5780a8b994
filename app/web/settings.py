"""Settings: passphrase change, this device's fingerprint, and crypto-erase."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.store import device, keyring
from app.store.store import BadPassphrase
from app.web.db import get_db, get_store
from app.web.forms import ChangePassphraseForm, WipeForm

bp = Blueprint("settings", __name__, url_prefix="/settings")

#: The confirmation word for a wipe, in every language, so a slip of the hand cannot erase.
WIPE_WORDS = frozenset({"yes", "иә", "да"})


def _page(
    passphrase_form: ChangePassphraseForm, wipe_form: WipeForm, status: int = 200
) -> ResponseReturnValue:
    conn = get_db()
    role = get_store().role
    keys = [(key, keyring.key_fingerprint(key)) for key in keyring.public_keys(conn)]
    fingerprint = device.fingerprint(conn) if role == "field" else ""
    return render_template(
        "settings.html",
        role=role,
        fingerprint=fingerprint,
        public_keys=keys,
        passphrase_form=passphrase_form,
        wipe_form=wipe_form,
    ), status


@bp.route("/")
def index() -> ResponseReturnValue:
    return _page(ChangePassphraseForm(), WipeForm())


@bp.route("/passphrase", methods=["POST"])
def change_passphrase() -> ResponseReturnValue:
    form = ChangePassphraseForm()
    if form.validate_on_submit():
        try:
            get_store().change_passphrase(form.current.data, form.passphrase.data)
        except BadPassphrase:
            form.current.errors.append(_("Wrong passphrase."))
        else:
            flash(_("Passphrase changed."), "info")
            return redirect(url_for("settings.index"), 303)
    return _page(form, WipeForm(), 400)


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
    return _page(ChangePassphraseForm(), form, 400)
