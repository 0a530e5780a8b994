"""Tables of reports for a monitoring briefing: CSV, XLSX, JSON lines, Uwazi CSV.

One row per report (latest revision, in the order received), in the scope the statistics
use (app/review/stats.py: filters; rejected reports and unconfirmed devices held apart
unless asked), and by default
only the reports whose author allowed publication (``publication=False`` includes the
internal ones). Codes are shown in the chosen language with the code itself in the
neighbouring column.

Consent is enforced here, not advised:

- a person's name appears only when that person "may be named publicly" and the report
  does not ask for names to be withheld; otherwise the cell says "name withheld";
  a withheld name is also replaced wherever it occurs in the report's title, description
  and place (names written in free text that are not listed as people cannot be found);
- a perpetrator's name (an officer, a unit) appears unless the report withholds names;
- the reporter's contact details never appear: no column reads them.

Files: written under a temporary name in the target folder and linked into place only when
complete, so an existing file is never replaced and nothing half-written is left. They are
plaintext. CSV is UTF-8 with a byte-order mark (Excel then reads Cyrillic and Kazakh
correctly), streamed row by row. XLSX (xlsxwriter, ``constant_memory``: each row is
written to disk as it comes, and its temporary files go into the target folder, not the
system's temporary folder) has a frozen header row and an autofilter; every cell is a
string, never a formula. In CSV a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading apostrophe, so spreadsheet software never evaluates it.
The first rows of every file (CSV/XLSX: a header block; JSON lines: a first ``meta``
object) say which filters and which consent rule produced it.

Speed: on the command line the rows are read from the store and shaped in a forked child
process while this one writes the file (``cells_from_child``): on two cores, about as
long as the slower of the two halves instead of their sum. docs/REVIEW-stats.md gives
the times.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import sqlcipher3

from app.messages import gettext
from app.review import labels, stats
from app.review.stats import Scope, scope_sql
from app.timeutil import utc_now

__all__ = ["FORMATS", "TableError", "TableFileExists", "TableOptions", "describe", "rows",
           "tidy", "write_table"]

FORMATS = ("csv", "xlsx", "json", "uwazi")
#: First characters that make spreadsheet software read a cell as a formula.
_DANGEROUS_START = frozenset(("=", "+", "-", "@", "\t", "\r"))
SEP = "; "


class TableFileExists(FileExistsError):
    """The target file exists: a table never replaces a file."""


@dataclass(frozen=True)
class TableOptions:
    scope: Scope = field(default_factory=Scope)
    #: Only reports whose author allowed publication (the default for briefings).
    publication: bool = True
    #: Words describing the filters, for the file's header block.
    filter_text: str = ""


# --------------------------------------------------------------------------- consent


#: Shapes of the body fields a table reads. Bundles are checked on import
#: (app/exchange/schema.py), but a store can hold bodies written before a check existed
#: (a boolean where a legal code belongs once broke every table): ``tidy`` gives every
#: row the shape the table expects, so one odd body never stops a table or the briefing.
_TEXTS = ("title", "description", "occurred_on", "occurred_precision", "ended_on", "region",
          "place", "sensitivity")
_CODES = ("rights", "acts", "sources")
_GROUPS = {"victims": ("name", "role"), "perpetrators": ("kind", "name"),
           "legal": ("code", "article")}


def _text(value: Any) -> str:
    if value.__class__ is str:
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool) or value is None:
        return ""
    return str(value) if isinstance(value, int) else ""


class _Tidy(dict):  # type: ignore[type-arg]
    """A body ``tidy`` has already shaped (``report_row`` does not shape it twice)."""


def _codes(values: Any) -> list[str]:
    if values.__class__ is not list:
        return []
    if all(v.__class__ is str and v for v in values):
        return values  # type: ignore[no-any-return]
    return [v for v in values if isinstance(v, str) and v]


def tidy(body: Any) -> dict[str, Any]:
    """``body`` with every field a table reads in its expected shape: texts as strings
    (anything else empty), code lists of strings, groups as lists of objects with string
    fields. Consent fails closed: a person may be named only when ``may_name`` is exactly
    ``true``, and any value of ``withhold_names`` that is not false withholds."""
    if isinstance(body, _Tidy):
        return body
    body = body if isinstance(body, dict) else {}
    out = _Tidy(body)
    get = body.get
    for key in _TEXTS:
        out[key] = _text(get(key))
    for key in _CODES:
        out[key] = _codes(get(key))
    odd: list[str] = []  # words of people's entries that had to be dropped or changed
    for key, fields in _GROUPS.items():
        rows = get(key)
        if rows is not None and rows.__class__ is not list:
            if key == "victims":
                odd.extend(_strings_in(rows))
            rows = ()
        shaped = []
        for row in rows or ():
            if not isinstance(row, dict):
                if key == "victims":
                    odd.extend(_strings_in(row))
                continue
            item = {f: _text(row.get(f)) for f in fields}
            if key == "victims":
                item["may_name"] = row.get("may_name") is True
                name = row.get("name")
                if name is not None and name.__class__ is not str:
                    odd.extend(_strings_in(name))
            shaped.append(item)
        out[key] = shaped
    out["withhold_names"] = get("withhold_names") not in (None, False, 0, "")
    if odd:
        # Who these people are and what they allowed cannot be read: no name at all, and
        # every word of those entries withheld where the report's text repeats it.
        out["withhold_names"] = True
        out[_ODD_NAMES] = odd
    return out


#: Where ``tidy`` leaves the words of people's entries of odd shape, for ``report_row``
#: to withhold.
_ODD_NAMES = "_withheld_words"


def _strings_in(value: Any, depth: int = 0) -> list[str]:
    """Every string inside ``value`` (lists, objects' values), for withholding."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if depth > 8:
        return []
    items = value.values() if isinstance(value, dict) else value if isinstance(
        value, list) else ()
    return [text for item in items for text in _strings_in(item, depth + 1)]


def may_name(person: dict[str, Any], body: dict[str, Any]) -> bool:
    """The consent rule: the person's own flag, and no "withhold names" on the report."""
    return bool(person.get("may_name")) and not body.get("withhold_names")


def name_withheld() -> str:
    return gettext("name withheld")


def _redact(text: str, names: list[str], withheld: str) -> str:
    if not names or not text:
        return text
    for name in sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True):
        text = re.sub(re.escape(name), withheld, text, flags=re.IGNORECASE)
    return text


