"""The files beside the database that are read before it can be opened.

``kuager.key`` (format v2) always holds two slots, each a ``crypto.keywrap`` blob and a
short note sealed under the key that blob wraps::

    kuager-keyfile/v2\\n
    (u16 length, wrapped blob, 44-byte note) x 2

Slot 0 wraps the database key under the passphrase. Slot 1 wraps, under the duress
passphrase, the key of the empty store that replaces the real one when the duress
passphrase is typed; with no duress passphrase set it is a decoy, random bytes of the same
shape under the same KDF header, so the file looks the same either way and every unlock
tries both slots in the same order, at the same KDF cost. A note says the role and mode
of the store its key opens (12-byte nonce, ChaCha20-Poly1305 of 16 bytes); a decoy's note
is random. A v1 file (one bare blob) is read as slot 0 with a decoy slot 1.

Key files are never edited in place: the new content is written to ``kuager.key.new``
(mode 0600, fsync, folder fsync), then the old file is overwritten with random bytes in
place (same inode, fsync) and the new one renamed over it. A crash leaves one of the two
names readable; ``Store.unlock`` tries both.

``kuager.lockout`` holds the lockout setting (``wipe_after=N``, ``show_remaining=0|1``)
and ``kuager.attempts`` the count of wrong passphrases in a row, written and fsynced
before each passphrase is tried. Neither holds anything secret, and both are plaintext:
they must be read before the database opens.
"""

from __future__ import annotations

import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from app.store.fsutil import fsync_dir
from crypto import keywrap
from crypto.errors import KeyFileError

MAGIC = b"kuager-keyfile/v2\n"
NOTE_SIZE = 12 + 16 + 16
_NOTE_AD = b"kuager-slot-note/v1"
_ROLES = {"field": 1, "coordinator": 2}
FILE_MODE = 0o600


@dataclass(frozen=True)
class Slot:
    blob: bytes
    note: bytes


@dataclass(frozen=True)
class Note:
    role: str
    training: bool


@dataclass(frozen=True)
class KeyFile:
    slots: tuple[Slot, Slot]

    def with_slot(self, index: int, slot: Slot) -> KeyFile:
        slots = list(self.slots)
        slots[index] = slot
        return KeyFile((slots[0], slots[1]))


def decoy(profile: keywrap.KdfProfile) -> Slot:
    return Slot(keywrap.decoy_blob(profile), secrets.token_bytes(NOTE_SIZE))


def seal_note(key: bytes | bytearray, role: str, training: bool) -> bytes:
    payload = bytes([_ROLES[role], int(training)]) + bytes(14)
    nonce = secrets.token_bytes(12)
    return nonce + ChaCha20Poly1305(bytes(key)).encrypt(nonce, payload, _NOTE_AD)


def open_note(key: bytes | bytearray, note: bytes) -> Note | None:
    try:
        payload = ChaCha20Poly1305(bytes(key)).decrypt(note[:12], note[12:], _NOTE_AD)
    except InvalidTag:
        return None
    roles = {v: k for k, v in _ROLES.items()}
    if payload[0] not in roles:
        return None
    return Note(roles[payload[0]], bool(payload[1]))


def parse(data: bytes, profile: keywrap.KdfProfile) -> KeyFile:
    """Read a v2 file, or a v1 file as slot 0 beside a decoy."""
    if not data.startswith(MAGIC):
        if data.startswith(keywrap.MAGIC):
            return KeyFile((Slot(data, secrets.token_bytes(NOTE_SIZE)), decoy(profile)))
        raise KeyFileError("not a Kuager key file (or an unknown version)")
    slots = []
    pos = len(MAGIC)
    for _ in range(2):
        if pos + 2 > len(data):
            raise KeyFileError("key file is truncated")
        (size,) = struct.unpack_from(">H", data, pos)
        pos += 2
        end = pos + size + NOTE_SIZE
        if end > len(data):
            raise KeyFileError("key file is truncated")
        slots.append(Slot(data[pos : pos + size], data[pos + size : end]))
        pos = end
    if pos != len(data):
        raise KeyFileError("key file has trailing data")
    return KeyFile((slots[0], slots[1]))


def serialise(keyfile: KeyFile) -> bytes:
    out = [MAGIC]
    for slot in keyfile.slots:
        if len(slot.note) != NOTE_SIZE:
            raise ValueError("a slot note is 44 bytes")
        out += [struct.pack(">H", len(slot.blob)), slot.blob, slot.note]
    return b"".join(out)


def side_path(path: Path) -> Path:
    """Where a new key file waits until it replaces ``path``."""
    return path.with_name(path.name + ".new")


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (mode 0600) through a temporary name, fsynced; all or nothing."""
    tmp = path.with_name(f".{secrets.token_hex(16)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def shred(path: Path) -> None:
    """Overwrite ``path`` with random bytes in place (same inode) and fsync it."""
    try:
        size = max(path.stat().st_size, 4096)
    except FileNotFoundError:
        return
    with open(path, "r+b") as fh:
        fh.write(secrets.token_bytes(size))
        fh.flush()
        os.fsync(fh.fileno())


def destroy(path: Path) -> None:
    """Shred, then delete (durably)."""
    if path.exists():
        shred(path)
        path.unlink()
        fsync_dir(path.parent)


def replace(path: Path, data: bytes) -> None:
    """Write ``data`` as the new ``path``: side file first, then shred the old, then rename."""
    side = side_path(path)
    write_private(side, data)
    promote(path)


def promote(path: Path) -> None:
    """Make the side file the key file, overwriting the old one in place first."""
    shred(path)
    os.replace(side_path(path), path)
    fsync_dir(path.parent)


# -- lockout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    wipe_after: int = 0  # 0: off
    show_remaining: bool = False


def read_lockout(path: Path) -> Lockout:
    try:
        text = path.read_text(encoding="ascii")
    except (FileNotFoundError, UnicodeDecodeError):
        return Lockout()
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    try:
        wipe_after = max(0, int(fields.get("wipe_after", "0")))
    except ValueError:
        wipe_after = 0
    return Lockout(wipe_after, fields.get("show_remaining") == "1")


def write_lockout(path: Path, lockout: Lockout) -> None:
    if lockout.wipe_after <= 0:
        destroy(path)
        return
    text = f"wipe_after={lockout.wipe_after}\nshow_remaining={int(lockout.show_remaining)}\n"
    write_private(path, text.encode("ascii"))


def read_attempts(path: Path) -> int:
    try:
        return max(0, int(path.read_text(encoding="ascii").strip() or "0"))
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return 0


def write_attempts(path: Path, count: int) -> None:
    """Durably record ``count`` (in place once the file exists: one inode, one fsync)."""
    data = f"{count:010d}\n".encode("ascii")
    if not path.exists():
        write_private(path, data)
        return
    with open(path, "r+b") as fh:
        fh.write(data)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())
