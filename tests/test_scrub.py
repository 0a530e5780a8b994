"""Metadata removal beyond images: office documents, ODF, PDF, audio and video (issue 14).

Every file here is made in the test and carries an author name and a GPS position; it goes
through the operator form (or the public form in inbox mode), and the stored bytes must no
longer hold either while the file stays valid. The original stays sealed to the
coordinators when the store has recipients.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pytest
from flask.testing import FlaskClient

from app.records import attachments, scrub
from app.store import keyring
from app.store.store import Store
from crypto import age, keys
from tests.conftest import csrf_token, report_form, require_tool

AUTHOR = "Айгүл Сейтова"
GPS = "+43.2567+076.9286/"
SERIAL = "SN-4F7A-99X"

# -- files carrying an author and a position --------------------------------------------

_DOCX_DOCUMENT = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                  b'2006/main"><w:body><w:p><w:r><w:t>\xd0\x9f\xd0\xb8\xd0\xba\xd0\xb5\xd1\x82'
                  b'</w:t></w:r></w:p></w:body></w:document>')


def make_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="xml" ContentType='
            '"application/xml"/><Default Extension="rels" ContentType="application/vnd.'
            'openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml"'
            ' ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
            'document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="'
            'application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName='
            '"/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'extended-properties+xml"/><Override PartName="/docProps/custom.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
            '<Override PartName="/word/comments.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.wordprocessingml.comments+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http'
            '://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.'
            'openxmlformats.org/package/2006/relationships/metadata/core-properties" Target='
            '"docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats'
            '.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app'
            '.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"'
            '/></Relationships>'))
        z.writestr("word/document.xml", _DOCX_DOCUMENT)
        z.writestr("word/_rels/document.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http'
            '://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml" Target'
            '="../customXml/item1.xml"/><Relationship Id="rId2" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.'
            'xml"/></Relationships>'))
        z.writestr("word/comments.xml", (
            '<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:comment w:id="0" w:author="{AUTHOR}" w:initials="АС"><w:p><w:r><w:t>проверить'
            '</w:t></w:r></w:p></w:comment></w:comments>'))
        z.writestr("customXml/item1.xml", f"<owner>{AUTHOR}</owner>")
        z.writestr("docProps/core.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas'
            '.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.'
            f'org/dc/elements/1.1/"><dc:creator>{AUTHOR}</dc:creator><cp:lastModifiedBy>'
            f'{AUTHOR}</cp:lastModifiedBy></cp:coreProperties>'))
        z.writestr("docProps/app.xml", (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-'
            f'properties"><Company>{SERIAL}</Company><Manager>{AUTHOR}</Manager></Properties>'))
        z.writestr("docProps/custom.xml", (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-'
            'properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
            'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" '
            f'name="Location"><vt:lpwstr>{GPS}</vt:lpwstr></property></Properties>'))
    return out.getvalue()


_ODT_CONTENT = (b'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office='
                b'"urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names'
                b':tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:'
                b'text><text:p>Protest</text:p></office:text></office:body></office:document-'
                b'content>')


def make_odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", _ODT_CONTENT)
        z.writestr("meta.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office="urn:'
            'oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:'
            'opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" office:'
            f'version="1.2"><office:meta><meta:initial-creator>{AUTHOR}</meta:initial-creator>'
            f'<dc:creator>{AUTHOR}</dc:creator><meta:generator>LibreOffice/{SERIAL}'
            '</meta:generator><meta:user-defined meta:name="gps">'
            f'{GPS}</meta:user-defined></office:meta></office:document-meta>'))
        z.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:'
            'oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.'
            'oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" '
            'manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="meta.xml"'
            ' manifest:media-type="text/xml"/></manifest:manifest>'))
    return out.getvalue()


def make_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Author"] = AUTHOR
    pdf.docinfo["/Producer"] = SERIAL
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [AUTHOR]
        meta["dc:description"] = GPS
    pdf.Root.PieceInfo = pikepdf.Dictionary(Editor=pikepdf.String(AUTHOR))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_media(tmp_path: Path, suffix: str) -> bytes:
    """An MP3 or an MP4 written by ffmpeg with an artist, a location and a comment."""
    ffmpeg = require_tool("ffmpeg")
    path = tmp_path / f"source{suffix}"
    inputs = ["-f", "lavfi", "-i", "sine=duration=1"]
    codecs = ["-c:a", "libmp3lame"]
    if suffix == ".mp4":
        inputs = ["-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=10", *inputs]
        codecs = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    subprocess.run([ffmpeg, "-v", "error", *inputs, "-metadata", f"artist={AUTHOR}",
                    "-metadata", f"author={AUTHOR}", "-metadata", f"location={GPS}",
                    "-metadata", f"comment={SERIAL}", *codecs, str(path)], check=True)
    return path.read_bytes()


def probe(data: bytes, tmp_path: Path) -> tuple[list[str], str]:
    """(stream types, everything ffprobe says as text) for ``data`` (test data only)."""
    ffprobe = require_tool("ffprobe")
    path = tmp_path / "probe.bin"
    path.write_bytes(data)
    result = subprocess.run([ffprobe, "-v", "error", "-show_streams", "-show_format",
                             "-of", "json", str(path)], check=True, capture_output=True)
    found = json.loads(result.stdout)
    return [s["codec_type"] for s in found["streams"]], json.dumps(found, ensure_ascii=False)


def _readable(data: bytes) -> bytes:
    """The bytes and, for a ZIP package, every part decompressed."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return data + b"".join(z.read(name) for name in z.namelist())


