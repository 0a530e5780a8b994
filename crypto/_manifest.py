"""The bundle manifest: canonical JSON, strict limits (crypto/FORMAT.md section 4).

Parsing is strict and canonical so a manifest has one byte representation and a
signature covers exactly one meaning. Limits are checked before anything is used, so a
hostile manifest cannot make a reader allocate or loop without bound.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crypto.device import device_id_for, fingerprint_for
from crypto.errors import (
    KeyFormatError,
    ManifestError,
    UnsafeEntryName,
    UnsupportedBundleVersion,
)
from crypto.keys import parse_recipient

FORMAT = "kuager-bundle/v1"
MAX_MANIFEST = 1 << 20
MAX_ENTRIES = 10_000
MAX_RECIPIENTS = 64
MAX_ENTRY_SIZE = 1 << 40
MAX_TOTAL_SIZE = 1 << 42
MAX_INT = 1 << 53
MAX_DEPTH = 8
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: 9999-12-31T23:59:59Z, the last second a ``datetime`` can hold.
MAX_TIME = 253402300799
_KEYS = {"format", "device", "sequence", "created", "recipients", "meta", "entries"}


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    size: int
    sha256: bytes


@dataclass(frozen=True)
class Manifest:
    device_public_key: bytes
    sequence: int
    created: datetime
    recipients: tuple[str, ...]
    meta: Mapping[str, Any] = field(hash=False)
    entries: tuple[ManifestEntry, ...]
    format: str = FORMAT

    @property
    def device_id(self) -> str:
        return device_id_for(self.device_public_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint_for(self.device_public_key)


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or ".." in name:
        raise UnsafeEntryName(f"entry name {name[:40]!r} is not a flat, safe name")


def _check_int(value: object, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ManifestError(f"manifest {what} is missing or out of range")
    return value


def _check_json(value: object, depth: int = 1) -> None:
    if depth > MAX_DEPTH:
        raise ManifestError("manifest is nested too deeply")
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        if items and depth >= MAX_DEPTH:
            raise ManifestError("manifest is nested too deeply")  # as its items would
        for item in items:
            # Strings, booleans and null are fine as they are: checked here, not in a call
            # each (a manifest of 10,000 entries holds 30,000 of them).
            if item is None or type(item) is str or type(item) is bool:
                continue
            _check_json(item, depth + 1)
    elif type(value) is int:
        _check_int(value, 1 - MAX_INT, MAX_INT - 1, "integer")
    elif value is not None and not isinstance(value, str | bool):
        raise ManifestError("manifest holds a value type outside the format")


def _as_json(manifest: Manifest) -> dict[str, Any]:
    return {
        "format": manifest.format,
        "device": {
            "id": manifest.device_id,
            "public_key": base64.b64encode(manifest.device_public_key).decode(),
        },
        "sequence": manifest.sequence,
        "created": int(manifest.created.timestamp()),
        "recipients": list(manifest.recipients),
        "meta": dict(manifest.meta),
        "entries": [
            {"name": e.name, "sha256": e.sha256.hex(), "size": e.size} for e in manifest.entries
        ],
    }


def _canonical(value: object) -> bytes:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        raise ManifestError("manifest value cannot be encoded canonically") from None


def encode_manifest(manifest: Manifest) -> bytes:
    """Canonical bytes; the manifest is validated by decoding what was encoded."""
    data = _canonical(_as_json(manifest))
    decode_manifest(data)
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ManifestError("manifest has a duplicate key")
    return dict(pairs)


def _refuse(text: str) -> None:
    raise ManifestError(f"manifest holds a non-integer number {text[:20]!r}")


def _parse_json(data: bytes) -> dict[str, Any]:
    if not 2 <= len(data) <= MAX_MANIFEST:
        raise ManifestError("manifest size is out of range")
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse,
            parse_constant=_refuse,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ManifestError(f"manifest is not valid JSON: {str(exc)[:60]}") from None
    if not isinstance(value, dict):
        raise ManifestError("manifest is not a JSON object")
    _check_json(value)
    if _canonical(value) != data:
        raise ManifestError("manifest is not in canonical form")
    return value


def parse_device(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Canonical parse, version and device checks: all that signature checking needs."""
    value = _parse_json(data)
    if value.get("format") != FORMAT:
        raise UnsupportedBundleVersion(
            f"unsupported bundle format {str(value.get('format'))[:40]!r}"
        )
    device = value.get("device")
    if not isinstance(device, dict) or set(device) != {"id", "public_key"}:
        raise ManifestError("manifest device is malformed")
    try:
        public = base64.b64decode(str(device["public_key"]), validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII string (found by the fuzz target)
        raise ManifestError("device public key is not base64") from None
    if len(public) != 32 or base64.b64encode(public).decode() != device["public_key"]:
        raise ManifestError("device public key is not 32 canonically encoded bytes")
    if device["id"] != device_id_for(public):
        raise ManifestError("device id does not match the device public key")
    return value, public


def decode_manifest(data: bytes, parsed: tuple[dict[str, Any], bytes] | None = None) -> Manifest:
    """The manifest in ``data``; ``parsed`` is what ``parse_device(data)`` returned, when
    the caller has it already (a reader checks the signature in between): not parsed twice.
    """
    value, public = parsed if parsed is not None else parse_device(data)
    if set(value) != _KEYS or not isinstance(value["meta"], dict):
        raise ManifestError("manifest fields are missing, unknown, or of the wrong type")
    return Manifest(
        device_public_key=public,
        sequence=_check_int(value["sequence"], 1, MAX_INT - 1, "sequence"),
        created=datetime.fromtimestamp(_check_int(value["created"], 0, MAX_TIME, "time"), UTC),
        recipients=_recipients(value["recipients"]),
        meta=value["meta"],
        entries=_entries(value["entries"]),
    )


def _recipients(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_RECIPIENTS:
        raise ManifestError("manifest recipients must list 1 to 64 recipients")
    if not all(isinstance(r, str) for r in value) or len(set(value)) != len(value):
        raise ManifestError("manifest recipients must be unique strings")
    try:
        parsed = [parse_recipient(r) for r in value]
    except KeyFormatError:
        raise ManifestError("manifest lists a recipient that is not an age public key") from None
    if [str(r) for r in parsed] != value:
        raise ManifestError("manifest recipients are not in canonical form")
    return tuple(value)


def _entries(value: object) -> tuple[ManifestEntry, ...]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise ManifestError("manifest entries must be a list of at most 10000")
    entries = tuple(_entry(item) for item in value)
    if len({e.name for e in entries}) != len(entries):
        raise UnsafeEntryName("manifest lists the same entry name twice")
    if sum(e.size for e in entries) > MAX_TOTAL_SIZE:
        raise ManifestError("manifest entries are larger in total than the format allows")
    return entries


def _entry(item: object) -> ManifestEntry:
    if not isinstance(item, dict) or set(item) != {"name", "sha256", "size"}:
        raise ManifestError("manifest entry is malformed")
    name, digest = item["name"], item["sha256"]
    if not isinstance(name, str) or not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise ManifestError("manifest entry name or sha256 is malformed")
    check_name(name)
    size = _check_int(item["size"], 0, MAX_ENTRY_SIZE, "entry size")
    return ManifestEntry(name, size, bytes.fromhex(digest))
