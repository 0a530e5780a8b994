"""Versioned schema migrations, applied in order on every open (``PRAGMA user_version``).

A migration is an SQL script, or a function when it needs Python (the full-text index is
written by ``fulltext``, whose word folding SQL cannot do). Each runs in one transaction
with the version bump: a crash half-way leaves the store at the version before.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlcipher3

from app.store import fulltext

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- One row per report on a field store (edited in place, revision counted up);
-- one row per received revision on a coordinator store.
CREATE TABLE reports (
    id TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    origin TEXT NOT NULL DEFAULT 'operator',
    status TEXT NOT NULL DEFAULT 'draft',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    title TEXT NOT NULL,
    occurred_on TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    exported_in INTEGER,
    source_device TEXT,
    bundle_sequence INTEGER,
    imported_at TEXT,
    PRIMARY KEY (id, revision)
);
CREATE INDEX reports_region ON reports(region);
CREATE INDEX reports_status ON reports(status);
CREATE INDEX reports_occurred ON reports(occurred_on);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    original_size INTEGER NOT NULL,
    original_sha256 TEXT NOT NULL,
    metadata_removed INTEGER NOT NULL DEFAULT 0,
    file_name TEXT NOT NULL UNIQUE,
    file_key BLOB NOT NULL,
    -- field store: the image as uploaded, sealed to the recipients (age; unreadable here)
    sealed_original TEXT,
    -- coordinator store: that original, opened on import and kept as evidence
    original_file TEXT,
    original_key BLOB,
    added_at TEXT NOT NULL
);
CREATE INDEX attachments_report ON attachments(report_id);

CREATE TABLE custody (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX custody_report ON custody(report_id);

CREATE TABLE recipients (
    public_key TEXT PRIMARY KEY,
    label TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL
);

CREATE TABLE exports (
    sequence INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    report_count INTEGER NOT NULL
);

CREATE TABLE identities (
    public_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    secret TEXT NOT NULL,
    added_at TEXT NOT NULL
);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    first_seen TEXT NOT NULL
);

CREATE TABLE bundles (
    device_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    report_count INTEGER NOT NULL,
    PRIMARY KEY (device_id, sequence)
);

-- Inbox mode: public submissions sealed to the recipients on arrival; unreadable here.
CREATE TABLE inbox (
    id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    file_name TEXT NOT NULL UNIQUE,
    file_key BLOB NOT NULL,
    size INTEGER NOT NULL,
    exported_in INTEGER
);
"""

# Before drafts existed every report was stored as 'draft' and every one was exported:
# keep that meaning for the reports already there (they are ready to send).
_V2 = """
UPDATE reports SET status = 'ready' WHERE status = 'draft';
"""

