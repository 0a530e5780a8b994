"""``kuager devices``: the field devices that sent bundles, and confirming them.

A device's reports are imported but held apart until the coordinator has compared its
fingerprint with the monitor (over the phone, in person) and confirmed it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.common import UserError, lazy
from app.messages import cli_gettext as _

triage = lazy("app.review.triage")  # imported on first use: `kuager --help` stays light
keyring = lazy("app.store.keyring")


def register(main: click.Group, command: Any, open_store: Any) -> None:
    @main.group("devices")
    def devices_group() -> None:
        """Coordinator: the devices that sent bundles, and their trust."""

    @command(devices_group, "list")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per device a line.")
    @click.pass_context
    def devices_list(ctx: click.Context, data: Path | None, as_json: bool) -> None:
        """List devices: fingerprint, confirmed, first seen, bundles, reports.

        Reads: the store passphrase.
        """
        store = open_store(ctx, data, role="coordinator")
        with keyring.connection(store) as conn:
            for device in triage.devices(conn):
                if as_json:
                    import json  # here: `kuager --help` stays light
                    click.echo(json.dumps(device, ensure_ascii=False))
                else:
                    state = _("confirmed") if device["confirmed"] else _("NOT CONFIRMED")
                    click.echo(f"{device['fingerprint']}  {state}  {device['first_seen']}  "
                               f"{device['bundles']}  {device['reports']}")

    def _confirm(ctx: click.Context, data: Path | None, fingerprint: str, yes: bool) -> str:
        store = open_store(ctx, data, role="coordinator")
        with keyring.connection(store) as conn:
            try:
                return triage.confirm_device(conn, fingerprint, yes)
            except triage.TriageError as exc:
                raise UserError(str(exc)) from None

    @command(devices_group, "confirm")
    @click.argument("fingerprint", nargs=-1, required=True)
    @click.pass_context
    def devices_confirm(ctx: click.Context, data: Path | None, fingerprint: tuple[str, ...]
                        ) -> None:
        """Confirm a device once its fingerprint matched the monitor's (spaces optional).

        Reads: the store passphrase.
        """
        shown = _confirm(ctx, data, " ".join(fingerprint), True)
        click.echo(_("device %(fp)s confirmed: its reports are no longer held apart", fp=shown))

    @command(devices_group, "unconfirm")
    @click.argument("fingerprint", nargs=-1, required=True)
    @click.pass_context
    def devices_unconfirm(ctx: click.Context, data: Path | None,
                          fingerprint: tuple[str, ...]) -> None:
        """Withdraw a confirmation: the device's reports are held apart again.

        Reads: the store passphrase.
        """
        shown = _confirm(ctx, data, " ".join(fingerprint), False)
        click.echo(_("device %(fp)s no longer confirmed: its reports are held apart", fp=shown))
