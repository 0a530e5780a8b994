"""``kuager serve``: the operator (or review) pages, the public site, the onion service.

Two listeners, two separate apps: the operator pages on ``--host``/``--port`` and the
public submission site on its own loopback port. Tor forwards only to the public port, so
no onion visitor can reach an operator page even though every Tor request arrives from
127.0.0.1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.common import UserError
from app.cli.help import PathArg
from app.messages import cli_gettext as _

if TYPE_CHECKING:  # imported when serving: `kuager --help` must not load Flask
    import socket

def _warn(message: str) -> None:
    click.echo(_("warning: %(message)s", message=message), err=True)


def _warn_each(messages: list[str]) -> None:
    for message in messages:
        _warn(message)


def register(main: click.Group, command: Any, open_store: Any) -> None:
    _register_child(main, command)

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
        import secrets

        from app.cli.serving import Serving, Setup, harden_process
        from app.cli.supervisor import (
            Front,
            InProcessLink,
            ServingKilled,
            Supervisor,
            can_hand_over,
        )
        from app.config import load_config
        from app.web.security import is_loopback

        _warn_each(check_host(host, allow=allow_non_loopback))
        harden_process()
        cfg = load_config(data or ctx.find_root().params.get("data"))
        # --onion without --public-port: the public site on a free loopback port.
        public = (public_port or 0) if public_port is not None or onion else None
        # Bound before the passphrase is read: a busy port is told at once, not after the
        # key derivation (seconds), and nothing is unlocked for a server that cannot start.
        sockets = _bind_sockets(host, port, public)
        front = Front(cfg.tor_dir, host, sockets, tor_config=tor_config, browser=not no_browser,
                      onion=onion)
        setup = Setup(data_dir=str(cfg.data_dir), host=host,
                      remote=allow_non_loopback and not is_loopback(host),
                      public=public is not None, onion=onion,
                      secrets={"operator": secrets.token_hex(32), "public": secrets.token_hex(32)},
                      read_stdin=True, ends_on_lock=can_hand_over())
        killed = None
        try:  # whatever fails, the browser, tor and every serving process are stopped
            if setup.ends_on_lock:
                Supervisor(front, setup, sockets).run()
            else:
                Serving(setup, InProcessLink(front), sockets).run()
        except ServingKilled as exc:
            killed = exc
        finally:
            front.close()
            for sock in sockets:
                sock.close()
        if killed is not None:
            killed.die_like()


def _register_child(main: click.Group, command: Any) -> None:
    @command(main, "_serve-child", hidden=True)
    @click.option("--control", type=int, required=True,
                  help="Descriptor of the socket to the first process.")
    @click.option("--listen", "listen_fds", type=int, multiple=True, required=True,
                  help="Descriptor of a listening socket (the operator's first).")
    def serve_child(*, data: Path | None, control: int, listen_fds: tuple[int, ...]) -> None:
        """Started by ``kuager serve`` only (app/cli/serving.py)."""
        from app.cli.serving import serve_child as run

        del data  # the setup names the store
        run(control, listen_fds)


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


def _bind_sockets(host: str, port: int, public_port: int | None) -> list[socket.socket]:
    """The operator's listening socket, and the public one on loopback when there is a
    public site; one clear error line if one cannot be bound (the other closed first)."""
    from app.web.server import listen

    sockets: list[socket.socket] = []
    try:
        sockets.append(_listen(listen, host, port, "--port"))
        if public_port is not None:
            sockets.append(_listen(listen, "127.0.0.1", public_port, "--public-port"))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listen(listen: Any, host: str, port: int, option: str) -> socket.socket:
    try:
        return listen(host, port)
    except OSError as exc:
        raise UserError(bind_failure(host, port, option)) from exc


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