#: The coordinator workbench (issue 12): latest revisions kept cheap, filters on narrow
#: tables, full-text search, triage, device trust.
#:
#: * ``report_heads``: one row per report, its latest revision and everything the list
#:   filters and sorts on (the wide ``reports.body`` is read only for the rows shown).
#:   ``occurred_start``/``occurred_end`` are the days the incident may cover, from its
#:   dates and their precision ("March 2026" is 2026-03-01..2026-03-31); NULL when the
#:   date is unknown. ``status`` is the field workflow (draft, ready, exported; copied from
#:   ``reports.status``), ``triage`` the coordinator's (new, in_review, verified,
#:   needs_follow_up, rejected): one store uses one of them, by its role. ``indexed`` is
#:   0 while the full-text index still has to read this revision (set in the same
#:   transaction as the write; the search brought the index up to date before it read;
#:   ``_index_in_step`` below replaced this with indexing in the write and dropped it).
#: * ``report_facets``: the codes of the repeatable fields (right, act, perpetrator,
#:   victim_role), one row each, for filters and statistics.
#: * ``report_search``/``report_search_ids``: FTS5 (contentless, encrypted with the
#:   database like every page), as app/store/fulltext.py describes; a copy of its schema,
#:   because a migration must never change once shipped.
_V2_WORKBENCH = """
CREATE INDEX reports_updated ON reports(updated_at);

CREATE TABLE report_heads (
    report_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    occurred_on TEXT NOT NULL DEFAULT '',
    occurred_start TEXT,
    occurred_end TEXT,
    region TEXT NOT NULL DEFAULT '',
    sensitivity TEXT NOT NULL DEFAULT 'normal',
    origin TEXT NOT NULL DEFAULT 'operator',
    status TEXT NOT NULL DEFAULT 'draft',
    triage TEXT NOT NULL DEFAULT 'new',
    device TEXT,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX report_heads_updated ON report_heads(updated_at, report_id);
CREATE INDEX report_heads_received ON report_heads(received_at, report_id);
CREATE INDEX report_heads_occurred ON report_heads(occurred_start, report_id);
CREATE INDEX report_heads_region ON report_heads(region);
CREATE INDEX report_heads_triage ON report_heads(triage);
CREATE INDEX report_heads_device ON report_heads(device);
CREATE INDEX report_heads_stale ON report_heads(report_id) WHERE indexed = 0;

CREATE TABLE report_facets (
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    report_id TEXT NOT NULL,
    PRIMARY KEY (kind, code, report_id)
) WITHOUT ROWID;
CREATE INDEX report_facets_report ON report_facets(report_id);

-- Coordinator triage: tags (compared case-folded, shown as first typed) and notes
-- (the coordinator's own; never part of any export).
CREATE TABLE report_tags (
    report_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    label TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (report_id, tag)
) WITHOUT ROWID;
CREATE INDEX report_tags_tag ON report_tags(tag, report_id);

CREATE TABLE report_notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL,
    at TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX report_notes_report ON report_notes(report_id);

-- Possible duplicates the coordinator decided on: 'same' (one incident) or 'dismissed';
-- first < second.
CREATE TABLE report_links (
    first TEXT NOT NULL,
    second TEXT NOT NULL,
    decision TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (first, second)
) WITHOUT ROWID;
CREATE INDEX report_links_second ON report_links(second);

-- Device trust: bundles of an unconfirmed device are imported but held apart.
ALTER TABLE devices ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN confirmed_at TEXT;
CREATE INDEX devices_fingerprint ON devices(fingerprint);
-- The device whose bundle carried a custody event ('' for this store's own events):
-- what a field device says happened is that device's claim.
ALTER TABLE custody ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';

CREATE TABLE report_search_ids (
    rowid INTEGER PRIMARY KEY,
    report_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE report_search USING fts5(
    title, body, title_folded, body_folded, extra,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- Existing reports: each head is built from its latest revision (triage: new) and
-- waits for the index, rebuilt on the first search.
INSERT INTO report_heads(report_id, revision, title, occurred_on, occurred_start,
                         occurred_end, region, sensitivity, origin, status, device,
                         received_at, updated_at, indexed)
SELECT r.id, r.revision, r.title, r.occurred_on, d.start,
       CASE WHEN d.start IS NULL THEN NULL
            WHEN e.stop IS NOT NULL AND e.stop > d.stop THEN e.stop ELSE d.stop END,
       r.region, coalesce(json_extract(r.body, '$.sensitivity'), 'normal'), r.origin,
       r.status, r.source_device, coalesce(r.imported_at, r.created_at), r.updated_at, 0
FROM reports r
JOIN (SELECT id, max(revision) AS revision FROM reports GROUP BY id) m
  ON m.id = r.id AND m.revision = r.revision
JOIN (SELECT id, revision,
        CASE WHEN p IN ('unknown') OR length(o) < 4 THEN NULL
             WHEN p = 'year' OR length(o) = 4 THEN substr(o, 1, 4) || '-01-01'
             WHEN p = 'month' OR length(o) = 7 THEN substr(o, 1, 7) || '-01'
             ELSE substr(o, 1, 10) END AS start,
        CASE WHEN p IN ('unknown') OR length(o) < 4 THEN NULL
             WHEN p = 'year' OR length(o) = 4 THEN substr(o, 1, 4) || '-12-31'
             WHEN p = 'month' OR length(o) = 7
                  THEN date(substr(o, 1, 7) || '-01', '+1 month', '-1 day')
             ELSE substr(o, 1, 10) END AS stop
      FROM (SELECT id, revision, occurred_on AS o,
                   coalesce(json_extract(body, '$.occurred_precision'), 'day') AS p
            FROM reports)) d
  ON d.id = r.id AND d.revision = r.revision
JOIN (SELECT id, revision,
        CASE WHEN length(x) = 4 THEN x || '-12-31'
             WHEN length(x) = 7 THEN date(x || '-01', '+1 month', '-1 day')
             WHEN length(x) >= 10 THEN substr(x, 1, 10) END AS stop
      FROM (SELECT id, revision, coalesce(json_extract(body, '$.ended_on'), '') AS x
            FROM reports)) e
  ON e.id = r.id AND e.revision = r.revision;

INSERT OR IGNORE INTO report_facets(kind, code, report_id)
SELECT 'right', j.value, h.report_id FROM report_heads h
JOIN reports r ON r.id = h.report_id AND r.revision = h.revision, json_each(r.body, '$.rights') j
WHERE j.type = 'text';
INSERT OR IGNORE INTO report_facets(kind, code, report_id)
SELECT 'act', j.value, h.report_id FROM report_heads h
JOIN reports r ON r.id = h.report_id AND r.revision = h.revision, json_each(r.body, '$.acts') j
WHERE j.type = 'text';
INSERT OR IGNORE INTO report_facets(kind, code, report_id)
SELECT 'perpetrator', json_extract(j.value, '$.kind'), h.report_id FROM report_heads h
JOIN reports r ON r.id = h.report_id AND r.revision = h.revision,
     json_each(r.body, '$.perpetrators') j
WHERE j.type = 'object' AND coalesce(json_extract(j.value, '$.kind'), '') != '';
INSERT OR IGNORE INTO report_facets(kind, code, report_id)
SELECT 'victim_role', json_extract(j.value, '$.role'), h.report_id FROM report_heads h
JOIN reports r ON r.id = h.report_id AND r.revision = h.revision,
     json_each(r.body, '$.victims') j
WHERE j.type = 'object' AND coalesce(json_extract(j.value, '$.role'), '') != '';
"""

