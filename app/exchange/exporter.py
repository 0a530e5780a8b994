"""Export (field store): every report not yet exported and not a draft, sealed into one
signed bundle; with nothing to seal, no bundle at all.

For each report the bundle carries ``report-<id>.json`` (the report, its attachment list
and custody record), ``att-<id>`` (the stored bytes) and ``orig-<id>.age`` (the original
image sealed to the recipients at intake); and ``inbox-<id>.age`` for each public
submission sealed on arrival. The file is written under a temporary name in the target
folder, fsynced, read back and compared, and only then renamed; only after that are
reports marked exported (or purged).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

from app.config import Config
from app.exchange.progress import Progress
from app.messages import gettext as _
from app.records import attachments, custody, reports
from app.store import device, keyring, meta, training
from app.store.fsutil import file_chunks, file_sha256, fsync_dir, random_name
from app.store.store import Store, StoreError
from app.timeutil import utc_now
from crypto.bundle import BundleEntry, seal_bundle
from crypto.digest import BackgroundDigest

#: The ``kind`` in every field export's manifest ``meta``.
BUNDLE_KIND = "kuager-field-export"
_READ = 1024 * 1024


@dataclass(frozen=True)
class ExportResult:
    sequence: int
    report_count: int
    path: Path
    drafts: int = 0  # drafts left behind (not sealed)


def _json_entry(name: str, value: Any) -> BundleEntry:
    data = reports.canonical_json(value).encode()
    return BundleEntry(name, len(data), hashlib.sha256(data).digest(), lambda: iter([data]))


def _report_entries(
    conn: sqlcipher3.Connection, cfg: Config, row: sqlcipher3.Row
) -> list[BundleEntry]:
    """The report document, then each attachment's bytes and sealed original."""
    entries: list[BundleEntry] = []
    files = []
    for att in attachments.for_report(conn, row["id"]):
        item = {
            k: att[k]
            for k in (
                "id",
                "name",
                "media_type",
                "size",
                "sha256",
                "original_size",
                "original_sha256",
                "metadata_removed",
            )
        }
        item["metadata_removed"] = bool(att["metadata_removed"])
        item["entry"] = f"att-{att['id']}"
        entries.append(
            BundleEntry(
                item["entry"],
                att["size"],
                bytes.fromhex(att["sha256"]),
                lambda a=att: attachments.read_chunks(cfg, a["file_name"], a["file_key"]),
            )
        )
        if att["sealed_original"]:
            path = attachments.file_path(cfg, att["sealed_original"])
            item["original_entry"] = f"orig-{att['id']}.age"
            entries.append(
                BundleEntry(
                    item["original_entry"],
                    path.stat().st_size,
                    file_sha256(path),
                    lambda p=path: file_chunks(p),
                )
            )
        files.append(item)
    document = {
        "report": {k: row[k] for k in ("id", "revision", "origin", "created_at", "updated_at")}
        | {"body": reports.body_of(row)},
        "attachments": files,
        "custody": custody.history(conn, row["id"]),
    }
    return [_json_entry(f"report-{row['id']}.json", document), *entries]


def _inbox_entries(conn: sqlcipher3.Connection, cfg: Config) -> tuple[list[BundleEntry], list[str]]:
    entries, ids = [], []
    for row in conn.execute("SELECT * FROM inbox WHERE exported_in IS NULL ORDER BY received_at"):
        path = attachments.file_path(cfg, row["file_name"])
        entries.append(
            BundleEntry(
                f"inbox-{row['id']}.age",
                path.stat().st_size,
                file_sha256(path),
                lambda p=path: file_chunks(p),
            )
        )
        ids.append(row["id"])
    return entries, ids


