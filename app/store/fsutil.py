"""Durable, all-or-nothing file writes: temporary name in the same folder, fsync, rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Names a moment at which the process kills itself with SIGKILL (crash tests only; see
#: tests/test_crash_rounds.py): ``NAME`` (the first time) or ``NAME:N`` (the N-th time).
#: Unset in normal use; setting it can only end the process.
FAULT_POINT_VARIABLE = "KUAGER_FAULT_POINT"
_fault_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here, as by ``kill -9``, if ``$KUAGER_FAULT_POINT`` names this moment."""
    wanted = os.environ.get(FAULT_POINT_VARIABLE)
    if not wanted or wanted.partition(":")[0] != name:
        return
    _fault_hits[name] = _fault_hits.get(name, 0) + 1
    if _fault_hits[name] >= int(wanted.partition(":")[2] or "1"):
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_chunks(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A file's bytes, ``size`` at a time (constant memory)."""
    with open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.digest()


def random_name() -> str:
    """An opaque on-disk name: says nothing about what the file holds or when it came."""
    return secrets.token_hex(16)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` completely or not at all; a failure leaves no partial file behind."""
    tmp = path.parent / f".{random_name()}.part"
    fh = open(tmp, "xb")  # noqa: SIM115 - closed below on every path
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as fh:
        fh.write(data)
