"""Operator pages: setup, unlock, lock, write/list/view/edit/delete reports, attachments."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.conftest import PASSPHRASE, csrf_token, report_form


def _new_report(client: FlaskClient, **overrides: object) -> str:
    data = report_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _files(store: Store) -> list[str]:
    return sorted(p.name for p in store.config.files_dir.iterdir())


# -- setup, unlock, lock -----------------------------------------------------------------


@pytest.fixture
def fresh_client(config: Config, store: Store) -> FlaskClient:
    return create_operator_app(config, store, {"TESTING": True}).test_client()


def test_first_visit_goes_to_setup(fresh_client: FlaskClient) -> None:
    response = fresh_client.get("/reports")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")


@pytest.mark.parametrize("weak", ["short", "aaaaaaaaaaaaaaaa", "123456789012345", "password123"])
def test_setup_refuses_weak_passphrase_with_reason(
    fresh_client: FlaskClient, store: Store, weak: str
) -> None:
    token = csrf_token(fresh_client, "/setup")
    response = fresh_client.post(
        "/setup", data={"csrf_token": token, "passphrase": weak, "confirm": weak, "role": "field"}
    )
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    assert not store.exists()


def test_setup_creates_store_and_opens_desk(fresh_client: FlaskClient, store: Store) -> None:
    token = csrf_token(fresh_client, "/setup")
    response = fresh_client.post(
        "/setup",
        data={
            "csrf_token": token,
            "passphrase": PASSPHRASE,
            "confirm": PASSPHRASE,
            "role": "field",
        },
    )
    assert response.status_code == 303
    assert store.exists() and store.is_unlocked
    assert fresh_client.get("/reports").status_code == 200


def test_setup_of_a_coordinator_makes_its_identity(fresh_client: FlaskClient, store: Store) -> None:
    token = csrf_token(fresh_client, "/setup")
    fresh_client.post(
        "/setup",
        data={
            "csrf_token": token,
            "passphrase": PASSPHRASE,
            "confirm": PASSPHRASE,
            "role": "coordinator",
        },
    )
    from app.store import keyring

    conn = store.connect()
    assert keyring.public_keys(conn)[0].startswith("age1")
    conn.close()
    assert fresh_client.get("/exchange/import").status_code == 200


def test_lock_then_unlock(client: FlaskClient, field_store: Store) -> None:
    token = csrf_token(client, "/reports")
    assert client.post("/lock", data={"csrf_token": token}).status_code == 303
    assert not field_store.is_unlocked
    assert client.get("/reports/new").status_code == 302
    token = csrf_token(client, "/unlock")
    wrong = client.post("/unlock", data={"csrf_token": token, "passphrase": "wrong one, sorry"})
    assert wrong.status_code == 200 and not field_store.is_unlocked
    right = client.post(
        "/unlock?next=/reports/new", data={"csrf_token": token, "passphrase": PASSPHRASE}
    )
    assert right.status_code == 303 and right.headers["Location"] == "/reports/new"


def test_unlock_never_redirects_off_site(client: FlaskClient, field_store: Store) -> None:
    field_store.lock()
    token = csrf_token(client, "/unlock")
    response = client.post(
        "/unlock?next=//evil.example/x", data={"csrf_token": token, "passphrase": PASSPHRASE}
    )
    assert response.headers["Location"] == "/"


def test_idle_lock_drops_the_key(app: Flask, field_store: Store) -> None:
    from app.web.auth import check_idle

    start = app.extensions["kuager.last_activity"]
    assert not check_idle(app, now=start + 60)
    assert check_idle(app, now=start + app.config["KUAGER"].idle_lock_minutes * 60 + 1)
    assert not field_store.is_unlocked


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_pages_say_the_idle_lock_is_off_while_the_public_form_is_served(
        config: Config, field_store: Store, lang: str) -> None:
    """Issue 14: with the public site served the idle lock is off; every operator page says
    so (in the page's language), and a store without the public site says nothing."""
    from app.web.auth import check_idle

    served = create_operator_app(config, field_store, {"KUAGER_SERVING_PUBLIC": True})
    start = served.extensions["kuager.last_activity"]
    assert not check_idle(served, now=start + config.idle_lock_minutes * 60 + 1)
    assert field_store.is_unlocked
    expected = {"en": "does not lock itself after 15 minutes",
                "kk": "15 минут қолданылмаса да өзі құлыпталмайды",
                "ru": "не блокируется само через 15 минут"}[lang]
    client = served.test_client()
    client.get(f"/reports?lang={lang}")  # the language cookie
    for path in ("/reports", "/reports/new", "/exchange/export", "/settings/"):
        page = client.get(path).get_data(as_text=True)
        assert 'class="flash idle-off"' in page and expected in page, path
    plain = create_operator_app(config, field_store).test_client()
    assert "idle-off" not in plain.get("/reports").get_data(as_text=True)


def test_foreign_host_header_is_refused(client: FlaskClient) -> None:
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 gets nothing."""
    assert client.get("/reports", headers={"Host": "attacker.example:8470"}).status_code == 400
    assert client.get("/reports", headers={"Host": "127.0.0.1:8470"}).status_code == 200


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    data = report_form()
    data["save"] = "1"
    response = client.post("/reports/new", data=data)
    assert response.status_code == 400
    assert not client.get("/reports").get_data(as_text=True).count("Пикет")


# -- reports -----------------------------------------------------------------------------


def test_create_view_list(client: FlaskClient) -> None:
    report_id = _new_report(client)
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "Пикет у акимата" in page and "Белсенді ұсталды" in page
    assert "Administrative detention" in page and "Almaty (city)" in page
    listing = client.get("/reports").get_data(as_text=True)
    assert "Пикет у акимата" in listing


def test_list_filters(client: FlaskClient) -> None:
    _new_report(
        client,
        title="Raid on a newspaper office",
        region="astana",
        acts=["search_raid"],
        rights=["expression"],
    )
    _new_report(client, title="Picket in Almaty", region="almaty_city", acts=["fine"])
    # Filters in a URL (an old bookmark) are taken and the URL left behind.
    redirected = client.get("/reports?region=astana")
    assert redirected.status_code == 303 and "astana" not in redirected.headers["Location"]
    by_region = client.get(redirected.headers["Location"]).get_data(as_text=True)
    assert "Raid on a newspaper office" in by_region and "Picket in Almaty" not in by_region
    by_act = client.get("/reports?act=fine", follow_redirects=True).get_data(as_text=True)
    assert "Picket in Almaty" in by_act and "Raid on a newspaper" not in by_act
    token = csrf_token(client, "/reports")
    by_text = client.post("/reports/search", data={"q": "newspaper", "csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)
    assert "Raid on a <mark>newspaper</mark> office" in by_text
    assert "Picket in Almaty" not in by_text


def test_validation_errors_sit_next_to_fields_and_keep_input(client: FlaskClient) -> None:
    data = report_form(title="", occurred_on="2026-02-30", description="Сохранить этот текст")
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    response = client.post("/reports/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="title-error"' in page and 'id="occurred_on-error"' in page
    assert "Сохранить этот текст" in page
    assert client.get("/reports").get_data(as_text=True).count("Сохранить") == 0


def test_add_another_person_without_javascript(client: FlaskClient) -> None:
    data = report_form(**{"victims-0-name": "Айгүл", "victims-0-role": "journalist"})
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["add_victim"] = "1"
    page = client.post("/reports/new", data=data).get_data(as_text=True)
    assert 'name="victims-1-name"' in page and 'value="Айгүл"' in page
    data.update({"victims-1-name": "Ерлан", "victims-1-role": "lawyer", "victims-1-consent": "y"})
    data.pop("add_victim")
    data["save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Айгүл" in page and "Ерлан" in page and "Lawyer" in page


def test_kazakh_input_is_nfc_normalised(client: FlaskClient, field_store: Store) -> None:
    decomposed = "Бел\u0441енд\u0456 \u0430\u0306"  # includes а + combining breve
    report_id = _new_report(client, title=decomposed)
    conn = field_store.connect()
    title = conn.execute("SELECT title FROM reports WHERE id = ?", (report_id,)).fetchone()[0]
    conn.close()
    import unicodedata

    assert title == unicodedata.normalize("NFC", decomposed)


def test_edit_counts_revision_up(client: FlaskClient, field_store: Store) -> None:
    report_id = _new_report(client)
    data = report_form(title="Пикет у акимата (уточнено)")
    data["csrf_token"] = csrf_token(client, f"/reports/{report_id}/edit")
    data["save"] = "1"
    response = client.post(
        f"/reports/{report_id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "(уточнено)" in page
    conn = field_store.connect()
    assert (
        conn.execute("SELECT revision FROM reports WHERE id = ?", (report_id,)).fetchone()[0] == 2
    )
    conn.close()


def test_delete_removes_row_and_files(client: FlaskClient, field_store: Store) -> None:
    report_id = _new_report(client, attachments=[(io.BytesIO(b"%PDF-1.4 test" * 100), "акт.pdf")])
    assert _files(field_store)
    token = csrf_token(client, f"/reports/{report_id}")
    assert (
        client.post(f"/reports/{report_id}/delete",
                    data={"csrf_token": token, "confirmed": "1"}).status_code == 303
    )
    assert client.get(f"/reports/{report_id}").status_code == 404
    assert _files(field_store) == []
    conn = field_store.connect()
    assert conn.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM custody").fetchone()[0] == 0
    conn.close()


# -- attachments -------------------------------------------------------------------------


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0131] = "SecretPhone 1.0"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (43.0, 15.0, 0.0)
    gps[3] = "E"
    gps[4] = (76.0, 54.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _download(client: FlaskClient, report_id: str) -> tuple[bytes, str]:
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    link = re.search(rf'href="(/reports/{report_id}/attachments/[0-9a-f]+)"', page)
    assert link
    response = client.get(link.group(1))
    assert response.status_code == 200
    return response.data, response.headers["Content-Disposition"]


def test_gps_exif_is_removed_from_jpeg(client: FlaskClient) -> None:
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    report_id = _new_report(client, attachments=[(io.BytesIO(original), "фото.jpg")])
    stored, _ = _download(client, report_id)
    assert b"Exif" not in stored and b"SecretPhone" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif()
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "metadata removed" in page


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_metadata_removed(client: FlaskClient, fmt: str) -> None:
    image = Image.new("RGB", (20, 20), (1, 2, 3))
    exif = Image.Exif()
    exif[0x0131] = "SecretPhone 1.0"
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    assert b"SecretPhone" in out.getvalue()
    report_id = _new_report(client, attachments=[(io.BytesIO(out.getvalue()), f"x.{fmt.lower()}")])
    stored, _ = _download(client, report_id)
    assert b"SecretPhone" not in stored
    assert Image.open(io.BytesIO(stored)).format == fmt


def test_attachment_name_in_any_script_is_kept(client: FlaskClient, field_store: Store) -> None:
    name = "Қаулы_сот_№5 (копия).pdf"
    report_id = _new_report(client, attachments=[(io.BytesIO(b"%PDF-1.4 body"), name)])
    data, disposition = _download(client, report_id)
    assert data == b"%PDF-1.4 body"
    assert "filename*=UTF-8''" in disposition
    from urllib.parse import unquote

    assert unquote(disposition.split("''", 1)[1]) == name
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in _files(field_store))


# Werkzeug's test client buffers a body over 500 KB in a temporary file of its own and never
# closes it; the application side is covered by tests/test_no_plaintext.py over real HTTP.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_large_attachment_round_trips(client: FlaskClient, field_store: Store) -> None:
    payload = bytes(range(256)) * 8192 + b"tail"  # 2 MiB + 4: several chunks, odd length
    report_id = _new_report(client, attachments=[(io.BytesIO(payload), "video.mp4")])
    data, _ = _download(client, report_id)
    assert data == payload
    conn = field_store.connect()
    row = conn.execute("SELECT size, sha256 FROM attachments").fetchone()
    conn.close()
    import hashlib

    assert row["size"] == len(payload) and row["sha256"] == hashlib.sha256(payload).hexdigest()
    import gc

    gc.collect()  # close that temporary file now, under this test's filter, not in the next


def test_delete_one_attachment(client: FlaskClient, field_store: Store) -> None:
    report_id = _new_report(client, attachments=[(io.BytesIO(b"one"), "a.txt")])
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    action = re.search(r'href="(/reports/[0-9a-f]+/attachments/[0-9a-f]+/delete)"', page)
    assert action
    token = csrf_token(client, action.group(1))
    assert client.post(action.group(1),
                       data={"csrf_token": token, "confirmed": "1"}).status_code == 303
    assert _files(field_store) == []


def test_oversized_request_gets_a_clear_page(config: Config, field_store: Store) -> None:
    app = create_operator_app(config, field_store, {"TESTING": True, "MAX_CONTENT_LENGTH": 4096})
    client = app.test_client()
    data = report_form(attachments=[(io.BytesIO(b"x" * 10_000), "big.bin")])
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)
    assert _files(field_store) == []


def test_coordinator_cannot_write_reports(config: Config, store: Store) -> None:
    store.create(PASSPHRASE, "coordinator")
    client = create_operator_app(config, store, {"TESTING": True}).test_client()
    assert client.get("/reports").status_code == 200
    assert client.get("/reports/new").status_code == 404


def test_a_store_unlocked_in_a_browser_admits_only_sessions_that_know_the_passphrase(
        app: Flask, field_store: Store) -> None:
    operator, stranger = app.test_client(), app.test_client()
    field_store.lock()
    token = csrf_token(operator, "/unlock")
    assert operator.post("/unlock", data={"csrf_token": token,
                                          "passphrase": PASSPHRASE}).status_code == 303
    assert operator.get("/reports").status_code == 200
    # Another local account reaches 127.0.0.1 too, with no session: it must not get in.
    refused = stranger.get("/reports")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/unlock")
    token = csrf_token(stranger, "/unlock")
    assert stranger.post("/unlock", data={"csrf_token": token,
                                          "passphrase": "a wrong guess!"}).status_code == 200
    assert stranger.get("/reports").status_code == 302
    assert stranger.post("/unlock", data={"csrf_token": token,
                                          "passphrase": PASSPHRASE}).status_code == 303
    assert stranger.get("/reports").status_code == 200
    assert operator.get("/reports").status_code == 200  # still in: the key did not change
    token = csrf_token(operator, "/reports")
    operator.post("/lock", data={"csrf_token": token})
    assert stranger.get("/reports").status_code == 302


def test_passphrase_change_refuses_a_weak_one_and_a_wrong_current(client: FlaskClient,
                                                                   field_store: Store) -> None:
    token = csrf_token(client, "/settings/")
    weak = client.post("/settings/passphrase", data={
        "csrf_token": token, "current": PASSPHRASE, "passphrase": "short", "confirm": "short"})
    assert weak.status_code == 400 and 'class="error"' in weak.get_data(as_text=True)
    wrong = client.post("/settings/passphrase", data={
        "csrf_token": token, "current": "not the passphrase", "passphrase": "river otter lamp cloud",
        "confirm": "river otter lamp cloud"})
    assert wrong.status_code == 400
    done = client.post("/settings/passphrase", data={
        "csrf_token": token, "current": PASSPHRASE, "passphrase": "river otter lamp cloud",
        "confirm": "river otter lamp cloud"})
    assert done.status_code == 303
    field_store.lock()
    field_store.unlock("river otter lamp cloud")


def test_wipe_from_the_settings_page(client: FlaskClient, field_store: Store) -> None:
    token = csrf_token(client, "/settings/")
    kept = client.post("/settings/wipe", data={"csrf_token": token, "passphrase": PASSPHRASE,
                                                "confirm": "maybe"})
    assert kept.status_code == 400 and field_store.exists()
    gone = client.post("/settings/wipe", data={"csrf_token": token, "passphrase": PASSPHRASE,
                                                "confirm": "yes"})
    assert gone.status_code == 303 and gone.headers["Location"] == "/setup"
    assert not field_store.exists() and not field_store.is_unlocked
