"""Hostile HTTP: what a stranger on the onion can send must never cost a 5xx or a stored byte.

The first part drives both apps through Flask's test client (to see exactly which code
runs); the second talks to a real ``kuager serve --public-port`` over raw sockets:
malformed and truncated multipart, nameless parts, huge urlencoded bodies, many fields,
huge headers, non-UTF-8 bytes, slow clients. After each, nothing is stored and the server
still answers a normal request.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app

NAMELESS_FIELD = b'--XX\r\nContent-Disposition: form-data\r\n\r\nhello\r\n--XX--\r\n'
NAMELESS_FILE = (b'--XX\r\nContent-Disposition: form-data; filename="a.txt"\r\n'
                 b"Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n")
NO_DISPOSITION = b"--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"
MULTIPART = "multipart/form-data; boundary=XX"


def _spool_files(config: Config) -> list[Path]:
    return [p for p in config.spool_dir.iterdir()] if config.spool_dir.exists() else []


@pytest.fixture
def operator_client(config: Config, field_store: Store) -> FlaskClient:
    return create_operator_app(config, field_store, {"TESTING": True}).test_client()


@pytest.mark.parametrize("body", [NAMELESS_FIELD, NAMELESS_FILE, NO_DISPOSITION],
                         ids=["field", "file", "no-disposition"])
@pytest.mark.parametrize("side", ["public", "operator"])
def test_nameless_part_is_refused_with_400_and_no_traceback(
    side: str, body: bytes, *, public_client: FlaskClient, operator_client: FlaskClient,
    config: Config, caplog: pytest.LogCaptureFixture,
) -> None:
    client = public_client if side == "public" else operator_client
    path = "/" if side == "public" else "/unlock"
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, data=body, content_type=MULTIPART)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # Werkzeug skips a part without Content-Disposition: then the CSRF token is missing.
    assert ("expired" if body is NO_DISPOSITION else "could not be read") in page
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert _spool_files(config) == []


def test_nameless_part_after_a_file_leaves_no_spool(public_app: Flask, config: Config) -> None:
    body = (b'--XX\r\nContent-Disposition: form-data; name="attachments"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * 100_000 + b"\r\n"
            + NAMELESS_FIELD)
    response = public_app.test_client().post("/", data=body, content_type=MULTIPART)
    assert response.status_code == 400
    assert _spool_files(config) == []
