"""The public submission site: the form, a receipt, and nothing else."""

from __future__ import annotations

import io
import json
import re

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


# -- the short form (issue 14, the remote reporter) --------------------------------------

def _short(client: FlaskClient, lang: str = "en", **fields: object) -> object:
    data: dict[str, object] = {"csrf_token": csrf_token(client, f"/?lang={lang}"), "save": "1"}
    data.update(fields)
    return client.post("/", data=data, content_type="multipart/form-data")


def _bodies(store: Store) -> list[dict[str, object]]:
    conn = store.connect()
    rows = conn.execute("SELECT body FROM reports ORDER BY created_at").fetchall()
    conn.close()
    return [json.loads(row["body"]) for row in rows]


def test_the_public_form_is_short_by_default(public_client: FlaskClient) -> None:
    page = public_client.get("/").get_data(as_text=True)
    for name in ("description", "occurred_on", "region", "place", "contact", "attachments",
                 "csrf_token"):
        assert f'name="{name}"' in page, name
    for name in ("rights", "acts", "victims-0-name", "add_victim", "sensitivity", "legal-0-code",
                 "may_publish", "title"):
        assert f'name="{name}"' not in page, name
    assert page.count("<nav") == 1 and page.count('hreflang="kk"') == 1  # one language bar
    # The skip link comes before the language bar and leads to the form.
    assert page.index('href="#report-form"') < page.index('hreflang="kk"')
    assert 'id="report-form"' in page
    assert "<script" not in page


def test_a_short_report_lands_in_the_store(public_client: FlaskClient, field_store: Store) -> None:
    description = ("Ақтөбеде 8 наурызда пикеттен кейін екі белсенді ұсталды, біреуінің телефонын алып "
                   "қойды.\nПодробности: их увезли в РОВД.")
    response = _short(public_client, lang="kk", description=description,
                      occurred_on="08.03.2026", region="aktobe", place="Ақтөбе",
                      contact="signal: aigul.42",
                      attachments=[(io.BytesIO(b"protocol"), "хаттама.txt")])
    assert response.status_code == 303
    [body] = _bodies(field_store)
    assert body["description"] == description
    assert body["occurred_on"] == "2026-03-08" and body["occurred_precision"] == "day"
    assert body["region"] == "aktobe" and body["place"] == "Ақтөбе"
    assert body["contact"] == "signal: aigul.42"
    assert body["title"] == "Ақтөбеде 8 наурызда пикеттен кейін екі белсенді ұсталды, біреуінің телефонын…"
    assert body["withhold_names"] is True and body["may_publish"] is False
    assert body["rights"] == [] and body["victims"] == [] and body["receipt"]
    assert len(list(field_store.config.files_dir.iterdir())) == 1


def test_a_short_report_has_the_shape_a_coordinator_imports(public_client: FlaskClient,
                                                           field_store: Store) -> None:
    """Only the one required field filled: every field still has its type (the import's
    schema check refuses a missing precision or a ``None`` text)."""
    from app.exchange import schema

    assert _short(public_client, description="Что-то случилось", occurred_on="").status_code == 303
    [body] = _bodies(field_store)
    assert body["region"] == "unknown" and body["occurred_precision"] == "unknown"
    assert body["title"] == "Что-то случилось"
    schema.check_report({"id": "0" * 32, "revision": 1, "origin": "public",
                         "created_at": "2026-01-01T00:00:00Z",
                         "updated_at": "2026-01-01T00:00:00Z", "body": body})


@pytest.mark.parametrize(("written", "iso", "precision"),
                         [("March 2026", "2026-03", "month"), ("2025", "2025", "year"),
                          ("2026-01-12", "2026-01-12", "day")])
def test_the_date_sets_its_precision(public_client: FlaskClient, field_store: Store,
                                     written: str, iso: str, precision: str) -> None:
    assert _short(public_client, description="x", occurred_on=written).status_code == 303
    [body] = _bodies(field_store)
    assert (body["occurred_on"], body["occurred_precision"]) == (iso, precision)


