"""Inbox mode: a public submission is sealed to the recipients the moment it arrives.

The field store then keeps only an age file it cannot open (``inbox`` table, ``files/``):
seizing the server reveals how many submissions arrived and their sizes, nothing more.
Exports carry the envelopes unchanged; coordinators open them on import.

Envelope plaintext (inside age, to the store's recipients)::

    kuager-inbox/v1\\n
    <length of the JSON document in bytes, decimal>\\n
    <JSON document: {"report": {...}, "attachments": [...]}>
    for each attachment, in order: its stored bytes (``size``), then, if the file was
    cleaned (image, document, PDF, audio, video), the original bytes as uploaded
    (``original_size``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

import sqlcipher3
from werkzeug.datastructures import FileStorage

from app.config import Config
from app.exchange import schema as bundle_schema
from app.exchange.staging import MAX_REPORT_ENTRY
from app.records import attachments, reports, scrub
from app.records.intake import real_uploads
from app.store import keyring, meta
from app.store.fsutil import atomic_file, fsync_dir, random_name
from app.store.spool import EncryptedSpool
from app.timeutil import utc_now
from crypto import age
from crypto.errors import CryptoError

MAGIC = b"kuager-inbox/v1\n"
MAX_DOCUMENT = MAX_REPORT_ENTRY  # a sealed public submission is a report document
_READ = 1024 * 1024


class EnvelopeError(CryptoError):
    """An envelope that does not follow the format above."""


def enabled(conn: sqlcipher3.Connection) -> bool:
    return meta.get(conn, "inbox_mode") == "on"


def set_enabled(conn: sqlcipher3.Connection, on: bool) -> None:
    if on and not keyring.list_recipients(conn):
        raise ValueError("inbox mode needs at least one recipient")
    meta.set(conn, "inbox_mode", "on" if on else "off")


def counts(conn: sqlcipher3.Connection) -> tuple[int, int]:
    """(waiting for export, total held) sealed submissions."""
    waiting = conn.execute("SELECT count(*) FROM inbox WHERE exported_in IS NULL").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM inbox").fetchone()[0]
    return waiting, total


def _prepare(upload: FileStorage) -> tuple[dict[str, Any], bytes | None, EncryptedSpool]:
    """Describe one upload: cleaned bytes (if any) and the spool with the original."""
    spool = upload.stream
    if not isinstance(spool, EncryptedSpool):
        raise TypeError("uploads must arrive through KuagerRequest's encrypted spool")
    spool.seek(0)
    head = spool.read(32)
    fmt = attachments.sniff_image(head)
    cleaned = None
    if fmt is not None and spool.size <= attachments.CLEAN_MAX_BYTES:
        try:
            cleaned = attachments.clean_image(head + spool.read(), fmt)
        except Exception:
            cleaned = None
    elif scrub.sniff(head) and spool.size <= scrub.CLEAN_MAX_BYTES:
        cleaned = scrub.clean(head + spool.read(), upload.mimetype)
    item = {
        "name": attachments.display_name(upload.filename),
        "media_type": upload.mimetype or "application/octet-stream",
        "original_size": spool.size,
        "original_sha256": spool.sha256,
        "metadata_removed": cleaned is not None,
        "size": len(cleaned) if cleaned is not None else spool.size,
        "sha256": hashlib.sha256(cleaned).hexdigest() if cleaned is not None else spool.sha256,
    }
    return item, cleaned, spool


def _spool_chunks(spool: EncryptedSpool) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(_READ):
        yield chunk


def _write_envelope(fh: BinaryIO, recipients: list[Any], body: dict[str, Any],
                    uploads: Iterable[FileStorage], now: str) -> None:
    """Seal one submission (the envelope above) to ``recipients`` into ``fh``."""
    prepared = [_prepare(upload) for upload in real_uploads(uploads)]
    document = {
        "report": {
            "id": uuid.uuid4().hex,
            "revision": 1,
            "origin": "public",
            "created_at": now,
            "updated_at": now,
            "body": body,
        },
        "attachments": [item for item, _cleaned, _spool in prepared],
    }
    raw = reports.canonical_json(document).encode()
    with age.encrypt(fh, recipients) as writer:
        writer.write(MAGIC + str(len(raw)).encode() + b"\n" + raw)
        for _item, cleaned, spool in prepared:
            if cleaned is not None:
                writer.write(cleaned)
            for chunk in _spool_chunks(spool):
                writer.write(chunk)


def seal_submission(
    conn: sqlcipher3.Connection, cfg: Config, body: dict[str, Any], uploads: Iterable[FileStorage]
) -> str:
    """Seal one submission to the recipients and keep only the sealed file."""
    now = utc_now()
    recipients = keyring.recipients_of(conn)
    file_name = random_name()
    path = cfg.files_dir / file_name
    cfg.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with open(path, "xb") as fh:
            _write_envelope(fh, recipients, body, uploads, now)
        inbox_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO inbox(id, received_at, file_name, file_key, size) VALUES (?,?,?,?,?)",
            (inbox_id, now, file_name, b"", path.stat().st_size),
        )
        conn.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return inbox_id


# ---------------------------------------------------------------------------------------
# A locked store in inbox mode: the public form stays open


@dataclass(frozen=True)
class LockedInbox:
    """What the public site keeps when a store in inbox mode locks: the recipients' public
    keys (nothing secret: the store's key is gone) and which form it shows."""

    recipients: list[Any]
    full_form: bool


def locked_inbox(conn: sqlcipher3.Connection, full_form: bool) -> LockedInbox | None:
    """Read, while the store is still unlocked, what a locked inbox needs; None when inbox
    mode is off or there is no recipient (the public form then closes with the store)."""
    if not enabled(conn):
        return None
    recipients = keyring.recipients_of(conn)
    return LockedInbox(recipients, full_form) if recipients else None


def open_while_locked(conn: sqlcipher3.Connection) -> bool:
    """True when a lock would keep the public form open (inbox mode with a recipient): the
    idle lock then applies even while the public site is served (web/auth.py)."""
    return enabled(conn) and bool(keyring.recipients_of(conn))


_DROP_NAME = re.compile(r"[0-9a-f]{32}")
#: A hidden part in the drop folder this old is a crash's leftover, not a write under way.
STALE_PART_SECONDS = 6 * 3600


def seal_to_drop(cfg: Config, kept: LockedInbox, body: dict[str, Any],
                 uploads: Iterable[FileStorage]) -> None:
    """Seal one submission while the store is locked: an envelope in the drop folder,
    complete or not at all (written to a hidden part, fsynced, then renamed). Its name is
    the name it will have in ``files/``; the time it came is its modification time."""
    drop = cfg.inbox_drop_dir
    drop.mkdir(mode=0o700, parents=True, exist_ok=True)
    with atomic_file(drop / random_name()) as fh:
        _write_envelope(fh, kept.recipients, body, uploads, utc_now())


def ingest_drops(conn: sqlcipher3.Connection, cfg: Config) -> int:
    """Take the envelopes sealed while the store was locked into the inbox (unlock, and
    every export); the number taken. Each is recorded (committed) before it moves into
    ``files/`` under the same name, so a crash at any step leaves it to the next call,
    never lost and never twice; stale hidden parts (a crash mid-write) are removed."""
    drop = cfg.inbox_drop_dir
    if not drop.is_dir():
        return 0
    taken = 0
    for path in sorted(drop.iterdir()):
        if path.name.startswith(".") and path.name.endswith(".part"):
            # A part being written now (a submission arriving while this runs) is young:
            # only a part older than any upload could take is a crash's leftover.
            with contextlib.suppress(FileNotFoundError):
                if time.time() - path.stat().st_mtime > STALE_PART_SECONDS:
                    path.unlink()
            continue
        if not _DROP_NAME.fullmatch(path.name) or not path.is_file():
            continue
        conn.execute("BEGIN IMMEDIATE")  # another process taking drops waits here
        try:
            known = conn.execute("SELECT 1 FROM inbox WHERE file_name = ?",
                                 (path.name,)).fetchone()
            if known is None and path.is_file():
                stat = path.stat()
                received = datetime.fromtimestamp(stat.st_mtime, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
                conn.execute(
                    "INSERT INTO inbox(id, received_at, file_name, file_key, size)"
                    " VALUES (?,?,?,?,?)",
                    (uuid.uuid4().hex, received, path.name, b"", stat.st_size))
                taken += 1
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        cfg.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # moved by another process meanwhile
            os.replace(path, cfg.files_dir / path.name)
        fsync_dir(cfg.files_dir)
    fsync_dir(drop)
    return taken


class _Reader:
    """Exact-size reads over the plaintext chunks of an envelope."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read_exact(self, n: int) -> bytes:
        if n < 0:
            raise EnvelopeError("a sealed submission declares a negative size")
        parts, need = [], n
        while need:
            if not self._buffer:
                self._buffer = next(self._chunks, b"")
                if not self._buffer:
                    raise EnvelopeError("a sealed submission is shorter than it declares")
            take = self._buffer[:need]
            self._buffer = self._buffer[len(take) :]
            parts.append(take)
            need -= len(take)
        return b"".join(parts)

    def stream(self, n: int) -> Iterator[bytes]:
        while n:
            piece = self.read_exact(min(n, _READ))
            n -= len(piece)
            yield piece

    def read_line(self, limit: int = 32) -> bytes:
        line = b""
        while not line.endswith(b"\n"):
            line += self.read_exact(1)
            if len(line) > limit:
                raise EnvelopeError("a sealed submission has a malformed header")
        return line

    def at_end(self) -> bool:
        return not self._buffer and next(self._chunks, b"") == b""


def open_envelope(
    cfg: Config, sealed: BinaryIO, identities: list[Any], moved: list[str]
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], attachments.StoredFile,
                                      attachments.StoredFile | None]]]:
    """Decrypt an envelope into encrypted files: (document, [(item, stored, original)]).

    Every file written is appended to ``moved`` so the caller can remove it on failure.
    The document is checked (``bundle_schema``) before any declared size is trusted.
    """
    reader = _Reader(iter(age.decrypt(sealed, identities)))
    if reader.read_exact(len(MAGIC)) != MAGIC:
        raise EnvelopeError("not a Kuager sealed submission (or an unknown version)")
    length = reader.read_line().strip()
    if not length.isdigit() or int(length) > MAX_DOCUMENT:
        raise EnvelopeError("a sealed submission has a malformed header")
    try:
        document = bundle_schema.loads(reader.read_exact(int(length)))
    except bundle_schema.ImportRefused:
        raise EnvelopeError("a sealed submission has a malformed document") from None
    bundle_schema.envelope_document(document)
    files = []
    for item in document.get("attachments", []):
        stored = attachments.write_encrypted(cfg, reader.stream(item["size"]))
        moved.append(stored.file_name)
        if stored.sha256 != item["sha256"]:
            raise EnvelopeError("an attachment in a sealed submission does not match its hash")
        original = None
        if item["metadata_removed"]:
            original = attachments.write_encrypted(cfg, reader.stream(item["original_size"]))
            moved.append(original.file_name)
            if original.sha256 != item["original_sha256"]:
                raise EnvelopeError("an original in a sealed submission does not match its hash")
        files.append((item, stored, original))
    if not reader.at_end():
        raise EnvelopeError("a sealed submission carries unexpected trailing data")
    return document, files
