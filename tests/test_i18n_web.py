"""Choosing a language on the web: ?lang=, cookie, Accept-Language (operator only), default.

First against a minimal Flask app (the negotiation alone), then against the real
operator and public factories.
"""


from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_babel import gettext as _

from app import i18n
from app.config import Config
from app.records import codes
from app.store.store import Store
from app.web.factory import create_operator_app, create_public_app

PASSPHRASE = "correct horse battery staple"  # a throwaway test store
PAGE = ('<html lang="{{ html_lang() }}"><p>{{ _("Abroad") }}</p>'
        "{% for code, name, url, current in lang_switch_links() %}"
        '<a href="{{ url }}"{% if current %} aria-current="true"{% endif %}>{{ name }}</a>'
        "{% endfor %}<time>{{ format_date(day) }}</time><b>{{ format_number(n) }}</b>")
ABROAD = {"kk": "Шетелде", "ru": "За рубежом", "en": "Abroad"}
EN_BROWSER = {"Accept-Language": "en-US,en;q=0.5"}  # what Tor Browser always sends


def minimal_app(default: str = "ru", *, trust: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, KUAGER_DEFAULT_LOCALE=default)
    i18n.init_app(app, trust_accept_language=trust)

    @app.route("/page")
    def page() -> str:
        return render_template_string(PAGE, day="2026-01-12", n=1234)

    @app.route("/plain")
    def plain() -> str:
        return f"{i18n.get_locale()}|{_('Abroad')}"

    return app