def _carries_nothing(data: bytes) -> None:
    data = _readable(data)
    for needle in (AUTHOR, GPS, SERIAL):
        assert needle.encode() not in data, needle
    # The same texts as UTF-16 (PDF strings and XMP can be written that way).
    for needle in (AUTHOR, GPS):
        assert needle.encode("utf-16-be") not in data, needle


# -- through the operator form ------------------------------------------------------------


def _upload(client: FlaskClient, data: bytes, name: str) -> tuple[bytes, str]:
    form = report_form(attachments=[(io.BytesIO(data), name)])
    form["csrf_token"] = csrf_token(client, "/reports/new")
    form["save"] = "1"
    response = client.post("/reports/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 303
    report_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    link = re.search(rf'href="(/reports/{report_id}/attachments/[0-9a-f]+)"', page)
    assert link
    download = client.get(link.group(1))
    assert download.status_code == 200
    return download.data, page


def test_docx_loses_author_custom_properties_and_comment_authors(client: FlaskClient) -> None:
    original = make_docx()
    assert AUTHOR.encode() in _readable(original) and GPS.encode() in _readable(original)
    stored, page = _upload(client, original, "жалоба.docx")
    _carries_nothing(stored)
    assert "metadata removed" in page
    with zipfile.ZipFile(io.BytesIO(stored)) as z:
        assert z.testzip() is None
        assert z.read("word/document.xml") == _DOCX_DOCUMENT  # the text, byte for byte
        names = set(z.namelist())
        assert "docProps/custom.xml" not in names and "customXml/item1.xml" not in names
        assert {"docProps/core.xml", "docProps/app.xml", "word/comments.xml"} <= names
        # No relationship or content type points at a part that is gone.
        assert b"custom.xml" not in z.read("[Content_Types].xml")
        assert b"custom.xml" not in z.read("_rels/.rels")
        assert b"customXml" not in z.read("word/_rels/document.xml.rels")
        assert b'Target="comments.xml"' in z.read("word/_rels/document.xml.rels")
        assert b"<w:t>\xd0\xbf\xd1\x80\xd0\xbe" in z.read("word/comments.xml")  # comment kept
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())


def test_odt_loses_initial_creator_and_stays_an_odf_package(client: FlaskClient) -> None:
    original = make_odt()
    assert AUTHOR.encode() in _readable(original) and GPS.encode() in _readable(original)
    stored, page = _upload(client, original, "протокол.odt")
    _carries_nothing(stored)
    assert "metadata removed" in page
    with zipfile.ZipFile(io.BytesIO(stored)) as z:
        assert z.testzip() is None
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("content.xml") == _ODT_CONTENT
        assert b"<office:meta/>" in z.read("meta.xml")
    # ODF readers find the media type at a fixed offset: no extra field before it.
    assert stored[30:38] == b"mimetype" and stored[38:46] == b"applicat"


def test_pdf_loses_info_xmp_and_pieceinfo(client: FlaskClient) -> None:
    original = make_pdf()
    assert AUTHOR.encode("utf-16-be") in original or AUTHOR.encode() in original
    stored, page = _upload(client, original, "постановление.pdf")
    _carries_nothing(stored)
    assert "metadata removed" in page
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert len(pdf.pages) == 1
        assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root
        assert "/PieceInfo" not in pdf.Root


