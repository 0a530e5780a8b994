"""The USB kit (``make usb``): it travels, it runs the whole loop, it leaves nothing behind.

Builds the kit with PyInstaller (a minute or two), or uses an existing one named by
``KUAGER_USB_KIT`` (e.g. ``KUAGER_USB_KIT=dist/kuager-usb``), copies it to a folder whose
path has a space and Cyrillic letters, and runs field store, coordinator store, seed,
export, import, listing and ``serve`` with an empty HOME and TMPDIR and
``PATH=/usr/bin:/bin``, each under ``strace`` where it is installed: every file or folder
any process of the kit creates must lie inside the kit, the "stick" folder the bundle is
exported to, or the launcher's run folder in memory, which is gone afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import PASSPHRASE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: Folders the test looks into (never writes to): the laptop's memory and temporary folders.
SHM, TMP = "/dev/shm", "/tmp"  # noqa: S108
CREATING_CALLS = ("open", "openat", "creat", "mkdir", "mkdirat", "rename", "renameat",
                  "renameat2", "link", "linkat", "symlink", "symlinkat")


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kit_build", ROOT / "deploy/usb/build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("KUAGER_USB_KIT")
    if given:
        kit = Path(given).resolve()
        assert (kit / "start").is_file(), f"KUAGER_USB_KIT={given} holds no kit"
        return kit
    pytest.importorskip("PyInstaller", reason="pip install '.[usb]' to build the kit")
    out = tmp_path_factory.mktemp("build") / "kuager-usb"
    subprocess.run([sys.executable, str(ROOT / "deploy/usb/build.py"), "--out", str(out)],
                   check=True, cwd=ROOT, timeout=1800)
    return out


@pytest.fixture(scope="module")
def kit(built_kit: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit copied to a path with a space and Cyrillic (and Kazakh) letters."""
    target = tmp_path_factory.mktemp("stick") / "Оқу жинағы kit" / "kuager-usb"
    shutil.copytree(built_kit, target, symlinks=True)
    return target


def test_the_kit_can_travel_on_a_fat_stick(kit: Path) -> None:
    """No symbolic link, no name FAT forbids, no name over 255, the launcher executable."""
    build = _build_module()
    assert build.problems(kit) == []
    links = [p for p in kit.rglob("*") if p.is_symlink()]
    assert links == []
    names = [p.name for p in kit.rglob("*")]
    assert all(not set(n) & build.FAT_FORBIDDEN and len(n) <= 255 for n in names)
    assert (kit / "start.cmd").read_bytes().count(b"\r\n") > 5  # Windows line ends
    assert (kit / "data").is_dir()
    assert any((kit / "_internal" / "translations").rglob("messages.mo"))
    readme = (kit / "README.txt").read_text(encoding="utf-8")
    assert ((kit / "tor" / "tor").is_file()) or "tor: the build machine had no tor" in readme


def test_the_checker_sees_what_fat_cannot_hold(tmp_path: Path) -> None:
    build = _build_module()
    fake = tmp_path / "kit"
    fake.mkdir()
    for name in ("start", "start.cmd", "README.txt"):
        (fake / name).write_text("x", encoding="utf-8")
    (fake / "start").chmod(0o755)
    assert build.problems(fake) == []
    (fake / "a:b").write_text("x", encoding="utf-8")
    (fake / "link").symlink_to(fake / "start")
    found = "\n".join(build.problems(fake))
    assert "forbids (:): a:b" in found and "symbolic link: link" in found
    # This file system cannot hold a name FAT refuses for its length: check the rule alone.
    assert build.name_problems("n" * 256) == ["name longer than 255"]
    assert build.name_problems("ә" * 255) == []  # 255 UTF-16 units (510 bytes of UTF-8)
    assert build.name_problems("file.") == ["name ending in a space or dot"]


# -- the whole loop, from the relocated kit --------------------------------------------


