"""Group commit: submissions that arrive together are made durable by one commit.

A commit of one small report writes and fsyncs about 36 pages of 8 KiB (each encrypted
and authenticated by SQLCipher: the report, its head, facts, facets and custody rows, each
with its indexes, and a new full-text segment); eight reports in one transaction write
about 8 pages each. So submissions are written through one shared connection: each in
its own SAVEPOINT (a failing one takes nothing of the others with it), and the last
writer of a burst commits for all who wrote before it. A writer that finds others waiting
for their turn leaves the commit to them, up to ``MAX_BATCH`` reports.

Every caller returns only after the commit that holds its report has returned (WAL with
``synchronous = FULL``: fsynced), so a 303 still means the report is on the disk. When
that commit fails (a full disk), every report of the batch is rolled back and every
caller gets :class:`NotSaved`, caused by the commit's error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import sqlcipher3

from app.store.store import Store

T = TypeVar("T")

#: At most this many reports wait for one commit (the public listener has 16 threads).
MAX_BATCH = 16
#: Seconds a lock waits for the writer in its turn before leaving the connection for that
#: writer to close (a write can wait up to SQLite's busy timeout behind another writer).
CLOSE_WAIT = 1.0


class NotSaved(Exception):
    """The commit that held this report failed: nothing of it was saved."""


class _Batch:
    def __init__(self) -> None:
        self.size = 0  # submissions written in it
        self.turns = 0  # writers that took a turn in it, refused ones included
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupCommit:
    """One connection of the unlocked store, written by one caller at a time."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._turn = threading.Lock()  # the connection and the open batch
        self._count = threading.Lock()  # ``_waiting`` only
        self._waiting = 0
        self._conn: sqlcipher3.Connection | None = None
        self._generation = ""
        self._closing = False  # a lock came while a writer had its turn
        self._batch: _Batch | None = None
        #: Sizes of the batches committed (for tests and the benchmark; bounded).
        self.committed: list[int] = []
        store.lock_listeners.append(self.close)

    def write(self, work: Callable[[sqlcipher3.Connection], T]) -> T:
        """Run ``work(conn)`` (inserts only; it must not commit) in the open batch; return
        its result once the batch's commit has returned. ``work``'s own error is raised
        as is, with nothing of it kept; ``NotSaved`` when the commit failed."""
        with self._count:
            self._waiting += 1
        try:
            self._turn.acquire()
        finally:
            with self._count:
                self._waiting -= 1
        failure: BaseException | None = None
        try:
            batch = self._open_batch()
            conn = self._conn
            assert conn is not None  # noqa: S101 - set by _open_batch
            try:
                conn.execute("SAVEPOINT submission")
                try:
                    result = work(conn)
                except BaseException as exc:
                    failure = exc
                    conn.execute("ROLLBACK TO submission")
                    conn.execute("RELEASE submission")
                else:
                    conn.execute("RELEASE submission")
                    batch.size += 1
            except sqlcipher3.Error as exc:  # a savepoint statement: the batch cannot go on
                failure = failure or exc
                self._fail(batch, exc)
            finally:
                batch.turns += 1  # a refused writer counts too: a batch always closes
                with self._count:
                    lead = self._waiting == 0 or batch.turns >= self.max_batch
                if lead and self._batch is batch:
                    self._commit(batch)
                if self._closing:
                    self._close_now()
        finally:
            self._turn.release()
        if failure is not None:
            raise failure
        batch.done.wait()
        if batch.error is not None:
            raise NotSaved("the commit of this submission failed") from batch.error
        return result

    def close(self) -> None:
        """On lock (and key change): commit what was written, then close the connection.

        The lock does not wait long for a writer in its turn (its ``BEGIN IMMEDIATE`` may
        wait for another writer): that writer closes the connection when its turn ends,
        or the next one does, before it writes."""
        if not self._turn.acquire(timeout=CLOSE_WAIT):
            self._closing = True
            return
        try:
            self._close_now()
        finally:
            self._turn.release()

    # -- under ``_turn`` -------------------------------------------------------------------

    def _close_now(self) -> None:
        self._closing = False
        if self._batch is not None:
            self._commit(self._batch)
        if self._conn is not None:
            with contextlib.suppress(sqlcipher3.Error):
                self._conn.close()
            self._conn = None

    def _open_batch(self) -> _Batch:
        if self._batch is not None:
            return self._batch
        if self._closing:
            self._close_now()
        if self._conn is not None and self._generation != self.store.generation:
            self._conn.close()  # opened in an earlier unlock, or under an earlier key
            self._conn = None
        if self._conn is None:
            generation = self.store.generation
            self._conn = self.store.connect()  # StoreLocked when locked
            self._generation = generation
        self._conn.execute("BEGIN IMMEDIATE")
        self._batch = _Batch()
        return self._batch

    def _commit(self, batch: _Batch) -> None:
        self._batch = None
        conn = self._conn
        assert conn is not None  # noqa: S101 - a batch has its connection
        try:
            if batch.size:
                conn.commit()
                self.committed = [*self.committed[-99:], batch.size]
            else:
                conn.rollback()
        except BaseException as exc:
            self._fail(batch, exc)
        finally:
            batch.done.set()

    def _fail(self, batch: _Batch, exc: BaseException) -> None:
        batch.error = exc
        if self._batch is batch:
            self._batch = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlcipher3.Error):
                conn.rollback()
            with contextlib.suppress(sqlcipher3.Error):
                conn.close()
        batch.done.set()