class _Crc32:
    """CRC-32 with the ``update``/``digest`` shape of a hashlib object."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


class _CheckedWriter:
    """Counts and checksums what goes to the file, to compare with a read-back from disk.

    CRC-32 and length, not a cryptographic hash: this catches a failing disk or USB stick
    before the originals are purged; tampering is caught by the bundle's own AEAD and
    signature at import. Computed on a second core (``BackgroundDigest``).
    """

    def __init__(self, fh: Any, progress: Progress) -> None:
        self.fh, self.progress = fh, progress
        self.check = BackgroundDigest(_Crc32())
        self.size = 0

    def write(self, data: Any) -> int:
        self.check.update(data)
        self.size += len(data)
        self.progress.add(len(data))
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def _read_back_matches(path: Path, writer: _CheckedWriter) -> bool:
    expected = writer.check.digest()
    with open(path, "rb") as fh:
        with contextlib.suppress(AttributeError, OSError):
            # Read what the disk holds, not what the page cache still remembers.
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        size = 0
        with BackgroundDigest(_Crc32()) as crc:  # checksum while the next block is read
            while chunk := fh.read(_READ):
                crc.update(chunk)
                size += len(chunk)
            actual = crc.digest()
    return (actual, size) == (expected, writer.size)


def _write_bundle(out: Path, seal: Any, progress: Progress) -> None:
    """Write via ``seal(fileobj)`` to a temporary name, fsync, read back, rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{random_name()}.part"
    try:
        with open(tmp, "xb") as fh:
            writer = _CheckedWriter(fh, progress)
            try:
                seal(writer)
            finally:
                writer.check.close()
            fh.flush()
            os.fsync(fh.fileno())
        if not _read_back_matches(tmp, writer):
            raise StoreError(
                _(
                    "the bundle read back from %(path)s differs from what was written "
                    "(failing disk or USB stick?)",
                    path=out,
                )
            )
        _rename_without_overwriting(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _rename_without_overwriting(tmp: Path, out: Path) -> None:
    """Never replace an existing bundle: on a shared USB stick it is someone's only copy."""
    exists = StoreError(_("%(path)s already exists: choose another name", path=out))
    try:
        os.link(tmp, out)  # fails if ``out`` exists, atomically
    except FileExistsError:
        raise exists from None
    except OSError:
        # No hard links (FAT and exFAT sticks): check, then rename.
        if out.exists():
            raise exists from None
        os.replace(tmp, out)
    else:
        tmp.unlink()


def next_sequence(conn: sqlcipher3.Connection) -> int:
    """The sequence number the next export will carry."""
    return int(meta.get(conn, "export_sequence", "0") or "0") + 1


def default_name(conn: sqlcipher3.Connection) -> str:
    """``bundle-<device>-<sequence>.age``: unique across the devices sharing a stick."""
    return f"bundle-{device.device_id(conn)[:8]}-{next_sequence(conn):05d}.age"


def export_bundle(
    store: Store, out: Path, *, purge: bool = False, progress: Progress | None = None
) -> ExportResult:
    """Seal every report not yet exported that is not a draft; mark them exported (or purge)
    only afterwards. Nothing to seal (no report, no inbox envelope) raises StoreError and
    writes nothing, so no sequence number is spent on an empty bundle."""
    progress = progress or Progress(None)
    cfg = store.config
    conn = store.connect()
    try:
        key = device.key(conn)  # made at init; made (and committed) here for older stores
        # Hold the write lock from the first read to the commit: an edit saved while a long
        # export runs waits, instead of being marked exported (or purged) unsent.
        conn.execute("BEGIN IMMEDIATE")
        recipients = keyring.recipients_of(conn)
        if not recipients:
            raise StoreError(
                _("no recipients: add a coordinator's key with 'kuager recipients add age1...'")
            )
        rows = conn.execute(
            "SELECT * FROM reports WHERE exported_in IS NULL AND status != 'draft'"
            " ORDER BY created_at"
        ).fetchall()
        drafts = conn.execute(
            "SELECT count(*) FROM reports WHERE exported_in IS NULL AND status = 'draft'"
        ).fetchone()[0]
        entries = [entry for row in rows for entry in _report_entries(conn, cfg, row)]
        inbox_entries, inbox_ids = _inbox_entries(conn, cfg)
        if not rows and not inbox_ids:
            raise StoreError(_("nothing to export: no report is ready to send (drafts: %(n)d)",
                               n=drafts))
        entries += inbox_entries
        progress.start(sum(e.size for e in entries))
        sequence = meta.next_counter(conn, "export_sequence")
        bundle_meta = {
            "kind": BUNDLE_KIND,
            "store": training.mode(conn),
            "reports": len(rows),
            "inbox": len(inbox_ids),
        }
        _write_bundle(
            out,
            lambda fh: seal_bundle(fh, recipients, key, sequence, entries, bundle_meta),
            progress,
        )
        _mark_exported(conn, rows, inbox_ids, sequence, key.device_id)
        files = _purge_rows(conn, rows, inbox_ids) if purge else []
        conn.commit()
        attachments.remove_files(cfg, files)
        progress.finish()
        return ExportResult(sequence, len(rows) + len(inbox_ids), out, drafts)
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _mark_exported(
    conn: sqlcipher3.Connection,
    rows: list[sqlcipher3.Row],
    inbox_ids: list[str],
    sequence: int,
    device_id: str,
) -> None:
    conn.execute(
        "INSERT INTO exports(sequence, created_at, report_count) VALUES (?,?,?)",
        (sequence, utc_now(), len(rows) + len(inbox_ids)),
    )
    for row in rows:
        conn.execute(
            "UPDATE reports SET status = 'exported', exported_in = ? WHERE id = ?",
            (sequence, row["id"]),
        )
        custody.record(conn, row["id"], "exported", device=device_id, detail=f"bundle {sequence}")
    for inbox_id in inbox_ids:
        conn.execute("UPDATE inbox SET exported_in = ? WHERE id = ?", (sequence, inbox_id))


def _purge_rows(conn: sqlcipher3.Connection, rows: list[sqlcipher3.Row],
                inbox_ids: list[str]) -> list[str | None]:
    """Delete what was exported, in the export's transaction; returns the files to remove."""
    files = reports.delete_rows(conn, [row["id"] for row in rows])
    for inbox_id in inbox_ids:
        row = conn.execute("SELECT file_name FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
        files.append(row[0])
        conn.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))
    return files
