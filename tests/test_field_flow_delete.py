"""Deleting a report or an attachment takes two steps: a page (no script) names what goes."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient

from app.store.store import Store
from tests.conftest import csrf_token
from tests.test_desk import _files, _new_report


def _report_with_two_files(client: FlaskClient) -> str:
    return _new_report(client, title="Пикет 8 наурыз",
                       attachments=[(io.BytesIO(b"%PDF-1.4 x"), "хаттама.pdf"),
                                    (io.BytesIO(b"notes"), "notes.txt")])


def test_report_page_links_to_a_confirmation_not_a_delete(client: FlaskClient) -> None:
    report_id = _report_with_two_files(client)
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f'href="/reports/{report_id}/delete"' in page
    assert f'action="/reports/{report_id}/delete"' not in page
    assert not re.search(r'action="/reports/[0-9a-f]+/attachments/[0-9a-f]+/delete"', page)


def test_confirmation_names_the_report_and_its_files(client: FlaskClient,
                                                     field_store: Store) -> None:
    report_id = _report_with_two_files(client)
    before = _files(field_store)
    page = client.get(f"/reports/{report_id}/delete")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Пикет 8 наурыз" in text and "хаттама.pdf" in text and "notes.txt" in text
    assert "cannot be undone" in text and "has not been exported" in text
    assert _files(field_store) == before  # looking deleted nothing


def test_a_post_without_the_confirmation_deletes_nothing(client: FlaskClient,
                                                         field_store: Store) -> None:
    report_id = _report_with_two_files(client)
    token = csrf_token(client, f"/reports/{report_id}")
    response = client.post(f"/reports/{report_id}/delete", data={"csrf_token": token})
    assert response.status_code == 200 and "хаттама.pdf" in response.get_data(as_text=True)
    assert client.get(f"/reports/{report_id}").status_code == 200
    assert client.post(f"/reports/{report_id}/delete",
                       data={"confirmed": "1"}).status_code == 400  # no CSRF token
    assert client.get(f"/reports/{report_id}").status_code == 200


def test_confirming_deletes_the_report_and_its_files(client: FlaskClient,
                                                     field_store: Store) -> None:
    report_id = _report_with_two_files(client)
    token = csrf_token(client, f"/reports/{report_id}/delete")
    response = client.post(f"/reports/{report_id}/delete",
                           data={"csrf_token": token, "confirmed": "1"})
    assert response.status_code == 303
    assert client.get(f"/reports/{report_id}").status_code == 404
    assert _files(field_store) == []


def test_attachment_confirmation_names_the_file_then_deletes_only_it(
    client: FlaskClient, field_store: Store
) -> None:
    report_id = _report_with_two_files(client)
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    links = re.findall(r'href="(/reports/[0-9a-f]+/attachments/[0-9a-f]+/delete)"', page)
    assert len(links) == 2
    confirm = client.get(links[0]).get_data(as_text=True)
    named = [n for n in ("хаттама.pdf", "notes.txt") if n in confirm]
    assert len(named) == 1 and "Пикет 8 наурыз" in confirm
    token = csrf_token(client, links[0])
    assert client.post(links[0], data={"csrf_token": token}).status_code == 200  # asks again
    assert len(_files(field_store)) == 2
    assert client.post(links[0], data={"csrf_token": token, "confirmed": "1"}).status_code == 303
    view = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert named[0] not in view and len(_files(field_store)) == 1


def test_confirmation_pages_are_translated(client: FlaskClient) -> None:
    report_id = _report_with_two_files(client)
    kk = client.get(f"/reports/{report_id}/delete?lang=kk").get_data(as_text=True)
    ru = client.get(f"/reports/{report_id}/delete?lang=ru").get_data(as_text=True)
    assert "Бұл әрекетті қайтару мүмкін емес." in kk
    assert "Это действие нельзя отменить." in ru
