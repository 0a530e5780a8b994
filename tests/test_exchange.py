"""The whole loop: field devices export sealed bundles, coordinators import them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from app.cli.main import main
from app.config import Config
from app.store.store import Store
from app.web.factory import create_operator_app, create_public_app
from tests.conftest import PASSPHRASE, csrf_token, report_form
from tests.test_desk import _jpeg_with_gps


def run(*args: str, stdin: str = PASSPHRASE + "\n") -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def init(data: Path, role: str) -> str:
    result = run("init", "--role", role, "--data", str(data))
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def write_report(data: Path, title: str, files: list[tuple[bytes, str]]) -> None:
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    client = create_operator_app(store.config, store, {"TESTING": True}).test_client()
    form = report_form(title=title, attachments=[(io.BytesIO(b), n) for b, n in files])
    form["csrf_token"] = csrf_token(client, "/reports/new")
    form["save"] = "1"
    assert (
        client.post("/reports/new", data=form, content_type="multipart/form-data").status_code
        == 303
    )
    store.lock()


def listing(data: Path) -> list[dict]:
    result = run("reports", "list", "--json", "--data", str(data))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def export(data: Path, out: Path, *extra: str) -> Result:
    return run("export", "--out", str(out), "--data", str(data), *extra)


def snapshot(data: Path) -> tuple[bytes, list[str]]:
    """The store's database bytes and file names: equal snapshots mean nothing changed."""
    return (data / "kuager.db").read_bytes(), sorted(p.name for p in (data / "files").iterdir())


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """Two coordinators sharing identities, two field devices sealing to both keys."""
    paths = {name: tmp_path / name for name in ("c1", "c2", "f1", "f2")}
    key1 = init(paths["c1"], "coordinator")
    key2 = init(paths["c2"], "coordinator")
    # c1 also holds c2's identity: one coordinator store, two identities.
    exported = tmp_path / "c2-identity.age"
    assert (
        run(
            "identity",
            "export",
            "--out",
            str(exported),
            "--data",
            str(paths["c2"]),
            stdin=f"{PASSPHRASE}\nshared words for the file\n",
        ).exit_code
        == 0
    )
    assert (
        run(
            "identity",
            "import",
            str(exported),
            "--data",
            str(paths["c1"]),
            stdin=f"{PASSPHRASE}\nshared words for the file\n",
        ).exit_code
        == 0
    )
    init(paths["f1"], "field")
    init(paths["f2"], "field")
    assert run("recipients", "add", key1, "--data", str(paths["f1"])).exit_code == 0
    assert run("recipients", "add", key2, "--data", str(paths["f2"])).exit_code == 0
    paths["tmp"] = tmp_path
    return paths


def test_whole_loop(world: dict[str, Path]) -> None:
    tmp, coordinator = world["tmp"], world["c1"]
    jpeg = _jpeg_with_gps()
    write_report(
        world["f1"],
        "Обыск в редакции",
        [(b"%PDF-1.4 protocol", "протокол.pdf"), (jpeg, "фото.jpg")],
    )
    bundles = [tmp / "f1-1.age"]
    assert export(world["f1"], bundles[0]).stdout.strip().splitlines()[-1] == "1"
    write_report(world["f1"], "Штраф за пикет", [])
    write_report(world["f1"], "Ереуілге айыппұл", [(bytes(range(256)) * 700, "video.bin")])
    bundles.append(tmp / "f1-2.age")
    assert export(world["f1"], bundles[1]).stdout.strip().splitlines()[-1] == "2"
    write_report(world["f2"], "Блокировка сайта", [(b"screenshot bytes", "скрин.png")])
    bundles.append(tmp / "f2-1.age")
    assert export(world["f2"], bundles[2]).stdout.strip().splitlines()[-1] == "1"
    write_report(world["f2"], "Задержание журналиста", [])
    bundles.append(tmp / "f2-2.age")
    assert export(world["f2"], bundles[3]).stdout.strip().splitlines()[-1] == "1"

    field_reports = {r["id"]: r for d in ("f1", "f2") for r in listing(world[d])}
    result = run("import", *map(str, bundles), "--data", str(coordinator))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("new device") == 2

    imported = {r["id"]: r for r in listing(coordinator)}
    assert imported.keys() == field_reports.keys()
    for report_id, original in field_reports.items():
        got = imported[report_id]
        for key in ("title", "description", "occurred_on", "region", "rights", "acts"):
            assert got[key] == original[key]
        assert sorted((a["name"], a["sha256"], a["size"]) for a in got["attachments"]) == sorted(
            (a["name"], a["sha256"], a["size"]) for a in original["attachments"]
        )

    # The GPS original reached the coordinator as evidence, matching its recorded hash.
    store = Store(Config(data_dir=coordinator))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    row = conn.execute("SELECT * FROM attachments WHERE name = 'фото.jpg'").fetchone()
    from app.records.attachments import read_chunks

    original = b"".join(read_chunks(store.config, row["original_file"], row["original_key"]))
    assert original == jpeg and hashlib.sha256(original).hexdigest() == row["original_sha256"]
    conn.close()
    store.lock()

    # Importing again changes nothing.
    before = snapshot(coordinator)
    again = run("import", *map(str, bundles), "--data", str(coordinator))
    assert again.exit_code == 0 and again.stdout.count("already imported") == 4
    assert snapshot(coordinator)[1] == before[1]
    assert len(listing(coordinator)) == len(field_reports)


