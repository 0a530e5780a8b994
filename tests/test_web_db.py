"""The request connection pool (app/web/db.py): reused within one unlock, closed on lock."""

from __future__ import annotations

import pytest
import sqlcipher3
from flask import Flask

from app.store.store import Store, StoreLocked
from app.web import db
from tests.conftest import PASSPHRASE


def _pool(app: Flask) -> db.ConnectionPool:
    return app.extensions["kuager.pool"]


def test_a_connection_is_reused_by_the_next_request(app: Flask) -> None:
    with app.app_context():
        first = db.get_db()
    with app.app_context():
        assert db.get_db() is first


def test_lock_closes_idle_connections_and_unlock_opens_new_ones(
        app: Flask, field_store: Store) -> None:
    with app.app_context():
        first = db.get_db()
    field_store.lock()
    with pytest.raises(sqlcipher3.ProgrammingError):  # closed: no key left in it
        first.execute("SELECT 1")
    with app.app_context(), pytest.raises(StoreLocked):
        db.get_db()
    field_store.unlock(PASSPHRASE)
    with app.app_context():
        assert db.get_db() is not first


def test_a_connection_in_use_during_lock_is_closed_when_its_request_ends(
        app: Flask, field_store: Store) -> None:
    with app.app_context():
        conn = db.get_db()
        field_store.lock()
        field_store.unlock(PASSPHRASE)
    with pytest.raises(sqlcipher3.ProgrammingError):
        conn.execute("SELECT 1")
    assert _pool(app)._idle == []


def test_a_half_done_transaction_is_rolled_back_before_reuse(app: Flask) -> None:
    with app.app_context():
        conn = db.get_db()
        conn.execute("INSERT INTO meta(key, value) VALUES ('half', 'done')")
        assert conn.in_transaction
    with app.app_context():
        again = db.get_db()
        assert again is conn and not again.in_transaction
        assert again.execute("SELECT * FROM meta WHERE key = 'half'").fetchone() is None


def test_the_store_uses_a_write_ahead_log_with_full_sync(field_store: Store) -> None:
    conn = field_store.connect()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        conn.close()
