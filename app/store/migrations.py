"""Versioned schema migrations, applied in order on every open (``PRAGMA user_version``)."""

from __future__ import annotations

import sqlcipher3

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

MIGRATIONS: tuple[str, ...] = (_V1, _V2)


def upgrade(conn: sqlcipher3.Connection) -> int:
    """Apply every migration the database has not seen, each in its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