def test_gap_is_reported(world: dict[str, Path]) -> None:
    tmp = world["tmp"]
    for n in (1, 2, 3):
        write_report(world["f1"], f"Отчёт {n}", [])
        assert export(world["f1"], tmp / f"b{n}.age").exit_code == 0
    result = run("import", str(tmp / "b1.age"), str(tmp / "b3.age"), "--data", str(world["c1"]))
    assert result.exit_code == 0
    assert "missing bundles" in result.stdout and ": 2" in result.stdout


def test_a_second_bundle_under_a_used_number_is_refused(world: dict[str, Path]) -> None:
    """Two different bundles, same device key, same sequence number (a field store restored
    from a copy, or a replay with other content): the coordinator keeps the first and
    refuses the second, and its store is unchanged by the refusal."""
    tmp = world["tmp"]
    write_report(world["f1"], "Задержание у акимата", [])
    copy = tmp / "field-copy"
    shutil.copytree(world["f1"], copy)
    assert export(world["f1"], tmp / "first.age").exit_code == 0
    write_report(copy, "Другой отчёт", [])
    assert export(copy, tmp / "second.age").exit_code == 0
    assert (tmp / "first.age").read_bytes() != (tmp / "second.age").read_bytes()
    assert run("import", str(tmp / "first.age"), "--data", str(world["c1"])).exit_code == 0
    before = snapshot(world["c1"])
    result = run("import", str(tmp / "second.age"), "--data", str(world["c1"]))
    assert result.exit_code == 1
    assert "already sent a different bundle 1" in result.stderr
    assert snapshot(world["c1"]) == before


def test_tampered_bundle_is_refused_and_store_unchanged(world: dict[str, Path]) -> None:
    tmp = world["tmp"]
    write_report(world["f1"], "Пытки в ИВС", [(b"x" * 100_000, "med.pdf")])
    good = tmp / "good.age"
    assert export(world["f1"], good).exit_code == 0
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp / "bad.age"
    bad.write_bytes(bytes(data))
    before = snapshot(world["c1"])
    result = run("import", str(bad), "--data", str(world["c1"]))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bad}:")
    assert snapshot(world["c1"]) == before
    assert list((world["c1"] / "spool").iterdir()) == []
    truncated = tmp / "truncated.age"
    truncated.write_bytes(good.read_bytes()[:-100])
    assert run("import", str(truncated), "--data", str(world["c1"])).exit_code == 1
    assert snapshot(world["c1"]) == before
    assert run("import", str(good), "--data", str(world["c1"])).exit_code == 0


