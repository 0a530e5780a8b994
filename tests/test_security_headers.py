"""Headers and page rules on every page of both sites (parsed, not string-matched)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.conftest import csrf_token, report_form
from tests.test_desk import _new_report

OPERATOR_PAGES = [
    "/reports",
    "/reports/new",
    "/settings/",
    "/exchange/export",
    "/unlock",
    "/no-such-page",
]
PUBLIC_PAGES = ["/", "/no-such-page", "/?lang=kk", "/?lang=ru"]


def parse_csp(value: str) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for directive in filter(None, (d.strip() for d in value.split(";"))):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def _check(response) -> None:  # type: ignore[no-untyped-def]
    csp = parse_csp(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert "script-src" not in csp  # no script source at all: default-src 'none' applies
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    for sources in csp.values():
        assert all(s in ("'self'", "'none'", "data:") for s in sources), sources
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers
    body = response.get_data(as_text=True)
    assert "<script" not in body.lower()
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", body), "external reference"


@pytest.mark.parametrize("path", OPERATOR_PAGES)
def test_operator_pages(client: FlaskClient, path: str) -> None:
    _check(client.get(path))


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages(public_client: FlaskClient, path: str) -> None:
    _check(public_client.get(path))


def test_report_page_and_download(client: FlaskClient) -> None:
    import io

    report_id = _new_report(
        client, attachments=[(io.BytesIO(b"<script>alert(1)</script>"), "x.html")]
    )
    page = client.get(f"/reports/{report_id}")
    _check(page)
    link = re.search(
        r'href="(/reports/[0-9a-f]+/attachments/[0-9a-f]+)"', page.get_data(as_text=True)
    )
    warning = client.get(link.group(1))  # an active file: the warning page first
    _check(warning)
    download = client.post(link.group(1), data={"csrf_token": csrf_token(client, link.group(1))})
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in download.headers["Cache-Control"]


def test_session_cookie_flags(client: FlaskClient) -> None:
    response = client.get("/reports/new")
    cookies = response.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith("kuager_operator=")]
    assert session, cookies
    assert "HttpOnly" in session[0] and "SameSite=Strict" in session[0]


@pytest.mark.parametrize("path", ["/reports/new", "/reports", "/settings/"])
def test_page_weight_under_60_kb(client: FlaskClient, path: str) -> None:
    page = client.get(path).data
    assert len(page) + _css_size(client) < 60 * 1024


def test_public_form_weight(public_client: FlaskClient) -> None:
    page = public_client.get("/").data
    assert len(page) + _css_size(public_client) < 60 * 1024


def _css_size(client: FlaskClient) -> int:
    """The only other thing a page loads (no images, fonts or scripts)."""
    with client.get("/static/style.css") as response:
        assert response.status_code == 200
        return len(response.data)


def test_no_log_line_carries_report_data(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    _new_report(client, **{k: v for k, v in report_form(title="MARKER-ЛОГ-42").items() if k != "x"})
    for record in caplog.records:
        assert "MARKER" not in record.getMessage() and "127.0.0.1" not in record.getMessage()


class _Forms(__import__("html.parser").parser.HTMLParser):
    """Collects, for each <form>, the names of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append([])
        elif tag == "input" and self.forms:
            self.forms[-1].append(dict(attrs).get("name") or "")


def _forms(html: str) -> list[list[str]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def test_every_form_carries_a_csrf_token(client: FlaskClient, public_client: FlaskClient) -> None:
    import io

    report_id = _new_report(client, attachments=[(io.BytesIO(b"x"), "a.txt")])
    pages = [client.get(p) for p in ("/reports", "/reports/new", f"/reports/{report_id}",
                                      f"/reports/{report_id}/edit", "/settings/",
                                      "/exchange/export", "/onion")]
    pages.append(public_client.get("/"))
    counted = 0
    for page in pages:
        assert page.status_code == 200
        for inputs in _forms(page.get_data(as_text=True)):
            assert "csrf_token" in inputs, inputs
            counted += 1
    assert counted >= 12