#: Statistics (issue 13, speed): ``report_facts``, what each report counts under, kept by
#: triggers on ``report_heads`` in the transaction of every write (app/review/stats.py
#: reads it; docs/REVIEW-stats.md). Per report, one ``region`` row and, for each of
#: ``right``, ``act``, ``perpetrator``, ``victim_role``, one row per distinct code or one
#: row with ``value = ''`` ("not recorded"). Every row also carries what a count filters
#: and groups on, so that a count reads one range of one table: the report's region,
#: month and year (``''``: unknown; the rules of docs/REVIEW-stats.md), triage and
#: sending device. The ``region`` row (one per report) also serves the fields that
#: have one value per report and the totals. ``counted`` is 1 when the report counts
#: under the row's value; ``people`` is the number of people counted there (the
#: report's people; for ``victim_role`` those with that role); a field that is not a
#: list has no codes. Only a ``victim_role`` row with ``value = ''``
#: can have ``counted = 0``: people without a role in a report whose other people have
#: one. The content trigger recomputes a report's rows from its latest body whenever its
#: head is written (a new revision, an import, a draft/ready change); the triage trigger
#: copies a status change; deleting the head deletes them. ``_FACTS_REBUILD`` builds the
#: rows of every existing report with the content trigger's own statement.
_FACTS_BODY = "(SELECT body FROM reports WHERE id = NEW.report_id AND revision = NEW.revision)"
_FACTS_PEOPLE = f"coalesce(json_array_length({_FACTS_BODY}, '$.victims'), 0)"
#: A list of the body (``NULL`` when it is not one: no codes).
_FACTS_LIST = "CASE json_type({body}, '$.{key}') WHEN 'array' THEN {body} -> '$.{key}' END"
_FACTS_CODES = (
    "SELECT '{field}', j.value, 1, {people} FROM json_each({list}) j"
    " WHERE j.type = 'text' AND j.value <> '' GROUP BY j.value\n  UNION ALL\n"
    "  SELECT '{field}', '', 1, {people} WHERE NOT EXISTS (SELECT 1 FROM"
    " json_each({list}) j WHERE j.type = 'text' AND j.value <> '')"
)
_FACTS_KINDS = (
    "SELECT coalesce(CASE WHEN j.type = 'object' THEN CASE WHEN json_type(j.value, '$.{key}')"
    " = 'text' THEN json_extract(j.value, '$.{key}') END END, '') AS code"
    " FROM json_each({list}) j"
)
_FACTS_INSERT = """
INSERT INTO report_facts(field, value, report_id, counted, people, region, month, year,
                         triage, device)
SELECT x.field, x.value, NEW.report_id, x.counted, x.people, coalesce(NEW.region, ''),
       CASE WHEN NEW.occurred_start IS NOT NULL AND length(NEW.occurred_on) >= 7
             AND coalesce(nullif(json_extract({body}, '$.occurred_precision'), ''), 'day')
                 IN ('day', 'month')
            THEN substr(NEW.occurred_on, 1, 7) ELSE '' END,
       CASE WHEN NEW.occurred_start IS NOT NULL THEN substr(NEW.occurred_start, 1, 4)
            ELSE '' END,
       NEW.triage, NEW.device
FROM (
  SELECT 'region' AS field, coalesce(NEW.region, '') AS value, 1 AS counted,
         {people} AS people
  UNION ALL
  {rights}
  UNION ALL
  {acts}
  UNION ALL
  SELECT 'perpetrator', k.code, 1, {people} FROM ({kinds}) k WHERE k.code <> ''
   GROUP BY k.code
  UNION ALL
  SELECT 'perpetrator', '', 1, {people}
   WHERE NOT EXISTS (SELECT 1 FROM ({kinds}) k WHERE k.code <> '')
  UNION ALL
  SELECT 'victim_role', v.code, 1, count(*) FROM ({roles}) v WHERE v.code <> ''
   GROUP BY v.code
  UNION ALL
  SELECT 'victim_role', '', coalesce(sum(v.code <> ''), 0) = 0, coalesce(sum(v.code = ''), 0)
   FROM ({roles}) v
) x
WHERE x.counted OR x.people > 0;
""".format(  # noqa: S608 - fixed fragments above, no input
    body=_FACTS_BODY,
    people=_FACTS_PEOPLE,
    rights=_FACTS_CODES.format(field="right", people=_FACTS_PEOPLE, list=_FACTS_LIST.format(
        body=_FACTS_BODY, key="rights")),
    acts=_FACTS_CODES.format(field="act", people=_FACTS_PEOPLE, list=_FACTS_LIST.format(
        body=_FACTS_BODY, key="acts")),
    kinds=_FACTS_KINDS.format(key="kind", list=_FACTS_LIST.format(body=_FACTS_BODY,
                                                                   key="perpetrators")),
    roles=_FACTS_KINDS.format(key="role", list=_FACTS_LIST.format(body=_FACTS_BODY,
                                                                   key="victims")),
)
_V3_FACTS = f"""
CREATE TABLE report_facts (
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    report_id TEXT NOT NULL,
    counted INTEGER NOT NULL,
    people INTEGER NOT NULL,
    region TEXT NOT NULL,
    month TEXT NOT NULL,
    year TEXT NOT NULL,
    triage TEXT NOT NULL,
    device TEXT,
    PRIMARY KEY (field, value, report_id)
) WITHOUT ROWID;
CREATE INDEX report_facts_report ON report_facts(report_id, field, counted, people);

CREATE TRIGGER report_facts_new AFTER INSERT ON report_heads BEGIN
{_FACTS_INSERT}
END;
CREATE TRIGGER report_facts_changed
AFTER UPDATE OF revision, occurred_on, occurred_start, region, device ON report_heads BEGIN
DELETE FROM report_facts WHERE report_id = OLD.report_id;
{_FACTS_INSERT}
END;
CREATE TRIGGER report_facts_triage AFTER UPDATE OF triage ON report_heads BEGIN
UPDATE report_facts SET triage = NEW.triage WHERE report_id = NEW.report_id;
END;
CREATE TRIGGER report_facts_gone AFTER DELETE ON report_heads BEGIN
DELETE FROM report_facts WHERE report_id = OLD.report_id;
END;

"""  # noqa: S608 - fixed fragments above, no input
#: Every existing report's rows, by the same statement as the content trigger, in the
#: order of report ids (so that each code's rows and the index grow at their ends, not
#: at random pages), with a page cache for the table being built; the temporary view
#: and trigger exist only for this statement.
_FACTS_REBUILD = f"""
PRAGMA cache_size = -65536;
CREATE TEMP VIEW report_facts_rebuild AS SELECT * FROM main.report_heads;
CREATE TEMP TRIGGER report_facts_rebuild INSTEAD OF INSERT ON report_facts_rebuild BEGIN
{_FACTS_INSERT}
END;
INSERT INTO report_facts_rebuild SELECT * FROM main.report_heads ORDER BY report_id;
DROP TRIGGER temp.report_facts_rebuild;
DROP VIEW temp.report_facts_rebuild;
"""  # noqa: S608 - fixed fragments above, no input