class Labels:
    """Labels of one table, looked up once per code (a table repeats a few dozen codes
    100,000 times; the language does not change while it is written)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}
        self.withheld = name_withheld()
        self.art = gettext("art.")

    def __call__(self, list_name: str, code: str) -> str:
        key = (list_name, code)
        label = self._seen.get(key)
        if label is None:
            label = self._seen[key] = labels.code_label(list_name, code)
        return label


def consent_rule() -> str:
    return gettext("A person's name is shown only when that person may be named publicly and "
                   "the report does not ask for names to be withheld; otherwise: \"name "
                   "withheld\". Reporters' contact details are never included.")


# --------------------------------------------------------------------------- rows

#: Column keys in order; ``*_code`` columns hold the codes beside their labels.
COLUMNS = ("id", "title", "description", "occurred_on", "occurred_precision",
           "occurred_precision_code", "ended_on", "region", "region_code", "place",
           "rights", "rights_code", "acts", "acts_code", "perpetrators", "perpetrators_code",
           "victims", "victim_roles_code", "legal", "legal_code", "sources", "sources_code",
           "sensitivity_code", "status", "status_code", "tags", "device", "received")


def headers() -> dict[str, str]:
    code = gettext("code")
    return {
        "id": gettext("Report"),
        "title": gettext("Title"),
        "description": gettext("What happened"),
        "occurred_on": gettext("Date (start)"),
        "occurred_precision": gettext("Date precision"),
        "occurred_precision_code": f"{gettext('Date precision')} ({code})",
        "ended_on": gettext("Date (end, if it lasted)"),
        "region": gettext("Region"),
        "region_code": f"{gettext('Region')} ({code})",
        "place": gettext("Place"),
        "rights": gettext("Rights affected"),
        "rights_code": f"{gettext('Rights affected')} ({code})",
        "acts": gettext("What was done"),
        "acts_code": f"{gettext('What was done')} ({code})",
        "perpetrators": gettext("Perpetrators"),
        "perpetrators_code": f"{gettext('Perpetrators')} ({code})",
        "victims": gettext("People affected"),
        "victim_roles_code": f"{gettext('Role of the person')} ({code})",
        "legal": gettext("Legal provisions"),
        "legal_code": f"{gettext('Legal provisions')} ({code})",
        "sources": gettext("Sources"),
        "sources_code": f"{gettext('Sources')} ({code})",
        "sensitivity_code": f"{gettext('Sensitivity')} ({code})",
        "status": gettext("Status"),
        "status_code": f"{gettext('Status')} ({code})",
        "tags": gettext("Tags"),
        "device": gettext("Device"),
        "received": gettext("Received"),
    }


def _legal_text(item: dict[str, Any], label: Labels) -> str:
    law = label("legal", item.get("code") or "")
    article = (item.get("article") or "").strip()
    return f"{law} {label.art} {article}".strip() if article else law


def report_row(meta: dict[str, Any], body: dict[str, Any],
               label: Labels | None = None) -> dict[str, str]:
    """One report as table cells (labels in the current language, consent applied); a
    body of odd shape is read through ``tidy``."""
    label = label or Labels()
    body = tidy(body)
    victims = body.get("victims") or []
    named = {(v.get("name") or "").strip() for v in victims if may_name(v, body)}
    withheld = [n for n in ((v.get("name") or "").strip() for v in victims
                            if not may_name(v, body)) if n and n not in named]
    withheld += [n.strip() for n in body.get(_ODD_NAMES, ())]
    people = []
    for person in victims:
        name = (person.get("name") or "").strip()
        shown = (name if may_name(person, body) else label.withheld) if name else "—"
        role = person.get("role") or ""
        people.append(f"{shown} ({label('victim_role', role)})" if role else shown)
    perpetrators = []
    for item in body.get("perpetrators") or []:
        kind = label("perpetrator", item.get("kind") or "")
        name = (item.get("name") or "").strip()
        if name and body.get("withhold_names"):
            name = label.withheld
        perpetrators.append(f"{kind} ({name})" if kind and name else kind or name)
    precision = body.get("occurred_precision") or ""
    status = meta.get("status") or ""
    return {
        "id": meta["id"],
        "title": _redact(body.get("title") or "", withheld, label.withheld),
        "description": _redact(body.get("description") or "", withheld, label.withheld),
        "occurred_on": body.get("occurred_on") or "",
        "occurred_precision": label("precision", precision) if precision else "",
        "occurred_precision_code": precision,
        "ended_on": body.get("ended_on") or "",
        "region": label("region", body.get("region") or ""),
        "region_code": body.get("region") or "",
        "place": _redact(body.get("place") or "", withheld, label.withheld),
        "rights": SEP.join(label("right", c) for c in body.get("rights") or []),
        "rights_code": SEP.join(body.get("rights") or []),
        "acts": SEP.join(label("act", c) for c in body.get("acts") or []),
        "acts_code": SEP.join(body.get("acts") or []),
        "perpetrators": SEP.join(perpetrators),
        "perpetrators_code": SEP.join(p.get("kind") or "" for p in body.get("perpetrators") or []),
        "victims": SEP.join(people),
        "victim_roles_code": SEP.join(v.get("role") or "" for v in victims),
        "legal": SEP.join(_legal_text(item, label) for item in body.get("legal") or []),
        "legal_code": SEP.join(
            f"{item.get('code') or ''}:{(item.get('article') or '').strip()}".rstrip(":")
            for item in body.get("legal") or []),
        "sources": SEP.join(label("source", c) for c in body.get("sources") or []),
        "sources_code": SEP.join(body.get("sources") or []),
        "sensitivity_code": body.get("sensitivity") or "",
        "status": label("status", status),
        "status_code": status,
        "tags": SEP.join(meta.get("tags") or []),
        "device": meta.get("device") or "",
        "received": meta.get("received") or "",
    }


def rows(conn: sqlcipher3.Connection, options: TableOptions) -> Iterator[tuple[dict[str, Any],
                                                                               dict[str, Any]]]:
    """``(meta, body)`` of every report in scope, in the order their latest revisions were
    stored (received), one at a time.

    That order is the reports table's own, so the bodies are read front to back (a date
    order would read them in random order, each read decrypting a page again). The ordered
    query carries no body: if a filter makes SQLite sort, it sorts short rows, not 100,000
    report texts; each body is read by its row number as the row is written, so the memory
    used does not grow with the number of reports.
    """
    stats.roomy(conn)
    source, where, params = scope_sql(conn, options.scope)
    source += " JOIN reports r ON r.id = h.report_id AND r.revision = h.revision"
    if options.publication:
        where += " AND json_extract(r.body, '$.may_publish') = 1"
    sql = (f"SELECT r.rowid, h.report_id, h.triage, d.fingerprint, h.received_at, "  # noqa: S608
           f"(SELECT group_concat(t.label, '{SEP}') FROM (SELECT label FROM report_tags "
           f"WHERE report_id = h.report_id ORDER BY tag) t) "
           f"FROM {source} WHERE {where} ORDER BY r.rowid")
    # Without a filter SQLite reads the reports in their own order: the body comes with
    # the row (reading it again by row number cost as much as the whole scan).
    joined = not any("TEMP B-TREE" in str(row[-1]) for row in conn.execute(
        f"EXPLAIN QUERY PLAN {sql}", params))
    if joined:
        sql = sql.replace("SELECT r.rowid,", "SELECT r.body,", 1)
    for first, report_id, status, fingerprint, received, tags in conn.execute(sql, params):
        body = first if joined else conn.execute(
            "SELECT body FROM reports WHERE rowid = ?", (first,)).fetchone()[0]
        meta = {"id": report_id, "status": status, "device": fingerprint,
                "received": received, "tags": tags.split(SEP) if tags else []}
        yield meta, tidy(json.loads(body))


# --------------------------------------------------------------------------- the files


def neutralise(cell: str) -> str:
    """A cell spreadsheet software will show as text, never evaluate as a formula."""
    return "'" + cell if cell[:1] in _DANGEROUS_START else cell


def describe(options: TableOptions, left_out: dict[str, int] | None = None) -> list[str]:
    """The header block's lines: what produced the file."""
    lines = [gettext("Kuager table of reports, made %(at)s. This file is plaintext: keep it "
                     "as safe as the store.", at=utc_now())]
    lines.append(gettext("Filters: %(filters)s", filters=options.filter_text
                         or gettext("none")))
    if options.publication:
        lines.append(gettext("Only reports that may be published."))
    else:
        lines.append(gettext("All reports, including those not meant for publication."))
    held = []
    if not options.scope.include_rejected:
        held.append(gettext("rejected reports: %(num)s", num=(left_out or {}).get("rejected", 0)))
    if not options.scope.include_unconfirmed:
        held.append(gettext("reports from unconfirmed devices: %(num)s",
                            num=(left_out or {}).get("unconfirmed", 0)))
    if held:
        lines.append(gettext("Left out: %(what)s", what=SEP.join(held)))
    lines.append(consent_rule())
    return lines


