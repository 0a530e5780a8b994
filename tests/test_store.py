"""The encrypted store: key wrapping, unlock, lock, passphrase change, crypto-erase."""

from __future__ import annotations

import pytest
import sqlcipher3

from app.store import migrations
from app.store.store import BadPassphrase, Store, StoreExists, StoreLocked
from tests.conftest import PASSPHRASE


def test_create_then_unlock(store: Store) -> None:
    store.create(PASSPHRASE, "field")
    store.lock()
    assert not store.is_unlocked
    store.unlock(PASSPHRASE)
    assert store.role == "field"
    conn = store.connect()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    conn.close()


def test_refuses_to_create_twice(field_store: Store) -> None:
    with pytest.raises(StoreExists):
        field_store.create(PASSPHRASE, "field")


def test_wrong_passphrase_is_refused(field_store: Store) -> None:
    field_store.lock()
    with pytest.raises(BadPassphrase):
        field_store.unlock("not the passphrase at all")
    assert not field_store.is_unlocked


def test_repeated_wrong_passphrases_are_slowed_down(field_store: Store) -> None:
    field_store.lock()
    for _ in range(3):
        with pytest.raises(BadPassphrase):
            field_store.unlock("wrong guess number one")
    assert field_store.seconds_until_next_attempt() > 0
    with pytest.raises(BadPassphrase, match="try again"):
        field_store.unlock(PASSPHRASE)  # even the right one waits its turn


def test_lock_overwrites_the_key(field_store: Store) -> None:
    key = field_store._key
    assert key is not None and any(key)
    field_store.lock()
    assert not any(key)
    with pytest.raises(StoreLocked):
        field_store.connect()


def test_database_is_unreadable_without_the_key(field_store: Store) -> None:
    raw = field_store.config.db_file.read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    conn = sqlcipher3.connect(str(field_store.config.db_file))
    with pytest.raises(sqlcipher3.DatabaseError):
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()


def test_change_passphrase_rewraps_the_same_key(field_store: Store) -> None:
    conn = field_store.connect()
    conn.execute("INSERT INTO meta(key, value) VALUES ('probe', 'kept')")
    conn.commit()
    conn.close()
    field_store.change_passphrase(PASSPHRASE, "a whole new passphrase here")
    field_store.lock()
    with pytest.raises(BadPassphrase):
        field_store.unlock(PASSPHRASE)
    field_store.unlock("a whole new passphrase here")
    conn = field_store.connect()
    assert conn.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()[0] == "kept"
    conn.close()


def test_change_passphrase_needs_the_current_one(field_store: Store) -> None:
    with pytest.raises(BadPassphrase):
        field_store.change_passphrase("not it at all really", "a whole new passphrase here")


def test_wipe_makes_the_right_passphrase_useless(field_store: Store) -> None:
    db_copy = field_store.config.db_file.read_bytes()
    field_store.wipe()
    assert not field_store.config.key_file.exists()
    assert not field_store.config.db_file.exists()
    assert not field_store.exists()
    # Even a copy of the database taken before the wipe cannot be opened: the key is gone.
    field_store.config.db_file.write_bytes(db_copy)
    with pytest.raises(Exception, match="no store"):
        field_store.unlock(PASSPHRASE)


def test_key_file_records_kdf_parameters(field_store: Store) -> None:
    head = field_store.config.key_file.read_bytes()[:80]
    assert b"argon2id" in head


def test_production_kdf_profile_is_memory_hard() -> None:
    """The cost itself (>= 0.5 s here) is measured by ``make bench``, not timed in a test."""
    from crypto import keywrap

    assert keywrap.ARGON2ID_V1.memory_kib >= 256 * 1024
    assert keywrap.ARGON2ID_V1.iterations >= 2
