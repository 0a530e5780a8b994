"""Export (field store): every report not yet exported and not a draft, sealed into signed
bundles; with nothing to seal, no bundle at all.

For each report the bundle carries ``report-<id>.json`` (the report, its attachment list
and custody record), ``att-<id>`` (the stored bytes) and ``orig-<id>.age`` (the original
image sealed to the recipients at intake); and ``inbox-<id>.age`` for each public
submission sealed on arrival. The file is written under a temporary name in the target
folder, fsynced, read back and compared, and only then renamed; only after that are
reports marked exported (or purged). An export too large for one manifest (1 MiB, 10,000
entries) becomes several bundles, each numbered and committed in turn.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import json.encoder
import os
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3

from app.config import Config
from app.exchange import inbox
from app.exchange.progress import Progress
from app.messages import gettext as _
from app.records import attachments, custody, reports
from app.store import device, keyring, meta, training
from app.store.fsutil import fault_point, file_chunks, file_sha256, fsync_dir, random_name
from app.store.store import Store, StoreError
from app.timeutil import utc_now
from crypto.bundle import MAX_ENTRIES, MAX_MANIFEST, BundleEntry, padme, seal_bundle
from crypto.device import DeviceKey
from crypto.digest import BackgroundDigest

#: The ``kind`` in every field export's manifest ``meta``.
BUNDLE_KIND = "kuager-field-export"
_READ = 1024 * 1024


@dataclass(frozen=True)
class BundleWritten:
    sequence: int
    report_count: int
    path: Path


@dataclass(frozen=True)
class ExportResult:
    #: The first bundle's number and path; ``bundles`` lists every one.
    sequence: int
    report_count: int
    path: Path
    #: What interrupted earlier exports left behind (shown once, then forgotten).
    notices: list[str] = field(default_factory=list)
    bundles: list[BundleWritten] = field(default_factory=list)
    #: Drafts left behind (not sealed; the monitor marks them ready first).
    drafts: int = 0


@dataclass
class _Item:
    """One report (or sealed inbox submission) with the bundle entries it needs."""

    entries: list[BundleEntry]
    report: sqlcipher3.Row | None = None
    inbox_id: str | None = None


_ATTACHMENT_FIELDS = ("id", "name", "media_type", "size", "sha256", "original_size",
                      "original_sha256")


def _bytes_entry(name: str, data: bytes) -> BundleEntry:
    return BundleEntry(name, len(data), hashlib.sha256(data).digest(), lambda: iter([data]))


def _file_entry(name: str, path: Path) -> BundleEntry:
    return BundleEntry(name, path.stat().st_size, file_sha256(path), lambda: file_chunks(path))


#: A JSON string as ``reports.canonical_json`` writes one (``ensure_ascii=False``).
_string = json.encoder.encode_basestring  # type: ignore[attr-defined]
#: What a bundle needs of a report row; the body as stored bytes (``_document``).
_REPORT_COLUMNS = ("id, revision, origin, created_at, updated_at,"
                   " CAST(body AS BLOB) AS body")


def _document(row: sqlcipher3.Row, files: list[dict[str, Any]],
              history: list[dict[str, Any]]) -> bytes:
    """``report-<id>.json``: canonical JSON of the report, its attachments and custody.

    The stored body is already canonical JSON (``reports.canonical_json``): its bytes are
    put in as they are, instead of being parsed and written again for every report.
    """
    head = reports.canonical_json({"attachments": files, "custody": history})
    # The report's other fields in key order, each as the canonical encoder writes it.
    report = (f',"created_at":{_string(row["created_at"])},"id":{_string(row["id"])},'
              f'"origin":{_string(row["origin"])},"revision":{int(row["revision"])},'
              f'"updated_at":{_string(row["updated_at"])}}}}}')
    return b"".join((head[:-1].encode(), b',"report":{"body":', row["body"],
                     report.encode()))


def _next_bundle(conn: sqlcipher3.Connection, cfg: Config, wanted: set[str], budget: int,
                 *, first: bool) -> list[_Item]:
    """The reports and inbox submissions not yet exported, in the order they were made, as
    many as one manifest of ``budget`` bytes holds (at least one), each with its entries.

    The first bundle of an export takes what is ready now and fills ``wanted`` with it
    (what the export sends: later reports wait for the next one); the next bundles take
    what is left of ``wanted``. One scan of the reports for the first, look-ups by id for
    the others, and a few queries for attachments and custody: never one per report.
    """
    if first:
        rows = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports"  # noqa: S608 - a constant
            " WHERE exported_in IS NULL AND status != 'draft' ORDER BY created_at").fetchall()
        inbox_rows = conn.execute(
            "SELECT * FROM inbox WHERE exported_in IS NULL ORDER BY received_at").fetchall()
        wanted.update(row["id"] for row in rows)
        wanted.update(row["id"] for row in inbox_rows)
    else:
        _temp_ids(conn, wanted)
        rows = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports"  # noqa: S608 - a constant
            " WHERE id IN (SELECT id FROM export_ids) AND exported_in IS NULL"
            " ORDER BY created_at").fetchall()
        inbox_rows = conn.execute(
            "SELECT * FROM inbox WHERE id IN (SELECT id FROM export_ids)"
            " AND exported_in IS NULL ORDER BY received_at").fetchall()
    by_report: dict[str, list[sqlcipher3.Row]] = {}
    _temp_ids(conn, [row["id"] for row in rows])
    for att in conn.execute(
            "SELECT * FROM attachments WHERE report_id IN (SELECT id FROM export_ids)"
            " ORDER BY added_at, name"):
        by_report.setdefault(att["report_id"], []).append(att)
    chosen: list[sqlcipher3.Row] = []
    inbox: list[_Item] = []
    used = [0, 0]  # manifest bytes, entries

    def room(entries: int) -> bool:
        # Per entry about 96 bytes of JSON besides its name (up to 48) and size (13 digits).
        used[0] += entries * (96 + 48 + 13)
        used[1] += entries
        # One entry stays free for the padding; the first item always goes.
        return not (chosen or inbox) or (used[0] <= budget and used[1] <= MAX_ENTRIES - 1)

    full = False
    for row in rows:
        atts = by_report.get(row["id"], [])
        if not room(1 + len(atts) + sum(1 for a in atts if a["sealed_original"])):
            full = True
            break
        chosen.append(row)
    if not full:
        for row in inbox_rows:
            if not room(1):
                break
            path = attachments.file_path(cfg, row["file_name"])
            inbox.append(_Item([_file_entry(f"inbox-{row['id']}.age", path)],
                               inbox_id=row["id"]))
    del rows, inbox_rows  # only what this bundle takes stays in memory
    history: dict[str, list[dict[str, Any]]] = {}
    _temp_ids(conn, [row["id"] for row in chosen])
    events = conn.cursor()
    events.row_factory = None  # plain tuples: 20,000 events for 10,000 reports
    for report_id, at, event, device_id, detail in events.execute(
            "SELECT report_id, at, event, device, detail FROM custody"
            " WHERE report_id IN (SELECT id FROM export_ids) ORDER BY seq"):
        history.setdefault(report_id, []).append(
            {"at": at, "event": event, "device": device_id, "detail": detail})
    items = []
    for row in chosen:
        entries: list[BundleEntry] = []
        files = []
        for att in by_report.get(row["id"], []):
            item = {k: att[k] for k in _ATTACHMENT_FIELDS}
            item["metadata_removed"] = bool(att["metadata_removed"])
            item["entry"] = f"att-{att['id']}"
            entries.append(BundleEntry(
                item["entry"], att["size"], bytes.fromhex(att["sha256"]),
                lambda a=att: attachments.read_chunks(cfg, a["file_name"], a["file_key"])))
            if att["sealed_original"]:
                item["original_entry"] = f"orig-{att['id']}.age"
                entries.append(_file_entry(item["original_entry"],
                                           attachments.file_path(cfg, att["sealed_original"])))
            files.append(item)
        document = _bytes_entry(f"report-{row['id']}.json",
                                _document(row, files, history.get(row["id"], [])))
        items.append(_Item([document, *entries], report=row))
    return items + inbox


def _temp_ids(conn: sqlcipher3.Connection, ids: Iterable[str]) -> None:
    """Fill the in-memory table ``export_ids`` (temp_store is MEMORY) with ``ids``."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS export_ids(id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM export_ids")
    conn.executemany("INSERT INTO export_ids(id) VALUES (?)", [(i,) for i in ids])


