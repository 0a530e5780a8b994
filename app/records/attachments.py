"""Attachments: encrypted at rest under a key per file, image metadata removed at intake.

On disk an attachment is ``files/<random hex>``: ``crypto.blob`` ciphertext. Its name
as the person gave it (any script), its media type, size and SHA-256, and the file's key
live in the encrypted database. Photos carry GPS positions, camera serial numbers and
owner names in EXIF/XMP/IPTC: JPEG, PNG and WebP images are rebuilt from their pixels
alone before they are stored. Office documents, PDFs, audio and video lose their author
names, GPS tags and device names (``scrub``). Other formats keep whatever metadata they
carry; the form says so.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlcipher3
from flask import current_app, has_app_context
from werkzeug.datastructures import FileStorage

from app.config import Config
from app.records import scrub
from app.store import fulltext
from app.store.fsutil import fsync_dir, random_name
from app.store.spool import EncryptedSpool
from app.timeutil import utc_now
from crypto import age
from crypto.blob import BlobWriter, iter_blob, new_file_key
from crypto.keys import Recipient

#: Images up to this size are cleaned in memory; larger ones are stored unchanged and flagged.
CLEAN_MAX_BYTES = 128 * 1024 * 1024
#: Nor is a picture decoded past this many pixels (a few KB of PNG can claim gigabytes),
#: judged from its header before any pixel is decoded; the worker holds at most three
#: copies of 4 bytes a pixel. Apps may lower it per side (``KUAGER_CLEAN_MAX_PIXELS``;
#: 24 Mpixel on the public site, which takes files from strangers).
CLEAN_MAX_PIXELS = 120_000_000
#: Decodes at a time, whichever site asks: a few uploads at once must not add up.
CLEAN_CONCURRENCY = 1
_DECODES = threading.BoundedSemaphore(CLEAN_CONCURRENCY)
#: A worker that takes longer is killed (and the image kept unchanged, flagged).
WORKER_SECONDS = 120
_WORKER = Path(__file__).with_name("image_worker.py")
#: What the last worker reported: ``peak_rss`` in bytes (POSIX), for tests and bench.
worker_stats: dict[str, int | None] = {"peak_rss": None}


def _pixel_limit() -> int:
    if has_app_context():
        return int(current_app.config.get("KUAGER_CLEAN_MAX_PIXELS", CLEAN_MAX_PIXELS))
    return CLEAN_MAX_PIXELS

#: Extensions of files that run code or script when opened (finding 12). Downloading one
#: takes a warning page first; the name is never changed nor an extension guessed.
ACTIVE_EXTENSIONS = frozenset({
    "html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl",
    "xslt", "hta", "js", "mjs", "jse", "vbs", "vbe", "wsf", "wsh", "ws", "exe", "com",
    "scr", "pif", "bat", "cmd", "ps1", "psm1", "psd1", "msi", "msp", "mst", "msc", "cpl",
    "dll", "sys", "ocx", "jar", "class", "lnk", "url", "website", "reg", "inf", "scf",
    "library-ms", "settingcontent-ms", "application", "appref-ms", "gadget", "chm", "docm",
    "dotm", "xlsm", "xltm", "xlam", "xll", "pptm", "potm", "ppam", "ppsm", "sldm", "one",
    "iso", "img", "vhd", "vhdx", "apk", "dmg", "pkg", "app", "sh", "bash", "zsh", "command",
    "desktop", "run", "appimage", "deb", "rpm", "py", "pyw", "pl", "rb", "php", "swf",
})
ACTIVE_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml",
                                "application/javascript", "text/javascript",
                                "application/x-msdownload", "application/hta"})


def is_active(name: str, media_type: str | None = None) -> bool:
    """True for a file that can run something when opened: by extension or media type."""
    suffix = name.strip(" .").rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix in ACTIVE_EXTENSIONS or (media_type or "").lower() in ACTIVE_MEDIA_TYPES


_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 92, "optimize": True},
    "PNG": {"optimize": False},
    "WEBP": {"quality": 90},
}


@dataclass(frozen=True)
class StoredFile:
    file_name: str
    key: bytes
    size: int
    sha256: str


def display_name(raw: str | None) -> str:
    """The name people read: NFC, any script kept; path parts and control characters dropped.

    Werkzeug's ``secure_filename`` would turn ``Фото_митинга.jpg`` into ``jpg``.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "attachment"


