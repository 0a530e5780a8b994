"""Build the USB kit, ``dist/kuager-usb/`` (``make usb``), and check that it can travel.

    python deploy/usb/build.py [--out dist/kuager-usb] [--check-only]

1. PyInstaller (one-folder mode) freezes ``kuager`` with the spec file beside this script;
2. the frozen folder is copied into the kit with every symbolic link replaced by the file
   it points to (FAT32 and exFAT have no links);
3. ``start``, ``start.cmd``, the kit's README and an empty ``data/`` are added, with the
   ``tor`` and ``age`` programs of the build machine (tor with the shared libraries it
   needs, as ``ldd`` lists them, glibc's own excepted), or a note where they are missing;
4. the kit is checked: no symbolic link, no name FAT forbids, no name longer than 255
   UTF-16 units, no absolute path of the build machine in the launchers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "dist" / "kuager-usb"
#: Characters no FAT32/exFAT name may hold (besides control characters).
FAT_FORBIDDEN = set('<>:"/\\|?*')
#: Libraries every Linux laptop has, which must match its own dynamic loader: never copied.
SYSTEM_LIBS = ("linux-vdso", "libc.so", "libm.so", "ld-linux", "libpthread", "libdl.so",
               "librt.so")


def run_pyinstaller(work: Path) -> Path:
    """Freeze into ``work/dist/kuager-usb``; returns that folder."""
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(work / "dist"), "--workpath", str(work / "work"),
         str(HERE / "kuager.spec")],
        check=True, cwd=ROOT)
    return work / "dist" / "kuager-usb"


def copy_dereferenced(source: Path, target: Path) -> None:
    """Copy a tree, every symbolic link replaced by a copy of what it points to."""
    shutil.copytree(source, target, symlinks=False)


def shared_libraries(program: Path) -> list[Path]:
    """The libraries ``ldd`` says ``program`` loads, without glibc's own."""
    output = subprocess.run(["ldd", str(program)],  # noqa: S603, S607 - fixed argv
                            check=True, capture_output=True, text=True).stdout
    found = []
    for line in output.splitlines():
        parts = line.split("=>")
        if len(parts) != 2 or not parts[1].strip().startswith("/"):
            continue
        name, path = parts[0].strip(), parts[1].split("(")[0].strip()
        if not name.startswith(SYSTEM_LIBS):
            found.append(Path(path))
    return found


def _find(name: str, *extra: str) -> Path | None:
    for candidate in (shutil.which(name), *extra):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


def add_programs(kit: Path) -> list[str]:
    """Copy tor (with its libraries) and age into the kit; returns notes for what is missing."""
    notes = []
    tor = _find("tor", "/usr/sbin/tor", "/usr/bin/tor")
    if tor is not None:
        (kit / "tor" / "lib").mkdir(parents=True)
        shutil.copy2(tor, kit / "tor" / "tor")
        for lib in shared_libraries(tor):
            shutil.copy2(lib.resolve(), kit / "tor" / "lib" / lib.name)
    else:
        notes.append("tor: the build machine had no tor, so the kit has none. `start` uses "
                     "the laptop's own tor where there is one (Tails, Debian with tor "
                     "installed); without one, `serve --onion` says tor is missing.")
    age = _find("age")
    if age is not None:
        (kit / "age").mkdir()
        shutil.copy2(age, kit / "age" / "age")
        age_keygen = _find("age-keygen")
        if age_keygen is not None:
            shutil.copy2(age_keygen, kit / "age" / "age-keygen")
    else:
        notes.append("age: the build machine had no age, so the kit has none (Kuager needs "
                     "none; age only lets a coordinator check a bundle by hand).")
    return notes


#: Babel's locale data Kuager needs: its three languages and their parent, root.
_KEEP_LOCALES = re.compile(r"(root|en|ru|kk)(_\w+)?\.dat")


def prune_locales(kit: Path) -> None:
    """Drop Babel's data for the 700-odd locales Kuager never shows (about 30 MiB)."""
    for data in kit.glob("_internal/babel/locale-data/*.dat"):
        if not _KEEP_LOCALES.fullmatch(data.name):
            data.unlink()


def assemble(frozen: Path, kit: Path) -> None:
    if kit.exists():
        shutil.rmtree(kit)
    kit.parent.mkdir(parents=True, exist_ok=True)
    copy_dereferenced(frozen, kit)
    prune_locales(kit)
    for name in ("start", "start.cmd"):
        shutil.copy2(HERE / name, kit / name)
    (kit / "start").chmod(0o755)
    notes = add_programs(kit)
    readme = (HERE / "KIT-README.txt").read_text(encoding="utf-8")
    if notes:
        readme += "\nMissing from this kit\n---------------------\n" + "".join(
            f"- {note}\n" for note in notes)
    (kit / "README.txt").write_text(readme, encoding="utf-8", newline="\r\n")
    (kit / "data").mkdir(mode=0o700)
    (kit / "data").chmod(0o700)  # whatever the umask: a store refuses a folder others read


def name_problems(name: str) -> list[str]:
    """Why FAT32/exFAT could not hold a file of this name (empty: it can)."""
    found = []
    bad = {ch for ch in name if ch in FAT_FORBIDDEN or ord(ch) < 32}
    if bad:
        found.append(f"name FAT forbids ({''.join(sorted(bad))})")
    if len(name.encode("utf-16-le")) // 2 > 255:
        found.append("name longer than 255")
    if name.endswith((" ", ".")):
        found.append("name ending in a space or dot")
    return found


def problems(kit: Path) -> list[str]:
    """What would stop the kit from travelling on a FAT32/exFAT stick (empty: nothing)."""
    found = []
    for folder, subfolders, files in os.walk(kit, followlinks=False):
        for name in subfolders + files:
            path = Path(folder) / name
            if path.is_symlink():
                found.append(f"symbolic link: {path.relative_to(kit)}")
            found += [f"{why}: {path.relative_to(kit)}" for why in name_problems(name)]
    for launcher in ("start", "start.cmd", "README.txt"):
        text = (kit / launcher).read_text(encoding="utf-8")
        if str(ROOT) in text:
            found.append(f"{launcher} holds the build path {ROOT}")
    if not (kit / "start").stat().st_mode & stat.S_IXUSR:
        found.append("start is not executable")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args()
    kit = args.out.resolve()
    if not args.check_only:
        frozen = run_pyinstaller(ROOT / "build" / "usb")
        assemble(frozen, kit)
    found = problems(kit)
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if not found:
        size = sum(p.stat().st_size for p in kit.rglob("*") if p.is_file())
        print(f"{kit}: {size / 2**20:.1f} MiB")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