def _exclusive_target(out: Path) -> Path:
    if out.exists() or out.is_symlink():
        raise TableFileExists(gettext("%(path)s exists; a table never replaces a file",
                                      path=out))
    return out.with_name(f".{out.name}.{os.getpid()}.part")


def _publish(tmp: Path, out: Path) -> None:
    """Link the complete file into place (fails if ``out`` appeared meanwhile)."""
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise TableFileExists(gettext("%(path)s exists; a table never replaces a file",
                                      path=out)) from None
    finally:
        tmp.unlink(missing_ok=True)


Cells = Iterator[dict[str, str]]


def write_table(conn: sqlcipher3.Connection, out: Path, fmt: str, options: TableOptions,
                connect: Callable[[], sqlcipher3.Connection] | None = None) -> int:
    """Write the table to ``out`` (which must not exist); returns the number of reports.

    With ``connect`` (a new connection to the same store: the command line's), the rows
    are read and shaped in a child process while this one writes the file
    (``cells_from_child``); without it (the web page, whose server has threads, which a
    fork must not copy), here."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    left = stats.count(conn, ["status"], options.scope).left_out
    writer: WriterFn = _write_json if fmt == "json" else _write_csv  # xlsx: _write_xlsx
    if fmt == "uwazi":
        from app.review import uwazi

        make: Callable[[dict[str, Any], dict[str, Any]], dict[str, str]] = uwazi.row_maker()
        columns = tuple(name for name, _type in uwazi.COLUMNS)
        writer = uwazi.write_csv
    else:
        columns = COLUMNS
        label = Labels()

        def make(meta: dict[str, Any], body: dict[str, Any]) -> dict[str, str]:
            return report_row(meta, body, label)
    cells = (cells_from_child(connect, options, make, columns)
             if connect is not None and _CAN_FORK
             else (make(meta, body) for meta, body in rows(conn, options)))
    tmp = _exclusive_target(out)
    try:
        if fmt == "xlsx":
            count = _write_xlsx(cells, tmp, options, left)
        else:
            with open(tmp, "x", encoding="utf-8-sig" if fmt == "csv" else "utf-8",
                      newline="") as fh:
                count = writer(cells, fh, options, left)
                fh.flush()
                os.fsync(fh.fileno())
        _publish(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        cells.close()
    return count


#: A child process can share the work on Linux (``fork``; elsewhere the rows are made in
#: the writing process).
_CAN_FORK = hasattr(os, "fork") and sys.platform.startswith("linux")
#: Rows sent to the writing process at once.
_BATCH = 256


class TableError(RuntimeError):
    """The rows of a table could not be read (the child process failed)."""


def cells_from_child(connect: Callable[[], sqlcipher3.Connection], options: TableOptions,
                     make: Callable[[dict[str, Any], dict[str, Any]], dict[str, str]],
                     columns: tuple[str, ...]) -> Cells:
    """The table's rows, read from the store and shaped (``make``) by a forked child on
    its own connection, in order, through a pipe: the two processes work at once (the
    file's writer takes about as long as reading and shaping the rows). The child holds
    what this process holds (it is a copy of it) and exits when the rows are sent or the
    reader goes away; nothing of it touches the disk. Memory stays bounded: the pipe
    holds a few batches, and the child waits while it is full.

    The rows travel as JSON lines (a batch of rows, each the list of its ``columns``'
    cells, then ``null`` at the end), checked here to be rows of text: never pickles,
    since any process of the same user can write into a pipe through /proc, and a pickle
    runs code when it is read."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _send_rows(write_end, connect, options, make, columns)
    os.close(write_end)
    finished = False
    failed = TableError(gettext("the reports could not be read for the table"))
    try:
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                batch = _batch(line, len(columns))
                if batch is None:
                    finished = True
                    break
                for cells in batch:
                    yield dict(zip(columns, cells, strict=True))
            if not finished:
                raise failed
    except ValueError:
        raise failed from None
    finally:
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise failed


def _send_rows(write_end: int, connect: Callable[[], sqlcipher3.Connection],
               options: TableOptions,
               make: Callable[[dict[str, Any], dict[str, Any]], dict[str, str]],
               columns: tuple[str, ...]) -> None:
    """The child's side of ``cells_from_child``: every row, in batches, then ``null``;
    exits (0 when every row was sent), never returns."""
    code = 1
    try:
        with os.fdopen(write_end, "wb") as pipe:
            conn = connect()
            batch: list[list[str]] = []
            for meta, body in rows(conn, options):
                row = make(meta, body)
                batch.append([row[name] for name in columns])
                if len(batch) == _BATCH:
                    pipe.write(json.dumps(batch, ensure_ascii=False).encode() + b"\n")
                    batch = []
            pipe.write(json.dumps(batch, ensure_ascii=False).encode() + b"\n")
            pipe.write(b"null\n")  # the end: a child that died never writes it
        code = 0
    finally:  # whatever went wrong, the parent reports it
        os._exit(code)


def _batch(line: bytes, width: int) -> list[list[str]] | None:
    """One line from the child: a batch of rows of ``width`` texts, or ``None`` (the
    end); ValueError for anything else."""
    try:
        batch = json.loads(line)
    except ValueError:  # not JSON, or not UTF-8
        raise ValueError("not a batch of rows") from None
    if batch is None:
        return None
    if batch.__class__ is not list or not all(
            row.__class__ is list and len(row) == width and all(v.__class__ is str for v in row)
            for row in batch):
        raise ValueError("not a batch of rows")
    return batch  # type: ignore[no-any-return]


def _write_csv(cells: Cells, fh: TextIO, options: TableOptions,
               left: dict[str, int]) -> int:
    writer = csv.writer(fh)
    for line in describe(options, left):
        writer.writerow([neutralise(line)])
    writer.writerow([])
    names = headers()
    writer.writerow([names[c] for c in COLUMNS])
    count = 0
    for row in cells:
        # neutralise(), inlined: 28 cells a row, 100,000 rows
        writer.writerow([("'" + cell) if cell[:1] in _DANGEROUS_START else cell
                         for cell in map(row.__getitem__, COLUMNS)])
        count += 1
    return count


def _write_json(cells: Cells, fh: TextIO, options: TableOptions,
                left: dict[str, int]) -> int:
    meta_line = {"meta": {"description": describe(options, left), "filters":
                          options.filter_text, "publication_only": options.publication,
                          "left_out": left, "consent_rule": consent_rule(),
                          "columns": headers()}}
    fh.write(json.dumps(meta_line, ensure_ascii=False) + "\n")
    count = 0
    for row in cells:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_xlsx(cells: Cells, path: Path, options: TableOptions,
                left: dict[str, int]) -> int:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "tmpdir": str(path.parent), "strings_to_formulas": False,
        "strings_to_numbers": False, "strings_to_urls": False})
    try:
        sheet = book.add_worksheet(gettext("Reports")[:31])
        bold = book.add_format({"bold": True})
        row_no = 0
        for line in describe(options, left):
            sheet.write_string(row_no, 0, line)
            row_no += 1
        row_no += 1
        header_row = row_no
        names = headers()
        for col, key in enumerate(COLUMNS):
            sheet.write_string(header_row, col, names[key], bold)
        sheet.freeze_panes(header_row + 1, 0)
        count = 0
        for row in cells:
            row_no += 1
            for col, key in enumerate(COLUMNS):
                if row[key]:
                    sheet.write_string(row_no, col, row[key])
            count += 1
        sheet.autofilter(header_row, 0, max(row_no, header_row), len(COLUMNS) - 1)
    finally:
        book.close()
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    return count


WriterFn = Callable[[Cells, TextIO, TableOptions, dict[str, int]], int]
