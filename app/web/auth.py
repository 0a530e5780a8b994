"""Setup, unlock and lock of the operator pages; the deny-by-default gate in front of them.

Only ``OPEN_ENDPOINTS`` answer while the store is locked. The gate also refuses any
``Host`` other than the loopback address the pages are served on: a web page the
operator visits could otherwise point its own domain at 127.0.0.1 (DNS rebinding)
and read the operator pages through the operator's browser.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlcipher3
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from app.exchange import inbox
from app.store import keyring, passphrase
from app.store import training as training_mode
from app.store.store import BadPassphrase, Store, StoreError
from app.web.db import get_db, get_store
from app.web.forms import ConfirmForm, PassphraseForm, SetupForm

bp = Blueprint("auth", __name__)

#: leave.*: quick exit must work from a page whose store locked itself meanwhile.
OPEN_ENDPOINTS = frozenset({"auth.setup", "auth.unlock", "static",
                            "leave.leave", "leave.blank"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def init_app(app: Flask) -> None:
    app.extensions["kuager.last_activity"] = time.monotonic()
    app.before_request(_gate)


def _host_allowed() -> bool:
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    allowed = current_app.config.get("KUAGER_ALLOWED_HOSTS") or LOOPBACK_HOSTS
    return host in allowed


def _gate() -> ResponseReturnValue | None:
    if not _host_allowed():
        abort(400)
    if current_app.extensions.get("kuager.retiring", bool)() and request.endpoint != "static":
        return _restarting()
    store = get_store()
    check_idle(current_app)
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not store.exists():
        return redirect(url_for("auth.setup"))
    if not store.is_unlocked or not session_admitted(store):
        return redirect(url_for("auth.unlock", next=request.full_path))
    current_app.extensions["kuager.last_activity"] = time.monotonic()
    return None


def _restarting() -> ResponseReturnValue:
    """A request that reached the serving process after its lock, in the moment before it
    stops taking connections: it must not unlock (it is ending), so the browser is told to
    ask again, which reaches the next one (app/cli/serving.py). The flash messages stay in
    the session for that next page."""
    return current_app.response_class(
        render_template("restarting.html"), status=503,
        headers={"Refresh": "1", "Retry-After": "1"})


def session_admitted(store: Store) -> bool:
    """A store unlocked in a browser admits only browser sessions that gave the passphrase.

    Another account on the same machine can reach 127.0.0.1 too; it must not inherit the
    operator's unlock. (A store unlocked on the command line, ``kuager serve`` with the
    passphrase on standard input, admits any local client: docs/THREAT_MODEL.md.)
    """
    return not store.browser_sessions or session.get("epoch") == store.epoch


def _admit_this_session(store: Store) -> None:
    store.browser_sessions = True
    session["epoch"] = store.epoch
    current_app.extensions["kuager.last_activity"] = time.monotonic()


def idle_lock_applies(app: Flask, conn: sqlcipher3.Connection | None = None) -> bool:
    """Whether the store locks itself when idle. A store that also serves the public site
    must stay unlocked to take submissions, unless it is in inbox mode with a recipient:
    a lock then keeps the form open (public.init_locked_inbox), so the idle lock applies.
    ``conn``: the request's connection, if there is one (else a new one is opened)."""
    if not app.config.get("KUAGER_SERVING_PUBLIC", False):
        return True
    store = app.extensions["kuager.store"]
    if store.role != "field":
        return False
    if conn is not None:
        return inbox.open_while_locked(conn)
    try:
        conn = store.connect()
    except StoreError:  # locked meanwhile: nothing to lock
        return False
    try:
        return inbox.open_while_locked(conn)
    finally:
        conn.close()


def idle_lock_off_minutes(app: Flask) -> int | None:
    """The idle lock's minutes when it is off because the public form is served (every
    operator page says so: operator.html); None when it applies."""
    if not app.config.get("KUAGER_SERVING_PUBLIC", False) or not get_store().is_unlocked:
        return None
    try:
        conn = get_db()
    except StoreError:  # locked while the page was being made
        return None
    if idle_lock_applies(app, conn):
        return None
    return int(app.config["KUAGER"].idle_lock_minutes)


def check_idle(app: Flask, now: float | None = None) -> bool:
    """Lock the store after ``idle_lock_minutes`` without an operator request."""
    store = app.extensions["kuager.store"]
    limit = app.config["KUAGER"].idle_lock_minutes * 60
    now = time.monotonic() if now is None else now
    if (
        store.is_unlocked
        and now - app.extensions["kuager.last_activity"] > limit
        and idle_lock_applies(app)
    ):
        store.lock()
        return True
    return False