class Runner:
    """Runs ``start ...`` with a bare environment, under strace where there is one."""

    def __init__(self, kit: Path, scratch: Path) -> None:
        self.kit = kit
        self.home = scratch / "home"
        self.tmp = scratch / "tmp"
        self.logs = scratch / "strace"
        for folder in (self.home, self.tmp, self.logs):
            folder.mkdir()
        self.env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "TMPDIR": str(self.tmp),
                    "LANG": "C.UTF-8"}
        self.strace = shutil.which("strace", path="/usr/bin:/bin")
        self.count = 0

    def argv(self, *args: str) -> list[str]:
        self.count += 1
        start = [str(self.kit / "start"), *args]
        if not self.strace:
            return start
        log = self.logs / f"{self.count:02d}.log"
        return [self.strace, "-f", "-qq", "-o", str(log), "-e",
                "trace=" + ",".join(CREATING_CALLS), *start]

    def run(self, *args: str, stdin: str = PASSPHRASE + "\n") -> subprocess.CompletedProcess:
        result = subprocess.run(self.argv(*args), input=stdin, capture_output=True, text=True,
                                env=self.env, cwd=self.kit, timeout=300, check=False)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def created_paths(self) -> list[str]:
        """Absolute paths of every file and folder the runs created (from strace)."""
        created = []
        call = re.compile(r"^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
        for log in sorted(self.logs.glob("*.log")):
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                match = call.match(line)
                if not match or int(match.group(3)) < 0 or match.group(1) not in CREATING_CALLS:
                    continue
                name, args = match.group(1), match.group(2)
                if name in ("open", "openat") and "O_CREAT" not in args:
                    continue
                strings = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
                target = strings[-1] if name.startswith(("rename", "link", "symlink")) else (
                    strings[0] if strings else "")
                target = target.encode("latin-1", "backslashreplace").decode(
                    "unicode_escape").encode("latin-1").decode("utf-8", "replace")
                if target:
                    path = target if target.startswith("/") else str(self.kit / target)
                    created.append(os.path.normpath(path))
        return created


def _snapshot(*folders: Path) -> dict[str, set[str]]:
    seen = {}
    for folder in folders:
        seen[str(folder)] = {str(p) for p in folder.rglob("*")} if folder.is_dir() else set()
    return seen


def _top(folder: str) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def serve_first_page(runner: Runner) -> tuple[str, str]:
    """``start serve --port 0 --no-browser`` unlocked from stdin: the first page, then stop."""
    proc = subprocess.Popen(runner.argv("serve", "--port", "0", "--no-browser"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=runner.env, cwd=runner.kit,
                            start_new_session=True)
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write((PASSPHRASE + "\n").encode())
        proc.stdin.close()
        deadline = time.monotonic() + 60
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _w, _x = select.select([proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        url = line.decode().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.poll())
        with urllib.request.urlopen(url + "reports?lang=kk", timeout=30) as page:
            return url, page.read().decode("utf-8")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_whole_loop_from_the_kit_leaves_nothing_outside(kit: Path, tmp_path: Path) -> None:
    runner = Runner(kit, tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    xdg = [Path(runner.env["HOME"]) / sub for sub in (".config", ".cache", ".local")]
    before = _snapshot(runner.home, runner.tmp, *xdg)
    shm_before, tmp_before = _top(SHM), _top(TMP)

    runner.run("init", "--role", "field", "--training")
    coordinator = runner.run("--data", "data/coordinator", "init", "--role", "coordinator",
                             "--training")
    public_key = coordinator.stdout.strip().splitlines()[-1]
    assert public_key.startswith("age1")
    runner.run("recipients", "add", public_key)
    seeded = runner.run("training", "seed", "--count", "8", "--seed", "1")  # seed 1: photos
    assert seeded.stdout.startswith("8 ")
    exported = runner.run("export", "--out", str(stick / "bundle.age"))
    assert exported.stdout.strip().splitlines()[-1] == "8"
    runner.run("--data", "data/coordinator", "import", str(stick / "bundle.age"))
    listing = runner.run("--data", "data/coordinator", "reports", "list", "--json")
    reports = [json.loads(line) for line in listing.stdout.splitlines()]
    assert len(reports) == 8
    assert any(re.search("[әғқңөұүһі]", r["description"]) for r in reports)
    # The seeded photos carry GPS: the cleaning worker (the frozen program itself) removed it.
    photos = [a for r in reports for a in r["attachments"]
              if a["name"].lower().endswith((".jpg", ".jpeg"))]
    assert photos and all(a["metadata_removed"] for a in photos), photos
    url, page = serve_first_page(runner)
    assert '<html lang="kk"' in page and "Оқу қоймасы" in page  # templates and catalogs

    # Inside the kit: the stores. Outside: nothing.
    assert (kit / "data" / "kuager.key").is_file()
    assert (kit / "data" / "coordinator" / "kuager.key").is_file()
    assert _snapshot(runner.home, runner.tmp, *xdg) == before
    # Other programs share /tmp and /dev/shm: look for what the kit itself would leave
    # (the launcher's run folder, PyInstaller's unpacking); strace below sees the rest.
    ours = ("kuager-run.", "_MEI")
    new_shm = {n for n in _top(SHM) - shm_before if n.startswith(ours)}
    assert new_shm == set(), new_shm  # the run folder in memory is gone
    new_tmp = {n for n in _top(TMP) - tmp_before if n.startswith(ours)}
    assert new_tmp == set(), new_tmp
    if runner.strace:
        allowed = (str(kit) + "/", str(stick) + "/", f"{SHM}/kuager-run.", "/dev/null",
                   "/dev/tty")
        created = runner.created_paths()
        # The trace sees what the kit writes (so an empty list below means something).
        assert str(kit / "data" / "kuager.key") in created
        assert str(stick / "bundle.age") in created
        outside = sorted({p for p in created if not p.startswith(allowed)})
        assert outside == [], outside
        assert not [p for p in runner.created_paths() if "_MEI" in p]  # PyInstaller unpacks nothing
    else:
        print("strace is not installed: only HOME, TMPDIR, XDG, /tmp and /dev/shm were compared")
    assert url  # served, and stopped


def test_start_passes_its_arguments_to_kuager(kit: Path, tmp_path: Path) -> None:
    runner = Runner(kit, tmp_path)
    result = runner.run("--help", stdin="")
    assert "Usage: kuager" in result.stdout and "training" in result.stdout
    result = runner.run("--lang", "ru", "training", "--help", stdin="")
    assert "seed" in result.stdout and "reset" in result.stdout
