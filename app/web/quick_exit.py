"""Quick exit: one button on every operator page that locks the store and leaves.

Someone walks in: the monitor presses "Quick exit" and the browser shows an empty page with
a generic title, instead of a report. The store is locked (as "Lock now" does), the
session's cookie is emptied, and the page left behind holds nothing: going back shows the
unlock page, because no operator page is ever cached (``Cache-Control: no-store``).

The button needs no CSRF token (a form left open for hours must still work) but a
cross-site request (``Sec-Fetch-Site: cross-site``) cannot lock the store: it only gets the
empty page. A session that never gave the passphrase cannot lock a store unlocked in
another browser either (the same rule as auth's gate).
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.web.auth import session_admitted
from app.web.db import get_store

bp = Blueprint("leave", __name__)

def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(leave)


@bp.route("/leave", methods=["POST"])
def leave() -> ResponseReturnValue:
    store = get_store()
    same_site = request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    if same_site and store.is_unlocked and session_admitted(store):
        store.lock()
    session.clear()
    return redirect(url_for("leave.blank"), 303)


@bp.route("/blank")
def blank() -> ResponseReturnValue:
    return render_template("blank.html")
