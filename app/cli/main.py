"""The ``kuager`` command (see docs/CLI.md and ../shared/CONTRACT.md).

Conventions: every command takes ``--data DIR`` (default ``$KUAGER_DATA``, else
``./instance``); passphrases are prompted without echo on a terminal and read one line
each from standard input otherwise, in the order each command's help states; errors the
user can act on print one ``error:`` line and exit 1, never a traceback; usage errors
exit 2; a failed command leaves the store as it was.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.cli.common import UserError, command, data_option, open_store, read_line, read_secret
from app.cli.help import ChoiceArg, Group, PathArg
from app.messages import cli_gettext as _
from app.messages import cli_language, cli_ngettext, set_language

if TYPE_CHECKING:
    from app.store.store import Store

# The store, records and crypto modules are imported inside each command, never here:
# `kuager --help` must not load SQLCipher, cryptography, Flask or stem (tests/test_cli_start.py).

# -- the group -------------------------------------------------------------------------


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@data_option
@click.option(
    "--lang", default=None, help="Language of messages: kk, ru or en (default: from LANG)."
)
@click.version_option(package_name="kuager", help="Show the version and exit.")
def main(data: Path | None, lang: str | None) -> None:
    """Kuager: encrypted incident reports, sealed bundles, coordinator review."""
    os.umask(0o077)  # every file this process makes is the owner's only (0600, folders 0700)
    set_language(lang)


@command(main, "init")
@click.option("--role", type=ChoiceArg(["field", "coordinator"]), required=True,
              help="field: a monitor's device that writes reports; coordinator: the store "
                   "that imports and reviews them.")
@click.option(
    "--hybrid",
    is_flag=True,
    help="Coordinator: make a post-quantum hybrid identity (ML-KEM-768 + X25519).",
)
@click.option("--training", is_flag=True,
              help="A training store for fictional data: its bundles never enter a real store.")
@click.pass_context
def init(ctx: click.Context, *, data: Path | None, role: str, hybrid: bool,
         training: bool) -> None:
    """Create an encrypted store. Reads: the new passphrase.

    Says what was created and where; prints the fingerprint to compare by phone (the
    device's, or the coordinator key's); a coordinator store prints its public key
    (age1...) as the last line.
    """
    from app.store import passphrase

    store = open_store(ctx, data, unlock=False)
    if store.exists():
        raise UserError(_("a store already exists in %(path)s", path=store.config.data_dir))
    if sys.stdin.isatty():
        click.echo(_("A strong passphrase, if you want one: %(words)s",
                     words=passphrase.suggest(cli_language())), err=True)
    secret = read_secret(_("New passphrase"), confirm=True)
    reason = passphrase.weakness(secret)
    if reason is not None:
        raise UserError(reason)
    for line in _create_store(store, secret, role, hybrid=hybrid, training=training):
        click.echo(line)


def _create_store(store: Store, secret: str, role: str, *, hybrid: bool,
                  training: bool) -> list[str]:
    """Create the store and its keys; the lines ``init`` prints (docs/CLI.md)."""
    from app.store import device, keyring
    from app.store import training as training_mode

    # The training mode goes into the key file's sealed note too: a duress unlock then
    # makes an empty *training* store, never a real one in its place.
    store.create(secret, role, training=training)
    conn = store.connect()
    try:
        if training:
            training_mode.set_mode(conn, training_mode.TRAINING)  # and its marker file
        key = keyring.initialise(conn, role, hybrid=hybrid)
        device_fp = device.fingerprint(conn) if role == "field" else ""
    finally:
        conn.close()
        store.lock()
    return created_lines(role, store.config.data_dir.resolve(), training=training,
                         fingerprint=device_fp or keyring.key_fingerprint(key),
                         public_key=None if role == "field" else key)


def created_lines(role: str, path: Path, *, training: bool, fingerprint: str,
                  public_key: str | None) -> list[str]:
    """What was created and where, the fingerprint to read aloud, the key last."""
    lines = [_("Created an encrypted field store in %(path)s", path=path) if role == "field"
             else _("Created an encrypted coordinator store in %(path)s", path=path)]
    lines.append(_("Training store: for fictional data only; real stores refuse its bundles, "
                   "and it refuses theirs.") if training
                 else _("Real store (not for training)."))
    if public_key is None:
        lines.append(_("Device fingerprint: %(fp)s", fp=fingerprint))
        lines.append(_("When your coordinator imports your first bundle, read this "
                       "fingerprint to each other by phone: every digit must match."))
        return lines
    lines.append(_("Fingerprint of the public key: %(fp)s", fp=fingerprint))
    lines.append(_("Give the public key below to the field monitors. After they add it, "
                   "read this fingerprint to each other by phone: every digit must match."))
    lines.append(public_key)
    return lines


@command(main, "pubkey")
@click.pass_context
def pubkey(ctx: click.Context, data: Path | None) -> None:
    """Coordinator: print the public key(s), one a line. Reads: the store passphrase."""
    # Each key's fingerprint (to read aloud by phone) goes to stderr: stdout stays the keys
    # alone, for scripts.
    from app.store import keyring

    store = open_store(ctx, data, role="coordinator")
    with keyring.connection(store) as conn:
        for key in keyring.public_keys(conn):
            click.echo(_("Fingerprint of the public key: %(fp)s",
                         fp=keyring.key_fingerprint(key)), err=True)
            click.echo(key)


@main.group("identity")
def identity() -> None:
    """Coordinator identities: move them between coordinators' machines."""


