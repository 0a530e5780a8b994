"""Export (field) and import (coordinator) of sealed bundles: the mission's core loop.

Export seals every report not yet exported, with its attachments, sealed originals,
inbox envelopes and custody records, into one bundle (``crypto.bundle``) for all the
store's recipients, signed by the device key. The bundle is written under a temporary name
in the destination folder, fsynced, read back and compared with what was written, and only
then renamed into place; only after that are reports marked exported (or purged).

Import verifies and decrypts a bundle into encrypted staging files (never plaintext on
disk), and only when the whole bundle and its signature have verified does it write every
report and attachment in one transaction. See docs/ARCHITECTURE.md for the entry layout.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3

from crypto import age
from crypto.bundle import BundleEntry, Manifest, ManifestEntry, open_bundle, seal_bundle
from crypto.errors import CryptoError

from . import attachments, custody, device, keyring, meta, reports, training
from .config import Config
from .fsutil import fsync_dir, random_name
from .messages import gettext as _
from .progress import Progress
from .spool import EncryptedSpool
from .store import Store, StoreError
from .timeutil import utc_now

BUNDLE_KIND = "kuager-field-export"
#: A report's JSON entry is read into memory on import; anything larger is hostile.
MAX_REPORT_ENTRY = 16 * 1024 * 1024
_READ = 1024 * 1024


class ImportRefused(Exception):
    """The bundle was not imported; the store is unchanged. The message says why."""


@dataclass(frozen=True)
class ExportResult:
    sequence: int
    report_count: int
    path: Path


# -- export ----------------------------------------------------------------------------

def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ):
            yield chunk


def _file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.digest()


def _json_entry(name: str, value: Any) -> BundleEntry:
    data = reports.canonical_json(value).encode()
    return BundleEntry(name, len(data), hashlib.sha256(data).digest(), lambda: iter([data]))


def _report_entries(conn: sqlcipher3.Connection, cfg: Config, row: sqlcipher3.Row) -> list[BundleEntry]:
    """The report document, then each attachment's bytes and sealed original."""
    entries: list[BundleEntry] = []
    files = []
    for att in attachments.for_report(conn, row["id"]):
        item = {k: att[k] for k in ("id", "name", "media_type", "size", "sha256", "original_size",
                                    "original_sha256", "metadata_removed")}
        item["entry"] = f"att-{att['id']}"
        entries.append(BundleEntry(
            item["entry"], att["size"], bytes.fromhex(att["sha256"]),
            lambda a=att: attachments.read_chunks(cfg, a["file_name"], a["file_key"])))
        if att["sealed_original"]:
            path = attachments.file_path(cfg, att["sealed_original"])
            item["original_entry"] = f"orig-{att['id']}.age"
            entries.append(BundleEntry(item["original_entry"], path.stat().st_size,
                                       _file_sha256(path), lambda p=path: _file_chunks(p)))
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
        entries.append(BundleEntry(f"inbox-{row['id']}.age", path.stat().st_size,
                                   _file_sha256(path), lambda p=path: _file_chunks(p)))
        ids.append(row["id"])
    return entries, ids


class _CheckedWriter:
    """Counts and checksums what goes to the file, to compare with a read-back from disk.

    CRC-32 and length, not a cryptographic hash: this catches a failing disk or USB stick
    before the originals are purged; tampering is caught by the bundle's own AEAD and
    signature at import. (SHA-256 here cost a third of the export's time.)
    """

    def __init__(self, fh: Any, progress: Progress) -> None:
        self.fh, self.progress = fh, progress
        self.crc, self.size = 0, 0

    def write(self, data: Any) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self.progress.add(len(data))
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def _read_back_matches(path: Path, writer: _CheckedWriter) -> bool:
    with open(path, "rb") as fh:
        with contextlib.suppress(AttributeError, OSError):
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # read the disk, not the cache
        crc, size = 0, 0
        while chunk := fh.read(_READ):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return (crc, size) == (writer.crc, writer.size)


