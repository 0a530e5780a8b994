"""The encrypted store: the only module that ever holds the SQLCipher key.

On disk a store is a folder with

* ``kuager.key``: 256 random bits, wrapped under a key derived from the passphrase by
  Argon2id (``crypto.keywrap``); the KDF parameters sit beside the wrapped key;
* ``kuager.db``: the SQLCipher database, opened with the *raw* key, so changing the
  passphrase only re-wraps 32 bytes and destroying ``kuager.key`` erases everything
  (crypto-erase): without it no passphrase can ever open the database again;
* ``files/``: attachments, each encrypted under its own key kept in the database;
* ``spool/``: uploads and imports in transit, encrypted under keys held only in memory.

The key lives in a ``bytearray`` that ``lock()`` overwrites. Python may have copied it
while formatting the PRAGMA; that residue is a known limit (docs/THREAT_MODEL.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlcipher3

from app.config import Config
from app.messages import gettext as _
from app.store import migrations
from app.store.fsutil import atomic_write_bytes, fsync_dir
from crypto import keywrap
from crypto.errors import KeyFileError, WrongPassphrase

#: The KDF profile new stores and passphrase changes use. Tests swap it for a cheap one
#: through a fixture; there is deliberately no setting or variable that changes it.
KDF_PROFILE = keywrap.ARGON2ID_V1

ROLES = ("field", "coordinator")

#: After this many wrong passphrases in a row, every further attempt waits (seconds,
#: doubling, capped): Argon2id already costs about a second a guess, this slows a
#: person at the keyboard trying the names of their children.
_FREE_ATTEMPTS = 3
_MAX_DELAY = 60.0


class StoreError(Exception):
    """Something the user can act on; the message says what."""


class StoreExists(StoreError):
    pass


class StoreMissing(StoreError):
    pass


class StoreLocked(StoreError):
    pass


class BadPassphrase(StoreError):
    pass


class Store:
    """One store folder and, while unlocked, its key."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._key: bytearray | None = None
        self._lock = threading.Lock()
        self._failures = 0
        self._next_attempt = 0.0
        self.role: str | None = None
        #: A training store (fictional data): every page says so.
        self.training = False
        #: Unlocked in a browser: then only browser sessions that gave the passphrase get
        #: in (app/auth.py). Unlocked on the command line: any local client.
        self.browser_sessions = False
        #: Changes on every unlock and lock, so sessions of an earlier unlock end with it.
        self.epoch = secrets.token_hex(16)
        #: Called after every lock (and so before a wipe deletes anything): connection
        #: pools close their idle connections, each of which holds the key in SQLCipher.
        self.lock_listeners: list[Callable[[], None]] = []

    # -- state -----------------------------------------------------------------------

    def exists(self) -> bool:
        return self.config.key_file.exists()

    @property
    def is_unlocked(self) -> bool:
        return self._key is not None

    # -- life cycle ------------------------------------------------------------------

    def create(self, passphrase: str, role: str) -> None:
        """Make a new store; refuses to touch a folder that already holds one."""
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}")
        if self.exists() or self.config.db_file.exists():
            raise StoreExists(_("a store already exists in %(path)s", path=self.config.data_dir))
        self._make_folders()
        key = bytearray(secrets.token_bytes(32))
        try:
            conn = self._open(key)
            try:
                migrations.upgrade(conn)
                conn.execute("INSERT INTO meta(key, value) VALUES ('role', ?)", (role,))
                conn.commit()
            finally:
                conn.close()
            atomic_write_bytes(
                self.config.key_file, keywrap.wrap_key(bytes(key), passphrase, KDF_PROFILE)
            )
        except BaseException:
            self._remove_new_store()
            raise
        self._set_key(key, role)

    def unlock(self, passphrase: str) -> None:
        """Unwrap the key; a wrong passphrase raises ``BadPassphrase`` and is never logged."""
        if not self.exists():
            raise StoreMissing(_("no store in %(path)s; create one with 'kuager init'",
                                 path=self.config.data_dir))
        self._throttle()
        try:
            raw = keywrap.unwrap_key(self.config.key_file.read_bytes(), passphrase)
        except WrongPassphrase:
            raise self._failed() from None
        except KeyFileError as exc:
            raise StoreError(_("the key file %(path)s is damaged: %(why)s",
                               path=self.config.key_file, why=exc)) from None
        key = bytearray(raw)
        conn = self._open(key)
        try:
            migrations.upgrade(conn)
            role = conn.execute("SELECT value FROM meta WHERE key = 'role'").fetchone()[0]
            mode = conn.execute("SELECT value FROM meta WHERE key = 'store_mode'").fetchone()
            self.training = mode is not None and mode[0] == "training"
        finally:
            conn.close()
        self._failures = 0
        self._set_key(key, role)

    def check_passphrase(self, passphrase: str) -> bytes:
        """Confirm the passphrase without changing the store's state; returns the raw key.

        Throttled like ``unlock``: a session that found the store unlocked must not be
        able to guess the passphrase faster than someone at the unlock page.
        """
        self._throttle()
        try:
            raw = keywrap.unwrap_key(self.config.key_file.read_bytes(), passphrase)
        except WrongPassphrase:
            raise self._failed() from None
        self._failures = 0
        return raw

    def _failed(self) -> BadPassphrase:
        """Count a wrong passphrase; from the fourth on, each next try waits longer."""
        self._failures += 1
        if self._failures >= _FREE_ATTEMPTS:
            delay = min(_MAX_DELAY, 2.0 ** (self._failures - _FREE_ATTEMPTS))
            self._next_attempt = time.monotonic() + delay
        return BadPassphrase(_("wrong passphrase"))

    def seconds_until_next_attempt(self) -> float:
        return max(0.0, self._next_attempt - time.monotonic())

    def lock(self) -> None:
        """Forget the key: overwrite it in place, then drop the reference."""
        with self._lock:
            if self._key is not None:
                for i in range(len(self._key)):
                    self._key[i] = 0
            self._key = None
            self.role = None
            self.browser_sessions = False
            self.epoch = secrets.token_hex(16)
        for listener in list(self.lock_listeners):
            listener()

    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the same key: milliseconds, and the database is not touched."""
        raw = self.check_passphrase(old)
        atomic_write_bytes(self.config.key_file, keywrap.wrap_key(raw, new, KDF_PROFILE))

    def wipe(self) -> None:
        """Crypto-erase: overwrite and delete the wrapped key, then remove everything else.

        Once the key file is gone the database and files are random bytes to anyone,
        the passphrase's owner included; deleting them afterwards only tidies up.
        """
        self.lock()
        key_file = self.config.key_file
        if key_file.exists():
            size = max(key_file.stat().st_size, 4096)
            with open(key_file, "r+b") as fh:
                fh.write(secrets.token_bytes(size))
                fh.flush()
                os.fsync(fh.fileno())
            key_file.unlink()
            fsync_dir(key_file.parent)
        self._remove_new_store()

    # -- connections -----------------------------------------------------------------

    def connect(self) -> sqlcipher3.Connection:
        """A new connection to the unlocked database (about 0.1 ms with the raw key)."""
        with self._lock:
            if self._key is None:
                raise StoreLocked(_("the store is locked"))
            return self._open(self._key)

    def _open(self, key: bytearray) -> sqlcipher3.Connection:
        conn = sqlcipher3.connect(str(self.config.db_file), timeout=30, check_same_thread=False)
        # Wrong-key noise on stderr would be the only trace a guess leaves: silence it.
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        # 8 KiB pages: SQLCipher reserves 80 bytes a page; must be set on every open.
        conn.execute("PRAGMA cipher_page_size = 8192")
        # Sorts and temporary tables in memory, never in a temporary file.
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError:
            conn.close()
            raise StoreError(
                _("the database does not match its key file (damaged store?)")) from None
        # Write-ahead log: a commit is one append and one fsync of kuager.db-wal (encrypted
        # like the database), instead of a rollback journal written, fsynced and deleted
        # with the database fsynced too; readers no longer wait for a writer.
        # synchronous = FULL keeps every commit durable before it returns (the public
        # site's 303 promises the report is on disk). The mode is kept in the file.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.row_factory = sqlcipher3.Row
        return conn

    # -- helpers ---------------------------------------------------------------------

    def _set_key(self, key: bytearray, role: str) -> None:
        with self._lock:
            self._key = key
            self.role = role
            self.epoch = secrets.token_hex(16)

    def _make_folders(self) -> None:
        for folder in (self.config.data_dir, self.config.files_dir, self.config.spool_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _remove_new_store(self) -> None:
        for path in (
            self.config.db_file,
            Path(f"{self.config.db_file}-journal"),
            Path(f"{self.config.db_file}-wal"),
            Path(f"{self.config.db_file}-shm"),
        ):
            path.unlink(missing_ok=True)
        for folder in (self.config.files_dir, self.config.spool_dir, self.config.tor_dir):
            shutil.rmtree(folder, ignore_errors=True)

    def _throttle(self) -> None:
        wait = self.seconds_until_next_attempt()
        if wait > 0:
            raise BadPassphrase(_("too many wrong passphrases; try again in %(seconds)d s",
                                  seconds=int(wait) + 1))
