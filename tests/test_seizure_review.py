"""Regression tests from the attacker's review of the store-side seizure defences.

Each test names the hole it closes; docs/THREAT_MODEL.md rows S12-S14 cite them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import keyfile
from app.store.store import BadPassphrase, Store, StoreError
from tests.conftest import PASSPHRASE, csrf_token

DURESS = "lantern quiet meadow copper violin harbor"
WRONG = "wrong passphrase entirely here"


@pytest.fixture(autouse=True)
def restore_umask() -> Iterator[None]:
    """The CLI sets the process umask; put the test process's back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


# -- lockout: parallel tries must each count -------------------------------------------------


def test_parallel_wrong_passphrases_each_count(field_store: Store,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Two unlocks at once (two browser tabs, web and CLI, many CLI processes) must not
    both read the same count and both write count + 1: that gave a guesser more than N
    tries. The barrier holds the first reader until a second one reads too; without
    mutual exclusion both read 0 and the file ends at 1."""
    field_store.set_lockout(10)
    field_store.lock()
    barrier = threading.Barrier(2, timeout=2)
    real_read = keyfile.read_attempts

    def read_then_wait(path: Path) -> int:
        count = real_read(path)
        # Broken: the other try is held off until this one has counted, as it should be.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return count

    monkeypatch.setattr(keyfile, "read_attempts", read_then_wait)
    stores = [Store(field_store.config) for _ in range(2)]  # two processes' views
    errors: list[BaseException] = []

    def guess(store: Store) -> None:
        try:
            store.unlock(WRONG)
        except BadPassphrase:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guess, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    assert errors == []
    assert keyfile.read_attempts(field_store.attempts_file) == 2


def test_parallel_tries_past_the_limit_wipe_once_without_a_traceback(
        field_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tries that both reach the limit: one erases, the other sees no store (not a
    FileNotFoundError from erasing what the first already erased)."""
    field_store.set_lockout(1)
    field_store.lock()
    barrier = threading.Barrier(2, timeout=2)
    real_read = keyfile.read_attempts

    def read_then_wait(path: Path) -> int:
        count = real_read(path)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return count

    monkeypatch.setattr(keyfile, "read_attempts", read_then_wait)
    outcomes: list[str] = []

    def guess(store: Store) -> None:
        try:
            store.unlock(WRONG)
        except StoreError as exc:
            outcomes.append(type(exc).__name__)
        except BaseException as exc:
            outcomes.append(f"crash: {exc!r}")

    threads = [threading.Thread(target=guess, args=(Store(field_store.config),))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["BadPassphrase", "StoreMissing"]
    assert not field_store.exists()


# -- passphrase change: a concurrent unlock must not drop the new key file ---------------------


NEW = "orbit velvet canyon pepper mosaic tundra"


def test_unlock_during_a_passphrase_change_keeps_the_store(
        field_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the rekey runs, kuager.key (old key) and kuager.key.new (new key) both exist
    and the database still opens with the old key. An unlock made then (another browser,
    a CLI command) took the old key file for the good one and deleted kuager.key.new; the
    rekey then committed, and no passphrase opened the store again."""
    conn = field_store.connect()
    conn.execute("INSERT INTO meta(key, value) VALUES ('probe', 'kept')")
    conn.commit()
    conn.close()
    real_rekey = Store._rekey
    other: list[BaseException | None] = []

    def unlock_elsewhere() -> None:
        try:
            Store(field_store.config).unlock(PASSPHRASE)
            other.append(None)
        except BaseException as exc:
            other.append(exc)

    def rekey_with_a_visitor(self: Store, old_key: bytearray, new_key: bytearray) -> None:
        visitor = threading.Thread(target=unlock_elsewhere)
        visitor.start()
        visitor.join(timeout=1.5)  # done at once without mutual exclusion; waits with it
        real_rekey(self, old_key, new_key)
        threads.append(visitor)

    threads: list[threading.Thread] = []
    monkeypatch.setattr(Store, "_rekey", rekey_with_a_visitor)
    field_store.change_passphrase(PASSPHRASE, NEW)
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    field_store.lock()
    reopened = Store(field_store.config)
    reopened.unlock(NEW)
    conn = reopened.connect()
    assert conn.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()[0] == "kept"
    conn.close()
    assert len(other) == 1 and isinstance(other[0], BadPassphrase)  # the old one is dead


# -- duress: the passphrase cannot become the duress passphrase --------------------------------


def test_passwd_refuses_the_duress_passphrase(field_store: Store) -> None:
    """Changing the passphrase to the duress passphrase left both slots opening with it;
    slot 0 is tried first, so the 'duress' passphrase opened the real store and duress
    was silently gone."""
    field_store.set_duress(PASSPHRASE, DURESS)
    before = field_store.config.key_file.read_bytes()
    with pytest.raises(StoreError, match="duress passphrase must differ"):
        field_store.change_passphrase(PASSPHRASE, DURESS)
    assert field_store.config.key_file.read_bytes() == before
    assert not keyfile.side_path(field_store.config.key_file).exists()
    field_store.lock()
    field_store.unlock(PASSPHRASE)  # the store and its key are as they were


def test_settings_page_refuses_the_duress_passphrase_as_new(app: object,
                                                            field_store: Store) -> None:
    field_store.set_duress(PASSPHRASE, DURESS)
    client = app.test_client()  # type: ignore[attr-defined]
    response = client.post("/settings/passphrase", data={
        "csrf_token": csrf_token(client, "/settings/"), "current": PASSPHRASE,
        "passphrase": DURESS, "confirm": DURESS})
    assert response.status_code == 400
    assert "the duress passphrase must differ from the passphrase" in response.get_data(
        as_text=True)


def test_cli_passwd_refuses_the_duress_passphrase(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli.main import main

    data = str(tmp_path / "s")
    runner = CliRunner()
    runner.invoke(main, ["init", "--role", "field", "--data", data],
                  input=f"{PASSPHRASE}\n{PASSPHRASE}\n", catch_exceptions=False)
    runner.invoke(main, ["duress", "set", "--data", data],
                  input=f"{PASSPHRASE}\n{DURESS}\n{DURESS}\n", catch_exceptions=False)
    result = runner.invoke(main, ["passwd", "--data", data],
                           input=f"{PASSPHRASE}\n{DURESS}\n{DURESS}\n", catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (
        1, "error: the duress passphrase must differ from the passphrase\n")


# -- strength: invisible characters and one-character separators add nothing ------------------


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)


@pytest.mark.parametrize("weak", [
    "\u200b".join("Password1234"),  # zero-width spaces between the letters: scored 73 bits
    "\u00ad".join("qwerty123456"),  # soft hyphens: scored 76 bits
    "\u2063".join("almaty2026"),  # invisible separators: scored 63 bits
    "p-a-s-s-w-o-r-d-1-2-3-4",  # one separator between every letter: scored 73 bits
    "p.a.s.s.w.o.r.d.1.2.3.4",
    "A l m a t y 2 0 2 6",  # scored 63 bits
    _fullwidth("Password1234Password1234"),
])
def test_invisible_and_interleaved_tricks_are_refused(weak: str) -> None:
    from app.store import passphrase

    assert passphrase.weakness(weak) is not None


# -- word lists: what the README says was filtered out is out ----------------------------------

#: Words found in the shipped lists that wordlists/README.md says were filtered (insults,
#: death, crime, police and prison), or that a monitor should not be made to say at a border
#: (spy, agent, search, interrogation) when asked to type the passphrase in front of someone.
FLAGGED = {
    "kk": {"өлі", "өлген", "қылмыс", "жаза", "сұмырай", "төбелес", "зират", "шошқа"},
    "ru": {"тварь", "свинья", "арест", "допрос", "обыск", "шпион", "кладбище", "вор", "суд",
           "враг", "агент"},
    "en": {"crime", "spy", "enemy", "agent"},
}


@pytest.mark.parametrize("lang", sorted(FLAGGED))
def test_word_lists_hold_none_of_the_flagged_words(lang: str) -> None:
    from app.store import passphrase

    words = set(passphrase.wordlist(lang))
    assert words & FLAGGED[lang] == set()
    assert len(words) >= 2048  # replaced, not dropped: six words stay at 66 bits


# -- settings: lockout and retention ask for the passphrase, as the CLI and wipe do -----------


def test_settings_lockout_and_retention_need_the_passphrase(app: object,
                                                            field_store: Store) -> None:
    """A store unlocked on the command line admits any local client (S5). Such a client
    (another account on the machine) could set 'erase after 1 wrong passphrase' so the
    monitor's next typo destroys the store, turn lockout off before a seizure, or set a
    1-day retention that deletes every exported report at once; ``kuager lockout`` and
    ``kuager retention`` ask for the passphrase, the page did not."""
    from app.store import retention

    client = app.test_client()  # type: ignore[attr-defined]
    token = csrf_token(client, "/settings/")
    assert client.post("/settings/lockout", data={"csrf_token": token, "wipe_after": "1"}
                       ).status_code == 400
    assert client.post("/settings/lockout", data={"csrf_token": token, "wipe_after": "1",
                                                  "current": WRONG}).status_code == 400
    assert field_store.lockout().wipe_after == 0
    assert client.post("/settings/retention", data={"csrf_token": token, "days": "1"}
                       ).status_code == 400
    conn = field_store.connect()
    assert retention.days(conn) is None
    conn.close()
    field_store._next_attempt = 0.0
    assert client.post("/settings/lockout", data={"csrf_token": token, "wipe_after": "3",
                                                  "current": PASSPHRASE}).status_code == 303
    assert field_store.lockout().wipe_after == 3
    assert client.post("/settings/retention", data={"csrf_token": token, "days": "30",
                                                    "current": PASSPHRASE}).status_code == 303
    conn = field_store.connect()
    assert retention.days(conn) == 30
    conn.close()


# -- private files: what an older version left readable is made private ------------------------


def test_unlock_makes_older_readable_files_private(field_store: Store) -> None:
    """Issue 11 #9: stores made before umask 0o077 have a 0644 key file and database. The
    0700 folder hides them today, but a copy of the folder (cp -r, a backup tool, a
    looser chmod later) keeps the modes: unlock tightens them."""
    import stat

    cfg = field_store.config
    field_store.set_lockout(5)
    field_store.lock()
    loose = [cfg.key_file, cfg.db_file, field_store.lockout_file, field_store.attempts_file]
    for path in loose:
        os.chmod(path, 0o644)
    os.chmod(cfg.files_dir, 0o755)  # noqa: S103 - the case under test
    field_store.unlock(PASSPHRASE)
    for path in loose:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(cfg.files_dir.stat().st_mode) == 0o700


# -- lockout off leaves no trace of having been on ---------------------------------------------


def test_lockout_off_removes_the_count_file(field_store: Store) -> None:
    """'lockout --off' wrote a fresh kuager.attempts even on a store that never had a
    lockout, and left it after turning lockout off: a file that says a lockout was used."""
    field_store.set_lockout(0)
    assert not field_store.attempts_file.exists()
    field_store.set_lockout(3)
    assert field_store.attempts_file.exists() and field_store.lockout_file.exists()
    field_store.set_lockout(0)
    assert not field_store.attempts_file.exists() and not field_store.lockout_file.exists()
