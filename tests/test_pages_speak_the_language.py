"""Every page of the desk, the public form and the error pages, rendered in Kazakh and
Russian over stores that hold reports, attachments, custody entries and an import error,
show no word in Latin letters alone outside an allow-list of names and codes
(``tests/visible_text.py``). Issue 14: English was left on kk and ru pages."""

from __future__ import annotations

import errno
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Config
from app.store import store as store_module
from app.store.store import Store
from app.web.factory import create_operator_app, create_public_app
from crypto import keywrap
from tests import desk_world
from tests.conftest import csrf_token, report_form
from tests.test_exchange import init
from tests.visible_text import latin_words, visible_text

LANGS = ("kk", "ru")


@dataclass
class Site:
    world: desk_world.World
    tmp: Path
    no_key: FlaskClient  # a field store without any coordinator key

    def app(self, client: FlaskClient) -> Flask:
        return client.application

    def store(self, client: FlaskClient) -> Store:
        return client.application.extensions["kuager.store"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "KDF_PROFILE", keywrap.TEST_PROFILE)
        patch.setenv("LANG", "C.UTF-8")
        tmp = tmp_path_factory.mktemp("pages")
        world = desk_world.build(tmp)
        init(tmp / "nokey", "field")
        no_key = desk_world.operator_client(tmp / "nokey")
        desk_world.new_report(no_key, title="Без ключа")
        no_key.get("/reports")  # its English "saved" message shown, not carried over
        yield Site(world, tmp, no_key)


def _get(client: FlaskClient, path: str, lang: str, status: int = 200) -> str:
    sep = "&" if "?" in path else "?"
    response = client.get(f"{path}{sep}lang={lang}")
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _post(client: FlaskClient, path: str, data: dict[str, object], lang: str, *,
          status: int, form_page: str | None = None) -> str:
    client.get(f"{form_page or path}?lang={lang}")  # the language cookie, then the form
    if "csrf_token" not in data:
        data = {**data, "csrf_token": csrf_token(client, form_page or path)}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _broken_app(site: Site, exc: Exception) -> FlaskClient:
    """An operator app with one route that fails: the 500 and 507 pages."""
    store = site.store(site.world.field)
    app = create_operator_app(store.config, store,
                              {"TESTING": True, "PROPAGATE_EXCEPTIONS": False})

    def fail() -> str:
        raise exc

    app.add_url_rule("/fail", "fail", fail)
    client = app.test_client()
    with client.session_transaction() as sess:  # admitted as the world's browser is
        sess["epoch"] = store.epoch
    return client


# -- the pages ---------------------------------------------------------------------------

def field_pages(site: Site, lang: str) -> dict[str, str]:
    w, f = site.world, site.world.field
    att = desk_world.attachment_ids(f, w.exported_id)[0]
    active = desk_world.attachment_ids(f, w.draft_id)
    grow = report_form(title="", description="")
    grow["add_victim"] = "1"
    return {
        "list": _get(f, "/reports", lang),
        "list drafts": _get(f, "/reports?status=draft", lang, 303) and
        _get(f, "/reports", lang),
        "new report": _get(f, "/reports/new", lang),
        "new report, errors": _post(f, "/reports/new", report_form(title="", region="x"),
                                    lang, status=400),
        "new report, another person": _post(f, "/reports/new", grow, lang, status=200),
        "view exported": _get(f, f"/reports/{w.exported_id}", lang),
        "view draft": _get(f, f"/reports/{w.draft_id}", lang),
        "edit": _get(f, f"/reports/{w.exported_id}/edit", lang),
        "confirm delete report": _get(f, f"/reports/{w.exported_id}/delete", lang),
        "confirm delete attachment": _get(
            f, f"/reports/{w.exported_id}/attachments/{att}/delete", lang),
        "active download warning": next(
            page for a in active
            if "<form" in (page := _get(f, f"/reports/{w.draft_id}/attachments/{a}", lang))),
        "export": _get(f, "/exchange/export", lang),
        "export, no key": _get(site.no_key, "/exchange/export", lang),
        "export, no key, refused": _post(site.no_key, "/exchange/export", {"folder": ""},
                                         lang, status=400),
        "settings": _get(f, "/settings/", lang),
        "settings, errors": _post(f, "/settings/lockout", {"wipe_after": "x"}, lang, status=400,
                                  form_page="/settings/"),
        "onion": _get(f, "/onion", lang),
        "blank": _get(f, "/blank", lang),
    }


def coordinator_pages(site: Site, lang: str) -> dict[str, str]:
    w, c = site.world, site.world.coordinator
    tampered = bytearray(w.bundle)
    tampered[-40] ^= 1
    c.get(f"/exchange/import?lang={lang}")
    refused = desk_world.import_upload(c, bytes(tampered), "пакет.age")
    assert refused.status_code == 400
    again = desk_world.import_upload(c, w.bundle, "пакет.age")
    return {
        "coordinator list": _get(c, "/reports", lang),
        "coordinator view": _get(c, f"/reports/{w.exported_id}", lang),
        "import": _get(c, "/exchange/import", lang),
        "import, refused": refused.get_data(as_text=True),
        "import, again": again.get_data(as_text=True),
        "coordinator settings": _get(c, "/settings/", lang),
    }


