"""``kuager serve``: the operator (or review) pages, the public site, the onion service.

Two listeners, two separate apps: the operator pages on ``--host``/``--port`` and the
public submission site on its own loopback port. Tor forwards only to the public port, so
no onion visitor can reach an operator page even though every Tor request arrives from
127.0.0.1.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.common import UserError
from app.cli.help import PathArg
from app.messages import cli_gettext as _

if TYPE_CHECKING:  # imported when serving: `kuager --help` must not load Flask
    from app.cli.browser import PrivateBrowser
    from app.store.store import Store
    from app.web.server import Listener

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


def _echo_url(url: str) -> None:
    click.echo(url)
    sys.stdout.flush()


def _warn(message: str) -> None:
    click.echo(_("warning: %(message)s", message=message), err=True)


def _warn_each(messages: list[str]) -> None:
    for message in messages:
        _warn(message)


def _unlock_from_stdin(store: Store) -> None:
    """A passphrase on standard input (not a terminal) starts the store unlocked."""
    if sys.stdin is None or sys.stdin.isatty() or not store.exists():
        return
    line = sys.stdin.readline()
    if line.strip("\r\n"):
        store.unlock(line.rstrip("\r\n"))


def _start_onion(store: Store, public_port: int, tor_config: Path | None) -> Any:
    from app.store import meta
    from app.tor.onion import OnionService, OnionSettings, read_torrc_lines

    if not store.is_unlocked:
        raise click.UsageError(
            _("--onion needs the store unlocked: give the passphrase on standard input")
        )
    conn = store.connect()
    try:
        key = meta.get(conn, "onion_key")
        client_keys = tuple(meta.get_json(conn, "onion_client_keys", []) or [])
        extra = read_torrc_lines(tor_config) if tor_config else ()
        service = OnionService(
            OnionSettings(
                data_dir=store.config.tor_dir, extra_torrc=extra, client_auth_keys=client_keys
            )
        )
        address, new_key = service.start(public_port, key)
        if new_key != key:
            meta.set(conn, "onion_key", new_key)
    finally:
        conn.close()
    return service, address


def register(main: click.Group, command: Any, open_store: Any) -> None:
    @command(main, "serve")
    @click.option(
        "--host",
        default="127.0.0.1",
        show_default=True,
        help="Address of the operator pages (keep it on loopback).",
    )
    @click.option(
        "--allow-non-loopback",
        is_flag=True,
        help="Let --host be an address other machines can reach (they then see every page "
             "once the store is unlocked).",
    )
    @click.option("--port", default=8470, show_default=True, type=int,
                  help="Port of the operator pages (0: a free one).")
    @click.option(
        "--public-port",
        type=int,
        default=None,
        help="Also serve the public submission site on this loopback port.",
    )
    @click.option("--onion", is_flag=True, help="Publish the public site as a Tor onion service.")
    @click.option(
        "--tor-config",
        type=PathArg(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="File of torrc lines for the tor Kuager starts.",
    )
    @click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
    @click.pass_context
    def serve(  # click passes every option by keyword
        ctx: click.Context,
        *,
        data: Path | None,
        host: str,
        allow_non_loopback: bool,
        port: int,
        public_port: int | None,
        onion: bool,
        tor_config: Path | None,
        no_browser: bool,
    ) -> None:
        """Serve the pages. Reads (optional, when not a terminal): the store passphrase.

        Prints every URL it serves, one a line, the operator/review URL first.
        """
        from app.web.security import is_loopback

        _warn_each(check_host(host, allow=allow_non_loopback))
        harden_process()
        store = open_store(ctx, data, unlock=False)
        # --onion without --public-port: the public site on a free loopback port.
        public = (public_port or 0) if public_port is not None or onion else None
        # Bound before the passphrase is read: a busy port is told at once, not after the
        # key derivation (seconds), and nothing is unlocked for a server that cannot start.
        listeners = _bind_listeners(store, host, port, public,
                                    remote=allow_non_loopback and not is_loopback(host))
        try:  # whatever fails, every listener is stopped and the store locked again
            _unlock_from_stdin(store)
            if public is not None and store.role == "coordinator":
                raise click.UsageError(_("the public submission site is served from a field "
                                         "store, not a coordinator's"))
            _serve(store, listeners, onion=onion, tor_config=tor_config,
                   browser=not no_browser)
        finally:
            for listener in listeners:
                listener.stop()
            store.lock()


def _serve(store: Store, listeners: list[Listener], *, onion: bool, tor_config: Path | None,
           browser: bool) -> None:
    """Print the URLs and serve until a signal; every listener stopped on the way out."""
    from app.web.auth import start_idle_watch

    operator, service, idle, window, tor_died = listeners[0], None, None, None, False
    try:
        urls = [listener.url() for listener in listeners]
        if onion:
            service, address = _start_onion(store, listeners[1].port, tor_config)
            operator.app.config["KUAGER_ONION_ADDRESS"] = address
            urls.append(f"http://{address}/")
        _warn_idle_lock_off(store, operator, len(listeners) > 1)  # before the addresses
        for url in urls:
            _echo_url(url)
        if onion:
            from app.tor.qr import terminal_qr

            click.echo(terminal_qr(urls[-1]), err=True)
        for listener in listeners:
            listener.start()
        idle = start_idle_watch(operator.app)
        window = _open_browser(urls[0]) if browser else None
        tor_died = _wait_for_signal(service)
    finally:
        if idle is not None:
            idle.set()
        if window is not None:
            window.close()
        for listener in listeners:
            listener.stop()
        if service is not None:
            service.stop()
    if tor_died:
        raise UserError(_("tor stopped, so the onion service is gone; Kuager stopped too "
                          "(see %(log)s)", log=store.config.tor_dir / "notice.log"))


def _warn_idle_lock_off(store: Store, operator: Listener, public: bool) -> None:
    """Say it on the terminal too when the store stays unlocked for the public form (the
    operator pages say it: operator.html): with the passphrase on standard input nobody
    may open those pages."""
    from app.web.auth import idle_lock_applies

    if public and store.is_unlocked and not idle_lock_applies(operator.app):
        _warn(_("automatic lock is off while the public form is open: the store does not "
                "lock itself after %(minutes)s minutes without use, because submissions "
                "need it unlocked. Stop Kuager (Ctrl+C) or press “Lock now” when you leave "
                "the laptop. In inbox mode (Export page) the store locks itself as usual "
                "and the public form stays open.",
                minutes=store.config.idle_lock_minutes))


def _open_browser(url: str) -> PrivateBrowser:
    """A throwaway private profile in memory, removed when serve ends (app/cli/browser.py)."""
    from app.cli.browser import PrivateBrowser  # subprocess, tempfile: not for --help

    browser = PrivateBrowser(url, _warn)
    browser.open()
    return browser


def check_host(host: str, *, allow: bool) -> list[str]:
    """Refuse an operator address others can reach unless ``allow``; then warn (finding 10).

    Even allowed, a wildcard (0.0.0.0, ::) is refused: the Host check needs the one
    address the pages are served on.
    """
    import ipaddress

    from app.web.security import is_loopback

    if host == "localhost" or is_loopback(host):
        return []
    if not allow:
        raise click.UsageError(_(
            "--host %(host)s is not a loopback address: anyone on the network could reach the "
            "operator pages. Use 127.0.0.1, or add --allow-non-loopback if you mean it.",
            host=host))
    try:
        wildcard = ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        wildcard = False
    if wildcard:
        raise click.UsageError(_(
            "--host %(host)s listens on every network: name the one address to serve on.",
            host=host))
    return [_("the operator pages are served on %(host)s: every machine that reaches this "
              "address sees every page while the store is unlocked.", host=host)]


def _bind_listeners(store: Store, host: str, port: int, public_port: int | None, *,
                    remote: bool = False) -> list[Listener]:
    """The operator listener, and the public one on loopback when there is a public site.

    If one cannot bind, those already bound are stopped before the error goes up: cheroot
    starts a listener's worker threads when it binds, and they would keep the process
    running, answering nothing (issue 14), after the ``error:`` line.
    """
    from app.web.auth import LOOPBACK_HOSTS
    from app.web.factory import create_operator_app, create_public_app
    from app.web.server import Listener

    cfg = store.config
    serving_public = public_port is not None
    settings: dict[str, Any] = {"KUAGER_SERVING_PUBLIC": serving_public}
    if remote:
        settings["KUAGER_ALLOW_NON_LOOPBACK"] = True
        name = host.lower().strip("[]")
        settings["KUAGER_ALLOWED_HOSTS"] = LOOPBACK_HOSTS | {name, f"[{name}]"}
    listeners: list[Listener] = []
    try:
        operator = Listener(create_operator_app(cfg, store, settings), host, port)
        _bind(operator, "--port")
        listeners.append(operator)
        if serving_public:
            public = Listener(create_public_app(cfg, store), "127.0.0.1", public_port or 0)
            _bind(public, "--public-port")
            listeners.append(public)
    except BaseException:
        for listener in listeners:
            listener.stop()
        raise
    return listeners


def _bind(listener: Listener, option: str) -> None:
    try:
        listener.bind()
    except OSError as exc:
        raise UserError(bind_failure(listener.host, listener.port, option)) from exc


def bind_failure(host: str, port: int, option: str) -> str:
    """Why ``host:port`` cannot be listened on, and what to do, in the user's language.

    cheroot's own error keeps only an English text (the errno is lost), so a plain socket
    tries the same address to learn the reason.
    """
    import errno

    code = _bind_errno(host, port)
    if code == errno.EADDRINUSE:
        return _("port %(port)s on %(host)s is already in use by another program (another "
                 "Kuager?): stop it, or choose another port with %(option)s",
                 port=port, host=host, option=option)
    if code == errno.EACCES:
        return _("port %(port)s needs administrator rights: choose a port above 1023 with "
                 "%(option)s", port=port, option=option)
    if code in (errno.EADDRNOTAVAIL, _NO_SUCH_ADDRESS):
        return _("%(host)s is not an address of this computer: choose another with --host",
                 host=host)
    return _("cannot listen on %(host)s port %(port)s: choose another port with %(option)s",
             host=host, port=port, option=option)


#: What ``_bind_errno`` returns for a host name that does not resolve.
_NO_SUCH_ADDRESS = -1


def _bind_errno(host: str, port: int) -> int | None:
    """The errno of binding ``host:port`` as cheroot does (SO_REUSEADDR off Windows)."""
    import socket

    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, socket.AF_UNSPEC,
                                   socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror:
        return _NO_SUCH_ADDRESS
    code = None
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            if sys.platform != "win32":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                code = exc.errno
            else:
                return None
    return code


def _wait_for_signal(service: Any) -> bool:
    """Serve until SIGTERM or SIGINT; True if the onion's tor died first.

    An onion service whose tor is gone is silently unreachable: better to stop loudly,
    so that a supervisor (systemd) starts everything again.
    """
    import signal

    done = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not done.wait(1.0):
        if service is not None and not service.running():
            return True
    return False
