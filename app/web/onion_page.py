"""Operator page for the onion service: its address and QR code, and the reporters'
client-authorisation keys. Operator app only: tor forwards nothing to this app's port."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from app.store import meta
from app.tor.onion import OnionError, normalise_client_key
from app.tor.qr import svg_qr
from app.web.db import get_db
from app.web.forms import KuagerForm

__all__ = ["CLIENT_KEYS", "bp"]

bp = Blueprint("onion", __name__, url_prefix="/onion")

#: The meta entry (inside the encrypted store) listing reporters' x25519 public keys.
CLIENT_KEYS = "onion_client_keys"


def _client_key(_form: FlaskForm, field: StringField | HiddenField) -> None:
    try:
        field.data = normalise_client_key(field.data or "")
    except OnionError as exc:
        raise ValidationError(str(exc)) from exc


class AddKeyForm(KuagerForm):
    key = StringField(_l("Reporter's public key"), validators=[DataRequired(), _client_key])
    submit = SubmitField(_l("Add key"))


class RemoveKeyForm(KuagerForm):
    key = HiddenField(validators=[DataRequired(), _client_key])
    submit = SubmitField(_l("Remove"))


class GenerateKeyForm(KuagerForm):
    submit = SubmitField(_l("Create a key pair for a reporter"))


def _keys() -> list[str]:
    return list(meta.get_json(get_db(), CLIENT_KEYS, []) or [])


def _save_keys(keys: list[str]) -> None:
    meta.set_json(get_db(), CLIENT_KEYS, sorted(set(keys)))


def _page(add_form: AddKeyForm | None = None, private_key: str | None = None) -> str:
    address = current_app.config.get("KUAGER_ONION_ADDRESS")
    url = f"http://{address}/" if address else None
    return render_template(
        "onion.html", onion_url=url,
        # segno's markup carries only our URL, as a drawn path: nothing to escape.
        qr_svg=Markup(svg_qr(url)) if url else None,  # noqa: S704 - see comment above
        keys=_keys(), add_form=add_form or AddKeyForm(), remove_form=RemoveKeyForm(),
        generate_form=GenerateKeyForm(), private_key=private_key)


@bp.get("")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/keys")
def add_key() -> ResponseReturnValue:
    form = AddKeyForm()
    if not form.validate_on_submit():
        return _page(add_form=form), 400
    _save_keys([*_keys(), form.key.data])
    flash(_("Key added. It takes effect when Kuager is next started with --onion."), "info")
    return redirect(url_for("onion.index"), 303)


@bp.post("/keys/remove")
def remove_key() -> ResponseReturnValue:
    form = RemoveKeyForm()
    if form.validate_on_submit():
        _save_keys([k for k in _keys() if k != form.key.data])
        flash(_("Key removed. It takes effect when Kuager is next started with --onion."),
              "info")
    return redirect(url_for("onion.index"), 303)


@bp.post("/keys/generate")
def generate_key() -> ResponseReturnValue:
    """A key pair made here, for a reporter who cannot make one. Only the public half is
    stored; the private half is shown once (the response is never cached) and must reach the
    reporter in person: whoever holds it can open the site."""
    if not GenerateKeyForm().validate_on_submit():
        return redirect(url_for("onion.index"), 303)
    private = X25519PrivateKey.generate()
    public = base64.b32encode(private.public_key().public_bytes_raw()).decode().rstrip("=")
    _save_keys([*_keys(), public])
    secret = base64.b32encode(private.private_bytes_raw()).decode().rstrip("=")
    return _page(private_key=secret)
