"""What every command shares: ``--data``, clean ``error:`` lines, passphrases, opening a store."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.cli.help import PathArg
from app.messages import cli_gettext as _
from app.messages import disk_full_path, is_disk_full

if TYPE_CHECKING:
    from app.store.store import Store

F = TypeVar("F", bound=Callable[..., Any])

#: Errors whose message is meant for the user, by module and class. They are looked up
#: only in modules already loaded (an error can only come from one): ``kuager --help``
#: then imports neither the store (SQLCipher, crypto) nor tor's controller (stem).
_USER_ERRORS = (
    ("app.store.store", "StoreError"),
    ("crypto.errors", "CryptoError"),
    ("app.tor.onion", "OnionError"),
    ("app.config", "ConfigError"),
    ("app.review.tables", "TableError"),
)


class UserError(Exception):
    """A failure with a message for the user (printed as ``error: ...``, exit 1)."""


def data_option(func: F) -> F:
    """``--data DIR`` on the group and on every command; the command's own wins."""
    return click.option(
        "--data",
        "data",
        type=PathArg(file_okay=False, path_type=Path),
        default=None,
        help="Store folder (default: $KUAGER_DATA, else ./instance).",
    )(func)


def _fail_cleanly(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if is_disk_full(exc):
                _die(_disk_full_message(exc))
            if isinstance(exc, UserError) or _is_user_error(exc):
                _die(str(exc))
            if isinstance(exc, OSError):
                _die(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            raise
        except KeyboardInterrupt:
            _die(_("interrupted; nothing was changed"))

    return wrapper  # type: ignore[return-value]


def _is_user_error(exc: BaseException) -> bool:
    for module_name, class_name in _USER_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


def _disk_full_message(exc: BaseException) -> str:
    path = disk_full_path(exc)
    if path is None:  # SQLite does not say which file: it is the store's database
        return _("the disk is full: nothing was saved; free some space on the disk that holds "
                 "the store (delete files you no longer need, empty the trash) and try again")
    return _("the disk is full (%(path)s): nothing was saved; free some space on that disk "
             "(delete files you no longer need, empty the trash) and try again", path=path)


def _die(message: str) -> None:
    click.echo(f"error: {message.splitlines()[0] if message else 'failed'}", err=True)
    sys.exit(1)


def command(group: click.Group, name: str, **kwargs: Any) -> Callable[[F], F]:
    """A subcommand with ``--data`` and clean errors."""

    def decorate(func: F) -> F:
        return group.command(name, **kwargs)(data_option(_fail_cleanly(func)))  # type: ignore[return-value]

    return decorate


# -- passphrases -----------------------------------------------------------------------


def read_secret(prompt: str, *, confirm: bool = False) -> str:
    """A terminal prompt without echo, or one line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(_("Repeat") + ": ") != first:
            raise UserError(_("the two passphrases differ"))
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise UserError(_("expected a passphrase on standard input (one line)"))
    return line.rstrip("\r\n")


def read_line(prompt: str) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        return input(f"{prompt}: ")
    return (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")


# -- store access ----------------------------------------------------------------------


def open_store(
    ctx: click.Context, data: Path | None, *, unlock: bool = True, role: str | None = None
) -> Store:
    from app.config import load_config
    from app.store.store import Store

    chosen = data or ctx.find_root().params.get("data")
    store = Store(load_config(chosen))
    if not unlock:
        return store
    if not store.exists():
        raise UserError(
            _("no store in %(path)s; create one with 'kuager init'", path=store.config.data_dir)
        )
    store.unlock(read_secret(_("Passphrase")))
    if role and store.role != role:
        store.lock()
        raise UserError(_("this command needs a field store") if role == "field"
                        else _("this command needs a coordinator store"))
    return store


class LazyModule:
    """A module imported on first use, so that ``kuager --help`` loads no store, Flask or
    crypto code (tests/test_cli_start.py). Only for modules used inside commands."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


def lazy(name: str) -> Any:
    return LazyModule(name)
