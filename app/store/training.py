"""Training stores: fictional data that can never be mixed up with real reports.

A store made with ``kuager init --training`` says so on every page and in every bundle it
exports; a real coordinator store refuses a training bundle, and the reverse.

The mode itself lives in the encrypted database. So that ``kuager training reset`` can
wipe the workshop's stores without every participant's passphrase, a training store also
carries a plaintext marker file, ``TRAINING``, bound to *its* database: it holds a hash of
the database's random SQLCipher salt (the first 16 bytes of ``kuager.db``), so a marker
left behind by a wiped training store, or copied beside a real store, marks nothing. The
marker guards against mistakes, not against someone with write access to the folder (who
could delete the store anyway).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlcipher3

from app.store import meta
from app.store.fsutil import atomic_write_bytes

REAL = "real"
TRAINING = "training"
MARKER = "TRAINING"
_MARKER_HEAD = b"Kuager training store: fictional reports only. `kuager training reset` wipes it.\n"


def mode(conn: sqlcipher3.Connection) -> str:
    return meta.get(conn, "store_mode", REAL) or REAL


def set_mode(conn: sqlcipher3.Connection, value: str) -> None:
    """Chosen once, at ``init``: a store never changes between training and real."""
    if value not in (REAL, TRAINING):
        raise ValueError(value)
    meta.set(conn, "store_mode", value)
    if value == TRAINING:
        write_marker(conn)


def _db_file(conn: sqlcipher3.Connection) -> Path:
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file)
    raise ValueError("connection has no main database")


def _binding(db_file: Path) -> bytes:
    with open(db_file, "rb") as fh:
        salt = fh.read(16)
    return hashlib.sha256(b"kuager-training-marker-v1" + salt).hexdigest().encode()


def write_marker(conn: sqlcipher3.Connection) -> None:
    """Mark the (training) store of ``conn``; the caller has checked it is one."""
    if mode(conn) != TRAINING:
        raise ValueError("not a training store")
    db_file = _db_file(conn)
    marker = db_file.parent / MARKER
    content = _MARKER_HEAD + _binding(db_file) + b"\n"
    if not marker.is_file() or marker.read_bytes() != content:
        atomic_write_bytes(marker, content)


def is_marked(data_dir: Path, db_name: str = "kuager.db") -> bool:
    """True if ``data_dir`` holds a store whose marker is bound to its database."""
    marker, db_file = data_dir / MARKER, data_dir / db_name
    if not marker.is_file() or not db_file.is_file():
        return False
    try:
        lines = marker.read_bytes().splitlines()
        return bool(lines) and lines[-1] == _binding(db_file)
    except OSError:
        return False


#: Folders inside a store, never stores themselves.
_STORE_PARTS = frozenset({"files", "spool", "tor"})


def find_stores(root: Path) -> list[Path]:
    """Every store folder at or under ``root`` (a folder holding ``kuager.key`` or
    ``kuager.db``), without following symbolic links or entering a store's own parts."""
    import os

    found: list[Path] = []
    for folder, subfolders, files in os.walk(root, followlinks=False):
        here = Path(folder)
        if "kuager.key" in files or "kuager.db" in files:
            found.append(here)
            subfolders[:] = [name for name in subfolders if name not in _STORE_PARTS]
        subfolders.sort()
    return found