@pytest.mark.parametrize("suffix", [".mp3", ".mp4"])
def test_audio_and_video_lose_artist_and_location(
    client: FlaskClient, tmp_path: Path, suffix: str
) -> None:
    original = make_media(tmp_path, suffix)
    assert AUTHOR.encode() in original
    if suffix == ".mp4":
        assert b"loci" in original  # the position, as a binary 3GPP location atom
    stored, page = _upload(client, original, f"запись{suffix}")
    _carries_nothing(stored)
    assert "metadata removed" in page
    streams, said = probe(stored, tmp_path)
    original_streams, original_said = probe(original, tmp_path)
    assert AUTHOR in original_said and GPS in original_said  # ffprobe does see the tags
    assert AUTHOR not in said and GPS not in said and SERIAL not in said
    assert streams == original_streams  # nothing dropped, nothing re-encoded away
    assert "audio" in streams and ("video" in streams) == (suffix == ".mp4")
    assert b"loci" not in stored and b"\xa9xyz" not in stored


def test_original_is_sealed_to_the_coordinators(client: FlaskClient, field_store: Store) -> None:
    identity = keys.generate_x25519_identity()
    conn = field_store.connect()
    keyring.add_recipient(conn, str(identity.recipient()))
    conn.commit()
    original = make_docx()
    stored, _page = _upload(client, original, "жалоба.docx")
    _carries_nothing(stored)
    row = conn.execute("SELECT sealed_original, metadata_removed FROM attachments").fetchone()
    conn.close()
    assert row["metadata_removed"] == 1 and row["sealed_original"]
    sealed = attachments.file_path(field_store.config, row["sealed_original"]).read_bytes()
    assert AUTHOR.encode() not in sealed  # sealed: unreadable on this device
    assert age.decrypt_bytes(sealed, [identity]) == original


def test_damaged_or_unknown_files_are_kept_and_flagged(client: FlaskClient) -> None:
    for data, name in [(b"%PDF-1.4 not really", "x.pdf"),
                       (b"PK\x03\x04 not a zip", "x.docx")]:
        stored, page = _upload(client, data, name)
        assert stored == data and "metadata kept" in page
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("notes.txt", AUTHOR)
    stored, page = _upload(client, plain_zip.getvalue(), "archive.zip")
    assert stored == plain_zip.getvalue() and "metadata kept" in page


def test_over_the_size_cap_is_kept_and_flagged(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = make_pdf()
    monkeypatch.setattr(scrub, "CLEAN_MAX_BYTES", len(original) - 1)
    stored, page = _upload(client, original, "большой.pdf")
    assert stored == original and "metadata kept" in page


def test_zip_bomb_stops_at_the_expansion_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (4 * 1024 * 1024))
    monkeypatch.setattr(scrub, "ZIP_MAX_EXPANDED", 1024 * 1024)
    with pytest.raises(ValueError, match="expands past the limit"):
        scrub.clean_zip(out.getvalue())
    assert scrub.clean(out.getvalue()) is not None  # the worker's own limit (1 GiB) allows it


def test_sniffing_goes_by_bytes_not_names() -> None:
    assert scrub.sniff(make_pdf()[:32]) == "pdf"
    assert scrub.sniff(make_docx()[:32]) == "zip"
    assert scrub.sniff(b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  ") == "mov"
    assert scrub.sniff(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00") == "mp4"
    assert scrub.sniff(b"OggS\x00\x02") == "ogg"
    assert scrub.sniff(b"RIFF\x10\x00\x00\x00WAVEfmt ") == "wav"
    assert scrub.sniff(b"plain text that says %PDF-") is None
    assert scrub.clean(b"plain text", "application/pdf") is None


def test_inbox_mode_seals_the_cleaned_pdf_and_the_original(
    public_client: FlaskClient, field_store: Store, tmp_path: Path
) -> None:
    from app.exchange import inbox

    identity = keys.generate_x25519_identity()
    conn = field_store.connect()
    keyring.add_recipient(conn, str(identity.recipient()))
    inbox.set_enabled(conn, True)
    conn.commit()
    original = make_pdf()
    form = report_form(attachments=[(io.BytesIO(original), "постановление.pdf")])
    form["csrf_token"] = csrf_token(public_client, "/")
    form["save"] = "1"
    assert public_client.post("/", data=form, content_type="multipart/form-data").status_code == 303
    file_name = conn.execute("SELECT file_name FROM inbox").fetchone()[0]
    conn.close()
    with open(attachments.file_path(field_store.config, file_name), "rb") as sealed:
        _doc, [(item, stored, kept)] = inbox.open_envelope(field_store.config, sealed,
                                                           [identity], [])
    assert item["metadata_removed"] is True and kept is not None
    cleaned = b"".join(attachments.read_chunks(field_store.config, stored.file_name, stored.key))
    _carries_nothing(cleaned)
    assert pikepdf.open(io.BytesIO(cleaned)).pages
    assert b"".join(attachments.read_chunks(field_store.config, kept.file_name,
                                            kept.key)) == original
