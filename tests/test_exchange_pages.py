"""The exchange from the operator pages: recipients, export (download or folder), import."""

from __future__ import annotations

import io
import re
from pathlib import Path

from app.config import Config
from app.exchange.progress import Progress
from app.store.store import Store
from app.web.factory import create_operator_app
from crypto import keys
from tests.conftest import PASSPHRASE, csrf_token
from tests.test_desk import _new_report
from tests.test_exchange import init, listing


def _client(data: Path):  # type: ignore[no-untyped-def]
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    return create_operator_app(
        store.config, store, {"TESTING": True, "KUAGER_DEFAULT_LOCALE": "en"}
    ).test_client()


def _add_recipient(client, key: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/exchange/export")
    response = client.post(
        "/exchange/recipients", data={"csrf_token": token, "key": key, "label": "Координатор"}
    )
    assert response.status_code == 303


def test_recipient_with_fingerprint_and_bad_key(tmp_path: Path) -> None:
    init(tmp_path / "f", "field")
    client = _client(tmp_path / "f")
    key = str(keys.generate_x25519_identity().recipient())
    _add_recipient(client, key)
    page = client.get("/exchange/export").get_data(as_text=True)
    assert "Координатор" in page
    assert re.search(r'class="fingerprint">(\d{5} ){5}\d{5}<', page)
    token = csrf_token(client, "/exchange/export")
    bad = client.post("/exchange/recipients", data={"csrf_token": token, "key": "age1bogus"})
    assert bad.status_code == 400 and 'class="error"' in bad.get_data(as_text=True)


def test_export_download_then_import_page(tmp_path: Path) -> None:
    coordinator_key = init(tmp_path / "c", "coordinator")
    init(tmp_path / "f", "field")
    field = _client(tmp_path / "f")
    _add_recipient(field, coordinator_key)
    _new_report(
        field, title="Отчёт из браузера", attachments=[(io.BytesIO(b"%PDF-1.4 x"), "акт.pdf")]
    )
    token = csrf_token(field, "/exchange/export")
    response = field.post("/exchange/export", data={"csrf_token": token, "folder": ""})
    assert response.status_code == 303
    assert re.search(r"/exchange/outbox/[0-9a-f]{32}\.age$", response.headers["Location"])
    with field.get(response.headers["Location"]) as download:
        bundle = download.data
        assert download.headers["Content-Type"] == "application/octet-stream"
    assert bundle.startswith(b"age-encryption.org/v1\n")
    coordinator = _client(tmp_path / "c")
    token = csrf_token(coordinator, "/exchange/import")
    result = coordinator.post(
        "/exchange/import",
        data={"csrf_token": token, "bundle": (io.BytesIO(bundle), "bundle.age")},
        content_type="multipart/form-data",
    )
    page = result.get_data(as_text=True)
    assert result.status_code == 200 and "1 report added" in page
    assert "Отчёт из браузера" in coordinator.get("/reports").get_data(as_text=True)
    tampered = bytearray(bundle)
    tampered[-40] ^= 1
    token = csrf_token(coordinator, "/exchange/import")
    refused = coordinator.post(
        "/exchange/import",
        data={"csrf_token": token, "bundle": (io.BytesIO(bytes(tampered)), "bad.age")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "Not imported" in refused.get_data(as_text=True)


def test_a_downloaded_bundle_can_be_deleted_from_the_device(tmp_path: Path) -> None:
    """The outbox copy of a bundle goes when the monitor says so (a seized laptop then
    shows no sign of it); the reports stay; no token, a forged name: refused."""
    coordinator_key = init(tmp_path / "c", "coordinator")
    init(tmp_path / "f", "field")
    field = _client(tmp_path / "f")
    _add_recipient(field, coordinator_key)
    _new_report(field, title="Отчёт в выгрузке")
    token = csrf_token(field, "/exchange/export")
    location = field.post("/exchange/export", data={"csrf_token": token, "folder": ""}
                          ).headers["Location"]
    name = location.rsplit("/", 1)[1]
    outbox = tmp_path / "f" / "outbox"
    assert [p.name for p in outbox.iterdir()] == [name]
    page = field.get("/exchange/export").get_data(as_text=True)
    assert f"/exchange/outbox/{name}/delete" in page
    assert field.post(f"/exchange/outbox/{name}/delete").status_code == 400  # no CSRF token
    assert field.post("/exchange/outbox/..%2Fkuager.key/delete",
                      data={"csrf_token": token}).status_code == 404
    assert field.post(f"/exchange/outbox/{'0' * 32}.age/delete",
                      data={"csrf_token": token}).status_code == 404
    assert (outbox / name).is_file()
    deleted = field.post(f"/exchange/outbox/{name}/delete", data={"csrf_token": token},
                         follow_redirects=True)
    assert deleted.status_code == 200 and f"{name} deleted from this device" in deleted.get_data(
        as_text=True)
    assert list(outbox.iterdir()) == []
    assert (tmp_path / "f" / "kuager.key").is_file()
    assert "Отчёт в выгрузке" in field.get("/reports").get_data(as_text=True)


def test_export_to_folder_with_purge(tmp_path: Path) -> None:
    coordinator_key = init(tmp_path / "c", "coordinator")
    init(tmp_path / "f", "field")
    field = _client(tmp_path / "f")
    _add_recipient(field, coordinator_key)
    _new_report(field, title="Удалить после экспорта")
    usb = tmp_path / "usb"
    usb.mkdir()
    token = csrf_token(field, "/exchange/export")
    no_folder = field.post(
        "/exchange/export", data={"csrf_token": token, "folder": "", "purge": "y"}
    )
    assert no_folder.status_code == 400
    missing = field.post(
        "/exchange/export",
        data={"csrf_token": token, "folder": str(tmp_path / "nope"), "purge": "y"},
    )
    assert missing.status_code == 400
    done = field.post(
        "/exchange/export", data={"csrf_token": token, "folder": str(usb), "purge": "y"}
    )
    assert done.status_code == 303
    [written] = [p.name for p in usb.iterdir()]
    assert re.fullmatch(r"[0-9a-f]{32}\.age", written)  # random: tells nothing
    assert listing(tmp_path / "f") == []


def test_progress_draws_only_on_a_stream() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.start(1000)
    progress.add(500, reports=1)
    progress.finish()
    assert "50.0%" in out.getvalue() and "1 reports" in out.getvalue()
    silent = Progress(None)
    silent.add(10)
    silent.finish()


def test_coordinator_and_monitor_see_the_same_fingerprint(tmp_path: Path) -> None:
    key = init(tmp_path / "c", "coordinator")
    init(tmp_path / "f", "field")
    coordinator_page = _client(tmp_path / "c").get("/settings/").get_data(as_text=True)
    field = _client(tmp_path / "f")
    _add_recipient(field, key)
    field_page = field.get("/exchange/export").get_data(as_text=True)
    shown = re.findall(r'class="fingerprint">([\d ]+)<', coordinator_page)
    assert key in coordinator_page and shown
    assert shown[0] in field_page
