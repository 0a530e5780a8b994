"""Export (field store): every report not yet exported, sealed into one signed bundle.

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
import json
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3

from app.config import Config
from app.exchange.progress import Progress
from app.messages import gettext as _
from app.records import attachments, custody, reports
from app.store import device, keyring, meta, training
from app.store.fsutil import fault_point, file_chunks, file_sha256, fsync_dir, random_name
from app.store.store import Store, StoreError
from app.timeutil import utc_now
from crypto.bundle import BundleEntry, padme, seal_bundle
from crypto.digest import BackgroundDigest

#: The ``kind`` in every field export's manifest ``meta``.
BUNDLE_KIND = "kuager-field-export"
_READ = 1024 * 1024


@dataclass(frozen=True)
class ExportResult:
    sequence: int
    report_count: int
    path: Path
    #: What interrupted earlier exports left behind (shown once, then forgotten).
    notices: list[str] = field(default_factory=list)


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


def _part_name(out: Path) -> Path:
    """The hidden temporary name a bundle is written under, beside its final name."""
    return out.parent / f".{random_name()}.part"


def _write_bundle(out: Path, tmp: Path, seal: Any, progress: Progress) -> None:
    """Write via ``seal(fileobj)`` to ``tmp``, fsync, read back, rename to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "xb") as fh:
            writer = _CheckedWriter(fh, progress)
            try:
                seal(writer)
            finally:
                writer.check.close()
            fault_point("export-sealed")
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
    return int(meta.get(conn, _COUNTER, "0") or "0") + 1


def default_name() -> str:
    """``<32 random hex>.age``: says nothing of the device or how many bundles it sent.

    The device and the sequence number are inside the signed manifest, which only the
    coordinators can read; random names are also unique across devices sharing a stick.
    """
    return f"{random_name()}.age"


#: A bundle file name as ``default_name`` makes it (the pages offer only these).
DEFAULT_NAME = re.compile(r"[0-9a-f]{32}\.age")


#: The persistent counter of bundle sequence numbers (``meta``).
_COUNTER = "export_sequence"
#: Sequence numbers reserved by exports not yet recorded:
#: ``[{"sequence": n, "path": final name, "part": temporary name}]``.
_PENDING = "export_pending"
#: Temporary ``.part`` files of interrupted exports on a folder that was not there (a USB
#: stick not plugged in) when the next export looked: tried again at every export.
_STALE_PARTS = "export_stale_parts"
_MAX_STALE_PARTS = 50


