"""The export page: without a coordinator key it points to its own key form (issue 14: it
told a web user to run a command); the bundle destination (removable drives)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import desk_world
from tests.conftest import csrf_token
from tests.test_exchange import init


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "Paste your coordinator's public key"),
    ("kk", "ашық кілтін жоғарыдағы «Алушылар»"),
    ("ru", "Вставьте открытый ключ вашего координатора"),
])
def test_export_without_a_key_points_to_the_key_form(tmp_path: Path, lang: str,
                                                     words: str) -> None:
    init(tmp_path / "f", "field")
    client = desk_world.operator_client(tmp_path / "f")
    desk_world.new_report(client, title="Без ключа")
    usb = tmp_path / "usb"
    usb.mkdir()
    client.get(f"/exchange/export?lang={lang}")
    token = csrf_token(client, "/exchange/export")
    for folder in ("", str(usb)):
        response = client.post("/exchange/export", data={"csrf_token": token, "folder": folder})
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        alert = page.split('role="alert">', 1)[1].split("</p>", 1)[0]
        assert '<a href="#key">' in alert and words in alert
        assert 'id="key"' in page and 'id="recipients"' in page  # the form it points to
        assert "kuager recipients" not in page and "age1..." not in page  # no command
    assert list(usb.iterdir()) == []
    outbox = tmp_path / "f" / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []
    # With the key added on the same page, the same export goes through.
    key = init(tmp_path / "c", "coordinator")
    desk_world.add_recipient(client, key)
    done = client.post("/exchange/export", data={"csrf_token": token, "folder": str(usb)})
    assert done.status_code == 303 and len(list(usb.iterdir())) == 1