def test_wrong_identity_and_unknown_format(world: dict[str, Path], tmp_path: Path) -> None:
    write_report(world["f1"], "Отчёт", [])
    bundle = world["tmp"] / "b.age"
    assert export(world["f1"], bundle).exit_code == 0
    stranger = tmp_path / "stranger"
    init(stranger, "coordinator")
    result = run("import", str(bundle), "--data", str(stranger))
    assert result.exit_code == 1 and str(bundle) in result.stderr
    junk = tmp_path / "junk.age"
    junk.write_bytes(b"this is not a bundle at all\n")
    result = run("import", str(junk), "--data", str(world["c1"]))
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {junk}:")


def test_edited_report_becomes_a_new_revision(world: dict[str, Path]) -> None:
    tmp = world["tmp"]
    write_report(world["f1"], "Первая версия", [])
    assert export(world["f1"], tmp / "1.age").exit_code == 0
    store = Store(Config(data_dir=world["f1"]))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    from app.records import reports

    row = conn.execute("SELECT * FROM reports").fetchone()
    body = reports.body_of(row) | {"title": "Вторая версия"}
    reports.update(conn, row["id"], body)
    conn.commit()
    conn.close()
    store.lock()
    assert export(world["f1"], tmp / "2.age").exit_code == 0
    assert (
        run("import", str(tmp / "1.age"), str(tmp / "2.age"), "--data", str(world["c1"])).exit_code
        == 0
    )
    [latest] = listing(world["c1"])
    assert latest["title"] == "Вторая версия" and latest["revision"] == 2


def test_purge_leaves_nothing_of_exported_reports(world: dict[str, Path]) -> None:
    write_report(
        world["f1"], "Удалить после экспорта", [(_jpeg_with_gps(), "a.jpg"), (b"doc", "b.txt")]
    )
    assert list((world["f1"] / "files").iterdir())
    result = export(world["f1"], world["tmp"] / "p.age", "--purge")
    assert result.exit_code == 0 and result.stdout.strip().splitlines()[-1] == "1"
    assert listing(world["f1"]) == []
    assert list((world["f1"] / "files").iterdir()) == []
    assert run("import", str(world["tmp"] / "p.age"), "--data", str(world["c1"])).exit_code == 0
    assert [r["title"] for r in listing(world["c1"])] == ["Удалить после экспорта"]


def test_export_needs_recipients_and_leaves_no_partial_file(tmp_path: Path) -> None:
    init(tmp_path / "f", "field")
    out = tmp_path / "usb" / "b.age"
    result = export(tmp_path / "f", out)
    assert result.exit_code == 1 and "recipients" in result.stderr
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_export_write_failure_leaves_reports_unexported(
    world: dict[str, Path], tmp_path: Path
) -> None:
    write_report(world["f1"], "Отчёт", [])
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    result = export(world["f1"], blocked / "b.age")
    assert result.exit_code == 1 and result.stderr.startswith("error:")
    assert listing(world["f1"])[0]["status"] == "ready"  # still waiting: not marked exported


def test_training_and_real_never_mix(world: dict[str, Path]) -> None:
    from app.store import training

    store = Store(Config(data_dir=world["f1"]))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    training.set_mode(conn, training.TRAINING)
    conn.close()
    store.lock()
    write_report(world["f1"], "Учебный отчёт", [])
    assert export(world["f1"], world["tmp"] / "t.age").exit_code == 0
    before = snapshot(world["c1"])
    result = run("import", str(world["tmp"] / "t.age"), "--data", str(world["c1"]))
    assert result.exit_code == 1 and "training" in result.stderr
    assert snapshot(world["c1"]) == before


def _in_inbox_mode(world: dict[str, Path]) -> Store:
    """The first field store, unlocked, in inbox mode."""
    from app.exchange import inbox

    store = Store(Config(data_dir=world["f1"]))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    inbox.set_enabled(conn, True)
    conn.close()
    return store


