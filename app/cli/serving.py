"""The process that unlocks: it serves the pages of one unlock and ends when the store locks.

``kuager serve`` (app/cli/serve.py) starts in a first process that binds the listening
sockets, starts tor and the private browser, and never unlocks the store. The pages are
served by a second process it starts (``kuager _serve-child``), which is handed the sockets
and the few things that must outlive a lock (the session secrets, the onion address, the
public keys of inbox mode), and which is the only one ever to hold the store's key, a
connection to the database, or a report. When the store locks ("Lock now", the idle lock,
quick exit, a wipe), that process tells the first one, which starts the next (locked) one
at once, and then ends: requests under way get a few seconds to finish (``RETIRE_SECONDS``
in app/web/server.py), and the kernel frees every page that held the key, the passphrase
or report text (finding 2). On Windows, which cannot hand a socket to a new process this
way, one process does everything and a lock erases the key only (``InProcessLink``).

The two processes speak JSON lines over a private socket pair (``PipeLink``): the first
line, from the first process, is the ``Setup``; then the serving process sends ``onion``
(once, asking for the onion service; answered with the address or an error), ``ready``,
and ``locked`` or ``stopped``. Secrets never pass on the command line, which every
account on the machine can read.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import click

from app.cli.common import UserError
from app.messages import cli_gettext as _

if TYPE_CHECKING:
    from flask import Response

    from app.exchange.inbox import LockedInbox
    from app.store.store import Store
    from app.web.server import Listener

#: Longest control line accepted (a setup with keys of inbox mode is a few KB).
MAX_LINE = 1024 * 1024


@dataclass
class Setup:
    """What a serving process is told when it starts (JSON; nothing of it is a report)."""

    data_dir: str
    host: str
    remote: bool
    public: bool
    onion: bool
    #: Hex session secrets of the operator and public sites, the same for every serving
    #: process of one ``kuager serve``: a lock ends no session, no form, no flash message.
    secrets: dict[str, str]
    #: Read the passphrase from standard input (the first process only).
    read_stdin: bool
    #: Whether this process ends on lock (False: the only process, on Windows).
    ends_on_lock: bool
    onion_address: str | None = None
    #: What the public site keeps for a locked store in inbox mode (``encode_inbox``).
    locked_inbox: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> Setup:
        return cls(**json.loads(line))


def encode_inbox(kept: LockedInbox | None) -> dict[str, Any] | None:
    if kept is None:
        return None
    return {"recipients": [str(r) for r in kept.recipients], "full_form": kept.full_form}


def decode_inbox(data: dict[str, Any] | None) -> LockedInbox | None:
    from app.exchange.inbox import LockedInbox
    from app.store.keyring import parse_recipient

    if not data:
        return None
    return LockedInbox([parse_recipient(text) for text in data["recipients"]],
                       bool(data["full_form"]))


class Link(Protocol):
    """The serving process's line to the process that started it."""

    def onion(self, key: str | None, client_keys: list[str], port: int) -> tuple[str, str]:
        """Start the onion service for ``port``: (address, key to keep)."""
        ...

    def ready(self) -> None: ...

    def locked(self, kept: dict[str, Any] | None) -> None: ...

    def stopped(self) -> None: ...

    def check(self) -> None:
        """Raise ``UserError`` when serving must stop (tor died)."""
        ...

    def watch(self, gone: Callable[[], None]) -> None:
        """Call ``gone`` if the first process ends (killed): nothing serves without it."""
        ...


