"""Keys a store holds: recipients (field store) and identities (coordinator store).

A field store keeps coordinators' *public* keys only: it can seal bundles to them but
never open one. A coordinator store keeps its secret identities inside the encrypted
database; ``identity export`` writes them to a passphrase-encrypted age file that the
reference ``age -d`` opens.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from app.messages import gettext as _
from app.store import device
from app.store.fsutil import atomic_file
from app.store.store import Store, StoreError
from app.timeutil import utc_now
from crypto import age, keys
from crypto.errors import CryptoError

Identity = keys.X25519Identity | keys.HybridIdentity
Recipient = keys.X25519Recipient | keys.HybridRecipient


@contextlib.contextmanager
def connection(store: Store) -> Iterator[sqlcipher3.Connection]:
    """A connection for one CLI command; the key is dropped when the command ends."""
    conn = store.connect()
    try:
        yield conn
    finally:
        conn.close()
        store.lock()


def initialise(conn: sqlcipher3.Connection, role: str, *, hybrid: bool = False) -> str:
    """Make a new store's keys; returns the line ``init`` prints last."""
    if role == "field":
        return _("Device fingerprint: %(fp)s", fp=device.fingerprint(conn))
    identity = keys.generate_hybrid_identity() if hybrid else keys.generate_x25519_identity()
    add_identity(conn, identity)
    return str(identity.recipient())


# -- recipients (field) ----------------------------------------------------------------


def parse_recipient(text: str) -> Recipient:
    try:
        return keys.parse_recipient(text.strip())
    except CryptoError:
        raise StoreError(
            _("not a coordinator public key (age1...): %(key)s", key=text.strip()[:80])
        ) from None


def add_recipient(conn: sqlcipher3.Connection, text: str, label: str = "") -> str:
    recipient = parse_recipient(text)
    existing = [parse_recipient(row["public_key"]) for row in list_recipients(conn)]
    age.check_recipients([*existing, recipient])
    conn.execute(
        "INSERT OR IGNORE INTO recipients(public_key, label, added_at) VALUES (?,?,?)",
        (str(recipient), label.strip()[:100], utc_now()),
    )
    conn.commit()
    return str(recipient)


def remove_recipient(conn: sqlcipher3.Connection, text: str) -> None:
    conn.execute("DELETE FROM recipients WHERE public_key = ?", (text.strip(),))
    conn.commit()


def key_fingerprint(key: str) -> str:
    """Digits in groups, to compare a pasted key with the coordinator's over the phone."""
    digits = str(int.from_bytes(hashlib.sha256(key.encode()).digest()[:12], "big")).zfill(30)
    return " ".join(digits[i : i + 5] for i in range(0, 30, 5))


def list_recipients(conn: sqlcipher3.Connection) -> list[sqlcipher3.Row]:
    return conn.execute("SELECT * FROM recipients ORDER BY added_at, public_key").fetchall()


def recipients_of(conn: sqlcipher3.Connection) -> list[Recipient]:
    return [parse_recipient(row["public_key"]) for row in list_recipients(conn)]


# -- identities (coordinator) ----------------------------------------------------------


def add_identity(conn: sqlcipher3.Connection, identity: Identity) -> bool:
    """Store an identity; False if it was already there."""
    public = str(identity.recipient())
    kind = "hybrid" if isinstance(identity, keys.HybridIdentity) else "x25519"
    cursor = conn.execute(
        "INSERT OR IGNORE INTO identities(public_key, kind, secret, added_at) VALUES (?,?,?,?)",
        (public, kind, str(identity), utc_now()),
    )
    conn.commit()
    return cursor.rowcount == 1


def identities_of(conn: sqlcipher3.Connection) -> list[Identity]:
    rows = conn.execute("SELECT secret FROM identities ORDER BY added_at").fetchall()
    return [keys.parse_identity(row[0]) for row in rows]


def public_keys(conn: sqlcipher3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT public_key FROM identities ORDER BY added_at")]


def identity_file_text(conn: sqlcipher3.Connection) -> str:
    """The age identity file format: comments, then one secret key a line."""
    lines = []
    for row in conn.execute("SELECT * FROM identities ORDER BY added_at"):
        lines += [
            f"# created: {row['added_at']}",
            f"# public key: {row['public_key']}",
            row["secret"],
        ]
    return "\n".join(lines) + "\n"


def export_identities(conn: sqlcipher3.Connection, out: Path, passphrase: str) -> int:
    """Write every identity to ``out`` as a passphrase (scrypt) age file; all or nothing."""
    text = identity_file_text(conn)
    with atomic_file(out) as fh, age.encrypt_with_passphrase(fh, passphrase) as writer:
        writer.write(text.encode())
    return len(public_keys(conn))


def import_identities(conn: sqlcipher3.Connection, path: Path, passphrase: str) -> int:
    """Add the identities of an exported file; returns how many were new."""
    with open(path, "rb") as fh:
        text = b"".join(age.decrypt_with_passphrase(fh, passphrase)).decode()
    found = [
        keys.parse_identity(line.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if not found:
        raise StoreError(_("%(path)s holds no identity", path=path))
    return sum(add_identity(conn, identity) for identity in found)