def test_inbox_mode_seals_public_submissions(world: dict[str, Path]) -> None:
    from app.exchange import inbox

    f1 = world["f1"]
    store = _in_inbox_mode(world)
    client = create_public_app(store.config, store, {"TESTING": True}).test_client()
    form = report_form(
        title="Сообщение через onion", attachments=[(io.BytesIO(_jpeg_with_gps()), "улика.jpg")]
    )
    form["csrf_token"] = csrf_token(client, "/")
    form["save"] = "1"
    assert client.post("/", data=form, content_type="multipart/form-data").status_code == 303
    conn = store.connect()
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    assert inbox.counts(conn) == (1, 1)
    # The device cannot read its own sealed copy: no identity here, only recipients.
    conn.close()
    store.lock()
    raw = b"".join(p.read_bytes() for p in (f1 / "files").iterdir())
    assert b"onion" not in raw and b"age-encryption.org/v1" in raw
    assert export(f1, world["tmp"] / "inbox.age").stdout.strip().splitlines()[-1] == "1"
    assert run("import", str(world["tmp"] / "inbox.age"), "--data", str(world["c1"])).exit_code == 0
    [report] = listing(world["c1"])
    assert report["title"] == "Сообщение через onion" and report["origin"] == "public"
    assert report["attachments"][0]["metadata_removed"] is True


def _post_public(client: FlaskClient, title: str, files: list[tuple[bytes, str]]) -> int:
    form = report_form(title=title, attachments=[(io.BytesIO(b), n) for b, n in files])
    form["csrf_token"] = csrf_token(client, "/")
    form["save"] = "1"
    return client.post("/", data=form, content_type="multipart/form-data").status_code


def test_a_locked_store_in_inbox_mode_keeps_the_public_form_open(
        world: dict[str, Path]) -> None:
    """Issue 14: "Lock now" in inbox mode keeps the public form open. Submissions are then
    sealed to the recipients with no store key (a drop file, nothing readable on disk),
    taken into the inbox at the next unlock, exported and opened by the coordinator."""
    from app.exchange import inbox

    f1 = world["f1"]
    store = _in_inbox_mode(world)
    client = create_public_app(store.config, store, {"TESTING": True}).test_client()
    client.get("/")  # the visitor's session and CSRF token come before the lock
    store.lock()
    assert not store.is_unlocked
    assert _post_public(client, "Маркер-запертого-хранилища",
                        [(_jpeg_with_gps(), "фото.jpg")]) == 303
    thanks = client.get("/thanks")
    assert thanks.status_code == 200
    assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", thanks.get_data(as_text=True))
    [drop] = list((f1 / "inbox-drop").iterdir())
    sealed = drop.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n")
    every_byte = b"".join(p.read_bytes() for p in f1.rglob("*") if p.is_file())
    assert "Маркер-запертого".encode() not in every_byte
    # Unlock takes it in: one inbox row, the file moved into files/, the drop folder empty.
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert inbox.counts(conn) == (1, 1)
    conn.close()
    assert list((f1 / "inbox-drop").iterdir()) == []
    assert (f1 / "files" / drop.name).read_bytes() == sealed
    store.lock()
    assert export(f1, world["tmp"] / "locked.age").stdout.strip().splitlines()[-1] == "1"
    assert run("import", str(world["tmp"] / "locked.age"), "--data",
               str(world["c1"])).exit_code == 0
    [report] = listing(world["c1"])
    assert report["title"] == "Маркер-запертого-хранилища" and report["origin"] == "public"
    assert report["attachments"][0]["metadata_removed"] is True


