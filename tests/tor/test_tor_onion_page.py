"""The operator's onion page and the QR helpers (no tor needed)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.tor.qr import svg_qr, terminal_qr
from app.web import onion_page

ADDRESS = "zi7wl3efa5wcgr74hd5u3ekvhedlesq4jicg4rbottfvm5fgxfd4imqd.onion"
KEY = base64.b32encode(bytes(range(32))).decode().rstrip("=")


def test_svg_qr_is_safe_under_the_csp() -> None:
    svg = svg_qr(f"http://{ADDRESS}/")
    assert svg.startswith("<svg ")
    assert svg.endswith("</svg>")
    for forbidden in ("style", "script", "href", "xlink", "<image", "<foreign", "url(", "on"):
        assert forbidden not in svg.lower().replace("onion-qr", ""), forbidden


def test_terminal_qr_is_plain_text() -> None:
    art = terminal_qr(f"http://{ADDRESS}/")
    assert "\x1b" not in art  # no escape sequences
    assert len(art.splitlines()) > 10


@pytest.fixture
def operator_app(app: Flask) -> Flask:
    """tests/conftest.py's operator app over an unlocked field store, with this page."""
    if "onion" not in app.blueprints:  # until app/__init__.py registers it
        app.register_blueprint(onion_page.bp)
    return app


def _csrf(client: FlaskClient, path: str = "/onion") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page[:400]
    return match.group(1)


def test_onion_page_shows_address_qr_and_manages_keys(operator_app: Flask) -> None:
    operator_app.config["KUAGER_ONION_ADDRESS"] = ADDRESS
    client = operator_app.test_client()
    page = client.get("/onion").get_data(as_text=True)
    assert f"http://{ADDRESS}/" in page
    assert "<svg " in page
    data: dict[str, Any] = {"csrf_token": _csrf(client), "key": KEY.lower()}
    assert client.post("/onion/keys", data=data).status_code == 303
    assert KEY in client.get("/onion").get_data(as_text=True)
    bad = {"csrf_token": _csrf(client), "key": "not-a-key"}
    assert client.post("/onion/keys", data=bad).status_code == 400
    data = {"csrf_token": _csrf(client), "key": KEY}
    assert client.post("/onion/keys/remove", data=data).status_code == 303
    assert KEY not in client.get("/onion").get_data(as_text=True)


def test_onion_page_without_onion_explains_how_to_start(operator_app: Flask) -> None:
    page = operator_app.test_client().get("/onion").get_data(as_text=True)
    assert "kuager serve --onion" in page
    assert "<svg" not in page


def test_generated_key_pair_stores_only_the_public_half(operator_app: Flask) -> None:
    client = operator_app.test_client()
    page = client.post("/onion/keys/generate", data={"csrf_token": _csrf(client)})
    assert page.status_code == 200
    secret = re.search(r"<code>([A-Z2-7]{52})</code>", page.get_data(as_text=True))
    assert secret
    later = client.get("/onion").get_data(as_text=True)
    assert secret.group(1) not in later
    assert len(re.findall(r"<li><code>[A-Z2-7]{52}</code>", later)) == 1


def test_forms_need_csrf(operator_app: Flask) -> None:
    operator_app.config["WTF_CSRF_ENABLED"] = True
    response = operator_app.test_client().post("/onion/keys", data={"key": KEY})
    assert response.status_code == 400