def locked_and_error_pages(site: Site, lang: str) -> dict[str, str]:
    field = site.store(site.world.field)
    locked = Store(Config(data_dir=site.world.field_dir))
    locked_client = create_operator_app(locked.config, locked, {"TESTING": True}).test_client()
    fresh = Store(Config(data_dir=site.tmp / f"fresh-{lang}"))
    fresh_client = create_operator_app(fresh.config, fresh, {"TESTING": True}).test_client()
    small = create_operator_app(field.config, field, {
        "TESTING": True, "MAX_CONTENT_LENGTH": 64}).test_client()
    unlock_error = _post(locked_client, "/unlock", {"passphrase": ""}, lang, status=200)
    return {
        "unlock": _get(locked_client, "/unlock", lang),
        "unlock, error": unlock_error,
        "setup": _get(fresh_client, "/setup", lang),
        "setup, errors": _post(fresh_client, "/setup", {"passphrase": "abc", "confirm": "x"},
                               lang, status=200),
        "404": _get(site.world.field, "/no-such-page", lang, 404),
        "405": _get(site.world.field, "/lock", lang, 405),
        "400 (form expired)": site.world.field.post(
            f"/reports/new?lang={lang}", data={"title": "x"}).get_data(as_text=True),
        "413": small.post(f"/reports/new?lang={lang}", data={"title": "т" * 200}
                          ).get_data(as_text=True),
        "500": _get(_broken_app(site, RuntimeError("boom")), "/fail", lang, 500),
        "507": _get(_broken_app(site, OSError(errno.ENOSPC, "No space left on device",
                                              str(field.config.data_dir / "x"))),
                    "/fail", lang, 507),
    }


def _full_public_form(store: Store, enabled: bool) -> None:
    from app.web.public import set_full_form

    conn = store.connect()
    try:
        with conn:
            set_full_form(conn, enabled)
    finally:
        conn.close()


def public_pages(site: Site, lang: str) -> dict[str, str]:
    field = site.store(site.world.field)
    public = create_public_app(field.config, field, {"TESTING": True}).test_client()
    busy_config = Config(data_dir=field.config.data_dir, public_submissions_per_hour=1)
    busy = create_public_app(busy_config, field, {"TESTING": True}).test_client()
    closed = create_public_app(field.config, Store(field.config), {"TESTING": True})
    sent = report_form(title="С открытой формы",
                       attachments=[(io.BytesIO(b"\xd0\xb0"), "фото.txt")])
    pages = {
        "public form": _get(public, "/", lang),
        "public form, errors": _post(public, "/", report_form(title="", description=""), lang,
                                     status=400),
    }
    _full_public_form(field, True)  # Settings → Public form: the monitor's full form
    try:
        pages["public full form"] = _get(public, "/", lang)
        pages["public full form, errors"] = _post(public, "/", report_form(title=""), lang,
                                                  status=400)
        pages["public full form, another person"] = _post(
            public, "/", {**report_form(), "add_victim": "1"}, lang, status=200)
    finally:
        _full_public_form(field, False)
    _post(public, "/", {**sent, "save": "1"}, lang, status=303)
    pages["thanks"] = _get(public, "/thanks", lang)
    _post(busy, "/", {**report_form(), "save": "1"}, lang, status=303)
    pages["busy"] = _post(busy, "/", {**report_form(), "save": "1"}, lang, status=429)
    pages["closed"] = _get(closed.test_client(), "/", lang, 503)
    pages["public 404"] = _get(public, "/reports", lang, 404)
    return pages


GROUPS: dict[str, Callable[[Site, str], dict[str, str]]] = {
    "field": field_pages, "coordinator": coordinator_pages,
    "locked and errors": locked_and_error_pages, "public": public_pages,
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("group", list(GROUPS))
def test_no_latin_word_on_any_page(site: Site, group: str, lang: str) -> None:
    pages = GROUPS[group](site, lang)
    found = {}
    for name, html in pages.items():
        assert f'<html lang="{lang}">' in html, name
        words = latin_words(html)
        if words:
            found[name] = sorted(set(words))
    assert not found, "\n".join(f"{name}: {' '.join(words)}" for name, words in found.items())


# -- the check itself --------------------------------------------------------------------

def test_the_check_sees_text_attributes_and_buttons() -> None:
    html = ('<p>Сақтау <b>Save</b></p><input placeholder="Search here"><img alt="photo">'
            '<input type="submit" value="Send"><input type="hidden" value="secret">'
            '<a title="Open">ашу</a><button aria-label="Close">×</button>')
    assert latin_words(html) == ["Save", "Search", "here", "photo", "Send", "Open", "Close"]


def test_the_check_passes_codes_names_and_file_names() -> None:
    html = ('<html lang="kk"><p>Kuager · SHA-256 · UTC+5 · age1qqq… · акт.pdf · Tor Browser-де'
            ' · <a lang="en">English</a></p>'
            '<code>kuager import FILE</code><p class="fingerprint">ABCD-EFGH</p>'
            '<span title="a">й</span><!-- hidden comment --><style>body{}</style>')
    assert latin_words(html) == []
    assert "hidden comment" not in " ".join(visible_text(html))


def test_the_check_fails_on_an_english_page() -> None:
    page = '<html lang="ru"><p>Заголовок</p><p class="error">This field is required.</p>'
    assert latin_words(page) == ["This", "field", "is", "required"]
    assert re.search("Заголовок", " ".join(visible_text(page)))
