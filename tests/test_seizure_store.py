"""Seizure defences of the store: strength, private files, duress, lockout, rekey, retention."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from app.cli.main import main
from app.config import Config
from app.store import keyfile, passphrase, retention
from app.store import store as store_module
from app.store.store import BadPassphrase, Store, StoreError, StoreMissing
from app.web.factory import create_operator_app
from crypto import keywrap
from tests.conftest import PASSPHRASE, csrf_token, report_form

DURESS = "lantern quiet meadow copper violin harbor"
NEW = "orbit velvet canyon pepper mosaic tundra"


def run(*args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture(autouse=True)
def restore_umask() -> Iterator[None]:
    """The CLI sets the process umask; put the test process's back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture
def kdf_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2id derivation, counted (the cost of an unlock is its KDF calls)."""
    calls: list[str] = []
    real = keywrap._derive

    def counting(passphrase: str, salt: bytes, profile: keywrap.KdfProfile) -> bytes:
        calls.append(passphrase)
        return real(passphrase, salt, profile)

    monkeypatch.setattr(keywrap, "_derive", counting)
    return calls


def _put_probe(store: Store, value: str = "kept") -> None:
    conn = store.connect()
    conn.execute("INSERT INTO meta(key, value) VALUES ('probe', ?)", (value,))
    conn.commit()
    conn.close()


def _probe(store: Store) -> str | None:
    conn = store.connect()
    row = conn.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()
    conn.close()
    return None if row is None else row[0]


def _new_report(client: FlaskClient, **overrides: object) -> str:
    data = report_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _download(client: FlaskClient, report_id: str) -> bytes:
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    link = re.search(rf'href="(/reports/{report_id}/attachments/[0-9a-f]+)"', page)
    assert link
    response = client.get(link.group(1))
    assert response.status_code == 200
    return response.data


def _unlock_page(client: FlaskClient, secret: str) -> object:
    token = csrf_token(client, "/unlock")
    return client.post("/unlock", data={"csrf_token": token, "passphrase": secret})


# -- item 5: passphrase strength -----------------------------------------------------------


@pytest.mark.parametrize("weak", ["Password1234", "almaty123456", "Astana2026!!",
                                  "qwerty123456", "Қайрат1990", "йцукенгшщзхъфывапролджэ",
                                  "Алматы Астана 1990", "Nursultan2026!", "aigul.kairat.1990"])
def test_weak_passphrases_are_refused(weak: str) -> None:
    assert passphrase.estimate_bits(weak) < passphrase.MIN_BITS
    assert passphrase.weakness(weak) is not None


def test_the_test_passphrase_and_suggestions_are_accepted() -> None:
    assert passphrase.weakness(PASSPHRASE) is None
    for lang in passphrase.LANGUAGES:
        for _ in range(20):
            words = passphrase.suggest(lang).split(" ")
            assert len(words) == 6 and set(words) <= set(passphrase.wordlist(lang))
            assert passphrase.weakness(" ".join(words)) is None


@pytest.mark.parametrize("lang", passphrase.LANGUAGES)
def test_word_lists_are_long_lowercase_and_plain(lang: str) -> None:
    path = passphrase.WORDLIST_DIR / f"words_{lang}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines)) >= 2048
    assert all(line == line.strip().lower() and line.isalpha() for line in lines)
    assert passphrase.suggestion_bits(lang) >= 66


def test_draws_below_the_bar_are_rare() -> None:
    """The redraw in ``suggest`` must cost next to nothing: most raw draws pass."""
    import secrets

    pool = passphrase.wordlist("en")
    draws = [" ".join(secrets.choice(pool) for _ in range(6)) for _ in range(100)]
    passing = sum(passphrase.estimate_bits(d) >= passphrase.MIN_BITS for d in draws)
    assert passing >= 95


def test_cli_refuses_a_weak_passphrase_on_stdin(tmp_path: Path) -> None:
    result = run("init", "--role", "field", "--data", str(tmp_path / "s"),
                 stdin="almaty123456\nalmaty123456\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "s" / "kuager.key").exists()


def test_cli_passwd_refuses_a_weak_passphrase(tmp_path: Path) -> None:
    data = str(tmp_path / "s")
    assert run("init", "--role", "field", "--data", data,
               stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n").exit_code == 0
    result = run("passwd", "--data", data, stdin=f"{PASSPHRASE}\nAstana2026!!\nAstana2026!!\n")
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


@pytest.mark.parametrize("lang", passphrase.LANGUAGES)
def test_cli_suggests_a_passphrase(lang: str) -> None:
    result = run("passphrase", "suggest", "--lang", lang)
    assert result.exit_code == 0
    words = result.stdout.split()
    assert len(words) == 6 and set(words) <= set(passphrase.wordlist(lang))
    assert "66 bits" in result.stderr


def test_setup_page_offers_a_suggestion_and_refuses_weak(config: Config, store: Store) -> None:
    client = create_operator_app(config, store, {"TESTING": True}).test_client()
    page = client.get("/setup").get_data(as_text=True)
    suggestion = re.search(r'<p class="suggestion"><code>([^<]+)</code>', page)
    assert suggestion and passphrase.weakness(suggestion.group(1)) is None
    token = csrf_token(client, "/setup")
    weak = client.post("/setup", data={"csrf_token": token, "passphrase": "Astana2026!!",
                                       "confirm": "Astana2026!!", "role": "field"})
    assert weak.status_code == 200 and not store.exists()


# -- item 9: private files -------------------------------------------------------------------


def test_new_store_files_are_private_whatever_the_umask(store: Store) -> None:
    os.umask(0o022)
    store.create(PASSPHRASE, "field")
    cfg = store.config
    for folder in (cfg.data_dir, cfg.files_dir, cfg.spool_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in (cfg.key_file, cfg.db_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_folder_others_can_read_is_refused_with_the_fix(store: Store) -> None:
    store.config.data_dir.mkdir(mode=0o755)
    os.chmod(store.config.data_dir, 0o755)  # noqa: S103 - the case under test
    with pytest.raises(StoreError, match=r"chmod 700 "):
        store.create(PASSPHRASE, "field")
    assert not store.exists()
    os.chmod(store.config.data_dir, 0o700)
    store.create(PASSPHRASE, "field")
    store.lock()
    os.chmod(store.config.data_dir, 0o750)  # noqa: S103 - the case under test
    with pytest.raises(StoreError, match=r"chmod 700 "):
        store.unlock(PASSPHRASE)


def test_cli_sets_a_private_umask_and_refuses_an_open_folder(tmp_path: Path) -> None:
    os.umask(0o022)
    data = tmp_path / "s"
    assert run("init", "--role", "field", "--data", str(data),
               stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n").exit_code == 0
    current = os.umask(0o022)
    assert current == 0o077
    os.chmod(data, 0o755)  # noqa: S103 - the case under test
    result = run("recipients", "list", "--data", str(data), stdin=PASSPHRASE + "\n")
    assert result.exit_code == 1
    assert result.stderr == f"error: other users can open the data folder {data}; make it " \
                            f"private with: chmod 700 {data}\n"


# -- duress ------------------------------------------------------------------------------


def test_duress_passphrase_erases_and_opens_an_empty_store(field_store: Store) -> None:
    _put_probe(field_store)
    old_key_file = field_store.config.key_file.read_bytes()
    field_store.set_duress(PASSPHRASE, DURESS)
    field_store.lock()
    field_store.unlock(DURESS)
    assert field_store.is_unlocked and field_store.role == "field"
    assert _probe(field_store) is None
    field_store.lock()
    with pytest.raises(BadPassphrase):
        field_store.unlock(PASSPHRASE)
    # Not even the key file from before opens what was there: the database is new.
    field_store.config.key_file.write_bytes(old_key_file)
    with pytest.raises(StoreError):
        field_store.unlock(PASSPHRASE)


def test_duress_store_opens_with_the_duress_passphrase_from_then_on(field_store: Store) -> None:
    field_store.set_duress(PASSPHRASE, DURESS)
    field_store.lock()
    field_store.unlock(DURESS)
    _put_probe(field_store, "new store")
    field_store.lock()
    field_store.unlock(DURESS)
    assert _probe(field_store) == "new store"


def test_duress_keeps_the_role(tmp_path: Path) -> None:
    store = Store(Config(data_dir=tmp_path / "c"))
    store.create(PASSPHRASE, "coordinator")
    store.set_duress(PASSPHRASE, DURESS)
    store.lock()
    store.unlock(DURESS)
    assert store.role == "coordinator"


def test_duress_must_differ_from_the_passphrase(field_store: Store) -> None:
    with pytest.raises(StoreError, match="differ"):
        field_store.set_duress(PASSPHRASE, PASSPHRASE)


def test_every_unlock_costs_the_same_kdf_work(field_store: Store,
                                              kdf_calls: list[str]) -> None:
    """Right, wrong and duress passphrases, with or without a duress set: two derivations,
    in the same order. What an unlock costs cannot tell a duress unlock from another."""
    field_store.lock()
    counts = []
    for secret in (PASSPHRASE, "wrong passphrase entirely here"):
        kdf_calls.clear()
        with contextlib.suppress(BadPassphrase):
            field_store.unlock(secret)
        field_store.lock()
        counts.append(len(kdf_calls))
    field_store.unlock(PASSPHRASE)
    field_store.set_duress(PASSPHRASE, DURESS)
    field_store.lock()
    for secret in ("wrong passphrase entirely here", PASSPHRASE, DURESS):
        field_store._failures = 0
        kdf_calls.clear()
        with contextlib.suppress(BadPassphrase):
            field_store.unlock(secret)
        field_store.lock()
        counts.append(len(kdf_calls))
    assert counts == [2, 2, 2, 2, 2]


def test_key_file_looks_the_same_with_and_without_duress(field_store: Store) -> None:
    before = keyfile.parse(field_store.config.key_file.read_bytes(), keywrap.TEST_PROFILE)
    field_store.set_duress(PASSPHRASE, DURESS)
    after = keyfile.parse(field_store.config.key_file.read_bytes(), keywrap.TEST_PROFILE)
    assert [len(s.blob) for s in before.slots] == [len(s.blob) for s in after.slots]
    assert before.slots[1].blob[:60].split(b"\n")[0] == after.slots[1].blob[:60].split(b"\n")[0]
    field_store.clear_duress(PASSPHRASE)
    field_store.lock()
    with pytest.raises(BadPassphrase):
        field_store.unlock(DURESS)


def test_cli_duress(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = str(tmp_path / "s")
    run("init", "--role", "field", "--data", data, stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert run("recipients", "add", "age1" + "q" * 58, "--data", data,
               stdin=PASSPHRASE + "\n").exit_code in (0, 1)
    result = run("duress", "set", "--data", data, stdin=f"{PASSPHRASE}\n{DURESS}\n")
    assert result.exit_code == 0, result.output
    normal = run("reports", "list", "--json", "--data", data, stdin=PASSPHRASE + "\n")
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        duress = run("reports", "list", "--json", "--data", data, stdin=DURESS + "\n")
    assert (duress.exit_code, duress.stdout, duress.stderr) == (0, normal.stdout, "")
    assert not caplog.records
    gone = run("reports", "list", "--data", data, stdin=PASSPHRASE + "\n")
    assert gone.exit_code == 1 and gone.stderr == "error: wrong passphrase\n"
    assert run("duress", "clear", "--data", data, stdin=DURESS + "\n").exit_code == 0


def test_web_duress_unlock_looks_like_any_unlock(app: object, field_store: Store,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()  # type: ignore[attr-defined]
    report_id = _new_report(client)
    field_store.set_duress(PASSPHRASE, DURESS)
    field_store.lock()
    normal = _unlock_page(client, PASSPHRASE)
    field_store.lock()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        duress = _unlock_page(client, DURESS)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]
    assert (duress.status_code, duress.headers["Location"]) == (  # type: ignore[attr-defined]
        normal.status_code, normal.headers["Location"])  # type: ignore[attr-defined]
    assert client.get(f"/reports/{report_id}").status_code == 404
    assert report_id not in client.get("/reports").get_data(as_text=True)
    field_store.lock()
    assert _unlock_page(client, PASSPHRASE).status_code == 200  # type: ignore[attr-defined]


# -- lockout -------------------------------------------------------------------------------


def test_lockout_erases_after_n_wrong_in_a_row(field_store: Store) -> None:
    field_store.set_lockout(3)
    field_store.lock()
    for _ in range(2):
        with pytest.raises(BadPassphrase):
            field_store.unlock("wrong passphrase entirely here")
    field_store._next_attempt = 0.0
    field_store.unlock(PASSPHRASE)  # resets the count
    field_store.lock()
    for _ in range(3):
        field_store._next_attempt = 0.0
        with pytest.raises(BadPassphrase):
            field_store.unlock("wrong passphrase entirely here")
    assert not field_store.exists() and not field_store.config.db_file.exists()
    with pytest.raises(StoreMissing):
        field_store.unlock(PASSPHRASE)


def test_lockout_count_survives_a_restart_and_is_written_before_the_try(
        field_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    field_store.set_lockout(2)
    field_store.lock()

    def pulled_plug(*_args: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(keywrap, "unwrap_key", pulled_plug)
    with pytest.raises(KeyboardInterrupt):
        field_store.unlock("wrong passphrase entirely here")
    monkeypatch.undo()
    restarted = Store(field_store.config)
    assert keyfile.read_attempts(restarted.attempts_file) == 1
    with pytest.raises(BadPassphrase):
        restarted.unlock("wrong passphrase entirely here")
    assert not restarted.exists()


def test_lockout_off_by_default_and_off_again(field_store: Store) -> None:
    assert field_store.lockout().wipe_after == 0
    field_store.set_lockout(1)
    field_store.set_lockout(0)
    field_store.lock()
    for _ in range(3):
        field_store._next_attempt = 0.0
        with pytest.raises(BadPassphrase):
            field_store.unlock("wrong passphrase entirely here")
    assert field_store.exists()


def test_cli_lockout(tmp_path: Path) -> None:
    data = str(tmp_path / "s")
    run("init", "--role", "field", "--data", data, stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert run("lockout", "--data", data, stdin=PASSPHRASE + "\n").exit_code == 2
    assert run("lockout", "--wipe-after", "2", "--data", data,
               stdin=PASSPHRASE + "\n").exit_code == 0
    for _ in range(2):
        result = run("reports", "list", "--data", data, stdin="wrong passphrase here\n")
        assert result.stderr == "error: wrong passphrase\n"
    assert not (tmp_path / "s" / "kuager.key").exists()
    assert run("reports", "list", "--data", data, stdin=PASSPHRASE + "\n").exit_code == 1


def test_web_lockout_shows_remaining_when_chosen(app: object, field_store: Store) -> None:
    client = app.test_client()  # type: ignore[attr-defined]
    field_store.set_lockout(5)
    field_store.lock()
    page = _unlock_page(client, "wrong passphrase here").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "attempts left" not in page
    field_store.unlock(PASSPHRASE)
    field_store.set_lockout(3, show_remaining=True)
    field_store.lock()
    page = _unlock_page(client, "wrong passphrase here").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "2 attempts left before this store is erased" in page
    for _ in range(2):
        field_store._next_attempt = 0.0
        _unlock_page(client, "wrong passphrase here")
    assert not field_store.exists()
    assert client.get("/unlock").headers["Location"].endswith("/setup")


# -- item 3: a fresh key on passphrase change ------------------------------------------------


def test_passwd_gives_a_fresh_key(app: object, field_store: Store) -> None:
    client = app.test_client()  # type: ignore[attr-defined]
    content = os.urandom(5000)
    report_id = _new_report(client, attachments=[(io.BytesIO(content), "notes.bin")])
    old_key_file = field_store.config.key_file.read_bytes()
    old_inode = field_store.config.key_file.stat().st_ino
    field_store.change_passphrase(PASSPHRASE, NEW)
    assert field_store.config.key_file.stat().st_ino != old_inode
    assert not keyfile.side_path(field_store.config.key_file).exists()
    assert _download(client, report_id) == content  # the running store follows the new key
    field_store.lock()
    saved = field_store.config.key_file.read_bytes()
    field_store.config.key_file.write_bytes(old_key_file)  # the seized copy of the old file
    with pytest.raises(StoreError, match="does not match"):
        field_store.unlock(PASSPHRASE)
    field_store.config.key_file.write_bytes(saved)
    field_store.unlock(NEW)
    assert _unlock_page(client, NEW).status_code == 303  # type: ignore[attr-defined]
    assert _download(client, report_id) == content


def test_passwd_overwrites_the_old_key_file_in_place(field_store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    shredded: list[tuple[int, bytes]] = []
    real = keyfile.shred

    def watch(path: Path) -> None:
        inode = path.stat().st_ino
        real(path)
        shredded.append((inode, path.read_bytes()))

    key_file = field_store.config.key_file
    old = key_file.read_bytes()
    old_inode = key_file.stat().st_ino
    monkeypatch.setattr(keyfile, "shred", watch)
    field_store.change_passphrase(PASSPHRASE, NEW)
    assert shredded and shredded[0][0] == old_inode and old[:40] not in shredded[0][1]


def test_cli_passwd_then_old_key_file_opens_nothing(tmp_path: Path) -> None:
    data = tmp_path / "s"
    run("init", "--role", "field", "--data", str(data), stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    copy = (data / "kuager.key").read_bytes()
    result = run("passwd", "--data", str(data), stdin=f"{PASSPHRASE}\n{NEW}\n{NEW}\n")
    assert result.exit_code == 0 and "new key" in result.stdout
    assert run("recipients", "list", "--data", str(data), stdin=NEW + "\n").exit_code == 0
    (data / "kuager.key").write_bytes(copy)
    old = run("recipients", "list", "--data", str(data), stdin=PASSPHRASE + "\n")
    assert old.exit_code == 1 and "does not match" in old.stderr


class Crash(BaseException):
    """The process dies here (nothing after it runs, no clean-up handler either)."""


def test_crash_after_the_rekey_before_the_new_key_file(field_store: Store,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _put_probe(field_store)

    def crash(_path: Path) -> None:
        raise Crash

    monkeypatch.setattr(keyfile, "promote", crash)
    with pytest.raises(Crash):
        field_store.change_passphrase(PASSPHRASE, NEW)
    monkeypatch.undo()
    restarted = Store(field_store.config)
    with pytest.raises(StoreError, match="interrupted"):
        restarted.unlock(PASSPHRASE)
    restarted.unlock(NEW)
    assert _probe(restarted) == "kept"
    assert not keyfile.side_path(restarted.config.key_file).exists()
    restarted.lock()
    restarted.unlock(NEW)


def test_crash_between_overwrite_and_rename(field_store: Store,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _put_probe(field_store)

    real_replace = os.replace
    calls: list[object] = []

    def crash(*args: object) -> None:
        calls.append(args)
        if len(calls) == 2:  # the first puts the side file in place; the second promotes it
            raise Crash
        real_replace(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        field_store.change_passphrase(PASSPHRASE, NEW)
    monkeypatch.undo()
    assert keyfile.side_path(field_store.config.key_file).exists()
    restarted = Store(field_store.config)
    with pytest.raises(BadPassphrase):  # the old key file is random bytes now
        restarted.unlock(PASSPHRASE)
    restarted.unlock(NEW)
    assert _probe(restarted) == "kept"


def test_crash_before_the_rekey_keeps_the_old_passphrase(field_store: Store,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _put_probe(field_store)

    def crash(*_args: object) -> None:
        raise Crash

    monkeypatch.setattr(Store, "_rekey", crash)
    monkeypatch.setattr(keyfile, "destroy", lambda _path: None)  # no clean-up: a real crash
    with pytest.raises(Crash):
        field_store.change_passphrase(PASSPHRASE, NEW)
    monkeypatch.undo()
    assert keyfile.side_path(field_store.config.key_file).exists()
    restarted = Store(field_store.config)
    with pytest.raises(BadPassphrase):
        restarted.unlock(NEW)
    restarted.unlock(PASSPHRASE)
    assert _probe(restarted) == "kept"
    assert not keyfile.side_path(restarted.config.key_file).exists()


def test_a_v1_key_file_still_opens(field_store: Store) -> None:
    key = bytes(field_store._key or b"")
    field_store.lock()
    field_store.config.key_file.write_bytes(
        keywrap.wrap_key(key, PASSPHRASE, store_module.KDF_PROFILE))
    field_store.unlock(PASSPHRASE)
    assert field_store.role == "field"


# -- retention -------------------------------------------------------------------------------


def _mark_exported(store: Store, report_id: str, days_ago: int, sequence: int) -> None:
    at = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn = store.connect()
    conn.execute("INSERT INTO exports(sequence, created_at, report_count) VALUES (?,?,1)",
                 (sequence, at))
    conn.execute("UPDATE reports SET exported_in = ?, status = 'exported' WHERE id = ?",
                 (sequence, report_id))
    conn.commit()
    conn.close()


def test_retention_deletes_old_exported_reports_at_unlock(app: object,
                                                          field_store: Store) -> None:
    client = app.test_client()  # type: ignore[attr-defined]
    old = _new_report(client, title="old", attachments=[(io.BytesIO(b"x" * 100), "a.bin")])
    recent = _new_report(client, title="recent")
    never = _new_report(client, title="kept")
    _mark_exported(field_store, old, 40, 1)
    _mark_exported(field_store, recent, 5, 2)
    files = sorted(p.name for p in field_store.config.files_dir.iterdir())
    assert files
    field_store.lock()
    field_store.unlock(PASSPHRASE)  # off by default: nothing goes
    conn = field_store.connect()
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 3
    retention.set_days(conn, 30)
    conn.close()
    field_store.lock()
    field_store.unlock(PASSPHRASE)
    conn = field_store.connect()
    left = {row[0] for row in conn.execute("SELECT id FROM reports")}
    assert left == {recent, never}
    assert conn.execute("SELECT count(*) FROM attachments WHERE report_id = ?",
                        (old,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM custody WHERE report_id = ?",
                        (old,)).fetchone()[0] == 0
    conn.close()
    assert not set(files) & {p.name for p in field_store.config.files_dir.iterdir()}


def test_cli_retention(tmp_path: Path) -> None:
    data = str(tmp_path / "s")
    run("init", "--role", "field", "--data", data, stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert run("retention", "--data", data, stdin=PASSPHRASE + "\n").exit_code == 2
    result = run("retention", "--days", "30", "--data", data, stdin=PASSPHRASE + "\n")
    assert result.exit_code == 0 and "30 days" in result.stdout
    store = Store(Config(data_dir=Path(data)))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert retention.days(conn) == 30
    conn.close()
    store.lock()
    assert run("retention", "--off", "--data", data, stdin=PASSPHRASE + "\n").exit_code == 0
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert retention.days(conn) is None
    conn.close()


def test_wipe_removes_the_side_files_too(field_store: Store) -> None:
    field_store.set_lockout(3)
    shutil.copy(field_store.config.key_file, keyfile.side_path(field_store.config.key_file))
    field_store.wipe()
    leftovers = sorted(p.name for p in field_store.config.data_dir.iterdir())
    assert leftovers == []


# -- the settings page -----------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "heading"), [("kk", "Мәжбүрлік құпия фразасы"),
                                               ("ru", "Парольная фраза под принуждением"),
                                               ("en", "Duress passphrase")])
def test_settings_page_sets_duress_lockout_and_retention(app: object, field_store: Store,
                                                         lang: str, heading: str) -> None:
    client = app.test_client()  # type: ignore[attr-defined]
    page = client.get(f"/settings/?lang={lang}").get_data(as_text=True)
    assert heading in page
    token = csrf_token(client, "/settings/")
    done = client.post("/settings/duress", data={"csrf_token": token, "current": PASSPHRASE,
                                                 "duress": DURESS, "confirm": DURESS})
    assert done.status_code == 303
    same = client.post("/settings/duress", data={"csrf_token": token, "current": PASSPHRASE,
                                                 "duress": PASSPHRASE, "confirm": PASSPHRASE})
    assert same.status_code == 400
    assert client.post("/settings/lockout", data={"csrf_token": token, "wipe_after": "4",
                                                  "show_remaining": "y",
                                                  "current": PASSPHRASE}).status_code == 303
    assert field_store.lockout() == keyfile.Lockout(4, True)
    assert client.post("/settings/retention", data={"csrf_token": token, "days": "30",
                                                    "current": PASSPHRASE}).status_code == 303
    conn = field_store.connect()
    assert retention.days(conn) == 30
    conn.close()
    page = client.get("/settings/").get_data(as_text=True)
    assert 'value="4"' in page and 'value="30"' in page
    field_store.lock()
    field_store.unlock(DURESS)  # the duress passphrase set on the page works
    assert field_store.lockout() == keyfile.Lockout(4, True)  # the empty store looks the same
    field_store.set_lockout(0)
    assert client.post("/settings/lockout", data={"csrf_token": csrf_token(client, "/settings/"),
                                                  "wipe_after": "", "current": DURESS}
                       ).status_code in (302, 303)


def test_a_file_system_without_permissions_is_accepted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAT32/exFAT show every file with the mount's mode whatever ``chmod`` does, so
    ``chmod 700`` cannot help there and the USB kit must still run. (This kernel has no vfat
    driver to mount one for real: the probe's stat is made to answer as FAT's does.)"""
    data = store.config.data_dir
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # noqa: S103 - the case under test
    real_fstat = os.fstat

    def fat_fstat(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        fields = list(result)
        fields[0] = stat.S_IFREG | 0o755
        return os.stat_result(fields)

    monkeypatch.setattr(store_module.os, "fstat", fat_fstat)
    store.create(PASSPHRASE, "field")
    store.lock()
    store.unlock(PASSPHRASE)
    store.lock()
    assert not [p for p in data.iterdir() if p.name.startswith(".perm-")]
    os.chmod(data, 0o755)  # noqa: S103 - create made it 0700 (on FAT that does nothing)
    store.unlock(PASSPHRASE)
    store.lock()
    monkeypatch.setattr(store_module.os, "fstat", real_fstat)
    with pytest.raises(StoreError, match=r"chmod 700 "):  # ext4 again: the refusal is back
        store.unlock(PASSPHRASE)


def test_attachment_files_on_disk_are_padded_to_size_buckets(field_store: Store) -> None:
    """Review finding F2: an attachment's file in files/ (stored, cleaned or an adopted
    upload spool) has the size of its Padmé bucket, not its own: two documents a few
    hundred bytes apart, or a photo known from elsewhere, cannot be told apart or matched
    by size on a seized disk."""
    from app.records import attachments
    from app.store.spool import EncryptedSpool
    from crypto._padding import padme
    from crypto.blob import MIN_PADDED

    cfg = field_store.config
    written = [attachments.write_encrypted(cfg, [os.urandom(n)]) for n in (300_000, 300_500)]
    sizes = {(cfg.files_dir / f.file_name).stat().st_size for f in written}
    for n in (300_100, 300_900):  # an upload, moved into files/ as it was spooled
        spool = EncryptedSpool(cfg.spool_dir)
        spool.write(os.urandom(n))
        name = f"adopted{n}"
        key = spool.adopt(cfg.files_dir / name)
        sizes.add((cfg.files_dir / name).stat().st_size)
        assert b"".join(attachments.read_chunks(cfg, name, key)).__len__() == n
    assert len(sizes) == 1
    (size,) = sizes
    assert size == padme(size, MIN_PADDED) and size < 300_000 * 1.12
    small = attachments.write_encrypted(cfg, [b"one line of notes"])
    assert (cfg.files_dir / small.file_name).stat().st_size == MIN_PADDED
    assert b"".join(attachments.read_chunks(cfg, small.file_name, small.key)) == (
        b"one line of notes")
