"""Group commit (app/store/group.py): submissions that arrive together share one fsynced
commit, and each caller returns only once its report is committed; one caller's error
takes nothing of the others with it; a failed commit saves none and tells every caller."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from app.config import Config
from app.messages import is_disk_full
from app.records import attachments, intake
from app.store.group import GroupCommit, NotSaved
from app.store.spool import EncryptedSpool
from app.store.store import Store
from tests.conftest import PASSPHRASE

BODY = {"title": "Пикет у акимата", "description": "Задержан активист.",
        "occurred_on": "2026-01-12", "region": "almaty_city", "place": "Алматы"}


def _titles(store: Store) -> list[str]:
    """What a fresh connection sees: only what was committed."""
    conn = store.connect()
    try:
        return sorted(row[0] for row in conn.execute("SELECT title FROM reports"))
    finally:
        conn.close()


def _insert(title: str):  # type: ignore[no-untyped-def]
    def work(conn: sqlcipher3.Connection) -> str:
        conn.execute(
            "INSERT INTO reports(id, origin, status, created_at, updated_at, title,"
            " occurred_on, region, body, content_sha256) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (title, "public", "ready", "t", "t", title, "2026-01-12", "almaty_city", "{}",
             title))
        return title
    return work


def _wait_for_waiting(group: GroupCommit, count: int) -> None:
    deadline = time.monotonic() + 10
    while group._waiting < count:
        assert time.monotonic() < deadline, "the other writers never queued"
        time.sleep(0.005)


def _burst(group: GroupCommit, works: list[Any]) -> list[Any]:
    """The first writer holds its turn until every other one queues behind it."""
    results: list[Any] = [None] * len(works)
    first = works[0]

    def held(conn: sqlcipher3.Connection) -> Any:
        _wait_for_waiting(group, len(works) - 1)
        return first(conn)

    def run(index: int, work: Any) -> None:
        try:
            results[index] = group.write(work)
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(0, held))]
    threads[0].start()
    deadline = time.monotonic() + 10
    while not group._turn.locked():
        assert time.monotonic() < deadline
        time.sleep(0.001)
    threads += [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)
                if i > 0]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    return results


def test_writers_that_arrive_together_share_one_commit(field_store: Store) -> None:
    group = GroupCommit(field_store)
    titles = [f"report {i}" for i in range(6)]
    results = _burst(group, [_insert(t) for t in titles])
    assert results == titles
    assert group.committed == [6]  # one commit for six reports
    assert _titles(field_store) == sorted(titles)


def test_a_caller_returns_only_after_its_commit(field_store: Store) -> None:
    group = GroupCommit(field_store)
    for i in range(3):
        group.write(_insert(f"alone {i}"))
        assert f"alone {i}" in _titles(field_store)  # visible to another connection
    assert group.committed == [1, 1, 1]
    assert not group._turn.locked()


def test_one_callers_error_takes_nothing_of_the_others(field_store: Store) -> None:
    group = GroupCommit(field_store)

    def half_then_fail(conn: sqlcipher3.Connection) -> str:
        _insert("half written")(conn)
        raise ValueError("this submission is refused")

    works = [_insert("first"), half_then_fail, _insert("third"), _insert("fourth")]
    results = _burst(group, works)
    assert results[0] == "first" and results[2:] == ["third", "fourth"]
    assert isinstance(results[1], ValueError)  # its own error, as it was
    assert _titles(field_store) == ["first", "fourth", "third"]
    assert group.committed == [3]


class _FailingCommit:
    """A connection whose commit finds the disk full (SQLite's SQLITE_FULL)."""

    def __init__(self, conn: sqlcipher3.Connection) -> None:
        self._conn = conn

    def commit(self) -> None:
        exc = sqlcipher3.OperationalError("database or disk is full")
        exc.sqlite_errorcode = 13  # type: ignore[attr-defined]
        raise exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_a_failed_commit_saves_none_and_tells_every_caller(
    field_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(field_store)
    real_connect = field_store.connect
    monkeypatch.setattr(field_store, "connect", lambda: _FailingCommit(real_connect()))
    results = _burst(group, [_insert(f"lost {i}") for i in range(4)])
    assert all(isinstance(r, NotSaved) for r in results), results
    assert all(is_disk_full(r) for r in results)  # the pages say the disk is full
    monkeypatch.setattr(field_store, "connect", real_connect)
    assert _titles(field_store) == []
    assert group.write(_insert("after space was freed")) == "after space was freed"
    assert _titles(field_store) == ["after space was freed"]


def test_lock_commits_what_was_written_then_closes(field_store: Store) -> None:
    group = GroupCommit(field_store)
    group.write(_insert("before the lock"))
    field_store.lock()
    assert group._conn is None
    field_store.unlock(PASSPHRASE)
    group.write(_insert("after the unlock"))  # a new connection, of this unlock
    assert _titles(field_store) == ["after the unlock", "before the lock"]


def _spooled(config: Config, data: bytes, name: str) -> Any:
    from werkzeug.datastructures import FileStorage

    spool = EncryptedSpool(config.spool_dir)
    spool.write(data)
    spool.seek(0)
    return FileStorage(stream=spool, filename=name,  # type: ignore[arg-type]
                       content_type="application/octet-stream")


def _files(config: Config) -> list[str]:
    return sorted(p.name for p in config.files_dir.iterdir()) if config.files_dir.exists() else []


def test_save_grouped_keeps_the_report_with_its_files(field_store: Store, config: Config) -> None:
    group = GroupCommit(field_store)
    reading = field_store.connect()
    report_id = intake.save_grouped(group, reading, config, dict(BODY),
                                    [_spooled(config, b"evidence " * 500, "протокол.txt")],
                                    origin="public")
    rows = reading.execute("SELECT name, file_name FROM attachments WHERE report_id = ?",
                           (report_id,)).fetchall()
    assert [r[0] for r in rows] == ["протокол.txt"]
    assert _files(config) == [rows[0][1]]
    reading.close()


def test_save_grouped_removes_its_files_when_nothing_is_saved(
    field_store: Store, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(field_store)
    real_connect = field_store.connect
    monkeypatch.setattr(field_store, "connect", lambda: _FailingCommit(real_connect()))
    reading = real_connect()
    with pytest.raises(NotSaved):
        intake.save_grouped(group, reading, config, dict(BODY),
                            [_spooled(config, b"evidence " * 500, "a.txt"),
                             _spooled(config, b"more " * 500, "b.txt")], origin="public")
    assert _files(config) == []  # prepared before the turn, removed after the failure
    monkeypatch.setattr(field_store, "connect", real_connect)

    def refused(*_args: Any, **_kwargs: Any) -> str:
        raise ValueError("refused row")

    monkeypatch.setattr(attachments, "insert_row", refused)
    with pytest.raises(ValueError, match="refused row"):
        intake.save_grouped(group, reading, config, dict(BODY),
                            [_spooled(config, b"x" * 100, "c.txt")], origin="public")
    assert _files(config) == []
    assert _titles(field_store) == []
    reading.close()


def test_public_submissions_at_once_are_all_kept_once(tmp_path: Path) -> None:
    """Through the public app: 12 visitors at once, every 303 a committed report."""
    from app.web.db import group_commit
    from app.web.factory import create_public_app
    from tests.conftest import csrf_token, report_form

    config = Config(data_dir=tmp_path / "store", default_locale="en",
                    public_submissions_per_hour=1000)
    store = Store(config)
    store.create(PASSPHRASE, "field")
    app = create_public_app(config, store, {"TESTING": True})
    statuses: list[int] = []
    start = threading.Barrier(12)

    def visitor(index: int) -> None:
        client = app.test_client()
        data = report_form(csrf_token=csrf_token(client, "/"), title=f"visitor {index}")
        start.wait(timeout=30)
        statuses.append(client.post("/", data=data,
                                    content_type="multipart/form-data").status_code)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303] * 12
    assert _titles(store) == sorted(f"visitor {i}" for i in range(12))
    with app.app_context():
        assert sum(group_commit().committed) == 12


def _refused(conn: sqlcipher3.Connection) -> None:
    conn.execute("INSERT INTO reports(id) VALUES (NULL)")  # NOT NULL: refused by SQLite


def test_refused_submissions_cannot_keep_a_batch_open(field_store: Store) -> None:
    """Refused writers count towards the batch too: a stream of them, with one always
    queued, cannot keep an acknowledged report waiting (and the write lock held)."""
    group = GroupCommit(field_store, max_batch=4)
    stop = time.monotonic() + 5
    returned: list[float] = []

    def refused_for_a_while() -> None:
        while time.monotonic() < stop:
            with contextlib.suppress(sqlcipher3.Error):
                group.write(_refused)

    attackers = [threading.Thread(target=refused_for_a_while) for _ in range(4)]
    for thread in attackers:
        thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    group.write(_insert("waited for"))
    returned.append(time.monotonic() - started)
    for thread in attackers:
        thread.join(timeout=30)
    assert returned[0] < 2.0, returned  # it waited for the refusals to stop (5 s)
    assert _titles(field_store) == ["waited for"]


def test_a_new_key_gives_the_shared_connection_a_new_one(field_store: Store) -> None:
    """A connection opened with the old key must not outlive a passphrase change (every
    submission after it failed until the next lock)."""
    from app.web.db import ConnectionPool

    group = GroupCommit(field_store)
    pool = ConnectionPool(field_store)
    group.write(_insert("before"))
    old = field_store.generation
    epoch, pooled = pool.get()
    opened_before = field_store.connect()  # as one opened while the key was changing
    field_store.change_passphrase(PASSPHRASE, "a brand new passphrase of five words")
    assert field_store.generation != old
    group._conn, group._generation = opened_before, old
    assert group.write(_insert("after")) == "after"
    assert _titles(field_store) == ["after", "before"]
    pool.put(epoch, pooled)  # taken under the old key: closed, not kept
    assert pool._idle == []


def test_a_lock_does_not_wait_for_a_writer_stuck_behind_another(
        field_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick exit must not wait for a public writer whose BEGIN IMMEDIATE waits for an
    operator's long write; that writer closes the connection when its turn ends."""
    from app.store import group as group_module

    monkeypatch.setattr(group_module, "CLOSE_WAIT", 0.2)
    group = GroupCommit(field_store)
    desk = field_store.connect()
    desk.execute("BEGIN IMMEDIATE")  # an operator's write under way
    outcome: list[object] = []

    def public() -> None:
        try:
            outcome.append(group.write(_insert("behind the desk")))
        except Exception as exc:
            outcome.append(exc)

    writer = threading.Thread(target=public)
    writer.start()
    deadline = time.monotonic() + 10
    while not group._turn.locked():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    started = time.monotonic()
    field_store.lock()
    assert time.monotonic() - started < 2.0  # 0.2 s wait, not the writer's 30 s
    desk.rollback()
    desk.close()
    writer.join(timeout=60)
    assert not writer.is_alive()
    assert group._conn is None  # closed by the writer at the end of its turn


def test_files_stay_when_the_wait_for_the_commit_is_interrupted(
        field_store: Store, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt while another writer commits this report's rows must not delete its
    files (the rows may still commit): only a certain failure removes them."""
    group = GroupCommit(field_store)

    def interrupted(work: Any) -> str:
        raise KeyboardInterrupt  # as if it came during batch.done.wait()

    monkeypatch.setattr(group, "write", interrupted)
    reading = field_store.connect()
    with pytest.raises(KeyboardInterrupt):
        intake.save_grouped(group, reading, config, dict(BODY),
                            [_spooled(config, b"evidence " * 500, "a.txt")], origin="public")
    reading.close()
    assert len(_files(config)) == 1  # left for the sweep, which knows if a row names it
