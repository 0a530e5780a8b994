"""``kuager training``: fictional reports for a workshop, and wiping the workshop after.

``seed`` fills a training store through the same intake path as the report form
(``app.records.seed``). ``reset`` crypto-erases every training store in or under the data
folder in one step (the kit's ``data/``), and refuses, wiping nothing, if any store there
is not a training store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.common import UserError, lazy
from app.messages import cli_gettext as _
from app.messages import cli_ngettext

# Imported on first use (`kuager --help` stays light); MAX_COUNT mirrors
# app.records.seed.MAX_COUNT (tests/test_cli_start.py checks).
seeding = lazy("app.records.seed")
training_mode = lazy("app.store.training")
MAX_COUNT = 1000


def register(main: click.Group, command: Any, open_store: Any) -> None:
    @main.group("training")
    def training() -> None:
        """Training stores: fictional reports for a workshop, and a reset afterwards."""

    @command(training, "seed")
    @click.option("--count", type=click.IntRange(1, MAX_COUNT), default=20,
                  show_default=True, help="How many fictional reports to add.")
    @click.option("--seed", "random_seed", type=int, default=None,
                  help="Make the same reports every time (for screenshots and tests).")
    @click.pass_context
    def seed(ctx: click.Context, data: Path | None, count: int,
             random_seed: int | None) -> None:
        """Add fictional reports (kk, ru, en, mixed) to a training store.

        Reads: the store passphrase. A store of real reports is refused.
        """
        store = open_store(ctx, data)
        conn = store.connect()
        try:
            added = seeding.populate(conn, store.config, count, random_seed)
        finally:
            conn.close()
            store.lock()
        click.echo(cli_ngettext("%(num)d fictional report added to the training store",
                                "%(num)d fictional reports added to the training store",
                                len(added)))

    @command(training, "reset")
    @click.pass_context
    def reset(ctx: click.Context, data: Path | None) -> None:
        """Wipe every training store in or under the data folder (the kit's data/).

        Reads nothing: training stores are recognised by their marker. If any store there
        holds real reports, nothing at all is wiped.
        """
        from app.config import load_config

        root = load_config(data or ctx.find_root().params.get("data")).data_dir
        stores = training_mode.find_stores(root) if root.is_dir() else []
        if not stores:
            raise UserError(_("no store in or under %(path)s", path=root))
        real = [path for path in stores if not training_mode.is_marked(path)]
        if real:
            raise UserError(_("%(path)s is not a training store: nothing was wiped (a real "
                              "store is destroyed only with 'kuager wipe')", path=real[0]))
        config = load_config(root)
        for path in stores:
            from app.store.store import Store

            Store(config.with_data_dir(path)).wipe()
            (path / training_mode.MARKER).unlink(missing_ok=True)
            if path != root and not any(path.iterdir()):
                path.rmdir()
            click.echo(_("wiped: %(path)s", path=path))
        click.echo(cli_ngettext("%(num)d training store wiped; the workshop can start again",
                                "%(num)d training stores wiped; the workshop can start again",
                                len(stores)))
