"""``kuager serve``: the operator (or review) pages, the public site, the onion service.

Two listeners, two separate apps: the operator pages on ``--host``/``--port`` and the
public submission site on its own loopback port. Tor forwards only to the public port, so
no onion visitor can reach an operator page even though every Tor request arrives from
127.0.0.1.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.common import UserError
from app.messages import cli_gettext as _

if TYPE_CHECKING:  # imported when serving: `kuager --help` must not load Flask
    from app.store.store import Store
    from app.web.server import Listener


def _echo_url(url: str) -> None:
    click.echo(url)
    sys.stdout.flush()


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
    @click.option("--port", default=8470, show_default=True, type=int)
    @click.option(
        "--public-port",
        type=int,
        default=None,
        help="Also serve the public submission site on this loopback port.",
    )
    @click.option("--onion", is_flag=True, help="Publish the public site as a Tor onion service.")
    @click.option(
        "--tor-config",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
        port: int,
        public_port: int | None,
        onion: bool,
        tor_config: Path | None,
        no_browser: bool,
    ) -> None:
        """Serve the pages. Reads (optional, when not a terminal): the store passphrase.

        Prints every URL it serves, one a line, the operator/review URL first.
        """
        from app.web.auth import start_idle_watch

        store = open_store(ctx, data, unlock=False)
        _unlock_from_stdin(store)
        cfg = store.config
        serving_public = public_port is not None or onion
        if serving_public and store.role == "coordinator":
            raise click.UsageError(_("the public submission site is served from a field "
                                     "store, not a coordinator's"))
        # --onion without --public-port: the public site on a free loopback port.
        public = (public_port or 0) if serving_public else None
        listeners = _bind_listeners(store, host, port, public)
        operator = listeners[0]
        service = None
        urls = [listener.url() for listener in listeners]
        if onion:
            try:
                service, address = _start_onion(store, listeners[1].port, tor_config)
            except BaseException:
                for listener in listeners:
                    listener.stop()
                store.lock()
                raise
            operator.app.config["KUAGER_ONION_ADDRESS"] = address
            urls.append(f"http://{address}/")
        for url in urls:
            _echo_url(url)
        if onion:
            from app.tor.qr import terminal_qr

            click.echo(terminal_qr(urls[-1]), err=True)
        for listener in listeners:
            listener.start()
        idle = start_idle_watch(operator.app)
        if not no_browser:
            import webbrowser

            webbrowser.open(urls[0])
        try:
            tor_died = _wait_for_signal(service)
        finally:
            idle.set()
            for listener in listeners:
                listener.stop()
            if service is not None:
                service.stop()
            store.lock()
        if tor_died:
            raise UserError(_("tor stopped, so the onion service is gone; Kuager stopped too "
                              "(see %(log)s)", log=cfg.tor_dir / "notice.log"))


def _bind_listeners(store: Store, host: str, port: int, public_port: int | None) -> list[Listener]:
    """The operator listener, and the public one on loopback when there is a public site."""
    from app.web.factory import create_operator_app, create_public_app
    from app.web.server import Listener

    cfg = store.config
    serving_public = public_port is not None
    operator = Listener(
        create_operator_app(cfg, store, {"KUAGER_SERVING_PUBLIC": serving_public}), host, port)
    operator.bind()
    listeners = [operator]
    if serving_public:
        public = Listener(create_public_app(cfg, store), "127.0.0.1", public_port or 0)
        public.bind()
        listeners.append(public)
    return listeners


def _wait_for_signal(service: Any) -> bool:
    """Serve until SIGTERM or SIGINT; True if the onion's tor died first.

    An onion service whose tor is gone is silently unreachable: better to stop loudly,
    so that a supervisor (systemd) starts everything again.
    """
    done = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not done.wait(1.0):
        if service is not None and not service.running():
            return True
    return False
