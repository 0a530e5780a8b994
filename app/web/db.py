"""The request's database connection (flaskr's ``get_db`` pattern) over the shared ``Store``.

Connections are pooled, not opened and closed per request: closing the last connection to
a database in WAL mode checkpoints and removes the log (several fsyncs, ~15 ms), which was
most of the cost of a public submission. A pooled connection is only reused within the
unlock (and under the key) that opened it (``Store.generation``); locking the store closes
every idle one at once (``Store.lock_listeners``), and one in use is closed when its
request ends.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

import sqlcipher3
from flask import Flask, current_app, g

from app.store.group import GroupCommit
from app.store.store import Store

_EXTENSION = "kuager.store"
_POOL = "kuager.pool"
_GROUP = "kuager.group"

#: Idle connections kept per app: enough for the public listener's busy threads.
POOL_SIZE = 16


class ConnectionPool:
    """Open connections of one unlock, handed to one request at a time."""

    def __init__(self, store: Store, size: int = POOL_SIZE) -> None:
        self.store = store
        self.size = size
        self._idle: list[tuple[str, sqlcipher3.Connection]] = []
        self._lock = threading.Lock()
        store.lock_listeners.append(self.close_idle)

    def get(self) -> tuple[str, sqlcipher3.Connection]:
        """(generation, connection); raises ``StoreLocked`` when the store is locked."""
        generation = self.store.generation
        with self._lock:
            while self._idle:
                conn_generation, conn = self._idle.pop()
                if conn_generation == generation and self.store.is_unlocked:
                    return conn_generation, conn
                conn.close()
        conn = self.store.connect()
        return generation, conn

    def put(self, generation: str, conn: sqlcipher3.Connection) -> None:
        """Take a connection back: kept if its unlock is still current, else closed."""
        try:
            if conn.in_transaction:
                conn.rollback()  # a request that failed half-way: nothing of it stays
        except sqlcipher3.Error:
            conn.close()
            return
        with self._lock:
            if (generation == self.store.generation and self.store.is_unlocked
                    and len(self._idle) < self.size):
                self._idle.append((generation, conn))
                return
        conn.close()

    def close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _generation, conn in idle:
            conn.close()


_WRITE_LOCKS: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Hold this process's write turn for the store while a request writes and commits.

    SQLite lets one writer in at a time and makes the others poll, sleeping up to 100 ms
    between tries: under load a few unlucky submissions waited seconds. Waiting here
    instead wakes the next writer the moment the last one commits.
    """
    store = get_store()
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.setdefault(store, threading.Lock())
    with lock:
        yield


def init_app(app: Flask, store: Store) -> None:
    app.extensions[_EXTENSION] = store
    app.extensions[_POOL] = ConnectionPool(store)
    app.extensions[_GROUP] = GroupCommit(store)
    app.teardown_appcontext(close_db)


def get_store() -> Store:
    return current_app.extensions[_EXTENSION]


def group_commit() -> GroupCommit:
    """The app's shared writer for submissions (store/group.py)."""
    return current_app.extensions[_GROUP]


def get_db() -> sqlcipher3.Connection:
    """One connection per request, taken on first use; raises ``StoreLocked`` when locked."""
    if "db" not in g:
        g.db_generation, g.db = current_app.extensions[_POOL].get()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        current_app.extensions[_POOL].put(g.pop("db_generation", ""), conn)
