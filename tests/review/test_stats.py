"""app.review.stats against counts made here, in plain Python, from what the corpus wrote.

The expected side never reads the store: it knows each report's latest body, its device
and status because it wrote them (tests/review/corpus.py builds the store through intake,
export and import).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from app.review import stats
from app.review.stats import FIELDS, Scope
from tests.review import corpus as corpus_module
from tests.review.corpus import Corpus, Written


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from app.store import store as store_module
    from crypto import keywrap

    saved = store_module.KDF_PROFILE
    store_module.KDF_PROFILE = keywrap.TEST_PROFILE
    try:
        built = corpus_module.build(tmp_path_factory.mktemp("stats"))
        corpus_module.confirm(built, "f1")
        corpus_module.reject(built, 5)
    finally:
        store_module.KDF_PROFILE = saved
    return built


# ------------------------------------------------------------------ the independent count


def month_of(body: dict[str, Any]) -> str | None:
    date, precision = body["occurred_on"], body.get("occurred_precision") or "day"
    if precision not in ("day", "month") or len(date) < 7:
        return None
    return date[:7]


def year_of(body: dict[str, Any]) -> str | None:
    date, precision = body["occurred_on"], body.get("occurred_precision") or "day"
    if precision == "unknown" or len(date) < 4:
        return None
    return date[:4]


def values(report: Written, name: str, person: dict[str, Any] | None = None) -> set[Any]:
    """The groups one report (or one of its people) counts under for ``name``."""
    body = report.body
    if name == "region":
        found = {body["region"] or None}
    elif name == "right":
        found = set(body["rights"])
    elif name == "act":
        found = set(body["acts"])
    elif name == "perpetrator":
        found = {p["kind"] for p in body["perpetrators"] if p["kind"]}
    elif name == "victim_role":
        if person is not None:
            return {person["role"] or None}
        found = {v["role"] for v in body["victims"] if v["role"]}
    elif name == "month":
        found = {month_of(body)}
    elif name == "year":
        found = {year_of(body)}
    elif name == "status":
        found = {report.status}
    elif name == "device":
        found = {report.fingerprint}
    else:
        raise AssertionError(name)
    return found or {None}


def in_scope(corpus: Corpus, report: Written, *, unconfirmed: bool, rejected: bool) -> bool:
    if report.status == "rejected" and not rejected:
        return False
    return unconfirmed or report.fingerprint is None or report.fingerprint in corpus.confirmed


def expected(corpus: Corpus, by: tuple[str, ...], *, people: bool = False,
             unconfirmed: bool = False, rejected: bool = False) -> Counter:
    counts: Counter = Counter()
    for report in corpus.reports.values():
        if not in_scope(corpus, report, unconfirmed=unconfirmed, rejected=rejected):
            continue
        units: Iterable[dict[str, Any] | None] = report.body["victims"] if people else [None]
        for person in units:
            for key in itertools.product(*(values(report, n, person) for n in by)):
                counts[key] += 1
    return counts


def got(result: stats.Counts) -> Counter:
    return Counter({values: n for values, n in result.rows})


# ------------------------------------------------------------------ the tests

PAIRS = [(a, b) for a in FIELDS for b in FIELDS if a != b]


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("people", [False, True])
def test_one_field_matches_an_independent_count(corpus: Corpus, name: str,
                                                people: bool) -> None:
    conn = corpus.coordinator.connect()
    result = stats.count(conn, [name], unit="people" if people else "reports")
    assert got(result) == expected(corpus, (name,), people=people)
    assert all(n > 0 for _, n in result.rows)


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_every_cross_tab_matches_an_independent_count(corpus: Corpus, first: str,
                                                      second: str) -> None:
    conn = corpus.coordinator.connect()
    assert got(stats.count(conn, [first, second])) == expected(corpus, (first, second))


@pytest.mark.parametrize(("first", "second"), [("region", "victim_role"), ("act", "month"),
                                               ("victim_role", "perpetrator")])
def test_cross_tab_of_people(corpus: Corpus, first: str, second: str) -> None:
    conn = corpus.coordinator.connect()
    result = stats.count(conn, [first, second], unit="people")
    assert got(result) == expected(corpus, (first, second), people=True)


@pytest.mark.parametrize(("unconfirmed", "rejected"), list(itertools.product([False, True],
                                                                             repeat=2)))
def test_held_apart_unless_asked_and_said_how_many(corpus: Corpus, unconfirmed: bool,
                                                   rejected: bool) -> None:
    conn = corpus.coordinator.connect()
    scope = Scope(include_unconfirmed=unconfirmed, include_rejected=rejected)
    for people in (False, True):
        result = stats.count(conn, ["act"], scope, unit="people" if people else "reports")
        assert got(result) == expected(corpus, ("act",), people=people,
                                       unconfirmed=unconfirmed, rejected=rejected)

        def units(r: Written, people: bool = people) -> int:
            return len(r.body["victims"]) if people else 1

        everything = corpus.reports.values()
        total = sum(units(r) for r in everything
                    if in_scope(corpus, r, unconfirmed=unconfirmed, rejected=rejected))
        assert result.total == total
        left = {}
        if not rejected:
            left["rejected"] = sum(units(r) for r in everything if r.status == "rejected")
        if not unconfirmed:
            left["unconfirmed"] = sum(units(r) for r in everything if r.fingerprint
                                      and r.fingerprint not in corpus.confirmed)
        assert result.left_out == left
    # the corpus exercises what it claims to
    assert any(r.status == "rejected" for r in everything)
    assert any(r.fingerprint and r.fingerprint not in corpus.confirmed for r in everything)


def test_the_corpus_has_the_edges_the_rules_talk_about(corpus: Corpus) -> None:
    bodies = [r.body for r in corpus.reports.values()]
    assert any(len(b["acts"]) >= 2 for b in bodies)
    assert any(not b["acts"] for b in bodies)
    assert any(b["occurred_precision"] == "year" and b["occurred_on"] for b in bodies)
    assert any(b["occurred_precision"] == "unknown" for b in bodies)
    kinds = [[p["kind"] for p in b["perpetrators"]] for b in bodies]
    assert any(len(k) != len(set(k)) for k in kinds), "no report with two of one kind"
    conn = corpus.coordinator.connect()
    revised = conn.execute("SELECT count(DISTINCT id) FROM reports WHERE revision > 1")
    assert revised.fetchone()[0] >= 8


def test_a_year_only_report_counts_in_its_year_and_under_month_unknown(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    scope = Scope(include_unconfirmed=True, include_rejected=True)
    cross = got(stats.count(conn, ["year", "month"], scope))
    year_only = [r for r in corpus.reports.values()
                 if r.body["occurred_precision"] == "year" and r.body["occurred_on"]]
    assert year_only
    for year in {r.body["occurred_on"][:4] for r in year_only}:
        assert cross[(year, None)] >= sum(1 for r in year_only
                                          if r.body["occurred_on"][:4] == year)


def test_unknown_field_and_bad_arguments(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    with pytest.raises(stats.UnknownField):
        stats.count(conn, ["colour"])
    with pytest.raises(stats.UnknownField):
        stats.count(conn, ["region); DROP TABLE reports; --"])
    with pytest.raises(ValueError, match="one or two fields"):
        stats.count(conn, [])
    with pytest.raises(ValueError, match="one or two fields"):
        stats.count(conn, ["region", "act", "month"])
    with pytest.raises(ValueError, match="unknown unit"):
        stats.count(conn, ["region"], unit="households")


def test_an_empty_store_counts_nothing(tmp_path: Path) -> None:
    store = corpus_module._store(tmp_path / "empty", "coordinator")
    conn = store.connect()
    result = stats.count(conn, ["region", "act"])
    assert result.rows == [] and result.total == 0
    assert result.left_out == {"rejected": 0, "unconfirmed": 0}


def test_as_dicts_names_the_fields(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    result = stats.count(conn, ["region", "status"])
    dicts = result.as_dicts()
    assert dicts and set(dicts[0]) == {"region", "status", "count"}
    assert sum(d["count"] for d in dicts) == result.total  # single-valued fields partition


# ------------------------------------------------------------------ with the review filters

FILTER_CASES = [
    ({"region": ["almaty_city", "astana"]}, lambda r: r.body["region"] in ("almaty_city",
                                                                            "astana")),
    ({"act": ["fine"]}, lambda r: "fine" in r.body["acts"]),
    ({"victim_role": ["journalist"]},
     lambda r: any(v["role"] == "journalist" for v in r.body["victims"])),
    ({"status": ["rejected"]}, lambda r: r.status == "rejected"),
    ({"status": ["verified", "in_review"]}, lambda r: r.status in ("verified", "in_review")),
    ({"tag": ["жаңаөзен-2025"]}, lambda r: "Жаңаөзен-2025" in r.tags),
    ({"from": ["2025-01-01"], "to": ["2025-12-31"]},
     lambda r: r.body["occurred_precision"] != "unknown" and r.body["occurred_on"][:4] == "2025"),
]


@pytest.mark.parametrize(("given", "keep"), FILTER_CASES)
def test_filters_choose_the_reports_first(corpus: Corpus, given: dict[str, list[str]],
                                          keep: Callable[[Written], bool]) -> None:
    from app.review import filters as review_filters

    conn = corpus.coordinator.connect()
    chosen = review_filters.from_dict(given, role="coordinator", conn=conn)
    assert not chosen.notes, chosen.notes
    kept = Corpus(corpus.coordinator, {k: r for k, r in corpus.reports.items() if keep(r)},
                  corpus.fingerprints, corpus.confirmed)
    assert kept.reports, "the filter case matches nothing in the corpus"
    # a status filter that asks for rejected reports counts them
    rejected = "rejected" in given.get("status", [])
    for by in (("act",), ("region", "month")):
        result = stats.count(conn, by, Scope(filters=chosen))
        assert got(result) == expected(kept, by, rejected=rejected)
        left = {"unconfirmed": sum(1 for r in kept.reports.values()
                                   if r.fingerprint and r.fingerprint not in corpus.confirmed)}
        if not rejected:
            left["rejected"] = sum(1 for r in kept.reports.values() if r.status == "rejected")
        assert result.left_out == left
