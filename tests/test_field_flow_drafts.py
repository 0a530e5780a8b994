"""Drafts (CONTRACT, "Drafts (field store)"): a saved report is ready to send unless the
form sends draft=1; export seals only ready reports, says how many drafts stay, and with
nothing to seal writes no file and exits 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask.testing import FlaskClient

from app.config import Config
from app.records import custody
from app.store import migrations
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.conftest import PASSPHRASE, csrf_token, report_form
from tests.test_exchange import export, init, listing, run


def _post_report(client: FlaskClient, draft: bool, **overrides: object) -> str:
    data = report_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["draft" if draft else "save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _status(store: Store, report_id: str) -> str:
    conn = store.connect()
    try:
        return str(conn.execute("SELECT status FROM reports WHERE id = ?",
                                (report_id,)).fetchone()[0])
    finally:
        conn.close()


def test_form_has_a_save_as_draft_button_named_draft_with_value_1(client: FlaskClient) -> None:
    page = client.get("/reports/new").get_data(as_text=True)
    assert re.search(r'<button type="submit" name="draft" value="1"', page)


def test_saved_report_is_ready_and_draft_stays_draft(client: FlaskClient,
                                                     field_store: Store) -> None:
    ready = _post_report(client, draft=False, title="Готово")
    draft = _post_report(client, draft=True, title="Жоба")
    assert _status(field_store, ready) == "ready"
    assert _status(field_store, draft) == "draft"


def test_mark_ready_from_the_list_and_from_the_report_page(client: FlaskClient,
                                                           field_store: Store) -> None:
    first = _post_report(client, draft=True, title="Бірінші")
    second = _post_report(client, draft=True, title="Второй")
    listing_page = client.get("/reports").get_data(as_text=True)
    assert f'action="/reports/{first}/ready"' in listing_page
    token = csrf_token(client, "/reports")
    response = client.post(f"/reports/{first}/ready", data={"csrf_token": token, "from_list": "1"})
    assert response.status_code == 303 and "/reports" in response.headers["Location"]
    assert _status(field_store, first) == "ready"
    assert f'action="/reports/{first}/ready"' not in client.get("/reports").get_data(as_text=True)

    view = client.get(f"/reports/{second}").get_data(as_text=True)
    assert f'action="/reports/{second}/ready"' in view
    response = client.post(f"/reports/{second}/ready",
                           data={"csrf_token": csrf_token(client, f"/reports/{second}")})
    assert response.status_code == 303 and response.headers["Location"].endswith(second)
    assert _status(field_store, second) == "ready"
    conn = field_store.connect()
    assert [h["event"] for h in custody.history(conn, second)] == ["created", "ready"]
    conn.close()


def test_mark_ready_needs_the_csrf_token(client: FlaskClient, field_store: Store) -> None:
    draft = _post_report(client, draft=True)
    assert client.post(f"/reports/{draft}/ready", data={}).status_code == 400
    assert _status(field_store, draft) == "draft"


def test_editing_keeps_or_sets_the_choice(client: FlaskClient, field_store: Store) -> None:
    report_id = _post_report(client, draft=True)
    data = report_form(title="Өзгертілді")
    data["csrf_token"] = csrf_token(client, f"/reports/{report_id}/edit")
    data["save"] = "1"
    assert client.post(f"/reports/{report_id}/edit", data=data,
                       content_type="multipart/form-data").status_code == 303
    assert _status(field_store, report_id) == "ready"
    data = report_form(title="Қайтадан жоба")
    data["csrf_token"] = csrf_token(client, f"/reports/{report_id}/edit")
    data["draft"] = "1"
    assert client.post(f"/reports/{report_id}/edit", data=data,
                       content_type="multipart/form-data").status_code == 303
    assert _status(field_store, report_id) == "draft"


def _field_with_reports(tmp_path: Path, drafts: int, ready: int) -> Path:
    init(tmp_path / "c", "coordinator")
    key = run("pubkey", "--data", str(tmp_path / "c")).stdout.split()[0]
    field = tmp_path / "f"
    init(field, "field")
    assert run("recipients", "add", key, "--data", str(field)).exit_code == 0
    store = Store(Config(data_dir=field))
    store.unlock(PASSPHRASE)
    client = create_operator_app(store.config, store, {"TESTING": True}).test_client()
    for n in range(drafts):
        _post_report(client, draft=True, title=f"Жоба {n}")
    for n in range(ready):
        _post_report(client, draft=False, title=f"Дайын {n}")
    store.lock()
    return field


def test_export_seals_only_ready_reports_and_counts_the_drafts(tmp_path: Path) -> None:
    field = _field_with_reports(tmp_path, drafts=2, ready=1)
    result = export(field, tmp_path / "b1.age")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "1"
    assert "Drafts left on this device, not exported: 2" in result.stderr
    rows = {r["title"]: r for r in listing(field)}
    assert rows["Дайын 0"]["status"] == "exported" and rows["Дайын 0"]["draft"] is False
    assert all(rows[f"Жоба {n}"]["draft"] is True for n in range(2))
    assert all(rows[f"Жоба {n}"]["status"] == "draft" for n in range(2))


def test_export_with_nothing_to_seal_writes_no_file_and_spends_no_sequence(
    tmp_path: Path,
) -> None:
    field = _field_with_reports(tmp_path, drafts=1, ready=0)
    out = tmp_path / "empty.age"
    result = export(field, out)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: nothing to export")
    assert "1" in result.stderr  # the draft left behind is counted
    assert not out.exists() and list(tmp_path.glob(".*.part")) == []
    # The sequence was not spent: the next real bundle is number 1.
    store = Store(Config(data_dir=field))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    conn.execute("UPDATE reports SET status = 'ready'")
    conn.commit()
    conn.close()
    store.lock()
    result = export(field, out)
    assert result.exit_code == 0 and "(bundle 1)" in result.stderr


def test_web_export_with_nothing_to_seal_shows_a_message_and_no_file(
    client: FlaskClient, field_store: Store, tmp_path: Path
) -> None:
    from tests.test_exchange_pages import _add_recipient

    _add_recipient(client, init(tmp_path / "c", "coordinator"))
    _post_report(client, draft=True)
    folder = tmp_path / "usb"
    folder.mkdir()
    for target in (str(folder), ""):  # a folder, and the download
        token = csrf_token(client, "/exchange/export")
        response = client.post("/exchange/export", data={"csrf_token": token, "folder": target})
        assert response.status_code == 400
        assert "nothing to export" in response.get_data(as_text=True)
    assert list(folder.iterdir()) == []
    assert [p for p in field_store.config.data_dir.rglob("bundle-*")] == []


def test_json_listing_carries_draft_on_a_field_store(tmp_path: Path) -> None:
    field = _field_with_reports(tmp_path, drafts=1, ready=1)
    lines = [json.loads(line) for line in
             run("reports", "list", "--json", "--data", str(field)).stdout.splitlines()]
    assert sorted(r["draft"] for r in lines) == [False, True]


def test_reports_of_an_older_store_stay_exportable(config: Config, field_store: Store) -> None:
    """Before drafts, every report was stored as 'draft' and exported: keep that meaning."""
    import sqlcipher3

    conn = sqlcipher3.connect(":memory:")  # a store of the first schema version
    conn.executescript(migrations.MIGRATIONS[0])
    conn.execute(
        "INSERT INTO reports(id, revision, status, created_at, updated_at, title, body,"
        " content_sha256) VALUES ('old', 1, 'draft', 'x', 'x', 't', '{}', 'h')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    assert migrations.upgrade(conn) == len(migrations.MIGRATIONS)
    assert conn.execute("SELECT status FROM reports WHERE id = 'old'").fetchone()[0] == "ready"
    conn.close()


def test_public_submission_is_ready(public_client: FlaskClient, field_store: Store) -> None:
    data = report_form()
    data["csrf_token"] = csrf_token(public_client, "/")
    data["save"] = "1"
    response = public_client.post("/", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 303)
    conn = field_store.connect()
    assert [r[0] for r in conn.execute("SELECT status FROM reports")] == ["ready"]
    conn.close()