def _index_in_step(conn: sqlcipher3.Connection) -> None:
    """The full-text index is now written in the transaction of every write (it was
    marked stale there and written before the next search): build it for every report
    the store holds (docs/REVIEW.md gives the time at 100,000), then drop the stale flag
    and its index, which nothing reads any more."""
    fulltext.rebuild(conn)
    conn.execute("DROP INDEX IF EXISTS report_heads_stale")
    conn.execute("ALTER TABLE report_heads DROP COLUMN indexed")


#: The review list's filters on the columns of the heads, read from one narrow index
#: (every filter column, then the id) instead of a row lookup per candidate: the region
#: (the usual first choice) with a date range and any other column is a range scan of
#: it. It starts with the region, so the index on the region alone goes.
_V5_LIST_INDEX = """
CREATE INDEX report_heads_filters ON report_heads(region, occurred_start, occurred_end,
    sensitivity, origin, triage, status, device, report_id);
DROP INDEX report_heads_region;
"""

#: Statistics (issue 13, speed of a cross-tabulation of two multi-valued fields): each
#: report's ``region`` row of ``report_facts`` also carries the codes the report counts
#: under for each multi-valued field (its rows' values with ``counted = 1``, joined by
#: U+001F; ``''`` when it counts under "not recorded"), so that such a count reads the
#: one row per report instead of looking up the second field's rows of every report.
#: The content triggers set them after writing the rows; the last statement fills them
#: for every report already stored.
FACT_CODE_COLUMNS = {"right": "right_codes", "act": "act_codes",
                     "perpetrator": "perpetrator_codes", "victim_role": "victim_role_codes"}