def _manifest_budget(recipients: list[Any], meta_size: int) -> int:
    """Manifest bytes left for entries once the fixed fields are in (with a margin)."""
    fixed = 1024 + sum(len(str(r)) + 3 for r in recipients) + meta_size
    return MAX_MANIFEST - fixed - 512  # the padding entry's line, and room to spare


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


def numbered_names(out: Path) -> Callable[[int], Path]:
    """``FILE`` for the first bundle, then ``FILE-2``, ``FILE-3``… (before the suffix)."""
    return lambda n: out if n == 1 else out.with_name(f"{out.stem}-{n}{out.suffix}")


def export_bundle(
    store: Store,
    out: Path,
    *,
    purge: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    names: Callable[[int], Path] | None = None,
) -> ExportResult:
    """Seal every report not yet exported that is not a draft; mark them exported (or purge)
    only afterwards. Nothing to seal (no report, no inbox envelope) raises StoreError and
    writes nothing, so no sequence number is spent on an empty bundle.

    Bundle *n* of the export goes to ``names(n)`` (default ``numbered_names(out)``: one
    bundle fits up to about 7,000 reports). Each bundle is reserved, written and then
    committed on its own: an error in a later one leaves the earlier ones exported.
    ``notify`` hears at once what interrupted exports before this one left behind (also
    in ``ExportResult.notices``), so the monitor learns it even if this export fails.
    """
    progress = progress or Progress(None)
    names = names or numbered_names(out)
    told: list[str] = []

    def notify_all(line: str) -> None:
        told.append(line)
        if notify is not None:
            notify(line)

    cfg = store.config
    conn = store.connect()
    written: list[BundleWritten] = []
    try:
        # Submissions sealed while the store was locked (inbox mode) go out with this export.
        inbox.ingest_drops(conn, cfg)
        key = device.key(conn)  # made at init; made (and committed) here for older stores
        recipients = keyring.recipients_of(conn)
        if not recipients:
            raise StoreError(
                _("no recipients: add a coordinator's key with 'kuager recipients add age1...'")
            )
        drafts = _drafts(conn)
        if not _anything_ready(conn):
            raise _nothing_to_export(drafts)
        # What this export sends: what is ready when its first bundle is read (filled
        # there, in the same scan); later reports wait for the next export.
        wanted: set[str] = set()
        while True:
            part = _export_one(conn, cfg, key=key, recipients=recipients,
                               out=names(len(written) + 1), wanted=wanted, purge=purge,
                               progress=progress, notify=notify_all, first=not written)
            if part is None:
                break
            written.append(part)
            if not wanted:
                break
        progress.finish()
    except StoreError as exc:
        conn.rollback()
        if written:
            raise StoreError(_(
                "%(num)d reports were sealed into %(paths)s; the rest were not: %(why)s",
                num=sum(b.report_count for b in written),
                paths=", ".join(str(b.path) for b in written), why=exc)) from None
        raise
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    first = written[0]
    return ExportResult(first.sequence, sum(b.report_count for b in written), first.path, told,
                        written, drafts)


