"""``report_facts`` (what each report counts under, read by app/review/stats.py) against
facts worked out here, in plain Python, from what the corpus wrote; kept in step by every
write (import, new revision, coordinator intake, triage, delete) and built by the
migration for a store made before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.config import Config
from app.records import intake, reports
from app.review import stats, triage
from app.store import fulltext, migrations
from app.store.store import Store
from tests.conftest import PASSPHRASE
from tests.review import corpus as corpus_module
from tests.review.corpus import Corpus, Written

Fact = tuple[str, str, str, int, int, str, str, str, str, str | None]


@pytest.fixture(autouse=True)
def _cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.store import store as store_module
    from crypto import keywrap

    monkeypatch.setattr(store_module, "KDF_PROFILE", keywrap.TEST_PROFILE)


def facts_of(report_id: str, body: dict[str, Any], triage_code: str,
             device_id: str | None) -> set[Fact]:
    """The rows one report should have, from the rules of docs/REVIEW-stats.md."""
    date, precision = body.get("occurred_on") or "", body.get("occurred_precision") or "day"
    known = reports.date_bounds(date, precision) is not None
    month = date[:7] if known and precision in ("day", "month") and len(date) >= 7 else ""
    year = date[:4] if known else ""

    def listed(name: str) -> list[Any]:
        value = body.get(name)
        return value if isinstance(value, list) else []  # not a list: no codes

    victims = listed("victims")
    people = len(victims)
    common = (body.get("region") or "", month, year, triage_code, device_id)
    rows: set[Fact] = {("region", common[0], report_id, 1, people, *common)}
    multi = {
        "right": {c for c in listed("rights") if isinstance(c, str) and c},
        "act": {c for c in listed("acts") if isinstance(c, str) and c},
        "perpetrator": {p.get("kind") for p in listed("perpetrators")
                        if isinstance(p, dict) and isinstance(p.get("kind"), str)
                        and p.get("kind")},
    }
    for name, codes in multi.items():
        rows |= {(name, code, report_id, 1, people, *common) for code in codes or {""}}
    roles = [v.get("role") if isinstance(v, dict) and isinstance(v.get("role"), str) else ""
             for v in victims]
    for role in {r for r in roles if r}:
        rows.add(("victim_role", role, report_id, 1, roles.count(role), *common))
    blank = roles.count("")
    if blank or not any(roles):
        rows.add(("victim_role", "", report_id, int(not any(roles)), blank, *common))
    return rows


def stored(conn: Any, report_id: str | None = None) -> set[Fact]:
    sql = ("SELECT field, value, report_id, counted, people, region, month, year, triage,"
           " device FROM report_facts")
    if report_id is None:
        return {tuple(r) for r in conn.execute(sql)}  # type: ignore[misc]
    return {tuple(r) for r in conn.execute(sql + " WHERE report_id = ?",  # type: ignore[misc]
                                           (report_id,))}


Codes = dict[str, tuple[frozenset[str], ...]]


def codes_wanted(facts: set[Fact]) -> Codes:
    """What each report's ``region`` row should carry (migration 7): per multi-valued
    field, the values of its rows that count the report."""
    out: dict[str, list[set[str]]] = {}
    for field, value, report_id, counted, *_rest in facts:
        sets = out.setdefault(report_id, [set() for _ in migrations.FACT_CODE_COLUMNS])
        if field in migrations.FACT_CODE_COLUMNS and counted:
            sets[list(migrations.FACT_CODE_COLUMNS).index(field)].add(value)
    return {report_id: tuple(map(frozenset, sets)) for report_id, sets in out.items()}


def codes_stored(conn: Any) -> Codes:
    columns = ", ".join(migrations.FACT_CODE_COLUMNS.values())
    return {row[0]: tuple(frozenset(text.split("\x1f")) for text in row[1:])
            for row in conn.execute(f"SELECT report_id, {columns} FROM report_facts"  # noqa: S608
                                    " WHERE field = 'region'")}


def expected(corpus: Corpus, conn: Any) -> set[Fact]:
    devices = {fp: d for d, fp in conn.execute("SELECT device_id, fingerprint FROM devices")}
    out: set[Fact] = set()
    for report in corpus.reports.values():
        device_id = devices[report.fingerprint] if report.fingerprint else None
        out |= facts_of(report.id, report.body, report.status, device_id)
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    built = corpus_module.build(tmp_path, per_device=12, local=3, revise=4)
    corpus_module.confirm(built, "f1")
    corpus_module.reject(built, 3)
    return built


def test_facts_follow_import_revisions_and_triage(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    revised = conn.execute("SELECT count(DISTINCT id) FROM reports WHERE revision > 1")
    assert revised.fetchone()[0] >= 4  # the second bundle carried new revisions
    assert stored(conn) == expected(corpus, conn)
    assert codes_stored(conn) == codes_wanted(expected(corpus, conn))
    # rebuilding the search index (its migration) leaves the facts as they are
    before = stored(conn)
    with conn:
        assert fulltext.rebuild(conn) == len(corpus.reports)
    assert stored(conn) == before


def test_a_status_change_reaches_every_row_of_the_report(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    report_id = next(r.id for r in corpus.reports.values() if r.status == "new")
    triage.set_status(conn, report_id, "rejected")
    corpus.reports[report_id].status = "rejected"
    rows = stored(conn, report_id)
    assert len(rows) >= 5 and {row[8] for row in rows} == {"rejected"}
    assert stored(conn) == expected(corpus, conn)
    before = stats.count(conn, ["act"], stats.Scope(include_rejected=True)).total
    assert stats.count(conn, ["act"]).left_out["rejected"] == 4
    assert stats.count(conn, ["act"]).total < before


def test_coordinator_writes_and_deletes_keep_the_facts(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    cfg = corpus.coordinator.config
    body = corpus_module.random_body(__import__("random").Random(3))
    body.update(acts=["fine", "fine"], occurred_on="2026-01-01", occurred_precision="year",
                victims=[{"name": "", "role": "", "consent": True, "may_name": False},
                         {"name": "Айгүл", "role": "journalist", "consent": True,
                          "may_name": True}])
    report_id = intake.save(conn, cfg, body, [])
    stored_body = reports.body_of(reports.latest(conn, report_id))
    corpus.reports[report_id] = Written(report_id, stored_body, None)
    assert stored(conn) == expected(corpus, conn)
    rows = stored(conn, report_id)
    assert ("act", "fine", report_id, 1, 2, body["region"], "", "2026", "new", None) in rows
    # one person without a role beside one with: the report counts under "journalist"
    # only, its people under both
    assert ("victim_role", "", report_id, 0, 1, body["region"], "", "2026", "new",
            None) in rows
    edited = dict(stored_body, acts=[], victims=[], occurred_on="2026-02-03",
                  occurred_precision="day")
    intake.save(conn, cfg, edited, [], report_id=report_id)
    corpus.reports[report_id].body = reports.body_of(reports.latest(conn, report_id))
    assert stored(conn) == expected(corpus, conn)
    assert ("act", "", report_id, 1, 0, body["region"], "2026-02", "2026", "new",
            None) in stored(conn, report_id)
    assert codes_stored(conn) == codes_wanted(expected(corpus, conn))
    assert codes_stored(conn)[report_id][1] == {""}  # no act any more: "not recorded"
    gone = next(r.id for r in corpus.reports.values() if r.fingerprint)
    reports.delete(conn, cfg, [gone, report_id])
    del corpus.reports[gone], corpus.reports[report_id]
    assert stored(conn, gone) == set() and stored(conn, report_id) == set()
    assert stored(conn) == expected(corpus, conn)


def test_a_body_of_odd_shape_is_counted_by_the_rules_and_never_fails_a_write(
        corpus: Corpus) -> None:
    """Values that are not text are not codes; a write never fails on them."""
    conn = corpus.coordinator.connect()
    body = {"title": "x", "occurred_on": "2025-13", "occurred_precision": "month",
            "region": "", "rights": ["expression", 7, "", None], "acts": "fine", "sources": [["fine"]],
            "perpetrators": ["police", {"kind": 3}, {"kind": "police"}, {"kind": "police"}],
            "victims": ["someone", {"role": None}, {"role": "lawyer"}]}
    conn.execute("INSERT INTO reports(id, revision, created_at, updated_at, title, body,"
                 " content_sha256) VALUES ('odd', 1, 'now', 'now', 'x', ?, 'h')",
                 (json.dumps(body),))
    reports.refresh_head(conn, "odd")
    conn.commit()
    assert stored(conn, "odd") == facts_of("odd", body, "new", None)
    rows = stored(conn, "odd")
    assert ("perpetrator", "police", "odd", 1, 3, "", "", "", "new", None) in rows
    assert ("act", "", "odd", 1, 3, "", "", "", "new", None) in rows  # "fine" is no list
    assert ("right", "expression", "odd", 1, 3, "", "", "", "new", None) in rows
    assert ("victim_role", "", "odd", 0, 2, "", "", "", "new", None) in rows
    assert codes_stored(conn)["odd"] == (frozenset({"expression"}), frozenset({""}),
                                         frozenset({"police"}), frozenset({"lawyer"}))


def test_the_migration_builds_the_facts_of_an_older_store(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
    store = Store(Config(data_dir=tmp_path / "old", default_locale="en"))
    store.create(PASSPHRASE, "coordinator")
    conn = store.connect()
    rng = __import__("random").Random(11)
    written = {}
    for n in range(12):
        report_id = intake.save(conn, store.config, corpus_module.random_body(rng), [])
        if n % 3 == 0:  # a second revision written before the upgrade
            intake.save(conn, store.config, corpus_module.random_body(rng), [],
                        report_id=report_id)
        written[report_id] = reports.body_of(reports.latest(conn, report_id))
    triage.set_status(conn, next(iter(written)), "rejected")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()
    store.lock()
    monkeypatch.undo()
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    statuses = dict(conn.execute("SELECT report_id, triage FROM report_heads").fetchall())
    want: set[Fact] = set()
    for report_id, body in written.items():
        want |= facts_of(report_id, body, statuses[report_id], None)
    assert stored(conn) == want
    assert codes_stored(conn) == codes_wanted(want)
    assert {r[8] for r in stored(conn, next(iter(written)))} == {"rejected"}
    assert stats.count(conn, ["region"]).total == len(written) - 1


def test_the_migration_gives_the_facts_of_a_store_their_codes(
        corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store made before migration 7 (its facts without the code columns) gets them
    for every report, and its later writes keep them."""
    store = corpus.coordinator
    conn = store.connect()
    before = stats.count(conn, ["perpetrator", "act"], stats.Scope(include_rejected=True,
                                                                   include_unconfirmed=True))
    # as migration 6 left it: no code columns, the triggers of migration 4
    for column in migrations.FACT_CODE_COLUMNS.values():
        conn.execute(f"ALTER TABLE report_facts DROP COLUMN {column}")
    conn.executescript("DROP TRIGGER report_facts_new; DROP TRIGGER report_facts_changed;"
                       + migrations.MIGRATIONS[3].split("CREATE INDEX report_facts_report")[1]
                       .split(";", 1)[1].split("CREATE TRIGGER report_facts_triage")[0])
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()
    store.lock()
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert codes_stored(conn) == codes_wanted(expected(corpus, conn))
    after = stats.count(conn, ["perpetrator", "act"], stats.Scope(include_rejected=True,
                                                                  include_unconfirmed=True))
    assert after.rows == before.rows and after.total == before.total


def test_a_filtered_count_leaves_no_transaction_and_no_table(corpus: Corpus) -> None:
    from app.review import filters as review_filters

    conn = corpus.coordinator.connect()
    chosen = review_filters.from_dict({"act": ["fine"]}, role="coordinator", conn=conn)
    # everything the filter chose, held apart or not (which reports are rejected depends
    # on their random ids: the kept ones alone could be none)
    result = stats.count(conn, ["region", "act"], stats.Scope(
        filters=chosen, include_unconfirmed=True, include_rejected=True))
    assert result.total > 0
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM temp.sqlite_master").fetchone()[0] == 0
    # inside a caller's transaction the count neither commits nor rolls it back
    conn.execute("UPDATE report_heads SET title = 'x' WHERE report_id = ?",
                 (next(iter(corpus.reports)),))
    stats.count(conn, ["act"], stats.Scope(filters=chosen))
    assert conn.in_transaction
    conn.rollback()