class PipeLink:
    """JSON lines over the socket pair the first process made."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("r", encoding="utf-8", newline="\n")
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self.sock.sendall((json.dumps(message) + "\n").encode())

    def receive(self) -> dict[str, Any]:
        line = self.reader.readline(MAX_LINE)
        if not line.endswith("\n"):
            raise UserError(_("kuager serve stopped"))
        message = json.loads(line)
        if not isinstance(message, dict):
            raise UserError(_("kuager serve stopped"))
        return message

    def onion(self, key: str | None, client_keys: list[str], port: int) -> tuple[str, str]:
        self.send({"event": "onion", "key": key, "client_keys": client_keys, "port": port})
        answer = self.receive()
        if "error" in answer:
            raise OnionRefused(str(answer["error"]))
        return str(answer["address"]), str(answer["key"])

    def ready(self) -> None:
        self.send({"event": "ready"})

    def locked(self, kept: dict[str, Any] | None) -> None:
        self.send({"event": "locked", "locked_inbox": kept})

    def stopped(self) -> None:
        with contextlib.suppress(OSError):  # the first process may be gone already
            self.send({"event": "stopped"})

    def check(self) -> None:
        pass  # the first process watches tor

    def watch(self, gone: Callable[[], None]) -> None:
        def read() -> None:
            with contextlib.suppress(OSError, ValueError):
                while self.reader.readline(MAX_LINE):
                    pass  # nothing more is sent this way; the end of it is what counts
            gone()

        threading.Thread(target=read, name="kuager-first-process", daemon=True).start()


class OnionRefused(Exception):
    """The first process could not start the onion service; it says why itself."""


def read_setup(sock: socket.socket) -> tuple[PipeLink, Setup]:
    link = PipeLink(sock)
    line = link.reader.readline(MAX_LINE)
    if not line.endswith("\n"):
        raise UserError(_("kuager serve stopped"))
    return link, Setup.from_json(line)


class Serving:
    """One unlock's pages: built, served until a signal or a lock, then stopped."""

    #: Seconds between idle checks (app/web/auth.start_idle_watch).
    idle_interval = 15.0

    def __init__(self, setup: Setup, link: Link, sockets: list[socket.socket]) -> None:
        from app.config import load_config
        from app.store.store import Store

        self.setup = setup
        self.link = link
        self.store: Store = Store(load_config(setup.data_dir))
        self.listeners = self._listeners(sockets)
        #: The store's ``key_serial`` of the first key this process held (an unlock, a
        #: new store); None until then.
        self.first_key: int | None = None
        #: Set when the store locked after that: this process then ends.
        self.retiring = threading.Event()
        self.done = threading.Event()
        self._check_lock = threading.Lock()

    def _listeners(self, sockets: list[socket.socket]) -> list[Listener]:
        from app.web.auth import LOOPBACK_HOSTS
        from app.web.factory import create_operator_app, create_public_app
        from app.web.public import keep_locked_inbox
        from app.web.server import Listener

        setup, cfg = self.setup, self.store.config
        settings: dict[str, Any] = {"KUAGER_SERVING_PUBLIC": setup.public,
                                    "KUAGER_ENDS_ON_LOCK": setup.ends_on_lock,
                                    "SECRET_KEY": bytes.fromhex(setup.secrets["operator"])}
        if setup.remote:
            settings["KUAGER_ALLOW_NON_LOOPBACK"] = True
            name = setup.host.lower().strip("[]")
            settings["KUAGER_ALLOWED_HOSTS"] = LOOPBACK_HOSTS | {name, f"[{name}]"}
        apps = [create_operator_app(cfg, self.store, settings)]
        if setup.public:
            public = create_public_app(cfg, self.store,
                                       {"SECRET_KEY": bytes.fromhex(setup.secrets["public"])})
            keep_locked_inbox(public, decode_inbox(setup.locked_inbox))
            apps.append(public)
        listeners = []
        for app, sock in zip(apps, sockets, strict=True):
            app.extensions["kuager.retiring"] = self.is_retiring
            app.after_request(self._after_request)
            host = "127.0.0.1" if app.config["KUAGER_SIDE"] == "public" else setup.host
            listener = Listener(app, host, sock.getsockname()[1], sock=sock)
            listener.bind()
            listeners.append(listener)
        self.store.unlock_listeners.append(self._unlocked)
        return listeners

    # -- the lock that ends this process ------------------------------------------------

    def is_retiring(self) -> bool:
        return self.retiring.is_set()

    def _unlocked(self) -> None:
        if self.first_key is None:
            self.first_key = self.store.key_serial
        if self.retiring.is_set():
            # An unlock that was already under way when the lock came (it waited for its
            # turn at the key file): this process is ending and must not hold the key.
            self.store.lock()

    def _after_request(self, response: Response) -> Response:
        self.check_lock()
        return response

    def check_lock(self) -> None:
        """After every request and idle check: if this process held the key and the store
        is locked now, tell the first process (which starts the next one) and end.

        Checked when a request ends, not at the lock itself, so the page of the request
        that locked is still sent. A process also ends once it holds a second key: the
        duress passphrase typed while the store is open (a settings form, a second
        browser) erases the real store and opens an empty one within one request, and a
        new passphrase gives the store a new key; the first key's reports would otherwise
        stay in this process's memory.
        """
        if not self.setup.ends_on_lock:
            return
        with self._check_lock:
            if self.retiring.is_set():
                return
            if self.store.is_unlocked:
                if self.first_key is None:
                    self.first_key = self.store.key_serial
                if self.store.key_serial == self.first_key:
                    return
                # A second key in this process (the duress passphrase typed while the store
                # was open, or a new passphrase): what the first one opened may still be in
                # its memory, so it ends like a lock and the next process asks again.
                self.store.lock()
            if self.first_key is None:  # never unlocked: nothing to free
                return
            self.retiring.set()
            for listener in self.listeners:
                listener.retire()
            self.link.locked(encode_inbox(self._kept_inbox()))
        self.done.set()

    def _kept_inbox(self) -> LockedInbox | None:
        from app.web.public import locked_inbox_of

        if len(self.listeners) < 2:
            return None
        return locked_inbox_of(self.listeners[1].app)

    # -- serving --------------------------------------------------------------------------

    def run(self) -> None:
        from app.web.auth import start_idle_watch

        idle = None
        try:
            if self.setup.read_stdin:
                _unlock_from_stdin(self.store)
            if self.setup.public and self.store.role == "coordinator":
                raise UserError(_("the public submission site is served from a field store, "
                                  "not a coordinator's"))
            operator = self.listeners[0]
            address = self.setup.onion_address
            if self.setup.onion and address is None:
                address = self._start_onion()
            operator.app.config["KUAGER_ONION_ADDRESS"] = address
            _warn_idle_lock_off(self.store, operator, self.setup.public)
            for listener in self.listeners:
                listener.start()
            idle = start_idle_watch(operator.app, self.idle_interval, after=self.check_lock)
            self.link.watch(self.done.set)
            self.link.ready()
            self._wait()
        finally:
            if idle is not None:
                idle.set()
            for listener in self.listeners:
                if self.retiring.is_set():
                    listener.stop_retired()
                else:
                    listener.stop()
            self.store.lock()
        if not self.retiring.is_set():
            self.link.stopped()

    def _start_onion(self) -> str:
        from app.store import meta

        if not self.store.is_unlocked:
            raise UserError(_("--onion needs the store unlocked: give the passphrase on "
                              "standard input"))
        conn = self.store.connect()
        try:
            key = meta.get(conn, "onion_key")
            client_keys = list(meta.get_json(conn, "onion_client_keys", []) or [])
            address, new_key = self.link.onion(key, client_keys, self.listeners[1].port)
            if new_key != key:
                meta.set(conn, "onion_key", new_key)
        finally:
            conn.close()
        return address

    def _wait(self) -> None:
        """Until SIGTERM, SIGINT, or the lock that ends this process."""

        def stop(_signum: int, _frame: Any) -> None:
            self.done.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        while not self.done.wait(1.0):
            self.link.check()