def test_served_in_inbox_mode_the_idle_lock_applies_and_the_form_stays_open(
        world: dict[str, Path]) -> None:
    """Issue 14: while the public site is served the idle lock is off, since a lock would
    close the form; in inbox mode it would not, so the idle lock applies as usual (and no
    page says it is off). A visitor who first comes after the idle lock can still send."""
    from app.exchange import inbox
    from app.web.auth import check_idle

    f1 = world["f1"]
    store = Store(Config(data_dir=f1))
    store.unlock(PASSPHRASE)
    operator = create_operator_app(store.config, store, {"KUAGER_SERVING_PUBLIC": True})
    public = create_public_app(store.config, store, {"TESTING": True})
    desk = operator.test_client()
    desk.get("/reports?lang=en")  # the language cookie
    assert 'class="flash idle-off"' in desk.get("/exchange/export").get_data(as_text=True)
    start = operator.extensions["kuager.last_activity"]
    limit = store.config.idle_lock_minutes * 60
    assert not check_idle(operator, now=start + limit + 1) and store.is_unlocked
    conn = store.connect()
    inbox.set_enabled(conn, True)
    conn.close()
    page = desk.get("/exchange/export").get_data(as_text=True)
    assert "idle-off" not in page and "after 15 minutes without use" in page
    start = operator.extensions["kuager.last_activity"]
    assert check_idle(operator, now=start + limit + 1)
    assert not store.is_unlocked
    visitor = public.test_client()  # first seen after the lock
    assert visitor.get("/").status_code == 200
    assert _post_public(visitor, "После автоблокировки", []) == 303
    assert visitor.get("/thanks").status_code == 200
    assert len(list((f1 / "inbox-drop").iterdir())) == 1
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert inbox.counts(conn)[0] == 1
    conn.close()
    assert list((f1 / "inbox-drop").iterdir()) == []


def test_the_unlock_page_says_how_many_reports_arrived_while_locked(
        world: dict[str, Path]) -> None:
    """After "Lock now" in inbox mode, what came through the public form is counted on
    the page the unlock leads to (once: the next unlock, with nothing new, says nothing)."""
    store = _in_inbox_mode(world)
    operator = create_operator_app(store.config, store, {"KUAGER_SERVING_PUBLIC": True})
    public = create_public_app(store.config, store, {"TESTING": True}).test_client()
    public.get("/")
    store.lock()
    assert _post_public(public, "Первое, пока заперто", []) == 303
    assert _post_public(public, "Второе, пока заперто", []) == 303
    desk = operator.test_client()

    def unlock() -> str:
        desk.get("/unlock?lang=en")
        answer = desk.post("/unlock", data={"csrf_token": csrf_token(desk, "/unlock"),
                                            "passphrase": PASSPHRASE})
        assert answer.status_code == 303
        return desk.get(answer.headers["Location"], follow_redirects=True).get_data(as_text=True)

    page = unlock()
    assert ("2 reports came through the public form while Kuager was locked: sealed for "
            "the coordinators, they wait on the Export page.") in page
    assert store.is_unlocked
    store.lock()
    assert "came through the public form" not in unlock()
    # taken in by an unlock elsewhere (the command line): not said to a later session
    store.lock()
    assert _post_public(public, "Третье, пока заперто", []) == 303
    assert store.unlock(PASSPHRASE) == [("inbox", 1)]
    store.lock()
    assert "came through the public form" not in unlock()


def test_without_inbox_mode_the_public_form_closes_with_the_store(
        world: dict[str, Path]) -> None:
    store = Store(Config(data_dir=world["f1"]))
    store.unlock(PASSPHRASE)
    client = create_public_app(store.config, store, {"TESTING": True}).test_client()
    client.get("/")
    store.lock()
    assert client.get("/").status_code == 503
    # Refused (by CSRF, before the view, or by the closed page), and nothing kept.
    assert client.post("/", data={"title": "Не принято", "save": "1"}).status_code in (400, 503)
    assert not (world["f1"] / "inbox-drop").exists()


