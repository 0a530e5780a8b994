"""Settings: passphrase change, this device's fingerprint, and crypto-erase."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from . import device
from .db import get_db, get_store
from .forms import ChangePassphraseForm, WipeForm
from .passphrase import weakness
from .store import BadPassphrase

bp = Blueprint("settings", __name__, url_prefix="/settings")

#: The confirmation word for a wipe, in every language, so a slip of the hand cannot erase.
WIPE_WORDS = frozenset({"yes", "иә", "да"})


@bp.route("/")
def index() -> ResponseReturnValue:
    store = get_store()
    return render_template(
        "settings.html", role=store.role, fingerprint=device.fingerprint(get_db()),
        passphrase_form=ChangePassphraseForm(), wipe_form=WipeForm(),
    )


@bp.route("/passphrase", methods=["POST"])
def change_passphrase() -> ResponseReturnValue:
    form = ChangePassphraseForm()
    if form.validate_on_submit():
        reason = weakness(form.passphrase.data)
        if reason is not None:
            form.passphrase.errors.append(reason)
        else:
            try:
                get_store().change_passphrase(form.current.data, form.passphrase.data)
            except BadPassphrase:
                form.current.errors.append(_("Wrong passphrase."))
            else:
                flash(_("Passphrase changed."), "info")
                return redirect(url_for("settings.index"), 303)
    store = get_store()
    return render_template(
        "settings.html", role=store.role, fingerprint=device.fingerprint(get_db()),
        passphrase_form=form, wipe_form=WipeForm(),
    ), 400


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
    return render_template(
        "settings.html", role=store.role, fingerprint=device.fingerprint(get_db()),
        passphrase_form=ChangePassphraseForm(), wipe_form=form,
    ), 400
