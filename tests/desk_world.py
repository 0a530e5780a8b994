"""A small world for the desk's page tests: a field store with reports, attachments and
custody entries, its exported bundle, and a coordinator store that imported it.

Built through the pages and the CLI as a monitor would; every test gets its own copy.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from flask.testing import FlaskClient

from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.conftest import PASSPHRASE, csrf_token, report_form
from tests.test_exchange import init

#: Not a valid PDF (kept as it came, "metadata kept"). Request bodies stay under 500 KB:
#: Werkzeug's test client spools larger ones to a temporary file it never closes.
TINY_PDF = b"%PDF-1.4\n% \xd0\x90\xd0\xba\xd1\x82\n"


def operator_client(data: Path, locale: str = "en") -> FlaskClient:
    store = Store(Config(data_dir=data, default_locale=locale))
    store.unlock(PASSPHRASE)
    return create_operator_app(store.config, store, {"TESTING": True}).test_client()


def add_recipient(client: FlaskClient, key: str) -> None:
    token = csrf_token(client, "/exchange/export")
    response = client.post("/exchange/recipients",
                           data={"csrf_token": token, "key": key, "label": "Координатор"})
    assert response.status_code == 303


def new_report(client: FlaskClient, **overrides: object) -> str:
    data = report_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def export_download(client: FlaskClient) -> bytes:
    token = csrf_token(client, "/exchange/export")
    response = client.post("/exchange/export", data={"csrf_token": token, "folder": ""})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with client.get(response.headers["Location"]) as download:
        return bytes(download.data)


def import_upload(client: FlaskClient, bundle: bytes, name: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/exchange/import")
    return client.post(
        "/exchange/import",
        data={"csrf_token": token, "bundle": (io.BytesIO(bundle), name)},
        content_type="multipart/form-data",
    )


@dataclass
class World:
    field_dir: Path
    coordinator_dir: Path
    field: FlaskClient
    coordinator: FlaskClient
    exported_id: str
    draft_id: str
    bundle: bytes


def build(tmp_path: Path) -> World:
    """Field: one exported report with two attachments, one draft with one; coordinator:
    that bundle imported, plus a refused (truncated) import."""
    coordinator_key = init(tmp_path / "c", "coordinator")
    init(tmp_path / "f", "field")
    field = operator_client(tmp_path / "f")
    add_recipient(field, coordinator_key)
    exported_id = new_report(field, title="Задержание на пикете", attachments=[
        (io.BytesIO(TINY_PDF * 5_000), "акт_задержания.pdf"),
        (io.BytesIO(b"\xd0\x9f\xd1\x80\xd0\xbe\xd1\x82\xd0\xbe\xd0\xba\xd0\xbe\xd0\xbb"),
         "протокол.txt")])
    bundle = export_download(field)
    draft = report_form(title="Черновик отчёта",
                        attachments=[(io.BytesIO(b"\xd0\xb0" * 3000), "заметки.txt"),
                                     (io.BytesIO(b"<p>\xd0\xb0</p>"), "страница.html")])
    draft["csrf_token"] = csrf_token(field, "/reports/new")
    draft["draft"] = "1"
    response = field.post("/reports/new", data=draft, content_type="multipart/form-data")
    assert response.status_code == 303
    draft_id = response.headers["Location"].rsplit("/", 1)[-1]
    coordinator = operator_client(tmp_path / "c")
    assert import_upload(coordinator, bundle, "пакет.age").status_code == 200
    return World(tmp_path / "f", tmp_path / "c", field, coordinator, exported_id, draft_id,
                 bundle)


def attachment_ids(client: FlaskClient, report_id: str) -> list[str]:
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    return re.findall(rf"/reports/{report_id}/attachments/([0-9a-f]{{32}})\"", page)