def test_drops_are_taken_once_whatever_step_a_crash_stopped(world: dict[str, Path]) -> None:
    """A drop recorded but not yet moved (a crash between the two) is moved at the next
    take, not recorded twice; a hidden part of a crashed write is removed; an export
    takes drops too (a coordinator never misses one because nobody unlocked the web)."""
    from app.exchange import inbox

    f1 = world["f1"]
    store = Store(Config(data_dir=f1))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    inbox.set_enabled(conn, True)
    kept = inbox.locked_inbox(conn, full_form=False)
    assert kept is not None
    cfg = store.config
    inbox.seal_to_drop(cfg, kept, {"title": "Первый", "description": "x"}, [])
    inbox.seal_to_drop(cfg, kept, {"title": "Второй", "description": "y"}, [])
    stale, young = cfg.inbox_drop_dir / ".0123.part", cfg.inbox_drop_dir / ".4567.part"
    stale.write_bytes(b"half")
    long_ago = time.time() - inbox.STALE_PART_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    young.write_bytes(b"being written")  # a submission arriving meanwhile: left alone
    first = sorted(p.name for p in cfg.inbox_drop_dir.iterdir() if not p.name.startswith("."))
    # The crash: the first drop's row is committed, the file is still in the drop folder.
    conn.execute("INSERT INTO inbox(id, received_at, file_name, file_key, size)"
                 " VALUES ('x1', '2026-01-01T00:00:00Z', ?, x'', 1)", (first[0],))
    conn.commit()
    assert inbox.ingest_drops(conn, cfg) == 1  # only the second is new
    assert inbox.ingest_drops(conn, cfg) == 0  # and again: nothing twice
    assert inbox.counts(conn)[0] == 2
    assert list(cfg.inbox_drop_dir.iterdir()) == [young]
    young.unlink()
    assert sorted(n for n in first if (cfg.files_dir / n).is_file()) == first
    inbox.seal_to_drop(cfg, kept, {"title": "Третий", "description": "z"}, [])
    conn.close()
    store.lock()
    assert export(f1, world["tmp"] / "drops.age").stdout.strip().splitlines()[-1] == "3"
    assert list(cfg.inbox_drop_dir.iterdir()) == []


def test_a_wipe_removes_the_drops(world: dict[str, Path]) -> None:
    from app.exchange import inbox

    store = Store(Config(data_dir=world["f1"]))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    inbox.set_enabled(conn, True)
    kept = inbox.locked_inbox(conn, full_form=False)
    conn.close()
    assert kept is not None
    inbox.seal_to_drop(store.config, kept, {"title": "Стереть", "description": "x"}, [])
    client = create_public_app(store.config, store, {"TESTING": True}).test_client()
    client.get("/")
    token = csrf_token(client, "/")
    store.wipe()  # locks first: the public site keeps the recipients, then all is erased
    assert not store.config.inbox_drop_dir.exists()
    # A destroyed store takes nothing more, even with the recipients still in memory.
    form = report_form(title="После уничтожения")
    form.update(csrf_token=token, save="1")
    assert client.post("/", data=form, content_type="multipart/form-data").status_code == 503
    assert not store.config.inbox_drop_dir.exists()


def test_a_duress_unlock_removes_the_drops(world: dict[str, Path]) -> None:
    """The duress passphrase erases the store: the sealed drops waiting for the next unlock
    go with it, and the empty store it opens has no inbox entry."""
    from app.exchange import inbox

    store = Store(Config(data_dir=world["f1"]))
    store.unlock(PASSPHRASE)
    duress = "другая фраза для принуждения семь"
    store.set_duress(PASSPHRASE, duress)
    conn = store.connect()
    inbox.set_enabled(conn, True)
    conn.close()
    visitor = create_public_app(store.config, store, {"TESTING": True}).test_client()
    store.lock()  # the public site keeps the recipients
    assert _post_public(visitor, "До принуждения", []) == 303
    assert len(list(store.config.inbox_drop_dir.iterdir())) == 1
    store.unlock(duress)
    assert not store.config.inbox_drop_dir.exists()
    conn = store.connect()
    assert inbox.counts(conn) == (0, 0) and not inbox.enabled(conn)
    conn.close()


def test_training_store_from_init_says_so_and_stays_apart(tmp_path: Path) -> None:
    result = run("init", "--role", "field", "--training", "--data", str(tmp_path / "t"))
    assert result.exit_code == 0
    store = Store(Config(data_dir=tmp_path / "t", default_locale="en"))
    store.unlock(PASSPHRASE)
    assert store.training
    page = create_operator_app(store.config, store, {"TESTING": True}).test_client().get("/reports")
    assert "Training store: fictional data only" in page.get_data(as_text=True)
    public = create_public_app(store.config, store, {"TESTING": True}).test_client().get("/")
    assert "Training store" in public.get_data(as_text=True)
    store.lock()
    real = tmp_path / "real"
    init(real, "field")
    real_store = Store(Config(data_dir=real, default_locale="en"))
    real_store.unlock(PASSPHRASE)
    assert not real_store.training
    page = create_operator_app(real_store.config, real_store, {"TESTING": True}).test_client()
    assert "Training store" not in page.get("/reports").get_data(as_text=True)


