"""A network namespace with only loopback, and ways to run programs inside it.

Tests never let tor reach the public Tor network or any address outside loopback: every tor a
test starts runs inside such a namespace. The test process itself stays outside and talks to
those tors only through unix sockets and files, which do not belong to any network namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

#: The namespace lives as long as this holder process (bounded: it cannot outlive a test run).
HOLDER_SECONDS = 1800


def system_tools_required() -> bool:
    """CI installs tor & co. and sets this: a missing tool is then a failure, not a skip."""
    return os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1"


def skip_or_fail(reason: str) -> None:
    if system_tools_required():
        pytest.fail(f"{reason} (KUAGER_REQUIRE_SYSTEM_TOOLS=1)")
    pytest.skip(reason)


def require_tools(*names: str) -> dict[str, str]:
    """Paths of the programs named; skips (or fails in CI) when one is missing or not root."""
    found = {name: shutil.which(name) or shutil.which(f"/usr/sbin/{name}") for name in names}
    missing = sorted(name for name, path in found.items() if not path)
    if missing:
        skip_or_fail(f"needs {', '.join(missing)} (Debian: apt install tor util-linux iproute2)")
    if os.geteuid() != 0:
        skip_or_fail("needs root to create a network namespace with only loopback (unshare -n)")
    return {name: str(path) for name, path in found.items()}


class Netns:
    """One namespace: `unshare -n` with lo up, held open by a sleeping process."""

    def __init__(self, work: Path) -> None:
        tools = require_tools("unshare", "nsenter", "ip")
        self.nsenter = tools["nsenter"]
        self.holder = subprocess.Popen(
            [tools["unshare"], "-n", "sh", "-c",
             f'{tools["ip"]} link set lo up && exec sleep {HOLDER_SECONDS}'],
            stdin=subprocess.DEVNULL)
        self.path = f"/proc/{self.holder.pid}/ns/net"
        self._wait_ready()
        self.wrapper_dir = work / "bin"
        self.wrapper_dir.mkdir(parents=True, exist_ok=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while os.readlink(self.path) == os.readlink("/proc/self/ns/net") or not self._lo_up():
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("could not create a network namespace")
            time.sleep(0.05)

    def _lo_up(self) -> bool:
        out = subprocess.run([self.nsenter, f"--net={self.path}", "ip", "-o", "addr"],
                             capture_output=True, text=True, check=False).stdout
        return "127.0.0.1" in out

    def argv(self, *argv: str) -> list[str]:
        """Run argv inside the namespace."""
        return [self.nsenter, f"--net={self.path}", "--", *argv]

    def wrapper(self, program: str) -> str:
        """A script that runs `program` inside the namespace (for OnionSettings.tor_binary)."""
        script = self.wrapper_dir / f"ns-{Path(program).name}"
        script.write_text(f'#!/bin/sh\nexec {self.nsenter} --net={self.path} -- {program} "$@"\n',
                          encoding="utf-8")
        script.chmod(0o700)
        return str(script)

    def contains(self, pid: int) -> bool:
        return os.readlink(f"/proc/{pid}/ns/net") == os.readlink(self.path)

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait(timeout=10)


def isolated_tor_wrapper(work: Path) -> str:
    """For unit tests: each tor in a fresh namespace of its own (`unshare -n`), no holder."""
    tools = require_tools("tor", "unshare")
    script = work / "tor-offline"
    script.write_text(f'#!/bin/sh\nexec {tools["unshare"]} -n -- {tools["tor"]} "$@"\n',
                      encoding="utf-8")
    script.chmod(0o700)
    return str(script)


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 10) -> None:
    """SIGTERM each process we started (tor exits at once), then SIGKILL what is left."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
