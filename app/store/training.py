"""Training stores: fictional data that can never be mixed up with real reports.

A store made with ``kuager init --training`` says so on every page and in every bundle it
exports; a real coordinator store refuses a training bundle, and the reverse.
"""

from __future__ import annotations

import sqlcipher3

from app.store import meta

REAL = "real"
TRAINING = "training"


def mode(conn: sqlcipher3.Connection) -> str:
    return meta.get(conn, "store_mode", REAL) or REAL


def set_mode(conn: sqlcipher3.Connection, value: str) -> None:
    """Chosen once, at ``init``: a store never changes between training and real."""
    if value not in (REAL, TRAINING):
        raise ValueError(value)
    meta.set(conn, "store_mode", value)
