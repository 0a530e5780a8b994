"""``kuager export`` and ``kuager import``: bundles between field devices and coordinators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.help import PathArg
from app.messages import cli_gettext as _
from app.messages import cli_ngettext


def register(main: click.Group, command: Any, open_store: Any) -> None:
    @command(main, "export")
    @click.option(
        "--out",
        type=PathArg(path_type=Path),
        required=True,
        help="Bundle file to write (e.g. on a USB stick); an existing folder: a bundle "
        "with a random name in it.",
    )
    @click.option(
        "--purge",
        is_flag=True,
        help="Delete the exported reports once the bundle is safely written.",
    )
    @click.pass_context
    def export(ctx: click.Context, data: Path | None, out: Path, purge: bool) -> None:
        """Seal every report not yet exported (drafts stay) into bundles for all recipients.

        One bundle holds about 6,600 small reports; more go to FILE-2, FILE-3... (or, for a
        folder, more random names). Reads: the store passphrase. Prints each bundle on
        stderr and the number of reports sealed as the last line of stdout; with nothing
        to seal writes no file and exits 1.
        """
        from app.exchange import bundles, exporter  # here: `kuager --help` stays fast
        from app.exchange.progress import Progress

        store = open_store(ctx, data, role="field")
        folder = out if out.is_dir() else None
        if folder is not None:
            out = folder / exporter.default_name()
        try:
            result = bundles.export_bundle(
                store, out, purge=purge, progress=Progress.for_stderr(),
                notify=lambda line: click.echo(_("note: %(what)s", what=line), err=True),
                names=(lambda n: out if n == 1 else folder / exporter.default_name())
                if folder is not None else None,
            )
        finally:
            store.lock()
        for written in result.bundles:
            click.echo(
                cli_ngettext(
                    "%(num)d report sealed into %(path)s (bundle %(seq)s)",
                    "%(num)d reports sealed into %(path)s (bundle %(seq)s)",
                    written.report_count,
                    path=written.path,
                    seq=written.sequence,
                ),
                err=True,
            )
        if purge:
            click.echo(_("The exported reports were deleted from this device."), err=True)
        if result.drafts:
            click.echo(_("Drafts left on this device, not exported: %(n)d", n=result.drafts),
                       err=True)
        click.echo(result.report_count)

    @command(main, "import")
    @click.argument(
        "bundle_files",
        metavar="BUNDLE...",
        nargs=-1,
        required=True,
        type=PathArg(dir_okay=False, path_type=Path),
    )
    @click.pass_context
    def import_(ctx: click.Context, data: Path | None, bundle_files: tuple[Path, ...]) -> None:
        """Verify, decrypt and import bundles. Reads: the store passphrase.

        Each bundle is all or nothing; importing one again changes nothing.
        """
        from app.exchange import bundles
        from app.exchange.progress import Progress

        store = open_store(ctx, data, role="coordinator")
        failed = False
        try:
            for path in bundle_files:
                try:
                    result = bundles.import_bundle(store, path, progress=Progress.for_stderr())
                except bundles.ImportRefused as exc:
                    # The reason in the CLI's language (crypto/ and the OS speak English).
                    click.echo(f"error: {path}: {bundles.explain_refusal(exc)}", err=True)
                    failed = True
                    continue
                for line in result.summary_lines():
                    click.echo(line)
        finally:
            store.lock()
        if failed:
            raise SystemExit(1)
