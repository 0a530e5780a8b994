"""Fixtures after flaskr's: an app over a temporary store, its client, the CLI runner.

The KDF is made cheap here and only here (``cheap_kdf``), by swapping the profile object
the store module uses; production has no setting that could do the same by accident.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Config
from app.store import store as store_module
from app.store.store import Store
from app.web.factory import create_operator_app, create_public_app
from crypto import keywrap

PASSPHRASE = "correct horse battery staple"


#: Non-daemon threads a test left running. The interpreter waits for every one of them at
#: exit, so one leak turns a green run into a hang that CI only sees as a time-out.
_LEFT_RUNNING: list[str] = []


@pytest.fixture(autouse=True)
def no_thread_left_running(request: pytest.FixtureRequest) -> object:
    """Fail the test that leaves a non-daemon thread alive (e.g. a cheroot server bound but
    never stopped: its worker threads are not daemons)."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.daemon]
    deadline = time.monotonic() + 5  # one grace period for all, not one each
    for thread in left:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    left = [t for t in left if t.is_alive()]
    if left:
        names = ", ".join(sorted(t.name for t in left))
        _LEFT_RUNNING.append(f"{request.node.nodeid}: {names}")
        pytest.fail(f"non-daemon threads left running (the run would never exit): {names}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """After the summary: if a test leaked a thread (already failed above), exit now rather
    than wait for it for ever."""
    if _LEFT_RUNNING:
        print("\nthreads left running by:\n  " + "\n  ".join(_LEFT_RUNNING), file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


@pytest.fixture(autouse=True)
def cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "KDF_PROFILE", keywrap.TEST_PROFILE)


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI messages in English whatever the machine's locale; language tests set their own."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "store", default_locale="en")


@pytest.fixture
def store(config: Config) -> Store:
    return Store(config)


@pytest.fixture
def field_store(store: Store) -> Store:
    store.create(PASSPHRASE, "field")
    return store


@pytest.fixture
def app(config: Config, field_store: Store) -> Flask:
    return create_operator_app(config, field_store, {"TESTING": True})


@pytest.fixture
def public_app(config: Config, field_store: Store) -> Flask:
    return create_public_app(config, field_store, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def public_client(public_app: Flask) -> FlaskClient:
    return public_app.test_client()


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    match = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)
    ) or re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "no csrf_token on " + path
    return match.group(1)


def report_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Пикет у акимата",
        "description": "Белсенді ұсталды. Активиста задержали на 15 суток.",
        "occurred_on": "2026-01-12",
        "occurred_precision": "day",
        "region": "almaty_city",
        "place": "Алматы, площадь Республики",
        "rights": ["assembly", "expression"],
        "acts": ["detention_administrative", "fine"],
        "sensitivity": "normal",
    }
    data.update(overrides)
    return data


def require_tool(name: str) -> str:
    """Path of a system program, or skip; under CI (KUAGER_REQUIRE_SYSTEM_TOOLS=1) fail."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {name})"
        if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
