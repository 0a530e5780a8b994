"""``kuager stats`` and ``kuager table``: the numbers and tables of a monitoring briefing
(coordinator store; the counting rules are in docs/REVIEW-stats.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from app.cli import reports as cli_reports
from app.cli.common import lazy
from app.cli.help import ChoiceArg, PathArg
from app.messages import cli_gettext as _
from app.messages import cli_ngettext, set_language

# Imported on first use (`kuager --help` stays light); FIELDS and FORMATS mirror
# app.review.stats.FIELDS and app.review.tables.FORMATS (tests/test_cli_start.py checks).
labels = lazy("app.review.labels")
stats = lazy("app.review.stats")
tables = lazy("app.review.tables")
FIELDS = ("region", "right", "act", "perpetrator", "victim_role", "month", "year", "status",
          "device")
FORMATS = ("csv", "xlsx", "json", "uwazi")


def _filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The review filters of ``reports list`` (same names, same meaning)."""
    for option, name, text in reversed(cli_reports._FILTER_OPTIONS):
        func = click.option(option, f"{name}_values", multiple=True, help=text)(func)
    return func


def _scope(conn: Any, options: dict[str, Any], include_unconfirmed: bool,
           include_rejected: bool) -> tuple[Any, str]:
    """The scope of a count or table, and the filters in words (for a table's header)."""
    chosen = cli_reports.filters_from_options(conn, "coordinator", options, True)
    given = [f"--{name.replace('_', '-')} {value}"
             for _option, name, _text in cli_reports._FILTER_OPTIONS
             for value in options.get(f"{name}_values") or ()]
    return (stats.Scope(filters=chosen, include_unconfirmed=include_unconfirmed,
                  include_rejected=include_rejected), " ".join(given))


def _held_apart_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--include-rejected", is_flag=True,
                        help="Count rejected reports too (left out by default).")(func)
    return click.option("--include-unconfirmed", is_flag=True,
                        help="Count reports from devices not yet confirmed (left out by "
                             "default).")(func)


def _say_left_out(left_out: dict[str, int], unit: str) -> None:
    """One line on stderr naming what was held apart, so stdout stays one group a line."""
    parts = []
    if "rejected" in left_out:
        parts.append(_("%(num)d rejected", num=left_out["rejected"]))
    if "unconfirmed" in left_out:
        parts.append(_("%(num)d from unconfirmed devices", num=left_out["unconfirmed"]))
    if parts:
        what = _("people") if unit == "people" else _("reports")
        click.echo(_("left out (%(what)s): %(parts)s", what=what, parts=", ".join(parts)),
                   err=True)


def register(main: click.Group, command: Any, open_store: Any) -> None:
    @command(main, "stats")
    @click.option("--by", "by", multiple=True, required=True, type=ChoiceArg(FIELDS),
                  help="Field to count by; give it twice for a cross-tabulation.")
    @click.option("--count", "unit", type=ChoiceArg(["reports", "people"]),
                  default="reports", show_default=True,
                  help="Count reports, or the people (victims) they name.")
    @_held_apart_options
    @click.option("--json", "as_json", is_flag=True,
                  help="One JSON object per group a line: the field values and count.")
    @_filter_options
    @click.pass_context
    def stats_command(ctx: click.Context, *, data: Path | None, by: tuple[str, ...], unit: str,
                      include_unconfirmed: bool, include_rejected: bool,
                      as_json: bool, **options: Any) -> None:
        """Counts of reports (or people) by one field, or cross-tabulated by two.

        Reads: the store passphrase. Rejected reports and reports from unconfirmed devices
        are left out unless asked; how many is said on standard error.
        """
        if len(by) > 2:
            raise click.UsageError(_("give --by once or twice"))
        store = open_store(ctx, data, role="coordinator")
        conn = store.connect()
        try:
            scope, _given = _scope(conn, options, include_unconfirmed, include_rejected)
            result = stats.count(conn, by, scope, unit=unit)
        finally:
            conn.close()
            store.lock()
        if as_json:
            for item in result.as_dicts():
                import json  # here: `kuager --help` stays light
                click.echo(json.dumps(item, ensure_ascii=False))
        else:
            for values, n in result.rows:
                shown = " / ".join(labels.group_label(name, value)
                                   for name, value in zip(by, values, strict=True))
                click.echo(f"{n:>8}  {shown}")
            click.echo(f"{result.total:>8}  " + (_("people in all") if unit == "people"
                                                 else _("reports in all")))
        _say_left_out(result.left_out, unit)

    @command(main, "table")
    @click.option("--format", "fmt", type=ChoiceArg(FORMATS), required=True,
                  help="csv (UTF-8 with BOM), xlsx, json (JSON lines) or uwazi (Uwazi's "
                       "CSV import).")
    @click.option("--out", type=PathArg(dir_okay=False, path_type=Path), required=True,
                  help="File to write; it must not exist. The file is plaintext.")
    @click.option("--all-reports", is_flag=True,
                  help="Include reports not meant for publication (default: only reports "
                       "that may be published).")
    @_held_apart_options
    @click.option("--lang", default=None,
                  help="Language of labels and headers: kk, ru or en.")
    @_filter_options
    @click.pass_context
    def table_command(ctx: click.Context, *, data: Path | None, fmt: str, out: Path,
                      all_reports: bool, include_unconfirmed: bool, include_rejected: bool,
                      lang: str | None, **options: Any) -> None:
        """One row per report, names withheld where consent is missing.

        Reads: the store passphrase. Never replaces an existing file.
        """
        if lang:
            set_language(lang)
        if out.exists() or out.is_symlink():
            raise tables.TableFileExists(_("%(path)s exists; a table never replaces a file",
                                           path=out))
        store = open_store(ctx, data, role="coordinator")
        conn = store.connect()
        try:
            scope, given = _scope(conn, options, include_unconfirmed, include_rejected)
            chosen = tables.TableOptions(scope=scope, publication=not all_reports,
                                         filter_text=given)
            count = tables.write_table(conn, out, fmt, chosen, connect=store.connect)
        finally:
            conn.close()
            store.lock()
        click.echo(cli_ngettext("%(num)d report written to %(path)s",
                                "%(num)d reports written to %(path)s", count, path=out))
        click.echo(_("This file is plaintext: anyone who can read it reads the reports. Keep "
                     "it on an encrypted disk and delete it when done."), err=True)
