"""The public submission site: the form, a receipt, and nothing else."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from app.config import Config
from app.store.store import Store
from app.web.factory import create_public_app
from tests.conftest import csrf_token, report_form


def _submit(client: FlaskClient, **overrides: object) -> object:
    data = report_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/")
    data["save"] = "1"
    return client.post("/", data=data, content_type="multipart/form-data")


def test_form_submission_and_receipt(public_client: FlaskClient, field_store: Store) -> None:
    response = _submit(public_client)
    assert response.status_code == 303 and response.headers["Location"] == "/thanks"
    thanks = public_client.get("/thanks").get_data(as_text=True)
    receipt = thanks.split('class="fingerprint">', 1)[1].split("<", 1)[0]
    assert len(receipt) == 14 and receipt.count("-") == 2
    # Shown once only.
    assert public_client.get("/thanks").status_code == 302
    conn = field_store.connect()
    row = conn.execute("SELECT origin, body FROM reports").fetchone()
    conn.close()
    assert row["origin"] == "public" and receipt in row["body"]


def test_attachments_are_accepted(public_client: FlaskClient, field_store: Store) -> None:
    response = _submit(public_client, attachments=[(io.BytesIO(b"evidence"), "документ.txt")])
    assert response.status_code == 303
    assert len(list(field_store.config.files_dir.iterdir())) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/reports",
        "/reports/new",
        "/unlock",
        "/setup",
        "/settings/",
        "/exchange/export",
        "/lock",
        "/onion",
        "/reports/0123456789abcdef0123456789abcdef",
        "/admin",
        "/static/../app",
    ],
)
def test_every_other_path_is_404(public_client: FlaskClient, path: str) -> None:
    assert public_client.get(path).status_code == 404


def test_nothing_stored_is_revealed(public_client: FlaskClient) -> None:
    _submit(public_client, title="Секретный отчёт номер один")
    for path in ("/", "/thanks", "/?lang=kk"):
        assert "Секретный отчёт" not in public_client.get(path).get_data(as_text=True)


def test_locked_store_accepts_nothing(public_client: FlaskClient, field_store: Store) -> None:
    field_store.lock()
    assert public_client.get("/").status_code == 503


def test_global_budget(config: Config, field_store: Store) -> None:
    from dataclasses import replace

    app = create_public_app(
        replace(config, public_submissions_per_hour=2), field_store, {"TESTING": True}
    )
    client = app.test_client()
    assert _submit(client).status_code == 303
    assert _submit(client).status_code == 303
    third = _submit(client)
    assert third.status_code == 429
    conn = field_store.connect()
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 2
    conn.close()


def test_accept_language_is_ignored(public_client: FlaskClient) -> None:
    """Tor Browser always says English; the operator's default language wins."""
    page = public_client.get("/", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    assert '<html lang="en">' in page  # the test config's default
    page = public_client.get("/?lang=kk").get_data(as_text=True)
    assert '<html lang="kk">' in page


def test_budget_window_slides() -> None:
    from app.web.public import SubmissionBudget

    budget = SubmissionBudget(1)
    assert budget.take(now=0.0)
    assert not budget.take(now=10.0)
    assert budget.take(now=3601.0)


def test_language_cookie_ends_with_the_browser_session(public_client: FlaskClient,
                                                       client: FlaskClient) -> None:
    """A year-long cookie in a reporter's browser would be evidence of the visit."""
    public = [c for c in public_client.get("/?lang=kk").headers.getlist("Set-Cookie")
              if c.startswith("kuager_lang=")]
    assert public and "Max-Age" not in public[0] and "Expires" not in public[0]
    operator = [c for c in client.get("/reports?lang=kk").headers.getlist("Set-Cookie")
                if c.startswith("kuager_lang=")]
    assert operator and "Max-Age=" in operator[0]


def test_a_coordinator_store_takes_no_submissions(config: Config, store: Store) -> None:
    store.create("correct horse battery staple", "coordinator")
    client = create_public_app(config, store, {"TESTING": True}).test_client()
    assert client.get("/").status_code == 404
