"""The first process of ``kuager serve``: what outlives every lock (the listening sockets,
tor, the private browser) and the serving processes it starts, one per unlock
(app/cli/serving.py says why and how)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.common import UserError
from app.cli.serving import MAX_LINE, Setup
from app.messages import cli_gettext as _

if TYPE_CHECKING:
    from app.cli.browser import PrivateBrowser


def can_hand_over() -> bool:
    """Whether the listening sockets can be handed to a new process (not on Windows)."""
    return os.name == "posix"


class Front:
    """What outlives every lock: the addresses, the private browser, tor."""

    def __init__(self, tor_dir: Path, host: str, sockets: list[socket.socket], *,
                 tor_config: Path | None, browser: bool, onion: bool) -> None:
        self.tor_dir = tor_dir
        self.tor_config = tor_config
        self.browser = browser
        self.onion = onion
        self.ports = [sock.getsockname()[1] for sock in sockets]
        shown = f"[{host}]" if ":" in host else host
        self.urls = [f"http://{shown}:{self.ports[0]}/"]
        if len(self.ports) > 1:
            self.urls.append(f"http://127.0.0.1:{self.ports[1]}/")
        self.service: Any = None
        self.address: str | None = None
        self.window: PrivateBrowser | None = None

    def start_onion(self, key: str | None, client_keys: list[str]) -> tuple[str, str]:
        """tor, with the onion service for the public port: (address, key to keep).

        Started here, in the process that never unlocks, so that a lock does not take the
        service down; the key is handed over by the serving process once, at the start.
        """
        from app.tor.onion import OnionService, OnionSettings, read_torrc_lines

        extra = read_torrc_lines(self.tor_config) if self.tor_config else ()
        service = OnionService(OnionSettings(data_dir=self.tor_dir, extra_torrc=extra,
                                             client_auth_keys=tuple(client_keys)))
        address, new_key = service.start(self.ports[1], key)
        self.service, self.address = service, address
        return address, new_key

    def announce(self) -> None:
        """The addresses, one a line (the operator's first), and the browser."""
        urls = [*self.urls, *([f"http://{self.address}/"] if self.address else [])]
        for url in urls:
            click.echo(url)
            sys.stdout.flush()
        if self.address:
            from app.tor.qr import terminal_qr

            click.echo(terminal_qr(urls[-1]), err=True)
        if self.browser:
            self.window = open_browser(urls[0])

    def tor_died(self) -> bool:
        return self.service is not None and not self.service.running()

    def tor_died_error(self) -> UserError:
        return UserError(_("tor stopped, so the onion service is gone; Kuager stopped too "
                           "(see %(log)s)", log=self.tor_dir / "notice.log"))

    def close(self) -> None:
        window, self.window = self.window, None
        if window is not None:
            window.close()
        service, self.service = self.service, None
        if service is not None:
            service.stop()


class InProcessLink:
    """One process serves everything (Windows): a lock erases the key only."""

    def __init__(self, front: Front) -> None:
        self.front = front

    def onion(self, key: str | None, client_keys: list[str], port: int) -> tuple[str, str]:
        del port
        return self.front.start_onion(key, client_keys)

    def ready(self) -> None:
        self.front.announce()

    def locked(self, kept: dict[str, Any] | None) -> None:
        del kept

    def stopped(self) -> None:
        pass

    def check(self) -> None:
        if self.front.tor_died():
            raise self.front.tor_died_error()

    def watch(self, gone: Callable[[], None]) -> None:
        del gone  # one process: nothing to outlive


class _Child:
    """A serving process, and the socket pair end it talks on."""

    def __init__(self, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.proc = proc
        self.sock = sock
        self.buffer = b""
        #: When it said ``locked``: it ends once its requests are answered.
        self.retired_at: float | None = None
        self.closed = False

    def messages(self) -> list[dict[str, Any]]:
        """The complete lines it sent; ``closed`` once it hung up."""
        import json

        try:
            chunk = self.sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
            return []
        self.buffer += chunk
        if len(self.buffer) > MAX_LINE:
            self.closed = True
            return []
        *lines, self.buffer = self.buffer.split(b"\n")
        found = []
        for line in lines:
            try:
                message = json.loads(line)
            except (ValueError, RecursionError):  # not a message of ours
                continue
            if isinstance(message, dict):
                found.append(message)
        return found

    def send(self, message: dict[str, Any]) -> None:
        import json

        with contextlib.suppress(OSError):  # it is gone: its exit is seen next
            self.sock.sendall((json.dumps(message) + "\n").encode())

    def end(self, grace: float) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()


class ServingKilled(Exception):
    """The serving process was killed by a signal: after cleaning up, ``die_like`` it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def die_like(self) -> None:
        """One ``error:`` line, then end by the same signal, so that whoever started
        ``kuager serve`` (systemd, a test) sees what happened to the pages."""
        click.echo("error: " + _("the serving process was killed (signal %(signal)s); "
                                 "Kuager stopped", signal=self.signum), err=True)
        sys.stderr.flush()
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(self.signum, signal.SIG_DFL)
        os.kill(os.getpid(), self.signum)
        sys.exit(1)  # a signal that does not end a process by default


#: Seconds a serving process that has locked may take to end before it is killed: its
#: requests get ``RETIRE_SECONDS`` (app/web/server.py), and a little more to stop.
RETIRE_LIMIT = 45.0
#: Seconds a serving process whose control socket closed may take to exit before it is
#: killed (it hung up while ending, or sent a line longer than any message).
CLOSE_WAIT = 5.0


class Supervisor:
    """The first process of ``kuager serve``: starts a serving process for each unlock
    (app/cli/serving.py) and the next one when it locks; never unlocks itself."""

    def __init__(self, front: Front, setup: Setup, sockets: list[socket.socket]) -> None:
        self.front = front
        self.setup = setup
        self.sockets = sockets
        self.children: list[_Child] = []
        self.current: _Child | None = None
        self.announced = False
        self.stopping = False

    def command(self) -> list[str]:
        if getattr(sys, "frozen", False):  # the USB kit: the program is its own interpreter
            return [sys.executable]
        return [sys.executable, "-m", "app"]

    def spawn(self, *, read_stdin: bool, locked_inbox: dict[str, Any] | None = None) -> None:
        ours, theirs = socket.socketpair()
        fds = [theirs.fileno(), *(sock.fileno() for sock in self.sockets)]
        argv = [*self.command(), "_serve-child", "--control", str(fds[0])]
        for fd in fds[1:]:
            argv += ["--listen", str(fd)]
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            proc = subprocess.Popen(argv,  # noqa: S603 - this program, fixed arguments
                                    stdin=None if read_stdin else subprocess.DEVNULL,
                                    pass_fds=fds, env=env)
        finally:
            theirs.close()
        child = _Child(proc, ours)
        setup = Setup(**{**self.setup.__dict__, "read_stdin": read_stdin,
                         "locked_inbox": locked_inbox, "onion_address": self.front.address})
        ours.sendall((setup.to_json() + "\n").encode())
        self.children.append(child)
        self.current = child

    def run(self) -> None:
        import select

        def stop(_signum: int, _frame: Any) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.spawn(read_stdin=True)
        try:
            while not self.stopping:
                if self.front.tor_died():
                    raise self.front.tor_died_error()
                readable, _w, _x = select.select([c.sock for c in self.children], [], [], 0.5)
                for child in [c for c in self.children if c.sock in readable]:
                    for message in child.messages():
                        self._handle(child, message)
                    if child.closed:
                        self._ended(child)
                self._end_overdue()
        finally:
            for child in self.children:
                child.end(grace=10.0)
            self.children = []

    def _handle(self, child: _Child, message: dict[str, Any]) -> None:
        from app.tor.onion import OnionError

        event = message.get("event")
        if event == "onion" and self.front.onion and self.front.service is None:
            try:
                address, key = self.front.start_onion(
                    message.get("key"), [str(k) for k in message.get("client_keys") or []])
            except OnionError as exc:
                child.send({"error": str(exc)})
                raise
            child.send({"address": address, "key": key})
        elif event == "ready" and not self.announced:
            self.announced = True
            self.front.announce()
        elif event == "locked" and child is self.current and child.retired_at is None:
            child.retired_at = time.monotonic()
            kept = message.get("locked_inbox")
            self.spawn(read_stdin=False, locked_inbox=kept if isinstance(kept, dict) else None)
        elif event == "stopped":
            self.stopping = True

    def _ended(self, child: _Child) -> None:
        """It hung up (or sent what no serving process sends): ended and reaped; if it was
        serving and had not locked, Kuager stops."""
        try:
            code = child.proc.wait(timeout=CLOSE_WAIT)
        except subprocess.TimeoutExpired:  # its socket is closed but it still runs
            child.proc.kill()
            code = child.proc.wait()
        child.sock.close()
        self.children.remove(child)
        if child.retired_at is not None or self.stopping:
            return
        self.stopping = True
        if code < 0:  # killed (out of memory, kill -9): serve ends the same way
            raise ServingKilled(-code)
        if not self.announced:  # it said why on standard error
            sys.exit(code or 1)
        raise UserError(_("the serving process ended unexpectedly (exit status %(code)s); "
                          "Kuager stopped", code=code))

    def _end_overdue(self) -> None:
        now = time.monotonic()
        for child in list(self.children):
            if child.retired_at is not None and now - child.retired_at > RETIRE_LIMIT:
                child.end(grace=0.0)
                self.children.remove(child)


def open_browser(url: str) -> PrivateBrowser:
    """A throwaway private profile in memory, removed when serve ends (app/cli/browser.py)."""
    from app.cli.browser import PrivateBrowser  # subprocess, tempfile: not for --help

    browser = PrivateBrowser(url, _warn)
    browser.open()
    return browser


def _warn(message: str) -> None:
    click.echo(_("warning: %(message)s", message=message), err=True)