def _facts_codes_update(*, trigger: bool) -> str:
    """``UPDATE`` of the code columns: of the written report's region row in a content
    trigger, else of every report's."""
    report_id = "NEW.report_id" if trigger else "a.report_id"
    sets = ", ".join(
        f"{column} = coalesce((SELECT group_concat(f.value, char(31)) FROM report_facts f"  # noqa: S608
        f" WHERE f.report_id = {report_id} AND f.field = '{name}' AND f.counted = 1), '')"
        for name, column in FACT_CODE_COLUMNS.items())
    if trigger:
        # The whole primary key (field, value, report) of the one row: with only the field
        # and the report SQLite scanned every report's region row.
        return (f"UPDATE report_facts SET {sets} WHERE field = 'region'"  # noqa: S608 - fixed
                " AND value = coalesce(NEW.region, '') AND report_id = NEW.report_id;")
    return f"UPDATE report_facts AS a SET {sets} WHERE a.field = 'region';"  # noqa: S608


_V7_FACT_CODES = "\n".join([
    *(f"ALTER TABLE report_facts ADD COLUMN {column} TEXT NOT NULL DEFAULT '';"
      for column in FACT_CODE_COLUMNS.values()),
    "DROP TRIGGER report_facts_new;",
    "DROP TRIGGER report_facts_changed;",
    f"CREATE TRIGGER report_facts_new AFTER INSERT ON report_heads BEGIN\n{_FACTS_INSERT}\n"
    f"{_facts_codes_update(trigger=True)}\nEND;",
    "CREATE TRIGGER report_facts_changed\nAFTER UPDATE OF revision, occurred_on,"
    " occurred_start, region, device ON report_heads BEGIN\n"
    "DELETE FROM report_facts WHERE report_id = OLD.report_id;\n"
    f"{_FACTS_INSERT}\n{_facts_codes_update(trigger=True)}\nEND;",
    "PRAGMA cache_size = -65536;",
    _facts_codes_update(trigger=False),
])

Migration = str | Callable[[sqlcipher3.Connection], None]
MIGRATIONS: tuple[Migration, ...] = (
    _V1, _V2, _V2_WORKBENCH, _V3_FACTS + _FACTS_REBUILD, _index_in_step, _V5_LIST_INDEX,
    _V7_FACT_CODES,
)


def upgrade(conn: sqlcipher3.Connection) -> int:
    """Apply every migration the database has not seen, each in its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        if isinstance(step, str):
            conn.executescript(f"BEGIN;\n{step}\nPRAGMA user_version = {number};\nCOMMIT;")
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return len(MIGRATIONS)
