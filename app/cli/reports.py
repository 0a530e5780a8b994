"""``kuager reports``: list with the review filters, and coordinator triage.

``reports list --json`` prints one object per matching report (every one, unless
``--limit``); notes about ignored filter values go to standard error as ``note:`` lines,
so standard output stays one JSON object a line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.common import UserError, lazy
from app.cli.help import ChoiceArg
from app.messages import N_
from app.messages import cli_gettext as _

# Imported on first use (`kuager --help` stays light); SORT_CODES mirrors
# app.review.listing.SORT_CODES for the option's choices (tests/test_cli_start.py checks).
reports = lazy("app.records.reports")
review_filters = lazy("app.review.filters")
listing = lazy("app.review.listing")
triage = lazy("app.review.triage")
keyring = lazy("app.store.keyring")
SORT_CODES = ("updated", "received", "occurred", "relevance")

#: Filter options: (option, name in the filters, help).
_FILTER_OPTIONS = (
    ("--query", "query", N_("Full-text search: words, prefixes, \"phrases\", any script.")),
    ("--region", "region", N_("Region code (repeat for any of several).")),
    ("--right", "right", N_("Right code.")),
    ("--act", "act", N_("Act code.")),
    ("--perpetrator", "perpetrator", N_("Perpetrator code.")),
    ("--victim-role", "victim_role", N_("Victim role code.")),
    ("--from", "from", N_("Occurred on or after YYYY-MM-DD (dates overlap, with precision).")),
    ("--to", "to", N_("Occurred on or before YYYY-MM-DD.")),
    ("--status", "status", N_("Status code (coordinator: new, in_review, verified, ...).")),
    ("--tag", "tag", N_("Tag (any letter case).")),
    ("--device", "device", N_("Sending device's fingerprint.")),
    ("--sensitivity", "sensitivity", N_("normal, high or critical.")),
    ("--origin", "origin", N_("field, public or coordinator.")),
)


def filter_options(func: Any) -> Any:
    """The review filters as repeatable options (shared with statistics and tables)."""
    for option, name, text in reversed(_FILTER_OPTIONS):
        func = click.option(option, f"{name}_values", multiple=True, help=text)(func)
    return click.option("--include-unconfirmed/--confirmed-only", "include_unconfirmed",
                        default=True,
                        help="Reports of devices nobody confirmed (listed by default, "
                             "marked by device_confirmed).")(func)


def filters_from_options(conn: Any, role: str | None, options: dict[str, Any],
                         include_unconfirmed: bool) -> review_filters.Filters:
    values = {name: list(options.get(f"{name}_values") or ()) for _o, name, _t in
              _FILTER_OPTIONS}
    chosen = review_filters.from_dict(values, role=role, conn=conn,
                                      include_unconfirmed=include_unconfirmed)
    for note in (*chosen.notes, *(review_filters.text_notes(chosen.text)
                                  if chosen.text.strip() else ())):
        click.echo(_("note: %(text)s", text=note), err=True)
    return chosen


def register(main: click.Group, command: Any, open_store: Any) -> None:
    @main.group("reports")
    def reports_group() -> None:
        """Reports in the store: list and search; coordinator triage."""

    @command(reports_group, "list")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per report a line.")
    @click.option("--limit", type=click.IntRange(min=0), default=None,
                  help="At most N reports (default: every one).")
    @click.option("--sort", type=ChoiceArg(SORT_CODES), default=None,
                  help="Order (default: relevance when searching, else updated).")
    @filter_options
    @click.pass_context
    def reports_list(ctx: click.Context, *, data: Path | None, as_json: bool,
                     limit: int | None, sort: str | None, include_unconfirmed: bool,
                     **options: Any) -> None:
        """List reports (latest revision of each) matching the filters.

        Reads: the store passphrase.
        """
        store = open_store(ctx, data)
        with keyring.connection(store) as conn:
            chosen = filters_from_options(conn, store.role, options, include_unconfirmed)
            ids = listing.matching_ids(conn, chosen, store.role, sort=sort, limit=limit)
            for report_id in ids:
                row = reports.latest(conn, report_id)
                if row is None:
                    continue
                if as_json:
                    import json  # here: `kuager --help` stays light
                    click.echo(json.dumps(reports.as_json(conn, row, store.role),
                                          ensure_ascii=False))
                else:
                    click.echo(f"{row['id']}  {row['occurred_on'] or '----------'}  "
                               f"{row['title']}")

    def _triage(ctx: click.Context, data: Path | None, report: str, action: Any) -> Any:
        store = open_store(ctx, data, role="coordinator")
        with keyring.connection(store) as conn:
            try:
                return action(conn, triage.resolve_report(conn, report))
            except triage.TriageError as exc:
                raise UserError(str(exc)) from None

    @command(reports_group, "status")
    @click.argument("report")
    @click.argument("code")
    @click.pass_context
    def reports_status(ctx: click.Context, data: Path | None, report: str, code: str) -> None:
        """Coordinator: set a report's status (new, in_review, verified, needs_follow_up,
        rejected); recorded in its custody history. Reads: the store passphrase."""
        changed = _triage(ctx, data, report, lambda conn, rid: (rid, triage.set_status(
            conn, rid, code)))
        click.echo(_("%(id)s: status %(code)s", id=changed[0], code=code) if changed[1]
                   else _("%(id)s: already %(code)s; nothing changed", id=changed[0],
                          code=code))

    @command(reports_group, "tag")
    @click.argument("report")
    @click.argument("tag")
    @click.pass_context
    def reports_tag(ctx: click.Context, data: Path | None, report: str, tag: str) -> None:
        """Coordinator: tag a report (tags ignore letter case). Reads: the store passphrase."""
        rid, added = _triage(ctx, data, report,
                             lambda conn, rid: (rid, triage.add_tag(conn, rid, tag)))
        click.echo(_("%(id)s: tagged %(tag)s", id=rid, tag=tag) if added
                   else _("%(id)s: already tagged %(tag)s", id=rid, tag=tag))

    @command(reports_group, "untag")
    @click.argument("report")
    @click.argument("tag")
    @click.pass_context
    def reports_untag(ctx: click.Context, data: Path | None, report: str, tag: str) -> None:
        """Coordinator: remove a tag from a report. Reads: the store passphrase."""
        rid, removed = _triage(ctx, data, report,
                               lambda conn, rid: (rid, triage.remove_tag(conn, rid, tag)))
        click.echo(_("%(id)s: tag %(tag)s removed", id=rid, tag=tag) if removed
                   else _("%(id)s: not tagged %(tag)s; nothing changed", id=rid, tag=tag))