def _export_one(
    conn: sqlcipher3.Connection,
    cfg: Config,
    *,
    key: DeviceKey,
    recipients: list[Any],
    out: Path,
    wanted: set[str],
    purge: bool,
    progress: Progress,
    notify: Callable[[str], None],
    first: bool,
) -> BundleWritten | None:
    """Reserve a number, seal the next bundle's worth of ``wanted``, commit; None if none."""
    part = _part_name(out)
    sequence, notices = _reserve_sequence(conn, out, part)
    for notice in notices:
        notify(notice)
    fault_point("export-reserved")
    published = False
    try:
        # Hold the write lock from the first read to the commit: an edit saved while a long
        # export runs waits, instead of being marked exported (or purged) unsent.
        conn.execute("BEGIN IMMEDIATE")
        mode = training.mode(conn)
        items = _next_bundle(conn, cfg, wanted, _manifest_budget(recipients, 200 + len(mode)),
                             first=first)
        if not items:  # another export took them meanwhile, or the rest was deleted
            if first:
                raise _nothing_to_export(_drafts(conn))  # the number goes back (below)
            conn.rollback()
            _give_back(conn, sequence)
            wanted.clear()
            return None
        rows = [i.report for i in items if i.report is not None]
        inbox_ids = [i.inbox_id for i in items if i.inbox_id is not None]
        entries = [e for i in items for e in i.entries]
        progress.start(progress.bytes_done + sum(e.size for e in entries))
        bundle_meta = {"kind": BUNDLE_KIND, "store": mode, "reports": len(rows),
                       "inbox": len(inbox_ids)}
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
        wanted.difference_update([r["id"] for r in rows], inbox_ids)
        progress.add(reports=len(rows) + len(inbox_ids))
        return BundleWritten(sequence, len(rows) + len(inbox_ids), out)
    except BaseException:
        conn.rollback()
        if not published:
            _give_back(conn, sequence)
        raise


