"""What a crash leaves in a store folder, removed when the store next opens for writing.

A kill -9 can leave three kinds of leftovers, none of them readable (every byte is
ciphertext) but all of them taking space, and some of them keys-in-a-database away from
being evidence that was never acknowledged:

* ``files/<random>``: an encrypted attachment moved in before its transaction
  committed (submit, import). No row references it; its key died with the transaction.
* ``spool/<random>``: an upload or import staging spool whose key lived only in memory.
* (export folders have their own: ``exporter`` removes its own ``.part`` files.)

Only a file that *no* transaction can still be about to reference may go. Every process
that unlocks a store holds a shared ``flock`` on ``kuager.lock`` for as long as its
``Store`` object lives, so

* a process that can take the lock *exclusively* is alone: no other process has the
  store open, none can be between writing a file and committing its row, and everything
  unreferenced is a leftover;
* otherwise only leftovers older than ``GRACE_SECONDS`` go (a file's time is its last
  write, or its move into ``files/``, see ``EncryptedSpool.adopt``), checked inside a
  write transaction (``BEGIN IMMEDIATE``), so no other connection has uncommitted rows.

Where ``fcntl`` is missing (Windows) every process counts as not alone.
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import sqlcipher3

from app.config import Config
from app.store.fsutil import fsync_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: With another process on the store, a leftover must be at least this old to go.
GRACE_SECONDS = 6 * 3600

#: Every column that names a file in ``files/``. A table or column added elsewhere that
#: references ``files/`` MUST be listed here, or the sweep would remove its files
#: (tests/test_sweep.py fails on a column whose name says "file" and is not listed).
FILE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("attachments", "file_name"),
    ("attachments", "sealed_original"),
    ("attachments", "original_file"),
    ("inbox", "file_name"),
)


@dataclass
class SweepResult:
    files_removed: int = 0
    spools_removed: int = 0
    alone: bool = False


class WriterLock:
    """A shared ``flock`` on ``<data>/kuager.lock`` held while this process uses the store.

    A raw descriptor, closed (and the lock released) by ``release`` or when the owning
    object is collected, or by the kernel when the process dies.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "kuager.lock"
        self._fd: int | None = None
        self._finalizer: weakref.finalize | None = None

    def acquire(self) -> bool:
        """Take the shared lock; True if this process was alone (held it exclusively first)."""
        if self._fd is not None:
            return False  # taken by an earlier unlock: this process's threads may be writing
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        self._fd = fd
        self._finalizer = weakref.finalize(self, os.close, fd)
        if fcntl is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return False
        return True

    def share(self) -> None:
        """Let other processes in (after the sweep an exclusive holder did)."""
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._fd = self._finalizer = None


def referenced_files(conn: sqlcipher3.Connection) -> set[str]:
    names: set[str] = set()
    for table, column in FILE_COLUMNS:
        names.update(
            row[0]
            for row in conn.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608 - fixed names
        )
    return names


def _old_enough(path: Path, alone: bool, now: float) -> bool:
    if alone:
        return True
    try:
        return now - path.stat().st_mtime >= GRACE_SECONDS
    except OSError:
        return False


def sweep(config: Config, conn: sqlcipher3.Connection, *, alone: bool) -> SweepResult:
    """Remove leftover spools and unreferenced files (see the module docstring)."""
    result = SweepResult(alone=alone)
    now = time.time()
    if config.spool_dir.is_dir():
        for leftover in config.spool_dir.iterdir():
            if leftover.is_file() and _old_enough(leftover, alone, now):
                leftover.unlink(missing_ok=True)
                result.spools_removed += 1
    if not config.files_dir.is_dir():
        return result
    # Never wait here for a long export or import to finish: sweep next time instead.
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlcipher3.OperationalError:
        return result
    finally:
        conn.execute("PRAGMA busy_timeout = 30000")
    try:
        known = referenced_files(conn)
        for path in config.files_dir.iterdir():
            if path.name not in known and path.is_file() and _old_enough(path, alone, now):
                path.unlink(missing_ok=True)
                result.files_removed += 1
    finally:
        with contextlib.suppress(sqlcipher3.Error):
            conn.rollback()  # read only: nothing to commit
    if result.files_removed:
        fsync_dir(config.files_dir)
    return result


def on_open(config: Config, conn: sqlcipher3.Connection, lock: WriterLock) -> SweepResult:
    """Called by ``Store`` each time it unlocks: take the writer lock, then sweep."""
    alone = lock.acquire()
    try:
        return sweep(config, conn, alone=alone)
    finally:
        if alone:
            lock.share()


__all__ = ["FILE_COLUMNS", "GRACE_SECONDS", "SweepResult", "WriterLock", "on_open", "sweep"]
