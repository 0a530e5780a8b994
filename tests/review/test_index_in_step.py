"""The full-text index is written in the transaction of every write: create, edit,
attachments, delete, import, purge, retention. Inside that transaction a search already
finds the new text and no longer the old one (another connection sees neither until the
commit); an exception half-way leaves the index and the reports as they were; the
migration builds the index of a store from before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from werkzeug.datastructures import FileStorage

from app.config import Config
from app.exchange import records as exchange_records
from app.exchange.exporter import export_bundle
from app.exchange.importer import import_bundle
from app.records import attachments, intake, reports
from app.review import query
from app.store import fold, fulltext, keyring, migrations, retention
from app.store.spool import EncryptedSpool
from app.store.store import Store
from crypto import keys
from crypto.bundle import BundleEntry, seal_bundle
from crypto.device import DeviceKey
from tests.conftest import PASSPHRASE

BODY: dict[str, Any] = {
    "title": "", "description": "", "occurred_on": "2026-01-12", "occurred_precision": "day",
    "ended_on": "", "region": "astana", "place": "", "abroad_country": "", "rights": [],
    "acts": [], "victims": [], "perpetrators": [], "legal": [], "sources": [], "links": "",
    "sensitivity": "normal", "may_publish": False, "withhold_names": True, "contact": "",
}  # fmt: skip

#: The migrations a store had before the index was written in step (the last one is it).
_BEFORE_INDEX = migrations.MIGRATIONS.index(migrations._index_in_step)


def body(**fields: Any) -> dict[str, Any]:
    return {**BODY, **fields}


def found(conn: sqlcipher3.Connection, text: str) -> set[str]:
    return set(query.search(conn, text)[0])


def assert_consistent(conn: sqlcipher3.Connection) -> None:
    """Every report has one head and one index row, and nothing else has either; the
    index holds each report's latest title."""
    stored = {row[0] for row in conn.execute("SELECT DISTINCT id FROM reports")}
    heads = {row[0] for row in conn.execute("SELECT report_id FROM report_heads")}
    indexed = {row[0] for row in conn.execute("SELECT report_id FROM report_search_ids")}
    assert stored == heads == indexed
    assert conn.execute("SELECT count(*) FROM report_search").fetchone()[0] == len(stored)
    for report_id in stored:
        title = reports.latest(conn, report_id)["title"]
        if title:
            assert report_id in found(conn, f'"{title}"'), title


def upload(cfg: Config, name: str, data: bytes = b"plain text") -> FileStorage:
    spool = EncryptedSpool(cfg.spool_dir)
    spool.write(data)
    return FileStorage(stream=spool, filename=name, content_type="text/plain")


@pytest.fixture
def conn(field_store: Store) -> Iterator[sqlcipher3.Connection]:
    db = field_store.connect()
    yield db
    db.close()


@pytest.fixture
def other(field_store: Store) -> Iterator[sqlcipher3.Connection]:
    """A second connection: it sees only what was committed."""
    db = field_store.connect()
    yield db
    db.close()


# -- each kind of write, seen from inside its transaction ---------------------------------


def test_create_is_searchable_before_the_commit_and_only_there(
        conn: sqlcipher3.Connection, other: sqlcipher3.Connection) -> None:
    report_id = reports.create(conn, body(title="Пикет у акимата", description="Жаңаөзен"))
    assert conn.in_transaction
    assert found(conn, "Zhanaozen") == {report_id} == found(conn, "пикет")
    assert found(other, "пикет") == set()
    conn.commit()
    assert found(other, "пикет") == {report_id}
    assert_consistent(conn)


def test_a_revision_replaces_the_old_text_in_its_transaction(
        conn: sqlcipher3.Connection, other: sqlcipher3.Connection) -> None:
    report_id = reports.create(conn, body(title="Первое", description="задержание"))
    conn.commit()
    reports.update(conn, report_id, body(title="Второе", description="штраф"))
    assert found(conn, "штраф") == {report_id} and found(conn, "задержание") == set()
    assert found(other, "задержание") == {report_id} and found(other, "штраф") == set()
    conn.commit()
    assert found(other, "штраф") == {report_id} and found(other, "первое") == set()
    assert_consistent(conn)


