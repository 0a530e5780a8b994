"""The statistics, briefing and table-writing pages (app/web/review.py) over the corpus."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app
from tests.conftest import PASSPHRASE, csrf_token
from tests.review import corpus as corpus_module
from tests.review.corpus import Corpus
from tests.review.test_stats import expected, in_scope


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from app.store import store as store_module
    from crypto import keywrap

    saved = store_module.KDF_PROFILE
    store_module.KDF_PROFILE = keywrap.TEST_PROFILE
    try:
        built = corpus_module.build(tmp_path_factory.mktemp("pages"), seed=7)
        corpus_module.confirm(built, "f1")
        corpus_module.reject(built, 3)
    finally:
        store_module.KDF_PROFILE = saved
    return built


def client_for(data: Path, lang: str = "en") -> FlaskClient:
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    app = create_operator_app(store.config, store,
                              {"TESTING": True, "KUAGER_DEFAULT_LOCALE": lang})
    return app.test_client()


@pytest.fixture
def client(corpus: Corpus) -> FlaskClient:
    return client_for(corpus.coordinator.config.data_dir)


def table_numbers(html: str) -> dict[str, int]:
    """The first table of numbers on the page: label -> count."""
    table = re.search(r'<table class="numbers">(.*?)</table>', html, re.S)
    assert table
    return {re.sub(r"<[^>]+>", "", label).strip(): int(n) for label, n in re.findall(
        r"<tr><td>(.*?)</td><td class=\"num\">(\d+)</td></tr>", table[1])}


def test_stats_page_numbers_match_the_independent_count(corpus: Corpus,
                                                        client: FlaskClient) -> None:
    page = client.get("/review/stats?by=region&include_unconfirmed=1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    want = expected(corpus, ("region",), unconfirmed=True)
    got = table_numbers(html)
    assert sorted(got.values()) == sorted(want.values())
    assert "<script" not in html
    assert '<svg class="chart"' in html or "<svg" in html
    assert "rejected report" in html  # what was left out, and how many


def test_people_and_charts_well_formed(corpus: Corpus, client: FlaskClient) -> None:
    html = client.get("/review/stats?by=victim_role&count=people&include_unconfirmed=1"
                      ).get_data(as_text=True)
    want = expected(corpus, ("victim_role",), people=True, unconfirmed=True)
    assert sorted(table_numbers(html).values()) == sorted(want.values())
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        ET.fromstring(svg)  # noqa: S314 - our own output, under test


def test_month_timeline_and_cross_tab(client: FlaskClient) -> None:
    html = client.get("/review/stats?by=month&by2=act&include_unconfirmed=1"
                      "&include_rejected=1").get_data(as_text=True)
    assert "month unknown" in html
    assert 'class="numbers cross"' in html


def test_empty_result_says_no_reports_match(tmp_path: Path) -> None:
    store = corpus_module._store(tmp_path / "empty", "coordinator")
    store.lock()
    client = client_for(tmp_path / "empty")
    html = client.get("/review/stats").get_data(as_text=True)
    assert "No reports match." in html
    chart = re.search(r"<svg.*?</svg>", html, re.S)
    assert chart and "No reports match." in chart[0]


def test_labels_in_the_page_language(corpus: Corpus) -> None:
    client = client_for(corpus.coordinator.config.data_dir)
    html = client.get("/review/stats?by=region&include_unconfirmed=1&lang=kk").get_data(
        as_text=True)
    assert '<html lang="kk">' in html
    if any(r.body["region"] == "almaty_city" for r in corpus.reports.values()):
        assert "Алматы қаласы" in html


def test_field_store_has_no_statistics(client: FlaskClient, tmp_path: Path) -> None:
    corpus_module._store(tmp_path / "f", "field").lock()
    field = client_for(tmp_path / "f")
    assert field.get("/review/stats").status_code == 404
    assert field.get("/review/briefing").status_code == 404


def test_briefing_withholds_names_and_has_no_contact(corpus: Corpus,
                                                    client: FlaskClient) -> None:
    html = client.get("/review/briefing?include_unconfirmed=1").get_data(as_text=True)
    assert "<script" not in html
    assert "reporter@example.org" not in html
    shown_reports = [r for r in corpus.reports.values()
                     if in_scope(corpus, r, unconfirmed=True, rejected=False)
                     and r.body["may_publish"]]
    named = {p["name"] for r in shown_reports for p in r.body["victims"]
             if p["name"] and p["may_name"] and not r.body["withhold_names"]}
    withheld = {p["name"] for r in shown_reports for p in r.body["victims"]
                if p["name"] and not (p["may_name"] and not r.body["withhold_names"])}
    for name in withheld - named:
        assert name not in html, name
    assert "name withheld" in html
    assert html.count('class="report-card"') == len(shown_reports)


def test_table_written_to_the_chosen_folder_only_after_confirmation(
        client: FlaskClient, tmp_path: Path) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    token = csrf_token(client, "/review/stats")
    form = {"csrf_token": token, "format": "csv", "folder": str(folder),
            "file_name": "briefing.csv"}
    refused = client.post("/review/table", data=form)
    assert refused.status_code == 400 and not list(folder.iterdir())
    assert "plaintext" in refused.get_data(as_text=True)
    done = client.post("/review/table", data={**form, "understood": "1"})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (folder / "briefing.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    before = (folder / "briefing.csv").read_bytes()
    again = client.post("/review/table", data={**form, "understood": "1"})
    assert again.status_code == 400 and "never replaces" in again.get_data(as_text=True)
    assert (folder / "briefing.csv").read_bytes() == before
    for bad in ({"folder": "relative/path"}, {"folder": str(tmp_path / "missing")},
                {"file_name": "../escape.csv"}, {"file_name": ".hidden"},
                {"format": "pdf"}):
        response = client.post("/review/table", data={**form, "understood": "1", **bad})
        assert response.status_code == 400, bad
    assert sorted(p.name for p in folder.iterdir()) == ["briefing.csv"]
    assert not (tmp_path / "escape.csv").exists()


def test_table_form_needs_csrf(client: FlaskClient, tmp_path: Path) -> None:
    response = client.post("/review/table", data={"format": "csv", "folder": str(tmp_path),
                                                  "file_name": "x.csv", "understood": "1"})
    assert response.status_code == 400
    assert not (tmp_path / "x.csv").exists()


def test_filters_carry_into_the_page_briefing_and_table(corpus: Corpus, client: FlaskClient,
                                                        tmp_path: Path) -> None:
    token = csrf_token(client, "/review/stats")
    posted = client.post("/review/stats", data={"csrf_token": token, "region": "almaty_city",
                                                "q": "Айгүл", "by": "region",
                                                "include_unconfirmed": "1"})
    assert posted.status_code == 303
    location = posted.headers["Location"]
    assert "almaty" not in location and "q=" not in location and "%D0" not in location
    assert "f=" in location and "by=region" in location
    html = client.get(location).get_data(as_text=True)
    want = {k: n for k, n in expected(
        Corpus(corpus.coordinator, {i: r for i, r in corpus.reports.items()
                                    if any("Айгүл" in v["name"] for v in r.body["victims"])
                                    or "Айгүл" in r.body["title"]},
               corpus.fingerprints, corpus.confirmed),
        ("region",), unconfirmed=True).items() if k[0] == "almaty_city"}
    assert sorted(table_numbers(html).values()) == sorted(want.values())
    filter_id = re.search(r'name="f" value="([^"]+)"', html)
    assert filter_id
    briefing = client.get(f"/review/briefing?f={filter_id[1]}&include_unconfirmed=1"
                          "&all_reports=1").get_data(as_text=True)
    assert briefing.count('class="report-card"') == sum(want.values())
    assert "Айгүл" in briefing  # the provenance names the search (the page is not a URL)
    folder = tmp_path / "out"
    folder.mkdir()
    done = client.post("/review/table", data={
        "csrf_token": token, "format": "json", "folder": str(folder), "file_name": "t.jsonl",
        "understood": "1", "f": filter_id[1], "include_unconfirmed": "1", "all_reports": "1"})
    assert done.status_code == 200
    lines = (folder / "t.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) - 1 == sum(want.values())
    assert "Айгүл" in lines[0]


def test_filters_in_a_url_are_moved_into_memory(client: FlaskClient) -> None:
    response = client.get("/review/stats?region=atlantis&by=act")
    assert response.status_code == 303
    assert "atlantis" not in response.headers["Location"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Unknown value ignored" in html
    expired = client.get("/review/stats?f=not-an-id").get_data(as_text=True)
    assert "expired" in expired


def test_filter_form_needs_csrf(client: FlaskClient) -> None:
    assert client.post("/review/stats", data={"region": "astana"}).status_code == 400