def _set_meta(conn: sqlcipher3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _meta_list(conn: sqlcipher3.Connection, key: str) -> list[Any]:
    return list(meta.get_json(conn, key, []) or [])


def _reserve_sequence(conn: sqlcipher3.Connection, out: Path, part: Path) -> tuple[int, list[str]]:
    """Take the next sequence number and commit it *before* anything is written.

    A crash between publishing the file and recording the export then costs a gap in the
    sequence (which the coordinator sees and the monitor can explain), never a second,
    different bundle under the same number (which the coordinator refuses as a replay).
    Returns the number and what interrupted exports before this one left behind.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        notices, stale = _tidy_interrupted(conn)
        sequence = meta.next_counter(conn, _COUNTER)
        _set_meta(conn, _PENDING, json.dumps(
            [{"sequence": sequence, "path": str(out), "part": str(part)}]))
        _set_meta(conn, _STALE_PARTS, json.dumps(stale[-_MAX_STALE_PARTS:]))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return sequence, notices


def _tidy_interrupted(conn: sqlcipher3.Connection) -> tuple[list[str], list[str]]:
    """Explain the bundles of interrupted exports; remove their ``.part`` files.

    Returns the notices for the monitor and the parts still to remove later (their
    folder, a USB stick, is not there now). Only parts this store wrote are touched:
    their exact names were recorded before writing began.
    """
    notices: list[str] = []
    parts = list(_meta_list(conn, _STALE_PARTS))
    for item in _meta_list(conn, _PENDING):
        path = Path(item["path"])
        if path.is_file():
            notices.append(_(
                "an interrupted export wrote bundle %(seq)s to %(path)s without recording "
                "it: that file is a valid bundle and can be imported; its reports are "
                "sealed again into this export", seq=item["sequence"], path=path))
        else:
            notices.append(_(
                "an interrupted export never wrote bundle %(seq)s: the coordinator will see "
                "that number missing; nothing of it was lost", seq=item["sequence"]))
        if item.get("part"):
            parts.append(item["part"])
    stale: list[str] = []
    for name in parts:
        part = Path(name)
        try:
            part.unlink()
        except FileNotFoundError:
            if not part.parent.is_dir():
                stale.append(name)  # the stick is not plugged in: try next time
            continue
        except OSError:
            stale.append(name)
            continue
        fsync_dir(part.parent)
        notices.append(_("removed %(path)s, an unfinished bundle file an interrupted export "
                         "left behind", path=part))
    return notices, stale


def _give_back(conn: sqlcipher3.Connection, sequence: int) -> None:
    """Nothing was published under ``sequence``: return the number if it is still the last."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if int(meta.get(conn, _COUNTER, "0") or "0") == sequence:
            _set_meta(conn, _COUNTER, str(sequence - 1))
        pending = [p for p in _meta_list(conn, _PENDING) if p["sequence"] != sequence]
        _set_meta(conn, _PENDING, json.dumps(pending))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def export_bundle(
    store: Store,
    out: Path,
    *,
    purge: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
) -> ExportResult:
    """Seal every report not yet exported; mark them exported (or purge) only afterwards.

    ``notify`` hears at once what interrupted exports before this one left behind (also
    in ``ExportResult.notices``), so the monitor learns it even if this export fails.
    """
    progress = progress or Progress(None)
    told: list[str] = []

    def notify_all(line: str) -> None:
        told.append(line)
        if notify is not None:
            notify(line)

    cfg = store.config
    conn = store.connect()
    published = False
    sequence = 0
    try:
        key = device.key(conn)  # made at init; made (and committed) here for older stores
        recipients = keyring.recipients_of(conn)
        if not recipients:
            raise StoreError(
                _("no recipients: add a coordinator's key with 'kuager recipients add age1...'")
            )
        part = _part_name(out)
        sequence, notices = _reserve_sequence(conn, out, part)
        for notice in notices:
            notify_all(notice)
        fault_point("export-reserved")
        # Hold the write lock from the first read to the commit: an edit saved while a long
        # export runs waits, instead of being marked exported (or purged) unsent.
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            "SELECT * FROM reports WHERE exported_in IS NULL ORDER BY created_at"
        ).fetchall()
        entries = [entry for row in rows for entry in _report_entries(conn, cfg, row)]
        inbox_entries, inbox_ids = _inbox_entries(conn, cfg)
        entries += inbox_entries
        progress.start(sum(e.size for e in entries))
        bundle_meta = {
            "kind": BUNDLE_KIND,
            "store": training.mode(conn),
            "reports": len(rows),
            "inbox": len(inbox_ids),
        }
        _write_bundle(
            out,
            part,
            lambda fh: seal_bundle(
                fh, recipients, key, sequence, entries, bundle_meta, pad=padme
            ),
            progress,
        )
        published = True
        fault_point("export-published")
        _mark_exported(conn, rows, inbox_ids, sequence, key.device_id)
        files = _purge_rows(conn, rows, inbox_ids) if purge else []
        _set_meta(conn, _PENDING, "[]")
        conn.commit()
        attachments.remove_files(cfg, files)
        progress.finish()
        return ExportResult(sequence, len(rows) + len(inbox_ids), out, told)
    except BaseException:
        conn.rollback()
        if sequence and not published:
            _give_back(conn, sequence)
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