def test_delete_forgets_in_its_transaction(conn: sqlcipher3.Connection,
                                           other: sqlcipher3.Connection) -> None:
    keep = reports.create(conn, body(title="Остаётся"))
    gone = reports.create(conn, body(title="Удаляется", description="уникальное слово"))
    conn.commit()
    reports.delete_rows(conn, [gone])
    assert found(conn, "уникальное") == set() and found(other, "уникальное") == {gone}
    conn.commit()
    assert found(other, "уникальное") == set() and found(other, "остаётся") == {keep}
    assert_consistent(conn)


def test_status_change_keeps_the_index(conn: sqlcipher3.Connection) -> None:
    report_id = reports.create(conn, body(title="Черновик"), draft=True)
    conn.commit()
    assert reports.set_draft(conn, report_id, False)
    conn.commit()
    assert found(conn, "черновик") == {report_id}
    assert_consistent(conn)


def test_attachment_names_follow_added_and_deleted_files(field_store: Store,
                                                         conn: sqlcipher3.Connection) -> None:
    cfg = field_store.config
    report_id = intake.save(conn, cfg, body(title="С файлом"),
                            [upload(cfg, "протокол_допроса.txt")])
    assert found(conn, "протокол") == {report_id}
    intake.save(conn, cfg, body(title="С файлом"), [upload(cfg, "видео_задержания.txt")],
                report_id=report_id)
    assert found(conn, "видео") == {report_id} == found(conn, "протокол")
    (first,) = [row for row in attachments.for_report(conn, report_id)
                if row["name"].startswith("протокол")]
    conn.execute("DELETE FROM attachments WHERE id = ?", (first["id"],))  # as desk does
    reports.update(conn, report_id, body(title="С файлом"), force=True)
    assert found(conn, "протокол") == set() and found(conn, "видео") == {report_id}
    conn.commit()
    assert_consistent(conn)


# -- an exception half-way leaves both as they were ----------------------------------------


class Boom(Exception):
    pass


