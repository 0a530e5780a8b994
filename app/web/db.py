"""The request's database connection (flaskr's ``get_db`` pattern) over the shared ``Store``."""

from __future__ import annotations

import sqlcipher3
from flask import Flask, current_app, g

from app.store.store import Store

_EXTENSION = "kuager.store"


def init_app(app: Flask, store: Store) -> None:
    app.extensions[_EXTENSION] = store
    app.teardown_appcontext(close_db)


def get_store() -> Store:
    return current_app.extensions[_EXTENSION]


def get_db() -> sqlcipher3.Connection:
    """One connection per request, opened on first use; raises ``StoreLocked`` when locked."""
    if "db" not in g:
        g.db = get_store().connect()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