def _heads_and_facets(conn: object) -> tuple[list[tuple], list[tuple]]:
    heads = [tuple(r) for r in conn.execute(  # all but ``indexed`` (the import indexes)
        "SELECT report_id, revision, title, occurred_on, occurred_start, occurred_end, region,"
        " sensitivity, origin, status, triage, device, received_at, updated_at"
        " FROM report_heads ORDER BY report_id")]
    facets = [tuple(r) for r in conn.execute(
        "SELECT kind, code, report_id FROM report_facets ORDER BY report_id, kind, code")]
    return heads, facets


def test_batched_import_writes_what_one_by_one_writes(world: dict[str, Path]) -> None:
    """An import writes every head and facet in one statement per table
    (``reports.write_heads``): the same rows ``refresh_head`` writes one report at a time,
    for new reports and for a new revision of a known one; the documents the export built
    from the stored bytes are canonical JSON."""
    from app.exchange import bundles
    from app.records import custody, reports
    from crypto.bundle import open_bundle

    field = Store(Config(data_dir=world["f1"]))
    field.unlock(PASSPHRASE)
    conn = field.connect()
    bodies = [
        reports.body_from_form(report_form(title="Год", occurred_on="2025",
                                           occurred_precision="year")),
        reports.body_from_form(report_form(title="Месяц", occurred_on="2025-02",
                                           ended_on="2025-03-04", occurred_precision="month",
                                           victims=[{"name": "А", "role": "journalist"}],
                                           perpetrators=[{"kind": "police", "name": ""}])),
        reports.body_from_form(report_form(title="Неизвестно", occurred_on="",
                                           occurred_precision="unknown", rights=[], acts=[],
                                           sensitivity="high")),
    ]
    ids = [reports.create(conn, body) for body in bodies]
    custody.record(conn, ids[0], "edited", detail='a "quoted" detail, {braces} [and] \\')
    conn.commit()
    conn.close()
    tmp = world["tmp"]
    assert bundles.export_bundle(field, tmp / "1.age").report_count == 3
    conn = field.connect()
    reports.update(conn, ids[1], bodies[1] | {"title": "Месяц, вторая версия",
                                              "acts": ["fine", "torture"]})
    conn.commit()
    conn.close()
    assert bundles.export_bundle(field, tmp / "2.age").report_count == 1
    coordinator = Store(Config(data_dir=world["c1"]))
    coordinator.unlock(PASSPHRASE)
    conn = coordinator.connect()
    from app.store import keyring

    documents: dict[str, bytes] = {}

    class _Sink:
        def __init__(self, name: str) -> None:
            self.name, self.data = name, bytearray()

        def write(self, chunk: bytes) -> int:
            self.data += chunk
            return len(chunk)

        def __enter__(self) -> _Sink:
            return self

        def __exit__(self, *exc: object) -> None:
            if self.name.endswith(".json"):
                documents[self.name] = bytes(self.data)

    with open(tmp / "1.age", "rb") as fh:
        open_bundle(fh, keyring.identities_of(conn), lambda entry: _Sink(entry.name))
    assert len(documents) == 3
    for raw in documents.values():
        assert reports.canonical_json(json.loads(raw)).encode() == raw
    conn.close()
    for name in ("1.age", "2.age"):
        assert bundles.import_bundle(coordinator, tmp / name).reports_added >= 1
    conn = coordinator.connect()
    batched = _heads_and_facets(conn)
    assert len(batched[0]) == 3 and batched[1]
    conn.execute("DELETE FROM report_facets")
    conn.execute("UPDATE report_heads SET title = '', occurred_start = NULL, region = ''")
    for report_id in ids:
        reports.refresh_head(conn, report_id)
    assert _heads_and_facets(conn) == batched
    conn.rollback()
    conn.close()
    coordinator.lock()
    field.lock()
