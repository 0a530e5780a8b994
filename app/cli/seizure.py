"""Seizure defences on the command line: passphrase suggestions, duress, lockout, retention.

Registered by ``cli/main``; see docs/CLI.md and docs/THREAT_MODEL.md for what each
protects against and what it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.common import UserError, lazy, read_secret
from app.cli.help import ChoiceArg
from app.messages import cli_gettext as _

if TYPE_CHECKING:
    from app.store.store import Store

# Imported on first use (`kuager --help` stays light); LANGUAGES and WORDS mirror
# app.store.passphrase's (tests/test_cli_start.py checks).
passphrase = lazy("app.store.passphrase")
retention = lazy("app.store.retention")
LANGUAGES = ("kk", "ru", "en")
WORDS_PER_SUGGESTION = 6


def require_strong(secret: str) -> None:
    """The CLI refuses what the web refuses (``passphrase.weakness``)."""
    reason = passphrase.weakness(secret)
    if reason is not None:
        raise UserError(reason)


def register(main: click.Group, command: Callable[..., Any],
             open_store: Callable[..., Store]) -> None:
    _register_passphrase(main, command)
    _register_duress(main, command, open_store)
    _register_settings(main, command, open_store)


def _register_passphrase(main: click.Group, command: Callable[..., Any]) -> None:
    @main.group("passphrase")
    def passphrase_group() -> None:
        """Passphrases: suggest a strong one."""

    @command(passphrase_group, "suggest")
    @click.option("--lang", "word_lang", type=ChoiceArg(LANGUAGES),
                  default="en", show_default=True, help="Language of the words.")
    @click.option("--words", type=click.IntRange(6, 12), default=WORDS_PER_SUGGESTION,
                  show_default=True, help="How many words.")
    def suggest(data: Path | None, word_lang: str, words: int) -> None:
        """Print a random word passphrase (diceware-style; 11 bits a word). Reads nothing."""
        click.echo(passphrase.suggest(word_lang, words))
        click.echo(_("(%(words)d random words of %(size)d: %(bits)d bits)",
                     words=words, size=len(passphrase.wordlist(word_lang)),
                     bits=int(passphrase.suggestion_bits(word_lang, words))), err=True)


def _register_duress(main: click.Group, command: Callable[..., Any],
                     open_store: Callable[..., Store]) -> None:
    @main.group("duress")
    def duress() -> None:
        """A duress passphrase: it erases the store and opens an empty one instead."""

    @command(duress, "set")
    @click.pass_context
    def duress_set(ctx: click.Context, data: Path | None) -> None:
        """Set or replace the duress passphrase. Reads: the passphrase, the duress passphrase."""
        store = open_store(ctx, data, unlock=False)
        _require_store(store)
        current = read_secret(_("Passphrase"))
        secret = read_secret(_("Duress passphrase"), confirm=True)
        require_strong(secret)
        store.set_duress(current, secret)
        store.lock()
        click.echo(_("Duress passphrase set. Typing it at any unlock erases this store and "
                     "opens an empty one."))

    @command(duress, "clear")
    @click.pass_context
    def duress_clear(ctx: click.Context, data: Path | None) -> None:
        """Remove the duress passphrase. Reads: the passphrase."""
        store = open_store(ctx, data, unlock=False)
        _require_store(store)
        store.clear_duress(read_secret(_("Passphrase")))
        store.lock()
        click.echo(_("Duress passphrase removed."))


def _register_settings(main: click.Group, command: Callable[..., Any],
                       open_store: Callable[..., Store]) -> None:
    @command(main, "lockout")
    @click.option("--wipe-after", type=click.IntRange(1, 1000), default=None,
                  help="Erase the store after N wrong passphrases in a row.")
    @click.option("--off", is_flag=True, help="Never erase after wrong passphrases.")
    @click.option("--show-remaining", is_flag=True,
                  help="The unlock page says how many tries are left.")
    @click.pass_context
    def lockout(ctx: click.Context, data: Path | None, wipe_after: int | None, off: bool,
                show_remaining: bool) -> None:
        """Erase the store after N wrong passphrases in a row. Reads: the passphrase."""
        if (wipe_after is None) == (not off):
            raise click.UsageError(_("give either --wipe-after N or --off"))
        store = open_store(ctx, data)
        try:
            store.set_lockout(0 if off else int(wipe_after or 0),
                              show_remaining=show_remaining)
        finally:
            store.lock()
        if off:
            click.echo(_("Lockout off."))
        else:
            click.echo(_("The store will be erased after %(num)d wrong passphrases in a row.",
                         num=wipe_after))

    @command(main, "retention")
    @click.option("--days", type=click.IntRange(1, 36500), default=None,
                  help="Delete exported reports this many days after their export.")
    @click.option("--off", is_flag=True, help="Keep exported reports until deleted by hand.")
    @click.pass_context
    def retention_cmd(ctx: click.Context, data: Path | None, days: int | None,
                      off: bool) -> None:
        """Delete exported reports automatically after N days. Reads: the passphrase."""
        if (days is None) == (not off):
            raise click.UsageError(_("give either --days N or --off"))
        store = open_store(ctx, data)
        try:
            conn = store.connect()
            try:
                retention.set_days(conn, None if off else days)
                deleted = retention.apply(conn, store.config.files_dir)
            finally:
                conn.close()
        finally:
            store.lock()
        if off:
            click.echo(_("Retention off: exported reports are kept."))
        else:
            click.echo(_("Exported reports are deleted %(num)d days after their export "
                         "(%(deleted)d deleted now).", num=days, deleted=deleted))


def _require_store(store: Store) -> None:
    if not store.exists():
        raise UserError(_("no store in %(path)s; create one with 'kuager init'",
                          path=store.config.data_dir))