def test_the_short_form_takes_the_contract_fields(public_client: FlaskClient,
                                                  field_store: Store) -> None:
    """CONTRACT.md names title, rights and acts for POST /: taken although not shown."""
    response = _short(public_client, title="Задержание на пикете", description="Текст",
                      occurred_on="2026-01-12", region="almaty_city", place="Алматы",
                      rights=["assembly", "expression"], acts=["fine"])
    assert response.status_code == 303
    [body] = _bodies(field_store)
    assert body["title"] == "Задержание на пикете"
    assert body["rights"] == ["assembly", "expression"] and body["acts"] == ["fine"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"description": "  "}, "Describe what happened."),
    ({"description": "x", "occurred_on": "31.02.2026"}, "This date does not exist."),
    ({"description": "x", "occurred_on": "next week"}, "Write the date as"),
    ({"description": "x", "region": "atlantis"}, "Not a valid choice"),
    ({"description": "x", "rights": ["no_such_right"]}, "Rights affected"),
    ({"description": "x", "title": "T" * 301}, "Title"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_stored(
        public_client: FlaskClient, field_store: Store, fields: dict[str, object],
        message: str) -> None:
    response = _short(public_client, **fields,
                      attachments=[(io.BytesIO(b"kept nowhere"), "a.txt")])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was sent yet" in page and message in page
    assert _bodies(field_store) == []
    files = field_store.config.files_dir
    assert not files.exists() or list(files.iterdir()) == []


def test_the_short_form_needs_its_csrf_token(public_client: FlaskClient,
                                             field_store: Store) -> None:
    public_client.get("/")
    response = public_client.post("/", data={"description": "x", "save": "1"})
    assert response.status_code == 400 and _bodies(field_store) == []


def test_title_from_the_description() -> None:
    from app.web.public import TITLE_LENGTH, title_from

    assert title_from("\n\n  Короткий   текст \nвторая строка") == "Короткий текст"
    long = title_from("слово " * 40)
    assert long.endswith("слово…") and len(long) <= TITLE_LENGTH + 1
    assert len(title_from("ж" * 200)) == TITLE_LENGTH + 1  # one long word is cut too


# -- the monitor's switch: the full form --------------------------------------------------

def _switch(client: FlaskClient, full: bool) -> object:
    data = {"csrf_token": csrf_token(client, "/settings/")}
    if full:
        data["full"] = "y"
    return client.post("/settings/public-form", data=data)


def test_settings_switch_the_full_form_on_and_off(client: FlaskClient,
                                                  public_client: FlaskClient,
                                                  field_store: Store) -> None:
    assert 'name="full"' in client.get("/settings/").get_data(as_text=True)
    response = _switch(client, True)
    assert response.status_code == 303
    assert "full report form" in client.get("/settings/").get_data(as_text=True)
    page = public_client.get("/").get_data(as_text=True)
    assert 'name="rights"' in page and 'name="add_victim"' in page and 'name="title"' in page
    assert page.count("<nav") == 1
    # "Add another person" still works without script on the public side.
    grown = public_client.post("/", data={"csrf_token": csrf_token(public_client, "/"),
                                          "add_victim": "1", "description": "x"})
    assert grown.status_code == 200 and 'name="victims-1-name"' in grown.get_data(as_text=True)
    # The full form asks for a title: without one, a message and nothing stored.
    refused = public_client.post("/", data={"csrf_token": csrf_token(public_client, "/"),
                                            "save": "1", "description": "x",
                                            "region": "almaty_city"})
    assert refused.status_code == 400
    assert "Give the report a short title." in refused.get_data(as_text=True)
    assert _bodies(field_store) == []
    data = report_form(csrf_token=csrf_token(public_client, "/"), save="1")
    data["victims-0-name"] = "Айгүл"
    assert public_client.post("/", data=data,
                              content_type="multipart/form-data").status_code == 303
    [body] = _bodies(field_store)
    assert body["victims"][0]["name"] == "Айгүл"
    # Kept in the encrypted store, not in the app: a new app (a restart) sees it.
    conn = field_store.connect()
    from app.web.public import full_form
    assert full_form(conn)
    conn.close()
    assert _switch(client, False).status_code == 303
    assert 'name="rights"' not in public_client.get("/").get_data(as_text=True)


def test_the_switch_needs_its_csrf_token(client: FlaskClient, field_store: Store) -> None:
    client.get("/settings/")
    assert client.post("/settings/public-form", data={"full": "y"}).status_code == 400
    conn = field_store.connect()
    from app.web.public import full_form
    assert not full_form(conn)
    conn.close()


def test_a_coordinator_has_no_public_form_switch(config: Config, store: Store) -> None:
    from app.web.factory import create_operator_app

    store.create("correct horse battery staple", "coordinator")
    client = create_operator_app(config, store, {"TESTING": True}).test_client()
    assert 'name="full"' not in client.get("/settings/").get_data(as_text=True)
    token = csrf_token(client, "/settings/")
    assert client.post("/settings/public-form",
                       data={"csrf_token": token, "full": "y"}).status_code == 404


# -- the thanks page ------------------------------------------------------------------------

THANKS = {
    "en": ("Close this tab now", "This site has stored nothing on your device",
           "give this code to a monitor you trust"),
    "ru": ("Закройте эту вкладку", "Этот сайт ничего не сохранил на Вашем устройстве",
           "передайте этот код"),
    "kk": ("Осы қойындыны", "Бұл сайт Сіздің құрылғыңызда ештеңе сақтаған жоқ",
           "осы кодты"),
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_thanks_page_gives_safety_advice(public_client: FlaskClient, lang: str) -> None:
    response = _short(public_client, lang=lang, description="Текст")
    assert response.status_code == 303
    thanks = public_client.get("/thanks")
    page = thanks.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    for words in THANKS[lang]:
        assert words in page, words
    assert re.search(r'id="receipt" class="fingerprint">[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}<',
                     page)
    assert page.count("<nav") == 1


def test_no_cookie_outlasts_the_browser(public_client: FlaskClient) -> None:
    """What the thanks page promises: every cookie of the visit is a session cookie."""
    cookies = list(public_client.get("/?lang=kk").headers.getlist("Set-Cookie"))
    response = _short(public_client, lang="kk", description="Текст")
    cookies += response.headers.getlist("Set-Cookie")
    cookies += public_client.get("/thanks").headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        lowered = cookie.lower()
        assert "max-age" not in lowered and "expires" not in lowered, cookie


def test_closed_and_busy_pages_have_one_language_bar(public_client: FlaskClient,
                                                     field_store: Store) -> None:
    field_store.lock()
    page = public_client.get("/?lang=ru").get_data(as_text=True)
    assert page.count("<nav") == 1 and '<html lang="ru">' in page