def start_idle_watch(app: Flask, interval: float = 15.0,
                     after: Callable[[], None] | None = None) -> threading.Event:
    """Check for idleness in the background too: keys must not wait for the next request.
    ``after``: called after each check (the serving process ends once locked)."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(interval):
            check_idle(app)
            if after is not None:
                after()

    threading.Thread(target=watch, name="kuager-idle-lock", daemon=True).start()
    return stop


def _safe_next(target: str | None) -> str:
    """Only a local path: an open redirect would let a link send the operator elsewhere.

    Browsers and Werkzeug drop tabs and newlines (``/\t/evil.example`` becomes
    ``//evil.example``), so any control character or space refuses the target.
    """
    if not target or any(ord(ch) <= 0x20 or ch == "\\" for ch in target):
        return url_for("desk.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("desk.index")
    return target


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
    store = get_store()
    if store.exists():
        return redirect(url_for("auth.unlock"))
    form = SetupForm()
    # A plain check box (no form field): training mode is chosen once, here or at `init`.
    training = request.method == "POST" and request.form.get("training") == "1"
    if form.validate_on_submit():
        try:
            store.create(form.passphrase.data, form.role.data)
            if training:
                training_mode.set_mode(get_db(), training_mode.TRAINING)
                store.training = True
            keyring.initialise(get_db(), form.role.data)
        except StoreError as exc:
            flash(str(exc), "error")
        else:
            _admit_this_session(store)
            return redirect(url_for("desk.index"), 303)
    lang = _suggestion_language()
    return render_template("setup.html", form=form, suggestion=passphrase.suggest(lang),
                           suggestion_bits=int(passphrase.suggestion_bits(lang)),
                           training=training)


def _suggestion_language() -> str:
    """The page's language if it has a word list, else English."""
    code = str(get_locale() or "en").split("_")[0]
    return code if code in passphrase.LANGUAGES else "en"


@bp.route("/unlock", methods=["GET", "POST"])
def unlock() -> ResponseReturnValue:
    store = get_store()
    if not store.exists():
        return redirect(url_for("auth.setup"))
    form = PassphraseForm()
    if form.validate_on_submit():
        arrived: list[object] = []
        try:
            if store.is_unlocked:  # unlocked already: this browser proves it knows the passphrase
                store.check_passphrase(form.passphrase.data)
            else:
                arrived = store.unlock(form.passphrase.data)
        except BadPassphrase:
            wait = store.seconds_until_next_attempt()
            form.passphrase.errors.append(
                _(
                    "Wrong passphrase. Wait %(seconds)d seconds before the next try.",
                    seconds=int(wait) + 1,
                )
                if wait
                else _("Wrong passphrase.")
            )
        except StoreError:
            form.passphrase.errors.append(_("The store cannot be opened: it may be damaged."))
        else:
            _admit_this_session(store)
            _say_what_arrived(arrived)
            return redirect(_safe_next(request.args.get("next")), 303)
        if not store.exists():  # erased after too many wrong passphrases (lockout)
            return redirect(url_for("auth.setup"), 303)
    return render_template("unlock.html", form=form, remaining=store.remaining_attempts())


def _say_what_arrived(results: list[object]) -> None:
    """After this request's unlock (``results``: what ``Store.unlock`` returned): how many
    public submissions arrived while the store was locked (sealed, waiting for export)."""
    from app.web.public import TAKEN_AT_UNLOCK

    taken = sum(result[1] for result in results
                if isinstance(result, tuple) and result[0] == TAKEN_AT_UNLOCK)
    if taken:
        flash(ngettext("%(num)d report came through the public form while Kuager was "
                       "locked: sealed for the coordinators, it waits on the Export page.",
                       "%(num)d reports came through the public form while Kuager was "
                       "locked: sealed for the coordinators, they wait on the Export page.",
                       taken), "info")


@bp.route("/lock", methods=["POST"])
def lock() -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    get_store().lock()
    flash(locked_message(), "info")
    return redirect(url_for("auth.unlock"), 303)


def locked_message() -> str:
    """What "Lock now" did, and only that (finding 2)."""
    if current_app.config.get("KUAGER_ENDS_ON_LOCK", False):
        return _("Locked. The program that held the store's key and the reports you opened "
                 "has ended, and the computer has freed its memory; a new one shows this "
                 "page and knows nothing until you unlock.")
    return _("Locked. The store's key has been erased from memory. Copies of report text or "
             "of the passphrase may remain in this program's memory until you close Kuager.")
