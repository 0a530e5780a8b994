"""Small named settings kept inside the encrypted database (never in a plaintext file)."""

from __future__ import annotations

import json
from typing import Any

import sqlcipher3


def get(conn: sqlcipher3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else row[0]


def set(conn: sqlcipher3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
    conn.commit()


def get_json(conn: sqlcipher3.Connection, key: str, default: Any = None) -> Any:
    raw = get(conn, key)
    return default if raw is None else json.loads(raw)


def set_json(conn: sqlcipher3.Connection, key: str, value: Any) -> None:
    set(conn, key, json.dumps(value, ensure_ascii=False, sort_keys=True))


def next_counter(conn: sqlcipher3.Connection, key: str) -> int:
    """Count up a persistent counter inside the caller's transaction (no commit here)."""
    current = int(get(conn, key, "0") or "0") + 1
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, str(current)),
    )
    return current