@command(identity, "export")
@click.option("--out", type=PathArg(dir_okay=False, path_type=Path), required=True,
              help="File to write: an age file, encrypted with a passphrase you choose.")
@click.pass_context
def identity_export(ctx: click.Context, data: Path | None, out: Path) -> None:
    """Write the identities to an age file encrypted with a passphrase.

    Reads: the store passphrase, then the file's passphrase.
    """
    from app.store import keyring

    store = open_store(ctx, data, role="coordinator")
    file_secret = read_secret(_("Passphrase for the exported file"), confirm=True)
    with keyring.connection(store) as conn:
        count = keyring.export_identities(conn, out, file_secret)
    click.echo(cli_ngettext("%(num)d identity written to %(path)s",
                            "%(num)d identities written to %(path)s", count, path=out))


@command(identity, "import")
@click.argument("file", type=PathArg(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def identity_import(ctx: click.Context, data: Path | None, file: Path) -> None:
    """Add identities exported by another coordinator.

    Reads: the store passphrase, then the file's passphrase.
    """
    from app.store import keyring

    store = open_store(ctx, data, role="coordinator")
    file_secret = read_secret(_("Passphrase of the file"))
    with keyring.connection(store) as conn:
        added = keyring.import_identities(conn, file, file_secret)
    click.echo(cli_ngettext("%(num)d identity added", "%(num)d identities added", added))


@main.group("recipients")
def recipients() -> None:
    """Field store: the coordinators' public keys that bundles are sealed to."""


@command(recipients, "add")
@click.argument("key")
@click.option("--label", default="", help="A name to recognise the key by.")
@click.pass_context
def recipients_add(ctx: click.Context, data: Path | None, key: str, label: str) -> None:
    """Add a coordinator public key (age1...). Reads: the store passphrase."""
    from app.store import keyring

    store = open_store(ctx, data, role="field")
    with keyring.connection(store) as conn:
        added = keyring.add_recipient(conn, key, label)
    click.echo(_("recipient added: %(key)s", key=added))


@command(recipients, "list")
@click.pass_context
def recipients_list(ctx: click.Context, data: Path | None) -> None:
    """List the recipients. Reads: the store passphrase."""
    from app.store import keyring

    store = open_store(ctx, data, role="field")
    with keyring.connection(store) as conn:
        for row in keyring.list_recipients(conn):
            click.echo(f"{row['public_key']}\t{row['label']}".rstrip())


@command(main, "wipe")
@click.pass_context
def wipe(ctx: click.Context, data: Path | None) -> None:
    """Crypto-erase the store. Reads: the passphrase, then a confirmation line 'yes'."""
    store = open_store(ctx, data, unlock=False)
    if not store.exists():
        raise UserError(_("no store in %(path)s", path=store.config.data_dir))
    store.check_passphrase(read_secret(_("Passphrase")))
    answer = read_line(_("Type yes to destroy every report in this store"))
    if answer.strip().lower() not in ("yes", "иә", "да"):
        raise UserError(_("not confirmed; nothing was changed"))
    store.wipe()
    click.echo(_("The store was destroyed. Nothing in it can be recovered."))


@command(main, "passwd")
@click.pass_context
def passwd(ctx: click.Context, data: Path | None) -> None:
    """Change the passphrase and the store's key. Reads: the current passphrase, then the new one.

    The database is re-encrypted under a fresh key: a copy of the old key file with the
    old passphrase opens nothing afterwards.
    """
    from app.store import passphrase

    store = open_store(ctx, data, unlock=False)
    old = read_secret(_("Current passphrase"))
    new = read_secret(_("New passphrase"), confirm=True)
    reason = passphrase.weakness(new)
    if reason is not None:
        raise UserError(reason)
    store.change_passphrase(old, new)
    store.lock()
    click.echo(_("Passphrase changed; the store has a new key."))


def _register_more() -> None:
    from app.cli import devices as cli_devices
    from app.cli import exchange as cli_exchange
    from app.cli import reports as cli_reports
    from app.cli import review as cli_review
    from app.cli import seizure as cli_seizure
    from app.cli import serve as cli_serve
    from app.cli import training as cli_training

    cli_exchange.register(main, command, open_store)
    cli_seizure.register(main, command, open_store)
    cli_training.register(main, command, open_store)
    cli_reports.register(main, command, open_store)
    cli_devices.register(main, command, open_store)
    cli_serve.register(main, command, open_store)
    cli_review.register(main, command, open_store)


_register_more()