def html_lang(text: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', text)
    assert match, text[:200]
    return match.group(1)


# --------------------------------------------------------------------------- negotiation


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_query_sets_language_and_cookie(lang: str) -> None:
    client = minimal_app("ru").test_client()
    response = client.get(f"/page?lang={lang}", headers=EN_BROWSER)
    assert html_lang(response.text) == lang
    assert ABROAD[lang] in response.text
    assert response.headers["Content-Language"] == lang
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{i18n.LANG_COOKIE}={lang};")
    for attribute in ("HttpOnly", "Path=/", "SameSite=Strict", "Max-Age=31536000"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1 and .onion
    # Remembered: the next page without ?lang= is in the same language.
    assert html_lang(client.get("/page", headers=EN_BROWSER).text) == lang


@pytest.mark.parametrize("value", ["de", "", "kk;drop", "../en", "KK-kz"])
def test_query_accepts_only_the_three_languages(value: str) -> None:
    client = minimal_app("ru", trust=False).test_client()
    response = client.get("/plain", query_string={"lang": value})
    expected = "kk" if value == "KK-kz" else "ru"
    assert response.text.split("|")[0] == expected
    if expected == "ru":
        assert "Set-Cookie" not in response.headers


def test_bad_cookie_is_ignored() -> None:
    client = minimal_app("kk", trust=False).test_client()
    client.set_cookie(i18n.LANG_COOKIE, "xx")
    assert client.get("/plain").text == "kk|Шетелде"


@pytest.mark.parametrize(
    ("header", "trust", "expected"),
    [("kk-KZ,kk;q=0.9", True, "kk"), ("ru-RU,ru;q=0.9,en;q=0.8", True, "ru"),
     ("en-US,en;q=0.5", True, "en"), ("de-DE", True, "kk"),
     ("en-US,en;q=0.5", False, "kk"), ("ru-RU", False, "kk")],
)
def test_accept_language_only_when_trusted(header: str, trust: bool, expected: str) -> None:
    client = minimal_app("kk", trust=trust).test_client()
    response = client.get("/plain", headers={"Accept-Language": header})
    assert response.text.split("|")[0] == expected
    assert ("Accept-Language" in response.headers.get("Vary", "")) is trust


def test_query_beats_cookie_beats_accept_language() -> None:
    client = minimal_app("en").test_client()
    client.set_cookie(i18n.LANG_COOKIE, "kk")
    assert client.get("/plain", headers={"Accept-Language": "ru"}).text.startswith("kk|")
    assert client.get("/plain?lang=en", headers={"Accept-Language": "ru"}).text.startswith("en|")


def test_switch_links_keep_the_page_and_its_arguments() -> None:
    client = minimal_app("ru").test_client()
    text = client.get("/page?lang=kk&q=%D0%90%D0%B1%D0%B0%D0%B9&page=2").text
    links = re.findall(r'<a href="([^"]+)"( aria-current="true")?>([^<]+)</a>', text)
    assert [(href.replace("&amp;", "&"), bool(cur), name) for href, cur, name in links] == [
        ("/page?q=%D0%90%D0%B1%D0%B0%D0%B9&page=2&lang=kk", True, "Қазақша"),
        ("/page?q=%D0%90%D0%B1%D0%B0%D0%B9&page=2&lang=ru", False, "Русский"),
        ("/page?q=%D0%90%D0%B1%D0%B0%D0%B9&page=2&lang=en", False, "English"),
    ]


@pytest.mark.parametrize(
    ("lang", "day", "number"),
    [("kk", "12 қаңтар 2026\u202fж.", "1\xa0234"), ("ru", "12 января 2026\u202fг.", "1\xa0234"),
     ("en", "January 12, 2026", "1,234")],
)
def test_template_dates_and_numbers_follow_language(lang: str, day: str, number: str) -> None:
    text = minimal_app().test_client().get(f"/page?lang={lang}").text
    assert f"<time>{day}</time>" in text
    assert f"<b>{number}</b>" in text


def test_unsupported_default_fails_at_start_up() -> None:
    app = Flask(__name__)
    app.config["KUAGER_DEFAULT_LOCALE"] = "de"
    with pytest.raises(i18n.CatalogError, match="KUAGER_DEFAULT_LOCALE"):
        i18n.init_app(app)


def test_missing_catalog_fails_at_start_up(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", tmp_path)
    with pytest.raises(i18n.CatalogError, match="no catalog for locale"):
        i18n.init_app(Flask(__name__))


def test_code_labels_outside_a_request_are_english() -> None:
    assert str(codes.REGIONS[3][1]) == "Abai Region"


# --------------------------------------------------------------------------- real apps


@pytest.fixture
def kk_config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "store", default_locale="kk")


@pytest.fixture
def kk_store(kk_config: Config) -> Store:
    store = Store(kk_config)
    store.create(PASSPHRASE, "field")
    return store


@pytest.fixture
def operator(kk_config: Config, kk_store: Store) -> FlaskClient:
    return create_operator_app(kk_config, kk_store, {"TESTING": True}).test_client()


@pytest.fixture
def public(kk_config: Config, kk_store: Store) -> FlaskClient:
    return create_public_app(kk_config, kk_store, {"TESTING": True}).test_client()


REGION_LABEL = {"kk": "Абай облысы", "ru": "область Абай", "en": "Abai Region"}
#: The short public form's button (the rights' check boxes are on the full form only).
SEND_LABEL = {"kk": "Хабарламаны жіберу", "ru": "Отправить сообщение", "en": "Send report"}


def test_public_site_ignores_tor_browsers_english(public: FlaskClient) -> None:
    """Tor Browser always asks for English; the public form opens in the operator's language."""
    response = public.get("/", headers=EN_BROWSER)
    assert response.status_code == 200
    assert html_lang(response.text) == "kk"
    assert "?lang=ru" in response.text
    assert "?lang=en" in response.text


def test_operator_pages_follow_accept_language(operator: FlaskClient) -> None:
    response = operator.get("/reports/new", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert response.status_code == 200
    assert html_lang(response.text) == "ru"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_public_form_speaks_the_chosen_language(public: FlaskClient, lang: str) -> None:
    response = public.get(f"/?lang={lang}", headers=EN_BROWSER)
    text = response.text
    assert html_lang(text) == lang
    assert REGION_LABEL[lang] in text
    assert SEND_LABEL[lang] in text
    assert f"{i18n.LANG_COOKIE}={lang}" in response.headers.get("Set-Cookie", "")
    # Remembered on the next visit, and on the error page too.
    assert html_lang(public.get("/", headers=EN_BROWSER).text) == lang
    missing = public.get("/no-such-page", headers=EN_BROWSER)
    assert missing.status_code == 404
    assert html_lang(missing.text) == lang


@pytest.mark.parametrize(
    ("lang", "message"),
    [("kk", "Мұнда бет жоқ."), ("ru", "Такой страницы нет."), ("en", "There is no page here.")],
)
def test_error_page_translated(operator: FlaskClient, lang: str, message: str) -> None:
    response = operator.get(f"/no-such-page?lang={lang}")
    assert response.status_code == 404
    assert html_lang(response.text) == lang
    assert message in response.text


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_operator_form_has_no_english_left(operator: FlaskClient, lang: str) -> None:
    """Every label on the report form comes from the catalog (spot check for English)."""
    text = operator.get(f"/reports/new?lang={lang}").text
    assert html_lang(text) == lang
    assert REGION_LABEL[lang] in text
    if lang != "en":
        for english in ("Region", "Title", "What happened", "Save report", "Unknown"):
            assert f">{english}<" not in text, english
