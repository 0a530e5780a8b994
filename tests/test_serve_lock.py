"""Issue 11, finding 2: the process that held the key ends on lock; the pages go on.

``kuager serve`` runs as two processes: the first binds the sockets and never unlocks; the
second serves one unlock and ends when the store locks, and the first starts the next
(app/cli/serving.py). These tests drive a real ``kuager serve``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import csrf_token
from tests.live import PASSPHRASE, Browser, Server, end, kuager, report_fields

pytestmark = pytest.mark.skipif(os.name != "posix", reason="one process serves on Windows")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(predicate: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def serving_child(server: Server, other_than: int | None = None) -> int:
    """The pid of the serving process (the newest, if one is still ending)."""
    found: list[int] = []

    def seen() -> bool:
        found[:] = [p for p in children(server.proc.pid) if p != other_than and alive(p)]
        return bool(found)

    assert wait_for(seen), "no serving process"
    return max(found)


def get_following(browser: Browser, path: str, tries: int = 100) -> tuple[int, bytes]:
    """GET, answering the ending process's "reload in a moment" as a browser does."""
    for _ in range(tries):
        status, headers, page = browser.get(path)
        if status != 503 or headers.get("Refresh") != "1":
            return status, page
        time.sleep(0.1)
    raise AssertionError(f"{path} kept answering 503")


def unlock(browser: Browser) -> None:
    token = browser.csrf("/unlock")
    status, _headers, _page = browser.post("/unlock", [("csrf_token", token),
                                                       ("passphrase", PASSPHRASE)])
    assert status == 303


@pytest.fixture
def field(tmp_path: Path) -> Path:
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    return data


def test_lock_ends_the_process_that_held_the_key_and_the_next_one_serves(
        field: Path) -> None:
    with Server(field) as server:
        (url,) = server.read_urls(1)
        first = serving_child(server)
        browser = Browser(url)
        browser.get("/reports?lang=en")  # the language cookie: the message is in English
        status, headers, _ = browser.post("/reports/new", report_fields(
            "Отчёт до блокировки", "Описание", browser.csrf("/reports/new")))
        assert status == 303
        report = headers["Location"]
        status, headers, _ = browser.post("/lock", [("csrf_token", browser.csrf("/reports"))])
        assert status == 303 and headers["Location"] == "/unlock"
        # The process that held the key ends; another one, started locked, serves.
        assert wait_for(lambda: not alive(first)), "the serving process outlived the lock"
        second = serving_child(server, other_than=first)
        assert second != first
        # The flash message of the lock reaches the next process's page (same session).
        status, page = get_following(browser, "/unlock")
        assert status == 200
        assert "has ended, and the computer has freed its memory" in page.decode()
        status, _page = get_following(browser, report)
        assert status == 302  # locked: to the unlock page
        unlock(browser)
        status, page = get_following(browser, report)
        assert status == 200 and "Отчёт до блокировки".encode() in page
        assert server.proc.poll() is None
    assert server.proc.returncode == 0
    assert not alive(second)


def test_a_wrong_passphrase_does_not_end_the_serving_process(field: Path) -> None:
    with Server(field) as server:
        (url,) = server.read_urls(1)
        browser = Browser(url)
        browser.post("/lock", [("csrf_token", browser.csrf("/reports"))])
        locked = serving_child(server)
        assert wait_for(lambda: children(server.proc.pid) == [locked])
        token = browser.csrf("/unlock")
        status, _h, _page = browser.post("/unlock", [("csrf_token", token),
                                                    ("passphrase", "not the passphrase")])
        assert status == 200
        time.sleep(1.5)
        assert children(server.proc.pid) == [locked]  # never held a key: nothing to end


def test_stopping_serve_stops_every_process(field: Path) -> None:
    with Server(field) as server:
        server.read_urls(1)
        child = serving_child(server)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
    assert not alive(child)


def test_a_serving_process_that_dies_stops_serve_with_one_error_line(field: Path) -> None:
    """Killed (the out-of-memory killer, kill -9): serve says so and ends by the same
    signal, so that systemd or a test sees the crash; nothing keeps running."""
    with Server(field) as server:
        server.read_urls(1)
        child = serving_child(server)
        os.kill(child, signal.SIGKILL)
        assert server.proc.wait(timeout=20) == -signal.SIGKILL
        assert server.proc.stderr is not None
        err = server.proc.stderr.read()
    assert err.startswith("error:") and "Traceback" not in err, err
    assert "killed (signal 9)" in err


