"""The encrypted store: the only module that ever holds the SQLCipher key.

On disk a store is a folder with

* ``kuager.key``: 256 random bits, wrapped under a key derived from the passphrase by
  Argon2id (``crypto.keywrap``), in the first of two slots; the second holds the duress
  slot or a decoy (``keyfile``); the KDF parameters sit beside each wrapped key;
* ``kuager.db``: the SQLCipher database, opened with the *raw* key; destroying
  ``kuager.key`` erases everything (crypto-erase): without it no passphrase can ever open
  the database again. A passphrase change gives the database a fresh key (rekey), so an
  old copy of the key file opens nothing;
* ``kuager.lockout``, ``kuager.attempts``: the lockout setting and count (plaintext);
* ``files/``: attachments, each encrypted under its own key kept in the database;
* ``spool/``: uploads and imports in transit, encrypted under keys held only in memory.

The key lives in a ``bytearray`` that ``lock()`` overwrites; it reaches SQLCipher through
``sqlite3_key`` from another bytearray, wiped at once, never as a PRAGMA string. Copies
of the passphrase and of report text that Python made while serving pages may remain in
the process until it ends (docs/THREAT_MODEL.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlcipher3

from app.config import Config

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; one process at a time
    fcntl = None  # type: ignore[assignment]
from app.messages import gettext as _
from app.store import keyfile, migrations, sweep
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

#: The data folders whose try lock this thread holds (``Store._attempts_locked``).
_held_locks = threading.local()


_HEX = b"0123456789abcdef"


def _raw_key_literal(key: bytearray) -> bytearray:
    """``x'<64 hex digits>'`` (SQLCipher's raw-key form) in a bytearray the caller wipes."""
    literal = bytearray(len(key) * 2 + 3)
    literal[0:2] = b"x'"
    for i, byte in enumerate(key):
        literal[2 + 2 * i] = _HEX[byte >> 4]
        literal[3 + 2 * i] = _HEX[byte & 15]
    literal[-1] = ord("'")
    return literal


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
        #: Counts the keys this object has held (unlock, duress swap, a new key): a serving
        #: process ends once it would hold a second one (app/cli/serving.py).
        self.key_serial = 0
        #: Held from the first unlock for this object's life: tells the open-time sweep
        #: whether another process may be writing (app/store/sweep.py).
        self._writers = sweep.WriterLock(config.data_dir)
        #: What the last open-time sweep removed (crash leftovers).
        self.last_sweep: sweep.SweepResult | None = None
        #: Called after every lock (and so before a wipe deletes anything): connection
        #: pools close their idle connections, each of which holds the key in SQLCipher.
        self.lock_listeners: list[Callable[[], None]] = []
        #: Called at the start of every lock, while the store can still be read (what the
        #: public site keeps for a locked store in inbox mode: public keys only). A failing
        #: listener never stops the lock.
        self.before_lock_listeners: list[Callable[[], None]] = []
        #: Called after every unlock with the passphrase (sealed drops taken in). A failing
        #: listener never undoes the unlock: what it did not do waits for the next one.
        #: What they return (when not None) ``unlock`` returns to its caller: ``("inbox",
        #: n)`` from the public form's, for the unlock page to say.
        self.unlock_listeners: list[Callable[[], object]] = []

    # -- state -----------------------------------------------------------------------

    @property
    def generation(self) -> str:
        """Changes with every unlock, lock and new key: a connection opened under another
        generation must not be used again (it may hold a key the database no longer has)."""
        with self._lock:
            return f"{self.epoch}.{self.key_serial}"

    def exists(self) -> bool:
        return self.config.key_file.exists()

    @property
    def is_unlocked(self) -> bool:
        return self._key is not None

    # -- life cycle ------------------------------------------------------------------

    def create(self, passphrase: str, role: str, *, training: bool = False) -> None:
        """Make a new store; refuses to touch a folder that already holds one."""
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}")
        if self.exists() or self.config.db_file.exists():
            raise StoreExists(_("a store already exists in %(path)s", path=self.config.data_dir))
        self._check_folder()
        self._make_folders()
        key = bytearray(secrets.token_bytes(32))
        try:
            self._new_database(key, role, training)
            slot = keyfile.Slot(keywrap.wrap_key(bytes(key), passphrase, KDF_PROFILE),
                                keyfile.seal_note(key, role, training))
            keyfile.write_private(self.config.key_file, keyfile.serialise(
                keyfile.KeyFile((slot, keyfile.decoy(KDF_PROFILE)))))
        except BaseException:
            self._remove_new_store()
            raise
        self.training = training
        self._set_key(key, role)

    def unlock(self, passphrase: str) -> list[object]:
        """Unwrap the key; a wrong passphrase raises ``BadPassphrase`` and is never logged.
        Returns what the unlock listeners returned (for this caller only).

        The duress passphrase unlocks too, the same way, after replacing the store with an
        empty one (``_attempt``); the caller cannot tell the difference.
        """
        key = self._attempt(passphrase)
        self._set_key(key, self.role or "")
        self._apply_retention()
        results = []
        for listener in list(self.unlock_listeners):
            with contextlib.suppress(Exception):
                result = listener()
                if result is not None:
                    results.append(result)
        return results

    def check_passphrase(self, passphrase: str) -> bytes:
        """Confirm the passphrase without changing the store's state; returns the raw key.

        Throttled and counted like ``unlock``: a session that found the store unlocked must
        not be able to guess the passphrase faster than someone at the unlock page. The
        duress passphrase acts here as it does at unlock (the store it opens is the empty
        one from then on).
        """
        was_unlocked = self.is_unlocked
        key = self._attempt(passphrase)
        if was_unlocked:
            self._swap_key(key)
        return bytes(key)

    def _swap_key(self, key: bytearray) -> None:
        """Duress typed while the store is open: the new (empty) store is open from now on.
        Only a key that is still there is replaced: a lock made while the passphrase was
        being tried stays a lock (the store is erased all the same)."""
        with self._lock:
            if self._key is None or secrets.compare_digest(bytes(self._key), bytes(key)):
                return
            self._key = bytearray(key)
            self.epoch = secrets.token_hex(16)
            self.key_serial += 1

    def _attempt(self, passphrase: str) -> bytearray:
        """Try a passphrase against every slot (always both, in order); count it first.

        Returns the key of the store that is valid afterwards and sets ``role`` and
        ``training``. With the duress passphrase, the real store is crypto-erased and an
        empty one of the same role put in its place before returning its key.
        """
        self._require_key_file()
        self._check_folder()
        with self._attempts_locked():
            # Checked again under the lock: a try that waited may find the store erased.
            self._require_key_file()
            self._throttle()
            return self._attempt_locked(passphrase)

    def _require_key_file(self) -> None:
        if not self.exists() and not keyfile.side_path(self.config.key_file).exists():
            raise StoreMissing(_("no store in %(path)s; create one with 'kuager init'",
                                 path=self.config.data_dir))

    @contextlib.contextmanager
    def _attempts_locked(self) -> Iterator[None]:
        """One passphrase try at a time, across threads and processes (web and CLI).

        Without it, tries made at once all read the same count and all write count + 1,
        so N parallel guesses counted as one against the lockout. ``flock`` on the data
        folder: every ``open`` is its own lock holder, so threads exclude each other too;
        the kernel drops the lock when a process dies.
        """
        held = _held_locks.__dict__.setdefault("folders", {})
        folder = str(self.config.data_dir)
        if fcntl is None or held.get(folder):
            held[folder] = held.get(folder, 0) + 1  # this thread holds it already
            try:
                yield
            finally:
                held[folder] -= 1
            return
        fd = os.open(self.config.data_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held[folder] = 1
            yield
        finally:
            held[folder] = 0
            os.close(fd)

    def _attempt_locked(self, passphrase: str) -> bytearray:
        lockout = keyfile.read_lockout(self.lockout_file)
        attempts = keyfile.read_attempts(self.attempts_file) + 1
        if lockout.wipe_after:
            # Counted before the passphrase is tried: pulling the plug mid-try still counts.
            keyfile.write_attempts(self.attempts_file, attempts)
        found = self._unwrap_any(passphrase)
        if found is None:
            if lockout.wipe_after and attempts >= lockout.wipe_after:
                self.wipe()
            raise self._failed()
        path, file, index, key = found
        if index == 1:
            key = self._replace_with_duress_store(file, key)
        else:
            self._finish_rotation(path)
            self.role, self.training = self._read_role(key)
        self._failures = 0
        if lockout.wipe_after or self.attempts_file.exists():
            keyfile.write_attempts(self.attempts_file, 0)
        return key

    def _key_files(self) -> list[tuple[Path, keyfile.KeyFile]]:
        """The key file, and a new one left by an interrupted passphrase change."""
        found = []
        for path in (self.config.key_file, keyfile.side_path(self.config.key_file)):
            try:
                found.append((path, keyfile.parse(path.read_bytes(), KDF_PROFILE)))
            except FileNotFoundError:
                continue
            except KeyFileError as exc:
                if path == self.config.key_file and not keyfile.side_path(path).exists():
                    raise StoreError(_("the key file %(path)s is damaged: %(why)s",
                                       path=path, why=exc)) from None
        return found

    def _unwrap_any(
        self, passphrase: str
    ) -> tuple[Path, keyfile.KeyFile, int, bytearray] | None:
        """Unwrap every slot of every key file (constant work); the one that fits, if any.

        A key that unwraps but does not open the database (a passphrase change that
        stopped before the rekey, or after it) is passed over for one that does.
        """
        hits: list[tuple[Path, keyfile.KeyFile, int, bytearray]] = []
        for path, file in self._key_files():
            for index, slot in enumerate(file.slots):
                try:
                    raw = keywrap.unwrap_key(slot.blob, passphrase)
                except WrongPassphrase:
                    continue
                except KeyFileError as exc:
                    raise StoreError(_("the key file %(path)s is damaged: %(why)s",
                                       path=path, why=exc)) from None
                hits.append((path, file, index, bytearray(raw)))
        for hit in hits:
            if hit[2] == 1 or self._opens_database(hit[3]):
                return hit
        main_hits = [hit for hit in hits if hit[0] == self.config.key_file]
        if main_hits and keyfile.side_path(self.config.key_file).exists():
            # The rekey went through but the new key file was not yet in place.
            raise StoreError(_("a passphrase change was interrupted: unlock with the new "
                               "passphrase"))
        if main_hits:
            raise StoreError(
                _("the database does not match its key file (damaged store?)"))
        return None

    def _opens_database(self, key: bytearray) -> bool:
        try:
            self._open(key).close()
        except StoreError:
            return False
        return True

    def _finish_rotation(self, used: Path) -> None:
        """After a crash: keep the key file whose key opened the database, drop the other."""
        side = keyfile.side_path(self.config.key_file)
        if not side.exists():
            return
        if used == side:
            keyfile.promote(self.config.key_file)
        else:
            keyfile.destroy(side)

    def _read_role(self, key: bytearray) -> tuple[str, bool]:
        conn = self._open(key)
        try:
            migrations.upgrade(conn)
            role = conn.execute("SELECT value FROM meta WHERE key = 'role'").fetchone()[0]
            mode = conn.execute("SELECT value FROM meta WHERE key = 'store_mode'").fetchone()
            self.last_sweep = sweep.on_open(self.config, conn, self._writers)
        finally:
            conn.close()
        return role, mode is not None and mode[0] == "training"

    def _replace_with_duress_store(self, file: keyfile.KeyFile, key: bytearray) -> bytearray:
        """Crypto-erase the real store; an empty one of the same role takes its place.

        No KDF runs here: the duress slot already wraps the new store's key under the
        duress passphrase, so it becomes slot 0 as it is (the unlock costs what any does).
        """
        note = keyfile.open_note(key, file.slots[1].note)
        role, training = (note.role, note.training) if note else ("field", False)
        self._erase()
        self._make_folders()
        try:
            self._new_database(key, role, training)
            from app.store import keyring  # keyring builds on this module

            conn = self._open(key)
            try:
                keyring.initialise(conn, role)
            finally:
                conn.close()
            keyfile.write_private(self.config.key_file, keyfile.serialise(
                keyfile.KeyFile((file.slots[1], keyfile.decoy(KDF_PROFILE)))))
        except BaseException:
            self._remove_new_store()
            raise
        self.role, self.training = role, training
        return key

    def _new_database(self, key: bytearray, role: str, training: bool) -> None:
        conn = self._open(key)
        try:
            migrations.upgrade(conn)
            conn.execute("INSERT INTO meta(key, value) VALUES ('role', ?)", (role,))
            if training:
                conn.execute("INSERT INTO meta(key, value) VALUES ('store_mode', 'training')")
            conn.commit()
            if self._writers.acquire():  # alone: nothing to sweep in a new store
                self._writers.share()
        finally:
            conn.close()
        os.chmod(self.config.db_file, keyfile.FILE_MODE)

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
        if self._key is not None:
            for listener in list(self.before_lock_listeners):
                with contextlib.suppress(Exception):
                    listener()
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
        """A fresh database key under the new passphrase; the old key file opens nothing.

        1. the new key file (new key under ``new``, the duress slot kept) is written to
           ``kuager.key.new`` and fsynced;
        2. ``PRAGMA rekey`` re-encrypts every page of the database under the new key, in
           one transaction (per-file keys live in the database, so attachments follow);
        3. the old ``kuager.key`` is overwritten in place and the new one renamed over it.

        A crash before 2 completes leaves the old key in force (the old passphrase opens
        the store, the side file is dropped); after it, the side file's (the new
        passphrase opens the store and finishes step 3). ``_unwrap_any`` tells them apart
        by which key opens the database. Unlocks wait meanwhile: one made between 1 and
        3 would take the old key file for the good one and delete the new.
        """
        with self._attempts_locked():
            self._change_passphrase(old, new)

    def _change_passphrase(self, old: str, new: str) -> None:
        old_key = bytearray(self.check_passphrase(old))
        role, training = self._read_role(old_key)
        current = dict(self._key_files())[self.config.key_file]
        try:
            # Both slots would open with it, slot 0 first: duress would silently be gone.
            keywrap.unwrap_key(current.slots[1].blob, new)
        except WrongPassphrase:
            pass
        else:
            raise StoreError(_("the duress passphrase must differ from the passphrase"))
        new_key = bytearray(secrets.token_bytes(32))
        slot = keyfile.Slot(keywrap.wrap_key(bytes(new_key), new, KDF_PROFILE),
                            keyfile.seal_note(new_key, role, training))
        side = keyfile.side_path(self.config.key_file)
        keyfile.write_private(side, keyfile.serialise(current.with_slot(0, slot)))
        for listener in list(self.lock_listeners):
            listener()  # pooled connections hold the old key: they must not outlive it
        try:
            self._rekey(old_key, new_key)
        except BaseException:
            keyfile.destroy(side)
            raise
        keyfile.promote(self.config.key_file)
        with self._lock:
            if self._key is not None:
                for i in range(len(self._key)):
                    self._key[i] = 0
                self._key = new_key
                self.key_serial += 1
        for i in range(len(old_key)):
            old_key[i] = 0

    def _rekey(self, old_key: bytearray, new_key: bytearray) -> None:
        conn = self._open(old_key)
        try:
            conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        finally:
            conn.close()
        if not self._opens_database(new_key):
            raise StoreError(_("the database could not be given its new key"))

    def set_duress(self, passphrase: str, duress: str) -> None:
        """Fill slot 1: the duress passphrase will open an empty store of the same role."""
        with self._attempts_locked():
            self._set_duress(passphrase, duress)

    def _set_duress(self, passphrase: str, duress: str) -> None:
        key = bytearray(self.check_passphrase(passphrase))
        try:
            if unicodedata.normalize("NFC", duress) == unicodedata.normalize("NFC", passphrase):
                raise StoreError(_("the duress passphrase must differ from the passphrase"))
            current = dict(self._key_files())[self.config.key_file]
            try:
                keywrap.unwrap_key(current.slots[0].blob, duress)
            except WrongPassphrase:
                pass
            else:
                raise StoreError(_("the duress passphrase must differ from the passphrase"))
            role, training = self._read_role(key)
            duress_key = secrets.token_bytes(32)
            slot = keyfile.Slot(keywrap.wrap_key(duress_key, duress, KDF_PROFILE),
                                keyfile.seal_note(duress_key, role, training))
            keyfile.replace(self.config.key_file,
                            keyfile.serialise(current.with_slot(1, slot)))
        finally:
            for i in range(len(key)):
                key[i] = 0

    def clear_duress(self, passphrase: str) -> None:
        """Slot 1 back to a decoy."""
        with self._attempts_locked():
            self.check_passphrase(passphrase)
            current = dict(self._key_files())[self.config.key_file]
            keyfile.replace(self.config.key_file, keyfile.serialise(
                current.with_slot(1, keyfile.decoy(KDF_PROFILE))))

    # -- lockout and retention -------------------------------------------------------

    @property
    def lockout_file(self) -> Path:
        return self.config.data_dir / "kuager.lockout"

    @property
    def attempts_file(self) -> Path:
        return self.config.data_dir / "kuager.attempts"

    def lockout(self) -> keyfile.Lockout:
        return keyfile.read_lockout(self.lockout_file)

    def set_lockout(self, wipe_after: int, *, show_remaining: bool = False) -> None:
        """Erase the store after ``wipe_after`` wrong passphrases in a row (0: never)."""
        if self._key is None:
            raise StoreLocked(_("the store is locked"))
        keyfile.write_lockout(self.lockout_file, keyfile.Lockout(wipe_after, show_remaining))
        if wipe_after > 0:
            keyfile.write_attempts(self.attempts_file, 0)
        else:  # no file left that says a lockout was ever used
            keyfile.destroy(self.attempts_file)

    def remaining_attempts(self) -> int | None:
        """Wrong passphrases left before the erase, if the monitor chose to show them."""
        lockout = self.lockout()
        if not lockout.wipe_after or not lockout.show_remaining:
            return None
        return max(0, lockout.wipe_after - keyfile.read_attempts(self.attempts_file))

    def _apply_retention(self) -> None:
        from app.store import retention  # retention reads this module's connections

        conn = self.connect()
        try:
            retention.apply(conn, self.config.files_dir)
        finally:
            conn.close()

    def wipe(self) -> None:
        """Crypto-erase: overwrite and delete the wrapped key, then remove everything else.

        Once the key file is gone the database and files are random bytes to anyone,
        the passphrase's owner included; deleting them afterwards only tidies up.
        """
        self._erase()
        for path in (self.lockout_file, self.attempts_file):
            keyfile.destroy(path)
        self._writers.path.unlink(missing_ok=True)  # the writer lock (released by _erase)

    def _erase(self) -> None:
        self.lock()
        self._writers.release()
        for path in (self.config.key_file, keyfile.side_path(self.config.key_file)):
            keyfile.destroy(path)
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
        # The raw key goes to sqlite3_key as the literal x'<hex>' built in a bytearray and
        # overwritten at once: no Python string of the key (a PRAGMA text) is ever made.
        literal = _raw_key_literal(key)
        try:
            conn.set_key(literal)
        finally:
            literal[:] = bytes(len(literal))
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
        # A page cache of up to 64 MiB (SQLite's default is 2 MiB, filled only as pages are
        # read; set once the key is known to fit: the pragma reads the database): the
        # review list and the search read the same heads, indexes and full-text pages on
        # every page load, and with the default cache each of them was read and decrypted
        # again every time (docs/REVIEW.md, Measured). The cache holds decrypted pages only
        # while its connection is open; lock closes every one.
        conn.execute("PRAGMA cache_size = -65536")
        conn.row_factory = sqlcipher3.Row
        return conn

    # -- helpers ---------------------------------------------------------------------

    def _set_key(self, key: bytearray, role: str) -> None:
        with self._lock:
            self._key = key
            self.role = role
            self.epoch = secrets.token_hex(16)
            self.key_serial += 1

    def _make_folders(self) -> None:
        for folder in (self.config.data_dir, self.config.files_dir, self.config.spool_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # our own folders; the data folder passed the check

    def _check_folder(self) -> None:
        """Refuse a data folder that other accounts can read or enter, with the fix."""
        try:
            mode = self.config.data_dir.stat().st_mode
        except FileNotFoundError:
            return
        if mode & 0o077:
            if _keeps_permissions(self.config.data_dir):
                raise StoreError(_("other users can open the data folder %(path)s; make it "
                                   "private with: chmod 700 %(path)s",
                                   path=self.config.data_dir))
            return  # FAT and the like: chmod cannot help (and may be refused)
        self._tighten_modes()

    def _tighten_modes(self) -> None:
        """Files an older version made 0644 (and folders 0755) become the owner's only:
        the folder hides them now, but a copy of the folder keeps their modes."""
        cfg = self.config
        for path, private in (
            (cfg.key_file, keyfile.FILE_MODE), (keyfile.side_path(cfg.key_file), keyfile.FILE_MODE),
            (cfg.db_file, keyfile.FILE_MODE), (self.lockout_file, keyfile.FILE_MODE),
            (self.attempts_file, keyfile.FILE_MODE), (cfg.files_dir, 0o700),
            (cfg.spool_dir, 0o700), (cfg.tor_dir, 0o700),
        ):
            try:
                if path.lstat().st_mode & 0o077 and not path.is_symlink():
                    os.chmod(path, private)
            except (FileNotFoundError, PermissionError):
                continue

    def _remove_new_store(self) -> None:
        for path in (
            self.config.db_file,
            Path(f"{self.config.db_file}-journal"),
            Path(f"{self.config.db_file}-wal"),
            Path(f"{self.config.db_file}-shm"),
        ):
            path.unlink(missing_ok=True)
        for folder in (self.config.files_dir, self.config.spool_dir, self.config.tor_dir,
                       self.config.inbox_drop_dir):
            shutil.rmtree(folder, ignore_errors=True)

    def _throttle(self) -> None:
        wait = self.seconds_until_next_attempt()
        if wait > 0:
            raise BadPassphrase(_("too many wrong passphrases; try again in %(seconds)d s",
                                  seconds=int(wait) + 1))


def _keeps_permissions(folder: Path) -> bool:
    """False where the file system keeps no Unix permissions (FAT32/exFAT sticks, Windows).

    There every file shows the mount's mode whatever ``chmod`` says, so ``chmod 700`` cannot
    help and refusing would make the USB kit unusable; the store's files are ciphertext.
    """
    if os.name == "nt":
        return False
    probe = folder / f".perm-{secrets.token_hex(8)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return True  # cannot tell (read-only folder): keep the refusal
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        return not os.fstat(fd).st_mode & 0o077
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)

