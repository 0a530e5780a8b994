"""The review list finds exactly what the filters mean, in a stable order, page by page.

``listing`` combines the filters as sets of report ids (``filters.selection``: the heads'
columns, the facets and tags tables, the full-text match) with INTERSECT, and counts and
orders by the cheapest path for each case. Every case is compared here with the plain
reference: one query over ``filters.source`` (the same join the statistics use) with the
same ORDER BY, on a store with every kind of filterable value, for any combination of
filters (hypothesis), and paged through to the last row.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Config
from app.records import reports
from app.review import filters as review_filters
from app.review import listing, query, triage
from app.store import keyring
from app.store import store as store_module
from app.store.store import Store
from crypto import keywrap
from tests.conftest import PASSPHRASE

REGIONS = ("astana", "almaty_city", "abai", "mangystau")
ACTS = ("fine", "arrest", "threat")
RIGHTS = ("expression", "assembly")
ROLES = ("journalist", "activist")
KINDS = ("police", "knb")
STATUSES = ("new", "in_review", "verified")
TAGS = ("арест", "суд")
YEARS = ("2024", "2025", "2026")
WORDS = ("Жаңаөзен", "Zhanaozen", "пикет", "задержание", "Айгүл", "Aigul", "суд", "штраф",
         "Қайрат", "Kairat")
#: Searches: words, prefixes, transliterations, phrases, hostile and unsearchable text.
TEXTS = ("", "пикет", "пик", "zhanaozen", "Жаңа", "Aigul", "Kairat суд", '"пикет у"',
         "штраф*", "NEAR(", "!!!", "-", "общий")
DEVICES = [hashlib.sha256(f"d{n}".encode()).hexdigest()[:32] for n in range(3)]
COUNT = 260  # more than five pages, with every value many times over


def _body(rng: random.Random, n: int) -> dict[str, Any]:
    precision = rng.choice(("day", "month", "year", "unknown"))
    year = rng.choice(YEARS)
    occurred = {"day": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "month": f"{year}-0{rng.randint(1, 9)}", "year": year, "unknown": ""}[precision]
    words = " ".join(rng.sample(WORDS, 3))
    return reports.body_from_form({
        # Every fifth title is the same words: ties in relevance, broken by the index row.
        "title": "общий заголовок" if n % 5 == 0 else f"{rng.choice(WORDS)} {n}",
        "description": f"{words} у акимата" if n % 3 else words,
        "occurred_on": occurred, "occurred_precision": precision,
        "region": rng.choice(REGIONS),
        "rights": rng.sample(RIGHTS, rng.randint(0, 2)),
        "acts": rng.sample(ACTS, rng.randint(0, 3)),
        "perpetrators": [{"kind": rng.choice(KINDS), "name": ""}],
        "victims": [{"name": rng.choice(WORDS), "role": rng.choice(ROLES)}],
        "sensitivity": rng.choice(("normal", "high", "critical")),
    })


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "KDF_PROFILE", keywrap.TEST_PROFILE)
        coordinator = Store(Config(data_dir=Path(tmp_path_factory.mktemp("list")) / "c",
                                   default_locale="en"))
        coordinator.create(PASSPHRASE, "coordinator")
    conn = coordinator.connect()
    keyring.initialise(conn, "coordinator")
    for number, device in enumerate(DEVICES):
        conn.execute("INSERT INTO devices(device_id, public_key, fingerprint, first_seen,"
                     " confirmed) VALUES (?,?,?,?,?)",
                     (device, "00" * 32, f"{number:05d} 00000 00000 00000 00000 00000",
                      "2026-01-01T00:00:00Z", int(number < 2)))
    rng = random.Random(12)  # noqa: S311 - reproducible test data
    for n in range(COUNT):
        document = _body(rng, n)
        report_id = hashlib.sha256(f"r{n}".encode()).hexdigest()[:32]
        # Few distinct times: many ties in every date sort, broken by the id.
        stamp = f"2026-0{1 + n % 3}-01T00:00:00Z"
        device = rng.choice([*DEVICES, None])
        conn.execute(
            "INSERT INTO reports(id, revision, origin, status, created_at, updated_at, title,"
            " occurred_on, region, body, content_sha256, source_device, imported_at)"
            " VALUES (?,1,?,'imported',?,?,?,?,?,?,?,?,?)",
            (report_id, rng.choice(("operator", "public", "coordinator")), stamp, stamp,
             document["title"], document["occurred_on"], document["region"],
             reports.canonical_json(document), reports.content_hash(document), device,
             f"2026-0{1 + n % 4}-02T00:00:00Z"))
        reports.refresh_head(conn, report_id)
        conn.execute("UPDATE report_heads SET triage = ? WHERE report_id = ?",
                     (rng.choice(STATUSES), report_id))
        conn.commit()
        for tag in rng.sample(TAGS, rng.randint(0, 2)):
            triage.add_tag(conn, report_id, tag)
    conn.commit()
    conn.close()
    yield coordinator
    coordinator.lock()


@pytest.fixture(scope="module")
def conn(store: Store) -> Iterator[sqlcipher3.Connection]:
    db = store.connect()
    yield db
    db.close()


def reference(conn: sqlcipher3.Connection, filters: review_filters.Filters,
              sort: str | None) -> list[str]:
    """Every matching id in list order, the plain way: one join, one WHERE, one ORDER BY."""
    source, condition, params, searching = review_filters.source(filters, "coordinator")
    order = listing.SORTS[listing.choose_sort(sort, searching)]
    sql = f"SELECT h.report_id FROM {source} WHERE {condition} ORDER BY {order}"  # noqa: S608
    return [row[0] for row in conn.execute(sql, params)]


def every_page(conn: sqlcipher3.Connection, filters: review_filters.Filters,
               sort: str | None) -> tuple[int, list[str]]:
    first = listing.page(conn, filters, "coordinator", number=1, sort=sort)
    seen = [row["id"] for row in first.rows]
    for number in range(2, first.pages + 1):
        page = listing.page(conn, filters, "coordinator", number=number, sort=sort)
        assert page.total == first.total and page.number == number
        assert len(page.rows) == (listing.PAGE_SIZE if number < first.pages
                                  else first.total - (first.pages - 1) * listing.PAGE_SIZE)
        seen += [row["id"] for row in page.rows]
    return first.total, seen


filter_sets = st.fixed_dictionaries({}, optional={
    "text": st.sampled_from(TEXTS),
    "regions": st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True)
    .map(tuple),
    "acts": st.lists(st.sampled_from(ACTS), min_size=1, max_size=2, unique=True).map(tuple),
    "rights": st.lists(st.sampled_from(RIGHTS), min_size=1, max_size=2, unique=True)
    .map(tuple),
    "victim_roles": st.tuples(st.sampled_from(ROLES)),
    "perpetrators": st.tuples(st.sampled_from(KINDS)),
    "statuses": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2, unique=True)
    .map(tuple),
    "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True).map(tuple),
    "devices": st.lists(st.sampled_from(DEVICES), min_size=1, max_size=2, unique=True)
    .map(tuple),
    "sensitivities": st.tuples(st.sampled_from(("critical", "high"))),
    "origins": st.tuples(st.sampled_from(("operator", "public"))),
    "date_from": st.sampled_from(("2025-01-01", "2025-06-15")),
    "date_to": st.sampled_from(("2025-12-31", "2026-03-31")),
    "include_unconfirmed": st.booleans(),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=filter_sets, sort=st.sampled_from((None, "updated", "received", "occurred",
                                                "relevance")))
def test_any_filters_find_what_the_reference_finds(conn: sqlcipher3.Connection,
                                                   chosen: dict[str, Any],
                                                   sort: str | None) -> None:
    filters = review_filters.Filters(**chosen)
    expected = reference(conn, filters, sort)
    assert listing.count(conn, filters, "coordinator") == len(expected)
    assert listing.matching_ids(conn, filters, "coordinator", sort=sort) == expected
    assert listing.matching_ids(conn, filters, "coordinator", sort=sort, limit=7,
                                offset=3) == expected[3:10]


@pytest.mark.parametrize("chosen", [
    {},                                                   # the heads alone, by their index
    {"regions": ("astana",), "date_from": "2025-01-01"},  # columns of the heads
    {"acts": ("fine", "arrest")},                         # one set, a report in it twice
    {"tags": ("арест", "суд")},
    {"text": "пикет"},                                    # FTS5 alone
    {"text": "общий"},                                    # ties in bm25
    {"text": "Zhanaozen", "acts": ("fine",), "regions": ("astana", "abai")},
    {"text": "Aigul", "include_unconfirmed": False},
])
@pytest.mark.parametrize("sort", [None, "updated", "received", "occurred", "relevance"])
def test_pages_cover_every_match_once_in_the_reference_order(
        conn: sqlcipher3.Connection, chosen: dict[str, Any], sort: str | None) -> None:
    filters = review_filters.Filters(**chosen)
    expected = reference(conn, filters, sort)
    total, seen = every_page(conn, filters, sort)
    assert total == len(expected) and seen == expected and len(set(seen)) == len(seen)
    assert total > listing.PAGE_SIZE or chosen  # the unfiltered case spans several pages


def test_a_report_with_two_asked_codes_counts_once(conn: sqlcipher3.Connection) -> None:
    both = conn.execute(
        "SELECT count(*) FROM (SELECT report_id FROM report_facets WHERE kind = 'act' AND"
        " code IN ('fine', 'arrest') GROUP BY report_id HAVING count(*) = 2)").fetchone()[0]
    assert both > 0
    filters = review_filters.Filters(acts=("fine", "arrest"))
    ids = listing.matching_ids(conn, filters, "coordinator")
    assert listing.count(conn, filters, "coordinator") == len(ids) == len(set(ids))


def test_relevance_ties_keep_one_order(conn: sqlcipher3.Connection) -> None:
    filters = review_filters.Filters(text="общий заголовок")
    scores = [row[0] for row in conn.execute(
        f"SELECT {query.RANK_SQL} FROM report_search WHERE report_search MATCH ?",  # noqa: S608
        (review_filters.selection(filters, "coordinator").match,))]
    assert len(scores) > len(set(scores))  # there are ties to break
    first = listing.matching_ids(conn, filters, "coordinator", sort="relevance")
    assert first == listing.matching_ids(conn, filters, "coordinator", sort="relevance")
    assert first == reference(conn, filters, "relevance")


@pytest.mark.parametrize("number", [-3, 0, 1, 6, 7, 999])
def test_page_numbers_out_of_range_are_clamped(conn: sqlcipher3.Connection,
                                               number: int) -> None:
    page = listing.page(conn, review_filters.Filters(), "coordinator", number=number)
    last = -(-COUNT // listing.PAGE_SIZE)
    assert page.total == COUNT and page.pages == last
    assert page.number == min(max(1, number), last)
    assert page.first == (page.number - 1) * listing.PAGE_SIZE + 1
    assert page.last == min(COUNT, page.number * listing.PAGE_SIZE)


def test_nothing_searchable_matches_nothing(conn: sqlcipher3.Connection) -> None:
    page = listing.page(conn, review_filters.Filters(text="!!!"), "coordinator")
    assert (page.total, page.pages, page.rows) == (0, 1, [])


def test_the_page_shows_snippets_only_when_searching(conn: sqlcipher3.Connection) -> None:
    plain = listing.page(conn, review_filters.Filters(), "coordinator")
    assert all(row["snippet"] is None for row in plain.rows)
    found = listing.page(conn, review_filters.Filters(text="акимата"), "coordinator")
    assert found.rows and all("<mark>акимата</mark>" in row["snippet"] for row in found.rows)
    one = query.Highlighter("акимата")
    assert [one(row["title"]) for row in found.rows] == [
        query.highlight(row["title"], "акимата") for row in found.rows]


def test_a_snippet_names_a_legal_code_in_the_readers_words(tmp_path: Path) -> None:
    """A Russian search that matches a provision's code (folded, "административ" ~
    "administrative") shows the code list's label on the Russian page, never the code."""
    from app.config import Config
    from app.web.factory import create_operator_app

    cfg = Config(data_dir=tmp_path / "none")
    app = create_operator_app(cfg, Store(cfg), {"TESTING": True})
    body = json.dumps({"title": "Штраф", "description": "Оштрафовали активиста.",
                       "legal": [{"code": "administrative", "article": "488"}]})
    with app.test_request_context("/?lang=ru"):
        snippet = listing._snippet(body, query.Highlighter("административ"))
    assert snippet is not None and "administrative" not in snippet
    assert "<mark>административных</mark>" in snippet and "488" in snippet
    with app.test_request_context("/?lang=kk"):  # the Kazakh label has no such word
        assert listing._snippet(body, query.Highlighter("административ")) is None
    free = json.dumps({"title": "x", "legal": [{"code": "КоАП РК", "article": "488"}]})
    with app.test_request_context("/?lang=en"):  # free text is shown as written
        assert "<mark>КоАП</mark>" in str(listing._snippet(free, query.Highlighter("КоАП")))
