"""Where a bundle can be written: the removable drives and folders that are mounted now,
with their free space, for the export page to offer next to a typed folder.

* Linux (udisks, as desktops and Tails mount USB sticks): every mount point directly
  under ``/media/<user>/`` and ``/run/media/<user>/`` (and ``/media/`` itself, for
  systems that mount there); macOS: ``/Volumes/``.
* Windows: the drive letters of removable, fixed and network drives other than the
  system drive (``GetLogicalDrives``/``GetDriveTypeW``); a card reader with no card
  answers no free space and is left out.

Only the paths and their free space are read; nothing is written until the monitor
exports. The roots can be given (``KUAGER_MOUNT_ROOTS`` in the app's config, for tests).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import string
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Destination", "destinations", "linux_roots", "windows_drives"]

#: GetDriveTypeW answers (winbase.h).
DRIVE_REMOVABLE, DRIVE_FIXED, DRIVE_REMOTE = 2, 3, 4
_WANTED_DRIVES = {DRIVE_REMOVABLE: True, DRIVE_FIXED: False, DRIVE_REMOTE: False}

#: Replaced in tests (a temporary folder is no mount point).
_is_mount: Callable[[Path], bool] = os.path.ismount


@dataclass(frozen=True)
class Destination:
    path: str
    label: str
    free: int
    removable: bool = True


def _user() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return ""


def linux_roots(user: str | None = None) -> list[Path]:
    """The folders udisks (and older automounters) mount drives in, for ``user``."""
    user = _user() if user is None else user
    roots = [Path("/media") / user, Path("/run/media") / user] if user else []
    return [*roots, Path("/media")]


def _free(path: str, usage: Callable[[str], Any]) -> int | None:
    try:
        return int(usage(path).free)
    except OSError:  # not ready (a card reader without a card), gone, or not allowed
        return None


def mounted_under(roots: Iterable[Path], usage: Callable[[str], Any] | None = None
                  ) -> list[Destination]:
    """Every mount point directly under ``roots`` (sorted by name), with its free space."""
    usage = usage or shutil.disk_usage
    found: dict[str, Destination] = {}
    for root in roots:
        try:
            children = sorted(root.iterdir(), key=lambda p: p.name.casefold())
        except OSError:
            continue
        for child in children:
            if child.name.startswith(".") or str(child) in found:
                continue
            if not child.is_dir() or not _is_mount(child):
                continue
            free = _free(str(child), usage)
            if free is not None:
                found[str(child)] = Destination(str(child), child.name, free)
    return list(found.values())


def windows_drives(kernel32: Any, usage: Callable[[str], Any] | None = None,
                   system_drive: str | None = None) -> list[Destination]:
    """Drive letters (``E:\\``) except the system drive: removable ones first."""
    usage = usage or shutil.disk_usage
    system = (system_drive or os.environ.get("SYSTEMDRIVE", "C:")).rstrip("\\").upper()
    mask = int(kernel32.GetLogicalDrives())
    found = []
    for index, letter in enumerate(string.ascii_uppercase):
        if not mask & (1 << index) or f"{letter}:" == system:
            continue
        root = f"{letter}:\\"
        kind = int(kernel32.GetDriveTypeW(root))
        if kind not in _WANTED_DRIVES:
            continue  # CD-ROM, RAM disk, unknown
        free = _free(root, usage)
        if free is not None:
            found.append(Destination(root, f"{letter}:", free, _WANTED_DRIVES[kind]))
    return sorted(found, key=lambda d: (not d.removable, d.path))


def destinations(roots: Iterable[Path | str] | None = None, *,
                 platform: str = sys.platform) -> list[Destination]:
    """The drives a bundle can go to now: under ``roots`` if given, else this system's."""
    if roots is not None:
        return mounted_under([Path(root) for root in roots])
    if platform == "win32":
        import ctypes

        return windows_drives(ctypes.windll.kernel32)  # type: ignore[attr-defined]
    if platform == "darwin":
        return mounted_under([Path("/Volumes")])
    return mounted_under(linux_roots())
