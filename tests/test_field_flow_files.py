"""Files chosen before a button re-renders the report form are kept (web/held.py): held
as encrypted spools under opaque tokens, listed on the page shown again, removable, and
attached on save through the same intake as any upload. The edit page lists the files
already attached."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.conftest import PASSPHRASE, csrf_token, report_form
from tests.visible_text import latin_words

MARKER = b"HELD-PLAINTEXT-MARKER-5b1e"
NOTE = MARKER + " Хаттама: куәгердің сөзі.".encode() * 20


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0131] = "SecretPhone 1.0"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (43.0, 15.0, 0.0), "E", (76.0, 54.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _post(client: FlaskClient, path: str, button: str, *, files=(), tokens=(),  # type: ignore[no-untyped-def]
          remove: str | None = None, **overrides: object):
    data = report_form(**overrides)
    data["csrf_token"] = csrf_token(client, path)
    data[button] = remove if button == "held_remove" else "1"
    data["held_file"] = list(tokens)
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(path, data=data, content_type="multipart/form-data")


def _tokens(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="held_file" value="([^"]+)"', page)


def _spools(config: Config) -> list[Path]:
    return sorted(p for p in config.spool_dir.iterdir()) if config.spool_dir.is_dir() else []


def _attachments(store: Store, report_id: str) -> list[tuple[str, int]]:
    conn = store.connect()
    try:
        return [(r["name"], r["size"]) for r in conn.execute(
            "SELECT name, size FROM attachments WHERE report_id = ? ORDER BY name",
            (report_id,))]
    finally:
        conn.close()


def _download_all(client: FlaskClient, report_id: str) -> dict[str, bytes]:
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    found = {}
    for href, name in re.findall(rf'<a href="(/reports/{report_id}/attachments/[0-9a-f]+)">([^<]+)</a>', page):
        response = client.get(href)
        assert response.status_code == 200
        found[name] = response.data
    return found


def _plaintext_on_disk(root: Path, *needles: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            if any(needle in content for needle in needles):
                hits.append(path)
    return hits


def _report_id(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_two_files_survive_add_another_person_and_are_attached_on_save(
        client: FlaskClient, field_store: Store, config: Config) -> None:
    photo = _jpeg_with_gps()
    shown = _post(client, "/reports/new", "add_victim",
                  files=[("фото_митинга.jpg", photo), ("хаттама.txt", NOTE)])
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "Files already chosen" in page
    assert "фото_митинга.jpg" in page and "хаттама.txt" in page
    assert 'name="victims-1-name"' in page  # the person was added
    tokens = _tokens(page)
    assert len(tokens) == 2
    assert all(not re.search(r"[/\\.]", t) for t in tokens)  # an opaque token, not a path
    assert str(config.spool_dir) not in page
    assert len(_spools(config)) == 2  # held as encrypted spools...
    # ... never in plaintext (the photo's maker tag would show its bytes too)
    assert _plaintext_on_disk(config.data_dir, MARKER, b"SecretPhone") == []

    report_id = _report_id(_post(client, "/reports/new", "save", tokens=tokens))
    assert _spools(config) == []  # the held spools went with the save
    stored = _download_all(client, report_id)
    assert set(stored) == {"фото_митинга.jpg", "хаттама.txt"}
    assert stored["хаттама.txt"] == NOTE
    assert b"SecretPhone" not in stored["фото_митинга.jpg"]  # cleaned as on a direct upload
    with Image.open(io.BytesIO(stored["фото_митинга.jpg"])) as image:
        assert image.size == (40, 30) and not image.getexif()
    assert "metadata removed" in client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert _plaintext_on_disk(config.data_dir, MARKER) == []


def test_held_and_new_files_together_and_after_a_validation_error(
        client: FlaskClient, field_store: Store, config: Config) -> None:
    shown = _post(client, "/reports/new", "save", files=[("first.txt", NOTE)], title="")
    assert shown.status_code == 400
    page = shown.get_data(as_text=True)
    assert "Give the report a short title." in page and "first.txt" in page
    tokens = _tokens(page)
    shown = _post(client, "/reports/new", "add_perpetrator", tokens=tokens,
                  files=[("second.txt", b"second file")])
    tokens = _tokens(shown.get_data(as_text=True))
    assert len(tokens) == 2
    report_id = _report_id(_post(client, "/reports/new", "save", tokens=tokens,
                                 files=[("third.txt", b"third file")]))
    assert _attachments(field_store, report_id) == [
        ("first.txt", len(NOTE)), ("second.txt", 11), ("third.txt", 10)]
    assert _spools(config) == []


def test_a_removed_file_is_not_attached_and_its_spool_is_gone(
        client: FlaskClient, field_store: Store, config: Config) -> None:
    page = _post(client, "/reports/new", "add_victim",
                 files=[("keep.txt", b"keep me"), ("drop.txt", NOTE)]).get_data(as_text=True)
    keep, drop = _tokens(page)
    assert re.search(rf'<button type="submit" name="held_remove" value="{drop}"', page)
    shown = _post(client, "/reports/new", "held_remove", remove=drop, tokens=[keep, drop])
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "keep.txt" in page and "drop.txt" not in page
    assert _tokens(page) == [keep]
    assert len(_spools(config)) == 1
    # Sending the removed token again (a back button, a forged form) brings nothing back.
    report_id = _report_id(_post(client, "/reports/new", "save", tokens=[keep, drop]))
    assert _attachments(field_store, report_id) == [("keep.txt", 7)]
    assert _spools(config) == []


def test_unknown_forged_and_foreign_tokens_are_ignored(
        app: Flask, client: FlaskClient, field_store: Store, config: Config) -> None:
    other = app.test_client()  # another browser session
    theirs = _tokens(_post(other, "/reports/new", "add_victim",
                           files=[("theirs.txt", b"not yours")]).get_data(as_text=True))
    assert len(theirs) == 1
    forged = ["AAAAAAAAAAAAAAAAAAAAAAAA", "../../kuager.key", str(_spools(config)[0]),
              _spools(config)[0].name, "", "x" * 5000]
    shown = _post(client, "/reports/new", "add_victim", tokens=[*forged, *theirs])
    assert shown.status_code == 200
    assert "theirs.txt" not in shown.get_data(as_text=True)
    assert _tokens(shown.get_data(as_text=True)) == []
    shown = _post(client, "/reports/new", "held_remove", remove=theirs[0], tokens=theirs)
    assert shown.status_code == 200
    report_id = _report_id(_post(client, "/reports/new", "save", tokens=[*forged, *theirs]))
    assert _attachments(field_store, report_id) == []
    # The other session still holds its file, untouched by the attempts.
    assert len(_spools(config)) == 1
    page = _post(other, "/reports/new", "add_victim", tokens=theirs).get_data(as_text=True)
    assert _tokens(page) == theirs and "theirs.txt" in page


def test_file_count_limit_counts_held_and_new_files_together(
        config: Config, field_store: Store) -> None:
    app = create_operator_app(config, field_store, {"TESTING": True, "KUAGER_MAX_FILES": 2})
    client = app.test_client()
    tokens = _tokens(_post(client, "/reports/new", "add_victim",
                           files=[("a.txt", b"a"), ("b.txt", b"b")]).get_data(as_text=True))
    assert len(tokens) == 2
    shown = _post(client, "/reports/new", "add_victim", tokens=tokens, files=[("c.txt", b"c")])
    page = shown.get_data(as_text=True)
    assert "at most 2 files" in page and "c.txt" not in page
    assert _tokens(page) == tokens  # the held files stay
    assert len(_spools(config)) == 2
    shown = _post(client, "/reports/new", "save", tokens=tokens, files=[("c.txt", b"c")])
    assert shown.status_code == 400 and "at most 2 files" in shown.get_data(as_text=True)
    conn = field_store.connect()
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0  # nothing saved
    conn.close()
    report_id = _report_id(_post(client, "/reports/new", "save", tokens=tokens))
    assert _attachments(field_store, report_id) == [("a.txt", 1), ("b.txt", 1)]


def test_size_limit_counts_held_and_new_files_together(
        config: Config, field_store: Store) -> None:
    app = create_operator_app(config, field_store,
                              {"TESTING": True, "MAX_CONTENT_LENGTH": 64 * 1024})
    client = app.test_client()
    tokens = _tokens(_post(client, "/reports/new", "add_victim",
                           files=[("big.bin", b"x" * 40_000)]).get_data(as_text=True))
    shown = _post(client, "/reports/new", "save", tokens=tokens,
                  files=[("bigger.bin", b"y" * 40_000)])
    assert shown.status_code == 400
    page = shown.get_data(as_text=True)
    assert "64\xa0KB together" in page
    assert _tokens(page) == tokens


def test_lock_removes_held_spools(client: FlaskClient, field_store: Store,
                                  config: Config) -> None:
    _post(client, "/reports/new", "add_victim", files=[("a.txt", NOTE)])
    assert len(_spools(config)) == 1
    response = client.post("/lock", data={"csrf_token": csrf_token(client, "/reports")})
    assert response.status_code == 303
    assert _spools(config) == []


def test_an_expired_held_file_is_dropped(app: Flask, client: FlaskClient,
                                         field_store: Store, config: Config) -> None:
    tokens = _tokens(_post(client, "/reports/new", "add_victim",
                           files=[("a.txt", NOTE)]).get_data(as_text=True))
    app.extensions["kuager.held_files"].ttl = 0.0
    time.sleep(0.01)
    report_id = _report_id(_post(client, "/reports/new", "save", tokens=tokens))
    assert _attachments(field_store, report_id) == []
    assert _spools(config) == []


def test_an_abandoned_held_spool_is_swept_when_the_store_next_opens(
        client: FlaskClient, field_store: Store, config: Config) -> None:
    """A crash forgets the held files' keys: what is left is ciphertext that the sweep at
    the next unlock removes like any stale spool."""
    _post(client, "/reports/new", "add_victim", files=[("a.txt", NOTE)])
    (left,) = _spools(config)
    past = time.time() - 7 * 3600
    os.utime(left, (past, past))
    Store(config).unlock(PASSPHRASE)  # another process opening the store
    assert _spools(config) == []


def test_edit_page_lists_attached_files_and_keeps_new_ones(
        client: FlaskClient, field_store: Store, config: Config) -> None:
    report_id = _report_id(_post(client, "/reports/new", "save",
                                 files=[("акт.pdf", b"%PDF-1.4\n% not really\n")]))
    page = client.get(f"/reports/{report_id}/edit").get_data(as_text=True)
    assert "Files already attached" in page and "акт.pdf" in page and "application/pdf" in page
    path = f"/reports/{report_id}/edit"
    page = _post(client, path, "add_victim",
                 files=[("new.txt", b"added while editing")]).get_data(as_text=True)
    assert "акт.pdf" in page and "new.txt" in page
    _post(client, path, "save", tokens=_tokens(page))
    assert [name for name, _size in _attachments(field_store, report_id)] == [
        "new.txt", "акт.pdf"]
    assert _spools(config) == []


@pytest.mark.parametrize("locale", ["kk", "ru"])
def test_the_held_list_speaks_the_page_language(config: Config, field_store: Store,
                                                locale: str) -> None:
    cfg = Config(data_dir=config.data_dir, default_locale=locale)
    client = create_operator_app(cfg, field_store, {"TESTING": True}).test_client()
    page = _post(client, "/reports/new", "add_victim",
                 files=[("a.txt", b"a")]).get_data(as_text=True)
    assert _tokens(page)
    assert latin_words(page) == []
    app = create_operator_app(cfg, field_store, {"TESTING": True, "KUAGER_MAX_FILES": 1})
    limited = app.test_client()
    tokens = _tokens(_post(limited, "/reports/new", "add_victim",
                           files=[("a.txt", b"a")]).get_data(as_text=True))
    page = _post(limited, "/reports/new", "save", tokens=tokens,
                 files=[("b.txt", b"b")]).get_data(as_text=True)
    assert 'class="error"' in page and "b.txt" not in page
    assert latin_words(page) == []


def test_public_form_keeps_files_after_a_validation_error(
        public_client: FlaskClient, field_store: Store, config: Config) -> None:
    data = {"csrf_token": csrf_token(public_client, "/"), "description": "",
            "attachments": [(io.BytesIO(NOTE), "видео.txt")]}
    shown = public_client.post("/", data=data, content_type="multipart/form-data")
    assert shown.status_code == 400
    page = shown.get_data(as_text=True)
    assert "видео.txt" in page
    tokens = _tokens(page)
    assert len(tokens) == 1
    assert _plaintext_on_disk(config.data_dir, MARKER) == []
    data = {"csrf_token": csrf_token(public_client, "/"), "description": "Ұсталды.",
            "held_file": tokens}
    response = public_client.post("/", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    conn = field_store.connect()
    rows = conn.execute("SELECT a.name, a.size, r.origin FROM attachments a"
                        " JOIN reports r ON r.id = a.report_id").fetchall()
    conn.close()
    assert [tuple(r) for r in rows] == [("видео.txt", len(NOTE), "public")]
    assert _spools(config) == []


def test_public_inbox_mode_seals_a_held_file(public_client: FlaskClient, field_store: Store,
                                             config: Config, tmp_path: Path) -> None:
    from app.exchange import inbox
    from app.store import keyring
    from tests.test_exchange import init

    conn = field_store.connect()
    keyring.add_recipient(conn, init(tmp_path / "coordinator", "coordinator"), "Үйлестіруші")
    inbox.set_enabled(conn, True)
    conn.commit()
    conn.close()
    data = {"csrf_token": csrf_token(public_client, "/"), "description": "",
            "attachments": [(io.BytesIO(NOTE), "хаттама.txt")]}
    page = public_client.post("/", data=data, content_type="multipart/form-data")
    tokens = _tokens(page.get_data(as_text=True))
    assert len(tokens) == 1
    data = {"csrf_token": csrf_token(public_client, "/"), "description": "Ұсталды.",
            "held_file": tokens}
    assert public_client.post("/", data=data,
                              content_type="multipart/form-data").status_code == 303
    conn = field_store.connect()
    assert inbox.counts(conn) == (1, 1)
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    conn.close()
    assert _spools(config) == []
    assert _plaintext_on_disk(config.data_dir, MARKER) == []


def test_public_visitors_together_hold_at_most_four_requests_worth(
        config: Config, field_store: Store) -> None:
    """Anyone on the onion can open sessions: what they hold together is bounded."""
    from app.web.factory import create_public_app

    app = create_public_app(config, field_store,
                            {"TESTING": True, "MAX_CONTENT_LENGTH": 64 * 1024})
    pages = []
    for _visitor in range(7):
        client = app.test_client()
        data = {"csrf_token": csrf_token(client, "/"), "description": "",
                "attachments": [(io.BytesIO(b"z" * 40_000), "big.bin")]}
        pages.append(client.post("/", data=data,
                                 content_type="multipart/form-data").get_data(as_text=True))
    assert [len(_tokens(page)) for page in pages] == [1] * 6 + [0]  # 6 × 40 KB ≤ 256 KB
    assert "choose them again before sending" in pages[-1]
    assert len(_spools(config)) == 6