def test_a_serving_process_told_to_stop_stops_serve_cleanly(field: Path) -> None:
    with Server(field) as server:
        server.read_urls(1)
        child = serving_child(server)
        os.kill(child, signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
    assert not alive(child)


def test_a_coordinator_store_refuses_the_public_site_with_one_error_line(
        tmp_path: Path) -> None:
    data = tmp_path / "c"
    assert kuager("init", "--role", "coordinator", data=data).returncode == 0
    result = kuager("serve", "--port", "0", "--public-port", "0", "--no-browser", data=data)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error:") and "field store" in result.stderr
    assert "Traceback" not in result.stderr


def test_in_inbox_mode_a_public_visitor_s_form_survives_the_lock(field: Path) -> None:
    """The reporter's session and CSRF token were made before "Lock now"; the process
    that made them has ended; the submission is still taken (sealed to the coordinators)."""
    from app.config import Config
    from app.exchange import inbox
    from app.store import keyring
    from app.store.store import Store
    from crypto import keys

    store = Store(Config(data_dir=field))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    keyring.add_recipient(conn, str(keys.generate_x25519_identity().recipient()))
    inbox.set_enabled(conn, True)
    conn.close()
    store.lock()
    with Server(field, "--public-port", "0") as server:
        operator_url, public_url = server.read_urls(2)
        first = serving_child(server)
        desk, visitor = Browser(operator_url), Browser(public_url)
        token = visitor.csrf("/")
        assert desk.post("/lock", [("csrf_token", desk.csrf("/reports"))])[0] == 303
        assert wait_for(lambda: not alive(first))
        fields = [(name, value) for name, value in report_fields(
            "Маркер после блокировки", "Описание", token) if name != "csrf_token"]
        status, headers, _page = visitor.post("/", [("csrf_token", token), *fields])
        assert status == 303, _page[:500]
        assert headers["Location"].endswith("/thanks")
    drops = list((field / "inbox-drop").iterdir())
    assert len(drops) == 1 and drops[0].read_bytes().startswith(b"age-encryption.org/v1\n")


@pytest.mark.slow
def test_on_windows_one_process_serves_and_the_lock_says_so(field: Path) -> None:
    """Where sockets cannot be handed over, one process serves every unlock."""
    code = ("import app.cli.supervisor as s; s.can_hand_over = lambda: False; "
            "from app.cli.main import main; main(prog_name='kuager')")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--data", str(field), "serve", "--port", "0",
         "--no-browser"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.close()
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        assert children(proc.pid) == []
        browser = Browser(url)
        browser.get("/reports?lang=en")  # the language cookie: the message is in English
        assert browser.post("/lock", [("csrf_token", browser.csrf("/reports"))])[0] == 303
        page = browser.get("/unlock")[2].decode()
        assert "may remain in this program" in page, page
        assert proc.poll() is None and children(proc.pid) == []
    finally:
        end(proc)


class _Link:
    """What a serving process tells the first one, recorded."""

    def __init__(self) -> None:
        import threading

        self.events: list[str] = []
        self.is_ready = threading.Event()

    def onion(self, key: str | None, client_keys: list[str], port: int) -> tuple[str, str]:
        raise AssertionError("no onion here")

    def ready(self) -> None:
        self.events.append("ready")
        self.is_ready.set()

    def locked(self, kept: object) -> None:
        self.events.append("locked")

    def stopped(self) -> None:
        self.events.append("stopped")

    def check(self) -> None:
        pass

    def watch(self, gone: object) -> None:
        pass


def _serving(field: Path) -> tuple[object, _Link]:
    from app.cli.serving import Serving, Setup
    from app.web.server import listen

    setup = Setup(data_dir=str(field), host="127.0.0.1", remote=False, public=False,
                  onion=False, secrets={"operator": "11" * 32, "public": "22" * 32},
                  read_stdin=False, ends_on_lock=True)
    link = _Link()
    serving = Serving(setup, link, [listen("127.0.0.1", 0)])
    serving.idle_interval = 0.05
    serving.store.unlock(PASSPHRASE)
    return serving, link


def test_the_idle_lock_ends_the_serving_process(field: Path) -> None:
    import threading

    serving, link = _serving(field)
    runner = threading.Thread(target=serving.run)  # type: ignore[attr-defined]
    runner.start()
    try:
        assert link.is_ready.wait(20)
        assert serving.store.is_unlocked  # type: ignore[attr-defined]
        app = serving.listeners[0].app  # type: ignore[attr-defined]
        app.extensions["kuager.last_activity"] -= 24 * 3600  # a day without a request
    finally:
        runner.join(timeout=30)
    assert not runner.is_alive(), "serving went on after the idle lock"
    assert link.events == ["ready", "locked"]
    assert not serving.store.is_unlocked  # type: ignore[attr-defined]


def test_a_request_to_the_ending_process_is_told_to_reload_and_cannot_unlock(
        field: Path) -> None:
    """Between its lock and the moment it stops taking connections, the ending process
    answers "reload" to everything: it must not unlock again, and the lock's message
    waits in the session for the next process's page."""
    serving, link = _serving(field)
    app = serving.listeners[0].app  # type: ignore[attr-defined]
    client = app.test_client()
    try:
        client.get("/reports?lang=en")
        token = csrf_token(client, "/reports")
        assert client.post("/lock", data={"csrf_token": token}).status_code == 303
        assert serving.retiring.is_set() and link.events == ["locked"]  # type: ignore[attr-defined]
        for path in ("/unlock", "/reports"):
            page = client.get(path)
            assert page.status_code == 503 and page.headers["Refresh"] == "1"
            assert "has ended" not in page.get_data(as_text=True)  # the flash waits
        tried = client.post("/unlock", data={"csrf_token": token, "passphrase": PASSPHRASE})
        assert tried.status_code == 503
        assert not serving.store.is_unlocked  # type: ignore[attr-defined]
        # The next process (same session secret) shows the message.
        serving.retiring.clear()  # type: ignore[attr-defined]
        assert "has ended, and the computer has freed its memory" in client.get(
            "/unlock").get_data(as_text=True)
    finally:
        for listener in serving.listeners:  # type: ignore[attr-defined]
            listener.stop()


def test_a_killed_first_process_takes_the_serving_process_with_it(field: Path) -> None:
    """Nothing may go on serving an unlocked store with nobody to stop it."""
    import socket

    with Server(field) as server:
        (url,) = server.read_urls(1)
        child = serving_child(server)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        server.proc.kill()
        server.proc.wait(timeout=10)
        assert wait_for(lambda: not alive(child), 15), "the serving process outlived serve"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


DURESS = "lantern quiet meadow copper violin harbor"


def test_duress_typed_while_the_store_is_open_ends_the_process_that_held_the_real_key(
        field: Path) -> None:
    """A second browser (or a settings form) given the duress passphrase while the store
    is open erases the real store and opens an empty one in one request: the process whose
    memory held the real store's reports must end as on a lock (review finding 1)."""
    serving, link = _serving(field)
    store = serving.store  # type: ignore[attr-defined]
    store.set_duress(PASSPHRASE, DURESS)
    client = serving.listeners[0].app.test_client()  # type: ignore[attr-defined]
    try:
        token = csrf_token(client, "/reports")
        answer = client.post("/unlock", data={"csrf_token": token, "passphrase": DURESS})
        assert answer.status_code == 303  # the page a right passphrase gets
        assert link.events == ["locked"]  # this process ends; the next one starts locked
        assert serving.retiring.is_set() and not store.is_unlocked  # type: ignore[attr-defined]
        page = client.get("/reports")
        assert page.status_code == 503 and page.headers["Refresh"] == "1"
    finally:
        for listener in serving.listeners:  # type: ignore[attr-defined]
            listener.stop()
    # The real store is gone; the duress passphrase opens the empty one from now on.
    from app.config import Config
    from app.store.store import Store

    after = Store(Config(data_dir=field))
    after.unlock(DURESS)
    conn = after.connect()
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    conn.close()


def test_an_unlock_under_way_when_the_lock_came_leaves_no_key_in_the_ending_process(
        field: Path) -> None:
    """An unlock that passed the gate before "Lock now" (it waited for its turn at the key
    file) must not open the store again in the process that is ending (finding 2)."""
    serving, link = _serving(field)
    store = serving.store  # type: ignore[attr-defined]
    client = serving.listeners[0].app.test_client()  # type: ignore[attr-defined]
    try:
        token = csrf_token(client, "/reports")
        assert client.post("/lock", data={"csrf_token": token}).status_code == 303
        assert link.events == ["locked"]
        store.unlock(PASSPHRASE)  # what the unlock under way does when its turn comes
        assert not store.is_unlocked
    finally:
        for listener in serving.listeners:  # type: ignore[attr-defined]
            listener.stop()


def test_a_passphrase_tried_while_the_lock_comes_does_not_open_the_store_again(
        field: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_passphrase`` (a session proving it knows the passphrase of an open store)
    racing a lock: the lock stays a lock."""
    from app.config import Config
    from app.store.store import Store

    store = Store(Config(data_dir=field))
    store.unlock(PASSPHRASE)
    attempt = store._attempt

    def locked_meanwhile(passphrase: str) -> bytearray:
        key = attempt(passphrase)
        store.lock()  # "Lock now" pressed while the passphrase was being tried
        return key

    monkeypatch.setattr(store, "_attempt", locked_meanwhile)
    store.check_passphrase(PASSPHRASE)
    assert not store.is_unlocked


def test_a_new_passphrase_ends_the_process_that_held_the_old_key(field: Path) -> None:
    """After a passphrase change the old key opens a copy of the old database: the process
    that held it ends, and the next one asks for the new passphrase."""
    serving, link = _serving(field)
    store = serving.store  # type: ignore[attr-defined]
    try:
        serving.check_lock()  # type: ignore[attr-defined]
        assert link.events == []  # the first key: serving goes on
        store.change_passphrase(PASSPHRASE, DURESS)
        serving.check_lock()  # type: ignore[attr-defined]
        assert link.events == ["locked"] and not store.is_unlocked
    finally:
        for listener in serving.listeners:  # type: ignore[attr-defined]
            listener.stop()


def test_what_no_serving_process_sends_is_ignored_or_ends_it() -> None:
    """The first process reads the control socket of its serving process: a line nested
    past Python's recursion limit is ignored like any other non-message (it stopped serve
    with a traceback), and a line longer than any message closes the channel."""
    import socket

    from app.cli import serving as serving_module
    from app.cli.supervisor import _Child

    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    child = _Child(proc, ours)  # type: ignore[arg-type]
    import threading

    def send(data: bytes) -> threading.Thread:
        sender = threading.Thread(target=theirs.sendall, args=(data,), daemon=True)
        sender.start()  # more than the socket holds: read while it is sent
        return sender

    try:
        sender = send(b"[" * 200_000 + b"\n" + b'{"event": "ready"}\n')
        found: list[dict[str, object]] = []
        while not found:
            found += child.messages()
        sender.join(timeout=10)
        assert found == [{"event": "ready"}] and not child.closed
        sender = send(b"x" * (serving_module.MAX_LINE + 70_000))
        for _ in range(1000):
            if child.closed:
                break
            child.messages()
        assert child.closed
    finally:
        ours.close()
        theirs.close()


def test_a_serving_process_that_hangs_up_but_runs_on_is_killed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its control socket closed, the first process waits a bounded time, then kills it
    (it waited for ever, and SIGTERM no longer stopped serve)."""
    import socket

    from app.cli import supervisor
    from app.cli.supervisor import Supervisor, _Child

    monkeypatch.setattr(supervisor, "CLOSE_WAIT", 0.2)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ours, theirs = socket.socketpair()
    theirs.close()
    child = _Child(proc, ours)  # type: ignore[arg-type]
    child.retired_at = time.monotonic()  # it had locked: serve goes on without it
    fake = Supervisor.__new__(Supervisor)
    fake.children = [child]
    fake.stopping = False
    started = time.monotonic()
    Supervisor._ended(fake, child)
    assert proc.returncode == -signal.SIGKILL and time.monotonic() - started < 10
    assert fake.children == []


def test_later_serving_processes_do_not_inherit_the_passphrase_pipe(field: Path) -> None:
    """Only the first serving process reads the passphrase from standard input; the ones
    started after a lock get /dev/null (an argument once lost inside a comment)."""
    with Server(field) as server:
        (url,) = server.read_urls(1)
        first = serving_child(server)
        browser = Browser(url)
        assert browser.post("/lock", [("csrf_token", browser.csrf("/reports"))])[0] == 303
        assert wait_for(lambda: not alive(first))
        second = serving_child(server, other_than=first)
        assert os.readlink(f"/proc/{second}/fd/0") == "/dev/null"
