"""Saving a report with its uploads as one unit: all of it, or nothing at all.

Rows are written in one transaction; attachment files are written before the commit and
removed again if anything fails, so an error never leaves half a report behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlcipher3
from werkzeug.datastructures import FileStorage

from app.config import Config
from app.records import attachments, reports
from app.store import keyring
from app.store.group import GroupCommit


def real_uploads(files: Iterable[FileStorage]) -> list[FileStorage]:
    """The file inputs that carry a file (an empty input still sends a part)."""
    return [f for f in files if f is not None and f.filename]


def _files_of(conn: sqlcipher3.Connection, attachment_ids: list[str]) -> list[str]:
    names = []
    for attachment_id in attachment_ids:
        row = conn.execute(
            "SELECT file_name, sealed_original FROM attachments WHERE id = ?", (attachment_id,)
        ).fetchone()
        if row is not None:
            names += [name for name in row if name]
    return names


def save(
    conn: sqlcipher3.Connection,
    cfg: Config,
    body: dict[str, Any],
    uploads: Iterable[FileStorage],
    *,
    report_id: str | None = None,
    origin: str = "operator",
    device: str = "",
    draft: bool | None = None,
) -> str:
    """Create (or, with ``report_id``, edit) a report and add its uploads; commit once.

    ``draft``: see :func:`reports.update`; a new report is ready to send unless True."""
    added: list[str] = []
    uploads = real_uploads(uploads)
    try:
        if report_id is None:
            report_id = reports.create(conn, body, origin=origin, device=device,
                                       draft=bool(draft))
        else:
            reports.update(conn, report_id, body, device=device, force=bool(uploads),
                           draft=draft)
        for upload in uploads:
            added.append(attachments.add_upload(conn, cfg, report_id, upload))
        files = _files_of(conn, added)
        conn.commit()
    except BaseException:
        files = _files_of(conn, added)
        conn.rollback()
        attachments.remove_files(cfg, files)
        raise
    return report_id


def save_grouped(
    group: GroupCommit,
    reading: sqlcipher3.Connection,
    cfg: Config,
    body: dict[str, Any],
    uploads: Iterable[FileStorage],
    *,
    origin: str,
) -> str:
    """Create a report with its uploads through a group commit (store/group.py): the
    files are cleaned and encrypted first, outside the writers' turn; only the rows are
    written in it. ``reading`` is a connection for the recipients an original is sealed
    to. Returns once the report is committed; on any error nothing of it is kept."""
    prepared: list[attachments.PreparedUpload] = []
    try:
        for upload in real_uploads(uploads):
            prepared.append(attachments.prepare_upload(
                cfg, upload, lambda: keyring.recipients_of(reading)))

        def rows(conn: sqlcipher3.Connection) -> str:
            report_id = reports.create(conn, body, origin=origin)
            for item in prepared:
                attachments.record_upload(conn, report_id, item)
            return report_id

        return group.write(rows)
    except Exception:
        # Not saved: its rows were rolled back. (Not on KeyboardInterrupt or SystemExit,
        # which may come while the commit holding its rows is under way: a file left
        # unreferenced is ciphertext, removed by the sweep.)
        attachments.remove_files(cfg, [name for item in prepared for name in item.files])
        raise
