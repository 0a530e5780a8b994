"""Timestamps: stored in UTC, second precision, ISO 8601 (sortable as text); shown in the
machine's local time zone (:func:`to_local`), with the zone named (:func:`utc_offset_label`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def to_local(value: str | datetime) -> datetime | None:
    """A stored timestamp (``2026-01-12T03:49:01Z``) in this machine's local time zone, or
    ``None`` when it is not a timestamp. A time without a zone is taken as UTC (how Kuager
    stores every one). Each instant gets the offset in force then (daylight saving)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone()


def utc_offset_label(moment: datetime | None = None) -> str:
    """The local zone as its offset: ``UTC+5``, ``UTC−3:30``, ``UTC`` (now, or at ``moment``).

    An offset, not a zone name: names such as ``Asia/Almaty`` or ``+05`` depend on how the
    machine was set up, the offset is what the reader needs to compare times."""
    local = to_local(moment or datetime.now(UTC))
    offset = local.utcoffset() if local is not None else None
    if not offset:
        return "UTC"
    sign = "+" if offset >= timedelta(0) else "\u2212"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