def _write_bundle(out: Path, seal: Any, progress: Progress) -> None:
    """Write via ``seal(fileobj)`` to a temporary name, fsync, read back, rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{random_name()}.part"
    try:
        with open(tmp, "xb") as fh:
            writer = _CheckedWriter(fh, progress)
            seal(writer)
            fh.flush()
            os.fsync(fh.fileno())
        if not _read_back_matches(tmp, writer):
            raise StoreError(_("the bundle read back from %(path)s differs from what was written "
                               "(failing disk or USB stick?)", path=out))
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_bundle(store: Store, out: Path, *, purge: bool = False,
                  progress: Progress | None = None) -> ExportResult:
    """Seal every report not yet exported; mark them exported (or purge) only afterwards."""
    progress = progress or Progress(None)
    cfg = store.config
    conn = store.connect()
    try:
        recipients = keyring.recipients_of(conn)
        if not recipients:
            raise StoreError(_("no recipients: add a coordinator's key with "
                               "'kuager recipients add age1...'"))
        rows = conn.execute("SELECT * FROM reports WHERE exported_in IS NULL ORDER BY created_at").fetchall()
        entries = [entry for row in rows for entry in _report_entries(conn, cfg, row)]
        inbox_entries, inbox_ids = _inbox_entries(conn, cfg)
        entries += inbox_entries
        progress.start(sum(e.size for e in entries))
        sequence = meta.next_counter(conn, "export_sequence")
        bundle_meta = {"kind": BUNDLE_KIND, "store": training.mode(conn),
                       "reports": len(rows), "inbox": len(inbox_ids)}
        key = device.key(conn)
        _write_bundle(out, lambda fh: seal_bundle(fh, recipients, key, sequence, entries,
                                                  bundle_meta), progress)
        _mark_exported(conn, rows, inbox_ids, sequence, key.device_id)
        conn.commit()
        progress.finish()
        if purge:
            reports.delete(conn, cfg, [row["id"] for row in rows])
            _purge_inbox(conn, cfg, inbox_ids)
        return ExportResult(sequence, len(rows) + len(inbox_ids), out)
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _mark_exported(conn: sqlcipher3.Connection, rows: list[sqlcipher3.Row], inbox_ids: list[str],
                   sequence: int, device_id: str) -> None:
    conn.execute("INSERT INTO exports(sequence, created_at, report_count) VALUES (?,?,?)",
                 (sequence, utc_now(), len(rows) + len(inbox_ids)))
    for row in rows:
        conn.execute("UPDATE reports SET status = 'exported', exported_in = ? WHERE id = ?",
                     (sequence, row["id"]))
        custody.record(conn, row["id"], "exported", device_id, f"bundle {sequence}")
    for inbox_id in inbox_ids:
        conn.execute("UPDATE inbox SET exported_in = ? WHERE id = ?", (sequence, inbox_id))


def _purge_inbox(conn: sqlcipher3.Connection, cfg: Config, inbox_ids: list[str]) -> None:
    files = []
    for inbox_id in inbox_ids:
        row = conn.execute("SELECT file_name FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
        files.append(row[0])
        conn.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))
    conn.commit()
    attachments.remove_files(cfg, files)


# -- import ----------------------------------------------------------------------------

@dataclass
class ImportResult:
    path: Path
    device_id: str = ""
    fingerprint: str = ""
    sequence: int = 0
    new_device: bool = False
    already_imported: bool = False
    reports_added: int = 0
    reports_unchanged: int = 0
    missing: dict[str, list[int]] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        lines = []
        if self.new_device:
            lines.append(_("new device %(id)s, fingerprint %(fp)s: confirm it with the monitor",
                           id=self.device_id[:16], fp=self.fingerprint))
        if self.already_imported:
            lines.append(_("%(path)s: already imported; nothing changed", path=self.path))
        else:
            lines.append(_("%(path)s: bundle %(seq)s from device %(id)s: %(added)s reports added, "
                           "%(same)s already known", path=self.path, seq=self.sequence,
                           id=self.device_id[:16], added=self.reports_added,
                           same=self.reports_unchanged))
        for device_id, gaps in self.missing.items():
            lines.append(_("warning: missing bundles from device %(id)s: %(seqs)s",
                           id=device_id[:16], seqs=", ".join(map(str, gaps))))
        return lines


class _Staging:
    """Receives entries from ``open_bundle`` into encrypted spools, or memory for JSON."""

    def __init__(self, cfg: Config, progress: Progress) -> None:
        self.cfg, self.progress = cfg, progress
        self.json: dict[str, bytes] = {}
        self.files: dict[str, EncryptedSpool] = {}

    @contextlib.contextmanager
    def sink(self, entry: ManifestEntry) -> Iterator[Any]:
        if entry.name.endswith(".json"):
            if entry.size > MAX_REPORT_ENTRY:
                raise ImportRefused(_("a report entry is implausibly large (%(size)s bytes)",
                                      size=entry.size))
            buffer = _MemorySink(self.progress)
            yield buffer
            self.json[entry.name] = bytes(buffer.data)
        else:
            spool = EncryptedSpool(self.cfg.spool_dir)
            self.files[entry.name] = spool
            yield _SpoolSink(spool, self.progress)
            spool.seal()

    def discard(self) -> None:
        for spool in self.files.values():
            spool.close()


class _MemorySink:
    def __init__(self, progress: Progress) -> None:
        self.data = bytearray()
        self.progress = progress

    def write(self, chunk: Any) -> int:
        self.data += chunk
        self.progress.add(len(chunk))
        return len(chunk)


class _SpoolSink:
    def __init__(self, spool: EncryptedSpool, progress: Progress) -> None:
        self.spool, self.progress = spool, progress

    def write(self, chunk: Any) -> int:
        self.progress.add(len(chunk))
        return self.spool.write(chunk)


def import_bundle(store: Store, path: Path, progress: Progress | None = None) -> ImportResult:
    """Verify and import one bundle, all or nothing; raises ImportRefused with the reason."""
    progress = progress or Progress(None)
    cfg = store.config
    conn = store.connect()
    staging = _Staging(cfg, progress)
    moved: list[str] = []
    try:
        identities = keyring.identities_of(conn)
        try:
            progress.start(path.stat().st_size)
            with open(path, "rb") as fh:
                manifest = open_bundle(fh, identities, staging.sink)
        except CryptoError as exc:
            raise ImportRefused(str(exc)) from None
        except OSError as exc:
            raise ImportRefused(exc.strerror or str(exc)) from None
        result = _apply(conn, cfg, path, manifest, staging, identities, moved)
        conn.commit()
        progress.finish()
        result.missing = missing_bundles(conn)
        return result
    except BaseException:
        conn.rollback()
        attachments.remove_files(cfg, moved)
        raise
    finally:
        staging.discard()
        conn.close()


def _check_origin(conn: sqlcipher3.Connection, manifest: Manifest, digest: str) -> tuple[bool, bool]:
    """(new device?, already imported?) or ImportRefused for a conflict."""
    if manifest.meta.get("kind") != BUNDLE_KIND:
        raise ImportRefused(_("not a Kuager field export (unknown bundle kind)"))
    ours, theirs = training.mode(conn), manifest.meta.get("store")
    if ours != theirs:
        raise ImportRefused(_("this bundle comes from a %(theirs)s store and this is a %(ours)s "
                              "store: training and real reports never mix",
                              theirs=theirs, ours=ours))
    known = conn.execute("SELECT public_key FROM devices WHERE device_id = ?",
                         (manifest.device_id,)).fetchone()
    if known is not None and known[0] != manifest.device_public_key.hex():
        raise ImportRefused(_("device %(id)s is known with a different key: refusing a possible "
                              "impostor", id=manifest.device_id[:16]))
    seen = conn.execute("SELECT sha256 FROM bundles WHERE device_id = ? AND sequence = ?",
                        (manifest.device_id, manifest.sequence)).fetchone()
    if seen is not None and seen[0] != digest:
        raise ImportRefused(_("device %(id)s already sent a different bundle %(seq)s: refusing a "
                              "replayed or forged bundle", id=manifest.device_id[:16],
                              seq=manifest.sequence))
    return known is None, seen is not None


def _apply(conn: sqlcipher3.Connection, cfg: Config, path: Path, manifest: Manifest,
           staging: _Staging, identities: list[Any], moved: list[str]) -> ImportResult:
    digest = _file_sha256(path).hex()
    new_device, already = _check_origin(conn, manifest, digest)
    result = ImportResult(path, manifest.device_id, manifest.fingerprint, manifest.sequence,
                          new_device, already)
    if already:
        return result
    now = utc_now()
    if new_device:
        conn.execute("INSERT INTO devices(device_id, public_key, fingerprint, first_seen)"
                     " VALUES (?,?,?,?)", (manifest.device_id, manifest.device_public_key.hex(),
                                           manifest.fingerprint, now))
    for name, raw in staging.json.items():
        added = _import_report(conn, cfg, json.loads(raw), staging, identities, manifest, moved)
        result.reports_added += added
        result.reports_unchanged += not added
    for name, spool in staging.files.items():
        if name.startswith("inbox-"):
            result.reports_added += _import_envelope(conn, cfg, spool, identities, manifest, moved)
    conn.execute("INSERT INTO bundles(device_id, sequence, sha256, imported_at, report_count)"
                 " VALUES (?,?,?,?,?)", (manifest.device_id, manifest.sequence, digest, now,
                                         result.reports_added))
    return result


def _adopt(cfg: Config, spool: EncryptedSpool, moved: list[str]) -> attachments.StoredFile:
    name = random_name()
    cfg.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = spool.adopt(cfg.files_dir / name)
    moved.append(name)
    return attachments.StoredFile(name, key, spool.size, spool.sha256)


def _insert_revision(conn: sqlcipher3.Connection, report: dict[str, Any], body: dict[str, Any],
                     manifest: Manifest) -> bool:
    """A new revision row unless this exact content is already stored."""
    content = reports.content_hash(body)
    if conn.execute("SELECT 1 FROM reports WHERE id = ? AND content_sha256 = ?",
                    (report["id"], content)).fetchone():
        return False
    revision = (conn.execute("SELECT max(revision) FROM reports WHERE id = ?",
                             (report["id"],)).fetchone()[0] or 0) + 1
    conn.execute(
        "INSERT INTO reports(id, revision, origin, status, created_at, updated_at, title,"
        " occurred_on, region, body, content_sha256, source_device, bundle_sequence, imported_at)"
        " VALUES (?,?,?,'imported',?,?,?,?,?,?,?,?,?,?)",
        (report["id"], revision, report.get("origin", "operator"), report["created_at"],
         report["updated_at"], body.get("title", ""), body.get("occurred_on", ""),
         body.get("region", ""), reports.canonical_json(body), content, manifest.device_id,
         manifest.sequence, utc_now()))
    return True


def _import_report(conn: sqlcipher3.Connection, cfg: Config, document: dict[str, Any],
                   staging: _Staging, identities: list[Any], manifest: Manifest,
                   moved: list[str]) -> bool:
    report, body = document["report"], document["report"]["body"]
    added = _insert_revision(conn, report, body, manifest)
    if added:
        for event in document.get("custody", []):
            custody.record(conn, report["id"], event["event"], event.get("device", ""),
                           event.get("detail", ""), at=event.get("at"))
        custody.record(conn, report["id"], "imported", manifest.device_id,
                       f"bundle {manifest.sequence}")
    for item in document.get("attachments", []):
        _import_attachment(conn, cfg, report["id"], item, staging, identities, moved)
    return added


def _import_attachment(conn: sqlcipher3.Connection, cfg: Config, report_id: str,
                       item: dict[str, Any], staging: _Staging, identities: list[Any],
                       moved: list[str]) -> None:
    if conn.execute("SELECT 1 FROM attachments WHERE report_id = ? AND sha256 = ?",
                    (report_id, item["sha256"])).fetchone():
        return
    spool = staging.files.get(item["entry"])
    if spool is None:
        raise ImportRefused(_("an attachment listed in a report is missing from the bundle"))
    stored = _adopt(cfg, spool, moved)
    attachment_id = attachments.insert_row(
        conn, report_id, attachments.display_name(item["name"]), item["media_type"], stored,
        original_size=item["original_size"], original_sha256=item["original_sha256"],
        metadata_removed=bool(item["metadata_removed"]))
    sealed = staging.files.get(item.get("original_entry") or "")
    if sealed is not None:
        original = _open_sealed_original(cfg, sealed, identities, item, moved)
        conn.execute("UPDATE attachments SET original_file = ?, original_key = ? WHERE id = ?",
                     (original.file_name, original.key, attachment_id))


def _open_sealed_original(cfg: Config, sealed: EncryptedSpool, identities: list[Any],
                          item: dict[str, Any], moved: list[str]) -> attachments.StoredFile:
    sealed.seek(0)
    try:
        stored = attachments.write_encrypted(cfg, age.decrypt(sealed, identities))
    except CryptoError as exc:
        raise ImportRefused(_("a sealed original cannot be opened: %(why)s", why=exc)) from None
    moved.append(stored.file_name)
    if stored.sha256 != item["original_sha256"]:
        raise ImportRefused(_("a sealed original does not match its recorded SHA-256"))
    return stored


def _import_envelope(conn: sqlcipher3.Connection, cfg: Config, sealed: EncryptedSpool,
                     identities: list[Any], manifest: Manifest, moved: list[str]) -> int:
    from . import inbox

    sealed.seek(0)
    try:
        document, files = inbox.open_envelope(cfg, sealed, identities, moved)
    except CryptoError as exc:
        raise ImportRefused(_("a sealed public submission cannot be opened: %(why)s",
                              why=exc)) from None
    report, body = document["report"], document["report"]["body"]
    if not _insert_revision(conn, report, body, manifest):
        return 0
    custody.record(conn, report["id"], "received", "", "public form, sealed on arrival",
                   at=report["created_at"])
    custody.record(conn, report["id"], "imported", manifest.device_id, f"bundle {manifest.sequence}")
    for item, stored in files:
        attachment_id = attachments.insert_row(
            conn, report["id"], attachments.display_name(item["name"]), item["media_type"],
            stored, original_size=item["original_size"], original_sha256=item["original_sha256"],
            metadata_removed=bool(item["metadata_removed"]))
        original = item.get("_original")
        if original is not None:
            conn.execute("UPDATE attachments SET original_file = ?, original_key = ? WHERE id = ?",
                         (original.file_name, original.key, attachment_id))
    return 1


def missing_bundles(conn: sqlcipher3.Connection) -> dict[str, list[int]]:
    """For each device, the sequence numbers below its highest that never arrived."""
    gaps: dict[str, list[int]] = {}
    for device_id, top in conn.execute("SELECT device_id, max(sequence) FROM bundles GROUP BY device_id"):
        seen = {row[0] for row in conn.execute("SELECT sequence FROM bundles WHERE device_id = ?",
                                               (device_id,))}
        missing = [n for n in range(1, top + 1) if n not in seen]
        if missing:
            gaps[device_id] = missing
    return gaps
