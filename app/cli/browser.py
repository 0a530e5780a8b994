"""A throwaway private browser for ``kuager serve``: its profile lives in memory only.

An everyday browser profile keeps what a seizure examiner wants: history (page titles,
addresses), the autofill table (names, places, contacts typed into forms), session-restore
files (whole forms), the cache. ``kuager serve`` therefore opens the operator pages in a
browser of its own:

* Chromium, Chrome, Brave, Edge: ``--incognito`` (Edge ``--inprivate``) with a fresh
  ``--user-data-dir`` on a memory file system (``/dev/shm``, or ``$XDG_RUNTIME_DIR`` when it
  is a tmpfs), mode 0700, sync, first-run, crash reports and the system keyring off;
* Firefox and Tor Browser's Firefox: ``--private-window`` with a temporary ``--profile``
  in the same place, and a ``user.js`` that turns off the disk cache, session restore,
  form history and saved passwords (and lets Tor Browser reach 127.0.0.1 directly);

and removes the profile folder when ``serve`` ends. When no such browser is found the
default browser opens, with a printed warning. Windows has no memory file system: the
profile goes to the temporary folder and a warning says so. ``KUAGER_BROWSER`` names the
program to use (its kind is judged from its name).

A tmpfs can be swapped out: use encrypted swap (docs/THREAT_MODEL.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.messages import cli_gettext as _

#: Executable names, most private first, and their family.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                  "brave-browser", "microsoft-edge", "chrome", "msedge")
FIREFOX_NAMES = ("firefox", "firefox-esr", "librewolf")
#: Tor Browser's own Firefox, where people usually unpack it.
TOR_BROWSER_PATHS = ("~/tor-browser/Browser/firefox", "~/.local/share/torbrowser/tbb/x86_64/"
                     "tor-browser/Browser/firefox", "~/Desktop/tor-browser/Browser/firefox")
WINDOWS_PATHS = (
    r"%ProgramFiles%\Google\Chrome\Application\chrome.exe",
    r"%ProgramFiles(x86)%\Google\Chrome\Application\chrome.exe",
    r"%ProgramFiles(x86)%\Microsoft\Edge\Application\msedge.exe",
    r"%ProgramFiles%\Microsoft\Edge\Application\msedge.exe",
    r"%ProgramFiles%\Mozilla Firefox\firefox.exe",
)

#: Chromium switches: nothing of the session may outlive it, nothing may phone home.
CHROMIUM_FLAGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-breakpad",
    "--disable-features=Translate,AutofillServerCommunication,MediaRouter",
    # Not the desktop keyring: it writes to the home folder.
    "--password-store=basic",
    "--new-window",
)

#: Firefox preferences written to the throwaway profile's user.js.
FIREFOX_PREFS = {
    "browser.privatebrowsing.autostart": True,
    "browser.cache.disk.enable": False,
    "browser.sessionstore.resume_from_crash": False,
    "browser.sessionstore.max_tabs_undo": 0,
    "browser.formfill.enable": False,
    "signon.rememberSignons": False,
    "places.history.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.update.enabled": False,
    "browser.aboutwelcome.enabled": False,
    # Tor Browser sends 127.0.0.1 through Tor, which refuses it: connect directly.
    "network.proxy.allow_hijacking_localhost": False,
    "network.proxy.no_proxies_on": "127.0.0.1,localhost,[::1]",
}

MEMORY_FS_TYPES = frozenset({"tmpfs", "ramfs"})


@dataclass
class Plan:
    """What to start: the command, the profile folder to remove afterwards, and warnings."""

    kind: str  # "chromium", "firefox" or "default"
    argv: list[str]
    profile: Path | None
    warnings: list[str] = field(default_factory=list)


def _mount_types(mounts: str = "/proc/self/mounts") -> dict[str, str]:
    try:
        lines = Path(mounts).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 3:
            found[parts[1].replace("\\040", " ")] = parts[2]
    return found


def _filesystem_of(path: Path, mounts: dict[str, str]) -> str | None:
    path = path.resolve()
    for candidate in (path, *path.parents):
        if str(candidate) in mounts:
            return mounts[str(candidate)]
    return None


def memory_dirs(environ: dict[str, str] | None = None,
                mounts: dict[str, str] | None = None) -> list[Path]:
    """Folders on a memory file system this user may write to, best first."""
    environ = dict(os.environ) if environ is None else environ
    mounts = _mount_types() if mounts is None else mounts
    candidates = [Path("/dev/shm")]  # noqa: S108 (mkdtemp makes a 0700 folder in it)
    if environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(environ["XDG_RUNTIME_DIR"]))
    return [path for path in candidates
            if path.is_dir() and os.access(path, os.W_OK | os.X_OK)
            and _filesystem_of(path, mounts) in MEMORY_FS_TYPES]


def make_profile_dir(warn: Callable[[str], None], *, windows: bool | None = None,
                     memory: Iterable[Path] | None = None) -> Path:
    """A new empty folder, mode 0700, on a memory file system where there is one."""
    windows = sys.platform == "win32" if windows is None else windows
    places = [] if windows else list(memory_dirs() if memory is None else memory)
    if places:
        return Path(tempfile.mkdtemp(prefix="kuager-browser-", dir=places[0]))
    if windows:
        warn(_("Windows has no memory-only folder: the private browser profile is kept in the "
             "temporary folder until Kuager stops."))
    else:
        warn(_("No memory file system (/dev/shm) found: the private browser profile is kept in "
             "the temporary folder until Kuager stops."))
    folder = Path(tempfile.mkdtemp(prefix="kuager-browser-"))
    os.chmod(folder, 0o700)
    return folder


def _kind_of(executable: str) -> str | None:
    name = Path(executable).name.lower().removesuffix(".exe")
    if name in CHROMIUM_NAMES or "chrom" in name or "edge" in name or "brave" in name:
        return "chromium"
    if name in FIREFOX_NAMES or "firefox" in name or "tor-browser" in name:
        return "firefox"
    return None


def find_browser(environ: dict[str, str] | None = None,
                 which: Callable[[str], str | None] = shutil.which,
                 *, windows: bool | None = None) -> tuple[str, str] | None:
    """(kind, executable) of a browser Kuager can start privately, or None."""
    environ = dict(os.environ) if environ is None else environ
    windows = sys.platform == "win32" if windows is None else windows
    chosen = environ.get("KUAGER_BROWSER")
    if chosen:
        path = which(chosen) or (chosen if Path(chosen).is_file() else None)
        kind = _kind_of(chosen)
        return (kind, path) if path and kind else None
    for name in (*CHROMIUM_NAMES, *FIREFOX_NAMES):
        path = which(name)
        if path:
            return _kind_of(name) or "chromium", path
    for raw in TOR_BROWSER_PATHS:
        path = Path(raw).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return "firefox", str(path)
    if windows:
        for raw in WINDOWS_PATHS:
            path = Path(os.path.expandvars(raw))
            if path.is_file():
                return _kind_of(str(path)) or "chromium", str(path)
    return None


def chromium_argv(executable: str, profile: Path, url: str) -> list[str]:
    private = "--inprivate" if "edge" in Path(executable).name.lower() else "--incognito"
    return [executable, private, f"--user-data-dir={profile}", *CHROMIUM_FLAGS, url]


def firefox_argv(executable: str, profile: Path, url: str) -> list[str]:
    return [executable, "--no-remote", "--new-instance", "--profile", str(profile),
            "--private-window", url]


def write_firefox_prefs(profile: Path) -> None:
    lines = []
    for name, value in FIREFOX_PREFS.items():
        text = ("true" if value else "false") if isinstance(value, bool) else f'"{value}"'
        lines.append(f'user_pref("{name}", {text});\n')
    (profile / "user.js").write_text("".join(lines), encoding="utf-8")


def plan(url: str, warn: Callable[[str], None], *, environ: dict[str, str] | None = None,
         which: Callable[[str], str | None] = shutil.which, windows: bool | None = None,
         memory: Iterable[Path] | None = None) -> Plan:
    """Decide what to start for ``url`` (creates the profile folder; nothing is started)."""
    found = find_browser(environ, which, windows=windows)
    if found is None:
        return Plan("default", [], None,
                    [_("No Chromium, Chrome or Firefox found: opening the default browser, which "
                     "may keep history and form data on disk. Use a private window.")])
    kind, executable = found
    warnings: list[str] = []
    profile = make_profile_dir(warnings.append, windows=windows, memory=memory)
    if kind == "firefox":
        write_firefox_prefs(profile)
        argv = firefox_argv(executable, profile, url)
    else:
        argv = chromium_argv(executable, profile, url)
    return Plan(kind, argv, profile, warnings)


class PrivateBrowser:
    """Starts the planned browser; ``close()`` ends it and removes its profile folder."""

    def __init__(self, url: str, warn: Callable[[str], None], **plan_options: object) -> None:
        self.warn = warn
        self.plan = plan(url, warn, **plan_options)  # type: ignore[arg-type]
        self.url = url
        self.process: subprocess.Popen[bytes] | None = None

    def open(self) -> None:
        for message in self.plan.warnings:
            self.warn(message)
        if self.plan.kind == "default":
            import webbrowser

            webbrowser.open(self.url)
            return
        try:
            self.process = subprocess.Popen(  # noqa: S603 (our own argv, no shell)
                self.plan.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            self.remove_profile()
            self.warn(_("The private browser could not be started: open the address above in "
                      "a private window."))

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.remove_profile()

    def remove_profile(self) -> None:
        if self.plan.profile is not None:
            shutil.rmtree(self.plan.profile, ignore_errors=True)
