"""The two app factories: separate Flask sites over the shared core rooms.

* ``create_operator_app``: the operator's pages (write, list, export, settings; on a
  coordinator store: review) on 127.0.0.1. Deny by default: only the pages in
  ``auth.OPEN_ENDPOINTS`` answer before the store is unlocked.
* ``create_public_app``: the public submission site (form, receipt, static files),
  the only thing Tor forwards to. It has no route that reads a report.

Both share one ``Store`` object (and so one unlocked key) when served together.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import sqlcipher3
from flask import Flask, current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect

from app import i18n
from app.config import Config, load_config
from app.messages import disk_full_path, is_disk_full
from app.records import codes
from app.store.group import NotSaved
from app.store.store import Store
from app.web import db, held, security
from app.web.request import KuagerRequest

__all__ = ["create_operator_app", "create_public_app"]

#: Flask-WTF's default is one hour. The public side keeps tokens valid for six: a reporter
#: on a slow Tor circuit may spend an hour writing and another uploading a video.
OPERATOR_CSRF_SECONDS = 3600
PUBLIC_CSRF_SECONDS = 6 * 3600


def _base_app(
    side: str, config: Config | None, store: Store | None, test_config: dict[str, Any] | None
) -> Flask:
    config = config or load_config()
    store = store or Store(config)
    app = Flask(__name__)
    app.request_class = KuagerRequest
    app.config.from_mapping(
        KUAGER=config,
        KUAGER_SIDE=side,
        KUAGER_DEFAULT_LOCALE=config.default_locale,
        # A new secret every start: a restart ends every session and invalidates forms.
        SECRET_KEY=secrets.token_bytes(32),
        SESSION_COOKIE_NAME=f"kuager_{side}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        WTF_CSRF_TIME_LIMIT=PUBLIC_CSRF_SECONDS if side == "public" else OPERATOR_CSRF_SECONDS,
        MAX_CONTENT_LENGTH=(
            config.public_max_request_bytes if side == "public" else config.max_request_bytes
        ),
        # Text fields stay small and in memory; files go to the encrypted spool.
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=300 if side == "public" else 2000,
        # Files per request: a report rarely has more; each one holds a file open while
        # the request is parsed.
        KUAGER_MAX_FILES=20 if side == "public" else 200,
        # Images are decoded to remove their metadata: bound what a stranger can make us
        # decode (24 Mpixel covers what phone cameras save by default; larger files are
        # kept as sent, flagged "metadata kept"). Decoding runs in a worker process under
        # a memory limit, one at a time (records/attachments.clean_image).
        KUAGER_CLEAN_MAX_PIXELS=24_000_000 if side == "public" else 120_000_000,
    )
    app.config.update(config.flask_overrides)
    if test_config:
        app.config.update(test_config)
    # Templates must not reach the configuration (secret key, paths).
    app.jinja_env.globals.pop("config", None)
    app.jinja_env.globals.update(
        codes=codes,
        code_label=codes.label,
        code_labels=codes.labels,
        code_choices=codes.reading_order,
        store_role=lambda: store.role,
        training_store=lambda: store.is_unlocked and store.training,
    )
    db.init_app(app, store)
    # Files of a form shown again without saving (web/held.py): for as long as its CSRF
    # token lives; strangers on the public site together hold at most four requests' worth.
    held.init_app(
        app, store, ttl=float(app.config["WTF_CSRF_TIME_LIMIT"]),
        max_total_bytes=4 * app.config["MAX_CONTENT_LENGTH"] if side == "public" else None,
    )
    i18n.init_app(app, trust_accept_language=(side != "public"))
    security.init_app(app)
    CSRFProtect(app)
    _register_errors(app)
    return app


#: What each error page says: plain words, and what to do next.
_ERROR_MESSAGES = {
    400: _l("What you sent could not be read. Go back, reload the page and send it again."),
    404: _l("There is no page here."),
    405: _l("There is no page here."),
    413: _l("What you sent is larger than this site accepts. Send large files in several "
            "reports, or hand them over on a USB stick."),
    500: _l("Something went wrong; nothing was saved. Please try again."),
}
_CSRF_MESSAGE = _l("This form has expired or was not sent from this page. Go back, reload "
                   "the page and send it again.")


def _error_page(status: int, message: object) -> tuple[str, int]:
    return render_template("error.html", status=status, message=str(message)), status


def _os_error_page(exc: Exception) -> tuple[str, int]:
    """507 with what to free when a write found the disk (or quota) full; else a plain 500.

    (A client that stalls mid-body is not an ``OSError`` here: Werkzeug's stream turns the
    timeout of ``server.PacedConnection`` into "client disconnected", a 400.)

    Nothing is half-saved: uploads in transit are deleted with the request, and
    ``intake.save`` (and ``save_grouped``) removes its files when the transaction does not
    commit.
    """
    if not is_disk_full(exc):
        raise exc
    path = disk_full_path(exc)
    # One line for the operator (no traceback): the public visitor cannot free the disk.
    current_app.logger.warning("disk full while writing %s", path or "the database")
    if current_app.config["KUAGER_SIDE"] == "public":
        return _error_page(507, _("This site cannot take reports right now: its disk is full. "
                                  "Nothing was saved. Please try again later."))
    data_dir = current_app.config["KUAGER"].data_dir
    if path is None or Path(path).is_relative_to(data_dir):
        message = _("The disk is full, so nothing was saved. Free some space on the disk that "
                    "holds the store (%(path)s): delete files you no longer need and empty "
                    "the trash. Then send it again; what you saved before is intact.",
                    path=data_dir)
    else:
        message = _("The disk that holds %(path)s is full, so nothing was written there. "
                    "Free some space on it (delete files you no longer need, empty the trash) "
                    "or choose another disk, then try again.", path=Path(path).parent)
    return _error_page(507, message)


def _register_errors(app: Flask) -> None:
    app.register_error_handler(CSRFError, lambda _exc: _error_page(400, _CSRF_MESSAGE))
    app.register_error_handler(OSError, _os_error_page)
    app.register_error_handler(sqlcipher3.Error, _os_error_page)
    app.register_error_handler(NotSaved, _os_error_page)  # a group commit's error, chained
    for status, message in _ERROR_MESSAGES.items():
        app.register_error_handler(status, lambda _exc, s=status, m=message: _error_page(s, m))


def create_operator_app(
    config: Config | None = None,
    store: Store | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    from app.web import auth, desk, exchange, onion_page, quick_exit, review, review_pages, settings

    app = _base_app("operator", config, store, test_config)
    auth.init_app(app)
    # Minutes of the idle lock when it is off because the public site is served
    # (auth.idle_lock_applies), for the operator pages' note; None when it applies.
    app.jinja_env.globals["idle_lock_off_minutes"] = lambda: auth.idle_lock_off_minutes(app)
    review_pages.init_app(app)
    for blueprint in (auth.bp, desk.bp, settings.bp, exchange.bp, onion_page.bp,
                      review_pages.bp, review.bp):
        app.register_blueprint(blueprint)
    quick_exit.register(app)
    return app


def create_public_app(
    config: Config | None = None,
    store: Store | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    from app.web import public

    app = _base_app("public", config, store, test_config)
    app.register_blueprint(public.bp)
    public.init_locked_inbox(app, app.extensions["kuager.store"])
    return app