def sniff_image(head: bytes) -> str | None:
    """The Pillow format name of a JPEG, PNG or WebP file, judged by its bytes, not its name."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def clean_image(data: bytes, fmt: str) -> bytes:
    """Rebuild the image from its pixels (no EXIF, XMP, IPTC, comments or thumbnails).

    Done by ``image_worker`` in a process of its own under an address-space limit, one
    image at a time (``_DECODES``), after the header's width × height × bands passed the
    limits: a crafted image costs the worker its memory, never the server. Raises
    ``ValueError`` when the image is refused or cannot be cleaned.
    """
    max_pixels = _pixel_limit()
    max_bytes = max_pixels * 4
    with _DECODES:
        output, status = run_worker(data, fmt, max_pixels, max_bytes)
    if status != 0 or not output:
        raise ValueError("the image was not cleaned (too large, damaged or not an image)")
    return output


def worker_command(name: str, script: Path) -> list[str]:
    """How to start a cleaning worker: our interpreter in isolated mode on its script, or,
    in the frozen USB kit (where ``sys.executable`` is the kuager program itself), the
    program with ``--kuager-worker NAME`` (deploy/usb/kuager_entry.py dispatches it)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--kuager-worker", name]
    return [sys.executable, "-I", str(script)]


def run_worker(data: bytes, fmt: str, max_pixels: int,
               max_bytes: int) -> tuple[bytes, int]:
    """Run ``image_worker``: (its output, its exit status). The worker's peak RSS, as it
    reports it (POSIX), is kept in ``worker_stats``."""
    argv = [*worker_command("image", _WORKER), fmt, str(max_pixels), str(max_bytes)]
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and script, no shell)
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        output, report = proc.communicate(data, timeout=WORKER_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return b"", -9
    worker_stats["peak_rss"] = _reported_peak(report)
    return output, proc.returncode


def _reported_peak(report: bytes) -> int | None:
    for line in report.decode("ascii", "replace").splitlines():
        if line.startswith("peak_rss="):
            return int(line.split("=", 1)[1])
    return None


def write_encrypted(cfg: Config, chunks: Iterable[bytes]) -> StoredFile:
    """Seal a byte stream into ``files/`` under a new key, hashing the plaintext on the way."""
    cfg.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    file_name, key = random_name(), new_file_key()
    digest, size = hashlib.sha256(), 0
    path = cfg.files_dir / file_name
    try:
        with open(path, "xb") as fh, BlobWriter(fh, key) as writer:
            for chunk in chunks:
                writer.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredFile(file_name, key, size, digest.hexdigest())


def read_chunks(cfg: Config, file_name: str, key: bytes) -> Iterator[bytes]:
    """Authenticated plaintext of a stored file, chunk by chunk (64 KiB at a time)."""
    with open(cfg.files_dir / file_name, "rb") as fh:
        yield from iter_blob(fh, key)


def _stored_from_spool(cfg: Config, spool: EncryptedSpool) -> tuple[StoredFile, bool, str | None]:
    """Keep the upload: adopt the spool as is, or store a cleaned copy of an image."""
    spool.seek(0)
    head = spool.read(32)
    fmt = sniff_image(head)
    if fmt is not None and spool.size <= CLEAN_MAX_BYTES:
        original = head + spool.read()
        try:
            return write_encrypted(cfg, [clean_image(original, fmt)]), True, fmt
        except ValueError:
            pass  # not a valid image after all: kept unchanged, flagged as not cleaned
    elif scrub.sniff(head) and spool.size <= scrub.CLEAN_MAX_BYTES:
        cleaned = scrub.clean(head + spool.read(), None)  # documents, PDF, audio, video
        if cleaned is not None:
            return write_encrypted(cfg, [cleaned]), True, None
    cfg.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    file_name = random_name()
    key = spool.adopt(cfg.files_dir / file_name)
    fsync_dir(cfg.files_dir)
    return StoredFile(file_name, key, spool.size, spool.sha256), False, fmt


def add_upload(
    conn: sqlcipher3.Connection, cfg: Config, report_id: str, upload: FileStorage
) -> str:
    """Store one uploaded file for a report (the caller commits)."""
    from app.store import keyring

    prepared = prepare_upload(cfg, upload, lambda: keyring.recipients_of(conn))
    try:
        return record_upload(conn, report_id, prepared)
    except BaseException:
        remove_files(cfg, prepared.files)  # the caller's rollback drops the rows
        raise


@dataclass(frozen=True)
class PreparedUpload:
    """An upload's files, written to ``files/``, before any row names them."""

    name: str
    media_type: str
    stored: StoredFile
    original_size: int
    original_sha256: str
    cleaned: bool
    sealed: str | None

    @property
    def files(self) -> list[str | None]:
        return [self.stored.file_name, self.sealed]


def prepare_upload(cfg: Config, upload: FileStorage,
                   recipients: Callable[[], list[Recipient]]) -> PreparedUpload:
    """Clean, encrypt and (for a cleaned file) seal the original: all the work on the
    file's bytes, which needs no database connection. ``recipients`` is asked only when
    an original is to be sealed. On an error nothing of it stays in ``files/``."""
    spool = upload.stream
    if not isinstance(spool, EncryptedSpool):
        raise TypeError("uploads must arrive through KuagerRequest's encrypted spool")
    stored, cleaned, fmt = _stored_from_spool(cfg, spool)
    media_type = _FORMATS[fmt] if fmt else (upload.mimetype or "application/octet-stream")
    try:
        sealed = seal_original(cfg, spool, recipients()) if cleaned else None
    except BaseException:
        remove_files(cfg, [stored.file_name])
        raise
    return PreparedUpload(display_name(upload.filename), media_type, stored, spool.size,
                          spool.sha256, cleaned, sealed)


def record_upload(conn: sqlcipher3.Connection, report_id: str, prepared: PreparedUpload) -> str:
    """The attachment's row for a prepared upload (the caller commits)."""
    attachment_id = insert_row(conn, report_id, prepared.name, prepared.media_type,
                               prepared.stored, original_size=prepared.original_size,
                               original_sha256=prepared.original_sha256,
                               metadata_removed=prepared.cleaned)
    if prepared.sealed is not None:
        conn.execute("UPDATE attachments SET sealed_original = ? WHERE id = ?",
                     (prepared.sealed, attachment_id))
    return attachment_id


def seal_original(cfg: Config, spool: EncryptedSpool, recipients: list[Recipient]) -> str | None:
    """Keep the file as uploaded, metadata and all, sealed so only coordinators can open it.

    Evidence for the coordinators (the GPS position may prove where a photo was taken);
    unreadable on this device, so a seizure of the laptop does not reveal it. Without
    recipients there is no one to seal to, and only the cleaned copy is kept.
    """
    if not recipients:
        return None
    file_name = f"{random_name()}"
    path = cfg.files_dir / file_name
    spool.seek(0)
    try:
        with open(path, "xb") as fh, age.encrypt(fh, recipients) as writer:
            while chunk := spool.read(1024 * 1024):
                writer.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return file_name


def insert_row(
    conn: sqlcipher3.Connection,
    report_id: str,
    name: str,
    media_type: str,
    stored: StoredFile,
    *,
    original_size: int,
    original_sha256: str,
    metadata_removed: bool,
    attachment_id: str | None = None,
) -> str:
    attachment_id = attachment_id or uuid.uuid4().hex
    conn.execute(
        "INSERT INTO attachments(id, report_id, name, media_type, size, sha256, original_size,"
        " original_sha256, metadata_removed, file_name, file_key, added_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            attachment_id,
            report_id,
            name,
            media_type,
            stored.size,
            stored.sha256,
            original_size,
            original_sha256,
            int(metadata_removed),
            stored.file_name,
            stored.key,
            utc_now(),
        ),
    )
    fulltext.reindex(conn, report_id)  # attachment names are searched too
    return attachment_id


def for_report(conn: sqlcipher3.Connection, report_id: str) -> list[sqlcipher3.Row]:
    return conn.execute(
        "SELECT * FROM attachments WHERE report_id = ? ORDER BY added_at, name", (report_id,)
    ).fetchall()


def remove_files(cfg: Config, file_names: Iterable[str | None]) -> None:
    """Delete files whose rows are already gone (after the commit, so nothing is lost)."""
    for name in file_names:
        if name:
            (cfg.files_dir / name).unlink(missing_ok=True)
    fsync_dir(cfg.files_dir)


def file_path(cfg: Config, file_name: str) -> Path:
    return cfg.files_dir / file_name
