"""Writing a verified bundle's contents into the coordinator store (inside the caller's
transaction): new report revisions, attachments deduplicated by hash, sealed originals
and inbox envelopes opened with the coordinator's identities and re-encrypted at rest.
Every file written is recorded in ``ImportContext.moved`` so a rollback can remove it.

Rows are gathered and written with one statement per table (``ImportContext.flush``), and
what the store already holds about the bundle's reports is read once (``prefetch``): a
few statements per bundle instead of several per report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import sqlcipher3

from app.config import Config
from app.exchange import inbox, refusals
from app.exchange import schema as bundle_schema
from app.exchange.staging import ImportRefused, Staging
from app.messages import gettext as _
from app.records import attachments, reports
from app.store.fsutil import random_name
from app.store.spool import EncryptedSpool
from app.timeutil import utc_now
from crypto import age
from crypto.bundle import Manifest
from crypto.errors import CryptoError

__all__ = ["ImportContext", "ImportRefused", "import_envelope", "import_report"]


@dataclass
class _Known:
    """What the store holds about one report id: who sent it, its contents, its revision."""

    owners: set[str] = field(default_factory=set)
    contents: set[str] = field(default_factory=set)
    latest: int = 0


@dataclass
class ImportContext:
    conn: sqlcipher3.Connection
    cfg: Config
    manifest: Manifest
    staging: Staging
    identities: list[Any]
    moved: list[str]
    #: Entry names already claimed by an attachment: each may be used once.
    used_entries: set[str] = field(default_factory=set)
    now: str = field(default_factory=utc_now)
    known: dict[str, _Known] = field(default_factory=dict)
    #: (report id, sha256) of every attachment stored for the prefetched reports.
    attachments_known: set[tuple[str, str]] = field(default_factory=set)
    prefetched: set[str] = field(default_factory=set)
    #: New revision rows (``reports`` columns by name) with their parsed bodies, written
    #: by ``flush``.
    pending_reports: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    pending_custody: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    device_id: str = ""

    def __post_init__(self) -> None:
        self.device_id = self.manifest.device_id  # a SHA-256 each time it is asked for

    def record(self, report_id: str, event: str, detail: str = "", *, device: str | None = None,
               at: str | None = None, claimed: bool = False) -> None:
        """A custody event; ``claimed``: the sending device says so (its claim, not ours)."""
        self.pending_custody.append(
            (report_id, at or self.now, event,
             self.device_id if device is None else device, detail,
             self.device_id if claimed else ""))

    def prefetch(self, report_ids: list[str]) -> None:
        """Read once what the store holds about these reports and their attachments."""
        conn = self.conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_ids(id TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM import_ids")
        conn.executemany("INSERT OR IGNORE INTO import_ids(id) VALUES (?)",
                         [(i,) for i in report_ids])
        for row in conn.execute(
                "SELECT id, revision, content_sha256, source_device FROM reports"
                " WHERE id IN (SELECT id FROM import_ids)"):
            self._add_known(row[0], row[1], row[2], row[3])
        self.attachments_known.update(
            (row[0], row[1]) for row in conn.execute(
                "SELECT report_id, sha256 FROM attachments"
                " WHERE report_id IN (SELECT id FROM import_ids)"))
        conn.execute("DELETE FROM import_ids")
        self.prefetched.update(report_ids)

    def _add_known(self, report_id: str, revision: int, content: str,
                   owner: str | None) -> None:
        known = self.known.setdefault(report_id, _Known())
        known.owners.add(owner or "")
        known.contents.add(content)
        known.latest = max(known.latest, revision)

    def known_report(self, report_id: str) -> _Known | None:
        if report_id not in self.prefetched:
            self.prefetch([report_id])
        return self.known.get(report_id)

    def attachment_known(self, report_id: str, sha256: str) -> bool:
        if report_id not in self.prefetched:
            self.prefetch([report_id])
        return (report_id, sha256) in self.attachments_known

    def flush(self) -> None:
        """Write the gathered report and custody rows, and the reports' heads (the caller
        commits): one statement per table for the whole bundle."""
        rows = [row for row, _body in self.pending_reports]
        self.conn.executemany(
            "INSERT INTO reports(id, revision, origin, status, created_at, updated_at, title,"
            " occurred_on, region, body, content_sha256, source_device, bundle_sequence,"
            " imported_at) VALUES (:id, :revision, :origin, :status, :created_at,"
            " :updated_at, :title, :occurred_on, :region, :body, :content_sha256,"
            " :source_device, :bundle_sequence, :imported_at)",
            rows)
        self.conn.executemany(
            "INSERT INTO custody(report_id, at, event, device, detail, claimed_by)"
            " VALUES (?,?,?,?,?,?)",
            self.pending_custody)
        # Each pending row is its report's latest revision (``_insert_revision``).
        reports.write_heads(self.conn, self.pending_reports)
        self.pending_reports.clear()
        self.pending_custody.clear()


def _adopt(context: ImportContext, spool: EncryptedSpool) -> attachments.StoredFile:
    """Move a staged spool into ``files/`` as is: its key moves into the database."""
    name = random_name()
    context.cfg.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = spool.adopt(context.cfg.files_dir / name)
    context.moved.append(name)
    return attachments.StoredFile(name, key, spool.size, spool.sha256)


def _insert_revision(context: ImportContext, report: dict[str, Any]) -> bool:
    """A new revision row unless this exact content is already stored.

    A report belongs to the device that first sent it: another device (or a stolen one
    replaying ids it has seen) cannot put a revision on top of it.
    """
    body, device_id = report["body"], context.device_id
    known = context.known_report(report["id"])
    if known is not None and known.owners and known.owners != {device_id}:
        raise ImportRefused(_("report %(id)s belongs to another device: refusing a revision "
                              "from this one", id=report["id"][:12]))
    text = reports.canonical_json(body)
    content = hashlib.sha256(text.encode()).hexdigest()  # = reports.content_hash(body)
    if known is not None and content in known.contents:
        return False
    revision = (known.latest if known is not None else 0) + 1  # the latest, always
    context.pending_reports.append(({
        "id": report["id"], "revision": revision, "origin": report.get("origin", "operator"),
        "status": "imported", "created_at": report["created_at"],
        "updated_at": report["updated_at"], "title": body.get("title", ""),
        "occurred_on": body.get("occurred_on", ""), "region": body.get("region", ""),
        "body": text, "content_sha256": content, "source_device": device_id,
        "bundle_sequence": context.manifest.sequence, "imported_at": context.now,
    }, body))
    context._add_known(report["id"], revision, content, device_id)
    return True


def _insert_attachment(context: ImportContext, report_id: str, item: dict[str, Any],
                       stored: attachments.StoredFile,
                       original: attachments.StoredFile | None) -> None:
    attachment_id = attachments.insert_row(
        context.conn, report_id, attachments.display_name(item["name"]), item["media_type"],
        stored, original_size=item["original_size"], original_sha256=item["original_sha256"],
        metadata_removed=bool(item["metadata_removed"]))
    context.attachments_known.add((report_id, stored.sha256))
    if original is not None:
        context.conn.execute(
            "UPDATE attachments SET original_file = ?, original_key = ? WHERE id = ?",
            (original.file_name, original.key, attachment_id))


def _open_sealed_original(context: ImportContext, sealed: EncryptedSpool,
                          item: dict[str, Any]) -> attachments.StoredFile:
    sealed.seek(0)
    try:
        stored = attachments.write_encrypted(context.cfg, age.decrypt(sealed, context.identities))
    except CryptoError as exc:
        raise ImportRefused(_("a sealed original cannot be opened: %(why)s", why=exc)) from None
    context.moved.append(stored.file_name)
    if stored.sha256 != item["original_sha256"]:
        raise ImportRefused(_("a sealed original does not match its recorded SHA-256"))
    return stored


def _import_attachment(context: ImportContext, report_id: str, item: dict[str, Any]) -> None:
    if context.attachment_known(report_id, item["sha256"]):
        return
    spool = context.staging.files.get(item["entry"])
    if spool is None:
        raise ImportRefused(_("an attachment listed in a report is missing from the bundle"))
    if (spool.sha256, spool.size) != (item["sha256"], item["size"]):
        raise ImportRefused(_("an attachment does not match the size or SHA-256 its report "
                              "records"))
    stored = _adopt(context, spool)
    sealed = context.staging.files.get(item.get("original_entry") or "")
    original = _open_sealed_original(context, sealed, item) if sealed is not None else None
    _insert_attachment(context, report_id, item, stored, original)


def _check_custody(context: ImportContext, events: list[dict[str, Any]]) -> None:
    """A device speaks only for itself: every custody event it sends names it or no one."""
    for event in events:
        if event.get("device", "") not in ("", context.device_id):
            raise ImportRefused(_("a custody event in this bundle names another device: "
                                  "a device may only record what it did itself"))


def import_report(context: ImportContext, raw: bytes) -> bool:
    """One ``report-<id>.json`` entry; True if it added a revision."""
    document = bundle_schema.report_document(raw, context.used_entries)
    report = document["report"]
    _check_custody(context, document.get("custody", []))
    added = _insert_revision(context, report)
    if added:
        for event in document.get("custody", []):
            context.record(report["id"], event["event"], event.get("detail", ""),
                           device=event.get("device", ""), at=event.get("at"), claimed=True)
        context.record(report["id"], "imported", f"bundle {context.manifest.sequence}")
    for item in document.get("attachments", []):
        _import_attachment(context, report["id"], item)
    return added


def import_envelope(context: ImportContext, sealed: EncryptedSpool) -> int:
    """One ``inbox-<id>.age`` entry (a public submission sealed on arrival); 1 if added."""
    sealed.seek(0)
    try:
        document, files = inbox.open_envelope(context.cfg, sealed, context.identities,
                                              context.moved)
    except CryptoError as exc:
        raise ImportRefused(_("a sealed public submission cannot be opened: %(why)s",
                              why=refusals.crypto_reason(exc))) from None
    report = document["report"]
    if not _insert_revision(context, report):
        return 0
    context.record(report["id"], "received", "public form, sealed on arrival", device="",
                   at=report["created_at"], claimed=True)
    context.record(report["id"], "imported", f"bundle {context.manifest.sequence}")
    for item, stored, original in files:
        _insert_attachment(context, report["id"], item, stored, original)
    return 1
