"""Import (coordinator store): verify a bundle completely, then store it in one transaction.

``crypto.bundle.open_bundle`` hands entries on before the whole file and signature have
verified, so they go to encrypted staging (``bundle_staging``) and nothing reaches the
store unless ``open_bundle`` returns. Then the origin is checked (bundle kind, training or
real, device key continuity, replayed sequence numbers) and ``bundle_records`` writes the
reports, attachments, sealed originals and inbox envelopes. Any failure rolls back and
removes every file written on the way: the store is as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlcipher3

from app.exchange.exporter import BUNDLE_KIND
from app.exchange.progress import Progress
from app.exchange.records import ImportContext, import_envelope, import_report
from app.exchange.staging import ImportRefused, Staging
from app.messages import gettext as _
from app.messages import ngettext
from app.records import attachments
from app.store import keyring, training
from app.store.fsutil import fault_point, file_sha256
from app.store.store import Store
from crypto.bundle import Manifest, open_bundle
from crypto.errors import CryptoError

__all__ = ["ImportRefused", "ImportResult", "format_ranges", "import_bundle", "missing_bundles"]

#: A device's next bundle may skip this many sequence numbers at most (bundles lost on the
#: way); a larger jump is a hostile or broken device.
MAX_SEQUENCE_JUMP = 10_000


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
    missing: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def summary_lines(self, name: str | None = None) -> list[str]:
        """``name``: how to call the bundle (the web page: the uploaded file's name, never
        the spool file it was saved to); default: its path."""
        device = self.device_id[:16]
        shown = name or self.path
        lines = []
        if self.new_device:
            lines.append(_("new device %(id)s, fingerprint %(fp)s: confirm it with the monitor",
                           id=device, fp=self.fingerprint))
        if self.already_imported:
            lines.append(_("%(path)s: already imported; nothing changed", path=shown))
        else:
            lines.append(_("%(path)s: bundle %(seq)s from device %(id)s", path=shown,
                           seq=self.sequence, id=device) + "; " +
                         ngettext("%(num)d report added", "%(num)d reports added",
                                  self.reports_added) + "; " +
                         ngettext("%(num)d already known", "%(num)d already known",
                                  self.reports_unchanged))
        for device_id, gaps in self.missing.items():
            lines.append(_("warning: missing bundles from device %(id)s: %(seqs)s",
                           id=device_id[:16], seqs=format_ranges(gaps)))
        return lines


def import_bundle(store: Store, path: Path, progress: Progress | None = None) -> ImportResult:
    """Verify and import one bundle, all or nothing; raises ImportRefused with the reason."""
    progress = progress or Progress(None)
    conn = store.connect()
    staging = Staging(store.config, progress)
    moved: list[str] = []
    try:
        identities = keyring.identities_of(conn)
        try:
            progress.start(path.stat().st_size)
            with open(path, "rb") as fh:
                manifest = open_bundle(fh, identities, staging.sink)
        except CryptoError as exc:
            raise ImportRefused(str(exc), cause=exc) from None
        except OSError as exc:
            raise ImportRefused(exc.strerror or str(exc), cause=exc) from None
        fault_point("import-staged")
        context = ImportContext(conn, store.config, manifest, staging, identities, moved)
        try:
            result = _apply(context, path)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            # bundle_schema should have refused the document already; never a traceback.
            raise ImportRefused(_("the bundle's content is malformed (%(what)s)",
                                  what=type(exc).__name__)) from None
        fault_point("import-applied")
        conn.commit()
        progress.finish()
        result.missing = missing_bundles(conn)
        return result
    except BaseException:
        conn.rollback()
        attachments.remove_files(store.config, moved)
        raise
    finally:
        staging.discard()
        conn.close()


def _check_origin(conn: sqlcipher3.Connection, manifest: Manifest,
                  digest: str) -> tuple[bool, bool]:
    """(new device?, already imported?), or ImportRefused for a conflict."""
    if manifest.meta.get("kind") != BUNDLE_KIND:
        raise ImportRefused(_("not a Kuager field export (unknown bundle kind)"))
    if training.mode(conn) != manifest.meta.get("store"):
        raise ImportRefused(
            _("this bundle comes from a training store and this store holds real reports: "
              "training and real reports never mix") if training.mode(conn) == training.REAL
            else _("this bundle holds real reports and this is a training store: training "
                   "and real reports never mix"))
    known = conn.execute("SELECT public_key FROM devices WHERE device_id = ?",
                         (manifest.device_id,)).fetchone()
    if known is not None and known[0] != manifest.device_public_key.hex():
        raise ImportRefused(_("device %(id)s is known with a different key: refusing a "
                              "possible impostor", id=manifest.device_id[:16]))
    highest = conn.execute("SELECT max(sequence) FROM bundles WHERE device_id = ?",
                           (manifest.device_id,)).fetchone()[0] or 0
    if manifest.sequence > highest + MAX_SEQUENCE_JUMP:
        raise ImportRefused(_("bundle %(seq)s is implausibly far ahead of the last one from "
                              "this device (%(last)s)", seq=manifest.sequence, last=highest))
    seen = conn.execute("SELECT sha256 FROM bundles WHERE device_id = ? AND sequence = ?",
                        (manifest.device_id, manifest.sequence)).fetchone()
    if seen is not None and seen[0] != digest:
        raise ImportRefused(_("device %(id)s already sent a different bundle %(seq)s: "
                              "refusing a replayed or forged bundle",
                              id=manifest.device_id[:16], seq=manifest.sequence))
    return known is None, seen is not None


def _apply(context: ImportContext, path: Path) -> ImportResult:
    conn, manifest = context.conn, context.manifest
    digest = file_sha256(path).hex()
    new_device, already = _check_origin(conn, manifest, digest)
    result = ImportResult(path, manifest.device_id, manifest.fingerprint, manifest.sequence,
                          new_device, already)
    if already:
        return result
    now = context.now
    if new_device:
        conn.execute("INSERT INTO devices(device_id, public_key, fingerprint, first_seen)"
                     " VALUES (?,?,?,?)", (manifest.device_id,
                                           manifest.device_public_key.hex(),
                                           manifest.fingerprint, now))
    context.prefetch([name[len("report-"):-len(".json")] for name in context.staging.json
                      if name.startswith("report-")])
    for raw in context.staging.json.values():
        added = import_report(context, raw)
        result.reports_added += added
        result.reports_unchanged += not added
    for name, spool in context.staging.files.items():
        if name.startswith("inbox-"):
            result.reports_added += import_envelope(context, spool)
    context.flush()
    conn.execute("INSERT INTO bundles(device_id, sequence, sha256, imported_at, report_count)"
                 " VALUES (?,?,?,?,?)", (manifest.device_id, manifest.sequence, digest, now,
                                         result.reports_added))
    return result


def missing_bundles(conn: sqlcipher3.Connection) -> dict[str, list[tuple[int, int]]]:
    """For each device, the ranges of sequence numbers below its highest that never arrived.

    Computed from the sequences seen (never by counting up to the highest one), so the
    cost follows the number of bundles imported, whatever numbers a device claims.
    """
    gaps: dict[str, list[tuple[int, int]]] = {}
    devices = conn.execute("SELECT DISTINCT device_id FROM bundles").fetchall()
    for (device_id,) in devices:
        seen = [row[0] for row in conn.execute(
            "SELECT sequence FROM bundles WHERE device_id = ? ORDER BY sequence", (device_id,))]
        ranges, expected = [], 1
        for number in seen:
            if number > expected:
                ranges.append((expected, number - 1))
            expected = number + 1
        if ranges:
            gaps[device_id] = ranges
    return gaps


def format_ranges(ranges: list[tuple[int, int]]) -> str:
    """``[(2, 2), (5, 9)]`` as ``2, 5–9``."""
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)