def _anything_ready(conn: sqlcipher3.Connection) -> bool:
    """Is any report or inbox envelope waiting (stops at the first found)?"""
    return bool(conn.execute(
        "SELECT EXISTS(SELECT 1 FROM reports WHERE exported_in IS NULL AND status != 'draft')"
        " OR EXISTS(SELECT 1 FROM inbox WHERE exported_in IS NULL)").fetchone()[0])


def _drafts(conn: sqlcipher3.Connection) -> int:
    return conn.execute(
        "SELECT count(*) FROM reports WHERE exported_in IS NULL AND status = 'draft'"
    ).fetchone()[0]


def _nothing_to_export(drafts: int) -> StoreError:
    return StoreError(_("nothing to export: no report is ready to send (drafts: %(n)d)",
                        n=drafts))


def _mark_exported(
    conn: sqlcipher3.Connection,
    rows: list[sqlcipher3.Row],
    inbox_ids: list[str],
    sequence: int,
    device_id: str,
) -> None:
    now = utc_now()
    conn.execute(
        "INSERT INTO exports(sequence, created_at, report_count) VALUES (?,?,?)",
        (sequence, now, len(rows) + len(inbox_ids)),
    )
    # One UPDATE over an in-memory list of ids: half the time of one UPDATE per report.
    _temp_ids(conn, [row["id"] for row in rows])
    conn.execute(
        "UPDATE reports SET status = 'exported', exported_in = ?"
        " WHERE id IN (SELECT id FROM export_ids)",
        (sequence,),
    )
    conn.execute(  # the list pages read the status from the heads (one statement too)
        "UPDATE report_heads SET status = 'exported' WHERE report_id IN (SELECT id FROM export_ids)"
    )
    conn.execute("DELETE FROM export_ids")
    custody.record_many(conn, [(row["id"], "exported") for row in rows], device=device_id,
                        detail=f"bundle {sequence}", at=now)
    conn.executemany("UPDATE inbox SET exported_in = ? WHERE id = ?",
                     [(sequence, inbox_id) for inbox_id in inbox_ids])


def _purge_rows(conn: sqlcipher3.Connection, rows: list[sqlcipher3.Row],
                inbox_ids: list[str]) -> list[str | None]:
    """Delete what was exported, in the export's transaction; returns the files to remove."""
    files = reports.delete_rows(conn, [row["id"] for row in rows])
    for inbox_id in inbox_ids:
        row = conn.execute("SELECT file_name FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
        files.append(row[0])
        conn.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))
    return files
