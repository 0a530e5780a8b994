"""app.records.dates: the ways Kazakh, Russian and English speakers write a date."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from app.records import dates
from app.store.store import Store
from tests.conftest import csrf_token, report_form


@pytest.mark.parametrize(
    ("text", "iso", "precision"),
    [
        ("2026-03-08", "2026-03-08", "day"),
        ("2026-3-8", "2026-03-08", "day"),
        ("08.03.2026", "2026-03-08", "day"),
        ("8.3.2026", "2026-03-08", "day"),
        ("8/3/2026", "2026-03-08", "day"),
        (" 08.03.2026 ", "2026-03-08", "day"),
        ("08.03.2026 ж.", "2026-03-08", "day"),
        ("08.03.2026 г.", "2026-03-08", "day"),
        ("8 March 2026", "2026-03-08", "day"),
        ("8 march 2026", "2026-03-08", "day"),
        ("March 8, 2026", "2026-03-08", "day"),
        ("8 Mar 2026", "2026-03-08", "day"),
        ("8 наурыз 2026", "2026-03-08", "day"),
        ("8 НАУРЫЗ 2026 ж.", "2026-03-08", "day"),
        ("2026 жылғы 8 наурыз", "2026-03-08", "day"),
        ("8 марта 2026", "2026-03-08", "day"),
        ("8 марта 2026 г.", "2026-03-08", "day"),
        ("8 марта 2026 года", "2026-03-08", "day"),
        ("8\u00a0марта\u00a02026\u202fг.", "2026-03-08", "day"),  # as format_date writes it
        ("12 қаңтар 2026 ж.", "2026-01-12", "day"),
        ("1 қыркүйек 2025", "2025-09-01", "day"),
        ("31 желтоқсан 2025", "2025-12-31", "day"),
        ("5 мая 2025", "2025-05-05", "day"),
        ("2026-03", "2026-03", "month"),
        ("03.2026", "2026-03", "month"),
        ("3.2026", "2026-03", "month"),
        ("March 2026", "2026-03", "month"),
        ("наурыз 2026", "2026-03", "month"),
        ("2026 ж. наурыз", "2026-03", "month"),
        ("наурыз 2026 ж.", "2026-03", "month"),
        ("март 2026", "2026-03", "month"),
        ("март 2026 г.", "2026-03", "month"),
        ("2026", "2026", "year"),
        ("2026 ж.", "2026", "year"),
        ("2026 г.", "2026", "year"),
    ],
)
def test_accepted_forms(text: str, iso: str, precision: str) -> None:
    assert dates.parse(text) == dates.ParsedDate(iso, precision)


@pytest.mark.parametrize("text", ["", "   ", "soon", "08.03.26", "8 марта", "2026-13",
                                  "13.2026", "8 smarch 2026", "2026-03-08T10:00", "26",
                                  "08-03-2026", "8 марта 2026 2027"])
def test_refused_forms(text: str) -> None:
    with pytest.raises(dates.DateError) as caught:
        dates.parse(text)
    assert caught.value.reason in ("format", "nonexistent")


@pytest.mark.parametrize("text", ["31.02.2026", "2026-02-30", "30 ақпан 2026", "29.02.2025",
                                  "00.03.2026", "32 марта 2026"])
def test_days_that_do_not_exist(text: str) -> None:
    with pytest.raises(dates.DateError) as caught:
        dates.parse(text)
    assert caught.value.reason == "nonexistent"


def test_leap_day() -> None:
    assert dates.parse("29.02.2024").iso == "2024-02-29"


@given(st.dates(min_value=__import__("datetime").date(1900, 1, 1)))
def test_every_iso_and_dotted_date_round_trips(d) -> None:  # type: ignore[no-untyped-def]
    assert dates.parse(d.isoformat()).iso == d.isoformat()
    assert dates.parse(d.strftime("%d.%m.%Y")).iso == d.isoformat()


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_what_format_date_writes_reads_back(app, lang: str) -> None:  # type: ignore[no-untyped-def]
    from app.i18n import format_date

    for iso in ("2026-03-08", "2026-03", "2026", "2025-09-01", "2025-05"):
        assert dates.parse(format_date(iso, locale=lang)).iso == iso


# -- the report form ----------------------------------------------------------------------


def _post(client: FlaskClient, **fields: object):  # type: ignore[no-untyped-def]
    data = report_form(**fields)
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    return client.post("/reports/new", data=data, content_type="multipart/form-data")


def _stored(store: Store) -> tuple[str, str, str]:
    import json

    conn = store.connect()
    body = json.loads(conn.execute("SELECT body FROM reports").fetchone()[0])
    conn.close()
    return body["occurred_on"], body["occurred_precision"], body["ended_on"]


def test_form_stores_iso_and_the_view_shows_the_page_language(client: FlaskClient,
                                                              field_store: Store) -> None:
    response = _post(client, occurred_on="08.03.2026", ended_on="10 наурыз 2026")
    assert response.status_code == 303
    assert _stored(field_store) == ("2026-03-08", "day", "2026-03-10")
    view = client.get(response.headers["Location"] + "?lang=ru").get_data(as_text=True)
    assert "8 марта 2026" in view and "10 марта 2026" in view


def test_month_alone_sets_the_precision(client: FlaskClient, field_store: Store) -> None:
    assert _post(client, occurred_on="наурыз 2026", occurred_precision="day").status_code == 303
    assert _stored(field_store)[:2] == ("2026-03", "month")


def test_form_refuses_with_a_translated_example(client: FlaskClient) -> None:
    data = report_form(occurred_on="08.03.26")
    data["csrf_token"] = csrf_token(client, "/reports/new?lang=kk")
    data["save"] = "1"
    page = client.post("/reports/new?lang=kk", data=data,
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "08.03.2026" in page and re.search("[әғқңөұүһі]", page)


def test_edit_form_shows_what_was_understood(client: FlaskClient, field_store: Store) -> None:
    report_id = _post(client, occurred_on="8 марта 2026").headers["Location"].rsplit("/", 1)[-1]
    page = client.get(f"/reports/{report_id}/edit?lang=kk").get_data(as_text=True)
    assert 'id="occurred_on-understood"' in page and "8 наурыз 2026" in page