def test_a_failure_inside_the_index_write_rolls_back_the_edit(
        field_store: Store, conn: sqlcipher3.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    report_id = intake.save(conn, field_store.config, body(title="Старое", description="до"),
                            [])

    def boom(*_args: object, **_kwargs: object) -> None:
        raise Boom

    monkeypatch.setattr(fulltext, "write", boom)
    with pytest.raises(Boom):
        intake.save(conn, field_store.config, body(title="Новое", description="после"), [],
                    report_id=report_id)
    monkeypatch.undo()
    assert reports.latest(conn, report_id)["revision"] == 1
    assert found(conn, "старое") == {report_id} and found(conn, "новое") == set()
    assert_consistent(conn)


def test_a_failure_after_the_index_write_rolls_back_both(
        field_store: Store, conn: sqlcipher3.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> str:
        raise Boom

    monkeypatch.setattr(attachments, "add_upload", boom)
    with pytest.raises(Boom):
        intake.save(conn, field_store.config, body(title="Не сохранится"),
                    [upload(field_store.config, "a.txt")])
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    assert found(conn, "сохранится") == set()
    assert_consistent(conn)


def test_a_delete_rolled_back_keeps_the_entry(conn: sqlcipher3.Connection) -> None:
    report_id = reports.create(conn, body(title="Не удалится"))
    conn.commit()
    reports.delete_rows(conn, [report_id])
    conn.rollback()
    assert found(conn, "удалится") == {report_id}
    assert_consistent(conn)


# -- import, purge, retention ----------------------------------------------------------------


class Coordinator:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.store = Store(Config(data_dir=tmp_path / "coord", default_locale="en"))
        self.store.create(PASSPHRASE, "coordinator")
        conn = self.store.connect()
        self.public = keyring.initialise(conn, "coordinator")
        conn.close()
        self.device = DeviceKey.generate()
        self.sequence = 0

    def send(self, items: dict[str, dict[str, Any]]) -> None:
        """One bundle with a report (revision 1) per id."""
        documents = {}
        for report_id, item in items.items():
            report = {"id": report_id, "revision": 1, "origin": "operator",
                      "created_at": "2026-01-12T00:00:00Z",
                      "updated_at": "2026-01-12T00:00:00Z", "body": body(**item)}
            documents[f"report-{report_id}.json"] = json.dumps(
                {"report": report, "attachments": [], "custody": []}).encode()
        entries = [BundleEntry(name, len(raw), hashlib.sha256(raw).digest(),
                               lambda r=raw: iter([r])) for name, raw in documents.items()]
        self.sequence += 1
        path = self.tmp / f"b{self.sequence}.age"
        with open(path, "wb") as fh:
            seal_bundle(fh, [keys.parse_recipient(self.public)], self.device, self.sequence,
                        entries, {"kind": "kuager-field-export", "store": "real"})
        import_bundle(self.store, path)


def test_import_indexes_in_the_import_transaction(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    coord = Coordinator(tmp_path)
    seen: dict[str, set[str]] = {}
    flush = exchange_records.ImportContext.flush

    def watched(context: exchange_records.ImportContext) -> None:
        flush(context)
        seen["inside"] = found(context.conn, "Қайрат")
        seen["old"] = found(context.conn, "Старый")
        other = coord.store.connect()
        seen["outside"] = found(other, "Қайрат")
        other.close()

    coord.send({"a" * 32: dict(title="Старый заголовок")})
    monkeypatch.setattr(exchange_records.ImportContext, "flush", watched)
    coord.send({"a" * 32: dict(title="Новый", description="Kairat"),
                "b" * 32: dict(title="Другой", description="Қайрат")})
    assert seen == {"inside": {"a" * 32, "b" * 32}, "old": set(), "outside": set()}
    conn = coord.store.connect()
    assert found(conn, "Kairat") == {"a" * 32, "b" * 32} and found(conn, "старый") == set()
    assert_consistent(conn)
    conn.close()


def test_a_failed_import_leaves_no_index_entry(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    coord = Coordinator(tmp_path)
    coord.send({"a" * 32: dict(title="Был до импорта")})
    flush = exchange_records.ImportContext.flush

    def flush_then_fail(context: exchange_records.ImportContext) -> None:
        flush(context)
        raise Boom

    monkeypatch.setattr(exchange_records.ImportContext, "flush", flush_then_fail)
    with pytest.raises(Boom):
        coord.send({"a" * 32: dict(title="Не пришёл"), "b" * 32: dict(title="Тоже нет")})
    conn = coord.store.connect()
    assert found(conn, "пришёл") == set() and found(conn, "тоже") == set()
    assert found(conn, "импорта") == {"a" * 32}
    assert_consistent(conn)
    conn.close()


def test_an_attachment_without_a_new_revision_is_indexed_on_import(tmp_path: Path) -> None:
    """The field device adds a file to an exported report: same text, new attachment; the
    coordinator keeps the revision and indexes the new name."""
    coord = Coordinator(tmp_path)
    field = Store(Config(data_dir=tmp_path / "field", default_locale="en"))
    field.create(PASSPHRASE, "field")
    conn = field.connect()
    keyring.initialise(conn, "field")
    keyring.add_recipient(conn, coord.public)
    report_id = intake.save(conn, field.config, body(title="Обыск"), [])
    export_bundle(field, tmp_path / "1.age")
    intake.save(conn, field.config, body(title="Обыск"),
                [upload(field.config, "постановление_суда.txt")], report_id=report_id)
    export_bundle(field, tmp_path / "2.age")
    conn.close()
    import_bundle(coord.store, tmp_path / "1.age")
    import_bundle(coord.store, tmp_path / "2.age")
    coordinator = coord.store.connect()
    assert found(coordinator, "постановление") == {report_id}
    assert coordinator.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
    assert_consistent(coordinator)
    coordinator.close()


def test_purge_removes_the_entries_with_the_reports(tmp_path: Path) -> None:
    coord = Coordinator(tmp_path)
    field = Store(Config(data_dir=tmp_path / "field", default_locale="en"))
    field.create(PASSPHRASE, "field")
    conn = field.connect()
    keyring.initialise(conn, "field")
    keyring.add_recipient(conn, coord.public)
    sent = reports.create(conn, body(title="Отправлено"))
    draft = reports.create(conn, body(title="Черновик остался"), draft=True)
    conn.commit()
    export_bundle(field, tmp_path / "p.age", purge=True)
    assert found(conn, "отправлено") == set() and found(conn, "черновик") == {draft}
    assert_consistent(conn)
    conn.close()
    import_bundle(coord.store, tmp_path / "p.age")
    coordinator = coord.store.connect()
    assert found(coordinator, "отправлено") == {sent}
    coordinator.close()


def test_retention_removes_heads_and_entries(field_store: Store,
                                             conn: sqlcipher3.Connection) -> None:
    old = reports.create(conn, body(title="Давно экспортирован"))
    kept = reports.create(conn, body(title="Свежий"))
    conn.execute("INSERT INTO exports(sequence, created_at, report_count) VALUES (1, ?, 1)",
                 ((datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ"),))
    conn.execute("UPDATE reports SET exported_in = 1, status = 'exported' WHERE id = ?",
                 (old,))
    retention.set_days(conn, 30)
    conn.commit()
    assert retention.apply(conn, field_store.config.files_dir) == 1
    assert found(conn, "экспортирован") == set() and found(conn, "свежий") == {kept}
    assert_consistent(conn)


# -- a store from before: the migration builds the index -----------------------------------


def _older_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store at the version before indexing in step: some heads indexed, some stale."""
    store = Store(Config(data_dir=tmp_path / "old", default_locale="en"))
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:_BEFORE_INDEX])
    store.create(PASSPHRASE, "field")
    conn = store.connect()
    for number, title in enumerate(("Индексирован", "Ждёт индекса Жаңаөзен")):
        report_id = f"{number}" * 32
        document = body(title=title)
        conn.execute("INSERT INTO reports(id, revision, created_at, updated_at, title,"
                     " occurred_on, region, body, content_sha256) VALUES (?,1,?,?,?,?,?,?,?)",
                     (report_id, "2026-01-01", "2026-01-01", title, "", "astana",
                      reports.canonical_json(document), reports.content_hash(document)))
        conn.execute("INSERT INTO report_heads(report_id, revision, title, received_at,"
                     " updated_at, indexed) VALUES (?,1,?,'2026-01-01','2026-01-01',?)",
                     (report_id, title, 1 - number))
    fulltext.write(conn, "0" * 32, body(title="Индексирован"))
    conn.commit()
    conn.close()
    store.lock()
    monkeypatch.undo()
    return store


def test_the_migration_indexes_an_older_store(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = _older_store(tmp_path, monkeypatch)
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert found(conn, "Zhanaozen") == {"1" * 32} and found(conn, "индексирован") == {"0" * 32}
    columns = {row[1] for row in conn.execute("PRAGMA table_info(report_heads)")}
    assert "indexed" not in columns
    assert_consistent(conn)
    conn.close()


def test_a_failed_migration_leaves_the_store_at_its_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _older_store(tmp_path, monkeypatch)
    calls = []
    index_columns = fold.index_columns

    def fail_on_second(*args: Any, **kwargs: Any) -> tuple[str, str, str]:
        calls.append(args[0])  # the second report's entry, half-way through the rebuild
        if len(calls) == 2:
            raise Boom
        return index_columns(*args, **kwargs)

    monkeypatch.setattr(fold, "index_columns", fail_on_second)
    with pytest.raises(Boom):
        store.unlock(PASSPHRASE)
    monkeypatch.undo()
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:_BEFORE_INDEX])
    store.unlock(PASSPHRASE)  # opened without the last migration: as the failure left it
    db = store.connect()
    assert db.execute("PRAGMA user_version").fetchone()[0] == _BEFORE_INDEX
    assert "indexed" in {row[1] for row in db.execute("PRAGMA table_info(report_heads)")}
    assert fulltext.count(db) == 1
    db.close()
    store.lock()
    monkeypatch.undo()
    store.unlock(PASSPHRASE)
    db = store.connect()
    assert found(db, "индексирован") == {"0" * 32} and found(db, "Жаңаөзен") == {"1" * 32}
    assert_consistent(db)
    db.close()