def _unlock_from_stdin(store: Store) -> None:
    """A passphrase on standard input (not a terminal) starts the store unlocked."""
    if sys.stdin is None or sys.stdin.isatty() or not store.exists():
        return
    line = sys.stdin.readline()
    if line.strip("\r\n"):
        store.unlock(line.rstrip("\r\n"))


def _warn_idle_lock_off(store: Store, operator: Listener, public: bool) -> None:
    """Say it on the terminal too when the store stays unlocked for the public form (the
    operator pages say it: operator.html): with the passphrase on standard input nobody
    may open those pages."""
    from app.web.auth import idle_lock_applies

    if public and store.is_unlocked and not idle_lock_applies(operator.app):
        click.echo(_("warning: %(message)s", message=_(
            "automatic lock is off while the public form is open: the store does not "
            "lock itself after %(minutes)s minutes without use, because submissions "
            "need it unlocked. Stop Kuager (Ctrl+C) or press “Lock now” when you leave "
            "the laptop. In inbox mode (Export page) the store locks itself as usual "
            "and the public form stays open.",
            minutes=store.config.idle_lock_minutes)), err=True)


def serve_child(control: int, listen_fds: tuple[int, ...]) -> None:
    """``kuager _serve-child``: serve one unlock, end on lock."""
    harden_process()  # exec made this process dumpable again
    _end_with_parent()
    link, setup = read_setup(socket.socket(fileno=control))
    sockets = [socket.socket(fileno=fd) for fd in listen_fds]
    try:
        Serving(setup, link, sockets).run()
    except OnionRefused:
        sys.exit(1)  # the first process prints why


#: prctl(2) option: the signal this process gets when the process that started it dies.
PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """Linux: SIGTERM when the first process dies, whatever it died of (the control
    socket's end, ``PipeLink.watch``, says it everywhere else)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


#: prctl(2) option: whether the process may be dumped or attached to (/proc/PID/mem, ptrace).
PR_SET_DUMPABLE = 4


def harden_process() -> dict[str, bool]:
    """No core file, no dump, no same-user debugger (finding 2); what succeeded.

    RLIMIT_CORE=0 keeps a crash from writing memory (keys, reports) to disk;
    PR_SET_DUMPABLE=0 (Linux) also makes ``/proc/PID/mem`` and ptrace root-only, so another
    program of the same user cannot read the unlocked store's key out of memory. Windows
    and macOS: the core limit where there is one, nothing else.
    """
    done = {"core": False, "dumpable": False}
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        done["core"] = True
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            done["dumpable"] = libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
        except (OSError, AttributeError):
            pass
    return done
