"""Training mode chosen on the web setup page, as well as with ``kuager init --training``."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.config import Config
from app.store import training
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.conftest import PASSPHRASE, csrf_token


@pytest.fixture
def fresh_client(config: Config, store: Store) -> FlaskClient:
    return create_operator_app(config, store, {"TESTING": True}).test_client()


def _setup(client: FlaskClient, **extra: str) -> int:
    data = {"csrf_token": csrf_token(client, "/setup"), "passphrase": PASSPHRASE,
            "confirm": PASSPHRASE, "role": "field", **extra}
    return client.post("/setup", data=data).status_code


def test_setup_page_offers_a_training_store(fresh_client: FlaskClient) -> None:
    page = fresh_client.get("/setup?lang=kk").get_data(as_text=True)
    assert 'type="checkbox" id="training" name="training" value="1"' in page
    assert "Оқу қоймасы" in page


def test_training_chosen_on_the_setup_page(fresh_client: FlaskClient, store: Store) -> None:
    assert _setup(fresh_client, training="1") == 303
    assert store.training
    page = fresh_client.get("/reports").get_data(as_text=True)
    assert "Training store: fictional data only" in page
    conn = store.connect()
    try:
        assert training.mode(conn) == training.TRAINING
    finally:
        conn.close()
    assert training.is_marked(store.config.data_dir)  # `kuager training reset` may wipe it
    store.lock()
    store.unlock(PASSPHRASE)
    assert store.training


def test_setup_without_the_box_makes_a_real_store(fresh_client: FlaskClient, store: Store) -> None:
    assert _setup(fresh_client) == 303
    assert not store.training
    assert "Training store" not in fresh_client.get("/reports").get_data(as_text=True)
    assert not training.is_marked(store.config.data_dir)


def test_the_box_stays_ticked_when_the_form_comes_back(fresh_client: FlaskClient,
                                                       store: Store) -> None:
    data = {"csrf_token": csrf_token(fresh_client, "/setup"), "passphrase": "short",
            "confirm": "short", "role": "field", "training": "1"}
    page = fresh_client.post("/setup", data=data).get_data(as_text=True)
    assert 'name="training" value="1" checked' in page and not store.exists()
