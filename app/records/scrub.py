"""Metadata removal for documents, PDFs, audio and video, in memory, in a worker process.

Images are rebuilt from their pixels (``attachments.clean_image``). Everything else that
this module knows is cleaned here, recognised by its bytes (never its name):

- **OOXML** (DOCX, XLSX, PPTX) and **ODF** (ODT, ODS, ODP): the ZIP is rewritten in
  memory (``zipfile``), part by part in the original order and compression; the property
  parts (``docProps/core.xml``, ``docProps/app.xml``, ODF ``meta.xml``: creator, last
  editor, company, manager, template, editing time, dates) are replaced by empty ones;
  ``docProps/custom.xml``, ``customXml/`` and ``word/people.xml`` are dropped along with
  their relationships and content types; comment authors and initials are blanked. Entry
  timestamps and extra fields (Unix owner ids) are not copied. Document content parts are
  copied byte for byte.
- **PDF** (pikepdf, qpdf): the ``/Info`` dictionary (author, creator, producer, title,
  dates), every ``/Metadata`` XMP stream (catalog, pages, images) and ``/PieceInfo`` are
  removed, and a new ``/ID`` derived from the content replaces the one that tied the file
  to its source. Streams are copied as they are (not decoded: no decompression bomb).
- **Audio and video** (MP3, M4A/MP4/MOV/3GP, Ogg, WebM/Matroska, WAV, FLAC): ffmpeg
  copies the streams (``-c copy``, no re-encoding) without global, stream or chapter
  metadata (``-map_metadata -1 -map_chapters -1``, ``+bitexact``: no encoder tag). Input
  and output are anonymous in-memory files (``memfd_create``, Linux): seekable, so an
  MP4 whose index comes last (as phones write them) is read and written normally, and no
  file name on any disk. Where there is no ``memfd_create`` (Windows, macOS) or no ffmpeg,
  media are kept unchanged and flagged "metadata kept".

Why not mat2 (Debian's, as Tails ships it): its library is not importable from the
virtualenv (system Python only), and the command works on file names, so the decrypted
upload would have to be written somewhere; pikepdf, zipfile and ffmpeg over ``memfd``
never need a path.

The work runs in ``python -I scrub.py KIND`` (this file), one file at a time, under an
address-space limit and a time limit: a crafted file costs the worker, never the server.
The worker imports nothing of Kuager. ``clean`` returns ``None`` for a format it does not
handle, a file over ``CLEAN_MAX_BYTES`` or one it could not clean: the caller then keeps
the upload unchanged and flagged.

Not removed (the form says to check before attaching): tracked-change authors inside the
text of a Word document, ODF annotation authors and printer settings, photos embedded in
documents and PDFs (their own EXIF), and anything the content itself says.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

#: Files up to this size are cleaned in memory; larger ones are kept unchanged, flagged.
CLEAN_MAX_BYTES = 128 * 1024 * 1024
#: The worker may expand a ZIP to at most this many bytes in all (a ZIP bomb stops here).
ZIP_MAX_EXPANDED = 1024 * 1024 * 1024
#: The worker, its libraries (qpdf; ffmpeg as its child) and a few copies of the file.
BASE_ADDRESS_SPACE = 1024 * 1024 * 1024
FILE_COPIES = 6
WORKER_SECONDS = 120
EXIT_NOT_HANDLED = 3
_CLEANS = threading.BoundedSemaphore(1)
_WORKER = Path(__file__)

# -- sniffing (parent side) ------------------------------------------------------------


_PREFIXES = ((b"PK\x03\x04", "zip"), (b"%PDF-", "pdf"), (b"ID3", "mp3"), (b"OggS", "ogg"),
             (b"fLaC", "flac"))
_MP3_SYNC = (0xFB, 0xFA, 0xF3, 0xF2, 0xE3, 0xE2)


def sniff(head: bytes) -> str | None:
    """The kind of file by its first bytes (32 are enough), or None if not one we clean."""
    kind = next((k for prefix, k in _PREFIXES if head.startswith(prefix)), None)
    if kind is None and len(head) > 1 and head[0] == 0xFF and head[1] in _MP3_SYNC:
        kind = "mp3"
    elif kind is None and head[4:8] == b"ftyp":
        brand = head[8:12]
        kind = "mov" if brand == b"qt  " else "3gp" if brand.startswith(b"3g") else "mp4"
    elif kind is None and head.startswith(b"\x1a\x45\xdf\xa3"):
        kind = "webm" if b"webm" in head else "matroska"
    elif kind is None and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        kind = "wav"
    return kind


#: ffmpeg demuxer and muxer for each media kind.
_MEDIA = {
    "mp3": ("mp3", "mp3"), "mp4": ("mov", "mp4"), "mov": ("mov", "mov"),
    "3gp": ("mov", "3gp"), "ogg": ("ogg", "ogg"), "webm": ("matroska", "webm"),
    "matroska": ("matroska", "matroska"), "wav": ("wav", "wav"), "flac": ("flac", "flac"),
}


def media_supported() -> bool:
    """ffmpeg is installed and in-memory files exist (Linux): media can be cleaned."""
    return hasattr(os, "memfd_create") and shutil.which("ffmpeg") is not None


def clean(data: bytes, media_type_hint: str | None = None) -> bytes | None:
    """The file without its metadata, or None: a format not handled, too large, or a file
    that could not be cleaned (damaged, encrypted, refused by the worker's limits).

    ``media_type_hint`` (what the browser said) is never trusted for the format; it is
    accepted so that callers can pass it and a later format can use it to choose.
    """
    del media_type_hint
    kind = sniff(data[:32])
    if kind is None or len(data) > CLEAN_MAX_BYTES:
        return None
    if kind in _MEDIA and not media_supported():
        return None
    from app.records.attachments import worker_command

    argv = [*worker_command("scrub", _WORKER), kind, str(len(data))]
    with _CLEANS:
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and script, no shell)
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            output, _ = proc.communicate(data, timeout=WORKER_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
    if proc.returncode != 0 or not output:
        return None
    return output


# -- the worker: OOXML and ODF ---------------------------------------------------------

_EPOCH = (1980, 1, 1, 0, 0, 0)
_CORE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
         b'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
         b'xmlns:dcterms="http://purl.org/dc/terms/" '
         b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>')
_APP = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/docPropsVTypes"/>')
_ODF_META = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
             b'office:1.0" office:version="1.2"><office:meta/></office:document-meta>')
_REPLACED_OOXML = {"docProps/core.xml": _CORE, "docProps/app.xml": _APP}
_DROPPED_OOXML = re.compile(r"^(docProps/custom\.xml|customXml/.*|word/people\.xml)$")
#: Comment parts whose author names are blanked, and the patterns that carry them.
_AUTHOR_PARTS = {
    re.compile(r"^word/comments[A-Za-z]*\.xml$"): re.compile(rb'\b(w:author|w:initials)="[^"]*"'),
    re.compile(r"^ppt/commentAuthors\.xml$"): re.compile(rb'\b(name|initials)="[^"]*"'),
    re.compile(r"^xl/persons/[^/]*\.xml$"): re.compile(rb'\b(displayName|userId)="[^"]*"'),
}
_AUTHOR_ELEMENTS = re.compile(rb"<author>[^<]*</author>")  # xl/commentsN.xml
_XL_COMMENTS = re.compile(r"^xl/comments\d*\.xml$")
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*?/>")
_OVERRIDE = re.compile(rb"<Override\b[^>]*?/>")
_PART_LIMIT = 64 * 1024 * 1024


class _NotHandled(Exception):
    """Not a format this worker cleans (exit ``EXIT_NOT_HANDLED``)."""


def _resolve(rels_name: str, target: str) -> str:
    """The part a relationship in ``rels_name`` points to (OPC: relative to its source)."""
    if target.startswith("/"):
        return target.lstrip("/")
    source_dir = rels_name.rsplit("_rels/", 1)[0]
    parts: list[str] = [p for p in source_dir.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _without(xml: bytes, pattern: re.Pattern[bytes], attr: bytes,
             dropped: set[str], rels_name: str | None) -> bytes:
    def keep(match: re.Match[bytes]) -> bytes:
        found = re.search(attr + rb'="([^"]*)"', match.group(0))
        if found is None:
            return match.group(0)
        if rels_name is not None and b'TargetMode="External"' in match.group(0):
            return match.group(0)
        value = found.group(1).decode("utf-8", "replace")
        name = _resolve(rels_name, value) if rels_name is not None else value.lstrip("/")
        return b"" if name in dropped else match.group(0)
    return pattern.sub(keep, xml)


def clean_zip(data: bytes) -> bytes:
    """Rewrite an OOXML or ODF package without its metadata (see the module docstring)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        names = {i.filename for i in infos}
        if "[Content_Types].xml" in names:
            replaced, dropped_re = _REPLACED_OOXML, _DROPPED_OOXML
        elif infos and infos[0].filename == "mimetype" and zin.read("mimetype").startswith(
                b"application/vnd.oasis.opendocument."):
            replaced, dropped_re = {"meta.xml": _ODF_META}, None
        else:
            raise _NotHandled
        if sum(i.file_size for i in infos) > ZIP_MAX_EXPANDED:
            raise ValueError("the document expands past the limit")
        dropped = {n for n in names if dropped_re is not None and dropped_re.match(n)}
        out = io.BytesIO()
        expanded = 0
        with zipfile.ZipFile(out, "w") as zout:
            for info in infos:
                name = info.filename
                if name in dropped:
                    continue
                new = zipfile.ZipInfo(name, date_time=_EPOCH)
                new.compress_type = info.compress_type
                new.external_attr = 0o600 << 16 if not info.is_dir() else info.external_attr
                edited = _edited_part(zin, info, replaced, dropped)
                if edited is not None:
                    zout.writestr(new, edited)
                    continue
                with zin.open(info) as src, zout.open(new, "w") as dst:
                    while chunk := src.read(1024 * 1024):
                        expanded += len(chunk)
                        if expanded > ZIP_MAX_EXPANDED:
                            raise ValueError("the document expands past the limit")
                        dst.write(chunk)
    return out.getvalue()


def _edited_part(zin: zipfile.ZipFile, info: zipfile.ZipInfo, replaced: dict[str, bytes],
                 dropped: set[str]) -> bytes | None:
    """New bytes for a part we change, or None to copy it as it is."""
    name = info.filename
    if name in replaced:
        return replaced[name]
    edits_rels = name.endswith(".rels") and bool(dropped)
    authors = next((attrs for part, attrs in _AUTHOR_PARTS.items() if part.match(name)), None)
    xl_comments = _XL_COMMENTS.match(name) is not None
    if not (edits_rels or (name == "[Content_Types].xml" and dropped) or authors
            or xl_comments):
        return None
    if info.file_size > _PART_LIMIT:
        raise ValueError("a package part is too large to edit")
    xml = zin.read(info)
    if name == "[Content_Types].xml":
        return _without(xml, _OVERRIDE, b"PartName", dropped, None)
    if edits_rels:
        return _without(xml, _RELATIONSHIP, b"Target", dropped, name)
    if authors is not None:
        return authors.sub(lambda m: m.group(1) + b'=""', xml)
    return _AUTHOR_ELEMENTS.sub(b"<author></author>", xml)


# -- the worker: PDF -------------------------------------------------------------------


def clean_pdf(data: bytes) -> bytes:
    """The PDF without document information, XMP streams and PieceInfo (pikepdf)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        for obj in pdf.objects:
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                for key in ("/Metadata", "/PieceInfo"):
                    if key in obj:
                        del obj[key]
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, fix_metadata_version=False,
                 compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


# -- the worker: audio and video -------------------------------------------------------


def clean_media(data: bytes, kind: str) -> bytes:
    """Copy the streams through ffmpeg without any metadata; in-memory files only."""
    demuxer, muxer = _MEDIA[kind]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None or not hasattr(os, "memfd_create"):
        raise _NotHandled
    source = os.memfd_create("kuager-in", os.MFD_CLOEXEC)
    target = os.memfd_create("kuager-out", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(source, view):]
        argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
                "-protocol_whitelist", "file", "-f", demuxer, "-i", f"/dev/fd/{source}",
                "-map", "0", "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy",
                "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
                "-f", muxer, "-y", f"/dev/fd/{target}"]
        if muxer == "mp3":
            argv[-4:-4] = ["-id3v2_version", "0"]  # no ID3 tag at all, not even an empty one
        subprocess.run(argv, pass_fds=(source, target), stdin=subprocess.DEVNULL,  # noqa: S603
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=WORKER_SECONDS)
        size = os.fstat(target).st_size
        parts, offset = [], 0
        while offset < size:
            piece = os.pread(target, min(size - offset, 1024 * 1024), offset)
            if not piece:
                break
            parts.append(piece)
            offset += len(piece)
        return b"".join(parts)
    finally:
        os.close(source)
        os.close(target)


def _limit_memory(size: int) -> None:
    try:
        import resource
    except ImportError:  # Windows
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    value = BASE_ADDRESS_SPACE + FILE_COPIES * size
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(resource.RLIMIT_AS, (value, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _not_dumpable() -> None:
    """PR_SET_DUMPABLE=0 (Linux): ``/proc/PID/mem`` and ptrace of this worker become
    root-only, as for the serving process (exec made this one dumpable again). A worker
    runs isolated, importing nothing of Kuager, so this is its own copy of the call."""
    if not sys.platform.startswith("linux"):
        return
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # 4: PR_SET_DUMPABLE


def main(argv: list[str]) -> int:
    kind, size = argv[1], int(argv[2])
    _limit_memory(size)
    _not_dumpable()
    data = sys.stdin.buffer.read()
    try:
        if kind == "zip":
            output = clean_zip(data)
        elif kind == "pdf":
            output = clean_pdf(data)
        elif kind in _MEDIA:
            output = clean_media(data, kind)
        else:
            return EXIT_NOT_HANDLED
    except _NotHandled:
        return EXIT_NOT_HANDLED
    except Exception:  # damaged, encrypted, over a limit: the caller keeps the file, flagged
        return 1
    sys.stdout.buffer.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
