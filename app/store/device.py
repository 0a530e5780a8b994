"""This store's device key (Ed25519): it signs every bundle the device exports.

The private key lives only inside the encrypted database. The fingerprint is digits in
groups, so a monitor can read it aloud to a coordinator over the phone, in any language.
"""

from __future__ import annotations

import sqlcipher3

from app.store import meta
from crypto.device import DeviceKey

_META_KEY = "device_key"


def key(conn: sqlcipher3.Connection) -> DeviceKey:
    """The device key, made on first use (a field store makes it at ``init``)."""
    raw = meta.get(conn, _META_KEY)
    if raw is None:
        new = DeviceKey.generate()
        meta.set(conn, _META_KEY, new.private_bytes().hex())
        return new
    return DeviceKey.from_private_bytes(bytes.fromhex(raw))


def fingerprint(conn: sqlcipher3.Connection) -> str:
    return key(conn).fingerprint()


def device_id(conn: sqlcipher3.Connection) -> str:
    return key(conn).device_id
